"""Hostile files and sizes (issue 9, item 10): one line, at once, in little memory.

Each case builds its file in the test's folder (small on disk: the bombs are
deflated zeros or forged headers, see ``hostile_files``), then runs the CLI or
a reader in a child process. The child's address space is capped
(``RLIMIT_AS``) so that a regression fails instead of eating the machine, and
its file size too (``RLIMIT_FSIZE``), so a runaway download cannot fill the
disk; the child reports its own peak resident memory (``VmHWM``), which
must stay far below what the file declares. No wall-clock asserts: only a
generous timeout on the child.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import hostile_files as H
from conftest import shared_data_dir
from tracegrad import limits
from trust import Case, assert_absent, assert_clean_refusal, expand

AS_CAP = 1 << 30  # the child's address space: every bomb below declares more than this
FSIZE_CAP = 64 << 20  # the largest file the child may write
PEAK_MB = 150  # a refusal's peak resident memory (an idle child takes about 35 MB)

_CHILD = r"""
import atexit, os, resource, sys
for kind, cap in ((resource.RLIMIT_AS, "TRUST_AS_CAP"), (resource.RLIMIT_FSIZE, "TRUST_FSIZE")):
    resource.setrlimit(kind, (int(os.environ[cap]), int(os.environ[cap])))
def peak():
    # VmHWM is this program's own high-water mark; ru_maxrss would also count the
    # parent's memory, inherited through fork and exec.
    with open("/proc/self/status") as status:
        kb = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["TRUST_PEAK"], "w") as f:
        f.write(kb)
atexit.register(peak)
if sys.argv[1] == "cli":
    from tracegrad.cli import main
    sys.exit(main(sys.argv[2:]))
try:
    exec(sys.argv[2])
except Exception as err:
    print(f"{type(err).__name__}: {err}", file=sys.stderr)
    sys.exit(1)
