"""The ``tracegrad`` command line: it parses arguments and calls the library, nothing more."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib.metadata
import json
import math
import os
import signal
import sys

import numpy as np

from .experiment import ConfigError
from .sweep.options import EXAMPLES as SWEEP_EXAMPLES


class UsageError(Exception):
    """A mistake in the command line: exit code 2, one line, no traceback."""


def _cmd_trace(args) -> int:
    from .tracing import mazur_network, trace, train_steps

    if args.example != "mazur":
        raise UsageError(f"unknown example {args.example!r}; available: mazur")
    if args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
    if args.output and args.format != "html":
        raise UsageError("--output goes with --format html; text and json go to stdout")
    from .experiment import MAX_LR

    if not 0 < args.lr <= MAX_LR:
        raise UsageError(f"--lr must be positive and at most {MAX_LR:g}, got {args.lr:g}")
    model, x, targets = mazur_network()
    step = trace(model, x, targets, cost="half_sse", lr=args.lr, update_biases=False)
    result = step.to_dict()
    if args.steps > 1:
        cost = train_steps(model, x, targets, args.steps - 1, lr=args.lr, update_biases=False)
        from .tensor import Tensor, no_grad

        with no_grad():
            outputs = model(Tensor(x)).data
        result["after_steps"] = {"steps": args.steps, "cost": cost, "outputs": outputs.tolist()}
    if args.format == "html":
        note = (
            "Matt Mazur's worked example: a 2-2-2 sigmoid network, E = Σ ½ (t − o)², "
            f"learning rate {args.lr:g}, biases not updated."
        )
        if args.steps > 1:
            after = result["after_steps"]
            note += f" After {args.steps} steps: E = {after['cost']:.9e}."
        step.to_html(args.output or "mazur.html", title="Mazur's network: one step", note=note)
        print(f"wrote {args.output or 'mazur.html'}")
        return 0
    if args.format == "json":
        print(json.dumps(result))
        return 0
    print(
        "Matt Mazur's worked example: 2-2-2 sigmoid network, E = sum 1/2 (t - o)^2, "
        f"learning rate {args.lr:g}, biases not updated\n"
    )
    print(step.format(precision=9))
    if args.steps > 1:
        after = result["after_steps"]
        outs = ", ".join(f"{v:.9f}" for v in after["outputs"][0])
        print(f"\nAfter {args.steps} steps: E = {after['cost']:.9e}, outputs = {outs}")
    return 0


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """SIGTERM (``kill``, a batch system's time limit) ends a run like Ctrl-C does: the
    run folder is released and tidied, and the resume command is printed."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _cmd_train(args) -> int:
    from .experiment import Config, RunInterrupted, run

    config = Config(
        **{k: getattr(args, k) for k in Config.__dataclass_fields__ if hasattr(args, k)},
        given=frozenset(getattr(args, _GIVEN, ())),
    )
    try:
        with _sigterm_as_interrupt():
            result = run(config, progress=not args.quiet and not args.json)
    except RunInterrupted as exc:  # one line: how to resume (or why it cannot be)
        print(f"tracegrad: {exc}", file=sys.stderr)
        return 130
    m = result.metrics
    if m.get("task") == "regression":
        score = f"test R2 {m['test_r2']:.4f}, RMSE {m['test_rmse']:.4g}, MAE {m['test_mae']:.4g}"
    else:
        score = f"test accuracy {m['test_accuracy']:.4f}"
    if not args.json or not args.quiet:
        print(
            f"{score} ({m['n_test']} samples), "
            f"trained in {m['train_seconds']:.1f} s; files in {result.out_dir}"
        )
    if args.json:
        print(json.dumps({**m, "out": str(result.out_dir)}))
    return 0


def _load_model(path):
    from . import io

    return io.load(path)


def _cmd_evaluate(args) -> int:
    from . import datasets, training

    model = _load_model(args.model)
    trained = model.trained_on or {}
    config = (model.metadata or {}).get("config", {})
    # By default the data the model was trained on, and its test part: the run's seed
    # gives back the split that was held out in training.
    name = args.dataset or trained.get("source") or config.get("dataset")
    if not name:
        raise UsageError("the model file does not record its training data: pass --dataset")
    seed = args.seed if args.seed is not None else int(config.get("seed", 0))
    if training.is_regression(model):
        return _evaluate_regression(args, model, name, seed)
    _, test = datasets.load(name, data_dir=args.data_dir, download=args.download, seed=seed)
    y = _model_labels(model, test, name)
    report = training.evaluate(model, test.X, y)
    result = {
        "accuracy": float(report["accuracy"]),
        "n": int(test.n_samples),
        "dataset": str(name),
        "precision": [float(v) for v in report["precision"]],
        "recall": [float(v) for v in report["recall"]],
    }
    if args.json:
        print(json.dumps(result, allow_nan=False))
    else:
        print(f"accuracy {result['accuracy']:.4f} on {result['n']} test samples of {name}")
        names = _class_names(model)
        print(f"{'class':>14}  precision  recall")
        for cls, p, r in zip(names, result["precision"], result["recall"], strict=False):
            print(f"{cls:>14}  {p:9.4f}  {r:6.4f}")
    return 0


def _evaluate_regression(args, model, name, seed) -> int:
    from . import datasets, training

    _, test = datasets.load_targets(name, seed=seed)
    _check_columns(model, test, name)
    out = training.metrics.outputs(model, test.X)
    if out.shape[1] != test.n_outputs:
        raise ValueError(
            f"{name} has {test.n_outputs} target columns but the model predicts {out.shape[1]}"
        )
    result = {**training.regression_scores(test.y, out), "n": int(test.n_samples)}
    result["dataset"] = str(name)
    if args.json:
        print(json.dumps(result, allow_nan=False))
    else:
        print(
            f"R2 {result['r2']:.4f}, RMSE {result['rmse']:.4g}, MAE {result['mae']:.4g} "
            f"on {result['n']} test samples of {name}"
        )
    return 0


def _class_names(model) -> list[str]:
    from .layer_files import output_classes

    return model.class_names or [str(k) for k in range(output_classes(model) or 0)]


def _trained_name(model) -> str:
    trained = model.trained_on or {}
    config = (model.metadata or {}).get("config", {})
    return str(trained.get("name") or config.get("dataset") or "unrecorded data")


def _check_columns(model, data, name) -> None:
    """Refuse data whose features are not those the model was trained on."""
    from .layer_files import input_features

    n_in = input_features(model)
    if data.n_features != n_in:
        raise ValueError(
            f"{name} has {data.n_features} features but the model was trained on "
            f"{_trained_name(model)} with {n_in}: evaluate on data with the same features"
        )
    expected = (model.trained_on or {}).get("feature_names")
    given = (data.columns or {}).get("feature_names")
    if expected is not None and given is not None and given != expected:
        raise ValueError(
            f"{name}'s feature columns are not those the model was trained on "
            f"({_trained_name(model)}): give the same columns in the same order"
        )


def _model_labels(model, data, name) -> np.ndarray:
    """The data's labels as the model's class indices; refuse data the model was not made for."""
    _check_columns(model, data, name)
    classes = _class_names(model)
    present = [data.class_names[k] for k in np.unique(data.y)]
    unknown = [c for c in present if c not in classes]
    if unknown:
        raise ValueError(
            f"{name} has classes {_listing(unknown)} that the model, trained on "
            f"{_trained_name(model)} with classes {_listing(classes)}, does not know: "
            "evaluate on data with the model's classes"
        )
    index = np.array([classes.index(c) if c in classes else -1 for c in data.class_names])
    return index[data.y]


def _listing(names, limit: int = 4) -> str:
    shown = ", ".join(map(str, names[:limit]))
    return shown + (f", ... ({len(names)} in all)" if len(names) > limit else "")


def _cmd_predict(args) -> int:
    from pathlib import Path

    from . import training
    from .datasets.images import recorded_dataset
    from .imageio import IMAGE_SUFFIXES, read_input, read_rows
    from .layer_files import input_features

    model = _load_model(args.model)
    n_in = input_features(model)
    if n_in is None:
        raise ValueError(f"{args.model}: the model has no layer that takes inputs")
    if Path(args.input).suffix.lower() in IMAGE_SUFFIXES:
        # A picture is prepared like the training set's pictures (older files: the config's).
        record = model.trained_on or {"name": recorded_dataset(model.metadata)}
        X, labels = read_input(args.input, n_features=n_in, trained_on=record), None
    else:  # the column rules of training, with the columns the model file records
        X, labels = read_rows(
            args.input, n_in, model.trained_on, classes=not training.is_regression(model)
        )
    if training.is_regression(model):
        return _predict_values(args, model, X, labels)
    proba = training.predict_proba(model, X)  # one forward pass, raw rows: the model scales them
    bad = np.flatnonzero(~np.isfinite(proba).all(axis=1))
    if bad.size:
        raise ValueError(
            f"the model's outputs for row {bad[0]} are not finite: its inputs are far outside "
            "the range of the training data"
        )
    if proba.shape[1] == 1:  # one sigmoid output: P(class 1) is the column itself
        proba = np.hstack([1 - proba, proba])
        predicted = (proba[:, 1] >= 0.5).astype(int)  # the same threshold as training.predict
    else:
        predicted = proba.argmax(axis=1)
    names = _class_names(model)
    rows = [
        {"label": int(k), "class": names[k], "probability": float(p[k])}
        for k, p in zip(predicted, proba, strict=True)
    ]
    if labels is not None:
        unknown = sorted(set(labels) - set(names))
        if unknown:
            raise ValueError(
                f"{args.input} has labels {_listing(unknown)} that are not classes of the "
                f"model ({_listing(names)}): check the label column"
            )
        for row, true in zip(rows, labels, strict=True):
            row["true_class"] = true
    if args.json:
        print(json.dumps(rows, allow_nan=False))
        return 0
    for i, row in enumerate(rows):
        true = f", true {row['true_class']}" if "true_class" in row else ""
        print(f"{i}: {row['class']} (p = {row['probability']:.4f}{true})")
    if labels is not None:
        hits = sum(row["class"] == row["true_class"] for row in rows)
        print(f"accuracy {hits / len(rows):.4f} on {len(rows)} labelled rows")
    return 0


def _predict_values(args, model, X, labels) -> int:
    """A regression model's predictions, in the targets' units (its last layer restores them)."""
    from . import training
    from .datasets.targets import continuous

    values = training.metrics.outputs(model, X)
    bad = np.flatnonzero(~np.isfinite(values).all(axis=1))
    if bad.size:
        raise ValueError(
            f"the model's outputs for row {bad[0]} are not finite: its inputs are far outside "
            "the range of the training data"
        )
    rows = [{"value": v[0] if len(v) == 1 else v} for v in values.tolist()]
    true = None if labels is None else continuous(labels, f"{args.input} (target column)")
    if true is not None:
        for row, t in zip(rows, true.tolist(), strict=True):
            row["true_value"] = t[0] if len(t) == 1 else t
    if args.json:
        print(json.dumps(rows, allow_nan=False))
        return 0
    for i, row in enumerate(rows):
        value, truth = row["value"], row.get("true_value")
        shown = f", true {truth:.6g}" if isinstance(truth, float) else ""
        print(f"{i}: {value:.6g}{shown}" if isinstance(value, float) else f"{i}: {value}")
    if true is not None:
        scores = training.regression_scores(true, values)
        print(f"R2 {scores['r2']:.4f}, RMSE {scores['rmse']:.4g} on {len(rows)} labelled rows")
    return 0


def _units(text):
    """``1,2,4,8``: the hidden widths of the universal-approximation demo."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        units = [int(p) for p in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers joined by commas, e.g. 1,2,4,8, got {text!r}"
        ) from None
    if min(units) < 1 or max(units) > 4096:
        raise argparse.ArgumentTypeError(f"every width must be between 1 and 4096, got {text!r}")
    return units


def _cmd_demo(args) -> int:
    from .universal import universal_approximation

    if args.example != "universal":
        raise UsageError(f"unknown demo {args.example!r}; available: universal")
    from pathlib import Path

    from matplotlib.backend_bases import FigureCanvasBase

    output = Path(args.output)  # checked before a minute of fitting, not after
    suffixes = FigureCanvasBase.get_supported_filetypes()
    if output.suffix.lstrip(".").lower() not in suffixes:
        raise UsageError(
            f"--output {args.output}: use a picture suffix, one of "
            + ", ".join("." + s for s in sorted(suffixes))
        )
    if not output.resolve().parent.is_dir():
        raise UsageError(f"--output {args.output}: the folder {output.parent} does not exist")
    path, fits = universal_approximation(
        args.units, args.output, seed=args.seed, iterations=args.iterations
    )
    result = {"output": str(path), "fits": [{"units": f.units, "mse": f.mse} for f in fits]}
    if args.json:
        print(json.dumps(result, allow_nan=False))
        return 0
    print("one hidden layer of tanh units fitted to a noisy sine (training MSE):")
    for f in fits:
        print(f"  {f.units:>5} unit{'s' if f.units > 1 else ' '}  MSE {f.mse:.5f}")
    print(f"picture in {path}")
    return 0


def _check_gradcheck_size(args, sizes) -> None:
    # Bounds from tracegrad.limits, checked before anything is allocated: a few
    # samples and entries check the gradient code as well as a hundred million.
    from . import limits

    for option, value, name in [
        ("--samples", args.samples, "GRADCHECK_MAX_SAMPLES"),
        ("--max-checks", args.max_checks, "GRADCHECK_MAX_CHECKS"),
    ]:
        if not 1 <= value <= limits.get(name):
            raise UsageError(
                f"{option} must be between 1 and {limits.get(name):,} "
                f"(the limit TRACEGRAD_{name}), got {value}"
            )
    weights = sum((a + 1) * b for a, b in zip(sizes, sizes[1:], strict=False))
    values = weights + args.samples * sum(sizes)
    if values > limits.get("GRADCHECK_MAX_VALUES"):
        raise UsageError(
            f"--layers {'-'.join(map(str, sizes))} with --samples {args.samples} needs "
            f"{values:,} float64 values, over the limit of {limits.get('GRADCHECK_MAX_VALUES'):,}: "
            "check a smaller network of the same shape, which runs the same code"
        )


def _cmd_gradcheck(args) -> int:
    from . import losses, nn
    from .checking import check_model_gradients
    from .experiment import parse_layers

    sizes = parse_layers(args.layers, None, None) if args.layers else [4, 5, 3]
    if len(sizes) < 2:
        raise UsageError("--layers needs at least an input and an output size, e.g. 4-5-3")
    _check_gradcheck_size(args, sizes)
    rng = np.random.default_rng(args.seed)
    model = nn.MLP(sizes, activation=args.activation, rng=rng, dtype=np.float64)
    X = rng.normal(size=(args.samples, sizes[0]))
    y = rng.integers(0, sizes[-1], size=args.samples)

    def cost():
        return losses.cross_entropy(model(X), y) + losses.l2_penalty(model, args.l2, len(X))

    result = check_model_gradients(model, cost, max_per_parameter=args.max_checks, seed=args.seed)
    if args.json:
        print(
            json.dumps(
                {
                    "relative_difference": result.relative_difference,
                    "passed": result.passed,
                    "layers": "-".join(map(str, sizes)),
                }
            )
        )
    else:
        print(
            f"gradient check of a {'-'.join(map(str, sizes))} {args.activation} network, "
            f"float64, two-sided differences (eps 1e-4):"
        )
        print(result.summary())
    return 0 if result.passed else 1


def _cmd_info(args) -> int:
    from . import training
    from .io import load_bundle
    from .nn import Normalization

    bundle = load_bundle(args.model)
    model = bundle.model
    norm = next((m for _, m in model.named_modules() if isinstance(m, Normalization)), None)
    info = {
        "config": bundle.config,
        "parameters": model.num_parameters(),
        "class_names": bundle.class_names,
        "trained_on": bundle.trained_on,
        "input_scaling": None if norm is None else norm.kind,
        "task": "regression" if training.is_regression(model) else "classification",
        "metadata": bundle.metadata,
    }
    if args.json:
        print(json.dumps(info, default=str, allow_nan=False))
        return 0
    print(repr(model))
    print(f"parameters: {info['parameters']:,}")
    for name, p in model.named_parameters():
        print(f"  {name:<12} {str(p.shape):<12} {p.dtype}")
    if bundle.class_names:
        print(f"classes: {', '.join(bundle.class_names)}")
    print(f"input scaling: {info['input_scaling']} (a layer of the model: it takes raw inputs)")
    if training.is_regression(model):
        print("regression: the last layer restores the targets' units (Denormalization)")
    if bundle.trained_on:
        t = bundle.trained_on
        label = f", label column {t['label_name']!r}" if t["label_name"] else ""
        print(f"trained on: {t['name']} ({t['n_features']} features{label}), from {t['source']}")
    metrics = (bundle.metadata or {}).get("metrics")
    if metrics:
        shown = (f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())
        print("metrics: " + ", ".join(shown))  # rounded: the JSON form keeps every digit
    return 0


_GIVEN = "_given_options"  # the namespace attribute naming the options the command line set


def _recording(action_class):
    """``action_class`` that also notes its option in the namespace as given by the user.

    argparse fills unset options with their defaults, so afterwards a value equal
    to the default cannot tell "--batch-size 32" from nothing; a resume and
    L-BFGS need to know which options were chosen (see ``Config.given``).
    """

    class Recording(action_class):
        def __call__(self, parser, namespace, values, option_string=None):
            super().__call__(parser, namespace, values, option_string)
            given = set(getattr(namespace, _GIVEN, ()))
            setattr(namespace, _GIVEN, given | {self.dest})

    return Recording


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line (exit code 2) and notes given options."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in (None, "store", "store_true", "store_false", "append", "count"):
            self.register("action", name, _recording(self._registry_get("action", name)))

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


EXAMPLES = {
    "train": """examples:
  tracegrad train                                   # small MLP on the bundled digits
  tracegrad train --dataset mnist --data-dir DIR --layers 256-128 --epochs 10
  tracegrad train --dataset spirals --layers 64-64 --activation tanh --optimizer adam
  tracegrad train --dataset mnist --layers 784-30-10 --activation sigmoid --output sigmoid \\
      --loss quadratic --optimizer sgd --lr 3.0 --batch-size 10 --epochs 30 --l2 0  # Nielsen's
  tracegrad train --dataset my.csv --json --quiet
  tracegrad train --resume runs/RUN --epochs 40     # continue a stopped or finished run""",
    "evaluate": "examples:\n  tracegrad evaluate runs/20260101-120000 --dataset digits",
    "predict": "examples:\n  tracegrad predict runs/RUN digit.png\n"
    "  tracegrad predict runs/RUN rows.csv",
    "gradcheck": "examples:\n  tracegrad gradcheck --layers 4-5-3\n"
    "  tracegrad gradcheck --layers 64-32-10 --activation relu",
    "info": "examples:\n  tracegrad info runs/RUN/model.npz",
    "demo": "examples:\n  tracegrad demo universal\n"
    "  tracegrad demo universal --units 1,2,4,8,16,32 --output fits.png",
    "trace": "examples:\n  tracegrad trace mazur\n  tracegrad trace mazur --format json\n"
    "  tracegrad trace mazur --steps 10000\n"
    "  tracegrad trace mazur --format html --output mazur.html",
}

