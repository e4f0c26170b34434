"""Activation functions and dropout, built on the primitives in ``ops``.

Sigmoid, tanh, ReLU and the softmax pair are primitives of their own (for
numerical stability and speed); the rest are compositions and have no
backward code: autodiff derives it.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .tensor import Tensor

__all__ = [
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "softplus",
    "softmax",
    "log_softmax",
    "dropout",
    "identity",
]

sigmoid = ops.sigmoid
tanh = ops.tanh
relu = ops.relu
softmax = ops.softmax
log_softmax = ops.log_softmax


def identity(x):
    return x


def _leaky_relu(a, slope):
    # A primitive, not ``where(x > 0, ...)``: a condition computed outside the graph
    # would be frozen into a replayed step (see ``replay.py``).
    factor = np.where(a > 0, 1.0, slope).astype(a.dtype)
    return a * factor, lambda g: (g * factor,)


def leaky_relu(x, negative_slope: float = 0.01):
    """``x`` where positive, ``negative_slope * x`` elsewhere."""
    return ops.apply(_leaky_relu, x, slope=negative_slope)


def softplus(x):
    """log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so it never overflows."""
    x = x if isinstance(x, Tensor) else Tensor(x)
    return ops.maximum(x, 0.0) + ops.log1p(ops.exp(-ops.abs(x)))


def dropout(x, p: float, rng: np.random.Generator, training: bool = True):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p).

    The "inverted" scaling keeps the expected activation unchanged, so nothing
    needs rescaling at evaluation time, when dropout is the identity.
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    return ops.apply(_dropout, x, p=p, rng=rng)


def _dropout(a, p, rng):
    # The mask is drawn inside the primitive, so a replayed step draws a fresh one.
    scale = ((rng.random(a.shape) >= p) * (1.0 / (1.0 - p))).astype(a.dtype)
    return a * scale, lambda g: (g * scale,)
