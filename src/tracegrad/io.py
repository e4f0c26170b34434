"""Model files: one ``.npz`` holding a network, its scaler and what its outputs mean.

Layout of the archive (a plain zip of ``.npy`` arrays, readable without pickle)::

    config            uint8 array of UTF-8 JSON: format, version, model description,
                      dtype, class names, scaler kind, metadata
    weights/<name>    one array per parameter, named as in ``model.state_dict()``
    scaler/<name>     the scaler's arrays (``offset``, ``scale``), if one was saved

Loading trusts nothing in the file: every entry, type and shape is checked
against the description before a model is built, and any mismatch raises
``ModelFileError`` with one line naming the file and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .datasets.scaling import Scaler
from .nn.layers import ACTIVATIONS, MLP, Dropout, LeakyReLU, Linear
from .nn.module import Module, Sequential
from .training.archive import describe_error, pack_json, read_npz, unpack_json, write_npz_atomic

__all__ = ["ModelFileError", "ModelBundle", "save", "load", "load_bundle"]

FORMAT = "tracegrad-model"
VERSION = 1
DEFAULT_NAME = "model.npz"
_ACTIVATION_TYPES = {cls.__name__: cls for cls in ACTIVATIONS.values()}


class ModelFileError(ValueError):
    """A model file exists but is not a valid tracegrad model (damaged or hand-made)."""


@dataclass
class ModelBundle:
    """Everything a model file holds; ``load`` returns ``model`` with the rest attached."""

    model: Module
    scaler: object = None
    class_names: list | None = None
    metadata: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)


def save(model, path, *, scaler=None, class_names=None, metadata=None) -> Path:
    """Write ``model`` (an ``MLP`` or a ``Sequential`` of known layers) to one ``.npz`` file.

    Parameters
    ----------
    model : MLP or Sequential
        The network; its weights are stored bit for bit, in their own dtype.
    path : str or Path
        The file (``.npz`` is appended if missing) or an existing directory,
        in which case ``model.npz`` is written inside it.
    scaler : tracegrad.datasets.Scaler, optional
        The fitted input scaler, so predictions on raw data need nothing else.
    class_names : list of str, optional
        The meaning of each output class.
    metadata : dict, optional
        Anything JSON-able, e.g. training metrics and the command line.

    Returns
    -------
    Path
        Where the file was written. The write is atomic: on error nothing is left
        behind and an older file at ``path`` stays intact.
    """
    path = _resolve(path, writing=True)
    params = model.state_dict()
    dtypes = {a.dtype.name for a in params.values()}
    if len(dtypes) != 1:
        raise ValueError(f"save needs every parameter in one dtype, found {sorted(dtypes)}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "model": describe(model),
        "dtype": dtypes.pop(),
        "class_names": None if class_names is None else [str(c) for c in class_names],
        "scaler": None,
        "metadata": metadata or {},
    }
    arrays = {f"weights/{name}": value for name, value in params.items()}
    if scaler is not None:
        state = scaler.to_dict()
        header["scaler"] = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
        arrays.update({f"scaler/{k}": v for k, v in state.items() if isinstance(v, np.ndarray)})
    try:
        arrays["config"] = pack_json(header)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"metadata must be JSON-able (numbers, strings, lists, dicts): {err}"
        ) from None
    return write_npz_atomic(path, arrays)


# Constructor arguments of each layer a model file can hold, with their JSON types.
_INT, _NUMBER, _BOOL = (int,), (int, float), (bool,)
LAYER_ARGS = {
    **{name: {} for name in _ACTIVATION_TYPES},  # Sigmoid, Tanh, ReLU, ...: no arguments
    "Linear": {"in_features": _INT, "out_features": _INT, "bias": _BOOL},
    "LeakyReLU": {"negative_slope": _NUMBER},
    "Softmax": {"axis": _INT},
    "LogSoftmax": {"axis": _INT},
    "Dropout": {"p": _NUMBER},
}
_LAYER_TYPES = {**_ACTIVATION_TYPES, "Linear": Linear, "LeakyReLU": LeakyReLU, "Dropout": Dropout}


def describe(module: Module) -> dict:
    """A JSON-able description of ``module`` from which :func:`build` rebuilds it."""
    kind = type(module).__name__
    if type(module) is MLP:
        config = module.get_config()
        for key in ("activation", "output"):
            if not _known_activation(config[key]):
                raise TypeError(
                    f"cannot save an MLP whose {key} is {config[key]!r}: build it with a "
                    f"name such as 'relu' or 'softmax' ({', '.join(ACTIVATIONS)})"
                )
        return {"type": "MLP", "config": config}
    if type(module) is Sequential:
        return {"type": "Sequential", "layers": [describe(m) for m in module.layers]}
    if _LAYER_TYPES.get(kind) is not type(module):
        raise TypeError(
            f"cannot save a {kind}: model files hold MLP or Sequential models of Linear, "
            "activation and Dropout layers; for other modules save model.state_dict() yourself"
        )
    args = {name: getattr(module, name) for name in LAYER_ARGS[kind]}
    if kind == "Linear":
        args["bias"] = module.bias is not None
    return {"type": kind, **args}


def load(path) -> Module:
    """Read a model written by :func:`save`.

    The returned model has the saved class, configuration, dtype and exact
    weights, in eval mode, with ``model.scaler`` (a ``Scaler`` or None),
    ``model.class_names`` (list or None) and ``model.metadata`` (dict) attached.
    Raises ``ModelFileError`` if the file is not a valid model file.
    """
    bundle = load_bundle(path)
    for name in ("scaler", "class_names", "metadata"):
        setattr(bundle.model, name, getattr(bundle, name))
    return bundle.model


def load_bundle(path) -> ModelBundle:
    """Like :func:`load`, but return a :class:`ModelBundle` and leave the model bare."""
    path = _resolve(path, writing=False)
    arrays = read_npz(path, ModelFileError)
    try:
        return _bundle_from(arrays)
    except (ValueError, TypeError, KeyError, RecursionError) as err:
        raise ModelFileError(f"{path}: {describe_error(err)}") from None


def _bundle_from(arrays: dict) -> ModelBundle:
    if "config" not in arrays:
        raise ValueError("no 'config' entry: this .npz was not written by tracegrad.save")
    header = unpack_json(arrays["config"], "the 'config' entry")
    _check(
        isinstance(header, dict) and header.get("format") == FORMAT,
        "the config is not a tracegrad model description",
    )
    version = header.get("version")
    _check(isinstance(version, int), "the config has no integer format version")
    _check(
        version <= VERSION,
        f"format version {version} is newer than this tracegrad reads "
        f"({VERSION}): upgrade tracegrad",
    )
    dtype = header.get("dtype")
    _check(dtype in ("float16", "float32", "float64"), f"unsupported dtype {dtype!r}")
    class_names = header.get("class_names")
    names_ok = isinstance(class_names, list) and all(isinstance(c, str) for c in class_names)
    _check(class_names is None or names_ok, "class_names must be a list of strings")
    metadata = header.get("metadata", {})
    _check(isinstance(metadata, dict), "metadata must be a JSON object")

    weights = {k[len("weights/") :]: v for k, v in arrays.items() if k.startswith("weights/")}
    described = _count_parameters(header.get("model"))
    stored = sum(int(v.size) for v in weights.values())
    # Refuse before allocating: a hand-made config could describe a huge network.
    _check(
        described <= max(stored, 1_000_000),
        f"the config describes {described} parameters but the file holds {stored}",
    )
    model = build(header["model"], np.dtype(dtype))
    _load_weights(model, weights, np.dtype(dtype))

    scaler_arrays = {k[len("scaler/") :]: v for k, v in arrays.items() if k.startswith("scaler/")}
    scaler = _scaler_from(header.get("scaler"), scaler_arrays, model)
    unexpected = [k for k in arrays if k != "config" and not k.startswith(("weights/", "scaler/"))]
    _check(not unexpected, f"unexpected entries {unexpected}")
    model.eval()
    return ModelBundle(model, scaler, class_names, metadata, header["model"])


def build(description, dtype=np.float32) -> Module:
    """Rebuild a module from :func:`describe` output (zero weights); ValueError if malformed."""
    _check(
        isinstance(description, dict) and isinstance(description.get("type"), str),
        f"a layer description must be an object with a 'type', got {description!r}"[:200],
    )
    kind = description["type"]
    if kind == "MLP":
        c = description.get("config")
        _check(isinstance(c, dict), "the MLP description has no 'config' object")
        _check(_sizes_ok(c.get("sizes")), "MLP sizes must list at least two positive integers")
        for key in ("activation", "output"):
            _check(_known_activation(c.get(key)), f"unknown MLP {key} {c.get(key)!r}")
        dropout = c.get("dropout", 0.0)
        _check(_typed(dropout, _NUMBER), "MLP dropout must be a number")
        model = MLP(c["sizes"], c["activation"], c["output"], "zeros", None, dropout, dtype)
        model.init_name = str(c.get("init", "zeros"))  # the weights come from the file
        return model
    if kind == "Sequential":
        layers = description.get("layers")
        _check(isinstance(layers, list), "the Sequential description has no 'layers' list")
        return Sequential(*(build(layer, dtype) for layer in layers))
    if kind not in LAYER_ARGS:
        known = ", ".join(["MLP", "Sequential", *LAYER_ARGS])
        raise ValueError(f"unknown layer type {kind!r}; this tracegrad reads {known}")
    args = {}
    for name, types in LAYER_ARGS[kind].items():
        value = description.get(name)
        _check(_typed(value, types), f"{kind} needs {name} of type {types[-1].__name__}")
        args[name] = value
    if kind == "Linear":
        return Linear(**args, init="zeros", dtype=dtype)
    return _LAYER_TYPES[kind](**args)


def _count_parameters(d) -> int:
    """Parameters a description implies, computed without building anything."""
    _check(isinstance(d, dict), "the config has no model description")
    if d.get("type") == "MLP" and isinstance(d.get("config"), dict):
        sizes = d["config"].get("sizes")
        _check(_sizes_ok(sizes), "MLP sizes must list at least two positive integers")
        return sum(a * b + b for a, b in zip(sizes[:-1], sizes[1:], strict=False))
    if d.get("type") == "Sequential" and isinstance(d.get("layers"), list):
        return sum(_count_parameters(layer) for layer in d["layers"])
    n_in, n_out = d.get("in_features"), d.get("out_features")
    if d.get("type") == "Linear" and _typed(n_in, _INT) and _typed(n_out, _INT):
        return n_out * (n_in + 1)
    return 0  # parameter-free layers; build() validates the rest


def _load_weights(model: Module, weights: dict, dtype: np.dtype) -> None:
    expected = {name: p.shape for name, p in model.named_parameters()}
    missing = [n for n in expected if n not in weights]
    _check(not missing, f"missing weights {missing}")
    extra = [n for n in weights if n not in expected]
    _check(not extra, f"weights {extra} do not belong to the described model")
    for name, shape in expected.items():
        value = weights[name]
        _check(
            value.shape == shape,
            f"weight {name} has shape {value.shape}, the config implies {shape}",
        )
        _check(value.dtype == dtype, f"weight {name} is {value.dtype}, the config says {dtype}")
    model.load_state_dict(weights)


def _scaler_from(header, arrays: dict, model: Module):
    if header is None:
        _check(not arrays, "scaler arrays are present but the config has no scaler")
        return None
    _check(isinstance(header, dict), "the scaler entry must be a JSON object")
    scaler = Scaler.from_dict({**header, **arrays})
    first = next((m for _, m in model.named_modules() if isinstance(m, Linear)), None)
    if first is not None:
        _check(
            scaler.n_features == first.in_features,
            f"the scaler has {scaler.n_features} features, the model takes {first.in_features}",
        )
    return scaler


def _resolve(path, writing: bool) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / DEFAULT_NAME
    elif path.suffix != ".npz" and (writing or not path.exists()):
        path = path.with_name(path.name + ".npz")
    if not writing and not path.is_file():
        raise FileNotFoundError(f"no model file at {path}: check the path, or save a model first")
    return path


def _check(ok: bool, problem: str) -> None:
    if not ok:
        raise ValueError(problem)


def _typed(value, types) -> bool:
    """JSON type check; ``True`` is not an int here, although it is in Python."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def _known_activation(name) -> bool:
    return isinstance(name, str) and name.lower().replace("-", "_") in ACTIVATIONS


def _sizes_ok(sizes) -> bool:
    ints = isinstance(sizes, list) and all(_typed(s, _INT) for s in sizes)
    return ints and len(sizes) >= 2 and min(sizes) >= 1
