"""Feature scaling fitted on training data and saved with the model.

Every kind is the same affine map, ``(X - offset_) / scale_``; the kinds differ
only in how ``fit`` chooses ``offset_`` and ``scale_``. Statistics must come
from the training part alone: fitting on test data leaks it into the model.
"""

from __future__ import annotations

import numpy as np

KINDS = ("standard", "minmax", "max", "none")


class Scaler:
    """Scale features to a range a network trains well on.

    Parameters
    ----------
    kind : {"standard", "minmax", "max", "none"}
        ``"standard"``: per feature, subtract the mean and divide by the
        standard deviation. ``"minmax"``: per feature, map [min, max] to
        [0, 1]. ``"max"``: divide everything by one global maximum of ``|X|``
        (255 for 8-bit images), which keeps pixels comparable with each
        other. ``"none"``: leave values as they are. A feature that does not
        vary is only shifted (its scale is taken as 1), never divided by 0.

    Attributes
    ----------
    offset_, scale_ : numpy.ndarray of float32, shape (n_features,)
        Set by ``fit``.
    """

    def __init__(self, kind: str = "standard"):
        if kind not in KINDS:
            raise ValueError(f"unknown scaler kind {kind!r}; choose one of {', '.join(KINDS)}")
        self.kind = kind

    def fit(self, X) -> Scaler:
        """Learn offset and scale from training features ``X`` of shape (n, features).

        Parameters
        ----------
        X : array_like
            Training features, 2-D with at least one row (ValueError otherwise).

        Returns
        -------
        Scaler
            ``self``, fitted.
        """
        X = np.asarray(X)
        if X.ndim != 2 or len(X) == 0:
            raise ValueError(
                f"Scaler.fit needs a 2-D (samples, features) array with at least one row, "
                f"got shape {X.shape}"
            )
        n_features = X.shape[1]
        offset = np.zeros(n_features)
        scale = np.ones(n_features)
        # Statistics in float64: a float32 sum over 60,000 rows loses digits.
        if self.kind == "standard":
            offset = X.mean(axis=0, dtype=np.float64)
            scale = _no_zero(_column_std(X, offset), offset)
        elif self.kind == "minmax":
            offset = X.min(axis=0).astype(np.float64)
            scale = _no_zero(X.max(axis=0) - offset, offset)
        elif self.kind == "max":
            scale = np.full(n_features, _no_zero(float(np.abs(X).max()), 0.0))
        self.offset_ = offset.astype(np.float32)
        self.scale_ = scale.astype(np.float32)
        return self

    def transform(self, X) -> np.ndarray:
        """Return scaled float32 features; ``X`` is not modified.

        Parameters
        ----------
        X : array_like
            Features of shape (n, features), the columns ``fit`` saw (ValueError
            otherwise; RuntimeError before ``fit``).
        """
        self._check_fitted(X)
        X = np.asarray(X, dtype=np.float32)
        return (X - self.offset_) / self.scale_

    def fit_transform(self, X) -> np.ndarray:
        """``fit(X)`` then ``transform(X)``.

        Parameters
        ----------
        X : array_like
            Training features, 2-D with at least one row.
        """
        return self.fit(X).transform(X)

    def inverse_transform(self, X) -> np.ndarray:
        """Undo ``transform``, e.g. to show scaled images as pixels again.

        Parameters
        ----------
        X : array_like
            Features of shape (n, features), the columns ``fit`` saw (ValueError
            otherwise; RuntimeError before ``fit``).
        """
        self._check_fitted(X)
        return np.asarray(X, dtype=np.float32) * self.scale_ + self.offset_

    @property
    def n_features(self) -> int:
        self._check_fitted()
        return len(self.scale_)

    def to_dict(self) -> dict:
        """State as ``{"kind": str, "offset": array, "scale": array}`` for a model file."""
        self._check_fitted()
        return {"kind": self.kind, "offset": self.offset_.copy(), "scale": self.scale_.copy()}

    @classmethod
    def from_dict(cls, state) -> Scaler:
        """Rebuild a fitted Scaler from ``to_dict()`` output (also as loaded from .npz).

        Parameters
        ----------
        state : mapping
            ``kind``, ``offset`` and ``scale`` (ValueError when one is missing or
            they do not fit together).
        """
        missing = {"kind", "offset", "scale"} - set(state)
        if missing:
            raise ValueError(
                f"scaler state lacks {sorted(missing)}: expected the keys kind, offset "
                "and scale written by Scaler.to_dict()"
            )
        scaler = cls(str(state["kind"]))  # str(): .npz stores it as a 0-d array
        offset = np.asarray(state["offset"], dtype=np.float32).reshape(-1)
        scale = np.asarray(state["scale"], dtype=np.float32).reshape(-1)
        if offset.shape != scale.shape:
            raise ValueError(
                f"scaler state has {offset.size} offsets but {scale.size} scales: "
                "the saved file is damaged"
            )
        scaler.offset_, scaler.scale_ = offset, scale
        return scaler

    def _check_fitted(self, X=None) -> None:
        if not hasattr(self, "scale_"):
            raise RuntimeError(
                "this Scaler is not fitted yet: call fit(X_train) (or fit_transform) "
                "before transform"
            )
        if X is not None:
            shape = np.shape(X)
            if len(shape) != 2 or shape[1] != len(self.scale_):
                raise ValueError(
                    f"Scaler was fitted on {len(self.scale_)} features but got data of shape "
                    f"{shape} ({shape[-1] if shape else 0} features); transform data with the "
                    "same columns as the training data"
                )

    def __repr__(self) -> str:
        return f"Scaler(kind={self.kind!r})"


def _column_std(X, mean, rows: int = 4096):
    """Per-column standard deviation, accumulated in float64 a block of rows at a time.

    ``X.std(axis=0, dtype=np.float64)`` would build a float64 copy of X (376 MB
    for MNIST); blocks keep the extra memory small and the result as accurate.
    """
    mean32 = mean.astype(np.float32)
    total = np.zeros(X.shape[1])
    for start in range(0, len(X), rows):
        d = np.asarray(X[start : start + rows], dtype=np.float32) - mean32
        np.square(d, out=d)
        total += d.sum(axis=0, dtype=np.float64)
    return np.sqrt(total / len(X))


def _no_zero(scale, offset):
    """Replace scales too small to divide by with 1.

    'Too small' is relative: the spread of a constant float32 column computed
    in float64 is rounding noise of about 1e-7 times its value, not zero.
    """
    scale = np.asarray(scale, dtype=np.float64)
    tiny = scale <= 1e-6 * np.maximum(np.abs(offset), 1.0)
    return np.where(tiny, 1.0, scale)
