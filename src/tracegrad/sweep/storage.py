"""Where finished trials live: Optuna's RDB storage over one SQLite file.

Optuna commits every finished trial in its own transaction, and SQLite's
journal makes that commit survive a ``kill -9`` or a power cut, so a sweep run
again finds every trial that had finished. A file that is not such a database
is refused before anything writes to it.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from .space import SweepError

# Tables Optuna's schema has; a SQLite file holding other tables belongs to someone else.
_OPTUNA_TABLES = {"studies", "trials", "version_info"}


def check_storage_file(path) -> Path:
    """Refuse a path that exists and is not an (empty or Optuna) SQLite database."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise SweepError(f"--storage {path} is a folder: give a file, e.g. {path / 'sweep.db'}")
    if not path.exists() or path.stat().st_size == 0:
        if not path.parent.is_dir():
            raise SweepError(f"--storage {path}: the folder {path.parent} does not exist")
        return path
    try:  # read-only: a corrupt file must be left exactly as it was
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as exc:
        raise SweepError(
            f"--storage {path} is not a sweep storage file ({exc}): it was left untouched; "
            "give a new file name to start a sweep there"
        ) from None
    if tables and not _OPTUNA_TABLES <= tables:
        raise SweepError(
            f"--storage {path} is an SQLite database of something else (tables "
            f"{', '.join(sorted(tables)[:4])}): it was left untouched; give a new file name"
        )
    return path


def open_storage(path):
    """An Optuna ``RDBStorage`` on ``path`` (checked first), or in memory for ``None``."""
    import optuna

    if path is None:
        return optuna.storages.InMemoryStorage()
    path = check_storage_file(path)
    try:
        return optuna.storages.RDBStorage(
            f"sqlite:///{path.resolve()}", engine_kwargs={"connect_args": {"timeout": 60}}
        )
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's and Optuna's errors, one line
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SweepError(f"--storage {path} cannot be used as sweep storage: {first}") from None


@contextlib.contextmanager
def held(path):
    """Hold the storage file for this sweep alone, so that no trial runs twice at once.

    Another sweep on the same file would take this one's running trials for ones
    a crash left behind and run them again. ``flock`` is released by the kernel
    when the process dies (``kill -9`` too), and SQLite's own locks are
    ``fcntl`` locks, which ``flock`` does not touch.
    """
    if path is None:
        yield
        return
    import fcntl

    with open(Path(path).expanduser(), "rb") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise SweepError(
                f"--storage {path} is in use by another running sweep: wait for it to end, "
                "or give another file"
            ) from None
        yield
