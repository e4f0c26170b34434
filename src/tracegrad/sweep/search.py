"""The sweep's loop: Optuna asks for settings, trials run here or on Dask, Optuna is told.

Optuna's ask/tell interface keeps the storage in this process alone (workers
only train), and lets each trial's settings be a function of its number: the
sampler of trial k is seeded from (seed, k), so a grid or random search gives
the same trials in the same order whether it ran serially, on a cluster, or in
two halves around a ``kill -9``. (TPE also sees the finished trials, so its
choices depend on which had finished: serial runs reproduce, parallel ones
need not.) Trials that were running when a sweep died are run again with the
settings stored for them (one that died while being asked gets its settings from
the same seeded sampler); finished ones never are.
"""

from __future__ import annotations

import hashlib
import json
import warnings

import numpy as np

from .space import Space, SweepError
from .trial import Pruned, run_trial

SEARCHES = ("grid", "random", "tpe")


def study_name(space: Space, search: str, folds, prune: bool) -> str:
    """A name fixed by what defines the trials, so the same command finds its study again."""
    key = {
        "fixed": space.fixed,
        "axes": [(a.name, a.describe()) for a in space.axes],
        "search": search,
        "folds": folds,
        "prune": prune,
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
    return f"tracegrad-sweep-{digest[:16]}"


def _distributions(space: Space) -> dict:
    from optuna.distributions import (
        CategoricalDistribution,
        FloatDistribution,
        IntDistribution,
    )

    out = {}
    for a in space.axes:
        if not a.is_range:
            out[a.name] = CategoricalDistribution(list(a.values))
        elif a.integer:
            out[a.name] = IntDistribution(int(a.low), int(a.high), log=a.log)
        else:
            out[a.name] = FloatDistribution(float(a.low), float(a.high), log=a.log)
    return out


def _sampler(space: Space, search: str, seed: int, number: int):
    import optuna

    if search == "grid":  # the seed orders the grid: one seed for all; the unasked points pick
        return optuna.samplers.GridSampler(space.grid(), seed=seed)
    trial_seed = int(np.random.SeedSequence([seed, number]).generate_state(1)[0])
    if search == "tpe":
        return optuna.samplers.TPESampler(seed=trial_seed)
    return optuna.samplers.RandomSampler(seed=trial_seed)


def run_sweep(
    space,
    *,
    storage=None,
    search=None,
    trials=None,
    folds=None,
    prune=False,
    runner=None,
    on_trial=None,
):
    """Run (or resume) the sweep and return its ``optuna.Study``.

    Parameters
    ----------
    space : Space
        Fixed settings and axes, from ``parse_space``.
    storage : optuna storage, optional
        From ``storage.open_storage``; in memory when None.
    search : {"grid", "random", "tpe"}, optional
        Default: grid when every axis is a list, else random.
    trials : int, optional
        Trials of a random or TPE search (a grid runs each point once).
    folds : int, optional
        Score each trial by stratified K-fold cross-validation on the training part
        instead of on the ``val_split`` hold-out (see ``trial.run_trial``).
    prune : bool, default False
        Stop trials whose validation accuracy falls below the median of earlier
        trials at the same epoch, or with ``folds`` at the same fold (the mean over
        the folds so far) (Optuna's ``MedianPruner``, after 3 trials); only with
        trials run here (SweepError with a ``runner``).
    runner : object, optional
        ``submit(number, settings, folds)`` and ``next() -> (number, result or
        exception)``, e.g. a ``dask.DaskRunner``; trials run here when None.
    on_trial : callable, optional
        Called with each stored ``FrozenTrial``.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    search = search or ("grid" if space.is_grid else "random")
    total = count_trials(space, search, trials)
    if prune and runner is not None:
        raise SweepError("--prune needs the trials in this process: drop --workers/--scheduler")
    pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=3) if prune else optuna.pruners.NopPruner()
    )
    storage = storage if storage is not None else optuna.storages.InMemoryStorage()
    name = study_name(space, search, folds, prune)
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize",
        pruner=pruner,
        load_if_exists=True,
    )
    # Optuna puts a write-through cache in front of RDB storage; writes must go through
    # the study's own storage object, or the study goes on reading its stale cache.
    storage = study._storage
    ids = _TrialIds(storage, storage.get_study_id_from_name(name))
    dists = _distributions(space)
    names = [a.name for a in space.axes]
    seed = space.fixed.get("seed", 0)
    todo = []  # (number, params, Trial or None) in the order they are run
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        params = t.params
        if not set(names) <= set(params):  # died while being asked: finish asking
            study.sampler = _sampler(space, search, seed, t.number)
            trial = optuna.trial.Trial(study, ids.of(t.number))
            params = {a.name: _suggest(trial, a) for a in space.axes}
        todo.append((t.number, {n: params[n] for n in names}, None))  # run again, same settings
    asked = len(study.get_trials(deepcopy=False))

    def ask():
        nonlocal asked
        study.sampler = _sampler(space, search, seed, asked)
        trial = study.ask(dists)
        # Telling runs the sampler's after_trial; GridSampler's would call study.stop()
        # once every point is asked, which only optimize() allows. Settings are chosen.
        study.sampler = optuna.samplers.RandomSampler(seed=0)
        asked += 1
        return trial.number, {n: trial.params[n] for n in names}, trial

    def finish(number, params, outcome):
        if isinstance(outcome, Pruned):
            study.tell(number, state=optuna.trial.TrialState.PRUNED)
        elif isinstance(outcome, Exception):
            from ..experiment import TrainingDiverged

            if not isinstance(outcome, TrainingDiverged):
                raise outcome
            ids.set_attrs(number, {"error": str(outcome)})
            study.tell(number, state=optuna.trial.TrialState.FAIL)
        else:
            ids.set_attrs(number, {k: v for k, v in outcome.items() if k != "score"})
            study.tell(number, outcome["score"])
        if on_trial is not None:
            on_trial(storage.get_trial(ids.of(number)))

    if runner is None:
        while todo or asked < total:
            number, params, trial = todo.pop(0) if todo else ask()
            report = None
            if trial is not None and prune:

                def report(epoch, value, trial=trial):
                    trial.report(value, epoch)
                    return trial.should_prune()

            try:
                outcome = run_trial({**space.fixed, **params}, folds, report)
            except (Pruned, Exception) as exc:  # noqa: BLE001 - sorted out in finish
                outcome = exc
            finish(number, params, outcome)
        return study
    pending = {}
    while todo or asked < total or pending:
        while (todo or asked < total) and len(pending) < runner.slots:
            number, params, _ = todo.pop(0) if todo else ask()
            pending[number] = params
            runner.submit(number, {**space.fixed, **params}, folds)
        number, outcome = runner.next()
        finish(number, pending.pop(number), outcome)
    return study


def _suggest(trial, axis):
    """The axis's value for ``trial``, from the study's sampler (what ``ask`` would give)."""
    if not axis.is_range:
        return trial.suggest_categorical(axis.name, list(axis.values))
    if axis.integer:
        return trial.suggest_int(axis.name, int(axis.low), int(axis.high), log=axis.log)
    return trial.suggest_float(axis.name, float(axis.low), float(axis.high), log=axis.log)


class _TrialIds:
    """Trial numbers to the storage's trial ids, through the storage's public methods."""

    def __init__(self, storage, study_id: int):
        self.storage, self.study_id = storage, study_id

    def of(self, number: int) -> int:
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)

    def set_attrs(self, number: int, attrs: dict) -> None:
        trial_id = self.of(number)
        for key, value in attrs.items():
            self.storage.set_trial_user_attr(trial_id, key, value)


def count_trials(space: Space, search: str | None, trials) -> int:
    """The number of trials a sweep runs; refuses a search that does not fit its space."""
    search = search or ("grid" if space.is_grid else "random")
    if search not in SEARCHES:
        raise SweepError(f"unknown --search {search!r}; choose one of {', '.join(SEARCHES)}")
    if not space.axes:
        raise SweepError("nothing to sweep: give an option a list (a,b) or a range (LOW:HIGH)")
    if search == "grid":
        if not space.is_grid:
            ranged = next(a.option for a in space.axes if a.is_range)
            raise SweepError(
                f"a grid search takes lists only, but {ranged} is a range: list its values "
                "or use --search random/tpe"
            )
        if trials is not None:
            raise SweepError(
                f"a grid runs each of its {space.grid_size()} points once: drop --trials, "
                "or give a range (LOW:HIGH) to search"
            )
        return space.grid_size()
    return 20 if trials is None else trials
