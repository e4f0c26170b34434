"""Runs as processes (issue 9, items 4, 5, 11, 14): concurrent runs, kill -9, Ctrl-C, restore.

Processes are synchronised on what they print (an epoch line), never on time.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import signal
import subprocess
import sys

import numpy as np
import pytest

from test_trust_runs import rewrite
from tracegrad import io, losses, nn, optim
from tracegrad.atomic import atomic_write
from tracegrad.experiment import Config, RunInterrupted, run
from tracegrad.rundir import LOCK_NAME, RunFolder, RunFolderError
from tracegrad.training import Callback, Checkpoint, CheckpointError, Trainer
from trust import cli, last_json

SMALL = ["--layers", "16", "--val-split", "0.1"]


def start(*args, cwd=None):
    """``tracegrad ARGS`` in the background, progress lines (stderr) readable line by line."""
    return subprocess.Popen(
        [sys.executable, "-m", "tracegrad", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=cwd,
    )


def wait_for_line(proc, prefix: str) -> None:
    pattern = re.compile(re.escape(prefix).replace(r"\ ", " +"))  # "epoch  2/30" aligns numbers
    for line in proc.stderr:
        if pattern.match(line):
            return
    raise AssertionError(f"the run ended (exit {proc.wait()}) before printing {prefix!r}")


def test_two_runs_started_together_get_their_own_folders(tmp_path):
    procs = [start("train", "--epochs", "2", *SMALL, "--seed", seed, "--json", "--quiet",
                   cwd=tmp_path) for seed in (1, 2)]  # fmt: skip
    outs = {}
    for seed, proc in zip((1, 2), procs, strict=True):
        stdout, stderr = proc.communicate(timeout=600)
        assert proc.returncode == 0, stderr
        outs[seed] = tmp_path / last_json(stdout)["out"]
    assert outs[1] != outs[2]
    for seed, out in outs.items():
        assert io.load(out / "model.npz").metadata["config"]["seed"] == seed
        assert json.loads((out / "metrics.json").read_text())["n_test"] > 0
        assert not (out / LOCK_NAME).exists()  # released at the end


def test_default_folders_are_unique_within_one_second(tmp_path):
    a, b = RunFolder.new_default(tmp_path), RunFolder.new_default(tmp_path)
    try:
        assert a.path != b.path and a.path.is_dir() and b.path.is_dir()
    finally:
        a.close(), b.close()


def test_a_default_folder_left_empty_by_a_killed_run_is_removed_by_the_next(tmp_path):
    for name, files in {"killed": [], "kept": ["history.csv"]}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / LOCK_NAME).write_text("pid 1 on elsewhere\n")  # its owner is gone
        for file in files:
            (tmp_path / name / file).write_text("epoch\n")
    (tmp_path / "starting").mkdir()  # a run that has not written its lock yet
    RunFolder.new_default(tmp_path).close()
    assert not (tmp_path / "killed").exists()
    assert (tmp_path / "kept" / "history.csv").exists() and (tmp_path / "starting").exists()


def test_sigterm_ends_a_run_like_ctrl_c(tmp_path):
    out = tmp_path / "run"
    proc = start("train", "--epochs", "1000", *SMALL, "--out", out)
    wait_for_line(proc, "epoch 2/")
    proc.terminate()
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 130, stderr
    assert (
        stderr.splitlines()[-1]
        == f"tracegrad: interrupted; resume with: tracegrad train --resume {out}"
    )
    assert not (out / LOCK_NAME).exists() and (out / "checkpoint.npz").exists()


def test_kill_9_leaves_a_stale_lock_that_the_next_run_takes_and_resume_is_exact(tmp_path):
    part = tmp_path / "part"
    proc = start("train", "--epochs", "1000", *SMALL, "--out", part)
    wait_for_line(proc, "epoch 2/")
    busy = cli("train", "--out", part, "--quiet")
    assert busy.returncode == 2, busy.stderr
    assert f"in use by another tracegrad run (pid {proc.pid} on " in busy.stderr
    proc.kill()  # SIGKILL: no cleanup of any kind runs
    proc.wait()
    assert (part / LOCK_NAME).exists()  # the stale lock is still on disk
    orphan = part / ".checkpoint.npz.killed.tmp"  # what a kill during a write leaves
    orphan.write_bytes(b"half a checkpoint")
    done = len((part / "history.csv").read_text().strip().splitlines()) - 1
    epochs = str(done + 2)
    resumed = cli("train", "--resume", part, "--epochs", epochs, "--json", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    assert last_json(resumed.stdout)["out"] == str(part)  # its own folder by default
    assert not orphan.exists() and not (part / LOCK_NAME).exists()
    full = cli("train", "--epochs", epochs, *SMALL, "--out", tmp_path / "full", "--json")
    assert last_json(resumed.stdout)["test_loss"] == last_json(full.stdout)["test_loss"]
    rows = [(d / "history.csv").read_text().splitlines() for d in (part, tmp_path / "full")]
    assert [r.split(",")[:5] for r in rows[0]] == [r.split(",")[:5] for r in rows[1]]


def test_ctrl_c_prints_the_resume_command_and_it_works(tmp_path):
    out = tmp_path / "run"
    proc = start("train", "--epochs", "40", *SMALL, "--out", out)
    wait_for_line(proc, "epoch 2/")
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 130, stderr
    ours = [line for line in stderr.splitlines() if line.startswith("tracegrad:")]
    assert ours == [f"tracegrad: interrupted; resume with: tracegrad train --resume {out}"]
    command = shlex.split(ours[0].split("resume with: ")[1])
    assert command[:2] == ["tracegrad", "train"]
    again = cli(*command[1:], "--json")
    assert again.returncode == 0, again.stderr
    assert last_json(again.stdout)["epochs_run"] == 40


class Interrupt(Callback):
    """Ctrl-C at the given batch of the given epoch, as a user would press it."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, trainer, batch, logs):
        if trainer.epoch == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_before_any_checkpoint_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = Config(epochs=3, layers="16", quiet=True)
    with pytest.raises(RunInterrupted, match="nothing to resume"):
        run(config, callbacks=[Interrupt(0)])
    assert not (tmp_path / "runs").exists()
    config = Config(epochs=3, layers="16", quiet=True, out=str(tmp_path / "o"))
    with pytest.raises(RunInterrupted, match="resume with: tracegrad train --resume "):
        run(config, callbacks=[Interrupt(1)])
    assert (tmp_path / "o" / "checkpoint.npz").exists()


