"""A user's own data: ``.npy``, ``.npz`` and ``.csv`` files turned into a Dataset.

Labels of any kind (strings, or integers that are not ``0..K-1``) are mapped to
``0..K-1`` in sorted order, and the original values become ``class_names``, so
the mapping is visible and travels with the model. Files are read with
``allow_pickle=False``: a data file must never be able to run code.
"""

from __future__ import annotations

import csv
import warnings
import zipfile
from decimal import Decimal, InvalidOperation
from pathlib import Path

import numpy as np

from .. import limits
from ..bounded import FileLimitError, load_npy, load_npz, text_lines
from .base import Dataset

LABEL_NAMES = ("label", "labels", "target", "y", "class")
SUFFIXES = (".npy", ".npz", ".csv")


def load_file(path, label_column=None) -> Dataset:
    """Load samples and labels from a file.

    Parameters
    ----------
    path : str or Path
        ``.npy``: a 2-D numeric array whose label is the last column (or
        ``label_column``). ``.npz``: arrays ``X`` (n, features) and ``y`` (n,),
        optionally ``class_names``. ``.csv``: one sample per row, header
        optional, separated by commas, semicolons or tabs.
    label_column : str or int, optional
        The label column: a header name or a column index (negative counts
        from the end). By default a column named label/target/y/class, else
        the last one. Not used for ``.npz``.

    Returns
    -------
    Dataset
        Named after the file's stem.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"{path}: unsupported file type {suffix!r}; use one of {', '.join(SUFFIXES)}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist (or is not a file)")
    class_names, columns = None, None
    if suffix == ".npz":
        if label_column is not None:
            raise ValueError(f"{path}: label_column is not used for .npz files, which hold X and y")
        X, y, class_names = _read_npz(path)
        where = "array y"
    elif suffix == ".npy":
        X, y, where, columns = _read_npy(path, label_column)
    else:
        X, y, where, columns = _read_csv(path, label_column)
    if class_names is None:
        y, class_names = encode_labels(y, f"{path} ({where})")
    return Dataset(
        X,
        y,
        name=path.stem,
        class_names=class_names,
        columns=columns,
        description=(
            f"Loaded from {path.name}: {len(X)} samples with {X.shape[1]} features, "
            f"{len(class_names)} classes (labels from {where})."
        ),
    )


def encode_labels(values, source: str = "labels"):
    """Map labels to ``0..K-1`` in sorted order; return ``(y, class_names)``.

    Numbers are sorted numerically (so "10" comes after "9") and must be whole;
    anything else is sorted as text. Labels are compared exactly: the texts
    "9007199254740993" and "9007199254740992" are two classes, and float labels
    too large for their dtype to tell neighbouring integers apart are refused.
    """
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{source}: labels must be one column, got shape {values.shape}")
    if values.dtype.kind in "USO":
        return _encode_text(np.char.strip(values.astype(str)), source)
    if values.dtype.kind == "b":
        values = values.astype(np.int64)
    if values.dtype.kind == "f":
        whole = np.isfinite(values) & (values == np.round(values))
        if not whole.all():
            bad = values[~whole][0]
            raise ValueError(
                f"{source} holds the non-integer label {bad}: classification needs class "
                "labels; for continuous targets train with --task regression, else pick "
                "the right label column"
            )
        # From 2**(mantissa bits + 1) on, a float cannot hold every integer: 2**53 + 1 is
        # stored as 2**53, so even 2**53 itself may be a rounded label.
        limit = 2.0 ** (np.finfo(values.dtype).nmant + 1)
        big = np.abs(values) >= limit
        if big.any():
            raise ValueError(
                f"{source} holds the label {values[big][0]:.17g}, too large for "
                f"{values.dtype} to tell neighbouring integers apart (2^{int(np.log2(limit))} "
                "or more): store labels as integers or text"
            )
        uniques, y = np.unique(values, return_inverse=True)
        return y.astype(np.int64), [str(int(v)) for v in uniques]
    if values.dtype.kind not in "iu":
        raise TypeError(f"{source}: labels of dtype {values.dtype} are not class labels")
    uniques, y = np.unique(values, return_inverse=True)  # in their own dtype: uint64 stays exact
    return y.astype(np.int64), [str(int(v)) for v in uniques]


def _encode_text(text: np.ndarray, source: str):
    empty = np.flatnonzero(text == "")
    if empty.size:
        raise ValueError(
            f"{source} has an empty label (sample {empty[0] + 1}): give every row a label"
        )
    names, inverse = np.unique(text, return_inverse=True)
    numbers = [_exact_integer(n) for n in names]
    if any(v is None for v in numbers):  # some label is not a number: all are text
        return inverse.reshape(-1).astype(np.int64), [str(n) for n in names]
    for name, value in zip(names, numbers, strict=True):
        if value is _NOT_WHOLE:
            raise ValueError(
                f"{source} holds the non-integer label {name}: classification needs class "
                "labels; for continuous targets train with --task regression, else pick "
                "the right label column"
            )
        if value is _TOO_BIG:
            raise ValueError(f"{source} holds the label {name[:40]}, too large to be a class")
    # "3" and "3.0" are one class; 2**53 and 2**53 + 1 are two (Python ints are exact).
    distinct = sorted(set(numbers))
    index = {v: i for i, v in enumerate(distinct)}
    y = np.array([index[v] for v in numbers], dtype=np.int64)[inverse.reshape(-1)]
    return y, [str(v) for v in distinct]


_NOT_WHOLE, _TOO_BIG = object(), object()


def _exact_integer(text: str):
    """The integer a label text denotes exactly, ``None`` if it is not a number."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.to_integral_value():
        return _NOT_WHOLE
    if value.adjusted() > 60:  # int() of "1e999999999" would build a huge number
        return _TOO_BIG
    return int(value)


