"""``tracegrad.tensor``: the Tensor and the engine, which live in ``tracegrad.autograd.tensor``."""

from .autograd import primitives as _primitives  # noqa: F401 (registers Tensor's methods)
from .autograd.tensor import (  # noqa: F401
    OPS,
    Tensor,
    _raw,
    apply,
    backpropagate,
    is_grad_enabled,
    no_grad,
    primitive,
    register,
    toposort,
    unbroadcast,
)
