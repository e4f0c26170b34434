"""The registry: the one place where an op is defined, recorded and attached to Tensor.

``@primitive`` turns ``forward(*arrays) -> (out, vjps)`` into a function of Tensors that
records each call in the graph (``apply``), enters it in ``OPS`` and sets it on
``Tensor``: ``x.exp()`` is ``tracegrad.exp(x)`` is ``primitives.exp``. ``register`` does
the same for a composite, a function of Tensors with no backward code of its own.
"""

from __future__ import annotations

import functools
import inspect

import numpy as np

from .tensor import Tensor, _as_array, is_grad_enabled

#: Every registered op by name (aliases included): the source of Tensor's methods
#: and of tracegrad's top-level functions.
OPS: dict = {}
#: Names of registered ops that are not Tensor methods (``concatenate``, ``linear``, ...).
FUNCTIONS_ONLY: set = set()


def register(fn, name=None, method=True, operators=(), reflected=(), aliases=()):
    """Enter ``fn`` (a function of Tensors) in ``OPS`` and attach it to ``Tensor``.

    ``operators`` are the Python operators it implements (``"__add__"``); ``reflected``
    ones take their arguments swapped (``"__radd__"``: ``2 + x`` is ``add(2, x)``).
    ``aliases`` are other names for it (``clamp`` for ``clip``); ``method=False``
    leaves it a function only, as ``concatenate``.
    """
    name = name or fn.__name__
    for n in (name, *aliases):
        OPS[n] = fn
        if method:
            setattr(Tensor, n, fn)
        else:
            FUNCTIONS_ONLY.add(n)
    for op in operators:
        setattr(Tensor, op, fn)
    for op in reflected:
        setattr(Tensor, op, lambda self, other, fn=fn: fn(other, self))
    return fn


def primitive(forward=None, *, name=None, inputs=None, registered=True, **registration):
    """Make ``forward(*arrays, *options) -> (out, vjps)`` an op on Tensors and register it.

    The first ``inputs`` arguments (by default: the parameters without a default value)
    are the differentiable inputs; Tensors among them pass their arrays, anything else
    is a constant. Further arguments are options, passed through unchanged. A forward
    whose first parameter is ``*arrays`` takes a sequence of tensors, as ``np.concatenate``.
    ``vjps`` holds one function ``g -> gradient`` per input (``None``: no gradient).
    ``registration`` goes to :func:`register`; ``registered=False`` keeps the op out of
    ``OPS`` (the losses' kernels, reached through ``tracegrad.losses``).
    """
    if forward is None:
        return functools.partial(
            primitive, name=name, inputs=inputs, registered=registered, **registration
        )
    params = list(inspect.signature(forward).parameters.values())
    op_name = name or forward.__name__
    if params and params[0].kind is inspect.Parameter.VAR_POSITIONAL:
        keywords = [p.name for p in params if p.kind is p.KEYWORD_ONLY]

        def op(tensors, *options, **kw):
            kw.update(zip(keywords, options, strict=False))  # options by position
            return apply(forward, tuple(tensors), (), kw, op_name)

    else:
        n = inputs
        if n is None:
            n = sum(1 for p in params if p.default is p.empty and p.kind is p.POSITIONAL_OR_KEYWORD)

        def op(*args, **kw):
            return apply(forward, args[:n], args[n:], kw, op_name)

    functools.update_wrapper(op, forward)
    op.forward = forward  # the array-level function, for tests and the curious
    return register(op, op_name, **registration) if registered else op


def apply(forward, args: tuple, options: tuple, kw: dict, name: str) -> Tensor:
    """Run ``forward`` on the arrays of ``args`` and record the result in the graph.

    Python and NumPy numbers (and lists) take the dtype of the tensor inputs, so ``x * 2``
    stays float32; arrays keep theirs. See :func:`_constant_dtype` for which tensor.
    """
    ref, promoted = _constant_dtype(args)
    arrays = [a._data if isinstance(a, Tensor) else _constant(a, ref) for a in args]
    out, vjps = forward(*arrays, *options, **kw)
    out = np.asarray(out)  # asarray: NumPy turns 0-d results into scalars
    if promoted:  # int64 * float32 is float64 in NumPy; PyTorch's result is float32
        out = out.astype(ref, copy=False)
    t = Tensor(out)
    t.op = name
    if is_grad_enabled():
        links = [
            (a, vjp)
            for a, vjp in zip(args, vjps, strict=False)  # linear(x, w): no bias, two inputs
            if vjp is not None and isinstance(a, Tensor) and a.requires_grad
        ]
        if links:
            t.requires_grad = True
            t._parents = tuple(a for a, _ in links)
            t._vjps = tuple(vjp for _, vjp in links)
    return t


#: The kinds of value a number can be, lowest first; a number of a higher kind than the
#: tensors takes that kind's default dtype, as in PyTorch (``int_tensor * 0.5`` is float32).
_KINDS = {"b": 0, "u": 1, "i": 1, "f": 2}
_DEFAULTS = (np.dtype(bool), np.dtype(np.int64), np.dtype(np.float32))


def _constant_dtype(args: tuple):
    """The dtype the numbers among ``args`` take, and whether it promotes the tensors'.

    The dtype is that of the first tensor of the highest kind (bool < integer < float),
    so in ``where(mask, x, 0.5)`` the number follows ``x``, not the bool ``mask``; a
    number of a higher kind than every tensor takes that kind's default instead, as
    PyTorch's type promotion does (``where(mask, 0.5, 0.0)`` is float32, ``where(mask,
    1, 0)`` int64), and the op's result then has that dtype (``promoted``). ``None``:
    no tensors, numbers become float32.
    """
    ref = None
    for a in args:
        if isinstance(a, Tensor) and (ref is None or _kind(a._data.dtype) > _kind(ref)):
            ref = a._data.dtype
    if ref is None or _kind(ref) == 2:  # no tensor, or a float one: nothing to promote
        return ref, False
    numbers = [_number_kind(a) for a in args if not isinstance(a, (Tensor, np.ndarray))]
    if numbers and max(numbers) > _kind(ref):
        return _DEFAULTS[max(numbers)], True
    return ref, False


def _kind(dtype) -> int:
    return _KINDS.get(dtype.kind, -1)  # other kinds (complex, strings) never set the dtype


def _number_kind(value) -> int:
    if isinstance(value, bool):  # before int: bool is an int in Python
        return 0
    if isinstance(value, int):
        return 1
    if isinstance(value, float):
        return 2
    return _kind(np.asarray(value).dtype)  # NumPy scalars, lists


def _constant(value, dtype) -> np.ndarray:
    return value if isinstance(value, np.ndarray) else _as_array(value, dtype)
