"""Atomic ``.npz`` archives with JSON entries, shared by checkpoints and model files.

An archive is a plain ``.npz``: arrays under their names, and JSON documents
stored as uint8 arrays of UTF-8 bytes, so reading one never needs pickle and
never runs code. Writing goes through a temporary file in the target's
directory and ``os.replace``: a reader sees the old file or the new one, never
half of one.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .. import limits
from ..atomic import atomic_write
from ..bounded import load_npz


def _json_default(value):
    # NumPy scalars and small arrays show up in metrics; store them as plain numbers.
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON-serializable")


def pack_json(obj) -> np.ndarray:
    """``obj`` as a uint8 array of UTF-8 JSON bytes; raises TypeError if it is not JSON-able."""
    text = json.dumps(obj, default=_json_default, ensure_ascii=False)
    return np.frombuffer(text.encode("utf-8"), dtype=np.uint8).copy()


def unpack_json(array: np.ndarray, what: str):
    """Decode an array written by :func:`pack_json`; ValueError names ``what`` if it cannot."""
    if not isinstance(array, np.ndarray) or array.dtype != np.uint8 or array.ndim != 1:
        raise ValueError(f"{what} is not a JSON entry (a 1-D uint8 array)")
    # Parsed JSON takes many times its text in memory (a list of numbers: ~30x).
    if array.size > limits.get("MAX_JSON_BYTES"):
        raise ValueError(
            f"{what} " + limits.over_limit("holds JSON text of", array.size, "MAX_JSON_BYTES")
        )
    try:
        return json.loads(array.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{what} is not valid JSON ({err})") from None


def write_npz_atomic(path, arrays: dict) -> Path:
    """Write ``arrays`` to ``path`` as an uncompressed ``.npz``, atomically."""
    with atomic_write(path) as f:
        np.savez(f, **arrays)
    return Path(path)


def read_npz(path: Path, error: type[ValueError]) -> dict:
    """Every array of the ``.npz`` at ``path``, read without pickle and within limits.

    Any problem with the content (not a zip, truncated, an object array, a
    damaged entry, a compressed entry, sizes over :mod:`tracegrad.limits` or
    contradicting each other) raises ``error`` with one line naming the file;
    the underlying exception is not chained, so no traceback of NumPy internals.
    """
    path = Path(path)
    # Opened here first so a missing file stays a FileNotFoundError, which is not a bad file.
    with open(path, "rb") as f:
        head = f.read(8)
    if not head.startswith(ZIP_MAGIC):
        raise error(f"{path}: {_describe_foreign(head)}")
    try:
        # tracegrad never compresses, and a small deflated entry can expand to gigabytes
        return load_npz(path, compressed_ok=False)
    except ValueError as err:  # FileLimitError and pickles included: their text names the file
        text = str(err)
        if "pickle" in text:
            problem = "an entry holds pickled objects, never loaded as they could run code"
        elif text.startswith(str(path)):
            problem = text[len(str(path)) :].lstrip(": ")
        else:
            problem = f"an entry is not a readable array ({_one_line(err)})"
    except (OSError, EOFError, zipfile.BadZipFile, MemoryError) as err:
        problem = f"the archive is truncated or damaged ({_one_line(err)})"
    except Exception as err:  # any parser failure means a bad file
        problem = f"the archive could not be parsed ({type(err).__name__}: {_one_line(err)})"
    raise error(f"{path}: {problem}")


ZIP_MAGIC = b"PK\x03\x04"


def _describe_foreign(head: bytes) -> str:
    if not head:
        return "the file is empty"
    if head.startswith(b"\x93NUMPY"):
        return "it holds a single .npy array, not an .npz archive"
    if head[:1] == b"\x80" or head[:1] in (b"(", b"c", b"]", b"}"):
        return "it looks like a pickle, which is never loaded because it could run code"
    return "it is not an .npz archive (it does not start with the zip signature)"


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split())
    return text[:200] or type(err).__name__


def describe_error(err: BaseException) -> str:
    """One line for the user from an exception raised while checking a file's content."""
    if isinstance(err, KeyError):
        return f"the entry {err.args[0]!r} is missing" if err.args else "an entry is missing"
    if isinstance(err, RecursionError):
        return "the JSON is nested too deeply to be a real description"
    return _one_line(err)
