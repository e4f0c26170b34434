"""Training throughput on MNIST against JAX and PyTorch (run by hand, never part of the tests).

    python benchmarks/throughput.py              # the full comparison, 3 interleaved repeats
    python benchmarks/throughput.py --quick      # the same on 10,000 samples, 2 repeats (~2 min)
    python benchmarks/throughput.py --threads 1  # every BLAS, XLA and torch on one thread
    python benchmarks/throughput.py --tta        # also seconds to 98% test accuracy vs JAX
    python benchmarks/throughput.py --ablation   # what each speed measure is worth
    python benchmarks/throughput.py --more       # also NumPy by hand, PyTorch + FTZ, sklearn
    python benchmarks/throughput.py --rss        # also peak RSS, one subprocess per contender

The recipe: one epoch of 784-128-10 at batch 10, 64, 256 and 1024, and of 784-512-256-10
at batch 128 (ReLU, softmax cross-entropy, SGD lr 0.05 momentum 0.9, float32), every
contender from the same initial weights and the same shuffled order. Contenders:
`tracegrad fit` (training.fit, compiled step by default), `tracegrad eager` (the
PyTorch-style loop: loss.backward(); opt.step()), `JAX jit step` (a jitted step per
batch), `JAX lax.scan` (the epoch as one scan), `PyTorch eager`, and the `GEMM floor`
(only the matrix products of each step, into preallocated arrays, same BLAS: its time
over fit's is the share of the compiled step spent in matrix products). Every repeat runs
every configuration and contender once, in an order rotated per repeat, so drift in the
machine's speed hits all alike; tables give medians and spreads (worst / best).
Install the peers with `pip install -e '.[bench]'` and `pip install torch==2.13.0`.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from importlib.util import find_spec
from pathlib import Path

import extra_peers
import jax_peers
import numpy as np

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
SIZES, DEEP, LR, MOMENTUM, SEED = (784, 128, 10), (784, 512, 256, 10), 0.05, 0.9, 0
HAVE_TORCH = find_spec("torch") is not None
# Targets (issue 10): fit / JAX jit >= 1.0 and fit / JAX scan >= 0.8 everywhere; the
# eager loop this many times faster than PyTorch eager; the matmul share at batch 256.
JIT_TARGET, SCAN_TARGET = 1.0, 0.8
TORCH_TARGETS = {10: 2.5, 64: 1.8, 256: 1.4}
GEMM_TARGET = (256, 0.75)


def batches(n: int, batch_size: int):
    """The shuffled order every contender uses: fit's own Batches(rng=0) draws the same."""
    order = np.random.default_rng(SEED).permutation(n)
    return (order[i : i + batch_size] for i in range(0, n, batch_size))


def initial_weights(sizes) -> list:
    """[W1, b1, W2, b2, ...] of a seeded tracegrad MLP (C-ordered copies), for everyone."""
    from tracegrad import nn

    net = nn.MLP(list(sizes), activation="relu", rng=SEED)
    return [np.ascontiguousarray(p.data) for p in net.parameters()]


def sizes_of(init) -> list:
    return [init[0].shape[1]] + [w.shape[0] for w in init[::2]]


def tracegrad_model(init):
    from tracegrad import nn

    model = nn.MLP(sizes_of(init), activation="relu", rng=SEED)
    for p, w in zip(model.parameters(), init, strict=True):
        np.copyto(p.data, w)  # in place: the layer keeps its own memory layout
    return model


def seconds(train, *args) -> float:
    start = time.perf_counter()
    train(*args)
    return time.perf_counter() - start


# Each contender trains one epoch from `init` and returns its seconds; building the
# model and optimizer happens before the clock starts.
def tracegrad_fit(X, y, bs, init, compile=True):
    from tracegrad import losses, optim, training

    model = tracegrad_model(init)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    return seconds(lambda: training.fit(model, losses.cross_entropy, opt, (X, y), epochs=1,
                                        batch_size=bs, rng=SEED, compile=compile))  # fmt: skip


