"""``EarlyStopping``: stop when a monitored quantity stops improving."""

from __future__ import annotations

import math

from .callback import Callback


class EarlyStopping(Callback):
    """Stop training after ``patience`` epochs without improvement of ``monitor``.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs: ``val_loss`` (the default; needs validation
        data), ``val_accuracy``, ``loss``, ``accuracy``.
    patience : int
        Epochs without improvement to wait before stopping.
    min_delta : float
        The smallest change that counts as an improvement.
    restore_best_weights : bool
        At the end of training, put back the weights of the best epoch, so the
        model you keep is the one that scored best, not the last one.
    mode : {"auto", "min", "max"}
        Whether lower or higher is better; ``auto`` treats names containing
        "acc" as higher-is-better and everything else as lower-is-better.

    Notes
    -----
    The best weights are kept in memory only: a run resumed from a checkpoint
    starts its patience count afresh.
    """

    def __init__(
        self, monitor="val_loss", patience=5, min_delta=0.0, restore_best_weights=True, mode="auto"
    ):
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 0:
            raise ValueError(f"patience must be a whole number of epochs >= 0, got {patience!r}")
        if not min_delta >= 0:
            raise ValueError(f"min_delta must be >= 0, got {min_delta!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
        self.monitor, self.patience, self.min_delta = monitor, patience, float(min_delta)
        self.restore_best_weights = restore_best_weights
        higher_is_better = mode == "max" or (mode == "auto" and "acc" in monitor)
        self.sign = -1.0 if higher_is_better else 1.0  # compare sign * value, lower is better

    def on_train_begin(self, trainer) -> None:
        self.best, self.best_epoch, self.best_weights, self.wait = math.inf, None, None, 0

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        if self.monitor not in logs:
            raise KeyError(
                f"EarlyStopping monitors {self.monitor!r} but the epoch logs hold "
                f"{sorted(logs)}: pass val=... to fit, or monitor one of those"
            )
        value = self.sign * logs[self.monitor]
        if value < self.best - self.min_delta:  # a NaN never counts as an improvement
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = trainer.model.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            trainer.stop_training = True
            best = "none" if self.best_epoch is None else f"epoch {self.best_epoch + 1}"
            trainer.stop_reason = (
                f"early stopping: {self.monitor} has not improved for {self.wait} epochs "
                f"(best: {best})"
            )

    def on_train_end(self, trainer) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            trainer.model.load_state_dict(self.best_weights)
