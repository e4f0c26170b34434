"""The settings a user chose, and what a resume or L-BFGS does with them.

``Config.given`` names the settings the user chose (the CLI tracks them), so
L-BFGS can refuse the options it cannot honour only when they are given.

Resuming a ``tracegrad train`` run: the checkpoint's settings are the run's settings.

A run records its settings in its checkpoint (resolved: the learning rate the
optimizer used, the full layer sizes, the input scaling chosen) and a
fingerprint of its training data. ``--resume`` then takes every setting from
the checkpoint; a setting the user gives that differs is refused, naming it,
because a resumed run with another seed, learning rate or architecture is not
the run it claims to be (another seed even moves training samples into the
test split). Only ``--epochs`` may grow, to train a finished run longer.
"""

from __future__ import annotations

import hashlib
import math
import shlex
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from .layer_spec import ConfigError, parse_layers
from .training.checkpoint_checks import CheckpointError

# Settings of one invocation, not of the run: never recorded, never compared.
PER_INVOCATION = ("out", "resume", "quiet", "overwrite", "download", "given")
# Where the data lives may change between invocations: taken from the checkpoint unless given.
NOT_COMPARED = ("data_dir", "epochs")


# What L-BFGS cannot honour, and why: refused when given (see ``Config.given``).
LBFGS_REFUSES = {
    "resume": "SciPy's L-BFGS keeps no checkpoint, so its runs cannot be resumed",
    "early_stopping": "it stops by its own convergence test; --epochs caps its iterations",
    "lr": "it chooses every step size by a line search",
    "lr_decay": "it chooses every step size by a line search",
    "momentum": "it builds its own curvature estimate instead",
    "batch_size": "it uses the whole training set at every iteration",
    "dropout": "its line search needs the same loss at every evaluation, and dropout is random",
}


def given_options(config) -> set:
    """Names of the settings the user chose: ``config.given``, else those off their defaults."""
    if config.given is not None:
        return set(config.given)
    defaults = type(config)()
    return {
        f.name
        for f in fields(config)
        if f.name != "given" and getattr(config, f.name) != getattr(defaults, f.name)
    }


def check_lbfgs(config, given: set) -> None:
    """Refuse, naming it, a given option that ``--optimizer lbfgs`` cannot honour."""
    for name, why in LBFGS_REFUSES.items():
        if name in given and not (name == "dropout" and config.dropout == 0):
            option = "--" + name.replace("_", "-")
            raise ConfigError(f"--optimizer lbfgs cannot honour {option}: {why}; drop {option}")


def checkpoint_path(resume) -> Path:
    """The checkpoint file of ``--resume``, which names a run folder or the file itself."""
    path = Path(resume)
    if path.is_dir():
        path = path / "checkpoint.npz"
        if not path.is_file():
            raise ConfigError(
                f"--resume {resume}: the folder holds no checkpoint.npz (L-BFGS runs and runs "
                "stopped before their first epoch have none): start a new run instead"
            )
    elif not path.is_file():
        raise ConfigError(f"--resume {resume}: no such run folder or checkpoint file")
    return path


def recorded(config, sizes, scale: str, lr: float) -> dict:
    """The settings a checkpoint records, resolved so that equal runs compare equal."""
    settings = {
        f.name: getattr(config, f.name) for f in fields(config) if f.name not in PER_INVOCATION
    }
    settings.update(layers="-".join(map(str, sizes)), scale=scale, lr=float(lr))
    return settings


def fingerprint(*datasets) -> str:
    """A short hash of the data sets' samples and labels (a changed data file is noticed)."""
    digest = hashlib.sha256()  # hardware-accelerated on most CPUs: ~0.3 s for MNIST
    for data in datasets:
        if data is not None:
            for array in (data.X, data.y):
                digest.update(str((array.dtype.str, array.shape)).encode())
                digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return digest.hexdigest()[:32]


