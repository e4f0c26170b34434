"""Export a trained model to the formats other tools read: ONNX and safetensors.

``export(model, "model.onnx")`` writes the whole model, input scaling and
output probabilities included, for onnxruntime and friends (see
:mod:`tracegrad.export.onnx`); ``export(model, "model.safetensors")`` writes
the weights under ``torch.nn.Sequential`` key names, with the torch code that
loads them (see :mod:`tracegrad.export.safetensors`).

Both need the ``export`` extra: ``pip install 'tracegrad[export]'``.

``tracegrad.export`` is this package and can be called as :func:`export`
(``tg.export(model, path)``): were ``tg.export`` the function instead, it would
hide the package, and ``import tracegrad.export.onnx as m`` would fail.
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

from ..atomic import atomic_write
from .layers import ExportError, flatten

__all__ = ["export", "ExportError", "FORMATS", "format_for", "flatten"]

# format name -> (file suffix, the module building it, the package it needs)
FORMATS = {
    "onnx": (".onnx", "onnx"),
    "safetensors": (".safetensors", "safetensors"),
}


def export(model, path, format: str | None = None, *, class_names=None, trained_on=None) -> Path:
    """Write ``model`` to ``path`` as ONNX or safetensors; return the path written.

    Parameters
    ----------
    model : MLP or Sequential
        A tracegrad model, e.g. from ``tracegrad.load``; its ``class_names`` and
        ``trained_on`` (set by ``load``) go into the file's metadata.
    path : str or Path
        The file to write. Its directory must exist. The write is atomic: on
        any error nothing is left and an older file at ``path`` is untouched.
    format : {"onnx", "safetensors"}, optional
        By default from the suffix of ``path`` (``.onnx``, ``.safetensors``).
    class_names, trained_on : optional
        Override what the model carries.

    Raises
    ------
    ExportError
        An unknown format, a path that cannot be written, or a layer the format
        cannot express (named in the message).
    """
    path = Path(path)
    format = format_for(path, format)
    if class_names is None:
        class_names = getattr(model, "class_names", None)
    if trained_on is None:
        trained_on = getattr(model, "trained_on", None)
    _check_path(path)
    flatten(model)  # refuse a non-model before importing anything
    if format == "onnx":
        proto = _module("onnx").to_onnx(model, class_names, trained_on)
        data = proto.SerializeToString()
    else:
        data = _module("safetensors").to_safetensors(model, class_names, trained_on, path.name)
    with atomic_write(path) as f:
        f.write(data)
    return path


def format_for(path, format: str | None = None) -> str:
    """The format to write ``path`` in: ``format`` if given (checked), else from the suffix.

    Parameters
    ----------
    path : str or Path
        The file to write: ``*.onnx`` or ``*.safetensors`` (any name with ``format``).
    format : {"onnx", "safetensors"}, optional
        The format, in any case; it must agree with a known suffix.

    Returns
    -------
    str
        ``"onnx"`` or ``"safetensors"``.

    Raises
    ------
    ExportError
        For an unknown format, a suffix that names none (without ``format``), or a
        suffix that names another format.
    """
    suffix = Path(path).suffix.lower()
    by_suffix = {s: name for name, (s, _) in FORMATS.items()}
    if format is None:
        if suffix not in by_suffix:
            raise ExportError(
                f"cannot tell the format of {str(path)!r} from its suffix: name the file "
                f"{' or '.join(f'*{s}' for s in by_suffix)}, or pass the format"
            )
        return by_suffix[suffix]
    name = str(format).lower()
    if name not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    if suffix in by_suffix and by_suffix[suffix] != name:
        raise ExportError(
            f"{str(path)!r} is named like a {by_suffix[suffix]} file but the format is "
            f"{name}: name it *{FORMATS[name][0]}"
        )
    return name


def _check_path(path: Path) -> None:
    """Refuse where the file cannot go, before any work (atomic_write would make folders)."""
    if path.is_dir():
        raise ExportError(f"{path} is a directory: give a file name, e.g. {path / 'model'}.onnx")
    if path.parent.exists() and not path.parent.is_dir():
        raise ExportError(f"{path.parent} is a file, not a directory: choose another output")
    if not path.parent.is_dir():
        raise ExportError(
            f"the directory {path.parent} does not exist: create it or choose another output"
        )


def _module(format: str):
    """The exporter of ``format``, with a hint to install its package if it is missing."""
    import importlib

    package = FORMATS[format][1]
    try:
        importlib.import_module(package)
    except ImportError:
        raise ExportError(
            f"exporting to {format} needs the {package!r} package: pip install 'tracegrad[export]'"
        ) from None
    return importlib.import_module(f".{format}", __name__)


class _CallablePackage(types.ModuleType):
    """The package itself, callable as :func:`export` (see the module docstring)."""

    def __call__(self, model, path, format: str | None = None, **options) -> Path:
        return export(model, path, format, **options)


sys.modules[__name__].__class__ = _CallablePackage
