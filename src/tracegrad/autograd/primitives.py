"""The primitives: each op's forward and its vector-Jacobian products, side by side.

Each ``@primitive`` function takes NumPy arrays and returns ``(out, vjps)``, one
``g -> gradient`` function per input (see ``tensor.py``). Registering it gives
``Tensor`` its method and ``tracegrad`` its top-level function: ``x.exp()`` and
``tracegrad.exp(x)`` are this module's ``exp``. Functions registered with ``register``
are composites: they call primitives and autodiff derives their gradient.

Conventions where NumPy and PyTorch differ (PyTorch's gradient conventions throughout):

- reductions take NumPy's ``axis``/``keepdims`` or PyTorch's ``dim``/``keepdim``;
- ``max``/``min`` return values only (NumPy's ``max``, PyTorch's ``amax``); tied
  extremes share the gradient equally, as ``torch.amax`` and ``torch.max(x)`` do
  (``torch.max(x, dim)`` gives it all to one of them);
- ``transpose(d0, d1)`` swaps two axes, as PyTorch; ``transpose()`` reverses the axes and
  ``transpose((2, 0, 1))`` (a tuple) permutes them, as NumPy (also ``permute(2, 0, 1)``);
- at kinks the one-sided choices are PyTorch's: relu'(0) = 0, abs'(0) = 0,
  maximum/minimum ties split 1/2 each, clip passes the gradient at its bounds, and
  d(x**0)/dx = 0 even at x = 0.
"""

from __future__ import annotations

import builtins

import numpy as np

from .registry import primitive, register
from .tensor import Tensor, _raw


def _broadcasting(name, f, a, b):
    try:
        return f(a, b)
    except ValueError:
        raise ValueError(
            f"{name}: shapes {np.shape(a)} and {np.shape(b)} cannot be broadcast together; "
            "reshape one of them so trailing axes match or are 1"
        ) from None


# -- arithmetic ---------------------------------------------------------------------------
@primitive(operators=("__add__",), reflected=("__radd__",))
def add(a, b):
    """Elementwise sum ``a + b``, broadcast as in NumPy.

    Parameters
    ----------
    a, b : Tensor or array_like
        The operands; their shapes must broadcast together (ValueError otherwise).
        Python numbers take the dtype of the tensor operand.
    """
    return _broadcasting("add", np.add, a, b), (lambda g: g, lambda g: g)


@primitive(operators=("__sub__",), reflected=("__rsub__",))
def sub(a, b):
    """Elementwise difference ``a - b``, broadcast as in NumPy.

    Parameters
    ----------
    a, b : Tensor or array_like
        The operands; their shapes must broadcast together (ValueError otherwise).
        Python numbers take the dtype of the tensor operand.
    """
    return _broadcasting("sub", np.subtract, a, b), (lambda g: g, lambda g: -g)


@primitive(operators=("__mul__",), reflected=("__rmul__",))
def mul(a, b):
    """Elementwise product ``a * b``, broadcast as in NumPy.

    Parameters
    ----------
    a, b : Tensor or array_like
        The operands; their shapes must broadcast together (ValueError otherwise).
        Python numbers take the dtype of the tensor operand.
    """
    return _broadcasting("mul", np.multiply, a, b), (lambda g: g * b, lambda g: g * a)


@primitive(operators=("__truediv__",), reflected=("__rtruediv__",))
def div(a, b):
    """Elementwise quotient ``a / b``, broadcast as in NumPy.

    Parameters
    ----------
    a, b : Tensor or array_like
        The operands; their shapes must broadcast together (ValueError otherwise).
        Python numbers take the dtype of the tensor operand.
    """
    out = _broadcasting("div", np.divide, a, b)
    return out, (lambda g: g / b, lambda g: -g * (out / b))


@primitive(operators=("__neg__",))
def neg(a):
    """Negation ``-a``.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    """
    return -a, (lambda g: -g,)


