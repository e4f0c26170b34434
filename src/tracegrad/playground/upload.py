"""A user's own CSV, read by ``datasets.load_file`` like ``tracegrad train --dataset my.csv``.

The bytes are written to a private temporary folder under the uploaded file's
(cleaned) name and read there, so the rules and the one-line messages are the
command line's; the temporary folder's path is replaced by the file's name in
every message, so no path of the machine reaches the page.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import numpy as np

from .. import datasets
from .settings import MAX_SAMPLES

MAX_BYTES = 1_000_000
MAX_CLASSES = 8  # the page's palette


class UploadError(ValueError):
    """An upload refused: one line for the page."""


def clean_name(name) -> str:
    """A safe file name ending in .csv, or UploadError."""
    stem = Path(str(name or "")).name
    if not stem.lower().endswith(".csv"):
        raise UploadError(
            f"{stem or 'the upload'}: unsupported file type; the playground reads .csv files "
            "with two feature columns and a label"
        )
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem)[-64:]
    return stem if stem[0] not in ".-" else "upload" + stem


def too_big(n_bytes: int) -> str:
    return (
        f"the file has {n_bytes:,} bytes or more: the playground takes CSV files up to "
        f"{MAX_BYTES:,} bytes ({MAX_SAMPLES} rows of two features and a label)"
    )


def read(name: str, content: bytes) -> datasets.Dataset:
    """Parse an uploaded CSV; raise UploadError with the CLI's message otherwise."""
    if len(content) > MAX_BYTES:
        raise UploadError(too_big(len(content)))
    with tempfile.TemporaryDirectory(prefix="tracegrad-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        try:
            ds = datasets.load_file(path)
        except (ValueError, UnicodeDecodeError, OSError) as exc:
            text = str(exc).replace(str(path), name).replace(folder, "")
            raise UploadError(
                text.strip().splitlines()[0] if text.strip() else "unreadable"
            ) from None
    if ds.n_features != 2:
        raise UploadError(
            f"{name} has {ds.n_features} feature columns: the playground draws 2-D data; "
            "keep two feature columns and the label"
        )
    if not np.isfinite(ds.X).all():
        raise UploadError(f"{name} holds non-finite values (nan or inf): remove those rows")
    if not 2 <= ds.n_classes <= MAX_CLASSES:
        raise UploadError(
            f"{name} has {ds.n_classes} classes: the playground needs 2 to {MAX_CLASSES}"
        )
    if not 10 <= ds.n_samples <= MAX_SAMPLES:
        raise UploadError(
            f"{name} has {ds.n_samples} rows: the playground takes 10 to {MAX_SAMPLES}"
        )
    return ds
