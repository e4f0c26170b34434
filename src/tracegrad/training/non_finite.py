"""``TerminateOnNonFinite``: stop a diverging run and keep the last good weights."""

from __future__ import annotations

import math

import numpy as np

from .callback import Callback


def _finite(a: np.ndarray) -> bool:
    # One reduction usually proves it; the full check runs only when the sum is not finite.
    return bool(np.isfinite(a.sum()) or np.isfinite(a).all())


class TerminateOnNonFinite(Callback):
    """Stop at the first batch whose loss or updated weights are NaN or infinite.

    The model and the optimizer state are then put back as they were at the
    start of the epoch (the end of the last good one), and
    ``trainer.stop_reason`` explains what happened and what to try.

    Weights are checked after every step because non-finite weights make the
    next forward pass non-finite, which the loss functions refuse with an error.
    """

    reason = None  # what and where, once it fired: for callers that must not save the weights

    def on_train_begin(self, trainer) -> None:
        self.reason = None

    def on_epoch_begin(self, trainer, epoch) -> None:
        self._model_state = trainer.model.state_dict()
        self._optimizer_state = trainer.optimizer.state_dict()

    def on_batch_end(self, trainer, batch, logs) -> None:
        loss = logs["loss"]
        if math.isfinite(loss) and all(_finite(p.data) for p in trainer.model.parameters()):
            return
        what = f"the loss was {loss}" if not math.isfinite(loss) else "a weight became non-finite"
        trainer.model.load_state_dict(self._model_state)
        trainer.optimizer.load_state_dict(self._optimizer_state)
        trainer.stop_training = True
        self.reason = f"{what} at epoch {trainer.epoch + 1}, batch {batch + 1}"
        trainer.stop_reason = (
            f"non-finite training: {self.reason}; "
            f"the weights from the start of that epoch were restored. Lower the learning "
            f"rate (it was {trainer.optimizer.lr:g}) or scale the inputs"
        )
