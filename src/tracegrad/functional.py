"""Activation functions and dropout, as ``torch.nn.functional`` names them.

Sigmoid, tanh and ReLU are primitives (``tracegrad.autograd.primitives``), the softmax
pair fused primitives (``tracegrad.autograd.fused``); the rest are composites with no
backward code: autodiff derives it.
"""

from __future__ import annotations

import numpy as np

from .autograd.fused import log_softmax, softmax
from .autograd.primitives import abs, exp, log1p, maximum, relu, sigmoid, tanh, where
from .autograd.tensor import Tensor, _raw

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


def identity(x):
    """The input itself, unchanged: the activation of linear units.

    Parameters
    ----------
    x : Tensor or array_like
        The input.
    """
    return x


def leaky_relu(x, negative_slope: float = 0.01):
    """``x`` where positive, ``negative_slope * x`` elsewhere (slope at 0, as PyTorch).

    Parameters
    ----------
    x : Tensor or array_like
        The input.
    negative_slope : float, default 0.01
        The slope for non-positive inputs.
    """
    return where(_raw(x) > 0, x, x * negative_slope)


def softplus(x):
    """``log(1 + exp(x))``, computed as ``max(x, 0) + log1p(exp(-abs(x)))`` to never overflow.

    Parameters
    ----------
    x : Tensor or array_like
        The input.
    """
    return maximum(x, 0.0) + log1p(exp(-abs(x)))


def dropout(x, p: float, rng: np.random.Generator, training: bool = True):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p).

    The "inverted" scaling keeps the expected activation unchanged, so nothing
    needs rescaling at evaluation time, when dropout is the identity.

    Parameters
    ----------
    x : Tensor or array_like
        The input.
    p : float
        The probability of zeroing an element, in [0, 1) (ValueError otherwise).
    rng : numpy.random.Generator
        Source of the mask.
    training : bool, default True
        When False (or ``p`` is 0), ``x`` is returned unchanged.
    """
    if not 0 <= p < 1:
        raise ValueError(f"dropout probability must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    x = x if isinstance(x, Tensor) else Tensor(x)
    keep = rng.random(x.shape) >= p
    return x * (keep * (1.0 / (1.0 - p))).astype(x.dtype)
