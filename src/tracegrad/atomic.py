"""Writing files atomically: a reader sees the old file or the new one, never half of one.

A write goes to a temporary file ``.<name>.<random>.tmp`` next to the target,
renamed over it at the end. The writer holds an advisory lock (``flock``) on
its temporary file while writing, and the kernel drops that lock when the
process dies, even by ``kill -9``. So a temporary file whose lock can be taken
is an orphan of a dead writer: the next write of the same target, and
:func:`remove_orphans` (called when a run folder is opened or resumed), delete it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

try:  # POSIX; elsewhere orphans are left for the user (no way to tell a live writer)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

TMP_SUFFIX = ".tmp"


@contextlib.contextmanager
def atomic_write(path, mode: str = "wb", **open_args):
    """Open a temporary file next to ``path``; on success it replaces ``path`` atomically.

    The data is flushed and fsynced before ``os.replace``. On any error (Ctrl-C
    included) the temporary file is removed and an existing file at ``path`` is
    untouched. The new file gets the usual permissions (0o666 less the umask),
    not the private 0o600 of a temporary file. Temporary files of ``path`` left
    by a writer that was killed are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_orphans(path.parent, f".{path.name}.")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)  # "a live writer owns this file"; freed on exit
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            # Renamed while still open, so the lock covers the file until it has its final name.
            os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def remove_orphans(directory, prefix: str = ".") -> list[Path]:
    """Delete the temporary files under ``directory`` (named ``prefix*.tmp``) of dead writers.

    A temporary file is an orphan when its writer's lock can be taken; a live
    writer's file is left alone. Returns the paths removed.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return []
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        if not (entry.name.startswith(prefix) and entry.name.endswith(TMP_SUFFIX)):
            continue
        if not entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
            continue
        try:
            fd = os.open(entry.path, os.O_RDONLY)
        except OSError:
            continue  # gone already, or not ours to read
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue  # a live writer holds it
        try:
            os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            pass
        finally:
            os.close(fd)
    return removed


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; not every platform can open a directory."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
