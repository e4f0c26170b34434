"""Which layer made which tensor: the one hook ``tg.draw`` needs to box layers.

Inside ``with tg.viz.record(model):`` every call of a layer (a Module with no
sub-modules) tags the tensors it creates, and its own parameters, with a
:class:`Scope`; ``tg.draw`` then draws each tagged group as one box. Outside the
block nothing is tagged and a module call costs one comparison
(``tracegrad.nn.module._call_hook is None``), so training pays nothing for drawing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..autograd.tensor import Tensor
from ..nn import module as _module


@dataclass(frozen=True)
class Scope:
    """The layer call a tensor came from: dotted path, label, call number, parameter name."""

    path: str
    label: str
    call: int = 0
    param: str | None = None

    @property
    def group(self) -> tuple:
        return (self.path, self.label, self.call)


def scope_of(t: Tensor):
    """The :class:`Scope` of ``t``, or None if no recorded layer made it."""
    return getattr(t, "scope", None)  # the slot stays unset until a recording tags it


def layer_label(m) -> str:
    """``Linear(64->32)``, ``Sigmoid``, ``Dropout(p=0.5)``: a short name for a box."""
    name = type(m).__name__
    if hasattr(m, "in_features") and hasattr(m, "out_features"):
        return f"{name}({m.in_features}->{m.out_features})"
    extra = m.extra_repr()
    return f"{name}({extra})" if extra and len(extra) <= 24 else name


class record:
    """Tag the tensors each layer creates while the block runs, for ``tg.draw``.

    Parameters
    ----------
    model : Module, optional
        Gives the layers their dotted names (``0``, ``2``, ``encoder.1``); without
        it a layer is named by its class.

    Examples
    --------
    >>> with tg.viz.record(model):          # doctest: +SKIP
    ...     loss = losses.mse(model(X), y)
    >>> loss.backward()                     # doctest: +SKIP
    >>> tg.draw(loss, "model.svg")          # one box per layer; expand=True for every op
    """

    def __init__(self, model=None):
        self._names = {}
        if model is not None:
            self._names = {id(m): path for path, m in model.named_modules()}
        self._calls = {}

    def __enter__(self):
        if _module._call_hook is not None:
            raise RuntimeError("tg.viz.record is already active: recordings do not nest")
        _module._call_hook = self._call
        return self

    def __exit__(self, *exc):
        _module._call_hook = None
        return False

    def _call(self, m, args, kwargs):
        out = m.forward(*args, **kwargs)
        if sum(1 for _ in m.named_modules()) > 1:
            return out  # a container: its layers tag their own tensors
        path = self._names.get(id(m), type(m).__name__)
        call = self._calls.get(path, 0)
        self._calls[path] = call + 1
        scope = Scope(path, layer_label(m), call)
        params = {id(p): name for name, p in m.named_parameters()}
        inputs = {id(a) for a in (*args, *kwargs.values()) if isinstance(a, Tensor)}
        outs = out if isinstance(out, (tuple, list)) else (out,)
        stack = [t for t in outs if isinstance(t, Tensor)]
        seen = set()
        while stack:
            t = stack.pop()
            if id(t) in seen or id(t) in inputs:
                continue
            seen.add(id(t))
            if t.is_leaf:
                if id(t) in params:  # re-tagged on every call: the latest layer call owns it
                    t.scope = Scope(path, scope.label, call, params[id(t)])
                continue
            if scope_of(t) is not None:
                continue  # made before this call, by another layer
            t.scope = scope
            stack.extend(t._parents)
        return out
