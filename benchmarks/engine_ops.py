"""Engine overhead: microseconds per op, forward + backward, on tiny tensors, against PyTorch.

    python benchmarks/engine_ops.py              # shapes 4x4 and 64x64, 2,000 repetitions each
    python benchmarks/engine_ops.py --quick      # 200 repetitions: a smoke test

On tensors this small the arithmetic is nearly free, so the numbers measure what
the engine adds around it: building graph nodes, topological sort, gradient
accumulation. Both run single-threaded by default: on tensors this small a
parallel region only adds a barrier (and, on a busy machine, a wait for a
descheduled thread). tracegrad and PyTorch calls alternate, so drift hits both alike;
each cell is the median of the repetitions, timed with ``time.perf_counter_ns``.
Run by hand, never part of the tests. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from types import SimpleNamespace

import numpy as np
import threadpoolctl

import tracegrad as tg
from tracegrad import losses, nn, ops, optim

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # tracegrad's column is printed alone
    torch = None

CHAIN = 1000  # length of the chained-adds graph

TRACEGRAD = SimpleNamespace(
    name="tracegrad",
    leaf=lambda a: tg.Tensor(a, requires_grad=True),
    const=tg.Tensor,
    labels=lambda a: a,
    exp=ops.exp,
    sum=ops.sum,
    relu=ops.relu,
    sigmoid=ops.sigmoid,
    tanh=ops.tanh,
    softmax=lambda a: ops.softmax(a, axis=-1),
    log_softmax=lambda a: ops.log_softmax(a, axis=-1),
    cross_entropy=losses.cross_entropy,
    mse=losses.mse,
    linear=lambda n: nn.Linear(n, n, rng=0),
    sgd=lambda params: optim.SGD(params, lr=0.01),
)
if torch is not None:
    TORCH = SimpleNamespace(
        name="PyTorch",
        leaf=lambda a: torch.tensor(a, requires_grad=True),
        const=torch.from_numpy,
        labels=torch.from_numpy,
        exp=torch.exp,
        sum=torch.sum,
        relu=torch.relu,
        sigmoid=torch.sigmoid,
        tanh=torch.tanh,
        softmax=lambda a: torch.softmax(a, dim=-1),
        log_softmax=lambda a: torch.log_softmax(a, dim=-1),
        cross_entropy=F.cross_entropy,
        mse=F.mse_loss,
        linear=lambda n: torch.nn.Linear(n, n),
        sgd=lambda params: torch.optim.SGD(params, lr=0.01),
    )


def sample(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, shape).astype(np.float32)


def timed(step, *leaves):
    """A run: clear the leaves' gradients (untimed), then time ``step()`` in nanoseconds.

    What ``step`` returns is freed after the clock stops, so a graph's teardown is not timed.
    """

    def run() -> int:
        for leaf in leaves:
            leaf.grad = None
        start = time.perf_counter_ns()
        result = step()  # noqa: F841
        return time.perf_counter_ns() - start

    return run


# Each case builds its inputs once for a framework ``fw`` and a shape, and returns a run.
def unary(op: str):
    def make(fw, shape):
        a, g = fw.leaf(sample(shape)), fw.const(np.ones(shape, np.float32))
        f = getattr(fw, op)
        return timed(lambda: f(a).backward(g), a)

    return make


def binary(combine):
    def make(fw, shape):
        a, b = fw.leaf(sample(shape, 0)), fw.leaf(sample(shape, 1))
        g = fw.const(np.ones(combine(a, b).shape, np.float32))
        return timed(lambda: combine(a, b).backward(g), a, b)

    return make


def total(fw, shape):
    a = fw.leaf(sample(shape))
    return timed(lambda: fw.sum(a).backward(), a)


def cross_entropy(fw, shape):
    n, k = shape
    logits = fw.leaf(sample(shape))
    labels = fw.labels(np.random.default_rng(0).integers(0, k, n))
    return timed(lambda: fw.cross_entropy(logits, labels).backward(), logits)


def linear_mse_step(fw, shape):
    """Forward through a Linear layer, MSE, zero_grad, backward and an SGD step."""
    n, k = shape
    layer = fw.linear(k)
    opt = fw.sgd(layer.parameters())
    x, target = fw.const(sample(shape, 0)), fw.const(sample(shape, 1))

    def step():
        loss = fw.mse(layer(x), target)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return timed(step)


def chain_forward(fw, shape):
    x = fw.leaf(sample(shape))

    def build():
        y = x
        for _ in range(CHAIN):
            y = y + x
        return y

    return timed(build, x)


def chain_backward(fw, shape):
    """Only the backward pass of a graph of CHAIN adds (built, untimed, before each run)."""
    x, g = fw.leaf(sample(shape)), fw.const(np.ones(shape, np.float32))

    def run() -> int:
        x.grad, y = None, x
        for _ in range(CHAIN):
            y = y + x
        start = time.perf_counter_ns()
        y.backward(g)
        return time.perf_counter_ns() - start

    return run


CASES = {
    "add": binary(lambda a, b: a + b),
    "mul": binary(lambda a, b: a * b),
    "matmul": binary(lambda a, b: a @ b),
    "exp": unary("exp"),
    "sum": total,
    "relu": unary("relu"),
    "sigmoid": unary("sigmoid"),
    "tanh": unary("tanh"),
    "softmax": unary("softmax"),
    "log_softmax": unary("log_softmax"),
    "cross_entropy": cross_entropy,
    "Linear + MSE + SGD step": linear_mse_step,
    f"{CHAIN} chained adds: forward": chain_forward,
    f"{CHAIN} chained adds: backward": chain_backward,
}


def measure(make, frameworks, shape, reps: int, warmup: int) -> list:
    """Median microseconds per run for each framework, their runs alternating."""
    runs = [make(fw, shape) for fw in frameworks]
    for _ in range(warmup):
        for run in runs:
            run()
    times = [[] for _ in runs]
    for _ in range(reps):
        for run, ns in zip(runs, times, strict=True):
            ns.append(run())
    return [statistics.median(ns) / 1e3 for ns in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=2000, help="timed runs per op and shape")
    parser.add_argument("--shapes", nargs="+", default=["4x4", "64x64"], help="e.g. 4x4 64x64")
    parser.add_argument(
        "--threads", type=int, default=1, help="BLAS and torch threads (default 1; 0: as found)"
    )
    parser.add_argument("--quick", action="store_true", help="200 repetitions")
    args = parser.parse_args()
    if args.threads:
        threadpoolctl.threadpool_limits(limits=args.threads, user_api="blas")
    reps = 200 if args.quick else args.reps
    shapes = [tuple(int(n) for n in s.lower().split("x")) for s in args.shapes]

    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    blas = next((i for i in blas if "numpy" in i["filepath"]), blas[0] if blas else {})
    threads = blas.get("num_threads", 1)
    frameworks = [TRACEGRAD]
    versions = f"numpy {np.__version__}, tracegrad {tg.__version__}"
    if torch is not None:
        torch.set_num_threads(threads)  # the same thread count as NumPy's BLAS
        frameworks.append(TORCH)
        versions += f", torch {torch.__version__}"
    cpuinfo = open("/proc/cpuinfo").read().splitlines() if os.path.exists("/proc/cpuinfo") else []
    models = [line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")]
    cpu = models[0] if models else platform.machine()
    print(f"{cpu}, {os.cpu_count()} cores; {versions}")
    plural = "" if threads == 1 else "s"
    library = f"{blas.get('internal_api')} {blas.get('version')}"
    print(f"BLAS: {library}, {threads} thread{plural}", end="")
    print(f"; load average {os.getloadavg()[0]:.2f}; {reps} runs per cell, median\n")

    print("### Microseconds per op, forward + backward (float32)\n")
    header = "| op | shape | " + " | ".join(f"{fw.name} µs" for fw in frameworks)
    print(header + (" | ratio |" if len(frameworks) > 1 else " |"))
    print("| --- | --- |" + " ---: |" * (len(frameworks) + (len(frameworks) > 1)))
    for name, make in CASES.items():
        chained = name.startswith(str(CHAIN))
        for shape in shapes:
            n = max(reps // 20, 10) if chained else reps
            us = measure(make, frameworks, shape, n, warmup=max(n // 10, 2))
            cells = " | ".join(f"{t:,.1f}" for t in us)
            ratio = f" | {us[1] / us[0]:.2f}" if len(us) > 1 else ""
            print(f"| {name} | {'x'.join(map(str, shape))} | {cells}{ratio} |", flush=True)
    if len(frameworks) > 1:
        print("\nratio = PyTorch / tracegrad: above 1, tracegrad's engine is faster.")
    print(f"Load average at the end: {os.getloadavg()[0]:.2f}.")


if __name__ == "__main__":
    main()
