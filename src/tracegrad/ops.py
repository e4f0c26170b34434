"""Differentiable primitives.

Every primitive follows one pattern: ``_name(*arrays, **options)`` computes the
output from NumPy arrays and returns it with ``vjp(g)``, the vector-Jacobian
product giving one gradient per array input (``None`` for "no gradient").
Gradients may keep the broadcast shape of the output: the engine undoes
broadcasting once, in ``tensor.unbroadcast``. A vjp never writes into ``g``.

The public functions below (``add``, ``matmul``, ...) wrap a primitive with
``apply``, which turns numbers into arrays and records the graph.
"""

from __future__ import annotations

import builtins

import numpy as np

from . import tensor as _engine
from .tensor import Tensor, record

__all__ = [
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
    "sum",
    "mean",
    "max",
    "reshape",
    "transpose",
    "getitem",
    "concatenate",
    "stack",
    "where",
    "clip",
    "astype",
    "softmax",
    "log_softmax",
    "linear",
]


def apply(primitive, *inputs, op: str | None = None, **options) -> Tensor:
    """Run ``primitive`` on the inputs' arrays and record it in the graph.

    Inputs that are not tensors become constants; Python numbers take the
    dtype of the first tensor input, so ``x * 2`` stays float32.
    """
    for t in inputs:
        if not isinstance(t, Tensor):
            inputs = _constants_to_tensors(inputs)
            break
    if getattr(primitive, "skips_unneeded", False):
        options["needs"] = tuple(t.requires_grad for t in inputs)
    out, vjp = primitive(*[t._data for t in inputs], **options)
    result = record(out, inputs, vjp, op or primitive.__name__[1:])
    recorder = _engine.active_recorder()
    if recorder is not None:
        recorder.calls.append((primitive, inputs, options, result))
    return result


def _constants_to_tensors(inputs) -> tuple:
    ref = next((t for t in inputs if isinstance(t, Tensor)), None)
    dtype = ref.dtype if ref is not None else np.float32
    return tuple(
        t
        if isinstance(t, Tensor)
        else Tensor(t, dtype=None if isinstance(t, np.ndarray) else dtype)
        for t in inputs
    )


def skips_unneeded(primitive):
    """Mark a primitive whose vjp takes ``needs`` (which inputs require grad) and
    skips the others: for matrix products, an unneeded gradient costs a whole GEMM."""
    primitive.skips_unneeded = True
    return primitive


def _shape_error(name, a, b):
    return ValueError(
        f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together; "
        "reshape one of them so trailing axes match or are 1"
    )


def _broadcast_check(name, a, b):
    if a.shape == b.shape:  # the common case; np.broadcast_shapes costs microseconds
        return
    try:
        np.broadcast_shapes(a.shape, b.shape)
    except ValueError:
        raise _shape_error(name, a, b) from None


# -- arithmetic -----------------------------------------------------------
def _add(a, b):
    _broadcast_check("add", a, b)
    return a + b, lambda g: (g, g)


def _sub(a, b):
    _broadcast_check("sub", a, b)
    return a - b, lambda g: (g, -g)


def _mul(a, b):
    _broadcast_check("mul", a, b)
    return a * b, lambda g: (g * b, g * a)


def _div(a, b):
    _broadcast_check("div", a, b)
    out = a / b
    return out, lambda g: (g / b, -g * out / b)


def _neg(a):
    return -a, lambda g: (-g,)


def _pow(a, b):
    _broadcast_check("pow", a, b)
    out = a**b

    def vjp(g):
        ga = g * b * a ** (b - 1)
        # d(a^b)/db = a^b log a; taken as 0 where a == 0 (and b >= 0), as PyTorch does.
        with np.errstate(divide="ignore", invalid="ignore"):
            gb = np.where((a == 0) & (b >= 0), 0.0, g * out * np.log(a)).astype(out.dtype)
        return ga, gb

    return out, vjp


def _pow_const(a, exponent):
    out = a**exponent
    return out, lambda g: (g * exponent * a ** (exponent - 1),)


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


