"""Each fused primitive against the composite of primitives it replaces (run by hand).

    python benchmarks/fused_vs_composite.py

Forward + backward of each pair, float32, interleaved in one process: every repeat times
the fused op and its composite back to back, and the medians of the repeats are compared.
These ratios are the "measured" in the one-line reasons of ``tracegrad/autograd/fused.py``.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import tracegrad as tg
from tracegrad import losses
from tracegrad.autograd import fused

RNG = np.random.default_rng(0)
LABELS = np.arange(64) % 10
Y = (RNG.random((64, 1)) > 0.5).astype(np.float32)


def arrays(*shapes):
    return [RNG.standard_normal(s).astype(np.float32) for s in shapes]


def log_softmax(a, axis):
    shifted = a - tg.max(a, axis, keepdims=True)
    return shifted - tg.log(tg.sum(tg.exp(shifted), axis, keepdims=True))


def softmax(a, axis):
    e = tg.exp(a - tg.max(a, axis, keepdims=True))
    return e / tg.sum(e, axis, keepdims=True)


def softplus(x):
    return tg.maximum(x, 0.0) + tg.log1p(tg.exp(-tg.abs(x)))


# name: (inputs, which require grad, fused, composite)
CASES = {
    "linear 784->128, batch 64": (
        arrays((64, 784), (128, 784), (128,)),
        (False, True, True),
        lambda x, w, b: fused.linear(x, w, b),
        lambda x, w, b: x @ w.T + b,
    ),
    "softmax (64, 10)": (
        arrays((64, 10)),
        (True,),
        lambda a: fused.softmax(a, 1),
        lambda a: softmax(a, 1),
    ),
    "log_softmax (64, 10)": (
        arrays((64, 10)),
        (True,),
        lambda a: fused.log_softmax(a, 1),
        lambda a: log_softmax(a, 1),
    ),
    "cross_entropy (64, 10)": (
        arrays((64, 10)),
        (True,),
        lambda z: losses.cross_entropy(z, LABELS),
        lambda z: -tg.mean(log_softmax(z, 1)[np.arange(64), LABELS]),
    ),
    "bce_with_logits (64, 1)": (
        arrays((64, 1)),
        (True,),
        lambda x: losses.binary_cross_entropy_with_logits(x, Y),
        lambda x: tg.mean(softplus(x) - x * Y),
    ),
}


def per_call(fn, data, needs, n=300) -> float:
    start = time.perf_counter()
    for _ in range(n):
        leaves = [tg.Tensor(a, requires_grad=r) for a, r in zip(data, needs, strict=True)]
        out = fn(*leaves)
        out.backward(np.ones(out.shape, np.float32))
    return (time.perf_counter() - start) / n


def main(repeats: int = 7) -> None:
    print("| op | composite / fused (median of interleaved repeats) |")
    print("| --- | ---: |")
    for name, (data, needs, fused_fn, composite_fn) in CASES.items():
        ratios = [
            per_call(composite_fn, data, needs) / per_call(fused_fn, data, needs)
            for _ in range(repeats)
        ]
        print(f"| {name} | {statistics.median(ratios):.2f}x |")


if __name__ == "__main__":
    main()
