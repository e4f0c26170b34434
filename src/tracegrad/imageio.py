"""Reading inputs for prediction: rows from .npy/.csv files, or a picture of a digit."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np


def read_input(path, n_features: int, pixel_max: float | None = None, trained_on=None):
    """Rows of features from ``path`` (.npy, .csv, or an image file such as .png).

    Rows are read by the column rules of :func:`read_rows`. An image is
    converted to grey, resized to the model's square input (8x8 for 64
    features, 28x28 for 784), made light-on-dark like MNIST and the digits
    set, and scaled to [0, ``pixel_max``] as the training images were.
    """
    path = Path(path)
    if path.suffix.lower() in IMAGE_SUFFIXES:
        _check_exists(path)
        return read_image(path, n_features, pixel_max)[None, :]
    return read_rows(path, n_features, trained_on)[0]


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")


def read_rows(path, n_features: int, trained_on=None):
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
    if labels is not None:
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
        data = np.load(path, allow_pickle=False)
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


def read_image(path, n_features: int, pixel_max: float | None = None) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    side = math.isqrt(n_features)
    if side * side != n_features:
        raise ValueError(
            f"the model expects {n_features} features, which is not a square image; "
            "give .npy or .csv rows instead"
        )
    try:
        with Image.open(path) as img:
            grey = img.convert("L").resize((side, side), Image.Resampling.LANCZOS)
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"cannot read image {Path(path).name}: {exc}") from None
    pixels = np.asarray(grey, dtype=np.float32) / 255.0
    if pixels.mean() > 0.5:  # dark digit on a light background: invert to match MNIST
        pixels = 1.0 - pixels
    top = pixel_max if pixel_max is not None else (16.0 if side == 8 else 255.0)
    return (pixels * top).reshape(-1)
