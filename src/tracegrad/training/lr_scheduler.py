"""``LearningRateScheduler``: set the optimizer's learning rate from a schedule."""

from __future__ import annotations

from .callback import Callback


class LearningRateScheduler(Callback):
    """Set ``optimizer.lr = schedule(k)`` before each epoch or each batch.

    Parameters
    ----------
    schedule : callable
        ``k -> learning rate``, e.g. a ``tracegrad.optim`` schedule such as
        ``StepDecay``. Pure schedules make resumed runs identical.
    per : {"epoch", "batch"}
        What ``k`` counts: completed epochs, or completed batches (``trainer.step``).
    """

    def __init__(self, schedule, per: str = "epoch"):
        if not callable(schedule):
            raise TypeError(
                f"schedule must be callable (k -> lr), got {type(schedule).__name__}; "
                "pass e.g. tracegrad.optim.StepDecay(0.1, 10, 0.5) or a function"
            )
        if per not in ("epoch", "batch"):
            raise ValueError(f"per must be 'epoch' or 'batch', got {per!r}")
        self.schedule, self.per = schedule, per

    def on_epoch_begin(self, trainer, epoch) -> None:
        trainer.optimizer.lr = self.schedule(epoch if self.per == "epoch" else trainer.step)

    def on_batch_end(self, trainer, batch, logs) -> None:
        if self.per == "batch":
            trainer.optimizer.lr = self.schedule(trainer.step)
