"""Every CLI command end to end in a subprocess, on small data, and its bad-input behaviour."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import shared_data_dir


def run(*args, cwd=None, check=False):
    env = dict(os.environ)
    proc = subprocess.run(
        [sys.executable, "-m", "tracegrad", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=600,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr}")
    return proc


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    proc = run("train", "--epochs", "8", "--out", str(out), "--json", "--quiet", check=True)
    return out, last_json(proc.stdout)


def test_train_default_digits_writes_everything(digits_run):
    out, metrics = digits_run
    assert metrics["test_accuracy"] >= 0.93
    for name in (
        "model.npz",
        "history.csv",
        "learning_curves.png",
        "confusion_matrix.png",
        "metrics.json",
    ):
        assert (out / name).is_file(), name
    rows = (out / "history.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + metrics["epochs_run"]
    assert (out / "learning_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in out.iterdir() if p.name.startswith(".") or p.suffix == ".tmp"]


def test_train_without_options_shows_progress_and_accuracy(tmp_path):
    proc = run("train", "--epochs", "2", cwd=tmp_path, check=True)
    assert "test accuracy" in proc.stdout
    runs = list((tmp_path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "model.npz").is_file()


def test_evaluate_info_and_predict(digits_run, tmp_path):
    out, metrics = digits_run
    ev = last_json(run("evaluate", str(out), "--dataset", "digits", "--json", check=True).stdout)
    assert ev["accuracy"] == pytest.approx(metrics["test_accuracy"], abs=1e-9)
    info = run("info", str(out / "model.npz"), check=True).stdout
    assert "parameters" in info and "0.weight" in info
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = digits.data[:5].astype(np.float32)
    np.save(tmp_path / "rows.npy", rows)
    pred = last_json(
        run("predict", str(out), str(tmp_path / "rows.npy"), "--json", check=True).stdout
    )
    assert len(pred) == 5
    assert sum(p["label"] == t for p, t in zip(pred, digits.target[:5], strict=True)) >= 4
    np.savetxt(tmp_path / "rows.csv", rows, delimiter=",")
    pred_csv = last_json(
        run("predict", str(out), str(tmp_path / "rows.csv"), "--json", check=True).stdout
    )
    assert [p["label"] for p in pred_csv] == [p["label"] for p in pred]


def test_predict_png_digit(digits_run, tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    out, _ = digits_run
    digits = load_digits()
    hits = 0
    for i in range(10):
        # Dark digit on white, 32x32, as a user would draw it.
        img = 255 - (digits.images[i] / 16 * 255).astype(np.uint8)
        Image.fromarray(img).resize((32, 32), Image.Resampling.NEAREST).save(tmp_path / f"{i}.png")
        pred = last_json(
            run("predict", str(out), str(tmp_path / f"{i}.png"), "--json", check=True).stdout
        )
        hits += pred[0]["label"] == digits.target[i]
    assert hits >= 6


def test_gradcheck_and_trace_commands():
    proc = run("gradcheck", "--layers", "4-5-3", "--json", check=True)
    assert last_json(proc.stdout)["relative_difference"] < 1e-8
    assert "relative difference" in run("gradcheck", check=True).stdout
    assert "0.298371109" in run("trace", "mazur", check=True).stdout


@pytest.mark.parametrize("dataset", ["xor", "moons", "circles", "spirals", "blobs"])
def test_train_2d_sets_draws_decision_boundary(dataset, tmp_path):
    proc = run(
        "train",
        "--dataset",
        dataset,
        "--epochs",
        "3",
        "--out",
        str(tmp_path),
        "--json",
        "--quiet",
        check=True,
    )
    floor = 0.35 if dataset == "spirals" else 0.8  # three epochs: well above chance
    assert last_json(proc.stdout)["test_accuracy"] >= floor
    assert (tmp_path / "decision_boundary.png").is_file()


def test_train_csv_file_and_every_optimizer(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] > 0).astype(int)
    path = tmp_path / "data.csv"
    lines = ["a,b,c,label"] + [f"{a},{b},{c},{t}" for (a, b, c), t in zip(X, y, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    for opt in ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "lbfgs"]:
        proc = run(
            "train",
            "--dataset",
            str(path),
            "--optimizer",
            opt,
            "--epochs",
            "3",
            "--out",
            str(tmp_path / opt),
            "--json",
            "--quiet",
        )
        assert proc.returncode == 0, f"{opt}: {proc.stderr}"


def test_mnist_train_short(tmp_path):
    data = shared_data_dir("mnist")
    proc = run(
        "train",
        "--dataset",
        "mnist",
        "--data-dir",
        str(data),
        "--layers",
        "64",
        "--epochs",
        "1",
        "--batch-size",
        "128",
        "--out",
        str(tmp_path),
        "--json",
        "--quiet",
        check=True,
    )
    assert last_json(proc.stdout)["test_accuracy"] > 0.9
    assert (tmp_path / "first_layer_weights.png").is_file()


BAD = [
    (["train", "--epochs", "0"], 2, "--epochs"),
    (["train", "--lr", "-0.1"], 2, "--lr"),
    (["train", "--layers", "64-x-10"], 2, "--layers"),
    (["train", "--layers", "0-3"], 2, "--layers"),
    (["train", "--dataset", "nosuchset"], 1, "unknown data set"),
    (["train", "--dataset", "mnist", "--data-dir", "/nonexistent"], 1, "train-images"),
    (["train", "--optimizer", "magic"], 2, "--optimizer"),
    (["train", "--no-such-option"], 2, "unrecognized"),
    (["info", "/nonexistent/model.npz"], 1, "no model file"),
]


@pytest.mark.parametrize("args, code, words", BAD, ids=[" ".join(b[0]) for b in BAD])
def test_bad_input_exits_with_one_line(args, code, words, tmp_path):
    proc = run(*args, "--out", str(tmp_path / "out")) if args[0] == "train" else run(*args)
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Warning" not in proc.stderr, proc.stderr
    assert words in lines[0] and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "model.npz").exists()


def test_bad_data_files_exit_with_one_line(tmp_path, digits_run):
    out, _ = digits_run
    nan = tmp_path / "nan.csv"
    nan.write_text("a,b,label\n1,2,0\nnan,3,1\n4,5,1\n")
    labels = tmp_path / "labels.npy"
    np.save(labels, np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.5]]))
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.ones((2, 10), dtype=np.float32))
    for args in (
        ["train", "--dataset", str(nan), "--out", str(tmp_path / "o1")],
        ["train", "--dataset", str(labels), "--out", str(tmp_path / "o2")],
        ["predict", str(out), str(wrong)],
    ):
        proc = run(*args)
        assert proc.returncode == 1, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not (tmp_path / "o1" / "model.npz").exists()


def test_help_on_every_command():
    for cmd in ["train", "evaluate", "predict", "gradcheck", "info", "trace"]:
        proc = run(cmd, "--help", check=True)
        assert "examples:" in proc.stdout


def test_resume_from_checkpoint_matches_uninterrupted_run(tmp_path):
    common = ["--epochs", "4", "--json", "--quiet", "--layers", "32"]
    full = last_json(run("train", *common, "--out", str(tmp_path / "full"), check=True).stdout)
    run(
        "train",
        "--epochs",
        "2",
        "--json",
        "--quiet",
        "--layers",
        "32",
        "--out",
        str(tmp_path / "part"),
        check=True,
    )
    resumed = last_json(
        run(
            "train",
            *common,
            "--out",
            str(tmp_path / "resumed"),
            "--resume",
            str(tmp_path / "part" / "checkpoint.npz"),
            check=True,
        ).stdout
    )
    assert resumed["epochs_run"] == 4
    assert resumed["test_loss"] == full["test_loss"]
    a = (tmp_path / "full" / "history.csv").read_text()
    b = (tmp_path / "resumed" / "history.csv").read_text()
    assert a.splitlines()[-1].split(",")[:3] == b.splitlines()[-1].split(",")[:3]
