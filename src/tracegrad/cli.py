"""The ``tracegrad`` command line: it parses arguments and calls the library, nothing more."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import math
import os
import sys

import numpy as np

from .experiment import ConfigError


class UsageError(Exception):
    """A mistake in the command line: exit code 2, one line, no traceback."""


def _cmd_trace(args) -> int:
    from .tracing import mazur_network, trace, train_steps

    if args.example != "mazur":
        raise UsageError(f"unknown example {args.example!r}; available: mazur")
    if args.steps < 1:
        raise UsageError(f"--steps must be at least 1, got {args.steps}")
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


def _cmd_train(args) -> int:
    from .experiment import Config, run

    config = Config(
        **{k: getattr(args, k) for k in Config.__dataclass_fields__ if hasattr(args, k)}
    )
    result = run(config, progress=not args.quiet and not args.json)
    m = result.metrics
    if not args.json or not args.quiet:
        print(
            f"test accuracy {m['test_accuracy']:.4f} ({m['n_test']} samples), "
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


def _class_names(model) -> list[str]:
    from .layer_files import output_classes

    return model.class_names or [str(k) for k in range(output_classes(model) or 0)]


def _trained_name(model) -> str:
    trained = model.trained_on or {}
    config = (model.metadata or {}).get("config", {})
    return str(trained.get("name") or config.get("dataset") or "unrecorded data")


def _model_labels(model, data, name) -> np.ndarray:
    """The data's labels as the model's class indices; refuse data the model was not made for."""
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
        X, labels = read_rows(args.input, n_in, model.trained_on)
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
    if bundle.trained_on:
        t = bundle.trained_on
        label = f", label column {t['label_name']!r}" if t["label_name"] else ""
        print(f"trained on: {t['name']} ({t['n_features']} features{label}), from {t['source']}")
    metrics = (bundle.metadata or {}).get("metrics")
    if metrics:
        shown = (f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items())
        print("metrics: " + ", ".join(shown))  # rounded: the JSON form keeps every digit
    return 0


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors in one line (exit code 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


_EXAMPLES = {
    "train": """examples:
  tracegrad train                                   # small MLP on the bundled digits
  tracegrad train --dataset mnist --data-dir DIR --layers 256-128 --epochs 10
  tracegrad train --dataset spirals --layers 64-64 --activation tanh --optimizer adam
  tracegrad train --dataset mnist --layers 784-30-10 --activation sigmoid --output sigmoid \\
      --loss quadratic --optimizer sgd --lr 3.0 --batch-size 10 --epochs 30   # Nielsen's recipe
  tracegrad train --dataset my.csv --json --quiet""",
    "evaluate": "examples:\n  tracegrad evaluate runs/20260101-120000 --dataset digits",
    "predict": "examples:\n  tracegrad predict runs/RUN digit.png\n"
    "  tracegrad predict runs/RUN rows.csv",
    "gradcheck": "examples:\n  tracegrad gradcheck --layers 4-5-3\n"
    "  tracegrad gradcheck --layers 64-32-10 --activation relu",
    "info": "examples:\n  tracegrad info runs/RUN/model.npz",
    "trace": "examples:\n  tracegrad trace mazur\n  tracegrad trace mazur --format json\n"
    "  tracegrad trace mazur --steps 10000",
}


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


def build_parser() -> argparse.ArgumentParser:
    from . import datasets, nn
    from .datasets.scaling import KINDS as SCALINGS
    from .experiment import DEFAULT_LR, LOSSES, MAX_LR, OPTIMIZERS, Config
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
            epilog=_EXAMPLES[name],
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
    train.add_argument("--resume", metavar="CHECKPOINT", help="checkpoint file to resume from")
    output = p.add_argument_group("output")
    output.add_argument("--out", metavar="DIR", help="output directory (default: runs/<timestamp>)")
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

    p = command("trace", "print every number of a training step of a worked example", _cmd_trace)
    p.add_argument("example", nargs="?", default="mazur", help="worked example (mazur)")
    p.add_argument("--format", choices=["text", "json"], default="text", help="output format")
    p.add_argument("--steps", type=_integer, default=1, help="training steps to run")
    p.add_argument(
        "--lr", type=_finite, default=0.5, help=f"learning rate, positive, at most {MAX_LR:g}"
    )
    # sweep: train's options, each also taking a list or a range (tracegrad.sweep.options)
    from .sweep.options import EXAMPLES, add_sweep_options, copy_train_options

    help_text = "search train's options over lists (a grid) or ranges, trials stored and resumable"
    p = sub.add_parser(
        "sweep",
        help=help_text,
        description=help_text + ". Any option of train takes a comma-separated list "
        "(a grid axis, e.g. --l2 0,0.01; --layers 16-16,32 is two networks) or a range "
        "LOW:HIGH[:log] (searched over --trials, e.g. --lr 1e-4:1e-1:log).",
        epilog=EXAMPLES,
        formatter_class=_HelpFormatter,
    )
    p.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors"
    )
    converters = copy_train_options(sub.choices["train"], p)
    add_sweep_options(p, _at_least_one, _non_negative)
    p.set_defaults(func=_cmd_sweep, sweep_converters=converters)
    return parser


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
