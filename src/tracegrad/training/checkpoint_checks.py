"""Checks of a checkpoint's content, so a hostile file gets one clear line, never a crash.

Every value read from a checkpoint is checked here before it is used: whole
numbers are JSON integers (not ``Infinity``, not ``true``, not ``1e300``),
lists have the lengths the counters promise, arrays are finite floats of the
parameters' shapes, and a random state round-trips through a fresh generator
of the same kind. Each check raises ``ValueError`` naming the field.
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np

_MAX_COUNT = 2**53  # a count beyond this is not one that a real run reached


class CheckpointError(ValueError):
    """A checkpoint file is damaged or does not belong to this model and optimizer."""


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def whole(value, name: str, low: int = 0) -> int:
    """``value`` if it is an int in ``[low, 2**53]`` (bools and floats are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _MAX_COUNT:
        raise ValueError(f"{name} must be a whole number >= {low}, got {_show(value)}")
    return value


def _mapping(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"{name} must be a JSON object, got {type(value).__name__}")
    return value


def _number(value, name: str, finite: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a number, got {_show(value)}")
    if finite and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {_show(value)}")
    return value


def check_header(header, format_name: str, version: int) -> None:
    """Check the JSON header's structure and types (not yet against a trainer)."""
    _mapping(header, "the header")
    if header.get("format") != format_name:
        raise ValueError("it is not a tracegrad checkpoint (no 'format' marker)")
    if header.get("version") != version or isinstance(header.get("version"), bool):
        raise ValueError(
            f"version {_show(header.get('version'))} is not one this tracegrad reads ({version})"
        )
    for key in ("epoch", "step", "batch_size", "n_samples", "optimizer", "rng", "history"):
        if key not in header:
            raise KeyError(key)
    epoch = whole(header["epoch"], "epoch")
    whole(header["step"], "step")
    whole(header["batch_size"], "batch_size", low=1)
    whole(header["n_samples"], "n_samples", low=1)
    _check_optimizer(header["optimizer"])
    _mapping(header["rng"], "rng")
    for name, state in _mapping(header.get("module_rngs", {}), "module_rngs").items():
        _mapping(state, f"the rng of {name}")
    header.setdefault("module_rngs", {})
    _check_history(header["history"], epoch)
    _mapping(header.setdefault("metadata", {}), "metadata")


def _check_optimizer(optimizer) -> None:
    _mapping(optimizer, "optimizer")
    for key in ("optimizer", "hyperparameters", "state"):
        if key not in optimizer:
            raise KeyError(f"optimizer.{key}")
    if not isinstance(optimizer["optimizer"], str):
        raise ValueError(f"optimizer.optimizer must be a name, got {_show(optimizer['optimizer'])}")
    for name, value in _mapping(optimizer["hyperparameters"], "optimizer.hyperparameters").items():
        values = value if isinstance(value, list) else [value]
        for v in values:
            if not isinstance(v, bool):
                _number(v, f"the hyperparameter {name}")
    for i, counters in _mapping(optimizer["state"], "optimizer.state").items():
        if not re.fullmatch(r"\d{1,6}", i):
            raise ValueError(f"optimizer.state has a key {_show(i)}, not a parameter number")
        for key, value in _mapping(counters, f"optimizer.state.{i}").items():
            whole(value, f"optimizer.state.{i}.{key}")


def _check_history(history, epoch: int) -> None:
    _mapping(history, "history")
    epochs = history.get("epoch")
    # The length first: a hostile epoch count must not make us build a list of 2**53 numbers.
    if (
        not isinstance(epochs, list)
        or len(epochs) != epoch
        or epochs != list(range(1, epoch + 1))
        or any(isinstance(e, bool) for e in epochs)
    ):
        raise ValueError(
            f"history.epoch must list the epochs 1..{epoch} that the checkpoint completed, "
            f"got {_show(epochs)}"
        )
    for key, values in history.items():
        if not isinstance(values, list) or len(values) != epoch:
            got = len(values) if isinstance(values, list) else type(values).__name__
            raise ValueError(f"history.{key} must hold {epoch} values (one per epoch), got {got}")
        for v in values:
            _number(v, f"a value of history.{key}", finite=False)  # a NaN val_loss is a record


def check_arrays(arrays: dict, optimizer_state: dict) -> tuple[dict, dict]:
    """Split the archive's arrays into the model's and the optimizer's, checking each.

    Returns ``(model state_dict, {parameter index: {buffer name: array}})``.
    """
    model, buffers = {}, {}
    for key, value in arrays.items():
        if key.startswith("model/") and len(key) > len("model/"):
            model[key[len("model/") :]] = _finite_floats(value, key)
            continue
        match = re.fullmatch(r"optimizer/(\d{1,6})/(\w+)", key)
        if match is None:
            raise ValueError(f"unexpected entry {_show(key)}")
        if match.group(1) not in optimizer_state:
            raise ValueError(f"{key} belongs to no parameter of optimizer.state")
        buffers.setdefault(int(match.group(1)), {})[match.group(2)] = _finite_floats(value, key)
    return model, buffers


def _finite_floats(value, name: str) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        kind = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
        raise ValueError(f"{name} must be an array of floats, got {kind}")
    if not np.isfinite(value).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return value


def check_rng_state(state, bit_generator, name: str) -> None:
    """Raise ValueError unless ``state`` is a valid state of ``bit_generator``'s kind.

    It is set on a fresh generator of that kind (so the real one is untouched)
    and must read back unchanged: out-of-range or mistyped numbers are refused.
    """
    kind = type(bit_generator).__name__
    if not isinstance(state, dict) or state.get("bit_generator") != kind:
        raise ValueError(f"{name} is not a {kind} random state")
    if not _plain_ints(state):
        raise ValueError(f"{name} holds values that are not whole numbers")
    fresh = type(bit_generator)(0)
    try:
        fresh.state = state
    except (ValueError, TypeError, OverflowError, KeyError):
        raise ValueError(f"{name} is not a valid {kind} random state") from None
    if fresh.state != state:
        raise ValueError(f"{name} is not a valid {kind} random state (out of range)")


def _plain_ints(value) -> bool:
    if isinstance(value, dict):
        return all(_plain_ints(v) for v in value.values())
    if isinstance(value, str):
        return True
    return isinstance(value, int) and not isinstance(value, bool)
