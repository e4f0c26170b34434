"""Tests for tracegrad.datasets: generated sets, real data, files, splits, scaling, batches."""

import gzip
import hashlib
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tracegrad import datasets
from tracegrad.datasets import (
    Batches,
    CorruptDatasetError,
    Dataset,
    DatasetNotFoundError,
    DownloadError,
    Scaler,
    idx,
    idx_sets,
)
from tracegrad.datasets.download import download_file

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
MNIST_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
GENERATORS = [datasets.xor, datasets.moons, datasets.circles, datasets.spirals, datasets.blobs]


def needs_data():
    if not DATA.is_dir():
        pytest.skip(f"real data directory {DATA} is absent (shared/data next to the repository)")


@pytest.fixture(scope="module")
def mnist_sets():
    needs_data()
    return datasets.load("mnist", data_dir=DATA)


@pytest.fixture(scope="module")
def fashion_sets():
    needs_data()
    return datasets.load("fashion_mnist", data_dir=DATA)


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No TRACEGRAD_DATA and an empty cache, so the user's real setup cannot leak in."""
    monkeypatch.delenv("TRACEGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def write_idx(path, array, magic=None):
    """Write ``array`` (uint8) as a gzipped IDX file; return its size and SHA-256."""
    array = np.asarray(array, dtype=np.uint8)
    head = struct.pack(">HBB", 0, 8, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    if magic is not None:
        head = struct.pack(">I", magic) + head[4:]
    path.write_bytes(gzip.compress(head + array.tobytes()))
    return path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest()


# --- generated sets ---------------------------------------------------------------------


@pytest.mark.parametrize("make", GENERATORS)
def test_generated_shapes_dtypes_and_balance(make):
    ds = make(n_samples=301, seed=1)
    assert ds.X.shape == (301, 2) and ds.X.dtype == np.float32
    assert ds.y.shape == (301,) and ds.y.dtype == np.int64
    counts = ds.class_counts()
    assert counts.sum() == 301 and counts.max() - counts.min() <= 1
    assert len(ds.class_names) == ds.n_classes and ds.image_shape is None


@pytest.mark.parametrize("make", GENERATORS)
def test_generated_reproducible_from_seed_or_generator(make):
    a, b = make(seed=3), make(rng=np.random.default_rng(3))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.X, make(seed=4).X)


@pytest.mark.parametrize("make", GENERATORS)
def test_generated_sets_are_learnable(make):
    # A nearest-neighbour check that labels follow the geometry (not shuffled apart from X).
    from sklearn.neighbors import KNeighborsClassifier

    train, test = datasets.train_test_split(make(n_samples=900, seed=0), 0.3, seed=0)
    knn = KNeighborsClassifier(5).fit(train.X, train.y)
    assert knn.score(test.X, test.y) > 0.9


def test_generated_geometry_without_noise():
    ds = datasets.xor(noise=0.0)
    np.testing.assert_array_equal(ds.y, (ds.X[:, 0] * ds.X[:, 1] < 0).astype(int))
    ds = datasets.circles(noise=0.0, factor=0.3)
    radius = np.hypot(ds.X[:, 0], ds.X[:, 1])
    np.testing.assert_allclose(radius, np.where(ds.y == 0, 1.0, 0.3), atol=1e-6)
    assert datasets.spirals(n_classes=2).n_classes == 2
    assert datasets.blobs(centers=[[0, 0], [5, 5], [0, 5], [5, 0]]).n_classes == 4


def test_randomness_arguments_are_checked():
    with pytest.raises(ValueError, match="not both"):
        datasets.moons(rng=np.random.default_rng(0), seed=1)
    with pytest.raises(TypeError, match="default_rng"):
        datasets.moons(rng=42)
    with pytest.raises(ValueError, match="noise"):
        datasets.moons(noise=-1)


# --- Dataset validation -----------------------------------------------------------------


def test_dataset_errors_name_problem_and_fix():
    with pytest.raises(ValueError, match=r"\(100, 28, 28\).*reshape\(len\(X\), -1\)"):
        Dataset(np.zeros((100, 28, 28)), np.zeros(100, dtype=int))
    with pytest.raises(ValueError, match="3 labels"):
        Dataset(np.zeros((4, 2)), np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="NaN or infinite.*row 1"):
        Dataset(np.array([[0.0, 1.0], [np.nan, 2.0]]), [0, 1])
    with pytest.raises(TypeError, match="integer class labels"):
        Dataset(np.zeros((2, 2)), [0.5, 1.0])
    with pytest.raises(ValueError, match="out of range for 2 class names"):
        Dataset(np.zeros((3, 2)), [0, 1, 2], class_names=["a", "b"])
    ds = Dataset(np.ones((3, 4), dtype=np.float64), [0, 2, 1])
    assert ds.X.dtype == np.float32 and ds.class_names == ["0", "1", "2"]


# --- bundled and real data --------------------------------------------------------------


def test_digits():
    ds = datasets.digits()
    assert (ds.n_samples, ds.n_features, ds.n_classes) == (1797, 64, 10)
    assert ds.image_shape == (8, 8) and ds.X.dtype == np.float32
    assert ds.X.min() == 0 and ds.X.max() == 16


def test_mnist(mnist_sets):
    train, test = mnist_sets
    assert train.X.shape == (60000, 784) and train.X.dtype == np.float32
    assert train.y.dtype == np.int64 and train.image_shape == (28, 28)
    assert train.X.min() == 0 and train.X.max() == 255
    assert train.class_counts().tolist() == MNIST_TRAIN_COUNTS
    assert test.n_samples == 10000 and test.class_counts().tolist() == MNIST_TEST_COUNTS
    assert train.class_names == [str(d) for d in range(10)]


def test_fashion_mnist(fashion_sets):
    train, test = fashion_sets
    assert train.name == "fashion-mnist" and train.X.shape == (60000, 784)
    assert train.class_counts().tolist() == [6000] * 10
    assert test.class_counts().tolist() == [1000] * 10
    assert train.class_names[0] == "T-shirt/top" and train.class_names[9] == "Ankle boot"


def test_environment_variable_and_subfolder(monkeypatch):
    needs_data()
    monkeypatch.setenv("TRACEGRAD_DATA", str(DATA))
    assert datasets.mnist(split="test").n_samples == 10000


def test_cache_dir_honours_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert idx_sets.cache_dir("mnist") == tmp_path / "tracegrad" / "mnist"


def test_missing_files_error_lists_dirs_names_and_fixes(no_env, tmp_path):
    with pytest.raises(DatasetNotFoundError) as info:
        datasets.mnist()
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    for name in ["train-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]:
        assert name in message
    for fix in ["--data-dir", "TRACEGRAD_DATA", "--download"]:
        assert fix in message
    assert str(tmp_path / "cache" / "tracegrad" / "mnist") in message


def test_wrong_data_set_in_folder_is_named():
    needs_data()
    with pytest.raises(CorruptDatasetError, match="it is the mnist file"):
        datasets.fashion_mnist(DATA / "mnist", split="test")


def test_sha256_is_cached_per_path_mtime_and_size(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"abc")
    first = idx.sha256_of(path)
    assert first == hashlib.sha256(b"abc").hexdigest()
    path.write_bytes(b"xyz")
    os.utime(path, ns=(1, 1))  # a new mtime: the cached digest must not be reused
    assert idx.sha256_of(path) == hashlib.sha256(b"xyz").hexdigest()


# --- corrupt IDX files ------------------------------------------------------------------


def test_truncated_gzip_is_rejected(tmp_path):
    needs_data()
    data = (DATA / "mnist" / "t10k-labels-idx1-ubyte.gz").read_bytes()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptDatasetError, match="t10k-labels-idx1-ubyte.gz.*truncated"):
        idx.read_idx(tmp_path / "t10k-labels-idx1-ubyte.gz")
    for name in ["t10k-images-idx3-ubyte.gz"]:
        (tmp_path / name).write_bytes((DATA / "mnist" / name).read_bytes())
    with pytest.raises(CorruptDatasetError, match="t10k-labels-idx1-ubyte.gz"):
        datasets.mnist(tmp_path, split="test")


def test_short_payload_and_bad_magic_are_rejected(tmp_path):
    path = tmp_path / "images.gz"
    write_idx(path, np.zeros((3, 4, 4)))
    assert idx.read_idx(path, idx.IMAGES_MAGIC).shape == (3, 4, 4)
    good = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(good[:-5]))
    with pytest.raises(CorruptDatasetError, match="images.gz.*promises"):
        idx.read_idx(path)
    write_idx(path, np.zeros((3, 4, 4)), magic=1234)
    with pytest.raises(CorruptDatasetError, match="magic number 1234.*expected 2051"):
        idx.read_idx(path, idx.IMAGES_MAGIC)


