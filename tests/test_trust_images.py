"""Pictures through ``tracegrad predict`` (issue 9, item 8): recognised, or refused in one line.

Digits are drawn here with PIL (``drawn_digits``) the way a paint program or a
canvas export saves them: off-centre, at many sizes and pen widths, grey,
colour, inverted, with the ink only in the alpha channel. A model trained in
the test must name most of them, through the CLI's own code. Files that are
not pictures of a digit are refused with one line.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from conftest import shared_data_dir
from drawn_digits import draw, save, typed
from tracegrad import cli as tg_cli
from trust import Case, cli, last_json, run_case

# Where and how each digit is drawn: canvas (w, h), box (left, top, height), pen, slant.
PLACES = {
    "centred": dict(canvas=(200, 200), box=(55, 25, 150), pen=0.1),
    "off-centre-small": dict(canvas=(300, 240), box=(20, 20, 80), pen=0.12),
    "corner-large-thick": dict(canvas=(400, 400), box=(200, 100, 280), pen=0.16),
    "thin-pen": dict(canvas=(300, 300), box=(100, 40, 200), pen=0.04),
    "slanted-wide": dict(canvas=(500, 260), box=(260, 30, 200), pen=0.08, slant=0.2),
    "tiny-canvas": dict(canvas=(40, 40), box=(8, 5, 28), pen=0.12),
}
VARIANTS = [
    ("centred", "L"),
    ("centred", "RGB"),
    ("centred", "inverted"),
    ("centred", "RGBA"),
    ("centred", "LA"),
    ("centred", "RGBA-white"),
    ("centred", "P"),
    ("off-centre-small", "RGBA"),
    ("corner-large-thick", "inverted"),
    ("thin-pen", "LA"),
    ("slanted-wide", "RGB"),
    ("tiny-canvas", "L"),
]
# Of the 10 digits of each variant, at least this many are named right. Measured
# (2026-12-01, 12 variants each): digits 10/10 in all but two (slanted and thin
# pen: an 8 read as 9), 118 of 120; MNIST 10/10 in all but two (the flagged 1
# read as 9 large and thick, as 7 slanted), 118 of 120. The floor leaves one
# more miss per variant for another machine's rounding of a borderline case.
FLOOR = {"digits": 8, "mnist": 8}
# Typed in Pillow's font (not handwriting: digits reads its 6 as 5 and 8 as 9, MNIST
# its 1 as 7, 6 as 5 and 9 as 8): measured 8 (digits) and 7 (MNIST) of 10.
TYPED_FLOOR = {"digits": 7, "mnist": 6}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Models trained here: the CLI's default on the bundled digits, and a small MNIST MLP."""
    tmp = tmp_path_factory.mktemp("runs")
    proc = cli("train", "--out", tmp / "digits", "--quiet", cwd=tmp)
    assert proc.returncode == 0, proc.stderr
    return {"digits": tmp / "digits", "tmp": tmp}


@pytest.fixture(scope="module")
def mnist_run(runs):
    """784-128-10 on 5,000 MNIST images for 3 epochs (held-out accuracy about 0.91).

    Trained on the first 5,000 of the official test file, which loads in a
    fraction of the training file's time; the drawn digits are what it is
    tested on. Saved with the scaler and the data set name as ``train`` saves.
    """
    from tracegrad import datasets, io, losses, nn, optim, training

    data = datasets.mnist(shared_data_dir("mnist"), split="test").take(np.arange(5000))
    scaler = datasets.Scaler("max").fit(data.X)
    model = nn.MLP([784, 128, 10], activation="relu", rng=np.random.default_rng(0))
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    X = scaler.transform(data.X)
    training.fit(model, losses.cross_entropy, optimizer, (X, data.y), epochs=3, rng=0)
    assert (training.predict(model, X) == data.y).mean() > 0.9  # it learnt MNIST
    path = runs["tmp"] / "mnist" / "model.npz"
    path.parent.mkdir()
    metadata = {"config": {"dataset": "mnist"}}
    io.save(model, path, scaler=scaler, class_names=data.class_names, metadata=metadata)
    return path.parent


def _predict(run, png, capsys) -> int:
    """The CLI's ``predict --json`` on one picture, in this process (the same code, faster)."""
    assert tg_cli.main(["predict", str(run), str(png), "--json"]) == 0
    return last_json(capsys.readouterr().out)[0]["label"]


def _model(name, runs, request):
    return runs["digits"] if name == "digits" else request.getfixturevalue("mnist_run")


@pytest.mark.parametrize("name", ["digits", "mnist"])
@pytest.mark.parametrize("place,style", VARIANTS, ids=[f"{p}-{s}" for p, s in VARIANTS])
def test_drawn_digits_are_recognised(name, place, style, runs, request, tmp_path, capsys):
    run = _model(name, runs, request)
    named = []
    for digit in range(10):
        png = tmp_path / f"{digit}.png"
        save(draw(digit, **PLACES[place]), png, style)
        named.append(_predict(run, png, capsys))
    right = sum(int(k == d) for d, k in enumerate(named))
    assert right >= FLOOR[name], f"{name} {place} {style}: named {named} for 0..9"