@skips_unneeded
def _matmul(a, b, needs=(True, True)):
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError("matmul needs tensors with at least one axis; use * for scalars")
    k_a, k_b = a.shape[-1], b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not align: the left's last axis ({k_a}) "
            f"must equal the right's {'only' if b.ndim == 1 else 'second-to-last'} axis ({k_b})"
        )
    out = a @ b

    def vjp(g):
        ga = _matmul_left_grad(a, b, g) if needs[0] else None
        gb = _matmul_right_grad(a, b, g) if needs[1] else None
        return ga, gb

    return out, vjp


def add(a, b):
    return apply(_add, a, b)


def sub(a, b):
    return apply(_sub, a, b)


def mul(a, b):
    return apply(_mul, a, b)


def div(a, b):
    return apply(_div, a, b)


def neg(a):
    return apply(_neg, a)


def pow(a, b):
    """``a ** b``; a plain-number exponent is a constant and skips d/db."""
    if isinstance(b, (int, float, np.integer, np.floating)) and isinstance(a, Tensor):
        # A plain float keeps float32 data float32 (a NumPy float64 scalar would not).
        return apply(_pow_const, a, exponent=float(b), op="pow")
    return apply(_pow, a, b)


def matmul(a, b):
    return apply(_matmul, a, b)


# -- elementwise functions -------------------------------------------------
def _exp(a):
    out = np.exp(a)
    return out, lambda g: (g * out,)


def _log(a):
    return np.log(a), lambda g: (g / a,)


def _log1p(a):
    return np.log1p(a), lambda g: (g / (1 + a),)


def _sqrt(a):
    out = np.sqrt(a)
    return out, lambda g: (g / (2 * out),)


def _abs(a):
    return np.abs(a), lambda g: (g * np.sign(a),)


def _tanh(a):
    out = np.tanh(a)
    return out, lambda g: (g * (1 - out * out),)


def _sigmoid(a):
    # exp(-|a|) never overflows, so this is exact for |a| > 700 too:
    # 1 / (1 + e) where a >= 0 and e / (1 + e) elsewhere, one division over both halves.
    e = np.abs(a, out=np.empty_like(a))  # out=: stays an array even when a is 0-d
    np.negative(e, out=e)
    np.exp(e, out=e)
    denominator = np.add(e, 1, out=np.empty_like(e))
    # The numerator, 1 where a >= 0 and e elsewhere, is max(e, a >= 0) since e <= 1 there
    # (and NaN stays NaN); several times faster than np.where or a masked copy.
    out = np.maximum(e, a >= 0, out=e)
    np.divide(out, denominator, out=out)

    def vjp(g):
        gx = g * out
        gx *= 1 - out
        return (gx,)

    return out, vjp


def _relu(a):
    return np.maximum(a, 0), lambda g: (g * (a > 0),)


def _tie_split(a, b):
    """Weights of ``a`` in max(a, b): 1 where it wins, 1/2 on ties (as PyTorch)."""
    return np.where(a == b, 0.5, (a > b).astype(np.float64)).astype(np.result_type(a, b))


def _maximum(a, b):
    _broadcast_check("maximum", a, b)
    w = _tie_split(a, b)
    return np.maximum(a, b), lambda g: (g * w, g * (1 - w))


def _minimum(a, b):
    _broadcast_check("minimum", a, b)
    w = _tie_split(b, a)
    return np.minimum(a, b), lambda g: (g * w, g * (1 - w))


def _clip(a, lo, hi):
    out = np.clip(a, lo, hi)
    keep = np.ones(a.shape, dtype=bool)
    if lo is not None:
        keep &= a >= lo
    if hi is not None:
        keep &= a <= hi
    return out, lambda g: (g * keep,)


def exp(a):
    return apply(_exp, a)


def log(a):
    return apply(_log, a)


def log1p(a):
    return apply(_log1p, a)


def sqrt(a):
    return apply(_sqrt, a)


def abs(a):
    return apply(_abs, a)