def merge(config, given: set, path: Path, metadata: dict, epochs_done: int, shapes=None):
    """``config`` with every setting the user did not give taken from the checkpoint.

    ``shapes`` (parameter name -> shape, from the checkpoint) must fit the recorded layers.

    Raises ``ConfigError`` naming the first given setting that contradicts the
    checkpoint, or a checkpoint that records no settings to check against.
    """
    saved = metadata.get("config")
    if not isinstance(saved, dict):
        raise ConfigError(
            f"{path} records no run settings (written by Python code or an older tracegrad), "
            "so a resume cannot be checked: resume it from Python with fit(resume_from=...)"
        )
    changes = {}
    for f in fields(config):
        if f.name in PER_INVOCATION:
            continue
        option = "--" + f.name.replace("_", "-")
        if f.name not in saved or not _fits(saved[f.name], f.type):
            raise CheckpointError(
                f"{path}: damaged checkpoint (its recorded {option} is not valid)"
            )
        value, theirs = getattr(config, f.name), saved[f.name]
        if f.name not in given:
            changes[f.name] = theirs
            continue
        if f.name in NOT_COMPARED:
            continue
        same = value == theirs
        if f.name == "layers" and theirs is not None:
            sizes = _recorded_sizes(theirs)  # recorded in full: input-...-output
            same = parse_layers(value, sizes[0], sizes[-1]) == sizes
        if not same:
            raise ConfigError(
                f"{option} {_show(value)} differs from the checkpoint's {option} "
                f"{_show(theirs)} ({path}): a resumed run keeps its settings; drop {option}, "
                "or start a new run"
            )
    merged = replace(config, **changes)
    if shapes is not None and _layer_sizes(shapes) != _recorded_sizes(saved["layers"]):
        # Checked before any model is built: hostile sizes must not allocate gigabytes.
        raise CheckpointError(
            f"{path}: damaged checkpoint (its recorded --layers {saved['layers']} do not fit "
            "the shapes of its weights)"
        )
    if merged.epochs < epochs_done:
        raise ConfigError(
            f"--epochs {merged.epochs}: {path} has already completed {epochs_done} epochs; "
            f"pass --epochs {epochs_done} or more"
        )
    return merged


def _layer_sizes(shapes: dict) -> list[int]:
    """``[inputs, units...]`` of an MLP from its weights' shapes (``<i>.weight``: (out, in))."""
    weights = sorted(
        (int(name.split(".")[0]), shape)
        for name, shape in shapes.items()
        if name.endswith(".weight") and name.split(".")[0].isdigit() and len(shape) == 2
    )
    if not weights:
        return []
    return [weights[0][1][1], *(shape[0] for _, shape in weights)]


def _fits(value, annotation: str) -> bool:
    """Whether a recorded value has the type of the Config field (``"float | None"`` etc.)."""
    kinds = [k.strip() for k in str(annotation).split("|")]
    if value is None:
        return "None" in kinds
    if isinstance(value, bool):
        return "bool" in kinds
    if isinstance(value, int):
        return ("int" in kinds or "float" in kinds) and abs(value) <= 2**53
    if isinstance(value, float):
        return "float" in kinds and math.isfinite(value)
    return isinstance(value, str) and "str" in kinds and len(value) <= 4096


def _show(value) -> str:
    return "(default)" if value is None else shlex.quote(str(value))


def command(folder) -> str:
    """The command line that resumes the run in ``folder``."""
    return f"tracegrad train --resume {shlex.quote(str(folder))}"


def _recorded_sizes(spec: str) -> list[int]:
    """Every layer size a checkpoint records (``"64-128-10"``), read as written.

    Not through ``parse_layers``: a recorded spec is already complete, and its
    sizes are compared with the stored weights before anything is allocated.
    """
    try:
        sizes = [int(p) for p in str(spec).split("-")]
    except ValueError:
        sizes = []
    if len(sizes) < 2 or min(sizes) < 1:
        raise CheckpointError(f"damaged checkpoint (its recorded --layers {spec!r} are not sizes)")
    return sizes
