"""The training loop: minibatches, forward, loss, backward, step. Nothing else.

The trainer never prints and never saves. Progress bars, history, checkpoints,
early stopping and learning-rate schedules are callbacks (``callbacks.py`` and
friends); new behaviour is a new callback, never a new flag here.
"""

from __future__ import annotations

import time

import numpy as np

from ..compile import compile_step
from ..datasets import Batches
from ..tensor import Tensor
from .callback import History
from .metrics import as_features, as_xy, evaluate, target_kind, to_classes, true_classes


class Trainer:
    """Trains ``model`` by minimizing ``loss(model(x), y)`` with ``optimizer``.

    Parameters
    ----------
    model : tracegrad.nn.Module
        The network; trained in place.
    loss : callable
        ``loss(outputs, targets) -> Tensor`` (a scalar), e.g. ``losses.cross_entropy``.
    optimizer : tracegrad.optim.Optimizer
        Built over ``model.parameters()``.
    callbacks : sequence of Callback
        Called in order, after the trainer's own ``History``.
    rng : numpy.random.Generator or int, optional
        Source of the shuffling; an int seeds a new Generator; None means seed 0,
        so a run is reproducible unless randomness is asked for.
    compile : bool, default True
        Run each batch through the compiled step (``tracegrad.compile``): the same
        numbers as the eager step, without building a graph. What it cannot compile
        runs eagerly, with a ``CompileWarning`` saying why; False always runs eagerly.

    Attributes
    ----------
    history : History
        The per-epoch logs, also returned by :meth:`fit`.
    compiled_step : CompiledStep or None
        The compiled step in use (``compiled_step.explain()`` says what it compiled).
    epoch, step : int
        Epochs and batches completed so far (restored when resuming).
    stop_training : bool
        Set by a callback to end the run; ``stop_reason`` says why.
    """

    def __init__(self, model, loss, optimizer, callbacks=(), rng=None, compile=True):
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.compiled_step = compile_step(model, loss, optimizer) if compile else None
        self.rng = np.random.default_rng(0 if rng is None else rng)
        self.history = History()
        self.callbacks = [self.history, *callbacks]
        self.epoch = self.step = 0
        self.epochs, self.batches, self.val, self.kind = 0, None, None, None
        self.stop_training, self.stop_reason = False, None

    def fit(self, train, val=None, epochs=10, batch_size=32, shuffle=True, resume_from=None):
        """Train until ``epochs`` epochs are completed in total; return the ``History``.

        Parameters
        ----------
        train : Dataset or (X, y)
            The training data (ValueError when it has no samples).
        val : Dataset or (X, y), optional
            Validation data, evaluated after every epoch (``val_loss``, ``val_accuracy``).
        epochs : int, default 10
            The total number of epochs, counting those a resumed run already did.
        batch_size : int, default 32
            Samples per minibatch; the last batch of an epoch may be smaller.
        shuffle : bool, default True
            Visit the samples in a new random order every epoch.
        resume_from : str or Path, optional
            A file written by ``Checkpoint``: the model, optimizer, random state, epoch
            count and history are restored first, so the run continues exactly as if
            it had never stopped.

        Returns
        -------
        History
        """
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a whole number >= 0, got {epochs!r}")
        X, y = as_xy(train)
        X = as_features(self.model, X)
        if len(X) == 0:
            raise ValueError("the training data has no samples")
        self.val = None if val is None else as_xy(val)
        self.batches = Batches(X, y, batch_size, shuffle=shuffle, rng=self.rng)
        self.kind = target_kind(y)
        self.epochs = int(epochs)
        self.stop_training, self.stop_reason = False, None
        if resume_from is not None:
            from .checkpoint import restore  # checkpoint files are only read when resuming

            restore(resume_from, self)
        self._call("on_train_begin")
        for epoch in range(self.epoch, self.epochs):
            if self.stop_training:
                break
            self._call("on_epoch_begin", epoch)
            start, lr = time.perf_counter(), self.optimizer.lr
            logs = self._train_one_epoch()
            if logs is None:  # a callback stopped training mid-epoch
                break
            logs.update(self._validate())
            logs.update(lr=lr, epoch_time=time.perf_counter() - start)
            self.epoch = epoch + 1
            self._call("on_epoch_end", epoch, logs)
        self._call("on_train_end")
        return self.history

    def _train_one_epoch(self) -> dict | None:
        self.model.train()
        total_loss, correct, seen = 0.0, 0, 0
        for batch, (xb, yb) in enumerate(self.batches):
            value, out = self._train_step(xb, yb)
            self.step += 1
            n = len(xb)
            total_loss, seen = total_loss + value * n, seen + n
            if self.kind is not None:
                hits = to_classes(self.model, out) == true_classes(yb, self.kind)
                correct += int(hits.sum())
            self._call("on_batch_end", batch, {"loss": value, "size": n})
            if self.stop_training:
                return None
        logs = {"loss": total_loss / max(seen, 1)}
        if self.kind is not None:
            logs["accuracy"] = correct / max(seen, 1)
        return logs

    def _train_step(self, xb, yb):
        """One step on a batch: (loss value, model output)."""
        if self.compiled_step is not None:
            value = self.compiled_step(xb, yb)
            return value, self.compiled_step.output
        out = self.model(Tensor(xb))  # the eager step, as a PyTorch user writes it
        cost = self.loss(out, yb)
        self.optimizer.zero_grad()
        cost.backward()
        self.optimizer.step()
        return float(cost.item()), out.data

    def _validate(self) -> dict:
        if self.val is None:
            return {}
        scores = evaluate(self.model, *self.val, loss=self.loss)
        return {f"val_{k}": scores[k] for k in ("loss", "accuracy") if k in scores}

    def _call(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self, *args)


