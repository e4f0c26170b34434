"""The Tensor and the reverse-mode engine.

A primitive (see ``ops.py``) takes NumPy arrays and returns its output together
with a ``vjp(g)`` that maps the gradient of the output to one gradient per
input. This module does the work every primitive shares: recording the graph,
ordering it, accumulating gradients of reused nodes and undoing broadcasting.
"""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np

_state = threading.local()


def active_recorder():
    """The replay.Recorder collecting this thread's ops, if a tape is being recorded."""
    return getattr(_state, "recorder", None)


# Bumped whenever a Module attribute holding layers or parameters is reassigned,
# so recorded tapes know when the model's structure may have changed.
structure_version = 0


def is_grad_enabled() -> bool:
    """Whether operations are being recorded for backpropagation."""
    return getattr(_state, "grad_enabled", True)


class no_grad(contextlib.ContextDecorator):
    """Context manager (or decorator) that stops recording operations.

    Inside it, results of operations never require gradients: use it for
    evaluation and for updating weights by hand.
    """

    def __init__(self):
        self._previous = []  # a stack: a decorated function may call itself

    def __enter__(self):
        self._previous.append(is_grad_enabled())
        _state.grad_enabled = False
        return self

    def __exit__(self, *exc):
        _state.grad_enabled = self._previous.pop()
        return False


