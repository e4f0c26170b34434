"""One trial: train with one setting of the options and score it on held-out data.

A trial is a pure function of its settings: the same ``Config`` fields (seed
included) give the same score in this process, in a Dask worker or after a
resume. Its randomness comes from ``config.seed`` alone, so every trial of a
sweep starts from the same data split and the same initial-weight stream (the
comparison the notes make when they pick lambda), and BLAS runs on one thread
so that no sum is reordered by the number of cores.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..training import Callback


class Pruned(Exception):
    """Raised through ``fit`` when the pruning callback says the trial is hopeless."""

    def __init__(self, epoch: int, score: float, unit: str = "epoch"):
        super().__init__(f"pruned after {unit} {epoch + 1}")
        self.epoch, self.score = epoch, score


@functools.lru_cache(maxsize=4)
def _data(dataset, data_dir, download, seed, val_split, scale):
    """The train/validation parts, loaded once per process (trials share them, read-only)."""
    from ..experiment import Config, load_data

    config = Config(
        dataset=dataset,
        data_dir=data_dir,
        download=download,
        seed=seed,
        val_split=val_split,
        scale=scale,
    )
    train, val, _test, scaler = load_data(config)  # the test part is never looked at
    return train, val, scaler


def run_trial(settings: dict, folds: int | None = None, report=None) -> dict:
    """Train with ``settings`` (``experiment.Config`` fields) and score it.

    Parameters
    ----------
    settings : dict
        Config fields; those not given keep ``Config``'s defaults.
    folds : int, optional
        Score by stratified, seeded K-fold cross-validation on the training
        part instead of on the ``val_split`` hold-out.
    report : callable, optional
        ``report(step, accuracy)``: with hold-out scoring after every epoch (its
        validation accuracy), with ``folds`` after every fold (the mean accuracy of
        the folds done so far); a true return prunes the trial (``Pruned`` is raised).

    Returns
    -------
    dict
        ``score`` (validation accuracy, the mean over folds with ``folds``),
        ``val_loss``, ``epochs_run`` and, with folds, ``fold_scores``.
    """
    from threadpoolctl import threadpool_limits

    from ..experiment import Config

    config = Config(**settings)
    config.validate()
    with threadpool_limits(limits=1), np.errstate(over="ignore", invalid="ignore"):
        if folds is None:
            if config.val_split <= 0:
                from ..experiment import ConfigError

                raise ConfigError(
                    "a sweep scores on held-out data: give --val-split > 0 or --folds K"
                )
            return _fit_and_score(config, *_data(*_data_key(config)), report)
        return _cross_validate(config, folds, report)


def _data_key(config):
    c = config
    return (c.dataset, c.data_dir, c.download, c.seed, c.val_split, c.scale)


def _cross_validate(config, folds: int, report=None) -> dict:
    from sklearn.model_selection import StratifiedKFold

    from .. import datasets

    whole, _, _ = _data(*_data_key(dataclasses.replace(config, val_split=0.0)))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=config.seed)
    kind = config.scale or ("max" if whole.X.max() > 16 and whole.image_shape else "standard")
    results = []
    for train_idx, val_idx in splitter.split(whole.X, whole.y):
        train, val = whole.take(train_idx), whole.take(val_idx)
        scaler = datasets.Scaler(kind).fit(train.X)  # fitted on the fold's training rows only
        results.append(_fit_and_score(config, train, val, scaler, None))
        # Reported per fold, not per epoch: the folds' epochs would need steps that depend
        # on --epochs (a swept axis), while fold k of one trial and of another are the
        # same rows (the split is seeded), so their running means compare like with like.
        # Never after the last fold: the trial is done, and pruning it would throw away
        # a finished score.
        mean = float(np.mean([r["score"] for r in results]))
        if report is not None and len(results) < folds and report(len(results) - 1, mean):
            raise Pruned(len(results) - 1, mean, "fold")
    scores = [r["score"] for r in results]
    return {
        "score": float(np.mean(scores)),
        "val_loss": float(np.mean([r["val_loss"] for r in results])),
        "epochs_run": int(max(r["epochs_run"] for r in results)),
        "fold_scores": scores,
    }


def _fit_and_score(config, train, val, scaler, report) -> dict:
    """The model, loss and optimizer of ``experiment.run``, trained and scored on ``val``."""
    from .. import optim, training
    from ..experiment import (
        DEFAULT_LR,
        TrainingDiverged,
        layer_sizes,
        make_loss,
        make_model,
        make_optimizer,
        penalized,
    )

    sizes = layer_sizes(config, train.n_features, train.n_classes)
    rng = np.random.default_rng(config.seed)
    model = make_model(config, sizes, rng)
    base_loss = make_loss(config.loss, train.n_classes)
    loss = penalized(config, base_loss, model, train.n_samples)

    X_train, X_val = scaler.transform(train.X), scaler.transform(val.X)
    lr = config.lr if config.lr is not None else DEFAULT_LR[config.optimizer]
    epochs_run = config.epochs
    if config.optimizer == "lbfgs":
        optim.minimize(
            model, lambda: loss(model(X_train), train.y), method="L-BFGS-B", maxiter=config.epochs
        )
    else:
        guard = training.TerminateOnNonFinite()
        cbs = [guard]
        if config.lr_decay > 0:
            cbs.append(training.LearningRateScheduler(optim.InverseTimeDecay(lr, config.lr_decay)))
        if config.early_stopping:
            cbs.append(training.EarlyStopping(patience=config.early_stopping))
        if report is not None:
            cbs.append(_Report(report))
        try:
            history = training.fit(
                model,
                loss,
                make_optimizer(config.optimizer, model.parameters(), lr, config.momentum),
                (X_train, train.y),
                val=(X_val, val.y),
                epochs=config.epochs,
                batch_size=config.batch_size,
                callbacks=cbs,
                rng=rng,
            )
        except ValueError as exc:  # the losses refuse overflowed outputs: this setting diverged
            if not ("non-finite" in str(exc) or "overflow" in str(exc)):
                raise
            raise TrainingDiverged(f"training diverged at lr {lr:g}: {exc}") from None
        epochs_run = len(history.as_dict().get("loss", []))
        if guard.reason:
            raise TrainingDiverged(f"training diverged ({guard.reason}) at lr {lr:g}")
    result = training.evaluate(model, X_val, val.y, loss=base_loss)
    if not np.isfinite(result["loss"]):
        raise TrainingDiverged(f"the validation loss is not finite at lr {lr:g}")
    return {
        "score": float(result["accuracy"]),
        "val_loss": float(result["loss"]),
        "epochs_run": int(epochs_run),
    }


class _Report(Callback):
    """A training callback handing each epoch's validation accuracy to the pruner."""

    def __init__(self, report):
        self.report = report

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch + 1 >= trainer.epochs:  # the last epoch: a finished trial is never pruned
            return
        if self.report(epoch, float(logs["val_accuracy"])):
            raise Pruned(epoch, float(logs["val_accuracy"]))
