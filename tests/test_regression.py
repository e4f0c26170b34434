"""Regression end to end (issue 11, part 2): train, evaluate and predict in the targets' units.

Real runs of the CLI on a ``make_regression`` file (a linear target, so least squares
gives the best R² there is) and on the generated ``sine`` set (compared with
scikit-learn's MLPRegressor), the refusals of options that contradict regression,
and the universal-approximation demo's numbers.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

import tracegrad as tg
from tracegrad import datasets, training
from tracegrad.experiment import Config, load_data
from tracegrad.regression import TargetScaling
from trust import Case, assert_absent, cli, last_json, run_case


def _write_regression_csv(path, n=400, noise=5.0):
    from sklearn.datasets import make_regression

    X, y = make_regression(n_samples=n, n_features=5, noise=noise, random_state=0)
    y = 3 * y + 100  # far from zero mean and unit scale: the target scaling must undo this
    header = "a,b,c,d,e,target"
    np.savetxt(path, np.column_stack([X, y]), delimiter=",", header=header, comments="")
    return path


@pytest.fixture(scope="module")
def linear_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("linear")
    data = _write_regression_csv(tmp / "linear.csv")
    run = tmp / "run"
    proc = cli("train", "--task", "regression", "--dataset", data, "--out", run, "--json",
               "--quiet", "--no-plots", cwd=tmp)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return data, run, last_json(proc.stdout)


def test_linear_target_reaches_least_squares_r2(linear_run):
    data, _, metrics = linear_run
    assert metrics["task"] == "regression" and "test_accuracy" not in metrics
    # The closed form on the same split: ordinary least squares with an intercept.
    train, test = datasets.load_targets(data, seed=0)
    A = np.column_stack([train.X, np.ones(len(train.X))])
    coef, *_ = np.linalg.lstsq(A, train.y, rcond=None)
    pred = np.column_stack([test.X, np.ones(len(test.X))]) @ coef
    best = training.regression_scores(test.y, pred)
    assert best["r2"] > 0.99  # the target is linear up to noise
    assert metrics["test_r2"] > best["r2"] - 0.01
    assert metrics["n_test"] == len(test.y)
    # The reported scores are those of the definitions, in the file's units.
    assert metrics["test_rmse"] >= metrics["test_mae"] > 0
    assert metrics["test_rmse"] < 2 * best["rmse"]


def test_predict_and_load_give_the_training_pipeline_in_target_units(linear_run, tmp_path):
    data, run, metrics = linear_run
    rows = np.loadtxt(data, delimiter=",", skiprows=1)[:25]
    # The training pipeline by hand: scaler fitted on the training part, the network,
    # then the training targets' mean and standard deviation.
    train, _, _, scaler = load_data(Config(task="regression", dataset=str(data)))
    target = TargetScaling(train.y)
    model = tg.load(run)
    assert np.allclose(model.layers[0].offset, scaler.to_dict()["offset"])
    mlp = model.layers[1]
    z = training.metrics.outputs(mlp, scaler.transform(rows[:, :5].astype(np.float32)))
    expected = (z * target.std + target.mean)[:, 0]
    assert np.abs(expected).max() > 50  # in the file's units, not standardized ones
    np.testing.assert_allclose(training.predict(model, rows[:, :5]), expected, rtol=1e-5)
    np.testing.assert_allclose(model(rows[:, :5].astype(np.float32)).data[:, 0], expected,
                               rtol=1e-5)  # fmt: skip
    # The CLI, on raw rows with their target column (read as numbers, not classes).
    csv = tmp_path / "rows.csv"
    np.savetxt(csv, rows, delimiter=",", header="a,b,c,d,e,target", comments="")
    proc = cli("predict", run, csv, "--json")
    assert proc.returncode == 0, proc.stderr
    answer = last_json(proc.stdout)
    np.testing.assert_allclose([r["value"] for r in answer], expected, rtol=1e-5)
    np.testing.assert_allclose([r["true_value"] for r in answer], rows[:, 5], rtol=1e-6)
    text = cli("predict", run, csv)
    assert text.returncode == 0 and "R2 " in text.stdout.splitlines()[-1]


def test_evaluate_scores_the_held_out_part_again(linear_run):
    _, run, metrics = linear_run
    proc = cli("evaluate", run, "--json")
    assert proc.returncode == 0, proc.stderr
    result = last_json(proc.stdout)
    assert result["n"] == metrics["n_test"]
    for key in ("r2", "rmse", "mae"):
        assert result[key] == pytest.approx(metrics[f"test_{key}"], rel=1e-6)
    # Python's evaluate scores regression models without a loss function.
    model = tg.load(run)
    _, test = datasets.load_targets(model.trained_on["source"], seed=0)
    report = training.evaluate(model, test.X, test.y)
    assert report["r2"] == pytest.approx(metrics["test_r2"], rel=1e-6)
    assert last_json(cli("info", run, "--json").stdout)["task"] == "regression"


def test_sine_fits_and_draws_its_curve(tmp_path):
    run = tmp_path / "sine"
    proc = cli("train", "--task", "regression", "--dataset", "sine", "--out", run, "--json",
               "--quiet", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    metrics = last_json(proc.stdout)
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    train, test = datasets.load_targets("sine", seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = make_pipeline(
            StandardScaler(),
            MLPRegressor(hidden_layer_sizes=(32, 32), max_iter=2000, random_state=0),
        ).fit(train.X, train.y.ravel())
    assert metrics["test_r2"] > 0.9
    assert metrics["test_r2"] > theirs.score(test.X, test.y.ravel()) - 0.02
    for name in ("fit.png", "predicted_vs_true.png", "learning_curves.png"):
        assert (run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name


def test_several_target_columns_train_and_predict_rows_of_values(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = np.column_stack([X @ [1.0, -2.0, 0.5] + 10, 100 * X[:, 0]])
    np.savez(tmp_path / "two.npz", X=X, y=y)
    run = tmp_path / "run"
    proc = cli("train", "--task", "regression", "--dataset", tmp_path / "two.npz", "--out", run,
               "--json", "--quiet", "--no-plots", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert last_json(proc.stdout)["test_r2"] > 0.95
    np.save(tmp_path / "rows.npy", X[:4])
    answer = last_json(cli("predict", run, tmp_path / "rows.npy", "--json").stdout)
    values = np.array([r["value"] for r in answer])
    assert values.shape == (4, 2)
    np.testing.assert_allclose(values, training.predict(tg.load(run), X[:4]), rtol=1e-6)


def test_python_run_records_the_task_and_resumes(tmp_path):
    config = Config(task="regression", dataset="sine", epochs=3, out=str(tmp_path / "r"),
                    quiet=True, plots=False)  # fmt: skip
    result = tg.experiment.run(config, progress=False)
    assert result.metrics["task"] == "regression"
    assert tg.load(tmp_path / "r").metadata["config"]["loss"] == "mse"  # regression's default
    proc = cli("train", "--resume", tmp_path / "r", "--epochs", "5", "--json", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert last_json(proc.stdout)["epochs_run"] == 5


REFUSALS = [
    Case("continuous labels under classification", ["train", "--dataset", "{tmp}/linear.csv",
         "--out", "{tmp}/o"], 1, "--task regression", ["o"]),
    Case("whole-number targets under classification", ["train", "--dataset",
         "{tmp}/counts.csv", "--out", "{tmp}/o"], 1, "--task regression", ["o"]),
    Case("cross entropy with regression", ["train", "--task", "regression", "--loss",
         "cross_entropy", "--dataset", "sine", "--out", "{tmp}/o"], 2, "--loss mse", ["o"]),
    Case("softmax output with regression", ["train", "--task", "regression", "--output",
         "softmax", "--dataset", "sine", "--out", "{tmp}/o"], 2, "--output identity", ["o"]),
    Case("a classification set", ["train", "--task", "regression", "--dataset", "digits",
         "--out", "{tmp}/o"], 1, "classification data set", ["o"]),
    Case("the sine set as classes", ["train", "--dataset", "sine", "--out", "{tmp}/o"], 1,
         "--task regression", ["o"]),
    Case("text targets", ["train", "--task", "regression", "--dataset", "{tmp}/text.csv",
         "--out", "{tmp}/o"], 1, "not a number", ["o"]),
    Case("unknown task", ["train", "--task", "ranking"], 2, "invalid choice"),
    Case("demo picture suffix", ["demo", "universal", "--output", "{tmp}/fits.txt"], 2,
         "picture suffix", ["fits.txt"]),
    Case("demo empty width", ["demo", "universal", "--units", "1,,4"], 2, "whole numbers"),
]  # fmt: skip


@pytest.mark.parametrize("case", REFUSALS, ids=lambda c: c.id)
def test_refusals_are_one_line_and_leave_nothing(case, tmp_path):
    _write_regression_csv(tmp_path / "linear.csv", n=60)
    (tmp_path / "counts.csv").write_text(
        "a,target\n" + "".join(f"{i},{3 * i}\n" for i in range(80))
    )
    (tmp_path / "text.csv").write_text("a,b,target\n" + "1,2,big\n3,4,small\n" * 20)
    run_case(case, tmp_path)


def test_universal_demo_fits_better_with_more_units(tmp_path):
    out = tmp_path / "ua.png"
    proc = cli("demo", "universal", "--units", "1,2,4,8", "--iterations", "500", "--output", out,
               "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    fits = json.loads(proc.stdout.strip().splitlines()[-1])["fits"]
    assert [f["units"] for f in fits] == [1, 2, 4, 8]
    mse = [f["mse"] for f in fits]
    assert all(a > b for a, b in zip(mse, mse[1:], strict=False)), mse
    # 8 units reach the noise floor (noise std 0.1: MSE 0.01); one unit is a single step.
    assert mse[-1] < 0.015 and mse[0] > 10 * mse[-1], mse
    assert_absent(tmp_path, ["ua.png.tmp"])


def test_denormalization_passes_gradients_as_torch_does():
    from tracegrad.tensor import Tensor

    rng = np.random.default_rng(0)
    layer = tg.nn.Denormalization(rng.normal(size=2), rng.uniform(0.5, 2, size=2))
    assert layer.parameters() == []
    z = rng.normal(size=(3, 2))
    result = tg.gradcheck(lambda t: tg.nn.Denormalization(layer.offset, layer.scale)(t), [z])
    assert result.passed, result.summary()
    torch = pytest.importorskip("torch")
    zt = torch.tensor(z, requires_grad=True)
    (zt * torch.tensor(layer.scale) + torch.tensor(layer.offset)).pow(2).sum().backward()
    t = Tensor(z, requires_grad=True)
    (layer(t) ** 2).sum().backward()
    np.testing.assert_allclose(t.grad, zt.grad.numpy(), rtol=1e-6)


@pytest.mark.parametrize("value", [0.0, -1.0, np.nan])
def test_a_tampered_target_scale_is_refused_on_load(linear_run, tmp_path, value):
    _, run, _ = linear_run
    with np.load(run / "model.npz", allow_pickle=False) as f:
        arrays = dict(f)
    assert "buffers/2.scale" in arrays  # the saved Sequential's last layer
    arrays["buffers/2.scale"] = np.full_like(arrays["buffers/2.scale"], value)
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="buffer 2.scale"):
        tg.load(tmp_path / "bad.npz")
    proc = cli("predict", tmp_path / "bad.npz", tmp_path / "bad.npz")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