def test_overwrite_replaces_every_file_of_the_old_run(tmp_path):
    out = tmp_path / "run"
    assert (
        cli("train", "--dataset", "moons", "--epochs", "2", "--out", out, "--quiet").returncode == 0
    )
    assert (out / "decision_boundary.png").exists()
    (out / "notes.txt").write_text("mine")
    proc = cli("train", "--epochs", "2", *SMALL, "--out", out, "--overwrite", "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert not (out / "decision_boundary.png").exists()  # the moons run is gone entirely
    assert json.loads((out / "metrics.json").read_text())["dataset"] == "digits"
    assert (out / "notes.txt").read_text() == "mine"  # not a run's file: kept


def test_an_unfinished_run_is_refused_with_how_to_resume_it(tmp_path):
    out = tmp_path / "run"
    assert cli("train", "--epochs", "1", *SMALL, "--out", out, "--quiet").returncode == 0
    (out / "model.npz").unlink()
    (out / "metrics.json").unlink()
    proc = cli("train", "--out", out, "--quiet")
    assert proc.returncode == 2
    assert f"unfinished run (checkpoint.npz): resume it with 'tracegrad train --resume {out}'" in (
        proc.stderr
    )


def test_a_live_lock_refuses_and_a_released_one_does_not(tmp_path):
    folder = RunFolder.open(tmp_path / "r")
    with pytest.raises(RunFolderError, match=f"pid {os.getpid()} on "):
        RunFolder.open(tmp_path / "r")
    folder.close()
    RunFolder.open(tmp_path / "r").close()
    assert sorted(os.listdir(tmp_path / "r")) == []


def test_atomic_write_removes_orphans_of_dead_writers_only(tmp_path):
    target = tmp_path / "checkpoint.npz"
    dead, live = tmp_path / ".checkpoint.npz.a.tmp", tmp_path / ".checkpoint.npz.b.tmp"
    dead.write_bytes(b"x")
    live.write_bytes(b"y")
    fd = os.open(live, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a writer still at work
    try:
        with atomic_write(target) as f:
            f.write(b"new")
        assert not dead.exists() and live.exists() and target.read_bytes() == b"new"
    finally:
        os.close(fd)


def test_lbfgs_records_and_shows_every_iteration(tmp_path):
    out = tmp_path / "run"
    proc = cli("train", "--optimizer", "lbfgs", "--epochs", "6", "--dropout", "0", *SMALL,
               "--out", out)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    epochs_run = json.loads((out / "metrics.json").read_text())["epochs_run"]
    lines = [line for line in proc.stderr.splitlines() if line.startswith("iteration ")]
    assert len(lines) == epochs_run >= 2 and lines[0].startswith("iteration 1/6  loss ")
    rows = (out / "history.csv").read_text().strip().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows] == list(range(1, epochs_run + 1))
    loss = [float(r.split(",")[1]) for r in rows]
    assert all(b <= a for a, b in zip(loss, loss[1:], strict=False))  # a line search descends
    assert (out / "learning_curves.png").exists() and not (out / "checkpoint.npz").exists()


# --- restore(): nothing changes when it fails --------------------------------------------------


def _trainer(seed):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64)
    model = nn.MLP([2, 8, 2], "tanh", rng=seed, dropout=0.2)
    opt = optim.Adam(model.parameters(), lr=0.01)
    return Trainer(model, losses.cross_entropy, opt, rng=seed), (X, y)


