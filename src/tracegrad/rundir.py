"""Run folders: one run per folder, never two at once, nothing half-made left behind.

``tracegrad train`` writes a run into ``runs/<date>-<time>-<n>`` (created with an
exclusive ``mkdir``, so two runs started in the same second get two folders) or
into ``--out``. While it runs, it holds a lock file in the folder:

- a second run on the same folder is refused, naming the owner's PID and host;
- the lock is an ``flock`` on ``.tracegrad.lock``, which the kernel releases when
  its owner dies, ``kill -9`` included, so a dead owner never blocks a new run;
- a folder that holds another run's files (a model, a checkpoint, a history) is
  refused unless the run resumes it or ``--overwrite`` is given: results are
  never replaced by surprise, and a resumable run is never clobbered;
- a run that fails before it has anything to keep (no checkpoint) removes the
  files it wrote and the folders it created; a default folder left empty by a
  run killed outright is removed by the next default run.
"""

from __future__ import annotations

import os
import shlex
import socket
import time
from pathlib import Path

from .atomic import fcntl, remove_orphans

LOCK_NAME = ".tracegrad.lock"
# Every file a run writes: what --overwrite deletes, what marks a folder as holding a run.
RUN_FILES = (
    "model.npz",
    "metrics.json",
    "history.csv",
    "checkpoint.npz",
    "learning_curves.png",
    "confusion_matrix.png",
    "decision_boundary.png",
    "first_layer_weights.png",
)
_MARKS = ("model.npz", "metrics.json", "checkpoint.npz", "history.csv")


class RunFolderError(ValueError):
    """The output folder cannot take this run (in use, holds another run, not a folder)."""


class RunFolder:
    """A locked output folder; use :meth:`open` or :meth:`new_default`, then :meth:`close`."""

    def __init__(self, path: Path, created: list[Path]):
        self.path, self._created, self._fd = path, created, None

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def new_default(cls, root="runs") -> RunFolder:
        """A new, unique ``root/<YYYYmmdd-HHMMSS>-<n>``, created atomically and locked."""
        root = Path(root)
        created = _make_parents(root)
        _remove_killed_empty_runs(root)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for n in range(1, 10_000):
            path = root / f"{stamp}-{n}"
            try:
                os.mkdir(path)  # exclusive: fails if another run took this name first
            except FileExistsError:
                continue
            folder = cls(path, [*created, path])
            folder._lock()
            return folder
        raise RunFolderError(f"{root}: could not create a new run folder: pass --out")

    @classmethod
    def for_run(cls, out=None, resumed=None, overwrite: bool = False) -> RunFolder:
        """The folder of a run: ``out``, else the resumed run's folder, else a new default one."""
        if out is None and resumed is not None:
            return cls.open(resumed, resuming=True)
        if out is not None:
            same = resumed is not None and _same_dir(out, resumed)
            return cls.open(out, resuming=same, overwrite=overwrite)
        return cls.new_default()

    @classmethod
    def open(cls, path, *, resuming: bool = False, overwrite: bool = False) -> RunFolder:
        """Lock ``path`` (created if missing) for a run; refuse it if it holds another run."""
        path = Path(path)
        if path.exists() and not path.is_dir():
            raise RunFolderError(f"--out {path} is a file, not a folder: pass a folder name")
        created = _make_parents(path.parent)
        try:
            os.mkdir(path)
            created.append(path)
        except FileExistsError:
            pass
        folder = cls(path, created)
        try:
            folder._lock()
            if not resuming:
                held = [name for name in _MARKS if (path / name).exists()]
                if held and not overwrite:
                    what = "an unfinished run" if "model.npz" not in held else "a finished run"
                    fix = (
                        f"resume it with 'tracegrad train --resume {shlex.quote(str(path))}', "
                        if what == "an unfinished run"
                        else ""
                    )
                    raise RunFolderError(
                        f"--out {path} already holds {what} ({held[0]}): {fix}"
                        "choose another --out, or pass --overwrite to replace it"
                    )
                for name in RUN_FILES if overwrite else ():
                    (path / name).unlink(missing_ok=True)
        except BaseException:
            folder.close(failed=True)
            raise
        return folder

    # -- closing -------------------------------------------------------------------------------
    def close(self, failed: bool = False) -> None:
        """Release the lock; after a failure with nothing to resume, remove what the run made."""
        ours = self._fd is not None or fcntl is None  # never touch a folder another run holds
        if failed and ours and self._created and not (self.path / "checkpoint.npz").exists():
            # Only in folders this run created: elsewhere files may predate it.
            for name in RUN_FILES:
                (self.path / name).unlink(missing_ok=True)
        self._unlock()
        if failed:
            for directory in reversed(self._created):
                try:
                    directory.rmdir()  # only if empty: never deletes what is not ours
                except OSError:
                    break

    def __enter__(self) -> RunFolder:
        return self

    def __exit__(self, kind, value, tb) -> None:
        self.close(failed=kind is not None)

    # -- the lock ------------------------------------------------------------------------------
    def _lock(self) -> None:
        if fcntl is None:  # pragma: no cover - Windows: no lock, runs are trusted not to collide
            return
        lock = self.path / LOCK_NAME
        while True:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                owner = _read_owner(fd)
                os.close(fd)
                raise RunFolderError(
                    f"{self.path} is in use by another tracegrad run ({owner}): wait for it "
                    "to finish, or pass another --out"
                ) from None
            # The previous owner may have unlinked the file between our open and our lock:
            # then we hold a lock on a file nobody else sees; start again.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(lock))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
        self._fd = fd
        # Temporary files of a writer killed here before (kill -9 during a checkpoint).
        remove_orphans(self.path)

    def _unlock(self) -> None:
        if self._fd is None:
            return
        try:
            (self.path / LOCK_NAME).unlink(missing_ok=True)  # still locked: nobody races us
        finally:
            os.close(self._fd)
            self._fd = None


def _remove_killed_empty_runs(root: Path) -> None:
    """Remove folders under ``root`` left by runs killed before they wrote anything.

    Such a folder holds only its lock file, with an owner written in it (so its
    run did hold the lock once) and the lock free (so that run is dead): a
    run that is starting has no owner written yet, a live one holds its lock.
    """
    if fcntl is None:  # pragma: no cover - Windows
        return
    try:
        folders = [e for e in os.scandir(root) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return
    for entry in folders:
        lock = Path(entry.path) / LOCK_NAME
        try:
            if os.listdir(entry.path) != [LOCK_NAME] or lock.stat().st_size == 0:
                continue
            fd = os.open(lock, os.O_RDWR)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            lock.unlink()
            os.rmdir(entry.path)
        except OSError:
            pass  # held by a live run, or something appeared in it meanwhile
        finally:
            os.close(fd)


def _same_dir(a, b) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def _read_owner(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    return text or "owner unknown"


def _make_parents(path: Path) -> list[Path]:
    """``mkdir -p path``; return the folders it created, outermost first."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    created = []
    for directory in reversed(missing):
        try:
            os.mkdir(directory)
            created.append(directory)
        except FileExistsError:
            if not directory.is_dir():
                raise RunFolderError(f"{directory} is a file, not a folder") from None
    return created
