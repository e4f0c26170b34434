"""Hyperparameter sweeps over train's options: grids, seeded searches, stored trials, Dask.

``space`` reads lists and ranges, ``trial`` trains and scores one setting,
``search`` drives Optuna's samplers and stores every finished trial,
``storage`` opens the SQLite file, ``dask`` runs trials on a cluster, and
``report`` writes the table and the picture. Optuna and Dask are the
``[sweep]`` extra: ``pip install 'tracegrad[sweep]'``; neither is imported until a
sweep runs. From Python::

    space = Space({"dataset": "digits", "epochs": 5}, [Axis("l2", values=(0.0, 1.0))])
    with dask_runner(workers=2) as runner:      # or run_sweep(space) in this process
        study = run_sweep(space, runner=runner)  # an optuna.Study
"""

from .dask import dask_runner
from .search import run_sweep
from .space import Axis, Space, SweepError, parse_space
from .trial import run_trial

__all__ = ["Axis", "Space", "SweepError", "dask_runner", "parse_space", "run_sweep", "run_trial"]