@primitive(operators=("__pow__",), reflected=("__rpow__",))
def pow(a, b):
    """Elementwise power ``a ** b``, broadcast as in NumPy.

    As PyTorch, the exponent's gradient a^b log a is taken as 0 where a = 0 and b >= 0,
    and the base's gradient b a^(b-1) as 0 where b = 0.

    Parameters
    ----------
    a, b : Tensor or array_like
        The operands; their shapes must broadcast together (ValueError otherwise).
        Python numbers take the dtype of the tensor operand.
    """
    out = _broadcasting("pow", np.power, a, b)

    def vjp_a(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(b == 0, 0, g * b * a ** (b - 1)).astype(out.dtype, copy=False)

    def vjp_b(g):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where((a == 0) & (b >= 0), 0, g * out * np.log(a)).astype(out.dtype)

    return out, (vjp_a, vjp_b)


def _matmul_left_grad(a, b, g):
    if a.ndim == 1 and b.ndim == 1:
        return g * b
    if a.ndim == 1:  # (k,) @ (..., k, m)
        return (b @ g[..., None])[..., 0]
    if b.ndim == 1:  # (..., n, k) @ (k,)
        return g[..., None] * b
    return g @ np.swapaxes(b, -1, -2)


def _matmul_right_grad(a, b, g):
    if a.ndim == 1 and b.ndim == 1:
        return g * a
    if a.ndim == 1:
        return a[:, None] * g[..., None, :]
    if b.ndim == 1:
        return (np.swapaxes(a, -1, -2) @ g[..., None])[..., 0]
    return np.swapaxes(a, -1, -2) @ g


@primitive(operators=("__matmul__",), reflected=("__rmatmul__",))
def matmul(a, b):
    """Matrix product ``a @ b``, with NumPy's rules for 1-D and stacked operands.

    Parameters
    ----------
    a, b : Tensor or array_like
        At least 1-D each; ``a``'s last axis must equal ``b``'s second-to-last (its only
        axis when ``b`` is 1-D). Otherwise, or for a 0-d operand, ValueError.
    """
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul needs tensors with at least one axis; use * for scalars")
    k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not align: the left's last axis ({k_a}) "
            f"must equal the right's {'only' if b.ndim == 1 else 'second-to-last'} axis ({k_b})"
        )
    return a @ b, (lambda g: _matmul_left_grad(a, b, g), lambda g: _matmul_right_grad(a, b, g))


# -- elementwise functions ------------------------------------------------------------------
@primitive
def exp(a):
    """Elementwise exponential e^a.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    """
    out = np.exp(a)
    return out, (lambda g: g * out,)


@primitive
def log(a):
    """Elementwise natural logarithm (nan below 0, -inf at 0, as NumPy).

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    """
    return np.log(a), (lambda g: g / a,)


@primitive
def log1p(a):
    """Elementwise log(1 + a), accurate for tiny ``a``.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    """
    return np.log1p(a), (lambda g: g / (1 + a),)


@primitive
def sqrt(a):
    """Elementwise square root.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    """
    out = np.sqrt(a)
    return out, (lambda g: g / (2 * out),)


@primitive
def abs(a):
    """Elementwise absolute value; its gradient at 0 is 0.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    """
    return np.abs(a), (lambda g: g * np.sign(a),)


@primitive
def tanh(a):
    """Elementwise hyperbolic tangent.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    """
    out = np.tanh(a)
    return out, (lambda g: g * (1 - out * out),)


@primitive
def sigmoid(a):
    """Elementwise logistic function ``1 / (1 + exp(-a))``, which never overflows.

    It is computed from ``e = exp(-abs(a))``: ``1 / (1 + e)`` where ``a >= 0``,
    ``e / (1 + e)`` elsewhere (exact down to ``sigmoid(-745) = 5e-324``).

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    """
    e = np.exp(-np.abs(a))
    out = np.where(a >= 0, 1, e) / (1 + e)
    return out, (lambda g: g * out * (1 - out),)


@primitive
def relu(a):
    """Elementwise ``max(a, 0)``; its gradient at 0 is 0.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    """
    return np.maximum(a, 0), (lambda g: g * (a > 0),)


def _share(a, b):
    """The weight of ``a`` in max(a, b): 1 where it is larger, 1/2 on ties (as PyTorch)."""
    return np.where(a == b, 0.5, a > b).astype(np.result_type(a, b))


@primitive
def maximum(a, b):
    """Elementwise larger of ``a`` and ``b``; ties split the gradient 1/2 each.

    Parameters
    ----------
    a, b : Tensor or array_like
        The operands; their shapes must broadcast together (ValueError otherwise).
        Python numbers take the dtype of the tensor operand.
    """
    w = _share(a, b)
    return _broadcasting("maximum", np.maximum, a, b), (lambda g: g * w, lambda g: g * (1 - w))


@primitive
def minimum(a, b):
    """Elementwise smaller of ``a`` and ``b``; ties split the gradient 1/2 each.

    Parameters
    ----------
    a, b : Tensor or array_like
        The operands; their shapes must broadcast together (ValueError otherwise).
        Python numbers take the dtype of the tensor operand.
    """
    w = _share(b, a)
    return _broadcasting("minimum", np.minimum, a, b), (lambda g: g * w, lambda g: g * (1 - w))


