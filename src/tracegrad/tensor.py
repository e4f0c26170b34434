"""``tracegrad.tensor``: the Tensor and the engine, which live in ``tracegrad.autograd``."""

from .autograd import primitives as _primitives  # noqa: F401 (registers Tensor's methods)
from .autograd.registry import OPS, apply, primitive, register  # noqa: F401
from .autograd.tensor import (  # noqa: F401
    Tensor,
    _raw,
    backpropagate,
    is_grad_enabled,
    no_grad,
    toposort,
    unbroadcast,
)
