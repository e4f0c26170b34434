"""Reading IDX files (the MNIST format) and checking files against known checksums.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension,
then the values in C order. The magic's first two bytes are zero, the third
is the value type (0x08: unsigned byte) and the fourth the number of
dimensions: 2051 = 0x0803 is a stack of images, 2049 = 0x0801 a label vector.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .. import limits
from .base import CorruptDatasetError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049
_UBYTE = 0x08
_CHUNK = 1 << 20

# (resolved path, mtime_ns, size) -> SHA-256 hex digest of files already hashed
# in this process, so loading MNIST twice does not rehash 10-26 MB each time.
_sha256_cache: dict[tuple[str, int, int], str] = {}


def read_idx(path, expected_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (``.gz`` compressed or not) into a uint8 array.

    Parameters
    ----------
    path : str or Path
        The file; names ending in ``.gz`` are decompressed.
    expected_magic : int, optional
        ``IMAGES_MAGIC`` (2051) or ``LABELS_MAGIC`` (2049) to insist on.

    Returns
    -------
    numpy.ndarray of uint8
        Shaped as the header says, e.g. (60000, 28, 28) for MNIST images.

    Raises
    ------
    CorruptDatasetError
        If the file is not valid gzip, has a bad magic number, is shorter
        or longer than its header promises, or its header promises more
        than ``tracegrad.limits.MAX_ARRAY_BYTES`` (checked before reading on).
    """
    path = Path(path)
    # Streamed: the header is checked before anything is allocated, and no more
    # than it promises (plus one byte, to notice a longer file) is ever inflated.
    if path.suffix != ".gz":
        with open(path, "rb") as f:
            return _read_idx_stream(f, path, expected_magic)
    try:
        with gzip.open(path, "rb") as f:
            return _read_idx_stream(f, path, expected_magic)
    except (OSError, EOFError, zlib.error) as error:
        raise CorruptDatasetError(
            f"{path} is not a complete gzip file ({error}); it is probably truncated: "
            "delete it and download it again"
        ) from None


def _read_idx_stream(f, path: Path, expected_magic) -> np.ndarray:
    head = f.read(4)
    if len(head) < 4:
        raise CorruptDatasetError(f"{path} holds {len(head)} bytes: too short for an IDX header")
    zero, type_code, ndim = struct.unpack(">HBB", head)
    magic = struct.unpack(">I", head)[0]
    if zero != 0 or (expected_magic is not None and magic != expected_magic):
        wanted = "" if expected_magic is None else f" (expected {expected_magic})"
        raise CorruptDatasetError(
            f"{path} has magic number {magic}{wanted}: not an IDX file of the right kind; "
            "check that the file names were not swapped, or download it again"
        )
    if type_code != _UBYTE:
        raise CorruptDatasetError(
            f"{path} stores IDX type code 0x{type_code:02x}; only unsigned bytes (0x08) "
            "are supported, as used by MNIST and Fashion-MNIST"
        )
    dims = f.read(4 * ndim)
    if len(dims) < 4 * ndim:
        raise CorruptDatasetError(f"{path} ends inside its header: the file is truncated")
    shape = struct.unpack(f">{ndim}I", dims)
    count = math.prod(shape)  # a Python int: huge dimensions must not wrap around
    # Pixels become float32 when loaded, hence 4 bytes each.
    if 4 * count > limits.get("MAX_ARRAY_BYTES"):
        raise CorruptDatasetError(
            f"{path}: "
            + limits.over_limit(
                f"its header {shape} promises values that need", 4 * count, "MAX_ARRAY_BYTES"
            )
        )
    values = np.empty(count, dtype=np.uint8)
    got = _read_into(f, memoryview(values))
    extra = f.read(1)
    if got != count or extra:
        actual = f"{4 + 4 * ndim + got:,}" + (" or more" if extra else "")
        raise CorruptDatasetError(
            f"{path} holds {actual} bytes (decompressed) but its header {shape} promises "
            f"{4 + 4 * ndim + count:,}: the file is truncated or damaged; download it again"
        )
    return values.reshape(shape)


def _read_into(f, view: memoryview) -> int:
    """Fill ``view`` from ``f`` in chunks; the number of bytes read (short at end of file)."""
    done = 0
    while done < len(view):
        n = f.readinto(view[done : done + _CHUNK])
        if not n:
            break
        done += n
    return done


def sha256_of(path) -> str:
    """SHA-256 hex digest of a file, remembered per (path, mtime, size) in this process."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _sha256_cache:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        _sha256_cache[key] = digest.hexdigest()
    return _sha256_cache[key]


def verify_file(path, size: int, sha256: str, known: dict[str, str] | None = None) -> None:
    """Check a file's size, then its SHA-256; raise ``CorruptDatasetError`` if either differs.

    Parameters
    ----------
    known : dict, optional
        SHA-256 -> description of other known files, used to say which file
        this is when it is a different one (e.g. MNIST found where
        Fashion-MNIST was expected).
    """
    path = Path(path)
    actual_size = os.path.getsize(path)
    digest = sha256_of(path)
    if actual_size == size and digest == sha256:
        return
    if known and digest in known:
        what = f"it is {known[digest]}, not the file expected here"
    elif actual_size != size:
        what = f"it has {actual_size} bytes, expected {size}"
    else:
        what = f"its SHA-256 is {digest}, expected {sha256}"
    raise CorruptDatasetError(
        f"{path} does not match the published file: {what}. Delete it and download it "
        "again (--download), or point --data-dir at the right copy"
    )
