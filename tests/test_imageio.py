"""Reading prediction inputs: rows from .npy/.csv, or a picture of a digit."""

import numpy as np
import pytest

from tracegrad.imageio import read_input


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
