"""One playground run: its data, its network, and training it one epoch at a time.

Everything the page shows comes from here, computed by tracegrad: the network is
an ``nn.MLP`` trained with ``training.fit`` and an optimizer from the same
registry as ``tracegrad train``. The settings of every stretch of epochs are
logged, so ``export.script`` can write a Python file that repeats the run.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from .. import datasets, losses, nn, training
from ..experiment import make_optimizer
from ..tensor import Tensor, no_grad
from .settings import UPLOAD, Settings, SettingsError, parse

GRID = 50  # decision-boundary cells per side
# A change to any of these starts a new run; lr, batch size and L2 apply from the next epoch.
RESTART_FIELDS = (
    "dataset",
    "noise",
    "n_samples",
    "train_ratio",
    "seed",
    "hidden",
    "activation",
    "optimizer",
)


class Session:
    """A run the page drives; every public method takes the session's lock."""

    def __init__(self, settings: Settings | None = None):
        self.lock = threading.RLock()
        self._dir = None  # private folder of the uploaded CSV, removed by close()
        self.upload_name = None
        self.settings = settings or Settings()
        self.reset()

    # -- data and model ---------------------------------------------------------------
    def data_source(self):
        """What ``datasets.load`` is given: a registry name, or the uploaded file."""
        if self.settings.dataset == UPLOAD:
            return Path(self._dir) / self.upload_name
        return self.settings.dataset

    def reset(self) -> None:
        """A new network (and data) from the current settings, at epoch 0."""
        with self.lock:
            s = self.settings
            self.train, self.test = datasets.load(
                self.data_source(),
                seed=s.seed,
                test_size=round(1 - s.train_ratio, 6),
                **s.data_options(),
            )
            self.scaler = datasets.Scaler("standard").fit(self.train.X)
            self.X_train = self.scaler.transform(self.train.X)
            self.X_test = self.scaler.transform(self.test.X)
            self.rng = np.random.default_rng(s.seed)
            sizes = [2, *s.hidden, self.train.n_classes]
            self.model = nn.MLP(sizes, activation=s.activation, rng=self.rng)
            self.optimizer = make_optimizer(s.optimizer, self.model.parameters(), s.lr)
            self.epoch = 0
            self.segments = []  # [epochs, lr, batch_size, l2] per stretch of training
            self.history = {"train": [], "test": []}
            self.error = None
            self._grid = self._make_grid()
            self._record_losses()
            self.frame()

    def update(self, raw: dict) -> bool:
        """Apply settings from the page; True when the run had to start again."""
        with self.lock:
            new = parse(raw, self.settings, has_upload=self.upload_name is not None)
            restart = any(getattr(new, f) != getattr(self.settings, f) for f in RESTART_FIELDS)
            old, self.settings = self.settings, new
            if restart:
                try:
                    self.reset()
                except ValueError as exc:  # e.g. a split that leaves a part empty
                    self.settings = old
                    self.reset()
                    raise SettingsError(str(exc).splitlines()[0]) from None
            else:
                self.optimizer.lr = new.lr
            return restart

    def cost(self, out, y, l2=None):
        """The training cost: cross-entropy plus the notes' λ/(2m)·Σ‖W‖²."""
        c = losses.cross_entropy(out, y)
        lam = self.settings.l2 if l2 is None else l2
        if lam > 0:
            c = c + losses.l2_penalty(self.model, lam, len(self.X_train))
        return c

    # -- training ---------------------------------------------------------------------
    def step(self, epochs: int = 1) -> None:
        """Train ``epochs`` epochs with ``training.fit``, sharing one random stream."""
        with self.lock:
            if self.error is not None:  # a diverged run stays stopped until reset
                raise FloatingPointError(self.error)
            s = self.settings
            # A diverging run is reported once, as the error below, not as NumPy warnings.
            try:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    training.fit(
                        self.model,
                        self.cost,
                        self.optimizer,
                        (self.X_train, self.train.y),
                        epochs=epochs,
                        batch_size=s.batch_size,
                        rng=self.rng,
                    )
                    self._record_losses()
            except (ValueError, FloatingPointError) as exc:
                self.error = f"{str(exc).splitlines()[0]}; press reset to start again"
                raise FloatingPointError(self.error) from None
            self.epoch += epochs
            run = [s.lr, s.batch_size, s.l2]
            if self.segments and self.segments[-1][1:] == run:
                self.segments[-1][0] += epochs
            else:
                self.segments.append([epochs, *run])

    def _data_loss(self, X, y) -> float:
        with no_grad():
            return float(losses.cross_entropy(self.model(Tensor(X)), y).item())

    def _record_losses(self) -> None:
        train = self._data_loss(self.X_train, self.train.y)
        test = self._data_loss(self.X_test, self.test.y)
        if not (np.isfinite(train) and np.isfinite(test)):
            raise FloatingPointError("the loss is no longer finite: lower the learning rate")
        self.history["train"].append(train)
        self.history["test"].append(test)

    # -- what the page draws -------------------------------------------------------------
    def _make_grid(self):
        both = np.concatenate([self.train.X, self.test.X])
        low, high = both.min(axis=0), both.max(axis=0)
        pad = 0.08 * np.maximum(high - low, 1e-6)
        low, high = low - pad, high + pad
        xs = np.linspace(low[0], high[0], GRID)
        ys = np.linspace(high[1], low[1], GRID)  # row 0 is the top of the picture
        points = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2).astype(np.float32)
        self.domain = [float(low[0]), float(high[0]), float(low[1]), float(high[1])]
        return self.scaler.transform(points)

    def data(self) -> dict:
        """The points (raw coordinates, label) and what they mean; sent once per run."""
        with self.lock:
            return {
                "type": "data",
                "settings": self.settings.to_dict(),
                "upload": self.upload_name,
                "domain": self.domain,
                "grid": GRID,
                "class_names": list(self.train.class_names),
                "sizes": self.model.sizes,
                "train": _points(self.train),
                "test": _points(self.test),
            }

    def frame(self) -> dict:
        """Epoch, losses, weights and the decision boundary as they are now."""
        with self.lock:
            if self.error is not None:  # the weights are not finite: keep the last picture
                return self._last_frame
            proba = training.predict_proba(self.model, self._grid)
            klass = proba.argmax(axis=1)
            if proba.shape[1] == 2:  # binary: the colour follows P(class 1), as in Playground
                level = proba[:, 1]
            else:
                level = proba.max(axis=1)
            self._last_frame = {
                "type": "frame",
                "epoch": self.epoch,
                "loss": self.history["train"][-1],
                "test_loss": self.history["test"][-1],
                "classes": klass.astype(int).tolist(),
                "level": np.round(level * 255).astype(int).tolist(),
                "weights": [lin.weight.data.tolist() for lin in self.model.linears],
                "biases": [lin.bias.data.tolist() for lin in self.model.linears],
            }
            return self._last_frame

    def check_usable(self) -> None:
        """Refuse questions about a network whose weights are no longer finite."""
        if self.error is not None:
            raise FloatingPointError(self.error)

    def sample(self, part: str, index: int):
        """One sample, scaled as the network sees it, and its label."""
        ds, X = (self.train, self.X_train) if part == "train" else (self.test, self.X_test)
        if part not in ("train", "test"):
            raise SettingsError(f"part must be 'train' or 'test', got {part!r}")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(X):
            raise SettingsError(f"sample must be an index from 0 to {len(X) - 1}, got {index!r}")
        return ds.X[index], X[index : index + 1], ds.y[index : index + 1]

    # -- the uploaded file ---------------------------------------------------------------
    def keep_upload(self, name: str, content: bytes) -> None:
        with self.lock:
            if self._dir is None:
                self._dir = tempfile.mkdtemp(prefix="tracegrad-playground-")
            for old in Path(self._dir).iterdir():
                old.unlink()
            (Path(self._dir) / name).write_bytes(content)
            self.upload_name = name

    def close(self) -> None:
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None


def _points(ds) -> list:
    return [
        [round(float(a), 5), round(float(b), 5), int(k)]
        for (a, b), k in zip(ds.X, ds.y, strict=True)
    ]
