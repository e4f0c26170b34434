"""``tracegrad sweep``: options in, a stored, resumable sweep and its report out."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import sys
import time
from pathlib import Path

from .space import Space, SweepError, parse_space


def space_from_args(args, converters: dict) -> Space:
    """The search space from parsed options (train's, read as text)."""
    from ..experiment import Config

    fields = {f.name for f in dataclasses.fields(Config)}
    raw = {name: getattr(args, name) for name in converters if name in fields}
    space = parse_space(raw, converters)
    for name in fields & set(vars(args)) - set(raw) - {"out", "resume", "quiet", "plots"}:
        space.fixed[name] = getattr(args, name)
    space.fixed["quiet"], space.fixed["plots"] = True, False
    return space


def check_space(space: Space, folds) -> None:
    """Refuse, before anything is stored, settings no trial could train with."""
    from ..experiment import Config, ConfigError, parse_layers
    from .trial import _data

    def config(**changes):
        c = Config(**{**space.fixed, **changes})
        c.validate()
        return c

    base = config()
    tasks = {base.task, *(v for a in space.axes if a.name == "task" for v in a.values)}
    if "regression" in tasks:  # trials score validation accuracy: say so, never a wrong score
        raise SweepError(
            "tracegrad sweep scores classification runs (validation accuracy); --task "
            "regression is not supported yet: sweep regressors with tracegrad.sklearn."
            "MLPRegressor and GridSearchCV"
        )
    if folds is not None and folds < 2:
        raise SweepError(f"--folds must be at least 2, got {folds}")
    if folds is None and base.val_split <= 0:
        raise SweepError("a sweep scores on held-out data: give --val-split > 0 or --folds K")
    ends = [(a, v) for a in space.axes for v in (a.values or (a.low, a.high))]
    for axis, value in ends:
        try:
            config(**{axis.name: value})
        except ConfigError as exc:
            raise SweepError(f"{axis.option} value {value!r}: {exc}") from None
    train, _, _ = _data(
        base.dataset, base.data_dir, base.download, base.seed, base.val_split, base.scale
    )
    layers = [v for a, v in ends if a.name == "layers"] or [base.layers]
    for spec in layers:
        parse_layers(spec, train.n_features, train.n_classes)


def run_command(args, converters: dict) -> int:
    from .report import best_row, picture, table_text, trial_rows, write_table
    from .search import count_trials, run_sweep
    from .storage import held, open_storage

    space = space_from_args(args, converters)
    check_space(space, args.folds)
    if args.workers is not None and args.scheduler is not None:
        raise SweepError("give --workers N or --scheduler ADDRESS, not both")
    if args.prune and (args.workers is not None or args.scheduler is not None):
        raise SweepError("--prune needs the trials in this process: drop --workers/--scheduler")
    count_trials(space, args.search, args.trials)  # refused before the storage file is made
    storage = open_storage(args.storage)
    started = time.perf_counter()

    def show(t):
        if not args.quiet:
            shown = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in t.params.items())
            value = "-" if t.value is None else f"{t.value:.4f}"
            print(f"trial {t.number}: {shown}: {t.state.name.lower()} {value}", file=sys.stderr)

    with held(args.storage), _runner(args) as runner:
        study = run_sweep(
            space,
            storage=storage,
            search=args.search,
            trials=args.trials,
            folds=args.folds,
            prune=args.prune,
            runner=runner,
            on_trial=show,
        )
    rows = trial_rows(study, space)
    best = best_row(rows)
    out = Path(args.out) if args.out else Path("sweeps") / time.strftime("%Y%m%d-%H%M%S")
    files = {"table": out / "trials.csv"}
    write_table(rows, space, files["table"])
    drawn = picture(
        rows, space, out / ("validation_curve.png" if len(space.axes) == 1 else "heat_map.png")
    )
    if drawn is not None:
        files["picture"] = drawn
    seconds = time.perf_counter() - started
    if not args.json:
        if not args.quiet:
            print(table_text(rows, space))
        if best is None:
            print("no trial finished with a score")
        else:
            shown = " ".join(f"--{k.replace('_', '-')} {v}" for k, v in best["params"].items())
            print(f"best: {shown} (validation score {best['score']:.4f}, trial {best['number']})")
        print(f"{len(rows)} trials in {seconds:.1f} s; files in {out}")
        return 0
    keep = ("number", "params", "score", "val_loss", "epochs_run", "state")
    result = {
        "trials": [{k: r[k] for k in keep} for r in rows],
        "best": None if best is None else {k: best[k] for k in ("number", "params", "score")},
        "files": {k: str(v) for k, v in files.items()},
        "seconds": round(seconds, 3),
    }
    print(json.dumps(result, allow_nan=False))
    return 0


@contextlib.contextmanager
def _runner(args):
    if args.workers is None and args.scheduler is None:
        yield None
        return
    from .dask import dask_runner

    with dask_runner(args.workers, args.scheduler, args.scheduler_timeout) as runner:
        yield runner
