"""How layers are written in model files: the one registry of layer types a file can hold.

A model is described as JSON (``describe``) and rebuilt from it (``build``);
its parameters travel as ``weights/<name>`` and the fixed arrays of layers
such as ``Normalization`` as ``buffers/<name>``. A layer type is known to
model files, ``tracegrad info`` and error messages once it is in ``LAYERS``.
"""

from __future__ import annotations

import math

import numpy as np

from .nn.layers import ACTIVATIONS, MLP, Dropout, LeakyReLU, Linear, LogSoftmax, Softmax
from .nn.module import Module, Sequential
from .nn.preprocessing import Denormalization, Normalization

INT, NUMBER, BOOL, STR = (int,), (int, float), (bool,), (str,)

# type name -> (class, constructor arguments stored in the description, with their JSON types)
LAYERS = {
    **{cls.__name__: (cls, {}) for cls in ACTIVATIONS.values()},  # Sigmoid, ReLU, ...
    "Linear": (Linear, {"in_features": INT, "out_features": INT, "bias": BOOL}),
    "LeakyReLU": (LeakyReLU, {"negative_slope": NUMBER}),
    "Softmax": (Softmax, {"axis": INT}),
    "LogSoftmax": (LogSoftmax, {"axis": INT}),
    "Dropout": (Dropout, {"p": NUMBER}),
    "Normalization": (Normalization, {"n_features": INT, "kind": STR}),
    # A regression model's last layer: its outputs back in the targets' units.
    "Denormalization": (Denormalization, {"n_features": INT, "kind": STR}),
}
CONTAINERS = ("MLP", "Sequential")


def known_types() -> list[str]:
    return [*CONTAINERS, *LAYERS]


def describe(module: Module) -> dict:
    """A JSON-able description of ``module`` from which :func:`build` rebuilds it."""
    kind = type(module).__name__
    if type(module) is MLP:
        config = module.get_config()
        for key in ("activation", "output"):
            if not known_activation(config[key]):
                raise TypeError(
                    f"cannot save an MLP whose {key} is {config[key]!r}: build it with a "
                    f"name such as 'relu' or 'softmax' ({', '.join(ACTIVATIONS)})"
                )
        return {"type": "MLP", "config": config}
    if type(module) is Sequential:
        return {"type": "Sequential", "layers": [describe(m) for m in module.layers]}
    if kind not in LAYERS or LAYERS[kind][0] is not type(module):
        raise TypeError(
            f"cannot save a {kind}: model files hold MLP or Sequential models of "
            f"{', '.join(LAYERS)} layers; for other modules save model.state_dict() yourself"
        )
    args = {name: getattr(module, name) for name in LAYERS[kind][1]}
    if kind == "Linear":
        args["bias"] = module.bias is not None
    return {"type": kind, **args}


def named_buffers(model: Module) -> dict:
    """``{"<module path>.<buffer>": array}`` for every layer with buffers (``0.offset``)."""
    out = {}
    for path, module in model.named_modules():
        for name in getattr(module, "buffer_names", ()):
            out[f"{path}.{name}" if path else name] = getattr(module, name)
    return out