"""


def run_bounded(tmp: Path, args, env=None, python=False, timeout=120):
    """Run ``tracegrad ARGS`` (or the Python code ``args[0]``) capped; (process, peak MB)."""
    peak = tmp / ".peak"
    full_env = dict(os.environ, TRUST_AS_CAP=str(AS_CAP), TRUST_FSIZE=str(FSIZE_CAP))
    # One BLAS thread: on a many-core machine each thread's buffers reserve address space.
    full_env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    full_env.update(TRUST_PEAK=str(peak), **(env or {}))
    mode = ["py", *args] if python else ["cli", *map(str, args)]
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, *mode],
        capture_output=True,
        text=True,
        cwd=tmp,
        env=full_env,
        timeout=timeout,
    )
    peak_mb = int(peak.read_text()) / 1024 if peak.exists() else float("nan")
    peak.unlink(missing_ok=True)
    return proc, peak_mb


@dataclass
class Hostile:
    """A Case with the file it needs: ``build(tmp)`` writes it; ``env`` sets limits."""

    case: Case
    build: object = None
    env: dict = field(default_factory=dict)
    python: bool = False


def write(name, make):
    def build(tmp):
        (tmp / name).write_bytes(make())

    return build


def train(name):
    return ["train", "--dataset", "{tmp}/" + name, "--epochs", "1", "--out", "{tmp}/run", "--quiet"]


def stored(name, array_or_bytes):
    data = array_or_bytes if isinstance(array_or_bytes, bytes) else H.npy_bytes(array_or_bytes)
    return {"name": name, "data": data}


MEMBER = H.npy_bytes(np.zeros((500, 784)))  # 3.1 MB, stored
Y = H.npy_bytes(np.zeros(500, dtype=np.int64))


def many_entries(n):
    """One stored member listed ``n`` times under one name, as in the 62-second case."""
    return H.zip_archive([stored("X.npy", MEMBER), stored("y.npy", Y)], [("X.npy", 0)] * n)


def zip64_count():
    """A directory of two entries whose end record claims 65,535."""
    data = H.zip_archive([stored("X.npy", MEMBER), stored("y.npy", Y)])
    return data[:-14] + b"\xff\xff\xff\xff" + data[-10:]  # the two counts of the end record


def forged_npy(shape, body=16, descr="<f8"):
    return lambda: H.npy_header(shape, descr) + bytes(body)


def long_line():
    return b"0," * (6 << 20) + b"1\n"  # one 12 MiB line


def long_label():
    rows = [f"{i % 7},{i % 2}" for i in range(1000)] + ["1," + "x" * 1000]
    return "\n".join(rows).encode()


def model_file(tmp):
    from tracegrad import io, nn

    io.save(nn.MLP([784, 16, 10]), tmp / "model.npz")


def with_model(name, make):
    def build(tmp):
        model_file(tmp)
        (tmp / name).write_bytes(make())

    return build


def model_with_forged_entry(tmp):
    model_file(tmp)
    arrays = dict(np.load(tmp / "model.npz"))
    entries = [stored(k + ".npy", v) for k, v in arrays.items()]
    entries[0] = stored(entries[0]["name"], forged_npy((10**9, 784))())
    (tmp / "model.npz").write_bytes(H.zip_archive(entries))


def model_with_padded_config(tmp):
    """A model whose JSON configuration is 2 MB of spaces, then the real one (valid JSON)."""
    model_file(tmp)
    arrays = dict(np.load(tmp / "model.npz"))
    arrays["config"] = np.concatenate([np.full(2 << 20, ord(" "), np.uint8), arrays["config"]])
    np.savez(tmp / "model.npz", **arrays)


CLI_CASES = [
    # --- data .npz given to --dataset
    Hostile(Case("npz-zip-bomb", train("b.npz"), 1, "over the limit", ["run"]),
            write("b.npz", lambda: H.npz_bomb((560000, 784)))),
    Hostile(Case("npz-bomb-lying-sizes", train("b.npz"), 1, "bad crc", ["run"]),
            write("b.npz", lambda: H.npz_bomb((170000, 784), declared_shape=(100, 784)))),
    Hostile(Case("npz-5000-entries", train("m.npz"), 1, "5,000 entries", ["run"]),
            write("m.npz", lambda: many_entries(5000))),
    Hostile(Case("npz-entry-twice", train("m.npz"), 1, "listed twice", ["run"]),
            write("m.npz", lambda: many_entries(1000))),
    Hostile(Case("npz-overlapping", train("o.npz"), 1, "overlap", ["run"]),
            write("o.npz", lambda: H.zip_archive(
                [stored("X.npy", MEMBER), stored("y.npy", Y)], [("X.npy", 0), ("y.npy", 0)]))),
    Hostile(Case("npz-bzip2-entry", train("z.npz"), 1, "compression method 12", ["run"]),
            write("z.npz", lambda: H.zip_archive(
                [{"name": "X.npy", "data": b"BZh9", "method": 12, "size": 1 << 30}]))),
    Hostile(Case("npz-count-lies", train("c.npz"), 1, "65,535 entries", ["run"]),
            write("c.npz", zip64_count)),
    Hostile(Case("npz-header-lies", train("h.npz"), 1, "truncated or forged", ["run"]),
            write("h.npz", lambda: H.zip_archive(
                [stored("X.npy", forged_npy((1000, 784), 100)()), stored("y.npy", Y)]))),
    # --- data .npy
    Hostile(Case("npy-forged-shape", train("f.npy"), 1, "over the limit", ["run"]),
            write("f.npy", forged_npy((10**9, 785)))),
    Hostile(Case("npy-truncated", train("t.npy"), 1, "truncated or forged", ["run"]),
            write("t.npy", forged_npy((1000, 785)))),
    Hostile(Case("npy-shape-wraps-int64", train("w.npy"), 1, "over the limit", ["run"]),
            write("w.npy", forged_npy((1 << 32, 1 << 32), descr="|u1"))),
    Hostile(Case("npy-negative-shape", train("n.npy"), 1, "negative shape", ["run"]),
            write("n.npy", forged_npy((-4, -4)))),
    # --- CSV
    Hostile(Case("csv-one-line", train("l.csv"), 1, "longer than 1,048,576 characters", ["run"]),
            write("l.csv", long_line)),
    Hostile(Case("csv-long-label", train("l.csv"), 1, "longer than 100 characters", ["run"]),
            write("l.csv", long_label)),
    Hostile(Case("csv-too-many-rows", train("r.csv"), 1, "TRACEGRAD_MAX_ARRAY_BYTES", ["run"]),
            write("r.csv", lambda: b"0.5,1\n" * 10_000), env={"TRACEGRAD_MAX_ARRAY_BYTES": "1M"}),
    Hostile(Case("limit-not-a-size", train("r.csv"), 1, "TRACEGRAD_MAX_ARRAY_BYTES='lots'"),
            write("r.csv", lambda: b"0.5,1\n1.5,0\n"), env={"TRACEGRAD_MAX_ARRAY_BYTES": "lots"}),
    # --- MNIST files: checked against their published size and SHA-256 first
    Hostile(Case("idx-bomb-in-data-dir", ["train", "--dataset", "mnist", "--data-dir", "{tmp}",
                                           "--epochs", "1", "--out", "{tmp}/run"],
                 1, "does not match the published file", ["run"]),
            lambda tmp: [(tmp / n).write_bytes(H.gzip_idx((10, 28, 28), 256 << 20)) for n in
                         ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")]),
    # --- model files
    Hostile(Case("model-5000-entries", ["info", "{tmp}/m.npz"], 1, "5,000 entries"),
            write("m.npz", lambda: many_entries(5000))),
    Hostile(Case("model-forged-entry", ["info", "{tmp}/model.npz"], 1, "over the limit"),
            model_with_forged_entry),
    Hostile(Case("model-deflate-bomb", ["info", "{tmp}/b.npz"], 1, "compressed entries"),
            write("b.npz", lambda: H.npz_bomb((560000, 784)))),
    Hostile(Case("model-huge-json", ["info", "{tmp}/model.npz"], 1, "TRACEGRAD_MAX_JSON_BYTES"),
            model_with_padded_config, env={"TRACEGRAD_MAX_JSON_BYTES": "1M"}),
    # --- images given to predict
    Hostile(Case("png-100000x100000", ["predict", "{tmp}/model.npz", "{tmp}/b.png"], 1,
                 "over the limit of 50,000,000 pixels"),
            with_model("b.png", lambda: H.png(100_000, 100_000, idat=b"x"))),
    Hostile(Case("png-9000x9000-rgba", ["predict", "{tmp}/model.npz", "{tmp}/b.png"], 1,
                 "9000x9000 pixels"),
            with_model("b.png", lambda: H.png(9000, 9000, colour=6))),
    Hostile(Case("predict-forged-npy", ["predict", "{tmp}/model.npz", "{tmp}/f.npy"], 1,
                 "over the limit"),
            with_model("f.npy", forged_npy((10**9, 784)))),
    Hostile(Case("predict-csv-third-line-long", ["predict", "{tmp}/model.npz", "{tmp}/l.csv"], 1,
                 "line 3 is longer than"),
            # two rows of the model's 784 features, then a 12 MiB line
            with_model("l.csv", lambda: (b"0," * 783 + b"1\n") * 2 + long_line())),
    Hostile(Case("predict-csv-one-line", ["predict", "{tmp}/model.npz", "{tmp}/l.csv"], 1,
                 "longer than 1,048,576 characters"),
            with_model("l.csv", long_line)),
    # --- gradcheck sizes
    Hostile(Case("gradcheck-samples", ["gradcheck", "--samples", "100000000"], 2,
                 "--samples must be between 1 and 1,000")),
    Hostile(Case("gradcheck-no-checks", ["gradcheck", "--max-checks", "0"], 2, "--max-checks")),
    Hostile(Case("gradcheck-huge-layers", ["gradcheck", "--layers", "100000-100000-10"], 2,
                 "more than the 100,000,000 this CPU library trains")),
]  # fmt: skip


@pytest.mark.parametrize("hostile", CLI_CASES, ids=[h.case.id for h in CLI_CASES])
def test_hostile_file_is_refused_in_one_line_in_little_memory(hostile, tmp_path):
    if hostile.build:
        hostile.build(tmp_path)
    assert all(p.stat().st_size < 16 << 20 for p in tmp_path.iterdir())  # small on disk
    proc, peak = run_bounded(tmp_path, expand(hostile.case.args, tmp=tmp_path), hostile.env)
    assert_clean_refusal(proc, hostile.case.code, hostile.case.fragment)
    assert_absent(tmp_path, hostile.case.absent)
    assert peak < PEAK_MB, f"the refusal used {peak:.0f} MB"


# --- readers called from Python ---------------------------------------------------------

READ_IDX = "from tracegrad.datasets import idx; idx.read_idx({path!r})"


def download(url, size):
    """Code that downloads ``url`` (a Python expression) expecting ``size`` bytes."""
    return (
        "import os\nfrom tracegrad.datasets.download import download_file\n"
        f"download_file([{url}], 'out/file.gz', '0' * 64, {size}, progress=False)"
    )


ZEROS_SERVER = """
import http.server, threading
class Zeros(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # no Content-Length: endless zeros until the client hangs up
        self.send_response(200)
        self.end_headers()
        try:
            while True:
                self.wfile.write(bytes(1 << 16))
        except OSError:
            pass
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Zeros)
server.handle_error = lambda *args: None  # the client hanging up is the point
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}/zeros"
"""

PY_CASES = [
    Hostile(Case("idx-gzip-bomb-2gb", [READ_IDX.format(path="b.gz")], 1, "or more bytes"),
            write("b.gz", lambda: H.gzip_idx((10, 28, 28), 2 << 30)), python=True),
    Hostile(Case("idx-header-promises-8gb", [READ_IDX.format(path="b.gz")], 1, "over the limit"),
            write("b.gz", lambda: H.gzip_idx((10**7, 28, 28), 1 << 20)), python=True),
    Hostile(Case("idx-dims-wrap-int64", [READ_IDX.format(path="w.gz")], 1, "over the limit"),
            write("w.gz", lambda: H.gzip_idx((65536,) * 4, 0, magic=0x0804)), python=True),
    Hostile(Case("idx-plain-truncated", [READ_IDX.format(path="t-idx3-ubyte")], 1, "promises"),
            write("t-idx3-ubyte", lambda: bytes.fromhex("00000803 0000ea60 0000001c 0000001c")
                  + bytes(10)),
            python=True),
    Hostile(Case("download-endless-stream", [ZEROS_SERVER + download("url", 1000)], 1,
                 "more than the 1000 bytes expected", ["out/file.gz"]),
            lambda tmp: (tmp / "out").mkdir(), python=True),
    Hostile(Case("download-unknown-size", [ZEROS_SERVER + download("url", None)], 1,
                 "MAX_DOWNLOAD_BYTES", ["out/file.gz"]),
            lambda tmp: (tmp / "out").mkdir(), env={"TRACEGRAD_MAX_DOWNLOAD_BYTES": "4M"},
            python=True),
    Hostile(Case("download-announced-too-big", [download("'file://' + os.path.abspath('big')",
                                                          None)], 1,
                 "announces 5242880 bytes, over the limit", ["out/file.gz"]),
            lambda tmp: [(tmp / "out").mkdir(), (tmp / "big").write_bytes(bytes(5 << 20))],
            env={"TRACEGRAD_MAX_DOWNLOAD_BYTES": "1M"}, python=True),
    Hostile(Case("download-dev-zero", [download("'file:///dev/zero'", 1000)], 1,
                 "announces 0 bytes, expected 1000", ["out/file.gz"]),
            lambda tmp: (tmp / "out").mkdir(), python=True),
]  # fmt: skip


@pytest.mark.parametrize("hostile", PY_CASES, ids=[h.case.id for h in PY_CASES])
def test_hostile_input_to_a_reader_is_refused_in_little_memory(hostile, tmp_path):
    hostile.build(tmp_path)
    assert all(p.stat().st_size < 16 << 20 for p in tmp_path.rglob("*") if p.is_file())
    proc, peak = run_bounded(tmp_path, hostile.case.args, hostile.env, python=True)
    assert_clean_refusal(proc, hostile.case.code, hostile.case.fragment)
    assert_absent(tmp_path, hostile.case.absent)
    assert peak < PEAK_MB, f"the refusal used {peak:.0f} MB"
    if hostile.case.id.startswith("download"):  # no partial file either, under any name
        assert list((tmp_path / "out").iterdir()) == []


def test_zip64_end_records_are_read(tmp_path, monkeypatch):
    import zipfile

    from tracegrad.bounded import FileLimitError, load_npz

    # zipfile writes zip64 end records past ZIP64_LIMIT, read when the archive is written.
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 100)
    X = np.arange(200.0).reshape(20, 10)
    np.savez(tmp_path / "d.npz", X=X, y=np.arange(20))
    assert b"PK\x06\x06" in (tmp_path / "d.npz").read_bytes()
    np.testing.assert_array_equal(load_npz(tmp_path / "d.npz")["X"], X)
    monkeypatch.setattr(limits, "MAX_ARCHIVE_ENTRIES", 1)
    with pytest.raises(FileLimitError, match="2 entries"):
        load_npz(tmp_path / "d.npz")


# --- the limits still admit real data ---------------------------------------------------


def test_real_mnist_and_fashion_mnist_load_within_the_limits():
    from tracegrad import datasets

    for name, load in [("mnist", datasets.mnist), ("fashion-mnist", datasets.fashion_mnist)]:
        train, test = (load(shared_data_dir(name), split=s) for s in ("train", "test"))
        assert train.X.shape == (60000, 784) and test.X.shape == (10000, 784)
        assert train.X.max() == 255 and np.bincount(train.y).min() > 5000


def test_a_60000x784_float64_npz_is_admitted_even_compressed(tmp_path):
    from tracegrad import datasets

    (tmp_path / "d.npz").write_bytes(H.npz_bomb((60000, 784)))  # 376 MB of float64 zeros
    proc, peak = run_bounded(
        tmp_path,
        ["from tracegrad.datasets import load_file; d = load_file('d.npz'); print(d.X.shape)"],
        python=True,
    )
    assert proc.returncode == 0 and "(60000, 784)" in proc.stdout, proc.stderr
    mnist = datasets.mnist(shared_data_dir("mnist"), split="test")
    np.savez(tmp_path / "m.npz", X=mnist.X, y=mnist.y)
    np.testing.assert_array_equal(datasets.load_file(tmp_path / "m.npz").X, mnist.X)


def test_a_mnist_csv_loads_and_60000_rows_fit_the_row_budget(tmp_path):
    from tracegrad import datasets

    test = datasets.mnist(shared_data_dir("mnist"), split="test")
    header = ",".join([*(f"p{i}" for i in range(784)), "label"])
    rows = np.column_stack([test.X, test.y]).astype(int)
    np.savetxt(tmp_path / "mnist.csv", rows, fmt="%d", delimiter=",", header=header, comments="")
    loaded = datasets.load_file(tmp_path / "mnist.csv")
    np.testing.assert_array_equal(loaded.X, test.X)
    assert loaded.class_names == [str(d) for d in range(10)]
    # The whole training set as CSV: 784 float32 features and a label per row, lines of
    # at most 784 * len("255,") characters.
    row_bytes = 4 * 784 + 4 * (limits.get("MAX_LABEL_CHARS") + 1)
    assert limits.get("MAX_ARRAY_BYTES") // row_bytes >= 60000
    assert limits.get("MAX_LINE_CHARS") >= 784 * 4


def test_a_download_of_the_expected_size_and_digest_succeeds(tmp_path):
    import hashlib

    from tracegrad.datasets.download import download_file

    source = tmp_path / "source.gz"
    source.write_bytes(H.gzip_idx((3, 4, 4), 48))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    size = source.stat().st_size
    out = download_file([source.as_uri()], tmp_path / "out" / "f.gz", digest, size, progress=False)
    assert out.read_bytes() == source.read_bytes()


def test_limits_are_read_when_used(monkeypatch):
    monkeypatch.delenv("TRACEGRAD_MAX_LINE_CHARS", raising=False)
    assert limits.get("MAX_LINE_CHARS") == limits.MAX_LINE_CHARS == 1 << 20
    monkeypatch.setenv("TRACEGRAD_MAX_LINE_CHARS", "2K")
    assert limits.get("MAX_LINE_CHARS") == 2048
    monkeypatch.setattr(limits, "MAX_IMAGE_PIXELS", 7)
    assert limits.get("MAX_IMAGE_PIXELS") == 7