def _read_npz(path: Path):
    # Only X, y and class_names are inflated, each after its declared size is checked.
    try:
        data = load_npz(path, names=("X", "y", "class_names"))
    except (zipfile.BadZipFile, EOFError, OSError) as error:
        raise ValueError(f"{path} is not a readable .npz archive ({error})") from None
    missing = {"X", "y"} - set(data)
    if missing:
        with np.load(path, allow_pickle=False) as listing:  # the names only; nothing is read
            found = sorted(listing.files)
        raise ValueError(
            f"{path} holds arrays {found} but needs X and y; save it with "
            "numpy.savez(path, X=X, y=y)"
        )
    names = data.get("class_names")
    return data["X"], data["y"], None if names is None else [str(n) for n in names]


def _read_npy(path: Path, label_column):
    data = load_npy(path)  # its header checked against the file's size and the limits
    if data.ndim != 2 or data.shape[1] < 2:
        raise ValueError(
            f"{path} holds an array of shape {data.shape}: expected 2-D with the features and "
            "then the label in each row; save X and y separately with numpy.savez(X=X, y=y)"
        )
    if isinstance(label_column, str):
        raise ValueError(f"{path}: a .npy file has no column names; pass label_column as an int")
    column = _column_index(-1 if label_column is None else label_column, data.shape[1], path)
    features = np.delete(data, column, axis=1)
    columns = _columns_record(None, column, data.shape[1])
    return features, data[:, column], f"column {column}", columns


def csv_layout(path, label_column=None) -> tuple[str, bool, list]:
    """The delimiter of a CSV file (comma, semicolon or tab), whether it has a header row,
    and its first rows as read with that delimiter."""
    with text_lines(path, row_bytes=1) as lines:  # bounded: a 100 MB line is refused
        first_lines = [next(lines, ""), next(lines, "")]
    if not first_lines[0].strip():
        raise ValueError(f"{path} is empty")
    delimiter = max(",;\t", key=first_lines[0].count)
    rows = list(csv.reader([line for line in first_lines if line.strip()], delimiter=delimiter))
    return delimiter, _has_header(rows, label_column), rows


def _read_csv(path: Path, label_column):
    delimiter, header, rows = csv_layout(path, label_column)
    n_columns = len(rows[0])
    if n_columns < 2:
        raise ValueError(f"{path} has one column: expected features and a label in each row")
    names = [c.strip() for c in rows[0]] if header else []
    column = _label_index(names, label_column, n_columns, path)
    others = [i for i in range(n_columns) if i != column]
    X, y = read_csv_columns(path, delimiter, header, n_columns, others, column)
    where = f"column {names[column]!r}" if header else f"column {column}"
    return X, y, where, _columns_record(names or None, column, n_columns)