# --- download, offline ------------------------------------------------------------------


@pytest.fixture
def fake_mirror(tmp_path, monkeypatch):
    """A tiny MNIST-shaped set behind a file:// mirror, with the checksum table patched."""
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    rng = np.random.default_rng(0)
    table = {}
    for split, n in [("train", 20), ("test", 10)]:
        images, labels = idx_sets.SPLIT_FILES[split]
        table[images] = write_idx(mirror / images, rng.integers(0, 256, (n, 28, 28)))
        table[labels] = write_idx(mirror / labels, np.arange(n) % 10)
    monkeypatch.setitem(idx_sets.CHECKSUMS, "mnist", table)
    dead = (tmp_path / "no-such-mirror").as_uri() + "/"
    monkeypatch.setitem(idx_sets.MIRRORS, "mnist", [dead, mirror.as_uri() + "/"])
    return mirror


def test_download_falls_back_to_next_mirror(fake_mirror, tmp_path):
    target = tmp_path / "data"
    train = datasets.mnist(target, split="train", download=True)
    assert train.X.shape == (20, 784)
    assert sorted(p.name for p in target.iterdir()) == sorted(idx_sets.SPLIT_FILES["train"])


def test_download_replaces_a_damaged_file(fake_mirror, tmp_path):
    target = tmp_path / "data"
    target.mkdir()
    (target / "t10k-labels-idx1-ubyte.gz").write_bytes(b"garbage")
    assert datasets.mnist(target, split="test", download=True).n_samples == 10


