"""Reading inputs for prediction: rows from .npy/.csv files, or a picture of a digit."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def read_input(path, n_features: int, pixel_max: float | None = None) -> np.ndarray:
    """Rows of features from ``path`` (.npy, .csv, or an image file such as .png).

    An image is converted to grey, resized to the model's square input
    (8x8 for 64 features, 28x28 for 784), made light-on-dark like MNIST and
    the digits set, and scaled to [0, ``pixel_max``] so the model's saved
    scaler then treats it exactly like the training images.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        from .bounded import load_npy  # the header checked against the file and the limits

        X = load_npy(path)
    elif suffix == ".csv":
        X = _read_csv(path)
    elif suffix in (".png", ".jpg", ".jpeg", ".bmp", ".gif"):
        return read_image(path, n_features, pixel_max)[None, :]
    else:
        raise ValueError(f"cannot read {path.name}: give a .npy, .csv or .png file")
    X = np.atleast_2d(np.asarray(X, dtype=np.float32))
    if X.ndim > 2:
        X = X.reshape(len(X), -1)
    if X.shape[1] == n_features + 1:
        X = X[:, :-1]  # a labelled file: drop the label column
    if X.shape[1] != n_features:
        raise ValueError(
            f"{path.name} has rows of {X.shape[1]} values but the model expects {n_features} "
            "features per row"
        )
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{path.name} contains NaN or infinite values; clean or impute them")
    return X


def _read_csv(path: Path) -> np.ndarray:
    from .bounded import FileLimitError, text_lines
    from .datasets.files import csv_layout  # the same delimiter and header rules as training

    delimiter, header, rows = csv_layout(path)
    try:
        with text_lines(path, row_bytes=4 * len(rows[0])) as lines:  # bounded lines and rows
            return np.loadtxt(
                lines,
                delimiter=delimiter,
                skiprows=int(header),
                dtype=np.float32,
                ndmin=2,
                encoding="utf-8-sig",
            )
    except FileLimitError:
        raise
    except ValueError as exc:
        raise ValueError(f"{path.name}: not a numeric CSV file ({exc})") from None


def read_image(path, n_features: int, pixel_max: float | None = None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(
            f"the model expects {n_features} features, which is not a square image; "
            "give .npy or .csv rows instead"
        )
    try:
        with open_image(path) as img:
            grey = img.convert("L").resize((side, side), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"cannot read image {Path(path).name}: {exc}") from None
    pixels = np.asarray(grey, dtype=np.float32) / 255.0
    if pixels.mean() > 0.5:  # dark digit on a light background: invert to match MNIST
        pixels = 1.0 - pixels
    top = pixel_max if pixel_max is not None else (16.0 if side == 8 else 255.0)
    return (pixels * top).reshape(-1)


def open_image(path):
    """``PIL.Image.open(path)`` once the header's size is within ``MAX_IMAGE_PIXELS``.

    Opening reads only the header, so a decompression bomb (a small PNG that
    declares 100,000 x 100,000 pixels) is refused here, before any decoding.
    """
    import warnings

    from PIL import Image

    from . import limits

    limit = limits.get("MAX_IMAGE_PIXELS")
    with warnings.catch_warnings():
        # PIL warns above its own limit and raises above twice it: both become our refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(path)
        except (Image.DecompressionBombWarning, Image.DecompressionBombError):
            raise ValueError(_too_many_pixels(path, "more pixels than PIL admits", limit)) from None
    if img.width * img.height > limit:
        img.close()
        raise ValueError(_too_many_pixels(path, f"{img.width}x{img.height} pixels", limit))
    return img


def _too_many_pixels(path, size: str, limit: int) -> str:
    return (
        f"cannot read image {Path(path).name}: it declares {size}, over the limit of "
        f"{limit:,} pixels (raise it with TRACEGRAD_MAX_IMAGE_PIXELS); give a picture "
        "of about the model's input size"
    )