def read_csv_columns(path, delimiter: str, header: bool, n_columns: int, features, label=None):
    """Feature columns (float32, in the order of ``features``) and the label column's text.

    Every row must have ``n_columns`` fields and, if ``label`` is given, a
    non-empty label: a row with a missing or an extra field is refused naming
    its line, never read shifted. ``label=None`` reads features only
    (``predict`` on unlabelled rows) and returns ``(X, None)``.
    """
    check_rows(path, delimiter, header, n_columns, label)
    common = dict(delimiter=delimiter, skiprows=int(header), quotechar='"', encoding="utf-8-sig")
    # Lines are read with bounded lengths and counted, so the rows (float32 features
    # and a label of up to MAX_LABEL_CHARS) stay within MAX_ARRAY_BYTES.
    label_chars = limits.get("MAX_LABEL_CHARS")
    row_bytes = 4 * len(features) + (0 if label is None else 4 * (label_chars + 1))
    y = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": refused below
            with text_lines(path, row_bytes) as lines:
                X = np.loadtxt(lines, dtype=np.float32, usecols=list(features), ndmin=2, **common)
            if label is not None:
                with text_lines(path, row_bytes) as lines:
                    label_dtype = f"U{label_chars + 1}"  # longer labels are refused below
                    y = np.loadtxt(lines, dtype=label_dtype, usecols=[label], ndmin=1, **common)
    except FileLimitError:
        raise
    except ValueError as error:
        raise ValueError(
            f"{path}: {error}. Every column except the label must hold numbers, with the "
            "same number of columns in each row"
        ) from None
    if len(X) == 0:
        raise ValueError(f"{path} has no data rows: add samples below the header")
    if y is not None:
        longest = int(np.char.str_len(y).max(initial=0))
        if longest > label_chars:
            raise FileLimitError(
                f"{path}: a label is longer than {label_chars} characters (MAX_LABEL_CHARS): "
                "pick the right label column, or raise the limit with TRACEGRAD_MAX_LABEL_CHARS"
            )
        y = y.astype(f"U{max(longest, 1)}")
    return X, y


def check_rows(path, delimiter: str, header: bool, n_columns: int, label=None) -> None:
    """Refuse the first row whose field count is not ``n_columns`` or whose label is empty.

    One bounded line at a time, so memory stays that of the longest line allowed.
    Blank lines are skipped, as the numeric reader skips them.
    """
    with text_lines(path, row_bytes=4 * n_columns) as lines:
        for number, line in enumerate(lines, start=1):
            if (number == 1 and header) or not line.strip():
                continue
            line = line.rstrip("\r\n")
            if '"' in line:  # quoted fields may hold the delimiter: let csv split them
                fields = next(csv.reader([line], delimiter=delimiter))
                count = len(fields)
            else:
                fields, count = None, line.count(delimiter) + 1
            if count != n_columns:
                first = "the header" if header else "the first row"
                raise ValueError(
                    f"{path}: line {number} has {count} columns but {first} has "
                    f"{n_columns}: fix or remove that row"
                )
            if label is None:
                continue
            if fields is None:  # split only as far as the label
                if label < n_columns // 2:
                    value = line.split(delimiter, label + 1)[label]
                else:
                    value = line.rsplit(delimiter, n_columns - label)[label - n_columns]
            else:
                value = fields[label]
            if not value.strip():
                raise ValueError(f"{path}: line {number} has an empty label: give every row one")


def _columns_record(names, label: int, n_columns: int) -> dict:
    """Where features and label stood in a file: ``Dataset.columns``, kept in model files."""
    return {
        "feature_names": None if names is None else [n for i, n in enumerate(names) if i != label],
        "label_name": None if names is None else names[label],
        "label_index": int(label),
        "n_columns": int(n_columns),
    }


def _has_header(rows, label_column) -> bool:
    first = [c.strip() for c in rows[0]]
    if isinstance(label_column, str) or any(c.lower() in LABEL_NAMES for c in first):
        return True
    text = [not _is_number(c) for c in first]
    if len(rows) < 2:
        return all(text)
    # A header is text where the data below it is numeric (the feature columns).
    return any(t and _is_number(c) for t, c in zip(text, rows[1], strict=False))


def _label_index(names, label_column, n_columns: int, path: Path) -> int:
    if isinstance(label_column, str):
        if label_column not in names:
            raise ValueError(
                f"{path} has no column named {label_column!r}; its header is {names}. "
                "Pass one of those names, or a column index"
            )
        return names.index(label_column)
    if label_column is not None:
        return _column_index(label_column, n_columns, path)
    lowered = [n.lower() for n in names]
    for candidate in LABEL_NAMES:
        if candidate in lowered:
            return lowered.index(candidate)
    return n_columns - 1


def _column_index(index, n_columns: int, path: Path) -> int:
    if not -n_columns <= int(index) < n_columns:
        raise ValueError(
            f"label_column={index} is out of range for {path}, which has {n_columns} columns"
        )
    return int(index) % n_columns


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