def test_download_checksum_mismatch_leaves_nothing(fake_mirror, tmp_path):
    dest = tmp_path / "out" / "t10k-labels-idx1-ubyte.gz"
    url = (fake_mirror / dest.name).as_uri()
    with pytest.raises(DownloadError, match="expected 0000"):
        download_file([url], dest, sha256="0" * 64, progress=False)
    assert list(dest.parent.iterdir()) == []


# --- user files -------------------------------------------------------------------------


def test_npy_round_trip_remaps_labels(tmp_path):
    X = np.arange(12, dtype=np.float32).reshape(6, 2)
    labels = np.array([9, 3, 5, 3, 9, 5])
    np.save(tmp_path / "d.npy", np.column_stack([X, labels]))
    ds = datasets.load_file(tmp_path / "d.npy")
    np.testing.assert_array_equal(ds.X, X)
    assert ds.class_names == ["3", "5", "9"] and ds.y.tolist() == [2, 0, 1, 0, 2, 1]
    first = datasets.load_file(tmp_path / "d.npy", label_column=0)
    assert first.n_features == 2 and first.n_classes == 6


def test_npz_round_trip_and_pickle_rejected(tmp_path):
    X, y = np.random.default_rng(0).normal(size=(5, 3)), np.array([0, 1, 1, 0, 1])
    np.savez(tmp_path / "d.npz", X=X, y=y, class_names=np.array(["no", "yes"]))
    ds = datasets.load_file(tmp_path / "d.npz")
    np.testing.assert_allclose(ds.X, X, rtol=1e-6)
    assert ds.class_names == ["no", "yes"] and ds.y.tolist() == y.tolist()
    np.savez(tmp_path / "evil.npz", X=np.array([{"a": 1}] * 5, dtype=object), y=y)
    with pytest.raises(ValueError, match="never unpickles"):
        datasets.load_file(tmp_path / "evil.npz")
    np.savez(tmp_path / "bad.npz", features=X)
    with pytest.raises(ValueError, match=r"\['features'\] but needs X and y"):
        datasets.load_file(tmp_path / "bad.npz")


