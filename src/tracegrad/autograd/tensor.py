"""The Tensor and the reverse-mode engine: recording, ordering and the chain rule.

Read this file, then ``registry.py`` (how an op enters the graph) and ``primitives.py``
(the ops); ``tracegrad/autograd/__init__.py`` says how the three fit together.

A recorded tensor keeps its parents (the inputs that need a gradient, in order) and one
vector-Jacobian product per parent. This module does the work every op shares:
ordering the graph (an iterative topological sort), calling only the VJPs of inputs
that need a gradient, adding up the gradients of reused nodes and undoing broadcasting
(``unbroadcast``, the one place that does). It imports no op: ``registry.register``
attaches the ops to ``Tensor`` as they are defined.
"""

from __future__ import annotations

import contextlib
import threading

import numpy as np

_state = threading.local()


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
    data : array_like or Tensor
        Python numbers and lists become float32; NumPy arrays and scalars keep their dtype.
    requires_grad : bool, default False
        Whether ``backward()`` should compute a gradient for this tensor; only
        floating-point tensors can (TypeError otherwise).
    dtype : dtype, optional
        Convert the data to this dtype.
    name : str, optional
        A label, shown by the graph drawings and traces.

    Notes
    -----
    Every op in ``OPS`` is also a method (``x.relu()``, ``x.sum(axis=0)``, ``x @ w``).
    Reductions accept NumPy's ``axis``/``keepdims`` and PyTorch's ``dim``/``keepdim``.

    Examples
    --------
    >>> w, x, b = Tensor(-2.0, requires_grad=True), Tensor(5.0), Tensor(3.0, requires_grad=True)
    >>> f = w * x + b
    >>> f.backward()
    >>> float(f.item()), float(w.grad), float(b.grad)
    (-7.0, 5.0, 1.0)
    """

    # ``scope``: the layer that made the tensor, set only inside ``tracegrad.viz.record`` (for
    # drawing) and left unset otherwise, so creating a tensor costs nothing more.
    __slots__ = (
        "_data",
        "grad",
        "requires_grad",
        "_parents",
        "_vjps",
        "_retain",
        "name",
        "op",
        "scope",
    )
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
        self._parents = ()  # the inputs that need a gradient, in order
        self._vjps = ()  # their vector-Jacobian products, in the same order
        self._retain = False
        self.name = name
        self.op = None

    @property
    def data(self) -> np.ndarray:
        return self._data

    @data.setter
    def data(self, value):
        self._data = _as_array(value)

    shape = property(lambda self: self._data.shape)
    dtype = property(lambda self: self._data.dtype)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    T = property(lambda self: self.transpose())

    @property
    def is_leaf(self) -> bool:
        return not self._parents

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

    def backward(self, grad=None) -> None:
        """Accumulate d(self)/d(leaf) into ``.grad`` of every leaf that requires it.

        As in PyTorch, leaf gradients add up across calls: zero them between steps.

        Parameters
        ----------
        grad : array_like, optional
            The gradient of the final result with respect to this tensor, of its shape
            (ValueError otherwise); 1 by default, which needs a one-element tensor.

        Raises
        ------
        RuntimeError
            When this tensor does not require a gradient, or ``grad`` is missing for a
            tensor of more than one element.
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


# -- backpropagation -----------------------------------------------------------------------
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
            if id(p) not in visited:
                visited.add(id(p))
                stack.append((p, iter(p._parents)))
                break
        else:
            stack.pop()
            order.append(node)
    return order


def backpropagate(root: Tensor, grad: np.ndarray) -> None:
    """Apply the chain rule from ``root`` backwards through the recorded graph."""
    grads = {id(root): grad}
    owned = set()  # ids of arrays already stored as some leaf's .grad in this pass
    for node in reversed(toposort(root)):
        g = grads.pop(id(node), None)
        if g is None:
            continue
        if not node._parents:  # a leaf: accumulate across backward() calls
            _accumulate(node, g, owned)
            continue
        if node._retain:
            node.grad = np.array(g)
        for parent, vjp in zip(node._parents, node._vjps, strict=True):
            pg = vjp(g)
            if pg is None:
                continue
            if pg.shape != parent._data.shape:
                pg = unbroadcast(pg, parent._data.shape)
            prev = grads.get(id(parent))
            grads[id(parent)] = pg if prev is None else prev + pg


def _accumulate(leaf: Tensor, g: np.ndarray, owned: set) -> None:
    if leaf.grad is not None:
        leaf.grad = (leaf.grad + g).astype(leaf.dtype, copy=False)
        return
    # Own the array: a VJP may return a read-only broadcast view, a NumPy scalar, or the
    # same array for two inputs (add); and users may change .grad in place.
    if (
        type(g) is not np.ndarray
        or g.dtype != leaf.dtype
        or g.base is not None
        or not g.flags.writeable
        or id(g) in owned
    ):
        g = np.array(g, dtype=leaf.dtype)
    owned.add(id(g))
    leaf.grad = g
