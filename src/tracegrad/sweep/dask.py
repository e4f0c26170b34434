"""Running trials on Dask: a ``LocalCluster`` of worker processes, or a scheduler's cluster.

Workers only train; this process asks, tells and stores. Each worker runs one
trial at a time on one thread, with BLAS limited to one thread (the trial sets
it, and the environment below keeps the libraries from starting more), so a
trial's numbers do not depend on the machine it ran on.
"""

from __future__ import annotations

import contextlib
import logging
import sys

from .space import SweepError
from .trial import run_trial

# Read by OpenBLAS, MKL and OpenMP when a worker process starts.
_ONE_THREAD = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    )
}


class DaskRunner:
    """Submit trials to a ``distributed.Client`` and hand them back as they finish."""

    def __init__(self, client):
        from distributed import as_completed

        self.client = client
        self.slots = max(1, sum(client.nthreads().values()))
        self._done = as_completed()
        self._numbers = {}

    def submit(self, number: int, settings: dict, folds) -> None:
        future = self.client.submit(
            run_trial, settings, folds, pure=False, key=f"trial-{number}-{id(self)}"
        )
        self._numbers[future.key] = number
        self._done.add(future)

    def next(self):
        """(trial number, result dict or the exception the trial raised)."""
        future = next(self._done)
        number = self._numbers.pop(future.key)
        try:
            return number, future.result()
        except Exception as exc:  # noqa: BLE001 - the sweep decides what a failure means
            return number, exc


# Workers fork from a server process that imported the trial code once, instead of each
# starting a fresh interpreter that imports NumPy, scikit-learn and tracegrad again:
# on a loaded two-core machine that saves seconds per worker.
_FAST_START = {
    "distributed.worker.multiprocessing-method": "forkserver",
    # The statistical profiler samples every thread's stack each 10 ms: not needed here.
    "distributed.worker.profile.enabled": False,
    # Dask's default also sets MALLOC_TRIM_THRESHOLD_=65536, which hands freed memory back to
    # the system at once: every batch's arrays are then fresh pages, and a digits trial took
    # twice the CPU time it takes in this process. One-thread BLAS only.
    "distributed.nanny.pre-spawn-environ": _ONE_THREAD,
}


def _preload_trial_code() -> None:
    from distributed.utils import get_mp_context

    # Dask sets its own preload list on the first call; ours replaces it afterwards.
    modules = ["distributed", "numpy", "sklearn.datasets", "tracegrad.experiment"]
    get_mp_context().set_forkserver_preload([*modules, "tracegrad.sweep.trial"])


@contextlib.contextmanager
def _environ(values: dict):
    """Set environment variables for processes started inside (the fork server's too)."""
    import os

    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextlib.contextmanager
def _main_script_hidden():
    """Start worker processes without running the caller's script again in each of them.

    A forkserver (or spawn) child runs the parent's ``__main__`` again, as
    ``__mp_main__``, found by its ``__file__`` (or ``__spec__`` under ``python -m``):
    a script that runs a sweep without an ``if __name__ == "__main__":`` guard
    would repeat all its work and start a cluster inside every worker, and the
    cluster fail with "Nanny failed to start". Workers run only tracegrad's
    trial code, and Dask sends a function defined in ``__main__`` by value, so
    the script is not needed there. Both names are put back once the workers
    are up (the main thread waits for them meanwhile); a worker that Dask
    restarts later (after a crash) starts the ordinary way.
    """
    main = sys.modules.get("__main__")
    if main is None:
        yield
        return
    saved = {k: v for k, v in vars(main).items() if k in ("__file__", "__spec__")}
    main.__dict__.pop("__file__", None)
    main.__spec__ = None
    try:
        yield
    finally:
        main.__dict__.pop("__spec__", None)
        main.__dict__.update(saved)


@contextlib.contextmanager
def dask_runner(workers: int | None = None, scheduler: str | None = None, timeout: float = 10):
    """Run a sweep's trials on Dask workers: ``run_sweep(space, runner=runner)`` inside.

    Parameters
    ----------
    workers : int, optional
        Start a ``LocalCluster`` of this many worker processes (one thread each,
        BLAS on one thread), closed when the ``with`` block ends. None: Dask's
        default count.
    scheduler : str, optional
        The address of a running scheduler (``tcp://host:8786``) to use instead;
        its cluster is left running.
    timeout : float
        Seconds to wait for ``scheduler`` before giving up with ``SweepError``.

    Yields
    ------
    DaskRunner
        For ``run_sweep(..., runner=...)``; ``runner.client`` is the
        ``distributed.Client``.

    Notes
    -----
    The local workers start without running the calling script again, so a script
    without an ``if __name__ == "__main__":`` guard (a tutorial, a notebook export)
    may start a sweep; the workers run only tracegrad's trial code. Two consequences:
    code at the top of a guarded script does not run in the workers either, and a
    worker that Dask restarts after a crash starts the ordinary way, running a
    guardless script again. Scripts meant to run long sweeps should keep the guard.
    """
    import dask
    from distributed import Client, LocalCluster

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise SweepError(
                f"cannot reach the Dask scheduler at {scheduler} within {timeout:g} s ({reason}): "
                "start one with 'dask scheduler', check the address, or use --workers N"
            ) from None
        with client:
            yield DaskRunner(client)
        return
    with dask.config.set(_FAST_START), _environ(_ONE_THREAD), _main_script_hidden():
        _preload_trial_code()
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
    with cluster, Client(cluster) as client:
        yield DaskRunner(client)