def fit(
    model,
    loss,
    optimizer,
    train,
    val=None,
    epochs=10,
    batch_size=32,
    callbacks=(),
    rng=None,
    shuffle=True,
    resume_from=None,
    compile=True,
):
    """Train ``model`` and return its :class:`History`; see :class:`Trainer`.

    Each batch runs through the compiled step by default (``compile=False`` runs the
    eager step instead); the numbers are the same either way.

    Parameters
    ----------
    model : tracegrad.nn.Module
        The network; trained in place.
    loss : callable
        ``loss(outputs, targets) -> Tensor`` (a scalar), e.g. ``losses.cross_entropy``.
    optimizer : tracegrad.optim.Optimizer
        Built over ``model.parameters()``.
    train : Dataset or (X, y)
        The training data (ValueError when it has no samples).
    val : Dataset or (X, y), optional
        Validation data, evaluated after every epoch (``val_loss``, ``val_accuracy``).
    epochs : int, default 10
        The total number of epochs, counting those a resumed run already did.
    batch_size : int, default 32
        Samples per minibatch; the last batch of an epoch may be smaller.
    callbacks : sequence of Callback, default ()
        Called in order, after the trainer's own ``History``.
    rng : numpy.random.Generator or int, optional
        Source of the shuffling; None means seed 0.
    shuffle : bool, default True
        Visit the samples in a new random order every epoch.
    resume_from : str or Path, optional
        A file written by ``Checkpoint``: the model, optimizer, random state, epoch
        count and history are restored first and the run continues exactly.
    compile : bool, default True
        Run each batch through the compiled step (see :class:`Trainer`).

    Returns
    -------
    History
        The per-epoch logs (``loss``, ``accuracy`` for classifiers, ``lr``, ...).

    Examples
    --------
    >>> model = nn.MLP([2, 8, 2], "tanh", rng=0)
    >>> opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    >>> history = fit(model, losses.cross_entropy, opt, (X, y), epochs=5,
    ...               callbacks=[ProgressBar()], rng=0)   # doctest: +SKIP
    """
    trainer = Trainer(model, loss, optimizer, callbacks, rng, compile)
    return trainer.fit(train, val, epochs, batch_size, shuffle, resume_from)