def tracegrad_epoch(model, opt, X, y, bs) -> None:
    import tracegrad as tg
    from tracegrad import losses

    for idx in batches(len(X), bs):
        loss = losses.cross_entropy(model(tg.Tensor(X[idx])), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()


def tracegrad_eager(X, y, bs, init):
    from tracegrad import optim

    model = tracegrad_model(init)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    return seconds(tracegrad_epoch, model, opt, X, y, bs)


def jax_jit(X, y, bs, init):
    order = np.random.default_rng(SEED).permutation(len(X))
    return jax_peers.jit_step(X, y, bs, init, LR, MOMENTUM, order)


def jax_scan(X, y, bs, init):
    order = np.random.default_rng(SEED).permutation(len(X))
    return jax_peers.scan_epoch(X, y, bs, init, LR, MOMENTUM, order)


def torch_model(init):
    import torch

    layers = []
    for w in init[::2]:
        layers += [torch.nn.Linear(w.shape[1], w.shape[0]), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    with torch.no_grad():
        for p, w in zip(model.parameters(), init, strict=True):
            p.copy_(torch.from_numpy(w))
    return model


def torch_eager(X, y, bs, init, flush=False):
    import torch

    model = torch_model(init)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def epoch():
        for idx in batches(len(X), bs):
            idx = torch.from_numpy(idx)
            loss = torch.nn.functional.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()

    torch.set_flush_denormal(flush)
    try:
        return seconds(epoch)
    finally:
        torch.set_flush_denormal(False)


def gemm_floor(X, y, bs, init):
    """Only the matrix products of each compiled step, into preallocated outputs: per
    layer the forward product and the weight gradient, and the input gradient for every
    layer but the first (whose input is data), at the epoch's batch sizes."""
    weights = init[::2]
    widths = [w.shape[0] for w in weights]
    x = np.ascontiguousarray(X[:bs])
    acts = [x] + [np.ones((bs, k), np.float32) for k in widths]
    outs = [np.empty((bs, k), np.float32) for k in widths]
    gx = [np.empty((bs, w.shape[1]), np.float32) for w in weights]
    gw = [np.empty(w.shape, np.float32) for w in weights]
    steps, last = divmod(len(X), bs)
    start = time.perf_counter()
    for m in [bs] * steps + ([last] if last else []):
        for i, w in enumerate(weights):
            np.matmul(acts[i][:m], w.T, out=outs[i][:m])
        for i in reversed(range(len(weights))):
            delta = acts[i + 1][:m]
            np.matmul(delta.T, acts[i][:m], out=gw[i])
            if i:
                np.matmul(delta, weights[i], out=gx[i][:m])
    return time.perf_counter() - start


CONTENDERS = {
    "tracegrad fit": tracegrad_fit,
    "tracegrad eager": tracegrad_eager,
    "JAX jit step": jax_jit if jax_peers.HAVE_JAX else None,
    "JAX lax.scan": jax_scan if jax_peers.HAVE_JAX else None,
    "PyTorch eager": torch_eager if HAVE_TORCH else None,
    "GEMM floor": gemm_floor,
}
BASE = "tracegrad fit"


def load(data_dir: Path, split: str, samples: int | None = None):
    from tracegrad.datasets import mnist

    data = mnist(data_dir, split=split)
    X, y = data.X[:samples] / np.float32(255), data.y[:samples]
    return np.ascontiguousarray(X, dtype=np.float32), y


def header(threads: int | None, xla_flags: str) -> None:
    import threadpoolctl

    import tracegrad as tg
    from tracegrad.compile import fpmode

    if HAVE_TORCH:
        import torch  # before threadpool_info, so its thread pools are listed too
    if jax_peers.HAVE_JAX:
        import jax  # noqa: F401
    if threads:
        threadpoolctl.threadpool_limits(limits=threads, user_api="blas")
    if HAVE_TORCH:
        torch.set_num_threads(threads or os.cpu_count())
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line),
        platform.processor() or "unknown",
    )
    print(f"CPU: {cpu}, {os.cpu_count()} logical cores; Python {platform.python_version()}")
    jax_v = jax_peers.version() if jax_peers.HAVE_JAX else "-"
    torch_v = torch.__version__ if HAVE_TORCH else "-"
    print(f"Versions: numpy {np.__version__}, tracegrad {tg.__version__}, jax {jax_v}, "
          f"torch {torch_v}")  # fmt: skip
    for lib in threadpoolctl.threadpool_info():
        arch = lib.get("architecture") or lib.get("corename") or "-"
        print(f"Thread pool (threadpoolctl): {lib['internal_api']} {lib.get('version') or ''} "
              f"({lib['user_api']}), {lib['num_threads']} threads, {arch}: "
              f"{Path(lib['filepath']).name}")  # fmt: skip
    torch_threads = torch.get_num_threads() if HAVE_TORCH else "-"
    print(f"XLA_FLAGS: {xla_flags}; torch threads: {torch_threads}")
    print(f"Subnormals flushed during the compiled update: {fpmode.flush_supported()}")
    print(f"Load average (1 min) before: {os.getloadavg()[0]:.2f}\n")


def interleaved(configs, contenders, repeats, X, y) -> dict:
    """{(sizes, batch, name): [seconds, ...]}, every repeat running everything once."""
    names = list(contenders)
    times = {(s, b, n): [] for s, b in configs for n in names}
    for r in range(repeats):
        for sizes, bs in configs:
            init = initial_weights(sizes)
            for name in names[r % len(names) :] + names[: r % len(names)]:
                took = contenders[name](X, y, bs, init)
                times[sizes, bs, name].append(took)
                label = f"{'-'.join(map(str, sizes))} @{bs}"
                print(f"  rep {r + 1} {label:>20} {name:24s} {took:7.3f} s", file=sys.stderr,
                      flush=True)  # fmt: skip
    return times


