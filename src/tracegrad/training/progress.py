"""``ProgressBar``: show a run's progress, live on a terminal, one line per epoch elsewhere."""

from __future__ import annotations

import sys

from .callback import Callback


def format_logs(logs: dict) -> str:
    """``loss 0.1234  accuracy 0.9612  val_loss 0.1301  lr 0.1  1.2s``"""
    parts = [
        f"{key} {value:.3g}" if key == "lr" else f"{key} {value:.4f}"
        for key, value in logs.items()
        if key != "epoch_time"
    ]
    if "epoch_time" in logs:
        parts.append(f"{logs['epoch_time']:.1f}s")
    return "  ".join(parts)


class ProgressBar(Callback):
    """Report progress to ``stream``.

    Parameters
    ----------
    stream : file-like, optional
        Where to write; ``sys.stderr`` by default, so results on stdout stay clean.
    quiet : bool
        Only the one-line summary per epoch, even on a terminal.

    On a terminal each epoch gets a tqdm bar with the running mean loss and
    the samples per second; on anything else (a log file, a CI log, a pipe)
    each epoch writes one line, because redrawn bars would fill it with noise.
    """

    def __init__(self, stream=None, quiet: bool = False):
        self.stream, self.quiet = stream, quiet
        self._bar = None

    def on_train_begin(self, trainer) -> None:
        self._out = self.stream if self.stream is not None else sys.stderr
        isatty = getattr(self._out, "isatty", None)
        self._live = not self.quiet and callable(isatty) and isatty()

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
            dynamic_ncols=True,
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
        summary = format_logs(logs)
        if self._bar is not None:
            self._bar.set_postfix_str(summary, refresh=True)
            self._close()
        else:
            print(f"epoch {epoch + 1}/{trainer.epochs}  {summary}", file=self._out, flush=True)

    def on_train_end(self, trainer) -> None:
        self._close()
        if trainer.stop_reason:
            print(f"stopped: {trainer.stop_reason}", file=self._out, flush=True)

    def _close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
