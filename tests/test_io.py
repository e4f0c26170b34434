"""Model files: exact round trips, and refusal of every kind of bad file."""

import json
import os
import pickle

import numpy as np
import pytest

from tracegrad import io, nn
from tracegrad.datasets import Scaler
from tracegrad.tensor import Tensor


def _mlp(dtype=np.float32, activation="tanh", output="identity", dropout=0.0):
    return nn.MLP([5, 7, 6, 3], activation, output, rng=0, dropout=dropout, dtype=dtype)


def _assert_same(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for name in sa:
        assert sa[name].dtype == sb[name].dtype, name
        assert sa[name].tobytes() == sb[name].tobytes(), name  # bit for bit


def _predictions(model, X):
    model.eval()
    return model(Tensor(X.astype(model.parameters()[0].dtype))).data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "softplus"])
def test_mlp_round_trip_is_exact(tmp_path, rng, dtype, activation):
    model = _mlp(dtype, activation, dropout=0.1)
    X = rng.normal(size=(20, 5))
    path = io.save(model, tmp_path / "net.npz", metadata={"accuracy": np.float32(0.75)})
    loaded = io.load(path)
    assert type(loaded) is nn.MLP and loaded.get_config() == model.get_config()
    assert loaded.parameters()[0].dtype == dtype
    _assert_same(model, loaded)
    np.testing.assert_array_equal(_predictions(loaded, X), _predictions(model, X))
    assert loaded.scaler is None and loaded.class_names is None
    assert loaded.metadata == {"accuracy": 0.75}


@pytest.mark.parametrize("output", ["identity", "softmax", "sigmoid", "log_softmax"])
@pytest.mark.parametrize("with_extras", [False, True])
def test_outputs_scaler_and_class_names_round_trip(tmp_path, rng, output, with_extras):
    model = _mlp(output=output)
    scaler = Scaler("standard").fit(rng.normal(3, 2, size=(30, 5))) if with_extras else None
    names = ["cat", "dog", "émeu"] if with_extras else None
    io.save(model, tmp_path, scaler=scaler, class_names=names)  # a directory: model.npz inside
    assert (tmp_path / "model.npz").is_file()
    loaded = io.load(tmp_path)
    assert loaded.class_names == names and loaded.scaler is None
    X = rng.normal(3, 2, size=(4, 5)).astype(np.float32)
    if with_extras:  # the scaler is the first layer: the loaded model takes raw rows
        norm, net = loaded
        assert isinstance(norm, nn.Normalization) and norm.kind == "standard"
        assert norm.offset.tobytes() == scaler.offset_.tobytes()
        assert norm.scale.tobytes() == scaler.scale_.tobytes()
        _assert_same(model, net)
        np.testing.assert_array_equal(
            _predictions(loaded, X), _predictions(model, scaler.transform(X))
        )
    else:
        _assert_same(model, loaded)
        np.testing.assert_array_equal(_predictions(loaded, X), _predictions(model, X))


def test_sequential_round_trip(tmp_path, rng):
    model = nn.Sequential(
        nn.Linear(4, 6, rng=1, dtype=np.float64),
        nn.LeakyReLU(0.2),
        nn.Dropout(0.3),
        nn.Linear(6, 2, bias=False, rng=2, dtype=np.float64),
        nn.Softmax(axis=-1),
    )
    loaded = io.load(io.save(model, tmp_path / "seq"))  # .npz is appended
    assert (tmp_path / "seq.npz").is_file()
    assert [type(m) for m in loaded] == [type(m) for m in model]
    assert loaded[1].negative_slope == 0.2 and loaded[2].p == 0.3 and loaded[3].bias is None
    _assert_same(model, loaded)
    X = rng.normal(size=(3, 4))
    np.testing.assert_array_equal(_predictions(loaded, X), _predictions(model, X))


