"""``tracegrad train``'s defaults against scikit-learn's default ``MLPClassifier`` on digits.

    python benchmarks/defaults_vs_sklearn.py [--seeds 0 1 2 3 4] [--set epochs=30 ...]

Both see the same split: ``datasets.load("digits", seed=s)`` (stratified 80/20). scikit-learn
gets its own defaults (100 ReLU units, Adam, lr 1e-3, batch 200, up to 200 iterations,
alpha 1e-4) on standardized inputs (the scaler fitted on the training part only) and trains on
the whole training part. tracegrad runs ``experiment.run`` with its defaults, except for the
``--set`` overrides, which try other defaults; it keeps its validation fraction out of
training, as ``tracegrad train`` does. Prints test accuracy and training seconds per seed,
then the medians.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from tracegrad import datasets
from tracegrad.experiment import Config, run


def sklearn_default(seed: int) -> tuple[float, float]:
    train, test = datasets.load("digits", seed=seed)
    scaler = StandardScaler().fit(train.X)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(random_state=seed).fit(scaler.transform(train.X), train.y)
    seconds = time.perf_counter() - started
    return float(clf.score(scaler.transform(test.X), test.y)), seconds


def tracegrad_default(seed: int, overrides: dict) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as out:
        config = Config(seed=seed, out=out, plots=False, quiet=True, **overrides)
        metrics = run(config, progress=False).metrics
    return metrics["test_accuracy"], metrics["train_seconds"]


def _override(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    key = key.replace("-", "_")
    fields = {f.name: f for f in dataclasses.fields(Config)}
    if key not in fields:
        raise argparse.ArgumentTypeError(f"no Config field {key!r}")
    default = fields[key].default
    if value.lower() == "none":
        return key, None
    kind = type(default) if default is not None else (float if key == "lr" else str)
    return key, kind(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--set", type=_override, action="append", default=[], metavar="K=V")
    parser.add_argument("--skip-sklearn", action="store_true")
    args = parser.parse_args()
    overrides = dict(args.set)
    print(f"tracegrad overrides: {overrides or 'none (the defaults)'}")
    print(f"{'seed':>4}  {'sklearn':>8}  {'s':>5}  {'tracegrad':>9}  {'s':>5}")
    rows = []
    for seed in args.seeds:
        sk = (float("nan"), float("nan")) if args.skip_sklearn else sklearn_default(seed)
        tg = tracegrad_default(seed, overrides)
        rows.append((sk, tg))
        print(f"{seed:>4}  {sk[0]:8.2%}  {sk[1]:5.2f}  {tg[0]:9.2%}  {tg[1]:5.2f}", flush=True)
    med = [statistics.median(r[i][j] for r in rows) for i in (0, 1) for j in (0, 1)]
    print(f"{'med':>4}  {med[0]:8.2%}  {med[1]:5.2f}  {med[2]:9.2%}  {med[3]:5.2f}")
    worst_sk, worst_tg = min(r[0][0] for r in rows), min(r[1][0] for r in rows)
    print(f"{'min':>4}  {worst_sk:8.2%}  {'':>5}  {worst_tg:9.2%}")


if __name__ == "__main__":
    main()
