"""Fetching a data file from a list of mirrors, checked and written atomically.

The file is streamed into a temporary file in the destination directory and
moved into place with ``os.replace`` only once its SHA-256 matches, so an
interrupted or corrupted download never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from .. import limits
from .base import CorruptDatasetError

_CHUNK = 1 << 16


class DownloadError(OSError):
    """No mirror delivered a file with the expected checksum."""


def download_file(
    urls, dest, sha256: str, size: int | None = None, progress: bool = True, timeout=60.0
) -> Path:
    """Download ``dest`` from the first of ``urls`` that delivers the expected bytes.

    Parameters
    ----------
    urls : list of str
        Full URLs to try in order (``https://``, ``http://`` or ``file://``).
    dest : str or Path
        Where the file goes; its directory is created if needed.
    sha256 : str
        Expected SHA-256 hex digest.
    size : int, optional
        Expected size in bytes. A server announcing another size is skipped
        before anything is written, and a download is cut off as soon as it
        passes ``size``. Without it, at most ``tracegrad.limits.MAX_DOWNLOAD_BYTES``.
    progress : bool
        Show a tqdm progress bar (only when stderr is a terminal).
    timeout : float
        Seconds to wait for a server before trying the next mirror.

    Returns
    -------
    Path
        ``dest``, now holding the verified file.

    Raises
    ------
    DownloadError
        If every URL failed; the one-line message lists each URL with its error.
        No partial file is left behind.
    """
    import http.client

    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    failures = []
    for url in urls:
        try:
            _download_one(url, dest, sha256, size, progress, timeout)
            return dest
        # ValueError covers a bad checksum (CorruptDatasetError) and a malformed
        # URL; http.client errors such as IncompleteRead are not OSErrors.
        except (OSError, ValueError, http.client.HTTPException) as error:
            failures.append(f"{url} ({type(error).__name__}: {' '.join(str(error).split())})")
    # One line: the CLI shows errors as a single line.
    raise DownloadError(
        f"could not download {dest.name}; tried {'; '.join(failures)}. "
        f"Fix: check the network connection, or fetch the file by hand into {dest.parent} "
        "and load it with --data-dir"
    )


def _download_one(url, dest: Path, sha256: str, size, progress: bool, timeout) -> None:
    import tempfile
    import urllib.request

    from tqdm import tqdm

    request = urllib.request.Request(url, headers={"User-Agent": "tracegrad"})
    fd, temp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(request, timeout=timeout) as r:
            length = r.headers.get("Content-Length")
            announced = int(length) if length and length.isdigit() else None
            if size is not None and announced not in (None, size):
                raise CorruptDatasetError(
                    f"the server announces {announced} bytes, expected {size}"
                )
            # The bytes written are capped as they arrive: a server (or a file:// URL
            # such as /dev/zero) that sends more can never fill the disk.
            cap = size if size is not None else limits.get("MAX_DOWNLOAD_BYTES")
            if announced is not None and announced > cap:
                raise CorruptDatasetError(
                    f"the server announces {announced} bytes, over the limit MAX_DOWNLOAD_BYTES"
                    f" of {cap} for a file of unknown size"
                )
            total = announced if announced is not None else size
            written = 0
            bar = tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                desc=dest.name,
                disable=None if progress else True,
                leave=False,
            )
            with bar:
                for chunk in iter(lambda: r.read(_CHUNK), b""):
                    written += len(chunk)
                    if written > cap:
                        raise CorruptDatasetError(
                            f"the server sent more than the {size} bytes expected; stopped there"
                            if size is not None
                            else f"the server sent more than {cap} bytes (the limit "
                            "MAX_DOWNLOAD_BYTES for a file of unknown size); stopped there"
                        )
                    digest.update(chunk)
                    out.write(chunk)
                    bar.update(len(chunk))
            if size is not None and written != size:
                raise CorruptDatasetError(f"the download stopped at {written} of {size} bytes")
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != sha256:
            raise CorruptDatasetError(
                f"downloaded bytes have SHA-256 {digest.hexdigest()}, expected {sha256}"
            )
        os.replace(temp, dest)
    finally:
        # After a successful os.replace the temporary name is gone; on any
        # failure (including Ctrl-C) it is removed so no partial file is left.
        if os.path.exists(temp):
            os.remove(temp)
