"""The ``sweep`` command's options: train's own, read from train's parser, plus the sweep's.

Each of train's value options is copied with its name, default and help, but
read as text, so that it may hold a list (``16,32``) or a range (``1e-4:1:log``);
``space.parse_space`` then applies train's own conversion to every value. Train's
parser stays the one definition of those options.
"""

from __future__ import annotations

import argparse

# Options that define the data or the files of one run: the same for every trial.
NOT_SWEPT = {"dataset", "data_dir", "download", "val_split", "seed"}
# Options of one training run that a sweep does not take (it writes no run folder).
LEFT_OUT = {"out", "resume", "json", "plots", "help", "debug", "quiet"}

EXAMPLES = """examples:
  tracegrad sweep --dataset digits --layers 16,32,64 --l2 0,0.01 --epochs 8
  tracegrad sweep --lr 1e-4:1e-1:log --epochs 5:20 --trials 30 --storage sweep.db
  tracegrad sweep --l2 0,0.1,1,3,10 --folds 5 --workers 2 --json
  tracegrad sweep --layers 16-16,32 --scheduler tcp://10.0.0.5:8786"""


def _choice(convert, choices, name):
    def check(text):
        value = convert(text) if convert else text
        if value not in choices:
            raise argparse.ArgumentTypeError(f"choose one of {', '.join(map(str, choices))}")
        return value

    check.__name__ = getattr(convert, "__name__", name)
    return check


def copy_train_options(train_parser, parser) -> dict:
    """Add train's options to ``parser``; return ``{dest: converter}`` of the text ones."""
    converters = {}
    for source in train_parser._action_groups:
        actions = [a for a in source._group_actions if a.dest not in LEFT_OUT and a.option_strings]
        if not actions:
            continue
        group = parser.add_argument_group(source.title)
        for a in actions:
            if isinstance(a, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
                kind = "store_true" if isinstance(a, argparse._StoreTrueAction) else "store_false"
                group.add_argument(*a.option_strings, dest=a.dest, action=kind, help=a.help)
                continue
            swept = a.dest not in NOT_SWEPT
            group.add_argument(
                *a.option_strings,
                dest=a.dest,
                default=a.default,
                metavar=a.metavar or a.dest.upper(),
                type=None if swept else a.type,
                choices=None if swept else a.choices,
                help=(a.help or "") + ("" if swept else " (the same for every trial)"),
            )
            if swept:
                converters[a.dest] = _choice(a.type, a.choices, a.dest) if a.choices else a.type
    return converters


def add_sweep_options(parser, at_least_one, non_negative) -> None:
    """The options of the sweep itself."""
    from .search import SEARCHES

    g = parser.add_argument_group("sweep")
    g.add_argument("--trials", type=at_least_one, help="trials of a range search (default: 20)")
    g.add_argument(
        "--search",
        choices=SEARCHES,
        help="grid (lists only, the default for them), random (the default with a range; "
        "seeded) or tpe (model-based; reproducible when run serially)",
    )
    g.add_argument(
        "--folds", type=at_least_one, help="score by stratified, seeded K-fold cross-validation"
    )
    g.add_argument(
        "--prune",
        action="store_true",
        help="stop trials whose validation accuracy falls below the median of earlier trials "
        "at the same epoch (with --folds: at the same fold) (serial runs only)",
    )
    g.add_argument(
        "--storage",
        metavar="FILE",
        help="SQLite file keeping every finished trial; the same command resumes from it",
    )
    g.add_argument(
        "--workers", type=at_least_one, help="run trials on a Dask LocalCluster of N processes"
    )
    g.add_argument(
        "--scheduler", metavar="ADDRESS", help="run trials on this Dask scheduler's cluster"
    )
    g.add_argument(
        "--scheduler-timeout",
        type=non_negative,
        default=10,
        metavar="SECONDS",
        help="how long to try to reach --scheduler",
    )
    out = parser.add_argument_group("output")
    out.add_argument(
        "--out",
        metavar="DIR",
        help="folder for trials.csv and the picture (default: sweeps/<timestamp>)",
    )
    out.add_argument("--quiet", action="store_true", help="print only the best settings")
    out.add_argument(
        "--json", action="store_true", help="last line: one JSON object with trials and best"
    )