def _as_array(data, dtype=None) -> np.ndarray:
    """Convert user data to an array: Python numbers and lists become float32."""
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, np.ndarray):
        return data if dtype is None else data.astype(dtype, copy=False)
    if isinstance(data, np.generic):
        return np.asarray(data, dtype=dtype)
    arr = np.asarray(data)
    if dtype is not None:
        return arr.astype(dtype, copy=False)
    if arr.dtype.kind in "biuf":
        return arr.astype(np.float32)
    raise TypeError(f"cannot make a Tensor from {type(data).__name__} with dtype {arr.dtype}")


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``grad`` down to ``shape``, undoing NumPy broadcasting.

    Broadcasting copies an input along new leading axes and along axes of
    length 1, so the gradient of that input is the sum over those axes.
    """
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad.reshape(shape)


class Tensor:
    """An array that remembers how it was computed, so gradients can flow back.

    Parameters
    ----------
    data : array_like
        Python numbers and lists become float32; NumPy arrays keep their dtype.
    requires_grad : bool
        Whether ``backward()`` should compute a gradient for this tensor.
    dtype : dtype, optional
        Convert the data to this dtype.

    Examples
    --------
    >>> w, x, b = Tensor(-2.0, requires_grad=True), Tensor(5.0), Tensor(3.0, requires_grad=True)
    >>> f = w * x + b
    >>> f.backward()
    >>> float(f.item()), float(w.grad), float(b.grad)
    (-7.0, 5.0, 1.0)
    """

    __slots__ = ("_data", "grad", "requires_grad", "_parents", "_vjp", "_retain", "name", "op")
    __array_priority__ = 1000  # make ndarray + Tensor call Tensor.__radd__

    def __init__(self, data, requires_grad: bool = False, dtype=None, name: str | None = None):
        self._data = _as_array(data, dtype)
        if requires_grad and self._data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients, got dtype {self._data.dtype}; "
                "pass dtype=np.float32 or np.float64"
            )
        self.requires_grad = bool(requires_grad)
        self.grad = None
        self._parents = ()
        self._vjp = None
        self._retain = False
        self.name = name
        self.op = None

    # -- plain attributes -------------------------------------------------
    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, value):
        self._data = _as_array(value)

    @property
    def shape(self) -> tuple:
        return self._data.shape

    @property
    def dtype(self):
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return self._data.size

    @property
    def T(self) -> Tensor:
        return self.transpose()

    @property
    def is_leaf(self) -> bool:
        return self._vjp is None

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        body = np.array2string(self._data, precision=4, separator=", ", prefix="Tensor(")
        extra = f", op={self.op}" if self.op else ""
        extra += ", requires_grad=True" if self.requires_grad else ""
        return f"Tensor({body}{extra})"

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied)."""
        return self._data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, got shape {self.shape}")
        return self._data.item()

    def detach(self) -> Tensor:
        """A tensor sharing this one's data but cut from the graph."""
        return Tensor(self._data)

    def retain_grad(self) -> Tensor:
        """Keep this intermediate tensor's gradient in ``.grad`` after ``backward``."""
        self._retain = True
        return self

    def astype(self, dtype) -> Tensor:
        from . import ops

        return ops.astype(self, dtype)

    # -- backpropagation --------------------------------------------------
    def backward(self, grad=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires it.

        ``grad`` defaults to 1 for a one-element tensor. As in PyTorch, leaf
        gradients add up across calls: zero them between steps.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward() on a tensor that does not require grad: no input had "
                "requires_grad=True, or it was computed under no_grad()"
            )
        if grad is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward() without a gradient needs a one-element tensor, got shape "
                    f"{self.shape}; pass grad= of that shape or reduce with .sum() first"
                )
            grad = np.ones_like(self._data)
        else:
            grad = np.asarray(_as_array(grad), dtype=self.dtype)
            if grad.shape != self.shape:
                raise ValueError(f"grad has shape {grad.shape}, tensor has shape {self.shape}")
        backpropagate(self, grad)

    # -- operators (implemented in ops.py) ---------------------------------
    def __add__(self, other):
        return _ops().add(self, other)

    def __radd__(self, other):
        return _ops().add(other, self)

    def __sub__(self, other):
        return _ops().sub(self, other)

    def __rsub__(self, other):
        return _ops().sub(other, self)

    def __mul__(self, other):
        return _ops().mul(self, other)

    def __rmul__(self, other):
        return _ops().mul(other, self)

    def __truediv__(self, other):
        return _ops().div(self, other)

    def __rtruediv__(self, other):
        return _ops().div(other, self)

    def __pow__(self, other):
        return _ops().pow(self, other)

    def __rpow__(self, other):
        return _ops().pow(other, self)

    def __matmul__(self, other):
        return _ops().matmul(self, other)

    def __rmatmul__(self, other):
        return _ops().matmul(other, self)

    def __neg__(self):
        return _ops().neg(self)

    def __getitem__(self, index):
        return _ops().getitem(self, index)

    def sum(self, axis=None, keepdims=False):
        return _ops().sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims=False):
        return _ops().mean(self, axis, keepdims)

    def max(self, axis=None, keepdims=False):
        return _ops().max(self, axis, keepdims)

    def reshape(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
            shape = tuple(shape[0])
        return _ops().reshape(self, shape)

    def transpose(self, *axes):
        if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
            axes = tuple(axes[0])
        return _ops().transpose(self, axes or None)

    def exp(self):
        return _ops().exp(self)

    def log(self):
        return _ops().log(self)

    def sqrt(self):
        return _ops().sqrt(self)

    def abs(self):
        return _ops().abs(self)

    def clip(self, lo=None, hi=None):
        return _ops().clip(self, lo, hi)

    # Comparisons give plain boolean arrays: they have no gradient.
    def __lt__(self, other):
        return self._data < _raw(other)

    def __le__(self, other):
        return self._data <= _raw(other)

    def __gt__(self, other):
        return self._data > _raw(other)

    def __ge__(self, other):
        return self._data >= _raw(other)

    __hash__ = object.__hash__


def _raw(x):
    return x._data if isinstance(x, Tensor) else x


@functools.cache
def _ops():
    from . import ops

    return ops


def record(out: np.ndarray, parents: tuple, vjp, op: str) -> Tensor:
    """Wrap a primitive's output, linking it to its parents when gradients are on."""
    t = Tensor.__new__(Tensor)
    t._data = out
    t.grad = None
    t._retain = False
    t.name = None
    t.op = op
    t.requires_grad = False
    t._parents = ()
    t._vjp = None
    if getattr(_state, "grad_enabled", True):
        for p in parents:
            if p.requires_grad:
                t.requires_grad = True
                t._parents = parents
                t._vjp = vjp
                break
    return t


def toposort(root: Tensor) -> list:
    """Nodes reachable from ``root`` that require grad, parents before children.

    Iterative depth-first search over ordered parents: a chain of 100,000 ops
    must not hit Python's recursion limit.
    """
    order, visited = [], {id(root)}
    stack = [(root, iter(root._parents))]
    while stack:
        node, parents = stack[-1]
        for p in parents:
            if p.requires_grad and id(p) not in visited:
                visited.add(id(p))
                if not p._parents:  # a leaf has nothing before it: place it at once
                    order.append(p)
                    continue
                stack.append((p, iter(p._parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def backpropagate(root: Tensor, grad: np.ndarray) -> None:
    """Apply the chain rule from ``root`` backwards through the recorded graph."""
    grads = {id(root): grad}
    given = set()  # arrays already stored as a leaf's .grad in this pass
    for node in reversed(toposort(root)):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if node._vjp is None:  # a leaf: accumulate across backward() calls
            _accumulate(node, g, given)
            continue
        if node._retain:
            node.grad = g.copy()
        for parent, pg in zip(node._parents, node._vjp(g), strict=True):
            if pg is None or not parent.requires_grad:
                continue
            shape = parent._data.shape
            if pg.shape != shape:
                pg = unbroadcast(pg, shape)
            key = id(parent)
            prev = grads.get(key)
            grads[key] = pg if prev is None else prev + pg


def _accumulate(leaf: Tensor, g: np.ndarray, given: set) -> None:
    if g.dtype != leaf.dtype:
        g = g.astype(leaf.dtype)
    if leaf.grad is None:
        # Own the array: a vjp may return a read-only broadcast view, or the same
        # array for two inputs (add), and users may update .grad in place.
        if g.base is not None or not g.flags.writeable or id(g) in given:
            g = g.copy()
        given.add(id(g))
        leaf.grad = g
    else:
        leaf.grad = leaf.grad + g
