"""The callback protocol, and ``History``, the callback every run has.

A callback is an object with any of the hooks below; each receives the
``Trainer``, which exposes ``model``, ``optimizer``, ``loss``, ``rng``,
``history``, ``epoch`` (epochs completed), ``epochs`` (the target), ``step``
(batches completed), ``batches`` and ``stop_training`` / ``stop_reason``.
A callback stops training by setting ``trainer.stop_training = True``: set
in ``on_batch_end`` it ends the run at once (the unfinished epoch is not
recorded); set in ``on_epoch_end`` it ends the run after that epoch.
"""

from __future__ import annotations


class Callback:
    """Base class with every hook doing nothing: override the ones you need.

    ``epoch`` and ``batch`` are 0-based indices; ``logs`` is a dict of numbers:
    ``loss`` and ``size`` for a batch; ``loss``, ``accuracy`` (for class targets),
    ``val_loss``, ``val_accuracy`` (with validation data), ``lr`` (at the start of
    the epoch) and ``epoch_time`` (seconds) for an epoch.
    """

    def on_train_begin(self, trainer) -> None:
        pass

    def on_epoch_begin(self, trainer, epoch: int) -> None:
        pass

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None:
        pass

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        pass

    def on_train_end(self, trainer) -> None:
        pass


class History(Callback):
    """The epoch logs of a run, one list per quantity.

    Attributes
    ----------
    epoch : list of int
        Numbers of the recorded epochs, counting from 1.
    history : dict of str -> list
        ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``lr``,
        ``epoch_time``: the ones that apply to the run, one value per epoch.
    """

    def __init__(self):
        self.epoch: list[int] = []
        self.history: dict[str, list] = {}

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self.epoch.append(epoch + 1)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def as_dict(self) -> dict:
        """``{"epoch": [...], "loss": [...], ...}``: plain lists, safe to modify or save."""
        return {"epoch": list(self.epoch), **{k: list(v) for k, v in self.history.items()}}

    def load(self, record: dict) -> None:
        """Replace the contents with an :meth:`as_dict` record (when resuming a run).

        Parameters
        ----------
        record : dict
            ``epoch`` (a list of epoch numbers) and one list per logged quantity.
        """
        record = dict(record)
        self.epoch = [int(e) for e in record.pop("epoch", [])]
        self.history = {str(k): list(v) for k, v in record.items()}

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __contains__(self, key: str) -> bool:
        return key in self.history

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        return f"History({len(self)} epochs: {', '.join(self.history)})"
