"""Reading prediction inputs: rows from .npy/.csv, or a picture of a digit."""

import numpy as np
import pytest

from tracegrad.imageio import read_image, read_input


def test_csv_rows_with_header_or_semicolons(tmp_path):
    (tmp_path / "a.csv").write_text("x,y,z\n1,2,3\n4,5,6\n")
    (tmp_path / "b.csv").write_text("1;2;3\n4;5;6\n")
    expected = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
    np.testing.assert_array_equal(read_input(tmp_path / "a.csv", 3), expected)
    np.testing.assert_array_equal(read_input(tmp_path / "b.csv", 3), expected)


def test_labelled_rows_drop_the_label_and_bad_rows_are_named(tmp_path):
    np.save(tmp_path / "l.npy", np.array([[1.0, 2.0, 0.0], [3.0, 4.0, 1.0]]))
    np.testing.assert_array_equal(read_input(tmp_path / "l.npy", 2), [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match="rows of 3 values but the model expects 5"):
        read_input(tmp_path / "l.npy", 5)
    np.save(tmp_path / "n.npy", np.array([[1.0, np.nan]]))
    with pytest.raises(ValueError, match="NaN"):
        read_input(tmp_path / "n.npy", 2)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_input(tmp_path / "missing.csv", 2)


def test_png_is_resized_inverted_and_scaled(tmp_path):
    from PIL import Image

    img = np.full((32, 32), 255, dtype=np.uint8)  # white page
    img[8:24, 14:18] = 0  # a dark vertical stroke: a "1"
    Image.fromarray(img).save(tmp_path / "one.png")
    x = read_input(tmp_path / "one.png", 64, pixel_max=16.0)
    assert x.shape == (1, 64)
    grid = x.reshape(8, 8)
    assert grid[2:6, 3:5].min() > 8 and grid[:, :2].max() < 1  # light stroke, dark ground
    assert 0 <= x.min() and x.max() <= 16.0


# --- pictures prepared like the training images (issue 9, item 8) -------------------------

STYLES = ["RGB", "inverted", "RGBA", "LA", "RGBA-white", "P"]


@pytest.mark.parametrize("n_features", [64, 784])
@pytest.mark.parametrize("style", STYLES)
def test_every_mode_and_polarity_gives_the_same_features(style, n_features, tmp_path):
    from drawn_digits import draw, save

    save(draw(7), tmp_path / "ref.png", "L")  # dark ink on white paper
    save(draw(7), tmp_path / "other.png", style)
    ref = read_image(tmp_path / "ref.png", n_features)
    other = read_image(tmp_path / "other.png", n_features)
    assert ref.max() == (16.0 if n_features == 64 else 255.0)
    np.testing.assert_allclose(other, ref, atol=1e-3)


def test_ink_only_in_the_alpha_channel_is_not_a_blank_image(tmp_path):
    """The issue's canvas export: black strokes over transparent black."""
    from PIL import Image

    alpha = np.zeros((100, 100), dtype=np.uint8)
    alpha[20:80, 45:55] = 255  # a "1" that lives only in alpha
    black = np.zeros((100, 100, 3), dtype=np.uint8)
    Image.fromarray(np.dstack([black, alpha]), mode="RGBA").save(tmp_path / "one.png")
    grid = read_image(tmp_path / "one.png", 784).reshape(28, 28)
    assert grid.max() == 255.0 and grid[:, :10].max() == 0.0  # ink in the middle only
    assert (grid > 128).sum(axis=0).argmax() in (13, 14)  # the stroke is the middle column


@pytest.mark.parametrize(
    "paper,ink",
    [(200, 40), (60, 210), (128, 0), (255, 180)],
    ids=["grey-paper", "light-on-dark-grey", "mid-grey", "faint-pencil"],
)
def test_polarity_and_contrast_come_from_the_picture(paper, ink, tmp_path):
    from PIL import Image

    from drawn_digits import draw

    drawn = np.asarray(draw(4), dtype=np.float64) / 255.0  # 1 = paper, 0 = ink
    draw(4).save(tmp_path / "ref.png")
    grey = (ink + (paper - ink) * drawn).astype(np.uint8)
    Image.fromarray(grey).save(tmp_path / "other.png")
    for n in (64, 784):
        ref = read_image(tmp_path / "ref.png", n)
        np.testing.assert_allclose(read_image(tmp_path / "other.png", n), ref, atol=1e-3)


def test_noisy_jpeg_photo_and_16_bit_png_read_like_the_clean_drawing(tmp_path):
    from PIL import Image

    from drawn_digits import draw

    drawn = np.asarray(draw(2), dtype=np.float64)
    draw(2).save(tmp_path / "ref.png")
    noise = np.random.default_rng(0).normal(0, 10, drawn.shape)
    photo = np.clip(220 - (255 - drawn) * 0.8 + noise, 0, 255).astype(np.uint8)
    Image.fromarray(photo).save(tmp_path / "photo.jpg", quality=70)
    Image.fromarray((drawn * 257).astype(np.uint16)).save(tmp_path / "deep.png")
    for n in (64, 784):
        ref = read_image(tmp_path / "ref.png", n)
        # Noise moves stroke edges, so the pen may be widened by one step more or less.
        assert np.corrcoef(read_image(tmp_path / "photo.jpg", n), ref)[0, 1] > 0.97
        np.testing.assert_allclose(read_image(tmp_path / "deep.png", n), ref, atol=1e-3)


PLACES = [
    dict(canvas=(200, 200), box=(55, 25, 150), pen=0.1),
    dict(canvas=(500, 300), box=(20, 150, 120), pen=0.05),
    dict(canvas=(300, 300), box=(150, 10, 280), pen=0.18),
    dict(canvas=(30, 30), box=(2, 2, 20), pen=0.15),
]


@pytest.mark.parametrize("digit", [0, 1, 7])
@pytest.mark.parametrize("place", range(len(PLACES)))
def test_mnist_preparation_20x20_box_centre_of_mass_at_14(digit, place, tmp_path):
    """NIST's procedure: the ink fits a 20x20 box and its centre of mass is at (14, 14)."""
    from drawn_digits import draw, save

    save(draw(digit, **PLACES[place]), tmp_path / "d.png", "RGBA")
    grid = read_image(tmp_path / "d.png", 784, dataset="mnist").reshape(28, 28)
    rows, cols = np.flatnonzero(grid.any(axis=1)), np.flatnonzero(grid.any(axis=0))
    assert rows[-1] - rows[0] + 1 == 20  # every drawn digit here is taller than wide
    assert cols[-1] - cols[0] + 1 <= 20
    ys, xs = np.indices(grid.shape)
    centre = ((ys * grid).sum() / grid.sum(), (xs * grid).sum() / grid.sum())
    np.testing.assert_allclose(centre, (14.0, 14.0), atol=0.5)
    assert grid.max() == 255.0 and grid.min() == 0.0


@pytest.mark.parametrize("digit", [0, 1, 7])
@pytest.mark.parametrize("place", range(len(PLACES)))
def test_digits_preparation_fills_the_box_with_the_sets_ink(digit, place, tmp_path):
    """optdigits: the digit fills the 32x32 box's height, centred, with 261-368 ink pixels."""
    from drawn_digits import draw, save

    save(draw(digit, **PLACES[place]), tmp_path / "d.png", "LA")
    grid = read_image(tmp_path / "d.png", 64, dataset="digits").reshape(8, 8)
    assert grid.min() >= 0 and grid.max() <= 16
    assert (grid.sum(axis=1) > 0).all()  # ink in all 8 rows, as in every training digit
    cx = (np.arange(8) * grid.sum(axis=0)).sum() / grid.sum()
    assert abs(cx - 3.5) < 1.0
    assert 261 <= grid.sum() <= 368  # the training set's 5th-95th percentile of ink


def test_a_wide_shape_fills_the_width(tmp_path):
    from PIL import Image, ImageDraw

    img = Image.new("L", (300, 200), 255)
    ImageDraw.Draw(img).rectangle((40, 90, 260, 110), fill=0)  # a dash
    img.save(tmp_path / "dash.png")
    digits = read_image(tmp_path / "dash.png", 64).reshape(8, 8)
    assert (digits.sum(axis=0) > 0).all() and (digits.sum(axis=1) == 0).sum() >= 4
    fashion = read_image(tmp_path / "dash.png", 784, dataset="fashion_mnist").reshape(28, 28)
    assert fashion[:, 0].max() > 0 and fashion[:, -1].max() > 0  # longest edge = 28
    rows = np.flatnonzero(fashion.any(axis=1))
    assert abs((rows[0] + rows[-1]) / 2 - 13.5) <= 0.5  # the shorter edge centred


def test_mnist_images_drawn_large_come_back_as_they_were(tmp_path):
    """Real MNIST digits, enlarged 8x, inverted and pasted off-centre, are prepared back."""
    from PIL import Image

    from conftest import shared_data_dir
    from tracegrad.datasets import mnist

    data = mnist(shared_data_dir("mnist"), split="test").take(np.arange(50))
    scores = []
    for row in data.X:
        pixels = row.reshape(28, 28).astype(np.uint8)
        big = Image.fromarray(255 - pixels).resize((224, 224), Image.Resampling.BILINEAR)
        page = Image.new("L", (400, 300), 255)
        page.paste(big, (150, 40))
        page.save(tmp_path / "page.png")
        scores.append(np.corrcoef(read_image(tmp_path / "page.png", 784), row)[0, 1])
    # Measured: median 0.96, mean 0.91; the lowest (0.60) differ by a 1-pixel shift.
    assert np.median(scores) > 0.9 and np.mean(scores) > 0.88


def test_which_preparation_follows_the_model():
    from tracegrad.datasets import available
    from tracegrad.datasets.images import (
        FASHION,
        NIST,
        OPTDIGITS,
        PREPARATIONS,
        preparation_for,
        recorded_dataset,
    )

    assert set(PREPARATIONS) <= set(available())  # named as the data set registry names them
    assert preparation_for(64) is OPTDIGITS and preparation_for(784) is NIST
    assert preparation_for(784, "mnist") is NIST
    assert preparation_for(784, "Fashion_MNIST") is FASHION
    assert preparation_for(784, "digits") is NIST  # the size decides when the name contradicts it
    assert preparation_for(64, "runs/my.csv") is OPTDIGITS
    with pytest.raises(ValueError, match="100 features.*images can only be prepared"):
        preparation_for(100)
    assert recorded_dataset({"config": {"dataset": "fashion-mnist"}}) == "fashion-mnist"
    assert recorded_dataset({"dataset": {"name": "mnist"}}) == "mnist"
    assert recorded_dataset({"metrics": {"dataset": "digits"}}) == "digits"
    assert recorded_dataset({}) is None and recorded_dataset(None) is None


def test_pixel_max_rescales_and_blank_or_unreadable_pictures_are_refused(tmp_path):
    from PIL import Image

    from drawn_digits import draw, save

    save(draw(5), tmp_path / "five.png", "L")
    scaled = read_image(tmp_path / "five.png", 784, pixel_max=1.0)
    np.testing.assert_allclose(scaled * 255, read_image(tmp_path / "five.png", 784), rtol=1e-6)
    Image.new("LA", (50, 50), (0, 0)).save(tmp_path / "clear.png")
    with pytest.raises(ValueError, match="blank"):
        read_image(tmp_path / "clear.png", 64)
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ValueError, match="cannot read image bad.png"):
        read_image(tmp_path / "bad.png", 64)
