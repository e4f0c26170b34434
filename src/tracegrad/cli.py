"""The ``tracegrad`` command line: it parses arguments and calls the library, nothing more."""

from __future__ import annotations

import argparse
import json
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
    # The test part must be the one held out in training: by default, split with the run's seed.
    config = (model.metadata or {}).get("config", {})
    seed = args.seed if args.seed is not None else int(config.get("seed", 0))
    _, test = datasets.load(args.dataset, data_dir=args.data_dir, download=args.download, seed=seed)
    X = _prepare(model, test.X)
    report = training.evaluate(model, X, test.y)
    result = {
        "accuracy": float(report["accuracy"]),
        "n": int(test.n_samples),
        "precision": [float(v) for v in report["precision"]],
        "recall": [float(v) for v in report["recall"]],
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"accuracy {result['accuracy']:.4f} on {result['n']} test samples of {args.dataset}")
        names = model.class_names or [str(i) for i in range(len(result["precision"]))]
        print(f"{'class':>14}  precision  recall")
        for name, p, r in zip(names, result["precision"], result["recall"], strict=False):
            print(f"{name:>14}  {p:9.4f}  {r:6.4f}")
    return 0


def _first_linear(model):
    from .nn import Linear

    for _, m in model.named_modules():
        if isinstance(m, Linear):
            return m
    raise ValueError("the model has no Linear layer to take inputs")


def _prepare(model, X):
    n_in = _first_linear(model).in_features
    X = np.asarray(X, dtype=np.float32)
    if X.ndim == 1:
        X = X[None, :]
    if X.ndim > 2 or X.shape[1] != n_in:
        raise ValueError(
            f"the model expects rows of {n_in} features, got input of shape {X.shape}; "
            "flatten images to one row each"
        )
    if model.scaler is not None:
        X = model.scaler.transform(X)
    return X


def _cmd_predict(args) -> int:
    from . import training
    from .datasets.images import recorded_dataset
    from .imageio import read_input

    model = _load_model(args.model)
    dataset = recorded_dataset(model.metadata)  # an image is prepared like that set's images
    X = read_input(args.input, n_features=_first_linear(model).in_features, dataset=dataset)
    proba = training.predict_proba(model, _prepare(model, X))  # one forward pass
    if proba.shape[1] == 1:  # one sigmoid output: P(class 1) is the column itself
        proba = np.hstack([1 - proba, proba])
        labels = (proba[:, 1] >= 0.5).astype(int)  # the same threshold as training.predict
    else:
        labels = proba.argmax(axis=1)
    names = model.class_names or [str(i) for i in range(proba.shape[1])]
    rows = [
        {"label": int(k), "class": names[k], "probability": float(p[k])}
        for k, p in zip(labels, proba, strict=True)
    ]
    if args.json:
        print(json.dumps(rows))
    else:
        for i, row in enumerate(rows):
            print(f"{i}: {row['class']} (p = {row['probability']:.4f})")
    return 0


def _cmd_gradcheck(args) -> int:
    from . import losses, nn
    from .checking import check_model_gradients
    from .experiment import parse_layers

    sizes = parse_layers(args.layers, 0, 0) if args.layers else [4, 5, 3]
    if sizes[0] == 0:
        sizes = sizes[1:-1]
    if len(sizes) < 2:
        raise UsageError("--layers needs at least an input and an output size, e.g. 4-5-3")
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

    bundle = load_bundle(args.model)
    model = bundle.model
    info = {
        "config": bundle.config,
        "parameters": model.num_parameters(),
        "class_names": bundle.class_names,
        "metadata": bundle.metadata,
        "scaler": None if bundle.scaler is None else bundle.scaler.kind,
    }
    if args.json:
        print(json.dumps(info, default=str))
        return 0
    print(repr(model))
    print(f"parameters: {info['parameters']:,}")
    for name, p in model.named_parameters():
        print(f"  {name:<12} {str(p.shape):<12} {p.dtype}")
    if bundle.class_names:
        print(f"classes: {', '.join(bundle.class_names)}")
    print(f"input scaling: {info['scaler']}")
    metrics = (bundle.metadata or {}).get("metrics")
    if metrics:
        print("metrics: " + ", ".join(f"{k}={v}" for k, v in metrics.items()))
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