EXAMPLES["sweep"] = SWEEP_EXAMPLES
EXAMPLES["playground"] = (
    "examples:\n  tracegrad playground\n  tracegrad playground --port 0 --no-browser"
)


def _cmd_playground(args) -> int:
    import importlib.util

    missing = [m for m in ("starlette", "uvicorn", "websockets") if not importlib.util.find_spec(m)]
    if missing:
        raise UsageError(
            f"the playground needs {', '.join(missing)}: pip install 'tracegrad[playground]'"
        )
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be 0 (any free port) to 65535, got {args.port}")
    from .playground import serve

    serve(args.host, args.port, open_browser=not args.no_browser)
    return 0


def _integer(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _at_least_one(text):
    value = _integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _non_negative(text):
    value = _integer(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 0, got {value}")
    return value


def _finite(text):
    """A float option: NaN and infinities are refused here, naming the option (argparse)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def _version() -> str:
    try:
        return importlib.metadata.version("tracegrad")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree
        from . import __version__

        return __version__


def _one_each(registry: dict) -> list[str]:
    """The first name of each entry of a name -> object table (aliases left out)."""
    seen, names = set(), []
    for name, obj in registry.items():
        if obj not in seen:
            seen.add(obj)
            names.append(name)
    return names


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Examples kept as written; every option with a default says it; no breaks at hyphens."""

    def _get_help_string(self, action):
        text = action.help or ""
        takes_value = action.nargs != 0  # on/off flags are off unless given
        shown = takes_value and (action.option_strings or action.nargs == argparse.OPTIONAL)
        if "%(default)" in text or not shown or action.default in (None, argparse.SUPPRESS):
            return text
        return f"{text} (default: %(default)s)"

    def _split_lines(self, text, width):
        import textwrap

        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


def build_parser(examples: bool = True) -> argparse.ArgumentParser:
    """tracegrad's parser; ``examples=False`` leaves each command's examples out of its epilog.

    The documentation's command-line page sets ``EXAMPLES`` as code blocks of its own, as
    argparse's epilog is plain text and not reStructuredText.
    """
    from . import datasets, nn
    from .datasets.scaling import KINDS as SCALINGS
    from .experiment import DEFAULT_LR, LOSSES, MAX_LR, OPTIMIZERS, TASKS, Config
    from .nn.layers import ACTIVATIONS

    defaults = {f.name: f.default for f in dataclasses.fields(Config)}  # one place for both
    activations = ", ".join(_one_each(ACTIVATIONS))
    parser = _Parser(
        prog="tracegrad",
        description="Neural networks trained by backpropagation, every number visible.",
        epilog="Run 'tracegrad COMMAND --help' for the options and examples of a command.",
    )
    parser.add_argument("--version", action="version", version=f"tracegrad {_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name, help_text, func):
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=EXAMPLES[name] if examples else None,
            formatter_class=_HelpFormatter,
        )
        # SUPPRESS: a subcommand's default must not undo 'tracegrad --debug COMMAND'.
        p.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show tracebacks on errors",
        )
        p.set_defaults(func=func)
        return p

    def data_options(group, default_seed=0, default_dataset=defaults["dataset"]):
        group.add_argument(
            "--dataset",
            default=default_dataset,
            metavar="NAME|FILE",
            help=f"one of {', '.join(datasets.available())}, or a .npy/.npz/.csv file"
            + (" (default: the model's own)" if default_dataset is None else ""),
        )
        group.add_argument(
            "--data-dir",
            help="directory with the MNIST/Fashion-MNIST .gz files "
            "(default: $TRACEGRAD_DATA, else the user cache)",
        )
        group.add_argument("--download", action="store_true", help="download missing MNIST files")
        group.add_argument(
            "--seed",
            type=_non_negative,
            default=default_seed,
            help="seed of data, split, init, shuffling"
            + (" (default: the model's)" if default_seed is None else ""),
        )

    def json_option(group):
        group.add_argument("--json", action="store_true", help="print one JSON object at the end")

    p = command("train", "train an MLP and write the model, history and plots", _cmd_train)
    data = p.add_argument_group("data")
    data_options(data)
    data.add_argument(
        "--task",
        choices=TASKS,
        default=defaults["task"],
        help="classification (class labels) or regression (continuous targets: MSE, "
        "identity output, standardized targets)",
    )
    data.add_argument(
        "--val-split",
        type=_finite,
        default=defaults["val_split"],
        metavar="FRACTION",
        help="fraction of the training part held out for validation, in [0, 1)",
    )
    data.add_argument(
        "--scale",
        choices=SCALINGS,
        help="input scaling (default: max for 8-bit images, standard otherwise)",
    )
    model = p.add_argument_group("model")
    model.add_argument(
        "--layers",
        metavar="SIZES",
        help="hidden sizes, e.g. 256-128 (default: 128; 32-32 for 2-D data), or every size "
        "from inputs to outputs, e.g. 64-128-10. One number is one hidden layer. Sizes "
        "that start with the feature count or end with the class count, but not both, "
        "contradict the data and are refused: write such hidden layers as the full sizes",
    )
    model.add_argument(
        "--activation",
        default=defaults["activation"],
        metavar="NAME",
        help=f"hidden activation, one of {activations}",
    )
    model.add_argument(
        "--output",
        default=defaults["output"],
        metavar="NAME",
        help=f"output activation, one of {activations}",
    )
    model.add_argument(
        "--init",
        default=defaults["init"],
        metavar="NAME",
        help="weight initializer: auto (He for ReLU-like units, else Glorot) or one of "
        + ", ".join(nn.init.available()),
    )
    model.add_argument(
        "--dropout",
        type=_finite,
        default=defaults["dropout"],
        metavar="P",
        help="probability of dropping a hidden unit, in [0, 1)",
    )
    train = p.add_argument_group("training")
    train.add_argument(
        "--loss", default=defaults["loss"], metavar="NAME", help=f"one of {', '.join(LOSSES)}"
    )
    train.add_argument(
        "--optimizer",
        default=defaults["optimizer"],
        metavar="NAME",
        help=f"one of {', '.join(OPTIMIZERS)}",
    )
    train.add_argument(
        "--lr",
        type=_finite,
        help=f"learning rate, positive, at most {MAX_LR:g} (default per optimizer: "
        + ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
        + ")",
    )
    train.add_argument(
        "--momentum",
        type=_finite,
        default=defaults["momentum"],
        help="momentum of --optimizer momentum/nesterov, in [0, 1)",
    )
    train.add_argument(
        "--lr-decay",
        type=_finite,
        default=defaults["lr_decay"],
        help="lr_k = lr / (1 + decay k) at epoch k",
    )
    train.add_argument(
        "--batch-size",
        type=_integer,
        default=defaults["batch_size"],
        metavar="N",
        help="samples per gradient step",
    )
    train.add_argument(
        "--epochs",
        type=_integer,
        default=defaults["epochs"],
        metavar="N",
        help="passes over the training part",
    )
    train.add_argument(
        "--l2",
        type=_finite,
        default=defaults["l2"],
        metavar="LAMBDA",
        help="weight penalty lambda/(2m) sum W^2, m training samples",
    )
    train.add_argument(
        "--early-stopping",
        type=_integer,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without validation improvement",
    )
    train.add_argument(
        "--resume",
        metavar="RUN",
        help="continue the run in folder RUN (or from its checkpoint.npz) with its own settings",
    )
    output = p.add_argument_group("output")
    output.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default: a new runs/<date>-<time>-<n>; when resuming, the run's own)",
    )
    output.add_argument(
        "--overwrite",
        action="store_true",
        help="replace the run already in --out (by default a folder holding a run is refused)",
    )
    output.add_argument("--quiet", action="store_true", help="no progress output")
    json_option(output)
    output.add_argument(
        "--no-plots",
        dest="plots",
        action="store_false",
        help="write no plots (they take a good part of a short run)",
    )

    p = command("evaluate", "evaluate a saved model on a data set's test part", _cmd_evaluate)
    p.add_argument("model", help="run directory or model file")
    # None: the data set and seed the model was trained with
    data_options(p.add_argument_group("data"), default_seed=None, default_dataset=None)
    json_option(p.add_argument_group("output"))

    p = command(
        "predict", "predict classes of rows (.npy/.csv) or a digit image (.png)", _cmd_predict
    )
    p.add_argument("model", help="run directory or model file")
    p.add_argument("input", help=".npy or .csv rows, or a PNG image")
    json_option(p.add_argument_group("output"))

    p = command("gradcheck", "check an architecture's gradients numerically", _cmd_gradcheck)
    model = p.add_argument_group("model")
    model.add_argument("--layers", metavar="SIZES", help="sizes, e.g. 4-5-3 (default: 4-5-3)")
    model.add_argument(
        "--activation", default="sigmoid", metavar="NAME", help=f"one of {activations}"
    )
    check = p.add_argument_group("check")
    check.add_argument("--l2", type=_finite, default=0.1, metavar="LAMBDA", help="weight penalty")
    check.add_argument("--samples", type=_at_least_one, default=8, help="random input rows")
    check.add_argument(
        "--max-checks", type=_at_least_one, default=200, help="entries checked per parameter"
    )
    check.add_argument("--seed", type=_non_negative, default=0, help="seed of weights and inputs")
    json_option(p.add_argument_group("output"))

    p = command("info", "describe a saved model", _cmd_info)
    p.add_argument("model", help="run directory or model file")
    json_option(p.add_argument_group("output"))

    p = command(
        "demo", "the universal-approximation picture: 1, 2, 4, ... units fit a sine", _cmd_demo
    )
    p.add_argument("example", nargs="?", default="universal", help="demo (universal)")
    p.add_argument(
        "--units", type=_units, default=[1, 2, 4, 8, 16], metavar="N,N,...", help="hidden widths"
    )
    p.add_argument("--output", default="universal_approximation.png", help="picture file")
    p.add_argument("--iterations", type=_at_least_one, default=1000, help="L-BFGS iterations")
    p.add_argument("--seed", type=_non_negative, default=0, help="seed of data and starts")
    json_option(p)

    p = command("trace", "print every number of a training step of a worked example", _cmd_trace)
    p.add_argument("example", nargs="?", default="mazur", help="worked example (mazur)")
    p.add_argument(
        "--format", choices=["text", "json", "html"], default="text", help="output format"
    )
    p.add_argument(
        "--output", metavar="FILE", help="where --format html writes its page (mazur.html)"
    )
    p.add_argument("--steps", type=_integer, default=1, help="training steps to run")
    p.add_argument(
        "--lr", type=_finite, default=0.5, help=f"learning rate, positive, at most {MAX_LR:g}"
    )

    p = command(
        "playground", "train networks in a local web page, every number shown", _cmd_playground
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_integer, default=8000, help="port (default 8000; 0: any free)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")

    from .export import FORMATS as EXPORT_FORMATS

    p = command("export", "write a saved model as ONNX or safetensors", _cmd_export)
    p.add_argument("model", help="run directory or model file")
    p.add_argument(
        "--format",
        choices=list(EXPORT_FORMATS),
        help="onnx: the whole model, raw rows in, probabilities out; safetensors: the "
        "weights under torch.nn.Sequential key names (default: from --output's suffix)",
    )
    p.add_argument(
        "--output", metavar="FILE", help="file to write (default: model.FORMAT beside the model)"
    )
    json_option(p.add_argument_group("output"))

    # sweep: train's options, each also taking a list or a range (tracegrad.sweep.options)
    from .sweep.options import add_sweep_options, copy_train_options

    help_text = "search train's options over lists (a grid) or ranges, trials stored and resumable"
    p = sub.add_parser(
        "sweep",
        help=help_text,
        description=help_text + ". Any option of train takes a comma-separated list "
        "(a grid axis, e.g. --l2 0,0.01; --layers 16-16,32 is two networks) or a range "
        "LOW:HIGH[:log] (searched over --trials, e.g. --lr 1e-4:1e-1:log).",
        epilog=EXAMPLES["sweep"] if examples else None,
        formatter_class=_HelpFormatter,
    )
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
    )
    converters = copy_train_options(sub.choices["train"], p)
    add_sweep_options(p, _at_least_one, _non_negative)
    p.set_defaults(func=_cmd_sweep, sweep_converters=converters)
    return parser