def test_csv_with_header_and_text_labels(tmp_path):
    path = tmp_path / "iris.csv"
    path.write_text("a,b,species\n1,2,virginica\n3,4,setosa\n5,6,virginica\n")
    ds = datasets.load_file(path, label_column="species")
    assert ds.X.tolist() == [[1, 2], [3, 4], [5, 6]]
    assert ds.class_names == ["setosa", "virginica"] and ds.y.tolist() == [1, 0, 1]
    path.write_text("f1;label;f2\n1;10;2\n3;9;4\n")  # 'label' found by name, ';' detected
    ds = datasets.load_file(path)
    assert ds.X.tolist() == [[1, 2], [3, 4]] and ds.class_names == ["9", "10"]


def test_csv_without_header_uses_last_column(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("0.5,1.5,cat\n2.5,3.5,dog\n")
    ds = datasets.load_file(path)
    assert ds.X.tolist() == [[0.5, 1.5], [2.5, 3.5]] and ds.class_names == ["cat", "dog"]


def test_csv_errors_name_the_file(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("x,y\n1.5,0.5\n2.5,1\n")
    with pytest.raises(ValueError, match="non-integer label 0.5"):
        datasets.load_file(path)
    path.write_text("a,label\nhello,1\n2,0\n")
    with pytest.raises(ValueError, match="bad.csv.*must hold numbers"):
        datasets.load_file(path)
    with pytest.raises(ValueError, match="unsupported file type '.txt'"):
        datasets.load_file(tmp_path / "data.txt")


# --- splits and load() ------------------------------------------------------------------


def test_stratified_split_keeps_proportions():
    y = np.repeat([0, 1, 2, 3], [700, 200, 98, 2])
    ds = Dataset(np.arange(1000, dtype=np.float32)[:, None], y)
    train, test = datasets.train_test_split(ds, 0.2, seed=0)
    # 19.6 and 0.4 exact shares: the rare class keeps one test sample, the total stays 200
    assert test.class_counts().tolist() == [140, 40, 19, 1]
    assert train.class_counts().tolist() == [560, 160, 79, 1]
    together = np.concatenate([train.X[:, 0], test.X[:, 0]])
    np.testing.assert_array_equal(np.sort(together), ds.X[:, 0])
    again, _ = datasets.train_test_split(ds, 0.2, seed=0)
    other, _ = datasets.train_test_split(ds, 0.2, seed=1)
    np.testing.assert_array_equal(again.X, train.X)
    assert not np.array_equal(other.X, train.X)
    assert datasets.train_test_split(ds, 50, seed=0)[1].n_samples == 50
    with pytest.raises(ValueError, match="test_size=1.5"):
        datasets.train_test_split(ds, 1.5)


def test_load_generated_and_files(tmp_path):
    train, test = datasets.load("moons", seed=7, n_samples=500)
    assert (train.n_samples, test.n_samples) == (400, 100)
    np.testing.assert_array_equal(datasets.load("moons", seed=7, n_samples=500)[1].X, test.X)
    train, test = datasets.load("digits")
    assert train.n_samples + test.n_samples == 1797
    path = tmp_path / "t.csv"
    path.write_text("".join(f"{i},{i % 2}\n" for i in range(10)))
    assert sum(part.n_samples for part in datasets.load(path, test_size=0.3)) == 10
    with pytest.raises(ValueError, match="mnist, fashion-mnist, digits"):
        datasets.load("imagenet")
    assert {"xor", "moons", "circles", "spirals", "blobs"} <= set(datasets.available())


# --- scaling ----------------------------------------------------------------------------


def test_scaler_uses_training_statistics_only():
    rng = np.random.default_rng(0)
    train = rng.normal(10, 2, size=(500, 3)).astype(np.float32)
    train[:, 2] = 4.0  # a constant feature must not be divided by zero
    test = rng.normal(-5, 7, size=(100, 3))
    scaler = Scaler("standard").fit(train)
    np.testing.assert_allclose(scaler.offset_, train.mean(axis=0), rtol=1e-5)
    out = scaler.transform(test)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[:, :2], (test[:, :2] - train.mean(0)[:2]) / train.std(0)[:2],
                               rtol=1e-4)  # fmt: skip
    assert scaler.scale_[2] == 1.0


@pytest.mark.parametrize("kind", ["standard", "minmax", "max", "none"])
def test_scaler_round_trips_through_npz(kind, tmp_path):
    X = np.random.default_rng(1).integers(0, 256, size=(50, 6)).astype(np.float32)
    scaler = Scaler(kind).fit(X)
    np.savez(tmp_path / "s.npz", **scaler.to_dict())
    with np.load(tmp_path / "s.npz", allow_pickle=False) as saved:
        restored = Scaler.from_dict(dict(saved))
    assert restored.kind == kind
    np.testing.assert_array_equal(restored.transform(X), scaler.transform(X))
    if kind == "minmax":
        out = scaler.transform(X)
        assert out.min() == 0 and out.max() == 1
    if kind == "max":
        assert np.all(scaler.scale_ == X.max())


def test_scaler_errors():
    with pytest.raises(RuntimeError, match="not fitted"):
        Scaler().transform(np.zeros((2, 3)))
    scaler = Scaler().fit(np.ones((4, 3)))
    with pytest.raises(ValueError, match="fitted on 3 features.*5 features"):
        scaler.transform(np.zeros((2, 5)))
    with pytest.raises(ValueError, match="standard, minmax, max, none"):
        Scaler("robust")


# --- minibatches ------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 300), batch_size=st.integers(1, 70), seed=st.integers(0, 2**32 - 1))
def test_batches_cover_each_sample_once_per_epoch(n, batch_size, seed):
    X = np.arange(n, dtype=np.float32)[:, None]
    batches = Batches(X, np.arange(n), batch_size, rng=np.random.default_rng(seed))
    epochs = []
    for _ in range(2):
        pairs = list(batches)
        assert len(pairs) == len(batches) == -(-n // batch_size)
        assert all(len(yb) == batch_size for _, yb in pairs[:-1])
        assert all(xb.dtype == np.float32 and np.array_equal(xb[:, 0], yb) for xb, yb in pairs)
        order = np.concatenate([yb for _, yb in pairs])
        np.testing.assert_array_equal(np.sort(order), np.arange(n))
        epochs.append(order)
    if n >= 10:  # two equal permutations of 10+ items: odds below 1 in 3 million
        assert not np.array_equal(epochs[0], epochs[1])


def test_batches_options():
    X, y = np.zeros((10, 2), dtype=np.float32), np.arange(10)
    assert [len(yb) for _, yb in Batches(X, y, 4, drop_last=True)] == [4, 4]
    assert [yb.tolist() for _, yb in Batches(X, y, 6, shuffle=False)] == [
        list(range(6)), list(range(6, 10))
    ]  # fmt: skip
    xb, _ = next(iter(Batches(X, y, 3)))
    xb += 1  # a batch is a copy: changing it leaves the data set alone
    assert X.sum() == 0
    with pytest.raises(ValueError, match="at least 1"):
        Batches(X, y, 0)


def test_import_is_light():
    # Measured against the parent package, so only what datasets itself pulls in counts.
    code = (
        "import sys, tracegrad; before = set(sys.modules); import tracegrad.datasets; "
        "new = set(sys.modules) - before; print('sklearn' in new, 'tqdm' in new)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
