"""tracegrad.sklearn's MLPs against scikit-learn's, with the same parameters (run by hand).

    python benchmarks/sklearn_compare.py [--data-dir ../shared/data] [--only digits ...]
        [--threads 1] [--folds 5]

For each problem the same folds are fitted by scikit-learn's MLP, by tracegrad's in
float32 (its default) and in float64 (scikit-learn's arithmetic), one after the other on
each fold so that a busy machine slows all three alike. Prints a Markdown table: the
cross-validated score (accuracy, or R^2), the total fit time and the fit-time ratio
scikit-learn / tracegrad (above 1: tracegrad is faster).
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
import sklearn
from sklearn import neural_network as sknn
from sklearn.base import clone
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from tracegrad import sklearn as tgsk


def digits(_):
    X, y = load_digits(return_X_y=True)
    return X, y, True


def regression(_):
    X, y = make_regression(4000, 20, n_informative=12, noise=10.0, random_state=0)
    return X, y / y.std(), False  # scikit-learn's MLPs want targets of unit scale


def mnist(data_dir):
    from tracegrad import datasets

    train, _ = datasets.load("mnist", data_dir=f"{data_dir}/mnist")
    rng = np.random.default_rng(0)
    idx = rng.choice(len(train.X), 10_000, replace=False)  # a 10k subset: minutes, not hours
    return train.X[idx].reshape(len(idx), -1).astype(np.float64) / 255.0, train.y[idx], True


# name: (data, shared parameters, solvers)
PROBLEMS = {
    "digits": (digits, dict(hidden_layer_sizes=(100,), max_iter=200), ("adam", "sgd", "lbfgs")),
    "regression": (regression, dict(hidden_layer_sizes=(100,), max_iter=200), ("adam", "lbfgs")),
    "mnist-10k": (mnist, dict(hidden_layer_sizes=(256,), max_iter=30), ("adam", "sgd")),
}

ESTIMATORS = {
    "scikit-learn": lambda clf: sknn.MLPClassifier if clf else sknn.MLPRegressor,
    "tracegrad f32": lambda clf: tgsk.MLPClassifier if clf else tgsk.MLPRegressor,
    "tracegrad f64": lambda clf: tgsk.MLPClassifier if clf else tgsk.MLPRegressor,
}


def compare(name, data_dir, folds):
    load, params, solvers = PROBLEMS[name]
    X, y, classify = load(data_dir)
    splitter = (StratifiedKFold if classify else KFold)(folds, shuffle=True, random_state=0)
    rows = []
    for solver in solvers:
        models = {}
        for label, cls in ESTIMATORS.items():
            extra = {"dtype": np.float64} if label == "tracegrad f64" else {}
            est = cls(classify)(solver=solver, random_state=0, **params, **extra)
            models[label] = make_pipeline(StandardScaler(), est)
        scores = {label: [] for label in models}
        times = {label: 0.0 for label in models}
        for train, test in splitter.split(X, y):
            for label, model in models.items():  # interleaved: the same load for each
                model = clone(model)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    start = time.perf_counter()
                    model.fit(X[train], y[train])
                    times[label] += time.perf_counter() - start
                scores[label].append(model.score(X[test], y[test]))
        for label in models:
            rows.append(
                (
                    name,
                    solver,
                    label,
                    float(np.mean(scores[label])),
                    float(np.std(scores[label])),
                    times[label],
                    times["scikit-learn"] / times[label],
                )
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/data")
    parser.add_argument("--only", nargs="*", choices=sorted(PROBLEMS), default=None)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    print(
        f"Python {platform.python_version()}, NumPy {np.__version__}, scikit-learn "
        f"{sklearn.__version__}, {args.threads} BLAS thread(s), {args.folds}-fold CV\n"
    )
    print("| problem | solver | estimator | CV score | fit time (s) | speed-up vs scikit-learn |")
    print("| --- | --- | --- | --- | --- | --- |")
    with threadpool_limits(args.threads):
        for name in args.only or PROBLEMS:
            for problem, solver, label, mean, std, seconds, ratio in compare(
                name, args.data_dir, args.folds
            ):
                print(
                    f"| {problem} | {solver} | {label} | {mean:.4f} ± {std:.4f} | "
                    f"{seconds:.1f} | {ratio:.2f}x |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
