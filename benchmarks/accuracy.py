"""Accuracy of tracegrad's recipes on real data, from fixed seeds (run by hand, not in tests).

    python benchmarks/accuracy.py [--data-dir ../shared/data] [--only NAME ...]

Prints a Markdown table (the one README shows): data set, recipe, accuracy, target, wall time.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np

from tracegrad.experiment import Config, run

ROOT = Path(__file__).resolve().parents[1]

# name: (config, which accuracy counts, target, description)
RECIPES = {
    "digits": (
        Config(
            l2=0.0,
            dataset="digits",
            layers="256",
            activation="relu",
            optimizer="momentum",
            lr=0.05,
            batch_size=32,
            epochs=40,
            val_split=0.0,
            seed=0,
        ),
        "test",
        0.97,
        "64-256-10 ReLU, standardized, SGD momentum 0.9, lr 0.05, batch 32, 40 epochs",
    ),
    "mnist-nielsen": (
        Config(
            l2=0.0,
            dataset="mnist",
            layers="784-30-10",
            activation="sigmoid",
            output="sigmoid",
            loss="quadratic",
            optimizer="sgd",
            lr=3.0,
            batch_size=10,
            epochs=30,
            val_split=0.0,
            init="lecun_normal",
            seed=0,
        ),
        "test",
        0.95,
        "Nielsen: 784-30-10 sigmoid, LeCun init, quadratic cost, SGD 3.0, batch 10, 30 epochs",
    ),
    "mnist-best": (
        Config(
            l2=0.0,
            dataset="mnist",
            layers="784-512-256-10",
            activation="relu",
            optimizer="adam",
            lr=1e-3,
            lr_decay=0.2,
            batch_size=128,
            epochs=15,
            val_split=0.0,
            seed=0,
        ),
        "test",
        0.983,
        "784-512-256-10 ReLU, Adam 1e-3 with 1/(1+0.2k) decay, batch 128, 15 epochs",
    ),
    "fashion-mnist": (
        Config(
            l2=0.0,
            dataset="fashion-mnist",
            layers="784-256-128-10",
            activation="relu",
            optimizer="adam",
            lr=1e-3,
            lr_decay=0.1,
            batch_size=128,
            epochs=20,
            val_split=0.0,
            scale="max",
            seed=0,
        ),
        "test",
        0.89,
        "784-256-128-10 ReLU, Adam 1e-3 with 1/(1+0.1k) decay, batch 128, 20 epochs",
    ),
    "spirals": (
        Config(
            l2=0.0,
            dataset="spirals",
            layers="128-128-128",
            activation="relu",
            optimizer="adam",
            lr=3e-3,
            lr_decay=0.01,  # without it the late epochs wander (94.6% after 600 epochs)
            batch_size=32,
            epochs=600,
            val_split=0.0,
            seed=0,
        ),
        "train",
        0.99,
        "2-128-128-128-3 ReLU, Adam 3e-3 with 1/(1+0.01k) decay, batch 32, 600 epochs "
        "(3-arm spirals)",
    ),
}


def train_accuracy(result, config) -> float:
    from tracegrad import training
    from tracegrad.experiment import load_data

    train = load_data(config)[0]
    # The saved model scales its own inputs (its first layer is the scaler): raw rows go in.
    return float((training.predict(result.model, train.X) == train.y).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "data"))
    parser.add_argument("--only", nargs="*", choices=list(RECIPES))
    args = parser.parse_args()
    print(
        f"# tracegrad accuracy benchmark ({platform.processor() or platform.machine()}, "
        f"NumPy {np.__version__})\n"
    )
    print("| data set | recipe | accuracy | target | wall time |")
    print("| --- | --- | --- | --- | --- |")
    for name in args.only or RECIPES:
        config, which, target, description = RECIPES[name]
        if config.dataset in ("mnist", "fashion-mnist"):
            config.data_dir = str(Path(args.data_dir) / config.dataset)
        config.quiet = True
        with tempfile.TemporaryDirectory() as out:
            config.out = out
            start = time.perf_counter()
            result = run(config, progress=False)
            seconds = time.perf_counter() - start
        accuracy = (
            result.metrics["test_accuracy"] if which == "test" else train_accuracy(result, config)
        )
        mark = "ok" if accuracy >= target else "BELOW"
        print(
            f"| {name} | {description} | {accuracy:.2%} ({which}) | >= {target:.1%} {mark} | "
            f"{seconds:.1f} s |",
            flush=True,
        )


if __name__ == "__main__":
    main()
