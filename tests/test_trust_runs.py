"""Trust cases of runs (issue 9, items 4, 5, 11 and 14): folders, resumes, checkpoints, L-BFGS.

Every case is a command line with what a user must get back: the exit code,
a fragment of the one-line message, and the paths that must not be left behind.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from trust import Case, cli, last_json, run_case

# The module's run: a seed and a batch size off their defaults, so that giving the
# default value explicitly on --resume is a contradiction the CLI must notice.
RUN_ARGS = ["--epochs", "2", "--layers", "16", "--seed", "3", "--batch-size", "16", "--quiet"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("trust_runs") / "run"
    proc = cli("train", *RUN_ARGS, "--out", out)
    assert proc.returncode == 0, proc.stderr
    return out


def resume_refusal(option, value, fragment=None):
    return Case(
        f"resume-{option.lstrip('-')}-{value}",
        ["train", "--resume", "{run}", option, value, "--quiet"],
        2,
        fragment or f"{option} {value} differs from the checkpoint's {option}",
    )


RESUME_CASES = [
    resume_refusal("--seed", "7"),
    resume_refusal("--seed", "0"),  # the default, given explicitly: still not the run's seed
    resume_refusal("--lr", "0.5"),
    resume_refusal("--activation", "tanh"),
    resume_refusal("--layers", "32"),
    resume_refusal("--optimizer", "adam"),
    resume_refusal("--batch-size", "32"),
    resume_refusal("--dataset", "moons"),
    resume_refusal("--momentum", "0.5"),
    resume_refusal("--lr-decay", "0.1"),
    resume_refusal("--l2", "0.01"),
    resume_refusal("--dropout", "0.2"),
    resume_refusal("--val-split", "0.2"),
    resume_refusal("--loss", "mse"),
    resume_refusal("--output", "sigmoid"),
    resume_refusal("--init", "he_normal"),
    resume_refusal("--scale", "minmax"),
    resume_refusal("--early-stopping", "3"),
    resume_refusal("--epochs", "1", "has already completed 2 epochs"),
    Case("resume-missing", ["train", "--resume", "{tmp}/nowhere", "--quiet"], 2, "no such run"),
    Case(
        "resume-folder-without-checkpoint",
        ["train", "--resume", "{tmp}", "--quiet"],
        2,
        "holds no checkpoint.npz",
    ),
]

LBFGS_CASES = [
    Case(
        f"lbfgs-{option.lstrip('-')}",
        ["train", "--optimizer", "lbfgs", option, value, "--quiet"],
        2,
        f"lbfgs cannot honour {option}",
        absent=["runs"],
    )
    for option, value in [
        ("--lr", "1"),
        ("--batch-size", "32"),  # the default value, given: L-BFGS has no batches at all
        ("--momentum", "0.9"),
        ("--lr-decay", "0.1"),
        ("--early-stopping", "2"),
        ("--dropout", "0.1"),
        ("--resume", "{run}"),
    ]
]

FOLDER_CASES = [
    Case(
        "out-holds-finished-run",
        ["train", "--out", "{run}", "--quiet"],
        2,
        "already holds a finished run",
    ),
    Case("out-is-a-file", ["train", "--out", "{run}/model.npz", "--quiet"], 2, "is a file"),
    Case(
        "failed-run-leaves-no-folder",
        ["train", "--dataset", "{tmp}/missing.csv", "--quiet"],
        1,
        "missing.csv",
        absent=["runs"],
    ),
    Case(
        "failed-run-leaves-no-out-folders",
        ["train", "--dataset", "{tmp}/missing.csv", "--out", "{tmp}/a/b", "--quiet"],
        1,
        "missing.csv",
        absent=["a"],
    ),
]


@pytest.mark.parametrize("case", RESUME_CASES + LBFGS_CASES + FOLDER_CASES, ids=lambda c: c.id)
def test_cli_case(case, tmp_path, run_dir):
    before = sorted(p.name for p in run_dir.iterdir())
    run_case(case, tmp_path, run=run_dir)
    assert sorted(p.name for p in run_dir.iterdir()) == before  # the run is untouched


# --- hostile checkpoints: each edit of a good checkpoint, and the line it must give --------------


def _set(path, value):
    def edit(header, arrays):
        target = header
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _array(name, value):
    def edit(header, arrays):
        arrays[name] = value(arrays[name]) if callable(value) else value

    return edit


def _shorter_history(header, arrays):
    header["history"]["loss"] = header["history"]["loss"][:-1]


W = "model/0.weight"
HOSTILE = {
    "epoch-infinity": (_set(["epoch"], math.inf), "epoch must be a whole number"),
    "epoch-huge-float": (_set(["epoch"], 1e300), "epoch must be a whole number"),
    "epoch-true": (_set(["epoch"], True), "epoch must be a whole number"),
    "epoch-negative": (_set(["epoch"], -1), "epoch must be a whole number"),
    "epoch-2**53": (_set(["epoch"], 2**53), "history.epoch must list the epochs"),  # no 2**53 list
    "epoch-text": (_set(["epoch"], "2"), "epoch must be a whole number"),
    "step-nan": (_set(["step"], math.nan), "step must be a whole number"),
    "rng-negative": (_set(["rng", "state", "state"], -5), "rng is not a valid PCG64"),
    "rng-too-large": (_set(["rng", "state", "state"], 2**200), "rng is not a valid PCG64"),
    "rng-float": (_set(["rng", "state", "inc"], 1.5), "rng holds values"),
    "rng-other-kind": (_set(["rng", "bit_generator"], "MT19937"), "rng is not a PCG64"),
    "history-short": (_shorter_history, "history.loss must hold 2 values"),
    "history-epochs": (_set(["history", "epoch"], [1, 3]), "history.epoch"),
    "history-text": (_set(["history", "loss"], ["a", "b"]), "history.loss must be a number"),
    "history-not-object": (_set(["history"], [1, 2]), "history must be a json object"),
    "version": (_set(["version"], 2), "version 2"),
    "optimizer-step-inf": (_set(["optimizer", "state", "0", "step"], math.inf), "state.0.step"),
    "optimizer-class": (_set(["optimizer", "optimizer"], "Adam"), "saved by adam"),
    "optimizer-lr-inf": (_set(["optimizer", "hyperparameters", "lr"], math.inf), "lr must be"),
    "optimizer-state-list": (_set(["optimizer", "state"], [1]), "optimizer.state must be"),
    "batch-size": (_set(["batch_size"], 7), "batch_size=7"),
    "weights-bytes": (_array(W, np.frombuffer(b"abcd", dtype="S1")), "array of floats"),
    "weights-int": (_array(W, lambda a: a.astype(np.int64)), "array of floats"),
    "weights-shape": (_array(W, lambda a: a[:-1]), "shape"),
    "weights-nan": (_array(W, lambda a: np.full_like(a, np.nan)), "nan"),
    "buffer-shape": (_array("optimizer/0/momentum_buffer", lambda a: a.ravel()), "shape"),
    "unexpected-entry": (_array("evil", np.zeros(3)), "unexpected entry"),
    "no-settings": (_set(["metadata"], {}), "records no run settings"),
    "setting-float-seed": (_set(["metadata", "config", "seed"], 1.5), "recorded --seed"),
    "setting-inf-lr": (_set(["metadata", "config", "lr"], math.inf), "recorded --lr"),
    "setting-huge-layers": (
        _set(["metadata", "config", "layers"], "64-99999999999-10"),
        "recorded --layers 64-99999999999-10 do not fit",
    ),
    "other-data": (_set(["metadata", "data"], "0" * 32), "training data differs"),
}


def rewrite(src, dst, edit) -> None:
    """Copy the checkpoint ``src`` to ``dst`` with ``edit(header, arrays)`` applied."""
    with np.load(src) as npz:
        arrays = {k: npz[k] for k in npz.files}
    header = json.loads(arrays.pop("state").tobytes())
    edit(header, arrays)
    text = json.dumps(header)  # Infinity and NaN written as JSON's non-standard literals
    arrays["state"] = np.frombuffer(text.encode(), dtype=np.uint8)
    np.savez(dst, **arrays)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_checkpoint_gives_one_line(name, tmp_path, run_dir):
    edit, fragment = HOSTILE[name]
    bad = tmp_path / f"{name}.npz"
    rewrite(run_dir / "checkpoint.npz", bad, edit)
    # A sound file whose settings cannot be used is a usage error (2); a damaged one is 1.
    code = 2 if name in ("no-settings", "other-data") else 1
    args = ["train", "--resume", str(bad), "--out", "{tmp}/o", "--quiet"]
    run_case(Case(name, args, code, fragment, absent=["o"]), tmp_path)


def test_the_good_checkpoint_resumes(tmp_path, run_dir):
    """The control of the table above: the untouched rewrite resumes fine."""
    copy = tmp_path / "same.npz"
    rewrite(run_dir / "checkpoint.npz", copy, lambda header, arrays: None)
    proc = cli("train", "--resume", copy, "--out", tmp_path / "o", "--epochs", "3", "--json")
    assert proc.returncode == 0, proc.stderr
    assert last_json(proc.stdout)["epochs_run"] == 3