def test_unsupported_modules_are_refused_when_saving(tmp_path):
    class Custom(nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(TypeError, match="cannot save a Custom"):
        io.save(nn.Sequential(nn.Linear(2, 2), Custom()), tmp_path / "m.npz")
    with pytest.raises(TypeError, match="build it with a name"):
        io.save(nn.MLP([2, 3, 2], activation=nn.ReLU()), tmp_path / "m.npz")
    io.load(io.save(nn.MLP([2, 3, 2], activation="Leaky-ReLU"), tmp_path / "ok.npz"))
    (tmp_path / "ok.npz").unlink()
    assert list(tmp_path.iterdir()) == []


# -- bad files -------------------------------------------------------------------------------


def _load_error(path) -> str:
    with pytest.raises(io.ModelFileError) as info:
        io.load(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    # No chained internals: a user sees one line, not a NumPy or zipfile traceback.
    err = info.value
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)
    return message


class _Marker:
    """Unpickling this creates the marker file: proof that loading ran code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_pickle_is_never_unpickled(tmp_path):
    marker = tmp_path / "marker"
    path = tmp_path / "model.npz"
    path.write_bytes(pickle.dumps(_Marker(marker)))
    assert "pickle" in _load_error(path)
    assert not marker.exists()


def test_a_pickled_entry_inside_the_archive_is_never_unpickled(tmp_path):
    marker = tmp_path / "marker"
    path = io.save(_mlp(), tmp_path / "model.npz")
    arrays = dict(np.load(path))
    arrays["weights/0.bias"] = np.array([_Marker(marker)], dtype=object)
    np.savez(path, **arrays)
    assert "pickle" in _load_error(path)
    assert not marker.exists()


@pytest.mark.parametrize("keep", [0, 10, 200, 0.5, -30])
def test_truncated_files(tmp_path, keep):
    data = io.save(_mlp(), tmp_path / "good.npz").read_bytes()
    n = int(len(data) * keep) if isinstance(keep, float) else keep % len(data)
    path = tmp_path / "cut.npz"
    path.write_bytes(data[:n])
    _load_error(path)


def test_random_bytes_and_a_bare_npy(tmp_path, rng):
    path = tmp_path / "noise.npz"
    path.write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _load_error(path)
    path.write_bytes(b"PK\x03\x04" + rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    _load_error(path)
    npy = tmp_path / "array.npz"
    with open(npy, "wb") as f:
        np.save(f, np.zeros(3))
    assert ".npy" in _load_error(npy)


def test_compressed_entries_are_refused(tmp_path):
    path = io.save(_mlp(), tmp_path / "model.npz")
    np.savez_compressed(path, **dict(np.load(path)))  # a deflated entry could be a zip bomb
    assert "compressed" in _load_error(path)


def _rewrite(path, change):
    """Apply ``change(arrays, header)`` to a saved model file, as a hand-crafted file would."""
    arrays = dict(np.load(path))
    header = json.loads(arrays["config"].tobytes())
    original = arrays["config"]
    change(arrays, header)
    if arrays.get("config") is original:  # the change edited the JSON, not the entry
        arrays["config"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    np.savez(path, **arrays)


def _set(key, value):
    def change(arrays, header):
        target = header
        *parents, last = key.split(".")
        for part in parents:
            target = target[part]
        target[last] = value

    return change


def _deeply_nested():
    text = '{"format": "tracegrad-model", "version": 1, "model": ' + "[" * 9000 + "]" * 9000 + "}"
    return np.frombuffer(text.encode(), dtype=np.uint8)


BAD_FILES = {
    "missing weight": (lambda a, h: a.pop("weights/2.bias"), "missing weights"),
    "wrong shape": (lambda a, h: a.update({"weights/0.weight": np.zeros((5, 7), "f4")}), "shape"),
    "wrong dtype": (lambda a, h: a.update({"weights/0.bias": np.zeros(7, "f8")}), "float64"),
    "extra weight": (lambda a, h: a.update({"weights/9.weight": np.zeros(2, "f4")}), "9.weight"),
    "extra entry": (lambda a, h: a.update({"evil": np.zeros(2)}), "unexpected entries"),
    "no config": (lambda a, h: a.pop("config"), "config"),
    "bad json": (lambda a, h: a.update({"config": np.frombuffer(b"{nope", np.uint8)}), "JSON"),
    "config not uint8": (lambda a, h: a.update({"config": np.zeros(3, "f4")}), "JSON"),
    "not an object": (lambda a, h: h.clear(), "not a tracegrad model"),
    "newer version": (_set("version", 99), "upgrade"),
    "sizes not a list": (_set("model.config.sizes", "abc"), "sizes"),
    "sizes of bools": (_set("model.config.sizes", [True, 7, 6, 3]), "sizes"),
    "unknown activation": (_set("model.config.activation", "swish"), "swish"),
    "unknown model type": (_set("model.type", "Transformer"), "Transformer"),
    "dropout a string": (_set("model.config.dropout", "0.5"), "dropout"),
    "bad dtype": (_set("dtype", "object"), "dtype"),
    "class names not strings": (_set("class_names", [1, 2, 3]), "class_names"),
    "metadata a list": (_set("metadata", [1]), "metadata"),
    "scaler without arrays": (_set("scaler", {"kind": "standard"}), "scaler"),
    "huge network": (_set("model.config.sizes", [100_000, 100_000, 3]), "parameters"),
    "deep nesting": (lambda a, h: a.update({"config": _deeply_nested()}), "nested too deeply"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_hand_crafted_files_raise_one_line_errors(tmp_path, case):
    change, expected = BAD_FILES[case]
    path = io.save(_mlp(), tmp_path / "model.npz")
    _rewrite(path, change)
    assert expected in _load_error(path)


def test_unknown_layer_in_a_sequential(tmp_path):
    path = io.save(nn.Sequential(nn.Linear(2, 3), nn.ReLU()), tmp_path / "m.npz")
    _rewrite(path, _set("model.layers", [{"type": "Linear"}, {"type": "Conv2d"}]))
    assert "Linear" in _load_error(path)


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        io.load(tmp_path / "nothing.npz")


# -- atomic writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["savez", "replace"])
def test_a_failed_save_leaves_no_file_and_keeps_the_old_one(tmp_path, monkeypatch, where):
    path = io.save(_mlp(), tmp_path / "model.npz")
    old = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")

    if where == "savez":
        monkeypatch.setattr(np, "savez", boom)
    else:
        monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        io.save(_mlp(activation="relu"), path)
    with pytest.raises(OSError, match="disk full"):
        io.save(_mlp(), tmp_path / "new.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    assert path.read_bytes() == old