def table(times, configs, names, n, base=BASE) -> dict:
    print("| network | batch | contender | median s/epoch | samples/s | spread | "
          f"{base} speed-up |")  # fmt: skip
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: |")
    median = {k: statistics.median(v) for k, v in times.items()}
    for sizes, bs in configs:
        for name in names:
            t = times[sizes, bs, name]
            m, spread = median[sizes, bs, name], max(t) / min(t)
            ratio = m / median[sizes, bs, base]
            net = "-".join(map(str, sizes))
            print(f"| {net} | {bs} | {name} | {m:.3f} | {n / m:,.0f} | {spread:.2f} | "
                  f"{ratio:.3f}x |")  # fmt: skip
    return median


def verdict(measured, target) -> str:
    # Three decimals: a ratio just under the target must not print as the target.
    return f"{target:.2f}x | {measured:.3f}x | {'PASS' if measured >= target else 'MISS'}"


def targets(median, configs) -> None:
    print("\n#### Targets (medians of the interleaved runs; ratio = peer time / ours)\n")
    print("| network | batch | measure | target | measured | |")
    print("| --- | ---: | --- | ---: | ---: | --- |")
    for sizes, bs in configs:
        net = "-".join(map(str, sizes))
        fit = median[sizes, bs, BASE]
        for peer, target in (("JAX jit step", JIT_TARGET), ("JAX lax.scan", SCAN_TARGET)):
            if (sizes, bs, peer) in median:
                ratio = median[sizes, bs, peer] / fit
                print(f"| {net} | {bs} | fit vs {peer} | {verdict(ratio, target)} |")
        if sizes == SIZES and bs in TORCH_TARGETS and (sizes, bs, "PyTorch eager") in median:
            ratio = median[sizes, bs, "PyTorch eager"] / median[sizes, bs, "tracegrad eager"]
            target = verdict(ratio, TORCH_TARGETS[bs])
            print(f"| {net} | {bs} | eager loop vs PyTorch eager | {target} |")
        if (sizes, bs) == (SIZES, GEMM_TARGET[0]):
            share = median[sizes, bs, "GEMM floor"] / fit
            ok = "PASS" if share >= GEMM_TARGET[1] else "MISS"
            print(f"| {net} | {bs} | share of fit's epoch in matrix products | "
                  f"{GEMM_TARGET[1]:.0%} | {share:.1%} | {ok} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR, help="MNIST's four .gz files")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats (3)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[10, 64, 256, 1024],
                        help="batch sizes for 784-128-10 (10 64 256 1024)")  # fmt: skip
    parser.add_argument("--no-deep", action="store_true", help="skip 784-512-256-10 at batch 128")
    parser.add_argument("--samples", type=int, help="train on the first N samples only")
    parser.add_argument("--threads", type=int, help="limit BLAS, XLA and torch to N threads")
    parser.add_argument("--quick", action="store_true",
                        help="10,000 samples, 2 repeats: about 2 minutes on 2 cores")  # fmt: skip
    parser.add_argument("--tta", action="store_true", help="also time to 98%% accuracy vs JAX")
    parser.add_argument("--tta-epochs", type=int, default=20, help="give up after N epochs")
    parser.add_argument("--ablation", action="store_true",
                        help="fit with each speed measure switched off, interleaved")  # fmt: skip
    parser.add_argument("--more", action="store_true",
                        help="also NumPy by hand, PyTorch + FTZ and scikit-learn")  # fmt: skip
    parser.add_argument("--rss", action="store_true", help="peak RSS, a subprocess each")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--batch-size", type=int, default=256, help=argparse.SUPPRESS)
    args = parser.parse_args()
    xla_flags = jax_peers.configure(args.threads)  # before anything imports jax

    contenders = {k: f for k, f in CONTENDERS.items() if f is not None}
    if args.more:
        contenders.update(extra_peers.more_contenders(LR, MOMENTUM, batches, tracegrad_model))
    if args.ablation:
        contenders = extra_peers.ablation(tracegrad_fit, tracegrad_eager)
    if args.child:
        return extra_peers.child(args, contenders, load)
    if args.quick:
        args.repeats, args.samples = 2, args.samples or 10_000
        args.tta_epochs = min(args.tta_epochs, 2)
    header(args.threads, xla_flags)
    X, y = load(args.data_dir, "train", args.samples)
    configs = [(SIZES, bs) for bs in args.batch_sizes]
    if not args.no_deep and not args.ablation:
        configs.append((DEEP, 128))
    times = interleaved(configs, contenders, args.repeats, X, y)
    print(f"### One epoch on {len(X):,} MNIST samples, {args.repeats} interleaved repeats\n")
    median = table(times, configs, list(contenders), len(X))
    print(f"\nLoad average (1 min) after: {os.getloadavg()[0]:.2f}")
    if not args.ablation:
        targets(median, configs)
    if args.rss:
        extra_peers.peak_rss(args, contenders, __file__)
    if args.tta:
        extra_peers.time_to_accuracy(args, X, y, load, initial_weights, tracegrad_model)


if __name__ == "__main__":
    main()
