"""Reading ``.npy``, ``.npz`` and text files that may be hostile, within declared sizes.

``np.load`` trusts a file: a 3 MB ``.npz`` of deflated zeros inflates to
gigabytes, a zip directory may list one stored entry five thousand times, and
a ``.npy`` header may promise more values than follow it. The readers here
check what a file declares (the zip end record, each entry's sizes and
position, each ``.npy`` header) against the limits in :mod:`tracegrad.limits`
and against each other *before* allocating or inflating, then read in chunks.
Nothing is ever unpickled. Every refusal is a ``ValueError`` (``FileLimitError``
for sizes) with one line that starts with the file's path.
"""

from __future__ import annotations

import math
import struct
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from . import limits


class FileLimitError(ValueError):
    """A file declares more than a limit allows, or sizes that contradict each other."""


# -- .npy ------------------------------------------------------------------------------


def _npy_header(fp, path, what: str):
    """``(shape, fortran_order, dtype, header_bytes)`` of the .npy stream ``fp``."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        # 3.0 differs from 2.0 only in the text encoding of field names.
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read(fp)
    except ValueError as err:
        raise ValueError(f"{path}: {what} has no valid .npy header ({_one_line(err)})") from None
    if dtype.hasobject:
        raise ValueError(
            f"{path}: {what} holds Python objects (a pickle); tracegrad never unpickles, as "
            "that could run code: save plain numeric arrays (text as a str array)"
        )
    if any(n < 0 for n in shape):
        raise ValueError(f"{path}: {what} declares the negative shape {shape}")
    return shape, fortran, dtype, fp.tell()


def _array_cost(shape, dtype) -> int:
    # Python ints: a product of huge dimensions must not wrap around as int64 would.
    return math.prod(shape) * max(dtype.itemsize, 4)


def _check_body(path, what, shape, dtype, body_bytes: int, budget: int) -> int:
    """Refuse a header whose array is over ``budget`` or does not fill the body exactly."""
    cost = _array_cost(shape, dtype)
    if cost > budget:
        raise FileLimitError(
            f"{path}: "
            + limits.over_limit(f"{what} of shape {shape} needs", cost, "MAX_ARRAY_BYTES")
        )
    declared = math.prod(shape) * dtype.itemsize
    if declared != body_bytes:
        raise FileLimitError(
            f"{path}: {what} declares shape {shape} ({declared:,} bytes of {dtype}) but holds "
            f"{body_bytes:,} bytes: the file is truncated or forged; save it again"
        )
    return cost


def load_npy(path) -> np.ndarray:
    """The array of a ``.npy`` file, after checking its header against the file's size."""
    path = Path(path)
    with open(path, "rb") as f:
        shape, fortran, dtype, start = _npy_header(f, path, "the array")
        body = f.seek(0, 2) - start
        _check_body(path, "the array", shape, dtype, body, limits.get("MAX_ARRAY_BYTES"))
        f.seek(0)
        return np.lib.format.read_array(f, allow_pickle=False)


# -- .npz ------------------------------------------------------------------------------

_END = b"PK\x05\x06"
_END64_LOCATOR = b"PK\x06\x07"
_END64 = b"PK\x06\x06"


def _directory_size(f, path) -> tuple[int, int]:
    """``(entries, bytes)`` of the zip directory, from the end record, before zipfile reads it."""
    size = f.seek(0, 2)
    tail_size = min(size, 22 + 0xFFFF)  # the end record, then a comment of up to 64 KiB
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(_END)
    if at < 0 or len(tail) - at < 22:
        raise zipfile.BadZipFile("no end-of-directory record")
    entries, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
    locator = tail[at - 20 : at] if at >= 20 else b""
    if locator.startswith(_END64_LOCATOR):  # zip64: the real counts are in another record
        (offset,) = struct.unpack("<Q", locator[8:16])
        f.seek(offset)
        record = f.read(56)
        if not record.startswith(_END64) or len(record) < 56:
            raise zipfile.BadZipFile("damaged zip64 end record")
        entries, directory = struct.unpack("<QQ", record[32:48])
    return entries, directory


def _check_entries(archive: zipfile.ZipFile, path, compressed_ok: bool):
    infos = archive.infolist()
    names = [i.filename for i in infos]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise FileLimitError(f"{path}: the entry {twice!r} is listed twice; the archive is forged")
    for info in infos:
        if info.flag_bits & 0x1:
            raise ValueError(f"{path}: the entry {info.filename!r} is encrypted")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise FileLimitError(
                f"{path}: the entry {info.filename!r} uses compression method "
                f"{info.compress_type}; only stored and deflated entries (numpy.savez and "
                "numpy.savez_compressed) are read"
            )
        if info.compress_type and not compressed_ok:
            # tracegrad writes these files uncompressed; a deflated one is hand-made.
            raise FileLimitError(
                f"{path}: compressed entries such as {info.filename!r} are not accepted"
            )
        if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
            raise FileLimitError(
                f"{path}: the stored entry {info.filename!r} declares {info.file_size:,} bytes "
                f"but occupies {info.compress_size:,}: the archive is forged"
            )
    # Entries of a real zip follow one another; overlapping ones (one member listed
    # many times, or the overlapping-file zip bomb) make a small file read as gigabytes.
    by_offset = sorted(infos, key=lambda i: i.header_offset)
    for a, b in zip(by_offset, by_offset[1:], strict=False):
        # A local header takes at least 30 bytes before the data.
        if a.header_offset + 30 + a.compress_size > b.header_offset:
            raise FileLimitError(
                f"{path}: the entries {a.filename!r} and {b.filename!r} overlap in the file; "
                "a real archive never does that (this one is forged, possibly a zip bomb)"
            )
    return infos