def tanh(a):
    return apply(_tanh, a)


def sigmoid(a):
    return apply(_sigmoid, a)


def relu(a):
    return apply(_relu, a)


def maximum(a, b):
    return apply(_maximum, a, b)


def minimum(a, b):
    return apply(_minimum, a, b)


def clip(a, lo=None, hi=None):
    if lo is None and hi is None:
        raise ValueError("clip needs lo, hi or both")
    return apply(_clip, a, lo=lo, hi=hi)


# -- reductions --------------------------------------------------------------
def _expand(g, axis, keepdims, shape):
    if axis is not None and not keepdims:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


def _sum(a, axis, keepdims):
    out = a.sum(axis=axis, keepdims=keepdims)
    return out, lambda g: (_expand(g, axis, keepdims, a.shape),)


def _mean(a, axis, keepdims):
    out = a.mean(axis=axis, keepdims=keepdims)
    count = a.size // builtins.max(out.size, 1)
    return out, lambda g: (_expand(g / count, axis, keepdims, a.shape),)


def _max(a, axis, keepdims):
    if a.size == 0:
        raise ValueError("max of an empty tensor")
    top = a.max(axis=axis, keepdims=True)
    winners = a == top
    # Ties share the gradient equally, as PyTorch's amax does.
    share = (winners / winners.sum(axis=axis, keepdims=True)).astype(a.dtype)
    out = top if keepdims else top.reshape(a.max(axis=axis).shape)
    return out, lambda g: (_expand(g, axis, keepdims, a.shape) * share,)


def _axis(axis):
    return tuple(axis) if isinstance(axis, list) else axis


def sum(a, axis=None, keepdims=False):
    return apply(_sum, a, axis=_axis(axis), keepdims=keepdims)


def mean(a, axis=None, keepdims=False):
    return apply(_mean, a, axis=_axis(axis), keepdims=keepdims)


def max(a, axis=None, keepdims=False):
    return apply(_max, a, axis=_axis(axis), keepdims=keepdims)


# -- shapes and indexing -----------------------------------------------------
def _reshape(a, shape):
    try:
        out = a.reshape(shape)
    except ValueError:
        raise ValueError(
            f"cannot reshape a tensor of shape {a.shape} ({a.size} elements) into {shape}"
        ) from None
    return out, lambda g: (g.reshape(a.shape),)


def _transpose(a, axes):
    out = np.transpose(a, axes)
    inverse = None if axes is None else tuple(np.argsort(axes))
    return out, lambda g: (np.transpose(g, inverse),)


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, (int, np.integer, slice)) or i is None or i is Ellipsis for i in items)


def _getitem(a, index):
    out = a[index]

    def vjp(g):
        grad = np.zeros_like(a, dtype=g.dtype)
        if _is_basic(index):
            grad[index] = g
        else:  # repeated indices must add up, which plain assignment would not do
            np.add.at(grad, index, g)
        return (grad,)

    return out, vjp


def _concatenate(*arrays, axis):
    out = np.concatenate(arrays, axis=axis)
    cuts = np.cumsum([x.shape[axis] for x in arrays])[:-1]
    return out, lambda g: tuple(np.split(g, cuts, axis=axis))


def _stack(*arrays, axis):
    out = np.stack(arrays, axis=axis)
    return out, lambda g: tuple(np.moveaxis(g, axis, 0))


def _where(a, b, condition):
    out = np.where(condition, a, b)
    zero = np.zeros((), dtype=out.dtype)
    return out, lambda g: (np.where(condition, g, zero), np.where(condition, zero, g))


def _astype(a, dtype):
    return a.astype(dtype), lambda g: (g.astype(a.dtype),)


def reshape(a, shape):
    return apply(_reshape, a, shape=tuple(shape) if not isinstance(shape, int) else shape)


def transpose(a, axes=None):
    return apply(_transpose, a, axes=None if axes is None else tuple(axes))


