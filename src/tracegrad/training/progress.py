"""``ProgressBar``: show a run's progress, live on a terminal, one line per epoch elsewhere."""

from __future__ import annotations

import math
import shutil
import sys

from .callback import Callback

# Short names keep an epoch's line, validation metrics included, within 80 columns.
_SHORT = {"accuracy": "acc", "val_accuracy": "val_acc"}


def _value(key: str, value) -> str:
    if "accuracy" in key:
        return f"{100 * value:.2f}%"
    if not math.isfinite(value) or abs(value) >= 1000:
        return f"{value:.3g}"
    return f"{value:.4f}"


def format_logs(logs: dict, width: int | None = None, prefix: str = "") -> str:
    """``loss 0.1234  acc 96.12%  val_loss 0.1301  val_acc 95.83%  lr 0.1  1.2s``

    Losses get four decimals, accuracies are percentages with two. With ``width``
    the line is made to fit: first with single spaces between the entries, then
    without the epoch time, then without the learning rate; metrics are never cut.
    """
    shown = [(k, v) for k, v in logs.items() if k not in ("lr", "epoch_time")]
    metrics = [f"{_SHORT.get(k, k)} {_value(k, v)}" for k, v in shown]
    lr = [f"lr {logs['lr']:.3g}"] if "lr" in logs else []
    seconds = [f"{logs['epoch_time']:.1f}s"] if "epoch_time" in logs else []
    head = [prefix] if prefix else []
    tries = [
        ("  ", metrics + lr + seconds),
        (" ", metrics + lr + seconds),
        (" ", metrics + lr),
        (" ", metrics),
    ]
    for sep, parts in tries:
        line = sep.join(head + parts)
        if width is None or len(line) <= width:
            return line
    return line


class ProgressBar(Callback):
    """Report progress to ``stream``.

    On a terminal each epoch gets a tqdm bar with the running mean loss and
    the samples per second, replaced at the end of the epoch by its summary
    line; on anything else (a log file, a CI log, a pipe) each epoch writes
    only that line, because redrawn bars would fill it with noise.

    Parameters
    ----------
    stream : file-like, optional
        Where to write; ``sys.stderr`` by default, so results on stdout stay clean.
    quiet : bool, default False
        Only the one-line summary per epoch, even on a terminal.
    width : int, default 80
        The most columns an epoch's summary line takes (less on a narrower terminal).
    """

    def __init__(self, stream=None, quiet: bool = False, width: int = 80):
        self.stream, self.quiet, self.width = stream, quiet, width
        self._bar = None

    def on_train_begin(self, trainer) -> None:
        self._out = self.stream if self.stream is not None else sys.stderr
        isatty = getattr(self._out, "isatty", None)
        self._live = not self.quiet and callable(isatty) and isatty()
        self._columns = self.width
        if self._live:
            self._columns = min(self.width, shutil.get_terminal_size((self.width, 24)).columns)

    def on_epoch_begin(self, trainer, epoch) -> None:
        if not self._live:
            return
        from tqdm import tqdm  # imported only when a bar is drawn

        batches = trainer.batches
        total = len(batches) * batches.batch_size if batches.drop_last else batches.n_samples
        self._bar = tqdm(
            total=total,
            desc=f"epoch {epoch + 1}/{trainer.epochs}",
            unit="sample",
            unit_scale=True,
            file=self._out,
            ncols=self._columns,
            leave=False,  # the summary line below takes its place
        )
        self._loss_sum, self._seen = 0.0, 0

    def on_batch_end(self, trainer, batch, logs) -> None:
        if self._bar is None:
            return
        self._loss_sum += logs["loss"] * logs["size"]
        self._seen += logs["size"]
        self._bar.set_postfix(loss=f"{self._loss_sum / self._seen:.4f}", refresh=False)
        self._bar.update(logs["size"])

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        self._close()
        digits = len(str(trainer.epochs))  # the same layout on every line of a run
        prefix = f"epoch {epoch + 1:>{digits}}/{trainer.epochs}"
        line = format_logs(logs, width=self._columns, prefix=prefix)
        print(line, file=self._out, flush=True)

    def on_train_end(self, trainer) -> None:
        self._close()
        if trainer.stop_reason:
            print(f"stopped: {trainer.stop_reason}", file=self._out, flush=True)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
