"""Reading inputs for prediction: rows from .npy/.csv files, or a picture of a digit."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_input(
    path, n_features: int, pixel_max: float | None = None, dataset: str | None = None
) -> np.ndarray:
    """Rows of features from ``path`` (.npy, .csv, or an image file such as .png).

    An image is prepared the way the training set's images were (see
    ``read_image``; ``dataset`` is the data set recorded in the model file),
    so the model's saved scaler then treats it exactly like a training row.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        X = np.load(path, allow_pickle=False)
    elif suffix == ".csv":
        X = _read_csv(path)
    elif suffix in (".png", ".jpg", ".jpeg", ".bmp", ".gif"):
        return read_image(path, n_features, pixel_max, dataset)[None, :]
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
    from .datasets.files import csv_layout  # the same delimiter and header rules as training

    delimiter, header, _ = csv_layout(path)
    try:
        return np.loadtxt(
            path,
            delimiter=delimiter,
            skiprows=int(header),
            dtype=np.float32,
            ndmin=2,
            encoding="utf-8-sig",
        )
    except ValueError as exc:
        raise ValueError(f"{path.name}: not a numeric CSV file ({exc})") from None


# Pictures larger than this are refused before decoding (a 12 MP photo is 4000x3000).
MAX_IMAGE_PIXELS = 50_000_000
# Larger pictures are shrunk while decoding: the preparation ends at 32x32 at most.
_WORKING_SIDE = 1024


def read_image(
    path, n_features: int, pixel_max: float | None = None, dataset: str | None = None
) -> np.ndarray:
    """Features of a picture of one digit, prepared like the model's training images.

    Parameters
    ----------
    path : str or Path
        A PNG, JPEG, BMP or GIF file, in any mode: grey, colour, palette, with
        the digit drawn in the alpha channel only, dark on light or light on
        dark.
    n_features : int
        The model's input size: 64 (the bundled 8x8 digits) or 784 (28x28,
        MNIST-like).
    pixel_max : float, optional
        Full ink on the training data's raw scale; by default the data set's
        own (16 for the 8x8 digits, 255 for MNIST and Fashion-MNIST).
    dataset : str, optional
        The data set recorded in the model file; it chooses the preparation
        (see ``tracegrad.datasets.images.PREPARATIONS``).

    Returns
    -------
    numpy.ndarray of float32, shape (n_features,)

    Raises
    ------
    ValueError
        A file that is not a readable image, is empty, too large or blank, or a
        model whose input is not an image size; the message says which.
    """
    from PIL import Image, UnidentifiedImageError

    from .datasets import images

    preparation = images.preparation_for(n_features, dataset)  # refuse before decoding
    name = Path(path).name
    try:
        with Image.open(path) as img:
            width, height = img.size
            if width < 1 or height < 1:
                raise ValueError(f"image {name} is empty ({width}x{height} pixels)")
            if width * height > MAX_IMAGE_PIXELS:
                raise ValueError(
                    f"image {name} is {width}x{height} pixels, more than the "
                    f"{MAX_IMAGE_PIXELS // 1_000_000} megapixels accepted; shrink it first"
                )
            img.draft(None, (_WORKING_SIDE, _WORKING_SIDE))  # JPEG: decode at reduced size
            img.load()
            if max(img.size) > 2 * _WORKING_SIDE:
                img.thumbnail((_WORKING_SIDE, _WORKING_SIDE), Image.Resampling.BOX)
            x = preparation.apply(images.ink_map(img))
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, SyntaxError) as exc:
        raise ValueError(f"cannot read image {name}: {exc}") from None
    if pixel_max is not None:
        x = x * np.float32(pixel_max / preparation.pixel_max)
    return x