@primitive(aliases=("clamp",))
def clip(a, min=None, max=None):
    """Values limited to [min, max], as ``np.clip`` and ``torch.clamp``.

    The gradient passes where min <= a <= max, bounds included (as PyTorch).

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    min, max : scalar or array_like, optional
        The bounds; either may be None, not both (ValueError).
    """
    if min is None and max is None:
        raise ValueError("clip needs min, max or both")
    keep = np.ones(a.shape, dtype=bool)
    if min is not None:
        keep &= a >= min
    if max is not None:
        keep &= a <= max
    return np.clip(a, min, max), (lambda g: g * keep,)


# -- reductions ------------------------------------------------------------------------------
def _axes(axis, keepdims, dim, keepdim):
    """NumPy's ``axis``/``keepdims`` or PyTorch's ``dim``/``keepdim``: one name of each pair."""
    if dim is not None:
        if axis is not None:
            raise TypeError("pass axis or dim, not both")
        axis = dim
    if keepdim is not None:
        keepdims = keepdim
    return (tuple(axis) if isinstance(axis, list) else axis), bool(keepdims)


def _expand(g, axis, keepdims, shape):
    """The gradient of a reduction's output, broadcast back over the reduced axes."""
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


@primitive
def sum(a, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Sum over ``axis`` (all axes when None).

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    axis : int, tuple of int or None, default None
        The axes to reduce; None reduces all of them.
    keepdims : bool, default False
        Keep the reduced axes with length 1.
    dim, keepdim : optional
        PyTorch's names for ``axis`` and ``keepdims`` (``axis`` and ``dim``: TypeError).
    """
    axis, keepdims = _axes(axis, keepdims, dim, keepdim)
    return a.sum(axis=axis, keepdims=keepdims), (lambda g: _expand(g, axis, keepdims, a.shape),)


@primitive(aliases=("amax",))
def max(a, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Largest value over ``axis`` (all axes when None); tied maxima share the gradient.

    An empty tensor raises ValueError.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    axis : int, tuple of int or None, default None
        The axes to reduce; None reduces all of them.
    keepdims : bool, default False
        Keep the reduced axes with length 1.
    dim, keepdim : optional
        PyTorch's names for ``axis`` and ``keepdims`` (``axis`` and ``dim``: TypeError).
    """
    axis, keepdims = _axes(axis, keepdims, dim, keepdim)
    if a.size == 0:
        raise ValueError("max of an empty tensor")
    top = a.max(axis=axis, keepdims=True)
    winners = a == top
    share = (winners / winners.sum(axis=axis, keepdims=True)).astype(a.dtype)
    out = top if keepdims else np.squeeze(top, axis)
    return out, (lambda g: _expand(g, axis, keepdims, a.shape) * share,)


def mean(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Average over ``axis`` (all axes when None): the sum over the number of terms.

    Parameters
    ----------
    x : Tensor or array_like
        The input.
    axis : int, tuple of int or None, default None
        The axes to reduce; None reduces all of them.
    keepdims : bool, default False
        Keep the reduced axes with length 1.
    dim, keepdim : optional
        PyTorch's names for ``axis`` and ``keepdims`` (``axis`` and ``dim``: TypeError).
    """
    axis, keepdims = _axes(axis, keepdims, dim, keepdim)
    total = sum(x, axis, keepdims)
    return total / (np.size(_raw(x)) // builtins.max(total.size, 1))


def min(x, axis=None, keepdims=False, *, dim=None, keepdim=None):
    """Smallest value over ``axis`` (all axes when None), as -max(-x); ties share the gradient.

    Parameters
    ----------
    x : Tensor or array_like
        The input.
    axis : int, tuple of int or None, default None
        The axes to reduce; None reduces all of them.
    keepdims : bool, default False
        Keep the reduced axes with length 1.
    dim, keepdim : optional
        PyTorch's names for ``axis`` and ``keepdims`` (``axis`` and ``dim``: TypeError).
    """
    return -max(-x, axis, keepdims, dim=dim, keepdim=keepdim)


register(mean)
register(min, aliases=("amin",))


# -- shapes and indexing -----------------------------------------------------------------------
def _shape_args(args) -> tuple:
    """``f(4, 3)`` or ``f((4, 3))``, as both NumPy and PyTorch accept."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


@primitive
def reshape(a, *shape):
    """The same values in a new shape: ``reshape(a, 4, 3)`` or ``reshape(a, (4, 3))``.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    *shape : int or tuple of int
        The new shape, with as many elements as ``a`` (ValueError otherwise); one -1 is inferred.
    """
    shape = _shape_args(shape)
    try:
        out = a.reshape(shape)
    except ValueError:
        raise ValueError(
            f"cannot reshape a tensor of shape {a.shape} ({a.size} elements) into {shape}"
        ) from None
    return out, (lambda g: g.reshape(a.shape),)


@primitive
def permute(a, *axes):
    """Axes reordered: ``out.shape[i] = a.shape[axes[i]]``.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    *axes : int or tuple of int
        A permutation of the axes, as ``permute(a, 2, 0, 1)`` or ``permute(a, (2, 0, 1))``;
        none reverses them.
    """
    axes = _shape_args(axes) or None
    inverse = None if axes is None else tuple(np.argsort(axes))
    return np.transpose(a, axes), (lambda g: np.transpose(g, inverse),)


def transpose(x, *axes):
    """Axes swapped or permuted: two ints swap two axes (PyTorch), none reverse them.

    Parameters
    ----------
    x : Tensor or array_like
        The input.
    *axes : int or tuple of int
        Two axes to swap (``transpose(x, 0, 1)``), nothing to reverse all axes, or a
        permutation as :func:`permute` takes (``transpose(x, (2, 0, 1))``, NumPy's meaning).
    """
    if len(axes) == 2 and all(isinstance(i, (int, np.integer)) for i in axes):
        order = list(range(np.ndim(_raw(x))))
        order[axes[0]], order[axes[1]] = order[axes[1]], order[axes[0]]
        return permute(x, order)
    return permute(x, *axes)


register(transpose)


def _unwrap_index(index):
    if isinstance(index, tuple):
        return tuple(_raw(i) for i in index)
    return _raw(index)


@primitive(inputs=1, method=False, operators=("__getitem__",))
def getitem(a, index):
    """``a[index]`` for any NumPy index (ints, slices, arrays, masks).

    Repeated indices add up their gradients.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    index : int, slice, array_like, Tensor or tuple of them
        A NumPy index; tensors in it are read as arrays (no gradient).
    """
    index = _unwrap_index(index)

    def vjp(g):
        grad = np.zeros_like(a, dtype=g.dtype)
        np.add.at(grad, index, g)  # repeated indices add up, which grad[index] = g would not
        return grad

    return a[index], (vjp,)


@primitive(method=False, aliases=("cat",))
def concatenate(*arrays, axis=0, dim=None):
    """Tensors joined along an existing axis: ``concatenate([a, b], axis=1)``.

    Parameters
    ----------
    *arrays : sequence of Tensor or array_like
        Passed as one sequence (``[a, b]``); shapes equal except along ``axis``.
    axis : int, default 0
        The axis to join along; may also be given by position after the sequence.
    dim : int, optional
        PyTorch's name for ``axis``; it wins when given.
    """
    axis = axis if dim is None else dim
    out = np.concatenate(arrays, axis=axis)
    cuts = np.cumsum([x.shape[axis] for x in arrays])[:-1]
    return out, tuple(lambda g, i=i: np.split(g, cuts, axis=axis)[i] for i in range(len(arrays)))


@primitive(method=False)
def stack(*arrays, axis=0, dim=None):
    """Tensors of one shape stacked along a new axis: ``stack([a, b], axis=0)``.

    Parameters
    ----------
    *arrays : sequence of Tensor or array_like
        Passed as one sequence (``[a, b]``), all of one shape.
    axis : int, default 0
        The position of the new axis; may also be given by position after the sequence.
    dim : int, optional
        PyTorch's name for ``axis``; it wins when given.
    """
    axis = axis if dim is None else dim
    out = np.stack(arrays, axis=axis)
    return out, tuple(lambda g, i=i: np.take(g, i, axis=axis) for i in range(len(arrays)))


@primitive(method=False)
def where(condition, a, b):
    """Elements of ``a`` where ``condition`` holds, else of ``b``.

    Parameters
    ----------
    condition : array_like of bool or Tensor
        Where to take ``a``; it gets no gradient.
    a, b : Tensor or array_like
        The values; the three shapes broadcast together. A Python number takes the dtype
        of the tensor among ``a`` and ``b`` (not the condition's), as in ``torch.where``.
    """
    out = np.where(condition, a, b)
    zero = np.zeros((), dtype=out.dtype)
    return out, (
        None,  # the condition has no gradient
        lambda g: np.where(condition, g, zero),
        lambda g: np.where(condition, zero, g),
    )


@primitive(inputs=1)
def astype(a, dtype):
    """The values converted to ``dtype``; the gradient converts back to the input's dtype.

    Parameters
    ----------
    a : Tensor or array_like
        The input.
    dtype : dtype
        The new dtype.
    """
    return a.astype(dtype), (lambda g: g.astype(a.dtype),)


__all__ = [
    "Tensor",
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "pow",
    "matmul",
    "exp",
    "log",
    "log1p",
    "sqrt",
    "abs",
    "tanh",
    "sigmoid",
    "relu",
    "maximum",
    "minimum",
    "clip",
    "sum",
    "mean",
    "max",
    "min",
    "reshape",
    "permute",
    "transpose",
    "getitem",
    "concatenate",
    "stack",
    "where",
    "astype",
]
