"""The ``tracegrad`` command line: it parses arguments and calls the library, nothing more."""

from __future__ import annotations

import argparse
import json
import sys


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tracegrad",
        description="Neural networks trained by backpropagation, every number visible.",
        epilog="Run 'tracegrad COMMAND --help' for the options of a command.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser(
        "trace",
        help="print every number of a training step of a worked example",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  tracegrad trace mazur\n  tracegrad trace mazur --format json\n"
        "  tracegrad trace mazur --steps 10000",
    )
    p.add_argument("example", nargs="?", default="mazur", help="worked example (mazur)")
    p.add_argument("--format", choices=["text", "json"], default="text")
    p.add_argument("--steps", type=int, default=1, help="training steps to run (default 1)")
    p.add_argument("--lr", type=float, default=0.5, help="learning rate (default 0.5)")
    p.set_defaults(func=_cmd_trace)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return args.func(args)
    except UsageError as exc:
        if args.debug:
            raise
        print(f"tracegrad: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError, OSError, KeyError, RuntimeError) as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"tracegrad: error: {message}", file=sys.stderr)
        return 1
