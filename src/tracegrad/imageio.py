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
        from .bounded import load_npy  # the header checked against the file and the limits

        X = load_npy(path)
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
    import zlib

    from PIL import Image, ImageOps

    from . import limits

    try:
        with open_image(path) as img:  # refuses bombs from the header, before decoding
            width, height = img.size
            if width < 1 or height < 1:
                raise ValueError(f"image {path.name} is empty ({width}x{height} pixels)")
            img.draft(None, (_WORKING_SIDE, _WORKING_SIDE))  # JPEG: decode at reduced size
            img.load()
            if max(img.size) > 2 * _WORKING_SIDE:
                img.thumbnail((_WORKING_SIDE, _WORKING_SIDE), Image.Resampling.BOX)
            # A phone photo's pixels may be stored turned; closing the file frees a
            # loaded image, so this copy is what leaves the block.
            return ImageOps.exif_transpose(img)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        limit = limits.get("MAX_IMAGE_PIXELS")
        raise ValueError(_too_many_pixels(path, "more pixels than PIL admits", limit)) from None
    except (OSError, SyntaxError, EOFError, struct.error, zlib.error) as exc:
        raise ValueError(
            f"cannot read image {path.name} ({exc}); give a PNG, JPEG, BMP or GIF file"
        ) from None


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