def getitem(a, index):
    if isinstance(index, Tensor):
        index = index.data
    elif isinstance(index, tuple):
        index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
    return apply(_getitem, a, index=index, op="index")


def concatenate(tensors, axis=0):
    return apply(_concatenate, *tensors, axis=axis)


def stack(tensors, axis=0):
    return apply(_stack, *tensors, axis=axis)


def where(condition, a, b):
    """Elements of ``a`` where ``condition`` holds, else of ``b`` (no gradient to the condition)."""
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    return apply(_where, a, b, condition=condition.astype(bool))


def astype(a, dtype):
    return apply(_astype, a, dtype=np.dtype(dtype))


# -- softmax family (fused for numerical stability) ---------------------------
def max_keepdims(a: np.ndarray, axis) -> np.ndarray:
    """``a.max(axis=axis, keepdims=True)``, the shift that keeps the softmaxes stable.

    NumPy reduces a short contiguous row with one inner-loop call per row (about 60 ns
    each), so the maxima of classifier logits, many rows of a few classes, cost more than
    the exponentials. Copied column-major, the same maxima are an elementwise maximum over
    a few long rows: 3-10x faster at 16+ rows of up to 64 classes, and exactly equal.
    """
    if a.ndim == 2 and axis in (1, -1) and a.shape[0] >= 16 and 0 < a.shape[1] <= 64:
        return np.maximum.reduce(a.T.copy(), axis=0)[:, None]
    return np.maximum.reduce(a, axis=axis, keepdims=True)


# The softmaxes write into their own temporaries (same operations, same bits, fewer
# allocations): they sit at the end of most classifiers and run every step.
def _log_softmax(a, axis):
    shifted = np.subtract(a, max_keepdims(a, axis))
    log_total = np.add.reduce(np.exp(shifted), axis=axis, keepdims=True)
    np.log(log_total, out=log_total)
    out = np.subtract(shifted, log_total, out=shifted)

    def vjp(g):
        gx = np.exp(out)
        gx *= np.add.reduce(g, axis=axis, keepdims=True)
        return (np.subtract(g, gx, out=gx),)

    return out, vjp


def _softmax(a, axis):
    out = np.subtract(a, max_keepdims(a, axis))
    np.exp(out, out=out)
    out /= np.add.reduce(out, axis=axis, keepdims=True)

    def vjp(g):
        gx = g * out
        np.subtract(g, np.add.reduce(gx, axis=axis, keepdims=True), out=gx)
        gx *= out
        return (gx,)

    return out, vjp


def log_softmax(a, axis=-1):
    return apply(_log_softmax, a, axis=axis)


def softmax(a, axis=-1):
    return apply(_softmax, a, axis=axis)


# -- the affine map of a Linear layer (fused: one node instead of three) ---------
@skips_unneeded
def _linear(x, w, b=None, needs=(True, True, True)):
    """z = x Wᵀ + b for a batch of rows x (n, in), W (out, in), b (out,)."""
    out = x @ w.T
    if b is not None:
        out += b

    def vjp(g):
        # The first layer's input needs no gradient: skipping it saves a GEMM as large
        # as the forward one.
        gx = g @ w if needs[0] else None
        gw = None
        if needs[1]:
            if x.ndim != 2:
                gw = np.tensordot(g, x, axes=(range(g.ndim - 1),) * 2)
            elif w.flags.f_contiguous:  # Linear's column-major weight: a gradient to match,
                # written through its row-major transpose so that it owns its memory
                gw = np.empty(w.shape, np.result_type(x, g), order="F")
                np.matmul(x.T, g, out=gw.T)
            else:
                gw = g.T @ x
        if b is None:
            return gx, gw
        gb = g.sum(axis=tuple(range(g.ndim - 1))) if needs[2] else None
        return gx, gw, gb

    return out, vjp


def linear(x, weight, bias=None):
    """The affine map z = x Wᵀ + b (W has shape (out, in), as in the notes' W^(l))."""
    if bias is None:
        return apply(_linear, x, weight, op="linear")
    return apply(_linear, x, weight, bias, op="linear")
