"""Model files: one ``.npz`` holding a network, its input scaling and what its outputs mean.

Layout of the archive (a plain zip of ``.npy`` arrays, readable without pickle)::

    config            uint8 array of UTF-8 JSON: format, version, model description,
                      dtype, class names, the training data's columns, metadata
    weights/<name>    one array per parameter, named as in ``model.state_dict()``
    buffers/<name>    fixed arrays of layers such as ``Normalization`` (``0.offset``)

The input scaling is a layer of the model (``nn.Normalization``), so a loaded
model takes raw inputs, whatever path they come by. Files of format version 1
kept the scaler apart (``scaler/offset``, ``scaler/scale``): loading turns it
into that first layer, never drops it.

Loading trusts nothing in the file: every entry, type, shape and value is
checked (weights and scales finite, class names matching the outputs) before
a model is returned, and any problem raises ``ModelFileError`` with one line
naming the file and the field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .datasets.scaling import Scaler
from .layer_files import (
    INT,
    build,
    check,
    count_parameters,
    describe,
    input_features,
    named_buffers,
    output_classes,
    typed,
)
from .nn.module import Module, Sequential
from .nn.preprocessing import Normalization
from .trained_on import check_record, describe_data
from .training.archive import describe_error, pack_json, read_npz, unpack_json, write_npz_atomic

__all__ = ["ModelFileError", "ModelBundle", "save", "load", "load_bundle", "describe_data"]

FORMAT = "tracegrad-model"
VERSION = 2
DEFAULT_NAME = "model.npz"
_DTYPES = ("float16", "float32", "float64")


class ModelFileError(ValueError):
    """A model file exists but is not a valid tracegrad model (damaged or hand-made)."""


@dataclass
class ModelBundle:
    """Everything a model file holds; ``load`` returns ``model`` with the rest attached.

    Parameters
    ----------
    model : Module
        The network, in eval mode.
    scaler : None
        Always None: the input scaling is the model's ``Normalization`` layer (the
        field stays so that old code testing it keeps working).
    class_names : list of str, optional
        The meaning of each output class.
    metadata : dict, optional
        What :func:`save` was given as ``metadata``.
    config : dict, optional
        The file's description of the network (the ``model`` entry of its config).
    trained_on : dict, optional
        The training data's record (:func:`describe_data`).
    """

    model: Module
    scaler: object = None
    class_names: list | None = None
    metadata: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)
    trained_on: dict | None = None


def save(model, path, *, scaler=None, class_names=None, trained_on=None, metadata=None) -> Path:
    """Write ``model`` (an ``MLP`` or a ``Sequential`` of known layers) to one ``.npz`` file.

    Parameters
    ----------
    model : MLP or Sequential
        The network; its weights are stored bit for bit, in their own dtype.
    path : str or Path
        The file (``.npz`` is appended if missing) or an existing directory,
        in which case ``model.npz`` is written inside it.
    scaler : tracegrad.datasets.Scaler, optional
        A fitted input scaler the model was trained behind: it is saved as the
        model's first layer, ``Sequential(Normalization, model)``, so the loaded
        model takes raw inputs.
    class_names : list of str, optional
        The meaning of each output class (one per output, or two for a single
        sigmoid output); by default those of ``trained_on`` if it is a Dataset.
    trained_on : Dataset or dict, optional
        The training data (or :func:`describe_data` of it): its name, source,
        feature count and column names, so that ``predict`` and ``evaluate``
        read and check new data by the same rules.
    metadata : dict, optional
        Anything JSON-able with finite numbers, e.g. training metrics.

    Returns
    -------
    Path
        Where the file was written. The write is atomic: on error nothing is left
        behind and an older file at ``path`` stays intact. The file is checked as
        :func:`load` would check it before it is written.
    """
    path = _resolve(path, writing=True)
    if scaler is not None:
        if isinstance(_first_layer(model), Normalization):
            raise ValueError(
                "the model already starts with a Normalization layer: pass scaler=None"
            )
        model = Sequential(Normalization.from_scaler(scaler), model)
    if hasattr(trained_on, "n_features") and hasattr(trained_on, "class_names"):
        if class_names is None:
            class_names = list(trained_on.class_names)
        trained_on = describe_data(trained_on)
    params = model.state_dict()
    dtypes = {a.dtype.name for a in params.values()}
    if len(dtypes) > 1:
        raise ValueError(f"save needs every parameter in one dtype, found {sorted(dtypes)}")
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    header = {
        "format": FORMAT,
        "version": VERSION,
        "model": describe(model),
        "dtype": dtypes.pop() if dtypes else "float32",
        "class_names": None if class_names is None else [str(c) for c in class_names],
        "trained_on": trained_on,
        "metadata": metadata or {},
    }
    arrays = {f"weights/{name}": value for name, value in params.items()}
    arrays.update({f"buffers/{k}": np.array(v) for k, v in named_buffers(model).items()})
    try:
        arrays["config"] = pack_json(header)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"metadata must be JSON-able (numbers, strings, lists, dicts): {err}"
        ) from None
    try:  # never write a file that load() would refuse
        _bundle_from(dict(arrays))
    except (ValueError, TypeError, KeyError) as err:
        raise ValueError(f"cannot save this model: {describe_error(err)}") from None
    return write_npz_atomic(path, arrays)


def load(path) -> Module:
    """Read a model written by :func:`save`.

    The returned model has the saved class, configuration, dtype and exact
    weights, in eval mode, and takes raw inputs (its input scaling is its
    first layer). Attached: ``model.class_names`` (list or None),
    ``model.trained_on`` (dict or None: the training data's name, source,
    feature count and columns), ``model.metadata`` (dict) and
    ``model.scaler`` (always None, for old code).

    Parameters
    ----------
    path : str or Path
        The model file, with or without its ``.npz``, or a directory holding
        ``model.npz``.

    Returns
    -------
    Module

    Raises
    ------
    FileNotFoundError
        If there is no model file at ``path``.
    ModelFileError
        If the file is not a valid model file.
    """
    bundle = load_bundle(path)
    for name in ("scaler", "class_names", "metadata", "trained_on"):
        setattr(bundle.model, name, getattr(bundle, name))
    return bundle.model


def load_bundle(path) -> ModelBundle:
    """Like :func:`load`, but return a :class:`ModelBundle` and leave the model bare.

    Parameters
    ----------
    path : str or Path
        The model file, with or without its ``.npz``, or a directory holding
        ``model.npz``.

    Returns
    -------
    ModelBundle
    """
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
    check(
        isinstance(header, dict) and header.get("format") == FORMAT,
        "the config is not a tracegrad model description",
    )
    version = header.get("version")
    check(typed(version, INT) and version >= 1, "the config has no integer format version")
    check(
        version <= VERSION,
        f"format version {version} is newer than this tracegrad reads "
        f"({VERSION}): upgrade tracegrad",
    )
    dtype = header.get("dtype")
    check(dtype in _DTYPES, f"unsupported dtype {dtype!r}")
    class_names = header.get("class_names")
    names_ok = isinstance(class_names, list) and all(isinstance(c, str) for c in class_names)
    check(class_names is None or names_ok, "class_names must be a list of strings")
    metadata = header.get("metadata", {})
    check(isinstance(metadata, dict), "metadata must be a JSON object")
    _check_finite(metadata, "metadata")

    weights = _entries(arrays, "weights/")
    described = count_parameters(header.get("model"))
    stored = sum(int(v.size) for v in weights.values())
    # Refuse before allocating: a hand-made config could describe a huge network.
    check(
        described <= max(stored, 1_000_000),
        f"the config describes {described} parameters but the file holds {stored}",
    )
    buffers = _entries(arrays, "buffers/")
    model = build(header["model"], np.dtype(dtype), buffers)
    check(not buffers, f"buffers {sorted(buffers)} do not belong to the described model")
    _load_weights(model, weights, np.dtype(dtype))

    if version == 1:  # the scaler was kept beside the model: make it the first layer
        model = _with_old_scaler(model, header.get("scaler"), _entries(arrays, "scaler/"))
    else:
        check(header.get("scaler") is None, "a version 2 file keeps no separate scaler")
    known = ("weights/", "buffers/", "scaler/") if version == 1 else ("weights/", "buffers/")
    unexpected = [k for k in arrays if k != "config" and not k.startswith(known)]
    check(not unexpected, f"unexpected entries {unexpected}")
    n_classes = output_classes(model)
    check(
        class_names is None or n_classes is None or len(class_names) == n_classes,
        f"the file names {len(class_names or [])} classes but the model has {n_classes} outputs",
    )
    trained_on = check_record(header.get("trained_on"), input_features(model))
    model.eval()
    return ModelBundle(model, None, class_names, metadata, header["model"], trained_on)


def _entries(arrays: dict, prefix: str) -> dict:
    return {k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)}


def _load_weights(model: Module, weights: dict, dtype: np.dtype) -> None:
    expected = {name: p.shape for name, p in model.named_parameters()}
    missing = [n for n in expected if n not in weights]
    check(not missing, f"missing weights {missing}")
    extra = [n for n in weights if n not in expected]
    check(not extra, f"weights {extra} do not belong to the described model")
    for name, shape in expected.items():
        value = weights[name]
        check(
            value.shape == shape,
            f"weight {name} has shape {value.shape}, the config implies {shape}",
        )
        check(value.dtype == dtype, f"weight {name} is {value.dtype}, the config says {dtype}")
        check(bool(np.isfinite(value).all()), f"weight {name} holds NaN or infinite values")
    model.load_state_dict(weights)


def _with_old_scaler(model: Module, header, arrays: dict) -> Module:
    if header is None:
        check(not arrays, "scaler arrays are present but the config has no scaler")
        return model
    check(isinstance(header, dict), "the scaler entry must be a JSON object")
    scaler = Scaler.from_dict({**header, **arrays})
    try:
        layer = Normalization.from_scaler(scaler)
    except ValueError as err:
        raise ValueError(f"scaler: {err}") from None
    n_in = input_features(model)
    check(
        n_in is None or layer.n_features == n_in,
        f"the scaler has {layer.n_features} features, the model takes {n_in}",
    )
    return Sequential(layer, model)


def _check_finite(value, where: str) -> None:
    """JSON readers accept NaN and Infinity; a model file must not hold them anywhere."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{where} is {value}: model files hold finite numbers only")
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")


def _first_layer(model):
    while isinstance(model, Sequential) and len(model):
        model = model.layers[0]
    return model


def _resolve(path, writing: bool) -> Path:
    path = Path(path)
    if path.is_dir():
        path = path / DEFAULT_NAME
    elif path.suffix != ".npz" and (writing or not path.exists()):
        path = path.with_name(path.name + ".npz")
    if not writing and not path.is_file():
        raise FileNotFoundError(f"no model file at {path}: check the path, or save a model first")
    return path
