"""``Checkpoint``: save everything a run needs to continue exactly where it stopped.

A checkpoint is one ``.npz`` (see ``archive.py``), written atomically::

    state                  JSON: epoch, step, optimizer hyperparameters and step
                           counts, the bit-generator states of the trainer and of
                           every module that draws random numbers (dropout),
                           history, and free ``metadata`` (the CLI records the
                           run's settings there, so a resume can check them)
    model/<name>           the model's parameters, as in ``state_dict()``
    optimizer/<i>/<key>    the optimizer's buffers (momentum, moment estimates)

With all of it restored, ``fit(..., resume_from=path)`` draws the same batches
and dropout masks and takes the same steps: a run stopped after epoch k and
resumed ends with the same weights, bit for bit, as one that never stopped.

Reading never trusts the file: every value is checked (``checkpoint_checks.py``)
against the format and against the trainer before anything is changed.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from .archive import describe_error, pack_json, read_npz, unpack_json, write_npz_atomic
from .callback import Callback
from .checkpoint_checks import CheckpointError, check_arrays, check_header, check_rng_state

FORMAT = "tracegrad-checkpoint"
VERSION = 1

__all__ = ["Checkpoint", "CheckpointError", "load_checkpoint", "restore", "save_checkpoint"]


class Checkpoint(Callback):
    """Save a resumable checkpoint to ``path`` every ``every`` epochs (overwriting it).

    Parameters
    ----------
    path : str or Path
        The checkpoint file, written as it is named (``.npz`` is not appended).
    every : int, default 1
        Save after every this many epochs, counted over the whole run (ValueError
        unless a whole number >= 1).
    metadata : dict, optional
        A JSON-able dict stored with it and read back by :func:`load_checkpoint`;
        the CLI keeps the run's settings there.
    """

    def __init__(self, path, every: int = 1, metadata: dict | None = None):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a whole number of epochs >= 1, got {every!r}")
        self.path, self.every, self.metadata = Path(path), every, metadata

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        if trainer.epoch % self.every == 0:
            save_checkpoint(self.path, trainer, self.metadata)


def _random_modules(model):
    """``(name, module)`` for every sub-module holding a Generator (Dropout layers)."""
    for name, module in model.named_modules():
        if isinstance(getattr(module, "rng", None), np.random.Generator):
            yield name, module


def save_checkpoint(path, trainer, metadata: dict | None = None) -> Path:
    """Write the trainer's model, optimizer, random states, counters and history to ``path``.

    Parameters
    ----------
    path : str or Path
        The file, replaced atomically (``.npz`` is not appended).
    trainer : Trainer
        A trainer inside :meth:`Trainer.fit` (its batches are recorded), as a
        callback sees it.
    metadata : dict, optional
        JSON-able settings to keep with it.

    Returns
    -------
    Path
        ``path``.
    """
    arrays = {f"model/{k}": v for k, v in trainer.model.state_dict().items()}
    optimizer = trainer.optimizer.state_dict()
    counters = {}
    for i, state in optimizer["state"].items():
        counters[str(i)] = {k: v for k, v in state.items() if not isinstance(v, np.ndarray)}
        arrays.update(
            {f"optimizer/{i}/{k}": v for k, v in state.items() if isinstance(v, np.ndarray)}
        )
    header = {
        "format": FORMAT,
        "version": VERSION,
        "epoch": trainer.epoch,
        "step": trainer.step,
        "batch_size": trainer.batches.batch_size,
        "n_samples": trainer.batches.n_samples,
        "optimizer": {**optimizer, "state": counters},
        "rng": trainer.rng.bit_generator.state,
        "module_rngs": {n: m.rng.bit_generator.state for n, m in _random_modules(trainer.model)},
        "history": trainer.history.as_dict(),
        "metadata": metadata or {},
    }
    arrays["state"] = pack_json(header)
    return write_npz_atomic(path, arrays)


def load_checkpoint(path) -> dict:
    """Read and check a checkpoint: ``{"header", "model", "optimizer", "metadata"}``.

    Parameters
    ----------
    path : str or Path
        A file written by :func:`save_checkpoint` or :class:`Checkpoint`.

    Returns
    -------
    dict
        ``header`` (epoch, step, optimizer settings, random states, history, ...),
        ``model`` (the state dict), ``optimizer`` (its state dict) and ``metadata``.

    Raises
    ------
    CheckpointError
        One line naming the file and the bad field, for anything a checkpoint
        written by :func:`save_checkpoint` would not contain.
    """
    path = Path(path)
    arrays = read_npz(path, CheckpointError)
    try:
        if "state" not in arrays:
            raise ValueError("the 'state' entry is missing: it is not a tracegrad checkpoint")
        header = unpack_json(arrays.pop("state"), "the 'state' entry")
        check_header(header, FORMAT, VERSION)
        model, buffers = check_arrays(arrays, header["optimizer"]["state"])
    except (ValueError, TypeError, KeyError, RecursionError) as err:
        raise CheckpointError(f"{path}: damaged checkpoint ({describe_error(err)})") from None
    optimizer = dict(header["optimizer"])
    optimizer["state"] = {
        int(i): {**counters, **buffers.get(int(i), {})}
        for i, counters in header["optimizer"]["state"].items()
    }
    return {
        "header": header,
        "model": model,
        "optimizer": optimizer,
        "metadata": header.get("metadata", {}),
    }


def restore(path, trainer) -> None:
    """Put the trainer back in the state saved at ``path``; on failure nothing changes.

    Everything is checked first (against the file format, the model's parameter
    names, shapes and dtypes, the optimizer, the data and the random layers);
    only then are the model, the optimizer, the generators and the history set.
    """
    checkpoint = load_checkpoint(path)
    try:
        _check_fits(checkpoint, trainer)
    except (KeyError, ValueError, TypeError, OverflowError) as err:
        raise CheckpointError(f"{path}: cannot resume from it: {describe_error(err)}") from None
    header = checkpoint["header"]
    before = _snapshot(trainer)
    try:  # checked above: a failure here is an unexpected one, and is rolled back
        trainer.model.load_state_dict(checkpoint["model"])
        trainer.optimizer.load_state_dict(checkpoint["optimizer"])
        for name, module in _random_modules(trainer.model):
            module.rng.bit_generator.state = header["module_rngs"][name]
        trainer.rng.bit_generator.state = header["rng"]
        trainer.history.load(header["history"])
        trainer.epoch, trainer.step = header["epoch"], header["step"]
    except BaseException:
        _put_back(trainer, before)
        raise


def _check_fits(checkpoint: dict, trainer) -> None:
    """Raise ValueError if the checkpoint cannot be loaded into ``trainer``; change nothing."""
    header = checkpoint["header"]
    for key in ("batch_size", "n_samples"):
        actual = getattr(trainer.batches, key)
        if header[key] != actual:
            raise ValueError(
                f"it was written for {key}={header[key]}, this run has {actual}: "
                "resume with the same data and batch size"
            )
    params = dict(trainer.model.named_parameters())
    saved = checkpoint["model"]
    if set(saved) != set(params):
        missing, unexpected = sorted(set(params) - set(saved)), sorted(set(saved) - set(params))
        raise ValueError(
            f"its parameters do not match the model's (missing {missing}, unexpected "
            f"{unexpected}): resume with the same --layers"
        )
    for name, p in params.items():
        if saved[name].shape != p.shape:
            raise ValueError(
                f"model/{name} has shape {saved[name].shape}, the model's is {p.shape}: "
                "resume with the same --layers"
            )
        if not np.can_cast(saved[name].dtype, p.data.dtype, "same_kind"):
            raise ValueError(f"model/{name} has dtype {saved[name].dtype}, not {p.data.dtype}")
    # The optimizer checks its own state; a shallow copy takes it, the real one is untouched.
    copy.copy(trainer.optimizer).load_state_dict(checkpoint["optimizer"])
    check_rng_state(header["rng"], trainer.rng.bit_generator, "rng")
    modules = dict(_random_modules(trainer.model))
    if set(modules) != set(header["module_rngs"]):
        raise ValueError("its random layers do not match the model's (dropout differs)")
    for name, module in modules.items():
        check_rng_state(header["module_rngs"][name], module.rng.bit_generator, f"rng of {name}")


def _snapshot(trainer) -> tuple:
    rngs = {n: m.rng.bit_generator.state for n, m in _random_modules(trainer.model)}
    return (
        trainer.model.state_dict(),
        trainer.optimizer.state_dict(),
        trainer.rng.bit_generator.state,
        rngs,
        trainer.history.as_dict(),
        (trainer.epoch, trainer.step),
    )


def _put_back(trainer, snapshot: tuple) -> None:
    model, optimizer, rng, module_rngs, history, (epoch, step) = snapshot
    trainer.model.load_state_dict(model)
    trainer.optimizer.load_state_dict(optimizer)
    trainer.rng.bit_generator.state = rng
    for name, module in _random_modules(trainer.model):
        module.rng.bit_generator.state = module_rngs[name]
    trainer.history.load(history)
    trainer.epoch, trainer.step = epoch, step
