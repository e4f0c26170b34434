"""``Parameter``, ``Module`` and ``Sequential``: layers own parameters, never backward code."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ..autograd.tensor import Tensor


class Parameter(Tensor):
    """A tensor that an optimizer trains (``requires_grad`` is on).

    Parameters
    ----------
    data : array_like
        The initial values; Python numbers and lists become float32.
    requires_grad : bool, default True
        Whether it trains.
    dtype : dtype, optional
        Convert the data to this dtype.
    name : str, optional
        A label for drawings and traces.
    """

    __slots__ = ()

    def __init__(self, data, requires_grad: bool = True, dtype=None, name: str | None = None):
        super().__init__(data, requires_grad=requires_grad, dtype=dtype, name=name)


#: The one hook into module calls. ``tracegrad.viz.record`` sets it, for the length of its
#: ``with`` block, to a function that tags the tensors each layer creates so that
#: ``tg.draw`` can draw a layer as one box; otherwise it is None and a call costs one test.
_call_hook = None


class Module:
    """Base class of layers and models.

    Parameters are found by walking the instance's attributes in the order
    they were set (Parameters, sub-Modules and lists or tuples of either), so
    ``parameters()`` and ``state_dict()`` have a stable, readable order.
    """

    training = True

    def __call__(self, *args, **kwargs):
        """Run the module: ``layer(x)`` is ``layer.forward(x)``.

        Parameters
        ----------
        *args, **kwargs
            Passed to :meth:`forward`.
        """
        if _call_hook is not None:
            return _call_hook(self, args, kwargs)
        return self.forward(*args, **kwargs)

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} must define forward()")

    # -- walking the tree ------------------------------------------------------
    def _children(self):
        for name, value in vars(self).items():
            if isinstance(value, (Module, Parameter)):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, (Module, Parameter)):
                        yield f"{name}.{i}", item

    def named_modules(self, prefix: str = ""):
        """Yield ``(dotted name, module)`` for this module and every sub-module.

        Parameters
        ----------
        prefix : str, default ""
            The name of this module (``""``: the root); sub-modules' names extend it.
        """
        yield prefix, self
        for name, child in self._children():
            if isinstance(child, Module):
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name)

    def named_parameters(self, prefix: str = ""):
        """Yield ``(dotted name, parameter)`` pairs, each parameter once.

        Parameters
        ----------
        prefix : str, default ""
            Put before every name, as ``prefix.0.weight``.
        """
        seen = set()
        for path, module in self.named_modules(prefix):
            for name, child in module._children():
                if isinstance(child, Parameter) and id(child) not in seen:
                    seen.add(id(child))
                    yield (f"{path}.{name}" if path else name), child

    def parameters(self) -> list:
        """All parameters, in a stable order."""
        return [p for _, p in self.named_parameters()]

    def num_parameters(self) -> int:
        return int(sum(p.size for p in self.parameters()))

    # -- modes and gradients ------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        """Switch this module and all sub-modules to training mode (dropout on).

        Parameters
        ----------
        mode : bool, default True
            False switches to evaluation mode, as :meth:`eval` does.

        Returns
        -------
        Module
            ``self``.
        """
        for _, m in self.named_modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        """Switch to evaluation mode (dropout off)."""
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    # -- state -----------------------------------------------------------------------
    def state_dict(self) -> OrderedDict:
        """Copies of every parameter's array, keyed by dotted name (``0.weight``)."""
        return OrderedDict((name, p.data.copy()) for name, p in self.named_parameters())

    def load_state_dict(self, state, strict: bool = True) -> None:
        """Copy arrays into the parameters in place, checking names and shapes.

        Parameters
        ----------
        state : dict
            Dotted parameter name to array, as :meth:`state_dict` gives; each array is
            cast to the parameter's dtype (``same_kind``).
        strict : bool, default True
            Refuse (KeyError) a state that misses a parameter or has one the model does
            not; when False, only the names both have are copied.

        Raises
        ------
        KeyError
            With ``strict``, for missing or unexpected names.
        ValueError
            For an array whose shape is not the parameter's.
        TypeError
            For an array that cannot be cast to the parameter's dtype (``same_kind``).

        Every name, shape and dtype is checked before anything is copied, so after a
        refusal the parameters are as they were.
        """
        params = dict(self.named_parameters())
        missing = [k for k in params if k not in state]
        unexpected = [k for k in state if k not in params]
        if strict and (missing or unexpected):
            raise KeyError(
                f"state does not match the model: missing {missing}, unexpected {unexpected}"
            )
        # Every array is checked before any is copied: a refusal leaves the model as it was.
        checked = []
        for name, value in state.items():
            if name not in params:
                continue
            p, value = params[name], np.asarray(value)
            if value.shape != p.shape:
                raise ValueError(
                    f"{name}: saved shape {value.shape} does not match the model's {p.shape}; "
                    "nothing was loaded (build the model with the saved layer sizes)"
                )
            if not np.can_cast(value.dtype, p.dtype, casting="same_kind"):
                raise TypeError(
                    f"{name}: saved dtype {value.dtype} cannot be cast to the model's {p.dtype}; "
                    "nothing was loaded"
                )
            checked.append((p, value))
        for p, value in checked:
            np.copyto(p.data, value, casting="same_kind")

    def __repr__(self) -> str:
        inner = [
            f"  ({name}): {child!r}".replace("\n", "\n  ")
            for name, child in self._children()
            if isinstance(child, Module)
        ]
        extra = self.extra_repr()
        if not inner:
            return f"{type(self).__name__}({extra})"
        return f"{type(self).__name__}({extra}\n" + "\n".join(inner) + "\n)"

    def extra_repr(self) -> str:
        return ""


class Sequential(Module):
    """Modules applied one after the other; children are named ``0``, ``1``, ...

    Parameters
    ----------
    *layers : Module
        The layers, in the order they apply (TypeError for anything else).
    """

    def __init__(self, *layers: Module):
        for i, layer in enumerate(layers):
            if not isinstance(layer, Module):
                raise TypeError(f"Sequential takes Modules, got {type(layer).__name__} at {i}")
        self.layers = tuple(layers)

    def _children(self):
        for i, layer in enumerate(self.layers):
            yield str(i), layer

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def __getitem__(self, i):
        return self.layers[i]

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)
