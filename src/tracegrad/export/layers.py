"""The layers of a model in the order they run, as the exporters see them.

A tracegrad model is a tree of ``Sequential`` containers (an ``MLP`` is one);
ONNX graphs and ``torch.nn.Sequential`` are flat lists. ``flatten`` gives
that list, ``(path, layer)`` pairs with the layer's own dotted path, so that a
refusal can name the very layer it cannot export.
"""

from __future__ import annotations

from ..layer_files import LAYERS
from ..nn.layers import MLP
from ..nn.module import Module, Sequential


class ExportError(ValueError):
    """A model, a format or a path that cannot be exported; the message is one line."""


def flatten(model: Module, prefix: str = "") -> list[tuple[str, Module]]:
    """The leaf layers of ``model`` in forward order, with their dotted paths.

    Only ``Sequential`` and ``MLP`` themselves are opened (a subclass may run its
    layers its own way, so it is one leaf).

    Parameters
    ----------
    model : Module
        The model (ExportError for anything else).
    prefix : str, default ""
        Put before each path, ending in ``"."``; used by the recursion.

    Returns
    -------
    list of (str, Module)
        ``("0", layer)``, ``("1.0", layer)``, ...; a model that is one layer gives
        ``[("0", model)]``.
    """
    if not isinstance(model, Module):
        raise ExportError(
            f"export needs a tracegrad model (an MLP or a Sequential), got {type(model).__name__}"
        )
    # Exactly these containers: a Sequential subclass may run its layers its own way.
    if type(model) in (Sequential, MLP):
        out = []
        for i, layer in enumerate(model.layers):
            out.extend(flatten(layer, f"{prefix}{i}."))
        return out
    return [(prefix.rstrip(".") or "0", model)]


def check_supported(layers, supported, format_name: str) -> None:
    """Refuse, naming the first layer, if a layer's type has no rule in ``supported``.

    A layer is known by its exact class as registered in ``layer_files.LAYERS``,
    so a subclass with a different ``forward`` is never exported as its parent.
    """
    for path, layer in layers:
        kind = type(layer).__name__
        registered = LAYERS.get(kind, (None,))[0] is type(layer)
        if not registered or kind not in supported:
            raise ExportError(
                f"cannot export layer {path} ({kind}) to {format_name}: it exports "
                f"Sequential/MLP models of {', '.join(sorted(supported))} layers"
            )