_EXAMPLES["playground"] = (
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tracegrad",
        description="Neural networks trained by backpropagation, every number visible.",
        epilog="Run 'tracegrad COMMAND --help' for the options and examples of a command.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name, help_text, func):
        p = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog=_EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
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

    def data_options(p, default_seed=0):
        p.add_argument(
            "--dataset",
            default="digits",
            help="digits, mnist, fashion-mnist, xor, moons, circles, spirals, blobs, "
            "or a .npy/.npz/.csv file (default digits)",
        )
        p.add_argument(
            "--data-dir",
            help="directory with the MNIST/Fashion-MNIST .gz files "
            "(else $TRACEGRAD_DATA, else the user cache)",
        )
        p.add_argument("--download", action="store_true", help="download missing MNIST files")
        p.add_argument(
            "--seed", type=int, default=default_seed, help="seed of data, split, init, shuffling"
        )
        p.add_argument("--json", action="store_true", help="print one JSON object at the end")

    p = command("train", "train an MLP and write the model, history and plots", _cmd_train)
    data_options(p)
    p.add_argument(
        "--layers", help="sizes, e.g. 784-256-128-10, or hidden sizes only, e.g. 256-128"
    )
    p.add_argument("--activation", default="relu", help="hidden activation (default relu)")
    p.add_argument("--output", default="identity", help="output activation (default identity)")
    p.add_argument("--loss", default="cross_entropy", help="cross_entropy, mse or quadratic")
    p.add_argument(
        "--optimizer",
        default="momentum",
        help="sgd, momentum, nesterov, adagrad, rmsprop, adam, adamw, lbfgs",
    )
    p.add_argument("--lr", type=float, help="learning rate (default depends on the optimizer)")
    p.add_argument("--momentum", type=float, default=0.9)
    p.add_argument("--lr-decay", type=float, default=0.0, help="lr_k = lr / (1 + decay k)")
    p.add_argument("--batch-size", type=_integer, default=32)
    p.add_argument("--epochs", type=_integer, default=20)
    p.add_argument("--l2", type=float, default=0.0, help="lambda of lambda/(2m) sum W^2")
    p.add_argument("--dropout", type=float, default=0.0, help="probability of dropping a unit")
    p.add_argument("--init", default="auto", help="weight initializer (default: He or Glorot)")
    p.add_argument("--val-split", type=float, default=0.1, help="validation fraction")
    p.add_argument(
        "--early-stopping",
        type=int,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without validation improvement",
    )
    p.add_argument(
        "--scale",
        choices=["standard", "minmax", "max", "none"],
        help="input scaling (default: max for 8-bit images, standard otherwise)",
    )
    p.add_argument("--out", help="output directory (default runs/<timestamp>)")
    p.add_argument("--resume", help="checkpoint file to resume from")
    p.add_argument("--quiet", action="store_true", help="no progress output")

    p = command("evaluate", "evaluate a saved model on a data set's test part", _cmd_evaluate)
    p.add_argument("model", help="run directory or model file")
    data_options(p, default_seed=None)  # None: the seed the model was trained with

    p = command(
        "predict", "predict classes of rows (.npy/.csv) or a digit image (.png)", _cmd_predict
    )
    p.add_argument("model", help="run directory or model file")
    p.add_argument("input", help=".npy or .csv rows, or a PNG image")
    p.add_argument("--json", action="store_true")

    p = command("gradcheck", "check an architecture's gradients numerically", _cmd_gradcheck)
    p.add_argument("--layers", help="sizes, e.g. 4-5-3 (default)")
    p.add_argument("--activation", default="sigmoid")
    p.add_argument("--l2", type=float, default=0.1)
    p.add_argument("--samples", type=int, default=8)
    p.add_argument("--max-checks", type=int, default=200, help="entries checked per parameter")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true")

    p = command("info", "describe a saved model", _cmd_info)
    p.add_argument("model", help="run directory or model file")
    p.add_argument("--json", action="store_true")

    p = command("trace", "print every number of a training step of a worked example", _cmd_trace)
    p.add_argument("example", nargs="?", default="mazur", help="worked example (mazur)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--steps", type=int, default=1, help="training steps to run (default 1)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate (default 0.5)")

    p = command(
        "playground", "train networks in a local web page, every number shown", _cmd_playground
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=_integer, default=8000, help="port (default 8000; 0: any free)")
    p.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    return parser


def main(argv=None) -> int:
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