def _cmd_export(args) -> int:
    from pathlib import Path

    from .export import FORMATS, export, format_for

    if args.output is None and args.format is None:
        raise UsageError("pass --format (onnx or safetensors) or an --output file")
    output = args.output
    if output is None:  # beside the model file: RUN/model.onnx
        model_path = Path(args.model)
        folder = model_path if model_path.is_dir() else model_path.parent
        output = folder / f"model{FORMATS[args.format][0]}"
    fmt = format_for(output, args.format)  # a mismatch refused before the model is read
    model = _load_model(args.model)
    path = export(model, output, fmt)
    if args.json:
        print(json.dumps({"path": str(path), "format": fmt, "bytes": path.stat().st_size}))
        return 0
    print(f"wrote {path} ({fmt}, {path.stat().st_size:,} bytes)")
    if fmt == "safetensors":
        from .export.safetensors import torch_code

        print("load it into PyTorch with (also in the file's metadata, 'torch_module'):\n")
        print(torch_code(model, str(path)))
    return 0


EXAMPLES["export"] = """examples:
  tracegrad export runs/RUN --format onnx --output model.onnx
  tracegrad export runs/RUN/model.npz --output model.safetensors   # prints the torch code"""


def _cmd_sweep(args) -> int:
    try:
        import distributed  # noqa: F401
        import optuna  # noqa: F401
    except ImportError as exc:
        raise UsageError(
            f"tracegrad sweep needs Optuna and Dask ({exc.name} is missing): "
            "pip install 'tracegrad[sweep]'"
        ) from None
    from .sweep.command import run_command

    return run_command(args, args.sweep_converters)


def main(argv=None) -> int:
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here, inside the handler below
        return code
    except BrokenPipeError:
        # Output piped into `head` that stopped reading: end quietly, as Python's docs
        # recommend, with the standard streams pointed at devnull so that the
        # interpreter's final flush has nothing to complain about.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            try:
                os.dup2(devnull, stream.fileno())
            except (OSError, ValueError):  # a stream without a file descriptor
                pass
        return 1


def _main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        if args.debug:
            return args.func(args)
        # Overflow in a diverging run is reported once, as the error below, not as warnings.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return args.func(args)
    except BrokenPipeError:
        raise
    except (UsageError, ConfigError) as exc:
        if args.debug:
            raise
        print(f"tracegrad: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tracegrad: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI turns every failure into one line
        if args.debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if isinstance(exc, KeyError):
            message = message.strip("'\"")
        print(f"tracegrad: error: {message}", file=sys.stderr)
        return 1
