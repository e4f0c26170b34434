"""``Checkpoint``: save everything a run needs to continue exactly where it stopped.

A checkpoint is one ``.npz`` (see ``archive.py``), written atomically::

    state                  JSON: epoch, step, optimizer hyperparameters and step
                           counts, the bit-generator states of the trainer and of
                           every module that draws random numbers (dropout), history
    model/<name>           the model's parameters, as in ``state_dict()``
    optimizer/<i>/<key>    the optimizer's buffers (momentum, moment estimates)

With all of it restored, ``fit(..., resume_from=path)`` draws the same batches
and dropout masks and takes the same steps: a run stopped after epoch k and
resumed ends with the same weights, bit for bit, as one that never stopped.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .archive import describe_error, pack_json, read_npz, unpack_json, write_npz_atomic
from .callback import Callback

FORMAT = "tracegrad-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file is damaged or does not belong to this model and optimizer."""


class Checkpoint(Callback):
    """Save a resumable checkpoint to ``path`` every ``every`` epochs (overwriting it)."""

    def __init__(self, path, every: int = 1):
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be a whole number of epochs >= 1, got {every!r}")
        self.path, self.every = Path(path), every

    def on_epoch_end(self, trainer, epoch, logs) -> None:
        if trainer.epoch % self.every == 0:
            save_checkpoint(self.path, trainer)


def _random_modules(model):
    """``(name, module)`` for every sub-module holding a Generator (Dropout layers)."""
    for name, module in model.named_modules():
        if isinstance(getattr(module, "rng", None), np.random.Generator):
            yield name, module


def save_checkpoint(path, trainer) -> Path:
    """Write the trainer's model, optimizer, random states, counters and history to ``path``."""
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
    }
    arrays["state"] = pack_json(header)
    return write_npz_atomic(path, arrays)


def load_checkpoint(path) -> dict:
    """Read a checkpoint: ``{"header": dict, "model": state_dict, "optimizer": state_dict}``."""
    path = Path(path)
    arrays = read_npz(path, CheckpointError)
    try:
        header = unpack_json(arrays.pop("state"), "the 'state' entry")
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise ValueError("it is not a tracegrad checkpoint")
        model = {k[len("model/") :]: v for k, v in arrays.items() if k.startswith("model/")}
        optimizer = dict(header["optimizer"])
        state = {int(i): dict(counters) for i, counters in optimizer["state"].items()}
        for key, value in arrays.items():
            if key.startswith("optimizer/"):
                _, i, name = key.split("/", 2)
                state[int(i)][name] = value
        optimizer["state"] = state
    except (KeyError, ValueError, TypeError, AttributeError, RecursionError) as err:
        raise CheckpointError(f"{path}: damaged checkpoint ({describe_error(err)})") from None
    return {"header": header, "model": model, "optimizer": optimizer}


def restore(path, trainer) -> None:
    """Put the trainer back in the state saved at ``path``; on failure nothing changes."""
    checkpoint = load_checkpoint(path)
    header = checkpoint["header"]
    before = _snapshot(trainer)
    try:
        for key in ("batch_size", "n_samples"):
            actual = getattr(trainer.batches, key)
            if header.get(key) != actual:
                raise ValueError(
                    f"it was written for {key}={header.get(key)}, this run has {actual}: "
                    "resume with the same data and batch size"
                )
        module_rngs = dict(_random_modules(trainer.model))
        if set(module_rngs) != set(header["module_rngs"]):
            raise ValueError("its random layers do not match the model's (dropout differs)")
        trainer.model.load_state_dict(checkpoint["model"])
        trainer.optimizer.load_state_dict(checkpoint["optimizer"])
        for name, module in module_rngs.items():
            module.rng.bit_generator.state = header["module_rngs"][name]
        trainer.rng.bit_generator.state = header["rng"]
        trainer.history.load(header["history"])
        trainer.epoch, trainer.step = int(header["epoch"]), int(header["step"])
    except (KeyError, ValueError, TypeError) as err:
        _put_back(trainer, before)
        raise CheckpointError(f"{path}: cannot resume from it: {describe_error(err)}") from None


def _snapshot(trainer) -> tuple:
    rngs = {n: m.rng.bit_generator.state for n, m in _random_modules(trainer.model)}
    return (
        trainer.model.state_dict(),
        trainer.optimizer.state_dict(),
        trainer.rng.bit_generator.state,
        rngs,
    )


def _put_back(trainer, snapshot: tuple) -> None:
    model, optimizer, rng, module_rngs = snapshot
    trainer.model.load_state_dict(model)
    trainer.optimizer.load_state_dict(optimizer)
    trainer.rng.bit_generator.state = rng
    for name, module in _random_modules(trainer.model):
        module.rng.bit_generator.state = module_rngs[name]
