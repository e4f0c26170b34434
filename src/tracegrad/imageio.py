"""Reading inputs for prediction: rows from .npy/.csv files, or a picture of a digit."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def read_input(path, n_features: int, pixel_max: float | None = None, trained_on=None):
    """Rows of features from ``path`` (.npy, .csv, or an image file such as .png).

    Rows are read by the column rules of :func:`read_rows`. A picture is
    prepared the way the training set's pictures were (see :func:`read_image`;
    ``trained_on["name"]``, the data set recorded in the model file, chooses
    the preparation), on the training data's raw pixel scale: the model's own
    Normalization layer then treats it exactly like a training row.
    """
    path = Path(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        _check_exists(path)
        dataset = (trained_on or {}).get("name")  # a picture is prepared like that set's
        return read_image(path, n_features, pixel_max, dataset)[None, :]
    return read_rows(path, n_features, trained_on)[0]


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def read_rows(path, n_features: int, trained_on=None, classes: bool = True):
    """Features and (if the file has one) the label of each row of a .npy or .csv file.

    The columns are read by the rules ``train`` used, with what the model file
    records about its training data (``model.trained_on``):

    - a CSV header is found as in training; its label column is the one named
      like the training label, or, in a row with one value more than the model's
      features, one named label/target/y/class, else the training label's place;
    - with feature names recorded, the file's other columns must be exactly
      those features (in any order: they are taken by name);
    - without a header (and for .npy), a row of ``n_features`` values is all
      features; one more value is a label at the training label's position
      (the last column by default, as in training);
    - anything else is refused, never reinterpreted.

    Returns
    -------
    X : numpy.ndarray of float32, shape (n, n_features)
    labels : list of str or None
        Each row's label as a class name (numbers written as training writes
        them: "3", never "3.0"), or None when the file has no label column.
        With ``classes=False`` (a regression model's targets) the labels as written.
    """
    path = Path(path)
    _check_exists(path)
    suffix = path.suffix.lower()
    record = {**(trained_on or {}), "n_features": n_features}
    if suffix == ".npy":
        X, labels = _npy_rows(path, n_features, record)
    elif suffix == ".csv":
        X, labels = _csv_rows(path, n_features, record)
    else:
        raise ValueError(f"cannot read {path.name}: give a .npy, .csv or .png file")
    if len(X) == 0:
        raise ValueError(f"{path.name} has no rows to predict")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{path.name} contains NaN or infinite values; clean or impute them")
    if labels is not None and not classes:
        labels = [str(v) for v in np.asarray(labels).reshape(-1)]
    elif labels is not None:
        from .datasets.files import encode_labels

        y, names = encode_labels(labels, f"{path.name} (label column)")
        labels = [names[k] for k in y]
    return X, labels


def _check_exists(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"input file {path} does not exist")


def _width_error(path: Path, width: int, n_features: int) -> ValueError:
    return ValueError(
        f"{path.name} has rows of {width} values but the model expects {n_features} "
        f"features per row (or {n_features + 1} with the label)"
    )


def _label_position(record: dict, width: int) -> int:
    """Where an unnamed label stands: as in the training file, else last (the training rule)."""
    if record.get("n_columns") == width and record.get("label_index") is not None:
        return int(record["label_index"])
    return width - 1


def _npy_rows(path: Path, n_features: int, record: dict):
    try:
        from .bounded import load_npy  # the header checked against the file and the limits

        data = load_npy(path)
    except ValueError as exc:
        raise ValueError(f"{path.name}: {exc}; save a plain numeric array") from None
    if data.dtype.kind not in "biuf":
        raise ValueError(f"{path.name} holds {data.dtype} values, not numbers")
    data = np.atleast_2d(data)
    if data.ndim > 2:  # images: one flattened row each
        data = data.reshape(len(data), -1)
    width = data.shape[1]
    if width == n_features:
        return data.astype(np.float32), None
    if width != n_features + 1:
        raise _width_error(path, width, n_features)
    label = _label_position(record, width)
    return np.delete(data, label, axis=1).astype(np.float32), data[:, label]


def _csv_rows(path: Path, n_features: int, record: dict):
    from .datasets.files import LABEL_NAMES, csv_layout, read_csv_columns

    delimiter, header, rows = csv_layout(path)  # the delimiter and header rules of training
    width = len(rows[0])
    label = None
    if header:
        names = [c.strip() for c in rows[0]]
        lowered = [n.lower() for n in names]
        known = record.get("label_name")
        if known in names:
            label = names.index(known)
        elif width == n_features + 1:  # one column too many: the label, found as in training
            if any(n in LABEL_NAMES for n in lowered):
                label = next(i for i, n in enumerate(lowered) if n in LABEL_NAMES)
            else:
                label = _label_position(record, width)
        features = [i for i in range(width) if i != label]
        features = _match_names(path, [names[i] for i in features], features, record, width)
    else:
        if width == n_features + 1:
            label = _label_position(record, width)
        elif width != n_features:
            raise _width_error(path, width, n_features)
        features = [i for i in range(width) if i != label]
    return read_csv_columns(path, delimiter, header, width, features, label)


def _match_names(path: Path, names: list, columns: list, record: dict, width: int):
    """The file's feature columns in the model's order; refuse any other set of names."""
    expected = record.get("feature_names")
    if expected is None:  # the model knows no names (trained on a built-in set): count only
        if len(columns) != record["n_features"]:
            raise _width_error(path, width, record["n_features"])
        return columns
    if names == expected:
        return columns
    missing = [n for n in expected if n not in names]
    unexpected = [n for n in names if n not in expected]
    if missing or unexpected or len(set(names)) != len(names):
        raise ValueError(
            f"{path.name} does not have the model's feature columns: missing "
            f"{_short(missing)}, unexpected {_short(unexpected)} (label column "
            f"{record.get('label_name')!r}); give the columns the model was trained on"
        )
    return [columns[names.index(n)] for n in expected]  # same names, another order


def _short(names: list) -> str:
    return "[" + ", ".join(names[:5]) + (", ..." if len(names) > 5 else "") + "]"


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
