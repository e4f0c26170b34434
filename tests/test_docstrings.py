"""The API reference's docstrings pass numpydoc's checks, without building the site.

The docs build (``docs/conf.py``: ``numpydoc_validation_checks``) fails on an object
that has no docstring (GL08), leaves a parameter out of its Parameters section (PR01)
or documents one its signature does not have (PR02). This test runs the same checks
on what the reference pages show: each public module's ``__all__``, and the methods
the class pages list (the class's own documented methods, and ``__call__``), so a
missing Parameters section fails here in seconds rather than in the docs job.
"""

import importlib
import inspect
import re
from pathlib import Path

from numpydoc.validate import validate

CHECKS = {"PR01", "PR02", "GL08"}
# The modules of docs/api/index.rst, in its order.
MODULES = (
    "tracegrad",
    "tracegrad.nn",
    "tracegrad.functional",
    "tracegrad.losses",
    "tracegrad.optim",
    "tracegrad.training",
    "tracegrad.datasets",
    "tracegrad.viz",
    "tracegrad.compile",
    "tracegrad.io",
    "tracegrad.sklearn",
    "tracegrad.sweep",
    "tracegrad.export",
)
INDEX = Path(__file__).resolve().parents[1] / "docs" / "api" / "index.rst"


def _ours(obj) -> bool:
    return (getattr(obj, "__module__", None) or "").startswith("tracegrad")


def _methods(cls):
    """Names the class page documents: own public methods with a docstring, and __call__."""
    for name, member in vars(cls).items():
        # classmethod and staticmethod hold theirs in __func__, scikit-learn's available_if in fn
        function = getattr(member, "__func__", None) or getattr(member, "fn", member)
        if not inspect.isfunction(function) or not _ours(function):
            continue
        if name == "__call__" or (not name.startswith("_") and function.__doc__):
            yield name


def _documented():
    """Dotted paths of every object the API reference shows, each once."""
    seen = set()
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.ismodule(obj) or not hasattr(obj, "__qualname__") or id(obj) in seen:
                continue
            seen.add(id(obj))
            path = f"{obj.__module__}.{obj.__qualname__}"
            yield path
            if inspect.isclass(obj):
                yield from (f"{path}.{m}" for m in _methods(obj))


def test_the_checked_modules_are_the_reference_pages():
    listed = re.findall(r"^   (tracegrad[\w.]*)$", INDEX.read_text(encoding="utf-8"), re.M)
    assert tuple(listed) == MODULES


def test_public_docstrings_pass_numpydoc():
    offenders = []
    for path in _documented():
        errors = [f"{code} {text}" for code, text in validate(path)["errors"] if code in CHECKS]
        if errors:
            offenders.append(f"{path}: {'; '.join(errors)}")
    assert not offenders, f"{len(offenders)} docstrings fail numpydoc:\n" + "\n".join(offenders)
