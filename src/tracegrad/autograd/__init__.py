"""The reverse-mode engine, in three short files to read in this order.

``tensor.py``
    ``Tensor``, ``no_grad`` and backpropagation: the graph is ordered by an iterative
    topological sort over ordered parents; each node's VJPs turn the gradient of its
    output into gradients of its inputs; ``unbroadcast`` undoes broadcasting, once.
``registry.py``
    ``@primitive`` and ``register``: the one place an op is defined, recorded in the
    graph and attached to ``Tensor`` (``OPS`` also gives ``tracegrad`` its top-level
    functions).
``primitives.py`` and ``fused.py``
    The ops. A primitive takes NumPy arrays and returns its output with one
    vector-Jacobian product per input, side by side::

        @primitive
        def mul(a, b):
            return a * b, (lambda g: g * b, lambda g: g * a)

    ``g`` is dLoss/d(output); ``lambda g: g * b`` is dLoss/da. Composites (``mean``,
    ``min``, ``transpose``) call primitives and have no backward code. ``fused.py``
    holds the few ops computed as one for a measured reason.

Adding an op: write one function with ``@primitive`` (or a composite with ``register``)
in ``primitives.py`` and add one row to the gradient-check table ``tests/op_table.py``
(shapes and a safe input range; the torch twin if PyTorch has one). The op is then a
``Tensor`` method and a ``tracegrad`` function, and ``tests/test_gradcheck_ops.py`` fails
until its row exists.
"""

from . import fused, primitives
from .fused import linear, log_softmax, softmax
from .primitives import *  # noqa: F403 (the primitives' own __all__)
from .primitives import __all__ as _primitive_names
from .registry import OPS, primitive, register
from .tensor import Tensor, is_grad_enabled, no_grad, unbroadcast

__all__ = [
    "OPS",
    "Tensor",
    "no_grad",
    "is_grad_enabled",
    "unbroadcast",
    "primitive",
    "register",
    "primitives",
    "fused",
    "linear",
    "softmax",
    "log_softmax",
    *_primitive_names,
]