def load_npz(path, names=None, compressed_ok: bool = True) -> dict:
    """Arrays of the ``.npz`` at ``path`` (those in ``names``, or all), read within limits.

    Parameters
    ----------
    path : str or Path
    names : iterable of str, optional
        Array names to read (e.g. ``("X", "y")``); others are checked but not
        inflated. Missing names are simply absent from the result.
    compressed_ok : bool
        Accept deflated entries (``numpy.savez_compressed``). Their declared
        sizes are checked first and inflation stops at the declared size.

    Raises
    ------
    FileLimitError
        Over a limit in :mod:`tracegrad.limits`, or sizes that contradict each
        other (entries overlapping, a header promising more than the entry holds).
    ValueError
        An object (pickled) array, an unreadable header, a damaged archive
        (``zipfile.BadZipFile`` is a subclass of neither: callers catch it).
    """
    path = Path(path)
    with open(path, "rb") as f:
        entries, directory = _directory_size(f, path)
        if entries > limits.get("MAX_ARCHIVE_ENTRIES"):
            raise FileLimitError(
                f"{path}: the archive lists {entries:,} entries, over the limit of "
                f"{limits.get('MAX_ARCHIVE_ENTRIES'):,} (TRACEGRAD_MAX_ARCHIVE_ENTRIES): .npz "
                "files of data and models hold a few"
            )
        if directory > limits.get("MAX_ZIP_DIRECTORY_BYTES"):
            raise FileLimitError(
                f"{path}: "
                + limits.over_limit("the zip directory takes", directory, "MAX_ZIP_DIRECTORY_BYTES")
            )
        f.seek(0)
        with zipfile.ZipFile(f) as archive:
            # zipfile walks the directory by its byte size, not the count checked above.
            if len(archive.infolist()) > limits.get("MAX_ARCHIVE_ENTRIES"):
                raise FileLimitError(f"{path}: the zip directory lists more entries than it says")
            infos = _check_entries(archive, path, compressed_ok)
            wanted = {i.filename[:-4]: i for i in infos if i.filename.endswith(".npy")}
            wanted.update({i.filename: i for i in infos if not i.filename.endswith(".npy")})
            if names is not None:
                names = set(names)
                wanted = {k: v for k, v in wanted.items() if k in names}
            budget = limits.get("MAX_ARRAY_BYTES")
            # Every header first, so an over-budget file is refused before anything inflates.
            for name, info in wanted.items():
                with archive.open(info) as member:
                    shape, _, dtype, start = _npy_header(member, path, f"the entry {name!r}")
                what = f"the entry {name!r}"
                budget -= _check_body(path, what, shape, dtype, info.file_size - start, budget)
            arrays = {}
            for name, info in wanted.items():
                with archive.open(info) as member:
                    arrays[name] = np.lib.format.read_array(member, allow_pickle=False)
            return arrays


# -- text ------------------------------------------------------------------------------


@contextmanager
def text_lines(path, row_bytes: int):
    """The lines of a UTF-8 text file, each read with a bounded ``readline``.

    A line longer than ``MAX_LINE_CHARS``, or more lines than ``MAX_ARRAY_BYTES``
    holds at ``row_bytes`` each, raise ``FileLimitError`` as soon as they are
    met: a 100 MB file on one line never becomes a 100 MB string, let alone
    a list of its fields.
    """
    max_chars = limits.get("MAX_LINE_CHARS")
    budget = limits.get("MAX_ARRAY_BYTES")
    max_lines = max(budget // max(row_bytes, 1), 1)

    def lines(f):
        for number in range(1, max_lines + 2):
            line = f.readline(max_chars + 1)
            if not line:
                return
            if len(line) > max_chars:
                raise FileLimitError(
                    f"{path}: line {number} is longer than {max_chars:,} characters (the "
                    "limit MAX_LINE_CHARS): is it really a CSV file? If it is, raise the limit "
                    "with the environment variable TRACEGRAD_MAX_LINE_CHARS"
                )
            if number > max_lines:
                raise FileLimitError(
                    f"{path} has more than {max_lines:,} rows, which at {row_bytes:,} bytes "
                    f"each take more than the limit of {limits.describe_bytes(budget)}; if the "
                    "file is genuine, raise it with the environment variable "
                    "TRACEGRAD_MAX_ARRAY_BYTES"
                )
            yield line

    with open(path, newline="", encoding="utf-8-sig") as f:
        yield lines(f)


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())[:200] or type(err).__name__
