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
    from .datasets import images

    preparation = images.preparation_for(n_features, dataset)  # refuse before decoding
    x = preparation.apply(images.ink_map(_decode(Path(path))))
    if pixel_max is not None:
        x = x * np.float32(pixel_max / preparation.pixel_max)
    return x


def _decode(path: Path):
    """The picture at ``path``, decoded at most about 1024 pixels a side, or ValueError."""
    import struct
    import warnings
    import zlib

    from PIL import Image, ImageOps

    too_large = (
        f"image {path.name} has more than {MAX_IMAGE_PIXELS // 1_000_000} megapixels; "
        "shrink it first"
    )
    try:
        with warnings.catch_warnings():  # Pillow's bomb warning becomes a refusal, not a line
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(path)
        with img:
            width, height = img.size
            if width < 1 or height < 1:
                raise ValueError(f"image {path.name} is empty ({width}x{height} pixels)")
            if width * height > MAX_IMAGE_PIXELS:
                raise ValueError(too_large)
            img.draft(None, (_WORKING_SIDE, _WORKING_SIDE))  # JPEG: decode at reduced size
            img.load()
            if max(img.size) > 2 * _WORKING_SIDE:
                img.thumbnail((_WORKING_SIDE, _WORKING_SIDE), Image.Resampling.BOX)
            # A phone photo's pixels may be stored turned; closing the file frees a
            # loaded image, so this copy is what leaves the block.
            return ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValueError(too_large) from None
    except (OSError, SyntaxError, EOFError, struct.error, zlib.error) as exc:
        raise ValueError(
            f"cannot read image {path.name} ({exc}); give a PNG, JPEG, BMP or GIF file"
        ) from None
