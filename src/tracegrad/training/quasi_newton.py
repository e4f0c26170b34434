"""Full-batch L-BFGS with the trainer's callbacks: one SciPy iteration is one "epoch".

``optim.minimize`` hands the whole training set to SciPy, which picks the steps.
This file runs it like ``fit`` runs minibatch training: after every iteration
the callbacks get the epoch hooks with ``loss`` (the objective at the new
iterate), the training and validation scores and the time taken, so
``History``, ``CSVLogger`` and a progress line work unchanged. There are no
batches, no learning rate and no checkpoints: SciPy's internal state (the
curvature pairs) is not exposed, so an L-BFGS run cannot be resumed.
"""

from __future__ import annotations

import sys
import time

from ..optim import minimize
from .callback import Callback, History
from .metrics import as_features, as_xy, evaluate, target_kind
from .progress import format_logs


class LBFGSRun:
    """What callbacks see as the trainer of an L-BFGS run (``fit_lbfgs`` builds it)."""

    def __init__(self, model, loss, iterations, callbacks):
        self.model, self.loss, self.optimizer = model, loss, None
        self.history = History()
        self.callbacks = [self.history, *callbacks]
        self.epoch = self.step = 0  # iterations completed (step: loss evaluations)
        self.epochs = iterations
        self.batches = None
        self.stop_training, self.stop_reason = False, None

    def call(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self, *args)


def fit_lbfgs(model, loss, train, val=None, iterations=50, callbacks=()) -> History:
    """Minimise ``loss(model(X), y)`` over the full training set with L-BFGS-B.

    Parameters
    ----------
    model : tracegrad.nn.Module
        Trained in place; must be deterministic (no dropout): each iteration's line
        search compares losses of the same function.
    loss : callable
        ``loss(outputs, targets) -> Tensor``.
    train, val : Dataset or (X, y)
        ``val`` is scored after every iteration when given.
    iterations : int
        The most L-BFGS iterations (SciPy's ``maxiter``); it may converge earlier.
    callbacks : sequence of Callback
        Get ``on_train_begin``, ``on_epoch_end`` (per iteration) and ``on_train_end``;
        setting ``stop_training`` ends the run after the current iteration.

    Returns
    -------
    History
        One entry per iteration: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``
        (those that apply) and ``epoch_time``.
    """
    X, y = as_xy(train)
    X = as_features(model, X)
    val = None if val is None else as_xy(val)
    kind = target_kind(y)
    run = LBFGSRun(model, loss, int(iterations), callbacks)
    run.call("on_train_begin")
    clock = [time.perf_counter()]

    def objective():
        run.step += 1
        return loss(model(X), y)

    def after_iteration(result):
        logs = {"loss": float(result.fun)}
        if kind is not None:
            logs["accuracy"] = float(evaluate(model, X, y)["accuracy"])
        if val is not None:
            scores = evaluate(model, *val, loss=loss)
            logs.update({f"val_{k}": scores[k] for k in ("loss", "accuracy") if k in scores})
        now = time.perf_counter()
        logs["epoch_time"], clock[0] = now - clock[0], now
        run.epoch += 1
        run.call("on_epoch_end", run.epoch - 1, logs)
        if run.stop_training:
            raise StopIteration

    model.train()
    result = minimize(model, objective, "L-BFGS-B", maxiter=run.epochs, callback=after_iteration)
    if run.stop_reason is None and run.epoch < run.epochs:
        run.stop_reason = f"L-BFGS stopped after {run.epoch} iterations: {result.message}"
    run.call("on_train_end")
    return run.history


class IterationProgress(Callback):
    """One line per L-BFGS iteration on ``stream`` (stderr by default), like ``ProgressBar``.

    Parameters
    ----------
    stream : file-like, optional
        Where to write; ``sys.stderr`` by default.
    """

    def __init__(self, stream=None):
        self.stream = stream

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        out = self.stream if self.stream is not None else sys.stderr
        print(f"iteration {epoch + 1}/{trainer.epochs}  {format_logs(logs)}", file=out, flush=True)

    def on_train_end(self, trainer) -> None:
        if trainer.stop_reason:
            out = self.stream if self.stream is not None else sys.stderr
            print(f"stopped: {trainer.stop_reason}", file=out, flush=True)
