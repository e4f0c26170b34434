"""The ``Dataset`` container, the data errors, and the one way to get randomness.

Every loader in this package returns a ``Dataset``: a float32 feature matrix
with one row per sample, int64 labels ``0..K-1`` and the names of the classes.
Checking that contract once, here, lets the trainer and the CLI trust it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class DatasetNotFoundError(FileNotFoundError):
    """A data set's files are in none of the directories that were searched."""


class CorruptDatasetError(ValueError):
    """A data file exists but its content is wrong (checksum, header or length)."""


def make_rng(rng: np.random.Generator | None = None, seed: int | None = None):
    """Return the Generator to draw from: ``rng`` if given, else one seeded by ``seed``.

    Parameters
    ----------
    rng : numpy.random.Generator, optional
        Used as is, so a caller can thread one Generator through a whole run.
    seed : int, optional
        Seeds a new Generator when ``rng`` is None; defaults to 0 so that
        results are reproducible unless randomness is asked for explicitly.
    """
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(
                f"rng must be a numpy.random.Generator, got {type(rng).__name__}; "
                "make one with numpy.random.default_rng(seed) or pass seed=<int> instead"
            )
        if seed is not None:
            raise ValueError("pass either rng or seed, not both")
        return rng
    return np.random.default_rng(0 if seed is None else seed)


@dataclass(repr=False, eq=False)
class Dataset:
    """Samples, integer labels and what they mean.

    Parameters
    ----------
    X : array_like, shape (n_samples, n_features)
        Features, stored as float32. Images are flattened row by row.
    y : array_like of int, shape (n_samples,)
        Class labels in ``0 .. n_classes - 1``, stored as int64.
    name : str
        Short identifier, e.g. ``"mnist"``.
    description : str
        One short paragraph: origin, size, what the features are.
    class_names : list of str, optional
        Name of each class; its length defines ``n_classes``. Defaults to
        ``"0" .. str(max(y))``.
    image_shape : tuple of int, optional
        ``(height, width)`` when each row is a flattened image, else None.
    columns : dict, optional
        For data read from a file: ``feature_names`` (list or None),
        ``label_name`` (str or None), ``label_index`` and ``n_columns`` (where
        the label stood in each row). Model files record it so that
        ``predict`` reads new files by the same rules as training did.
    """

    X: np.ndarray
    y: np.ndarray
    name: str = "data"
    description: str = ""
    class_names: list[str] | None = None
    image_shape: tuple[int, ...] | None = None
    columns: dict | None = None

    def __post_init__(self):
        self.X = _check_features(self.X)
        self.y = _check_labels(self.y, len(self.X))
        if self.class_names is None:
            top = int(self.y.max()) + 1 if len(self.y) else 0
            self.class_names = [str(k) for k in range(top)]
        self.class_names = [str(c) for c in self.class_names]
        if len(self.y) and self.y.max() >= len(self.class_names):
            raise ValueError(
                f"label {int(self.y.max())} is out of range for {len(self.class_names)} "
                f"class names: labels must be 0..{len(self.class_names) - 1}; pass one name "
                "per class or remap the labels with numpy.unique(y, return_inverse=True)"
            )
        if self.image_shape is not None:
            self.image_shape = tuple(int(s) for s in self.image_shape)
            if int(np.prod(self.image_shape)) != self.n_features:
                raise ValueError(
                    f"image_shape {self.image_shape} holds {int(np.prod(self.image_shape))} "
                    f"pixels but X has {self.n_features} features; pass the shape the rows "
                    "were flattened from, or image_shape=None for tabular data"
                )

    @property
    def n_samples(self) -> int:
        return self.X.shape[0]

    @property
    def n_features(self) -> int:
        return self.X.shape[1]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def class_counts(self) -> np.ndarray:
        """Number of samples in each class, an int64 array of length ``n_classes``."""
        return np.bincount(self.y, minlength=self.n_classes)

    def take(self, indices) -> Dataset:
        """A new Dataset holding the rows at ``indices``, with the same metadata.

        Parameters
        ----------
        indices : array_like of int or bool
            Row indices (or a boolean mask), as NumPy indexing takes them.
        """
        indices = np.asarray(indices)
        return Dataset(
            self.X[indices],
            self.y[indices],
            name=self.name,
            description=self.description,
            class_names=list(self.class_names),
            image_shape=self.image_shape,
            columns=self.columns,
        )

    def __len__(self) -> int:
        return self.n_samples

    def __repr__(self) -> str:
        image = f", images {self.image_shape}" if self.image_shape else ""
        return (
            f"Dataset({self.name!r}: {self.n_samples} samples x {self.n_features} features, "
            f"{self.n_classes} classes{image})"
        )


def _check_features(X) -> np.ndarray:
    X = np.asarray(X)
    if X.dtype.kind not in "biuf":
        raise TypeError(
            f"X has dtype {X.dtype}: expected numbers; encode text or categorical "
            "columns as numbers first"
        )
    if X.ndim != 2:
        if X.ndim > 2:
            fix = "flatten images with X.reshape(len(X), -1)"
        else:
            fix = "make a single feature a column with X.reshape(-1, 1)"
        raise ValueError(f"X has shape {X.shape}: expected 2-D (samples, features); {fix}")
    X = X.astype(np.float32, copy=False)
    # A finite sum proves every entry finite in one cheap reduction; only when
    # it is not (a NaN, an inf, or a float32 overflow) is the full check run.
    if not np.isfinite(X.sum()) and not np.isfinite(X).all():
        rows = np.unique(np.nonzero(~np.isfinite(X))[0])
        raise ValueError(
            f"X has NaN or infinite values in {len(rows)} rows (first: row {rows[0]}); "
            "drop or impute those rows before building a Dataset"
        )
    return X


def _check_labels(y, n_samples: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(
            f"y has shape {y.shape}: expected 1-D class labels; for one-hot labels "
            "use y.argmax(axis=1)"
        )
    if len(y) != n_samples:
        raise ValueError(
            f"X has {n_samples} samples but y has {len(y)} labels: they must match row for row"
        )
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"y has dtype {y.dtype}: expected integer class labels 0..K-1; map other "
            "labels with numpy.unique(y, return_inverse=True) or use load_file, "
            "which does it for you"
        )
    if len(y) and y.min() < 0:
        raise ValueError(
            f"y has negative label {int(y.min())}: labels must be 0..K-1; remap them with "
            "numpy.unique(y, return_inverse=True)"
        )
    return y.astype(np.int64, copy=False)
