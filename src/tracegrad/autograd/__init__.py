"""The reverse-mode engine: ``Tensor`` and backpropagation (``tensor``), the primitives
(``primitives``) and the fused primitives (``fused``). Importing this package registers
every op, so ``Tensor`` has all its methods."""

from . import fused, primitives
from .fused import linear, log_softmax, softmax
from .primitives import *  # noqa: F403 (the primitives' own __all__)
from .primitives import __all__ as _primitive_names
from .tensor import OPS, Tensor, is_grad_enabled, no_grad, unbroadcast

__all__ = [
    "OPS",
    "Tensor",
    "no_grad",
    "is_grad_enabled",
    "unbroadcast",
    "primitives",
    "fused",
    "linear",
    "softmax",
    "log_softmax",
    *_primitive_names,
]
