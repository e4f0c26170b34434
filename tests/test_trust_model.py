"""Trust cases of saved models and the data they read (issue 9, items 1, 2, 3, 6, 7).

Each case is a command line or a call, the exit code and message a user must
get, and the files that must not be left behind. Where a case used to give a
wrong answer with exit code 0, the test checks the right answer (an accuracy
equal to the training pipeline's), not only that nothing crashes.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

import tracegrad as tg
from conftest import shared_data_dir
from tracegrad import datasets, io, nn, training
from tracegrad.tensor import Tensor
from trust import Case, assert_absent, assert_clean_refusal, cli, last_json, run_case

PIXELS = [f"p{i}" for i in range(64)]


def _strict_json(text: str):
    """Parse JSON as a standard reader does: NaN and Infinity are not JSON."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def _write_csv(path, header, rows):
    lines = [",".join(header)] if header else []
    lines += [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def _label_first(ds):
    """Rows of a digits Dataset as ``label,p0..p63`` (the label before the features)."""
    return [[int(t), *(int(v) for v in x)] for x, t in zip(ds.X, ds.y, strict=True)]


def _train(tmp, *args):
    proc = cli("train", "--epochs", "6", "--json", "--quiet", *args, cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return last_json(proc.stdout)


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("digits")
    return tmp / "run", _train(tmp, "--out", str(tmp / "run"))


@pytest.fixture(scope="module")
def label_first_run(tmp_path_factory):
    """A model trained by the CLI on digits written as ``label,p0..p63``."""
    tmp = tmp_path_factory.mktemp("labelfirst")
    path = _write_csv(tmp / "digits.csv", ["label", *PIXELS], _label_first(datasets.digits()))
    return tmp / "run", path, _train(tmp, "--dataset", str(path), "--out", str(tmp / "run"))


def _accuracy(rows) -> float:
    return float(np.mean([r["class"] == r["true_class"] for r in rows]))


# -- 1. the input scaling is part of the saved model ------------------------------------------


def test_every_path_of_a_loaded_model_gives_the_training_accuracy(digits_run, tmp_path):
    run, metrics = digits_run
    _, test = datasets.load("digits", seed=0)  # the split train made (seed 0)
    m = tg.load(run)
    assert isinstance(m[0], nn.Normalization) and m.scaler is None
    # Raw rows on every path: the same answers as train's scaler + network, to the bit.
    assert float(np.mean(training.predict(m, test.X) == test.y)) == metrics["test_accuracy"]
    assert training.evaluate(m, test.X, test.y)["accuracy"] == metrics["test_accuracy"]
    direct = m(Tensor(test.X)).data.argmax(axis=1)
    assert float(np.mean(direct == test.y)) == metrics["test_accuracy"]
    ev = last_json(cli("evaluate", run, "--json").stdout)
    assert ev["accuracy"] == metrics["test_accuracy"] and ev["dataset"] == "digits"
    np.save(tmp_path / "rows.npy", test.X)
    rows = _strict_json(cli("predict", run, tmp_path / "rows.npy", "--json").stdout)
    assert float(np.mean([r["label"] for r in rows] == test.y)) == metrics["test_accuracy"]


def test_normalization_has_no_parameters_and_passes_gradients():
    rng = np.random.default_rng(0)
    layer = nn.Normalization(rng.normal(size=4), rng.uniform(0.5, 2, size=4))
    assert layer.parameters() == [] and layer.n_features == 4
    x = rng.normal(size=(3, 4))
    result = tg.gradcheck(lambda t: nn.Normalization(layer.offset, layer.scale)(t), [x])
    assert result.passed, result.summary()
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, requires_grad=True)
    ((xt - torch.tensor(layer.offset)) / torch.tensor(layer.scale)).pow(2).sum().backward()
    t = Tensor(x, requires_grad=True)
    (layer(t) ** 2).sum().backward()
    np.testing.assert_allclose(t.grad, xt.grad.numpy(), rtol=1e-6)


def test_an_old_file_with_a_separate_scaler_keeps_it(tmp_path):
    """Format 1 kept ``scaler/offset`` beside the weights: loading makes it the first layer."""
    rng = np.random.default_rng(0)
    X = rng.normal(5, 3, size=(40, 4)).astype(np.float32)
    net = nn.MLP([4, 6, 3], "tanh", rng=0)
    scaler = datasets.Scaler("standard").fit(X)
    header = {
        "format": "tracegrad-model",
        "version": 1,
        "model": {"type": "MLP", "config": net.get_config()},
        "dtype": "float32",
        "class_names": ["a", "b", "c"],
        "scaler": {"kind": "standard"},
        "metadata": {},
    }
    arrays = {f"weights/{k}": v for k, v in net.state_dict().items()}
    arrays.update({"scaler/offset": scaler.offset_, "scaler/scale": scaler.scale_})
    arrays["config"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(tmp_path / "old.npz", **arrays)
    m = tg.load(tmp_path / "old.npz")
    assert isinstance(m[0], nn.Normalization)
    np.testing.assert_array_equal(
        training.predict_proba(m, X), training.predict_proba(net, scaler.transform(X))
    )


# -- 2. predict and evaluate read files by the training rules --------------------------------


def test_predict_on_a_label_first_csv_gives_the_training_accuracy(label_first_run, tmp_path):
    run, path, metrics = label_first_run
    full = datasets.load_file(path)
    _, test = datasets.load(path, seed=0)  # the test part train held out
    test_csv = _write_csv(tmp_path / "test.csv", ["label", *PIXELS], _label_first(test))
    rows = _strict_json(cli("predict", run, test_csv, "--json").stdout)
    assert _accuracy(rows) == metrics["test_accuracy"]  # it was 37%: a pixel read as label
    rows = _strict_json(cli("predict", run, path, "--json").stdout)
    assert _accuracy(rows) == training.evaluate(tg.load(run), full.X, full.y)["accuracy"]
    # Columns are taken by name: the label in the middle, features shuffled, same answers.
    order = list(np.random.default_rng(0).permutation(64))
    order.insert(30, -1)
    moved = [[row[0] if i < 0 else row[i + 1] for i in order] for row in _label_first(test)]
    names = ["label" if i < 0 else PIXELS[i] for i in order]
    moved_csv = _write_csv(tmp_path / "moved.csv", names, moved)
    moved_rows = _strict_json(cli("predict", run, moved_csv, "--json").stdout)
    test_rows = _strict_json(cli("predict", run, test_csv, "--json").stdout)
    assert moved_rows == test_rows
    # Without a header the label stands where it stood in training (first).
    plain = _write_csv(tmp_path / "plain.csv", None, _label_first(test))
    assert (
        _accuracy(_strict_json(cli("predict", run, plain, "--json").stdout))
        == (metrics["test_accuracy"])
    )
    text = cli("predict", run, test_csv).stdout.strip().splitlines()[-1]
    assert text == f"accuracy {metrics['test_accuracy']:.4f} on {test.n_samples} labelled rows"


def test_evaluate_defaults_to_the_training_data(label_first_run):
    run, path, metrics = label_first_run
    ev = last_json(cli("evaluate", run, "--json").stdout)  # it used to evaluate on digits
    assert ev["dataset"] == str(path) and ev["accuracy"] == metrics["test_accuracy"]


def _bad_tables(tmp):
    digits = datasets.digits()
    rows = _label_first(digits.take(np.arange(20)))
    _write_csv(tmp / "missing.csv", ["label", *PIXELS[:-1]], [r[:-1] for r in rows])
    _write_csv(tmp / "renamed.csv", ["label", "q0", *PIXELS[1:]], rows)
    _write_csv(tmp / "wide.csv", None, [[*r, 0] for r in rows])
    _write_csv(tmp / "cats.csv", ["label", *PIXELS], [["cat", *r[1:]] for r in rows])
    _write_csv(tmp / "ragged.csv", ["label", *PIXELS], rows[:5] + [rows[5][:-1]] + rows[6:])
    _write_csv(tmp / "three.csv", ["a", "b", "label"], [[1, 2, 0], [3, 4, 1], [5, 6, 1]])


PREDICT_REFUSALS = [
    Case("a feature column missing", ["predict", "{run}", "{tmp}/missing.csv"], 1, "p63"),
    Case("a feature renamed", ["predict", "{run}", "{tmp}/renamed.csv"], 1, "unexpected [q0]"),
    Case("one column too many", ["predict", "{run}", "{tmp}/wide.csv"], 1, "rows of 66 values"),
    Case("labels the model lacks", ["predict", "{run}", "{tmp}/cats.csv"], 1, "cat"),
    Case("a short row", ["predict", "{run}", "{tmp}/ragged.csv"], 1, "line 7 has 64 columns"),
    Case("three features", ["evaluate", "{run}", "--dataset", "{tmp}/three.csv"], 1, "2 features"),
]


@pytest.mark.parametrize("case", PREDICT_REFUSALS, ids=[c.id for c in PREDICT_REFUSALS])
def test_files_that_do_not_match_the_model_are_refused(case, label_first_run, tmp_path):
    _bad_tables(tmp_path)
    run_case(case, tmp_path, run=label_first_run[0])


# -- 3. the training data set is recorded, and other data refused -----------------------------


def test_an_mnist_model_refuses_fashion_mnist(tmp_path):
    data = shared_data_dir("mnist").parent
    run = tmp_path / "mnist"
    args = ["--dataset", "mnist", "--data-dir", data / "mnist", "--layers", "16"]
    metrics = _train(tmp_path, *args, "--epochs", "1", "--batch-size", "256", "--out", run)
    info = _strict_json(cli("info", run, "--json").stdout)
    assert info["trained_on"]["name"] == "mnist" and info["trained_on"]["n_features"] == 784
    ev = last_json(cli("evaluate", run, "--data-dir", data / "mnist", "--json").stdout)
    assert ev["dataset"] == "mnist" and ev["accuracy"] == metrics["test_accuracy"]
    proc = cli("evaluate", run, "--dataset", "fashion-mnist", "--data-dir", data / "fashion-mnist")
    assert_clean_refusal(proc, 1, "fashion-mnist has classes")  # it printed accuracy 0.0328
    assert "trained on mnist" in proc.stderr


def test_a_digits_model_refuses_data_with_other_features(digits_run):
    proc = cli("evaluate", digits_run[0], "--dataset", "moons")
    assert_clean_refusal(proc, 1, "moons has 2 features but the model was trained on digits")


# -- 6. non-finite values in model files are refused at load ----------------------------------


def _rewrite(path, change):
    arrays = dict(np.load(path))
    header = json.loads(arrays["config"].tobytes())
    change(arrays, header)
    # json.dumps writes NaN and Infinity, as a hand-made (or damaged) file may hold them.
    arrays["config"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def _entry(name, value):
    def change(arrays, header):
        arr = arrays[name].copy()
        arr.flat[0] = value
        arrays[name] = arr

    return change


def _slope(value):
    """A LeakyReLU layer between the scaling and the network, with the given slope."""

    def change(arrays, header):
        header["model"]["layers"].insert(1, {"type": "LeakyReLU", "negative_slope": value})
        for name in [k for k in arrays if k.startswith("weights/1.")]:
            arrays["weights/2." + name[len("weights/1.") :]] = arrays.pop(name)

    return change


def _header(key, value):
    def change(arrays, header):
        target = header
        *parents, last = key.split(".")
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        target[last] = value

    return change


NON_FINITE = {
    "NaN weight": (_entry("weights/1.0.weight", np.nan), "weight 1.0.weight holds NaN"),
    "inf bias": (_entry("weights/1.2.bias", np.inf), "weight 1.2.bias"),
    "NaN scale": (_entry("buffers/0.scale", np.nan), "buffer 0.scale"),
    "zero scale": (_entry("buffers/0.scale", 0.0), "buffer 0.scale"),
    "negative scale": (_entry("buffers/0.scale", -1.0), "must be positive"),
    "inf offset": (_entry("buffers/0.offset", np.inf), "buffer 0.offset"),
    "NaN LeakyReLU slope": (_slope(float("nan")), "negative_slope"),
    "NaN dropout": (_header("model.layers.1.config.dropout", float("nan")), "dropout"),
    "NaN in metadata": (_header("metadata.metrics.test_loss", float("nan")), "test_loss"),
    "11 class names": (_header("class_names", [str(i) for i in range(11)]), "11 classes"),
    "feature count": (_header("trained_on.n_features", 63), "trained_on.n_features"),
    "feature names": (_header("trained_on.feature_names", ["p0"]), "feature_names"),
    "label position": (_header("trained_on.label_index", 65), "label_index"),
    "Infinity as a size": (_header("model.layers.1.config.sizes", [64, 1e999, 10]), "sizes"),
}


@pytest.mark.parametrize("case", list(NON_FINITE))
def test_non_finite_or_inconsistent_files_are_refused_at_load(case, digits_run, tmp_path):
    change, fragment = NON_FINITE[case]
    path = tmp_path / "model.npz"
    path.write_bytes((digits_run[0] / "model.npz").read_bytes())
    _rewrite(path, change)
    with pytest.raises(io.ModelFileError) as info:
        tg.load(path)
    assert str(path) in str(info.value) and fragment in str(info.value)
    np.save(tmp_path / "rows.npy", np.zeros((2, 64), dtype=np.float32))
    assert_clean_refusal(cli("predict", path, tmp_path / "rows.npy", "--json"), 1, fragment)


def test_predict_json_never_prints_nan(digits_run, tmp_path):
    np.save(tmp_path / "huge.npy", np.full((2, 64), 3e38, dtype=np.float32))
    proc = cli("predict", digits_run[0], tmp_path / "huge.npy", "--json")
    assert proc.stdout == "" or _strict_json(proc.stdout)  # valid JSON, or a refusal
    assert_clean_refusal(proc, 1, "not finite")


def test_saving_refuses_what_loading_would_refuse(tmp_path):
    net = nn.MLP([3, 4, 2], rng=0)
    net.linears[0].weight.data[0, 0] = np.nan
    with pytest.raises(ValueError, match="weight 0.weight holds NaN"):
        io.save(net, tmp_path / "m.npz")
    with pytest.raises(ValueError, match="scale of feature 1"):
        nn.Normalization([0.0, 0.0], [1.0, 0.0])
    assert list(tmp_path.iterdir()) == []


# -- 7. labels and rows -------------------------------------------------------------------------


def _label_files(tmp):
    rng = np.random.default_rng(0)
    X = np.round(rng.normal(size=(200, 3)), 4)
    side = X[:, 0] > 0

    def table(name, labels, extra_row=None, header=("a", "b", "c", "label")):
        rows = [[*x, lab] for x, lab in zip(X, labels, strict=True)]
        if extra_row is not None:
            rows[5] = extra_row(rows[5])
        _write_csv(tmp / name, header, rows)

    table("e19.csv", np.where(side, "1e19", "2e19"))
    table("p53.csv", np.where(side, 2**53, 2**53 + 1))
    table("wide.csv", side.astype(int), lambda r: [*r, 7])
    table("short.csv", side.astype(int), lambda r: r[:-1])
    table("empty.csv", side.astype(int), lambda r: [*r[:-1], ""])
    table("one.csv", np.full(200, 3))
    data = np.column_stack([X, np.where(side, 2**24, 2**24 + 2)]).astype(np.float32)
    np.save(tmp / "f32.npy", data)


LABEL_CASES = [
    Case("row with an extra column", ["train", "--dataset", "wide.csv"], 1, "line 7 has 5", ["o"]),
    Case(
        "row with a missing column", ["train", "--dataset", "short.csv"], 1, "line 7 has 3", ["o"]
    ),
    Case("empty label", ["train", "--dataset", "empty.csv"], 1, "line 7 has an empty label", ["o"]),
    Case("one class", ["train", "--dataset", "one.csv"], 1, "single class ('3')", ["o"]),
    Case("float32 labels past 2^24", ["train", "--dataset", "f32.npy"], 1, "2^24 or more", ["o"]),
]


@pytest.mark.parametrize("case", LABEL_CASES, ids=[c.id for c in LABEL_CASES])
def test_bad_labels_and_rows_are_refused_before_training(case, tmp_path):
    _label_files(tmp_path)
    run_case(replace(case, args=[*case.args, "--out", "o", "--epochs", "1"]), tmp_path)
    assert_absent(tmp_path, ["o", "runs"])


@pytest.mark.parametrize(
    "name, classes",
    [
        ("e19.csv", ["10000000000000000000", "20000000000000000000"]),
        ("p53.csv", ["9007199254740992", "9007199254740993"]),
    ],
)
def test_huge_integer_labels_stay_distinct(name, classes, tmp_path):
    _label_files(tmp_path)
    metrics = _train(tmp_path, "--dataset", name, "--out", "o")
    assert tg.load(tmp_path / "o").class_names == classes  # they merged into one class
    assert metrics["test_accuracy"] > 0.8  # the labels follow the sign of column a


def test_encode_labels_is_exact():
    from tracegrad.datasets.files import encode_labels

    y, names = encode_labels(np.array(["3", "3.0", "10", " 9 ", "2e1"]))
    assert names == ["3", "9", "10", "20"] and y.tolist() == [0, 0, 2, 1, 3]
    y, names = encode_labels(np.array([2**64 - 1, 2**63], dtype=np.uint64))
    assert names == [str(2**63), str(2**64 - 1)]
    for bad, fragment in [(["1", "nan"], "non-integer"), (["1", ""], "empty label")]:
        with pytest.raises(ValueError, match=fragment):
            encode_labels(np.array(bad))
    with pytest.raises(ValueError, match="too large"):
        encode_labels(np.array([1.0, 2.0**53]))
    with pytest.raises(ValueError, match="too large"):
        encode_labels(np.array(["1", "1e999999999"]))