@pytest.mark.parametrize("name", ["digits", "mnist"])
def test_typed_digits_are_recognised(name, runs, request, tmp_path, capsys):
    run = _model(name, runs, request)
    named = []
    for digit in range(10):
        png = tmp_path / f"{digit}.png"
        picture = typed(digit, canvas=(260, 200), at=(20 + 15 * digit, 30), size=90 + 8 * digit)
        save(picture, png, "L")
        named.append(_predict(run, png, capsys))
    right = sum(int(k == d) for d, k in enumerate(named))
    assert right >= TYPED_FLOOR[name], f"{name}: named {named} for typed 0..9"


def test_issue_seven_and_zero_from_a_canvas_export(runs, tmp_path):
    """The issue's case: a drawn 7 and 0 came out as ``4 (p = 0.98)`` and ``4 (p = 1.00)``."""
    for digit in (7, 0):
        png = tmp_path / f"canvas-{digit}.png"
        save(draw(digit, canvas=(280, 280), box=(30, 60, 180), pen=0.09), png, "RGBA")
        proc = cli("predict", runs["digits"], png, "--json", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert last_json(proc.stdout)[0]["label"] == digit


def _png(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` grey pixels but holds almost none."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * (width + 1) * min(height, 2))
    body = chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + body


def _write_inputs(tmp):
    from PIL import Image

    rng = np.random.default_rng(0)
    (tmp / "noise.png").write_bytes(rng.integers(0, 256, 4096, dtype=np.uint8).tobytes())
    (tmp / "text.png").write_text("this is not a picture\n")
    (tmp / "empty.png").write_bytes(b"")
    (tmp / "zero.png").write_bytes(_png(0, 10))
    (tmp / "huge.png").write_bytes(_png(8000, 8000))  # 64 megapixels, 100 bytes
    (tmp / "bomb.png").write_bytes(_png(12000, 12000))  # past Pillow's own warning
    (tmp / "vast.png").write_bytes(_png(65535, 65535))  # past Pillow's own limit
    save(draw(3), tmp / "whole.png", "L")
    whole = (tmp / "whole.png").read_bytes()
    (tmp / "cut.png").write_bytes(whole[: len(whole) // 2])
    Image.new("L", (64, 64), 255).save(tmp / "white.png")
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(tmp / "clear.png")
    Image.new("L", (1, 1), 0).save(tmp / "dot.png")
    (tmp / "noise.jpg").write_bytes(rng.integers(0, 256, 999, dtype=np.uint8).tobytes())


CASES = [
    Case("random-bytes", ["predict", "{run}", "{tmp}/noise.png"], 1, "cannot read image noise.png"),
    Case("text-as-png", ["predict", "{run}", "{tmp}/text.png"], 1, "cannot read image text.png"),
    Case("empty-file", ["predict", "{run}", "{tmp}/empty.png"], 1, "cannot read image empty.png"),
    Case("zero-width", ["predict", "{run}", "{tmp}/zero.png"], 1, "cannot read image zero.png"),
    Case("truncated", ["predict", "{run}", "{tmp}/cut.png"], 1, "cannot read image cut.png"),
    Case("garbage-jpeg", ["predict", "{run}", "{tmp}/noise.jpg"], 1, "cannot read image"),
    Case("64-megapixels", ["predict", "{run}", "{tmp}/huge.png"], 1, "limit of 50,000,000"),
    Case("bomb-warning", ["predict", "{run}", "{tmp}/bomb.png"], 1, "limit of 50,000,000"),
    Case("bomb-error", ["predict", "{run}", "{tmp}/vast.png"], 1, "limit of 50,000,000"),
    Case("blank-white", ["predict", "{run}", "{tmp}/white.png"], 1, "the image is blank"),
    Case("all-transparent", ["predict", "{run}", "{tmp}/clear.png"], 1, "the image is blank"),
    Case("one-pixel", ["predict", "{run}", "{tmp}/dot.png"], 1, "the image is blank"),
    Case("missing", ["predict", "{run}", "{tmp}/nothere.png"], 1, "does not exist"),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_pictures_are_refused_in_one_line(case, runs, tmp_path):
    _write_inputs(tmp_path)
    proc = run_case(case, tmp_path, run=runs["digits"])
    assert proc.stdout == ""  # no prediction printed


def test_a_picture_for_a_model_that_takes_no_image_is_refused(runs, tmp_path):
    proc = cli("train", "--dataset", "moons", "--out", tmp_path / "moons", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    save(draw(3), tmp_path / "three.png", "L")
    case = Case("two-features", ["predict", "{tmp}/moons", "{tmp}/three.png"], 1, "2 features")
    run_case(case, tmp_path)