def build(description, dtype=np.float32, buffers=None, prefix: str = "") -> Module:
    """Rebuild a module from :func:`describe` output with zero weights; ValueError if malformed.

    ``buffers`` maps buffer names (as in :func:`named_buffers`) to arrays; the
    ones used are removed from it, so a caller can refuse any left over.
    Without it, a ``Normalization`` starts as the identity.
    """
    check(
        isinstance(description, dict) and isinstance(description.get("type"), str),
        f"a layer description must be an object with a 'type', got {description!r}"[:200],
    )
    kind = description["type"]
    if kind == "MLP":
        c = description.get("config")
        check(isinstance(c, dict), "the MLP description has no 'config' object")
        check(sizes_ok(c.get("sizes")), "MLP sizes must list at least two positive integers")
        for key in ("activation", "output"):
            check(known_activation(c.get(key)), f"unknown MLP {key} {c.get(key)!r}")
        dropout = c.get("dropout", 0.0)
        check(typed(dropout, NUMBER) and 0 <= dropout < 1, "MLP dropout must be in [0, 1)")
        model = MLP(c["sizes"], c["activation"], c["output"], "zeros", None, dropout, dtype)
        model.init_name = str(c.get("init", "zeros"))  # the weights come from the file
        return model
    if kind == "Sequential":
        layers = description.get("layers")
        check(isinstance(layers, list), "the Sequential description has no 'layers' list")
        return Sequential(
            *(build(d, dtype, buffers, f"{prefix}{i}.") for i, d in enumerate(layers))
        )
    if kind not in LAYERS:
        raise ValueError(
            f"unknown layer type {kind!r}; this tracegrad reads {', '.join(known_types())}"
        )
    cls, arg_types = LAYERS[kind]
    args = {}
    for name, types in arg_types.items():
        value = description.get(name)
        check(typed(value, types), f"{kind} needs {name} of type {types[-1].__name__}")
        args[name] = value
    if kind == "Linear":
        return Linear(**args, init="zeros", dtype=dtype)
    if kind in ("Normalization", "Denormalization"):
        return _affine(cls, args, buffers, prefix)
    return cls(**args)


def _affine(cls, args: dict, buffers, prefix: str):
    n = args["n_features"]
    check(n >= 1, f"{cls.__name__} n_features must be positive")
    if buffers is None:
        return cls(np.zeros(n, np.float32), np.ones(n, np.float32), args["kind"])
    arrays = {}
    for name in cls.buffer_names:
        key = prefix + name
        check(key in buffers, f"the buffer {key!r} of a {cls.__name__} layer is missing")
        value = buffers.pop(key)
        check(
            value.shape == (n,) and value.dtype.name in ("float16", "float32", "float64"),
            f"buffer {key} is {value.dtype} of shape {value.shape}, expected float of shape ({n},)",
        )
        arrays[name] = value
    try:
        return cls(arrays["offset"], arrays["scale"], args["kind"])
    except ValueError as err:  # name the field: "buffer 0.scale: ... feature 3 is 0.0"
        field = prefix + ("offset" if str(err).startswith("Normalization offset") else "scale")
        raise ValueError(f"buffer {field}: {err}") from None


def count_parameters(d) -> int:
    """Parameters a description implies, computed without building anything."""
    check(isinstance(d, dict), "the config has no model description")
    if d.get("type") == "MLP" and isinstance(d.get("config"), dict):
        sizes = d["config"].get("sizes")
        check(sizes_ok(sizes), "MLP sizes must list at least two positive integers")
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    if d.get("type") == "Sequential" and isinstance(d.get("layers"), list):
        return sum(count_parameters(layer) for layer in d["layers"])
    n_in, n_out = d.get("in_features"), d.get("out_features")
    if d.get("type") == "Linear" and typed(n_in, INT) and typed(n_out, INT):
        return n_out * (n_in + 1)
    return 0  # parameter-free layers; build() validates the rest


def input_features(model: Module) -> int | None:
    """How many features a model's rows need: its first Normalization or Linear layer's size."""
    for _, m in model.named_modules():
        if isinstance(m, Normalization):
            return m.n_features
        if isinstance(m, Linear):
            return m.in_features
    return None


def output_classes(model: Module) -> int | None:
    """Classes the model's outputs stand for: its last Linear's width, 2 for a single output."""
    last = None
    for _, m in model.named_modules():
        if isinstance(m, Linear):
            last = m
    if last is None:
        return None
    return last.out_features if last.out_features > 1 else 2


def check(ok: bool, problem: str) -> None:
    if not ok:
        raise ValueError(problem)


def typed(value, types) -> bool:
    """JSON type check; ``True`` is not an int here, although it is in Python, and a
    number must be finite (JSON readers accept NaN and Infinity)."""
    if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def known_activation(name) -> bool:
    return isinstance(name, str) and name.lower().replace("-", "_") in ACTIVATIONS


def sizes_ok(sizes) -> bool:
    ints = isinstance(sizes, list) and all(typed(s, INT) for s in sizes)
    return ints and len(sizes) >= 2 and min(sizes) >= 1
