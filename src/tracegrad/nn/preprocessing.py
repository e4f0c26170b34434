"""``Normalization``: the fitted input scaling as the first layer of a model.

A model trained on scaled inputs gives wrong answers on raw ones. Keeping the
scaling inside the model (as Keras' ``Normalization`` layer does) means the
saved file, ``model(X_raw)``, ``training.predict`` and the CLI all see the
same thing the training loop saw, with nothing to remember to apply by hand.
"""

from __future__ import annotations

import numpy as np

from .. import ops
from ..tensor import Tensor
from .module import Module


class _FixedAffine(Module):
    """What Normalization and Denormalization share: fixed ``offset`` and ``scale`` buffers
    (finite, ``scale`` positive), copied in at construction, one entry per feature."""

    #: Arrays a model file stores for this layer, besides its constructor arguments.
    buffer_names = ("offset", "scale")

    def __init__(self, offset, scale, kind: str = "standard"):
        offset = np.array(offset, copy=True).reshape(-1)
        scale = np.array(scale, copy=True).reshape(-1)
        if offset.dtype.kind != "f":
            offset = offset.astype(np.float32)
        scale = scale.astype(offset.dtype)
        check_affine(offset, scale)
        self.kind = str(kind)
        self.offset, self.scale = offset, scale

    @property
    def n_features(self) -> int:
        return len(self.scale)

    def extra_repr(self) -> str:
        return f"{self.n_features}, kind={self.kind!r}"


class Normalization(_FixedAffine):
    """``(x - offset) / scale`` per feature, with fixed (non-trainable) ``offset`` and ``scale``.

    The two arrays are buffers, not Parameters: optimizers never see them, but
    model files store them, and gradients flow through the layer to its input.

    Parameters
    ----------
    offset, scale : array_like, shape (n_features,)
        The affine map learned by a ``tracegrad.datasets.Scaler`` (or any other):
        finite, and ``scale`` positive.
    kind : str
        How they were fitted (``"standard"``, ``"minmax"``, ``"max"``, ``"none"``),
        kept for ``repr`` and ``tracegrad info``.

    Notes
    -----
    The layer computes in the dtype of its buffers (float32 from a Scaler),
    exactly as ``Scaler.transform`` does, so a model gives bit-for-bit the
    outputs of the training pipeline that scaled its data first.
    """

    @classmethod
    def from_scaler(cls, scaler) -> Normalization:
        """The layer doing what a fitted ``tracegrad.datasets.Scaler`` does.

        Parameters
        ----------
        scaler : tracegrad.datasets.Scaler
            A fitted scaler (RuntimeError if it is not).
        """
        state = scaler.to_dict()  # raises if the scaler is not fitted
        return cls(state["offset"], state["scale"], kind=state["kind"])

    def forward(self, x):
        dtype = self.offset.dtype
        if not isinstance(x, Tensor):
            x = Tensor(x, dtype=dtype)
        elif x.dtype != dtype:  # a differentiable cast: gradients still reach x
            x = ops.astype(x, dtype)
        if x.ndim == 0 or x.shape[-1] != self.n_features:
            raise ValueError(
                f"Normalization expects inputs with {self.n_features} features on the last "
                f"axis, got shape {x.shape}; give rows with the training data's columns"
            )
        return ops.div(ops.sub(x, self.offset), self.scale)


def check_affine(offset: np.ndarray, scale: np.ndarray) -> None:
    """Raise ``ValueError`` naming the first problem with a normalization's arrays."""
    if offset.shape != scale.shape or offset.ndim != 1 or offset.size == 0:
        raise ValueError(
            f"Normalization needs offset and scale of one shape (n_features,), got "
            f"{offset.shape} and {scale.shape}"
        )
    if offset.dtype.kind != "f" or scale.dtype.kind != "f":
        raise ValueError(f"Normalization needs float arrays, got {offset.dtype}")
    for name, values in (("offset", offset), ("scale", scale)):
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise ValueError(
                f"Normalization {name} of feature {bad[0]} is {values[bad[0]]}: "
                f"the {name} must be finite"
            )
    # A zero, negative or subnormal scale would turn every input into inf or NaN.
    bad = np.flatnonzero(~(scale >= np.finfo(scale.dtype).tiny))
    if bad.size:
        raise ValueError(
            f"Normalization scale of feature {bad[0]} is {scale[bad[0]]}: scales must be "
            "positive (a constant feature has scale 1)"
        )


class Denormalization(_FixedAffine):
    """``z * scale + offset`` per output: the inverse of a target standardization.

    A regression network is trained on standardized targets ``(t - mean) / std``
    (its outputs start near the right size whatever the units); this layer, the
    last of the saved model, maps its outputs back, so ``model(X_raw)``,
    ``training.predict`` and the CLI answer in the targets' own units.

    Parameters
    ----------
    offset, scale : array_like, shape (n_outputs,)
        The training targets' mean and standard deviation: finite, ``scale`` positive.
    kind : str
        How they were fitted (``"standard"``), kept for ``repr`` and ``tracegrad info``.
    """

    def forward(self, z):
        if not isinstance(z, Tensor):
            z = Tensor(z, dtype=self.offset.dtype)
        if z.ndim == 0 or z.shape[-1] != self.n_features:
            raise ValueError(
                f"Denormalization expects {self.n_features} outputs on the last axis, got "
                f"shape {z.shape}: it follows a network with that many outputs"
            )
        offset, scale = self.offset.astype(z.dtype), self.scale.astype(z.dtype)
        return ops.add(ops.mul(z, scale), offset)
