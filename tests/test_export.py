"""Export: ONNX files give predict_proba's numbers in onnxruntime, safetensors files load
into the equivalent torch.nn.Sequential, and every refusal is one line with nothing written.

The references are tracegrad's own ``predict_proba``/``predict`` on raw rows and a torch
model built here by hand, never numbers copied from the exporter.
"""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

import tracegrad as tg
from tracegrad import datasets, training
from tracegrad.export import ExportError, flatten
from tracegrad.export import onnx as onnx_export
from tracegrad.export import safetensors as st_export
from tracegrad.layer_files import LAYERS
from tracegrad.nn import MLP, Normalization, Sequential
from tracegrad.nn.layers import ReLU
from tracegrad.nn.module import Module
from tracegrad.training.metrics import outputs
from trust import Case, assert_absent, assert_clean_refusal, cli, last_json

HIDDEN = ["relu", "sigmoid", "tanh", "leaky_relu", "softplus"]
# (output activation, outputs): logits of K classes, one logit, and the probability heads
HEADS = [("identity", 3), ("identity", 1), ("softmax", 3), ("sigmoid", 1), ("log_softmax", 3)]


def _model(activation="relu", output="identity", n_out=3, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    norm = Normalization(rng.normal(size=5).astype(dtype), rng.uniform(0.5, 3, 5).astype(dtype))
    mlp = MLP([5, 7, 6, n_out], activation, output, rng=seed, dropout=0.2, dtype=dtype)
    return Sequential(norm, mlp).eval()


def _rows(n=64, seed=1):
    # Raw rows on the scale of the data, negative and large values included.
    return np.random.default_rng(seed).normal(0, 4, size=(n, 5))


def _onnx_run(path, X):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (feed,) = session.get_inputs()
    dtype = np.float64 if feed.type == "tensor(double)" else np.float32
    return session.run(["probabilities", "label"], {feed.name: X.astype(dtype)})


def _torch_sequential(model):
    """The torch model a PyTorch user writes for ``model``, built independently of the exporter."""

    class TorchNormalization(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.register_buffer("offset", torch.zeros(n))
            self.register_buffer("scale", torch.ones(n))

        def forward(self, x):
            return (x - self.offset) / self.scale

    twins = {
        "ReLU": torch.nn.ReLU,
        "Sigmoid": torch.nn.Sigmoid,
        "Tanh": torch.nn.Tanh,
        "Softplus": torch.nn.Softplus,
        "Identity": torch.nn.Identity,
    }
    layers = []
    for _, m in flatten(model):
        kind = type(m).__name__
        if kind == "Normalization":
            layers.append(TorchNormalization(m.n_features))
        elif kind == "Linear":
            layers.append(torch.nn.Linear(m.in_features, m.out_features))
        elif kind == "LeakyReLU":
            layers.append(torch.nn.LeakyReLU(m.negative_slope))
        elif kind == "Dropout":
            layers.append(torch.nn.Dropout(m.p))
        elif kind in ("Softmax", "LogSoftmax"):
            layers.append(getattr(torch.nn, kind)(dim=m.axis))
        else:
            layers.append(twins[kind]())
    return torch.nn.Sequential(*layers)


# ---------------------------------------------------------------- hand-built models


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize(("output", "n_out"), HEADS)
def test_onnx_gives_predict_proba_on_raw_rows(tmp_path, activation, output, n_out):
    model = _model(activation, output, n_out)
    path = tg.export(model, tmp_path / "m.onnx")
    X = _rows()
    proba, label = _onnx_run(path, X)
    expected = training.predict_proba(model, X)
    assert proba.shape == expected.shape
    np.testing.assert_allclose(proba, expected, atol=1e-5, rtol=0)
    np.testing.assert_array_equal(label, training.predict(model, X))
    if n_out > 1 or output != "identity":
        assert np.all((proba >= 0) & (proba <= 1))


def test_onnx_batch_dimension_is_dynamic(tmp_path):
    model = _model()
    path = tg.export(model, tmp_path / "m.onnx")
    for n in (1, 3, 1000):
        proba, _ = _onnx_run(path, _rows(n))
        assert proba.shape == (n, 3)
    (feed,) = onnx.load(path).graph.input
    assert feed.name == "input" and feed.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


@pytest.mark.parametrize("activation", HIDDEN)
def test_float64_model_exports_in_float64(tmp_path, activation):
    model = _model(activation, dtype=np.float64)
    proba, _ = _onnx_run(tg.export(model, tmp_path / "m.onnx"), _rows())
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba, training.predict_proba(model, _rows()), atol=1e-8, rtol=0)


def test_dropout_is_left_out_of_the_onnx_graph(tmp_path):
    model = _model()
    assert any(type(m).__name__ == "Dropout" for _, m in model.named_modules())
    graph = onnx.load(tg.export(model, tmp_path / "m.onnx")).graph
    ops = [n.op_type for n in graph.node]
    assert "Dropout" not in ops and ops[:2] == ["Sub", "Div"] and ops.count("Gemm") == 3


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize(("output", "n_out"), HEADS)
def test_safetensors_load_strictly_into_the_torch_sequential(tmp_path, activation, output, n_out):
    model = _model(activation, output, n_out)
    path = tg.export(model, tmp_path / "m.safetensors")
    twin = _torch_sequential(model)
    twin.load_state_dict(load_file(str(path)), strict=True)
    twin.eval()
    X = _rows()
    with torch.no_grad():
        got = twin(torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_allclose(got, outputs(model, X), atol=1e-5, rtol=0)


def test_safetensors_keys_are_torch_sequential_names(tmp_path):
    model = (
        _model()
    )  # Normalization, Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear, Identity
    path = tg.export(model, tmp_path / "m.safetensors")
    with safe_open(str(path), "np") as f:
        keys = set(f.keys())
    assert keys == set(_torch_sequential(model).state_dict())
    assert {"0.offset", "0.scale", "1.weight", "1.bias", "7.weight", "7.bias"} <= keys


def test_the_torch_code_in_the_metadata_runs_and_matches(tmp_path, monkeypatch):
    model = _model("tanh", "identity", 3)
    path = tg.export(model, tmp_path / "m.safetensors", class_names=["a", "b", "c"])
    with safe_open(str(path), "np") as f:
        meta = f.metadata()
    assert json.loads(meta["class_names"]) == ["a", "b", "c"]
    monkeypatch.chdir(tmp_path)  # the code loads 'm.safetensors' from the working directory
    scope = {}
    exec(meta["torch_module"], scope)  # noqa: S102 - the code a user is told to run
    X = _rows()
    with torch.no_grad():
        logits = scope["model"](torch.from_numpy(X.astype(np.float32)))
        proba = torch.softmax(logits, dim=1).numpy()
    np.testing.assert_allclose(proba, training.predict_proba(model, X), atol=1e-5, rtol=0)
    assert "torch.softmax(model(x), dim=1)" in meta["probabilities"]


def test_every_layer_type_of_model_files_can_be_exported():
    # A layer added to the registry without an export rule fails here, not in a user's hands.
    assert set(LAYERS) <= set(onnx_export.SUPPORTED)
    assert set(LAYERS) <= set(st_export.SUPPORTED)


def test_format_comes_from_the_suffix(tmp_path):
    model = _model()
    assert onnx.load(tg.export(model, tmp_path / "a.ONNX")).graph.input[0].name == "input"
    tg.export(model, tmp_path / "b.bin", format="safetensors")
    with safe_open(str(tmp_path / "b.bin"), "np") as f:
        assert "1.weight" in f.keys()


# ---------------------------------------------------------------- refusals (Python)


class Square(Module):
    def forward(self, x):
        return x * x


class ShiftedReLU(ReLU):  # a subclass of a known layer is not that layer
    def forward(self, x):
        return super().forward(x) + 1


class Residual(Sequential):  # a container that does not simply chain its layers
    def forward(self, x):
        return super().forward(x) + x


@pytest.mark.parametrize("suffix", [".onnx", ".safetensors"])
@pytest.mark.parametrize("odd", [Square, ShiftedReLU, lambda: Residual(ReLU())])
def test_unsupported_layer_is_named_and_nothing_is_written(tmp_path, suffix, odd):
    target = tmp_path / f"m{suffix}"
    target.write_bytes(b"older file")
    layer = odd()
    model = Sequential(_model(), layer)
    with pytest.raises(ExportError, match=rf"layer 1 \({type(layer).__name__}\)"):
        tg.export(model, target)
    assert target.read_bytes() == b"older file"
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


@pytest.mark.parametrize(
    ("path", "fmt", "fragment"),
    [
        ("m.txt", None, "cannot tell the format"),
        ("m.onnx", "keras", "unknown export format 'keras'"),
        ("m.onnx", "safetensors", "named like a onnx file"),
        ("missing/m.onnx", None, "does not exist"),
    ],
)
def test_bad_paths_and_formats_are_refused(tmp_path, path, fmt, fragment):
    with pytest.raises(ExportError, match=fragment):
        tg.export(_model(), tmp_path / path, format=fmt)
    assert list(tmp_path.iterdir()) == []


def test_a_non_model_is_refused():
    with pytest.raises(ExportError, match="needs a tracegrad model"):
        tg.export(np.zeros(3), "m.onnx")


# ---------------------------------------------------------------- the CLI, on a digits run


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("export")
    proc = cli("train", "--epochs", "3", "--quiet", "--no-plots", "--out", tmp / "run", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp / "run"


def test_cli_onnx_of_a_digits_run_matches_tracegrad(digits_run, tmp_path):
    proc = cli("export", digits_run, "--format", "onnx", "--output", tmp_path / "d.onnx", "--json")
    assert_clean_refusal(proc, 0)
    assert last_json(proc.stdout)["format"] == "onnx"
    model = tg.load(digits_run / "model.npz")
    X = datasets.digits().X  # raw pixels 0..16: the scaling is inside the graph
    proba, label = _onnx_run(tmp_path / "d.onnx", X)
    np.testing.assert_allclose(proba, training.predict_proba(model, X), atol=1e-5, rtol=0)
    np.testing.assert_array_equal(label, training.predict(model, X))
    props = {p.key: p.value for p in onnx.load(tmp_path / "d.onnx").metadata_props}
    assert json.loads(props["class_names"]) == model.class_names
    assert json.loads(props["trained_on"])["n_features"] == 64


def test_cli_safetensors_of_a_digits_run_load_into_torch(digits_run, tmp_path):
    proc = cli("export", digits_run / "model.npz", "--output", tmp_path / "d.safetensors")
    assert_clean_refusal(proc, 0)
    assert "nn.Linear(64, " in proc.stdout and "load_state_dict" in proc.stdout
    model = tg.load(digits_run / "model.npz")
    twin = _torch_sequential(model)
    twin.load_state_dict(load_file(str(tmp_path / "d.safetensors")), strict=True)
    X = datasets.digits().X
    with torch.no_grad():
        got = torch.softmax(twin.eval()(torch.from_numpy(X.astype(np.float32))), dim=1).numpy()
    np.testing.assert_allclose(got, training.predict_proba(model, X), atol=1e-5, rtol=0)


def test_cli_default_output_is_beside_the_model(digits_run):
    proc = cli("export", digits_run, "--format", "onnx")
    assert_clean_refusal(proc, 0)
    assert (digits_run / "model.onnx").is_file()


EXPORT_CASES = [
    Case(
        "output inside a file", ["export", "{run}", "--output", "notes.npz/m.onnx"], 1, "is a file"
    ),
    Case(
        "missing directory",
        ["export", "{run}", "--output", "no/m.onnx"],
        1,
        "does not exist",
        ["no"],
    ),
    Case(
        "unknown format",
        ["export", "{run}", "--format", "keras", "--output", "m.k"],
        2,
        "invalid choice",
        ["m.k"],
    ),
    Case(
        "suffix of another format",
        ["export", "{run}", "--format", "onnx", "--output", "m.safetensors"],
        1,
        "named like a safetensors file",
        ["m.safetensors"],
    ),
    Case(
        "no format, unknown suffix",
        ["export", "{run}", "--output", "m.bin"],
        1,
        "cannot tell the format",
        ["m.bin"],
    ),
    Case("neither format nor output", ["export", "{run}"], 2, "pass --format"),
    Case(
        "output is a directory",
        ["export", "{run}", "--format", "onnx", "--output", "{tmp}"],
        1,
        "is a directory",
    ),
    Case(
        "non-model file", ["export", "notes.npz", "--output", "m.onnx"], 1, "notes.npz", ["m.onnx"]
    ),
    Case(
        "no such model",
        ["export", "nothing.npz", "--output", "m.onnx"],
        1,
        "no model file",
        ["m.onnx"],
    ),
]


@pytest.mark.parametrize("case", EXPORT_CASES, ids=lambda c: c.id)
def test_cli_refusals(case, digits_run, tmp_path):
    (tmp_path / "notes.npz").write_text("not a zip archive\n")
    args = [str(a).format(tmp=tmp_path, run=digits_run) for a in case.args]
    before = sorted(p.name for p in tmp_path.iterdir())
    proc = cli(*args, cwd=tmp_path)
    assert_clean_refusal(proc, case.code, case.fragment)
    assert_absent(tmp_path, case.absent)
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no temporary file either


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_torch_code_keeps_the_dtype_and_the_sigmoid_hint(tmp_path, monkeypatch, dtype):
    model = _model("softplus", "identity", 1, dtype=dtype)
    path = tg.export(model, tmp_path / "one.safetensors")
    with safe_open(str(path), "np") as f:
        meta = f.metadata()
    assert meta["probabilities"] == "torch.sigmoid(model(x))"
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(meta["torch_module"], scope)  # noqa: S102 - the code a user is told to run
    X = _rows()
    with torch.no_grad():
        proba = torch.sigmoid(scope["model"](torch.from_numpy(X.astype(dtype)))).numpy()
    assert proba.dtype == dtype
    atol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(proba, training.predict_proba(model, X), atol=atol, rtol=0)


@pytest.fixture
def regressor():
    """A regression model as ``train --task regression`` saves it: the targets' scaling last."""
    rng = np.random.default_rng(3)
    offset = rng.normal(50, 10, 2).astype(np.float32)
    head = tg.nn.Denormalization(offset, rng.uniform(1, 9, 2).astype(np.float32))
    return Sequential(_model("tanh", "identity", 2), head).eval()


def test_onnx_of_a_regressor_gives_its_values(tmp_path, regressor):
    path = tg.export(regressor, tmp_path / "r.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["predictions"]
    X = _rows()
    (got,) = session.run(None, {"input": X.astype(np.float32)})
    np.testing.assert_allclose(got, outputs(regressor, X), atol=1e-4, rtol=1e-6)


def test_safetensors_of_a_regressor_run_in_torch(tmp_path, monkeypatch, regressor):
    path = tg.export(regressor, tmp_path / "r.safetensors")
    with safe_open(str(path), "np") as f:
        meta, keys = f.metadata(), set(f.keys())
    assert {"0.offset", "0.scale", "9.offset", "9.scale"} <= keys
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(meta["torch_module"], scope)  # noqa: S102 - the code a user is told to run
    X = _rows()
    with torch.no_grad():
        got = scope["model"](torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_allclose(got, outputs(regressor, X), atol=1e-4, rtol=1e-6)


def test_tg_export_is_the_package_and_the_function(tmp_path):
    import importlib

    assert importlib.import_module("tracegrad.export.onnx") is onnx_export
    assert tg.export.ExportError is ExportError  # the package's names stay reachable
    path = tg.export(_model(), tmp_path / "m.onnx")  # ... and calling it exports
    assert onnx.load(path).graph.output[0].name == "probabilities"


def test_cli_onnx_of_a_regression_run_answers_in_the_targets_units(tmp_path):
    run = tmp_path / "run"
    args = ["train", "--dataset", "sine", "--task", "regression", "--epochs", "3"]
    proc = cli(*args, "--quiet", "--no-plots", "--out", run, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    proc = cli("export", run, "--format", "onnx", "--output", tmp_path / "s.onnx")
    assert proc.returncode == 0, proc.stderr
    model = tg.load(run)
    X = np.linspace(-3, 3, 41, dtype=np.float32)[:, None]
    session = ort.InferenceSession(str(tmp_path / "s.onnx"), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": X})
    want = training.predict(model, X).reshape(got.shape)
    assert np.ptp(want) > 0.5  # a fitted curve, not a constant
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=1e-5)
