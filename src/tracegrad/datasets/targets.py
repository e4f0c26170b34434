"""Regression data: samples with continuous targets, from a file or the generated ``sine`` set.

A classification ``Dataset`` holds class indices; a ``Targets`` set holds real
numbers, one column per output, in the units of the file. ``load_targets`` is
``datasets.load_targets`` (in ``registry``) is ``datasets.load`` for ``--task
regression``: the same names and files, the same seeded split (random, since
there are no classes to stratify by).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import files
from .base import _check_features, make_rng


class Targets:
    """Samples ``X`` (float32, (n, features)) and continuous targets ``y`` (float32, (n, outputs)).

    It has the attributes of a ``Dataset`` that training reads (``X``, ``y``,
    ``name``, ``columns``, ``n_samples``, ``n_features``, ``take``) and
    ``n_outputs`` in place of classes.

    Parameters
    ----------
    X : array_like
        Numeric, finite, 2-D (samples, features); stored as float32.
    y : array_like
        Numeric (or numeric text) and finite, one row per sample, shape (n,) or
        (n, outputs); stored as float32 (n, outputs). Otherwise ValueError.
    name : str, default "data"
        The data set's name.
    description : str, default ""
        A line about it.
    target_names : list of str, optional
        One name per output; by default ``y`` (one output) or ``y0``, ``y1``, ...
    columns : dict, optional
        For data read from a file, as :class:`Dataset` records it.
    """

    image_shape = None
    class_names = None

    def __init__(self, X, y, name="data", description="", target_names=None, columns=None):
        self.X = _check_features(X)
        self.y = continuous(y, f"{name} targets")
        if len(self.y) != len(self.X):
            raise ValueError(f"X has {len(self.X)} rows but y has {len(self.y)}: they must match")
        self.name, self.description, self.columns = str(name), str(description), columns
        k = self.n_outputs
        names = target_names or (["y"] if k == 1 else [f"y{j}" for j in range(k)])
        self.target_names = [str(n) for n in names]

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.y.shape[1]

    def take(self, indices) -> Targets:
        indices = np.asarray(indices)
        return Targets(
            self.X[indices], self.y[indices], self.name, self.description,
            self.target_names, self.columns,
        )  # fmt: skip

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        return (
            f"Targets({self.name!r}: {self.n_samples} samples x {self.n_features} features, "
            f"{self.n_outputs} target{'s' if self.n_outputs > 1 else ''})"
        )


def continuous(values, source: str = "targets") -> np.ndarray:
    """Targets as a float32 (n, outputs) array; refuse text and non-finite values."""
    values = np.asarray(values)
    if values.dtype.kind in "USO":
        text = np.char.strip(values.astype(str))
        try:
            values = text.astype(np.float64)
        except ValueError:
            bad = next(t for t in text.reshape(-1) if not _is_float(t))
            raise ValueError(
                f"{source} holds {bad[:40]!r}, not a number: regression needs numeric "
                "targets; pick the right label column, or train a classifier without "
                "--task regression"
            ) from None
    if values.dtype.kind not in "biuf":
        raise TypeError(f"{source}: targets of dtype {values.dtype} are not numbers")
    if values.ndim == 1:
        values = values.reshape(-1, 1)
    if values.ndim != 2 or values.shape[1] == 0:
        raise ValueError(f"{source}: targets must be one column per output, got {values.shape}")
    values = values.astype(np.float64)
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        raise ValueError(f"{source}: the target of sample {bad[0] + 1} is not finite: fix that row")
    if np.abs(values).max(initial=0) > np.finfo(np.float32).max:
        raise ValueError(f"{source}: a target is beyond float32's range: rescale the targets")
    return values.astype(np.float32)


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def sine(
    n_samples: int = 200, noise: float = 0.1, frequency: float = 1.0, *, rng=None, seed=None
) -> Targets:
    """``t = sin(frequency x) + noise``: x uniform over [-π, π], Gaussian noise of std ``noise``.

    The one-input set of the universal-approximation picture: a network of one
    hidden layer fits it better the more units (basis functions) it has.

    Parameters
    ----------
    n_samples : int, default 200
        Number of points, at least 2.
    noise : float, default 0.1
        Standard deviation of the noise on the targets, >= 0.
    frequency : float, default 1.0
        The angular frequency of the sine.
    rng : numpy.random.Generator, optional
        Drawn from as it is; otherwise a Generator seeded by ``seed``.
    seed : int, optional
        Seed when ``rng`` is None; 0 when neither is given.

    Returns
    -------
    Targets
        ``X`` of shape (n_samples, 1), ``y`` of shape (n_samples, 1).
    """
    if int(n_samples) < 2:
        raise ValueError(f"n_samples={n_samples}: ask for at least 2 samples")
    if not noise >= 0:
        raise ValueError(f"noise={noise} is negative: it is a standard deviation, use noise >= 0")
    rng = make_rng(rng, seed)
    x = rng.uniform(-np.pi, np.pi, size=(int(n_samples), 1))
    t = np.sin(frequency * x) + noise * rng.standard_normal(x.shape)
    return Targets(
        x, t, name="sine", target_names=["sin(x)" if frequency == 1 else f"sin({frequency:g}x)"],
        description=(
            f"Sine: {n_samples} points x uniform over [-pi, pi], target sin({frequency:g}x) plus "
            f"Gaussian noise std {noise}. One input, one output."
        ),
    )  # fmt: skip


REGRESSION_SETS = {"sine": sine}


def split(data: Targets, fraction: float, rng=None, *, seed=None):
    """A random, seeded ``(rest, held_out)`` split of ``data``; rows keep their order."""
    rng = make_rng(rng, seed)
    n = data.n_samples
    n_test = int(round(fraction * n))
    if not 1 <= n_test < n:
        raise ValueError(
            f"{data.name} has {n} samples: too few to hold out {fraction:g} of them; "
            "use more samples"
        )
    order = rng.permutation(n)
    return data.take(np.sort(order[n_test:])), data.take(np.sort(order[:n_test]))


def read_file(path: Path, label_column=None) -> Targets:
    """A .npy/.npz/.csv file's features and numeric targets (see ``files.load_file``)."""
    suffix = path.suffix.lower()
    if suffix not in files.SUFFIXES:
        raise ValueError(f"{path}: unsupported file type {suffix!r}; use .npy, .npz or .csv")
    columns, names = None, None
    if suffix == ".npz":
        X, y, _ = files._read_npz(path)  # y of shape (n, outputs): several targets
        where = "array y"
    elif suffix == ".npy":
        X, y, where, columns = files._read_npy(path, label_column)
    else:
        X, y, where, columns = files._read_csv(path, label_column)
        if columns.get("label_name"):
            names = [columns["label_name"]]
    y = continuous(y, f"{path} ({where})")
    return Targets(
        X, y, name=path.stem, target_names=names, columns=columns,
        description=f"Loaded from {path.name}: {len(X)} samples, targets from {where}.",
    )  # fmt: skip