def _state(trainer) -> bytes:
    opt = trainer.optimizer.state_dict()
    parts = [v.tobytes() for v in trainer.model.state_dict().values()]
    parts += [v.tobytes() for s in opt["state"].values() for v in s.values() if hasattr(v, "shape")]
    rngs = [trainer.rng.bit_generator.state] + [
        m.rng.bit_generator.state for _, m in trainer.model.named_modules() if hasattr(m, "rng")
    ]
    extra = [opt["hyperparameters"], rngs, trainer.history.as_dict(), trainer.epoch, trainer.step]
    return b"".join(parts) + repr(extra).encode()


@pytest.mark.parametrize(
    "edit",
    [
        ("epoch", float("inf")),  # the last field restore() used to read, after the weights
        ("step", -1),
        ("history", {"epoch": [1, 2], "loss": [0.5]}),
        (
            "rng",
            {
                "bit_generator": "PCG64",
                "state": {"state": -1, "inc": 1},
                "has_uint32": 0,
                "uinteger": 0,
            },
        ),  # fmt: skip
        ("module_rngs", {}),
    ],
    ids=lambda e: e[0],
)
def test_a_failed_restore_changes_nothing(tmp_path, edit):
    saved, data = _trainer(seed=1)
    path = tmp_path / "ckpt.npz"
    saved.callbacks.append(Checkpoint(path))
    saved.fit(data, epochs=2, batch_size=16)
    bad = tmp_path / "bad.npz"
    rewrite(path, bad, lambda header, arrays: header.update({edit[0]: edit[1]}))
    trainer, _ = _trainer(seed=2)  # other weights than the checkpoint's
    trainer.fit(data, epochs=1, batch_size=16)  # and some optimizer state and history
    before = _state(trainer)
    with pytest.raises(CheckpointError):
        trainer.fit(data, epochs=4, batch_size=16, resume_from=bad)
    assert _state(trainer) == before
