"""Training throughput on MNIST against peers (run by hand, never part of the tests).

    python benchmarks/throughput.py                  # 784-128-10, batch 10/64/256/1024, 3 repeats
    python benchmarks/throughput.py --quick          # smoke test: 1 repeat, 10,000 samples
    python benchmarks/throughput.py --rss            # also peak RSS, one subprocess per contender
    python benchmarks/throughput.py --tta            # also seconds to 98% test accuracy vs PyTorch
    python benchmarks/throughput.py --ablation       # tracegrad without FTZ / BLAS updates

One epoch of 784-128-10 (ReLU, softmax cross-entropy, SGD lr 0.05 momentum 0.9,
float32) for each contender, interleaved: every repetition runs every batch size
and every contender once, in an order rotated per repetition, so drift in the
machine's speed hits all of them alike. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
import warnings
from importlib.util import find_spec
from pathlib import Path

import numpy as np
import threadpoolctl

import tracegrad as tg
from tracegrad import fpmode, losses, nn, optim
from tracegrad.datasets import mnist
from tracegrad.optim import blas1

try:
    from tracegrad.training import fit
except ImportError:  # the trainer may not exist yet in this checkout
    fit = None

DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
SIZES, LR, MOMENTUM, SEED = [784, 128, 10], 0.05, 0.9, 0
# tracegrad's explicit loop should be this many times faster than PyTorch eager (best epoch).
TORCH_TARGETS = {10: 2.5, 64: 1.8, 256: 1.4}
TORCH_PEERS = ("PyTorch eager", "PyTorch eager + FTZ")
NUMPY_PEERS = ("NumPy hand-written", "NumPy hand-written + FTZ")  # >= 1.0x at every batch size
GEMM_TARGET = (256, 0.75)  # at batch 256, this share of the epoch in the matrix products
NOTES = {}  # remarks the contenders leave for the report
# PyTorch is an optional peer, imported where used so that --rss children without it stay lean.
HAVE_TORCH = find_spec("torch") is not None


def numpy_blas() -> dict:
    """threadpoolctl's entry for the BLAS NumPy itself links (torch may bring its own)."""
    blas = [i for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    return next((i for i in blas if "numpy" in i["filepath"]), blas[0] if blas else {})


def batches(n: int, batch_size: int, rng: np.random.Generator):
    order = rng.permutation(n)
    return (order[i : i + batch_size] for i in range(0, n, batch_size))


def initial_weights(sizes=SIZES) -> list:
    """[W1, b1, W2, b2, ...] of a seeded tracegrad MLP, which every contender starts from."""
    return [p.data.copy() for p in nn.MLP(sizes, activation="relu", rng=SEED).parameters()]


def tracegrad_model(init, sizes=SIZES):
    model = nn.MLP(sizes, activation="relu", rng=SEED)
    for p, w in zip(model.parameters(), init, strict=True):
        np.copyto(p.data, w)  # in place, as torch_model's copy_: the layer keeps its layout
    return model


def torch_model(init, sizes=SIZES):
    import torch

    torch.set_num_threads(numpy_blas().get("num_threads", 1))
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    with torch.no_grad():
        for p, w in zip(model.parameters(), init, strict=True):
            p.copy_(torch.from_numpy(w))
    return model


def tracegrad_epoch(model, opt, X, y, bs, rng) -> None:
    for idx in batches(len(X), bs, rng):
        xb, yb = X[idx], y[idx]
        loss = losses.cross_entropy(model(tg.Tensor(xb)), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()


def torch_epoch(model, opt, X, y, bs, rng) -> None:
    """``X`` and ``y`` are torch tensors (sharing NumPy's memory), indexed per batch."""
    import torch

    for idx in batches(len(X), bs, rng):
        idx = torch.from_numpy(idx)
        loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()


def seconds(train, *args) -> float:
    start = time.perf_counter()
    train(*args)
    return time.perf_counter() - start


# Each contender trains one epoch from the shared initial weights and returns its seconds;
# building the model and optimizer happens before the clock starts.
def tracegrad_explicit(X, y, bs, init):
    model = tracegrad_model(init)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    return seconds(tracegrad_epoch, model, opt, X, y, bs, np.random.default_rng(SEED))


def tracegrad_fit(X, y, bs, init):
    model = tracegrad_model(init)
    opt = optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    train = (X, y)
    return seconds(
        lambda: fit(model, losses.cross_entropy, opt, train, epochs=1, batch_size=bs, rng=SEED)
    )


def numpy_loop(X, y, bs, init):
    """The same maths as a tutorial writes it: fresh arrays every step."""
    return numpy_epoch(X, y, bs, init)


def numpy_loop_ftz(X, y, bs, init):
    """The tutorial loop with subnormals flushed to zero for the whole epoch, as tracegrad's
    optimizers do during their updates: what a NumPy user gets who knows the trick."""
    with fpmode.flushing_denormals():
        return numpy_epoch(X, y, bs, init)


def numpy_epoch(X, y, bs, init):
    W1, b1, W2, b2 = (w.copy() for w in init)
    v = [np.zeros_like(w) for w in (W1, b1, W2, b2)]
    rng = np.random.default_rng(SEED)
    start = time.perf_counter()
    for idx in batches(len(X), bs, rng):
        x, t = X[idx], y[idx]
        m, rows = len(x), np.arange(len(x))
        z1 = x @ W1.T + b1
        a1 = np.maximum(z1, 0)
        z2 = a1 @ W2.T + b2
        shifted = z2 - z2.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        loss = -(shifted[rows, t] - np.log(total[:, 0])).mean()  # noqa: F841 (computed, as peers do)
        delta2 = e / total
        delta2[rows, t] -= 1
        delta2 /= m
        delta1 = (delta2 @ W2) * (z1 > 0)
        grads = (delta1.T @ x, delta1.sum(axis=0), delta2.T @ a1, delta2.sum(axis=0))
        for i, (w, g) in enumerate(zip((W1, b1, W2, b2), grads, strict=True)):
            v[i] = MOMENTUM * v[i] + g
            w -= LR * v[i]
    return time.perf_counter() - start


def torch_eager(X, y, bs, init, flush=False):
    import torch

    model = torch_model(init)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    torch.set_flush_denormal(flush)
    try:
        return seconds(torch_epoch, model, opt, Xt, yt, bs, np.random.default_rng(SEED))
    finally:
        torch.set_flush_denormal(False)


def torch_eager_ftz(X, y, bs, init):
    """PyTorch with ``torch.set_flush_denormal(True)``, its opt-in for the same trick."""
    return torch_eager(X, y, bs, init, flush=True)


def sklearn_mlp(X, y, bs, init):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=(128,), activation="relu", solver="sgd", learning_rate_init=LR,
        momentum=MOMENTUM, nesterovs_momentum=False, alpha=0, batch_size=bs, max_iter=1,
        shuffle=True, random_state=0,
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        took = seconds(clf.fit, X, y)  # its own Glorot init: fit builds the weights
    NOTES["scikit-learn"] = f"scikit-learn was given float32 and trained in {clf.coefs_[0].dtype}."
    return took


def gemm_floor(X, y, bs, init):
    """Only the five matrix products of each step, into preallocated outputs, same BLAS."""
    W1, _, W2, _ = init
    x = np.ascontiguousarray(X[:bs])
    h, d2 = np.ones((bs, W1.shape[0]), np.float32), np.ones((bs, W2.shape[0]), np.float32)
    outs = [np.empty(s, np.float32) for s in (h.shape, d2.shape, h.shape, W2.shape, W1.shape)]
    steps, last = divmod(len(X), bs)
    start = time.perf_counter()
    for m in [bs] * steps + ([last] if last else []):
        xm, hm, dm = x[:m], h[:m], d2[:m]
        np.matmul(xm, W1.T, out=outs[0][:m])
        np.matmul(hm, W2.T, out=outs[1][:m])
        np.matmul(dm, W2, out=outs[2][:m])
        np.matmul(dm.T, hm, out=outs[3])
        np.matmul(hm.T, xm, out=outs[4])  # d1.T @ x: d1 has h's shape
    return time.perf_counter() - start


CONTENDERS = {
    "tracegrad explicit": tracegrad_explicit,
    "tracegrad fit": tracegrad_fit if fit is not None else None,
    "NumPy hand-written": numpy_loop,
    "NumPy hand-written + FTZ": numpy_loop_ftz if fpmode.flush_supported() else None,
    "PyTorch eager": torch_eager if HAVE_TORCH else None,
    "PyTorch eager + FTZ": torch_eager_ftz if HAVE_TORCH else None,
    "scikit-learn MLP": sklearn_mlp,
    "GEMM floor": gemm_floor,
}
ACTIVE = {name: f for name, f in CONTENDERS.items() if f is not None}


def tracegrad_variant(flush: bool, blas: bool):
    """The explicit loop with the subnormal flush and/or the BLAS updates switched off."""

    def run(X, y, bs, init):
        saved = fpmode.flush_denormal_enabled(), blas1.enabled
        fpmode.set_flush_denormal(flush)
        blas1.enabled = blas
        try:
            return tracegrad_explicit(X, y, bs, init)
        finally:
            fpmode.set_flush_denormal(saved[0])
            blas1.enabled = saved[1]

    return run


# --ablation: what each of the two optimizer-update measures is worth on its own.
ABLATION = {
    "tracegrad explicit": tracegrad_explicit,
    "tracegrad, no FTZ": tracegrad_variant(flush=False, blas=True),
    "tracegrad, no BLAS updates": tracegrad_variant(flush=True, blas=False),
    "tracegrad, neither": tracegrad_variant(flush=False, blas=False),
}


def load(data_dir: Path, split: str, samples: int | None = None):
    data = mnist(data_dir, split=split)
    X, y = data.X[:samples] / np.float32(255), data.y[:samples]
    return np.ascontiguousarray(X, dtype=np.float32), y


def limit_threads(n: int | None) -> None:
    """Limit every BLAS loaded so far to ``n`` threads (torch follows in ``torch_model``)."""
    if n:
        threadpoolctl.threadpool_limits(limits=n, user_api="blas")


def header(threads: int | None) -> None:
    import sklearn.neural_network

    if HAVE_TORCH:
        import torch  # before threadpool_info, so its thread pools are listed too
    limit_threads(threads)  # after the imports: scikit-learn brings SciPy's own OpenBLAS
    cpu = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if "model name" in line),
        platform.processor() or "unknown",
    )
    print(f"CPU: {cpu}, {os.cpu_count()} logical cores; Python {platform.python_version()}")
    print(
        f"Versions: numpy {np.__version__}, tracegrad {tg.__version__}, "
        f"scikit-learn {sklearn.__version__}, torch {torch.__version__ if HAVE_TORCH else '-'}"
    )
    for lib in threadpoolctl.threadpool_info():
        arch = lib.get("architecture") or lib.get("corename") or "-"
        print(
            f"Thread pool: {lib['internal_api']} {lib.get('version') or ''} ({lib['user_api']}), "
            f"{lib['num_threads']} threads, {arch}: {Path(lib['filepath']).name}"
        )
    blas = numpy_blas()
    print(f"NumPy's BLAS: {blas.get('internal_api')} {blas.get('version')}, ", end="")
    print(f"{blas.get('num_threads')} threads (torch.set_num_threads matches)")
    print(f"OPENBLAS_CORETYPE: {os.environ.get('OPENBLAS_CORETYPE', 'unset')} (same for all)")
    print(
        f"Subnormals: tracegrad's optimizers flush them to zero during updates "
        f"(supported here: {fpmode.flush_supported()}); the '+ FTZ' peers opt in to the same"
    )
    print(f"Load average (1 min) before: {os.getloadavg()[0]:.2f}\n")


def throughput(args, X, y) -> None:
    init = initial_weights()
    names = list(ACTIVE)
    times = {(bs, name): [] for bs in args.batch_sizes for name in names}
    for r in range(args.repeats):
        for bs in args.batch_sizes:
            for name in names[r % len(names) :] + names[: r % len(names)]:
                times[bs, name].append(ACTIVE[name](X, y, bs, init))
                progress = f"  rep {r + 1} batch {bs:4d} {name:26s} {times[bs, name][-1]:7.3f} s"
                print(progress, file=sys.stderr, flush=True)

    print(f"### One epoch of {'-'.join(map(str, SIZES))} on {len(X):,} MNIST samples\n")
    print(f"{args.repeats} interleaved repeats. Ratio: contender / tracegrad explicit (median")
    print("times; > 1 means tracegrad is faster). For the GEMM floor it is its share of")
    print("tracegrad's epoch. Samples/s from the median; spread = worst / best (noise).\n")
    print("| batch | contender | best s/epoch | median s/epoch | samples/s | ratio | spread |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    median = {key: statistics.median(t) for key, t in times.items()}
    for bs in args.batch_sizes:
        for name in names:
            b, m = min(times[bs, name]), median[bs, name]
            ratio = m / median[bs, "tracegrad explicit"]
            label = f"{name} (share)" if name == "GEMM floor" else name
            spread = max(times[bs, name]) / b
            row = f"| {bs} | {label} | {b:.3f} | {m:.3f} | {len(X) / m:,.0f} | {ratio:.2f} "
            print(row + f"| {spread:.1f} |")
    print(f"\nLoad average (1 min) after: {os.getloadavg()[0]:.2f}.")
    if fit is None:
        print("\n`tracegrad fit` skipped: `from tracegrad.training import fit` failed.")
    for note in NOTES.values():
        print(f"\n{note}")

    print("\n#### Targets (medians of the interleaved runs)\n")
    print("| batch | tracegrad explicit versus | target | measured | |")
    print("| ---: | --- | ---: | ---: | --- |")
    rows = [(bs, peer, t) for bs, t in TORCH_TARGETS.items() for peer in TORCH_PEERS]
    rows += [(bs, peer, 1.0) for bs in args.batch_sizes for peer in NUMPY_PEERS]
    for bs, peer, target in rows:
        if (bs, peer) in median:
            speedup = median[bs, peer] / median[bs, "tracegrad explicit"]
            verdict = "PASS" if speedup >= target else "MISS"
            # Three decimals: a ratio just under the target must not print as the target.
            print(f"| {bs} | {peer} | {target:.1f}x | {speedup:.3f}x | {verdict} |")
    if (GEMM_TARGET[0], "GEMM floor") in median:
        bs, target = GEMM_TARGET
        share = median[bs, "GEMM floor"] / median[bs, "tracegrad explicit"]
        verdict = "PASS" if share >= target else "MISS"
        print(f"| {bs} | share of the epoch in the GEMM floor | {target:.0%} | {share:.0%} "
              f"| {verdict} |")  # fmt: skip


def peak_rss_kib() -> int:
    """VmHWM, not ru_maxrss: the kernel carries ru_maxrss across exec, so a child started
    from a big parent would report the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def child(args) -> None:
    """One epoch of one contender in this fresh process; print RSS figures (KiB) as JSON."""
    if args.child.startswith("PyTorch"):
        import torch  # noqa: F401 -- libraries are part of the baseline, not of the growth
    if args.child == "scikit-learn MLP":
        import sklearn.neural_network  # noqa: F401
    limit_threads(args.threads)
    X, y = load(args.data_dir, "train", args.samples)
    init = initial_weights()
    try:  # forget loading's temporaries: on Linux this resets VmHWM
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    baseline = peak_rss_kib()
    ACTIVE[args.child](X, y, args.batch_size, init)
    peak = peak_rss_kib()
    print(json.dumps(dict(baseline=baseline, peak=peak, reset=reset, data=X.nbytes)))


def peak_rss(args) -> None:
    print(f"\n### Peak RSS of one epoch at batch {args.batch_size}, a fresh process each\n")
    print("| contender | RSS before the epoch, MB | peak RSS, MB | growth, MB |")
    print("| --- | ---: | ---: | ---: |")
    for name in ACTIVE:
        if name == "GEMM floor":
            continue
        command = [sys.executable, __file__, "--child", name, "--batch-size", str(args.batch_size)]
        command += ["--data-dir", str(args.data_dir), "--threads", str(args.threads or 0)]
        command += ["--samples", str(args.samples)] if args.samples else []
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        r = json.loads(result.stdout.strip().splitlines()[-1])
        base, peak = r["baseline"] / 1024, r["peak"] / 1024
        print(f"| {name} | {base:.0f} | {peak:.0f} | {peak - base:.0f} |")
    print(f"\nBefore the epoch: libraries, data and model loaded, peak reset: {r['reset']}.")
    print(f"The training images alone (float32) take {r['data'] / 1e6:.0f} MB.")


def test_accuracy(model, X, y) -> float:
    if isinstance(model, nn.Module):
        with tg.no_grad():
            scores = model(tg.Tensor(X)).data
    else:
        import torch

        with torch.no_grad():
            scores = model(torch.from_numpy(X)).numpy()
    return float((scores.argmax(axis=1) == y).mean())


def time_to_accuracy(args, X, y) -> None:
    """Train the same recipe in tracegrad and PyTorch, alternating epochs; evaluation untimed."""
    Xtest, ytest = load(args.data_dir, "test")
    sizes, init = args.tta_sizes, initial_weights(args.tta_sizes)
    net = tracegrad_model(init, sizes)
    runs = {"tracegrad": (net, optim.Adam(net.parameters(), lr=args.tta_lr), tracegrad_epoch, X, y)}
    if HAVE_TORCH:
        import torch

        net = torch_model(init, sizes)
        opt = torch.optim.Adam(net.parameters(), lr=args.tta_lr)
        runs["PyTorch eager"] = (net, opt, torch_epoch, torch.from_numpy(X), torch.from_numpy(y))
    rngs = {name: np.random.default_rng(SEED) for name in runs}
    wall, reached = dict.fromkeys(runs, 0.0), {}
    for epoch in range(1, args.tta_epochs + 1):
        for name, (model, opt, train_epoch, Xe, ye) in runs.items():
            if name in reached:
                continue
            start = time.perf_counter()
            train_epoch(model, opt, Xe, ye, args.tta_batch, rngs[name])
            wall[name] += time.perf_counter() - start
            accuracy = test_accuracy(model, Xtest, ytest)
            if accuracy >= args.tta_target or epoch == args.tta_epochs:
                reached[name] = (epoch if accuracy >= args.tta_target else None, accuracy)
        if len(reached) == len(runs):
            break

    recipe = f"{'-'.join(map(str, sizes))} ReLU, Adam lr {args.tta_lr}, batch {args.tta_batch}"
    print(f"\n### Time to {args.tta_target:.1%} MNIST test accuracy ({recipe})\n")
    print("| framework | training wall s | epochs | test accuracy | |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, (epoch, accuracy) in reached.items():
        status = "reached" if epoch else f"not reached in {args.tta_epochs} epochs"
        print(f"| {name} | {wall[name]:.1f} | {epoch or '-'} | {accuracy:.2%} | {status} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[10, 64, 256, 1024])
    parser.add_argument("--samples", type=int, help="train on the first N samples only")
    parser.add_argument("--threads", type=int, help="limit BLAS (and torch) to N threads")
    parser.add_argument("--quick", action="store_true", help="1 repeat, bs 64/256, 10k samples")
    parser.add_argument("--rss", action="store_true", help="peak RSS per contender")
    parser.add_argument("--batch-size", type=int, default=256, help="batch size for --rss")
    parser.add_argument("--tta", action="store_true", help="time to accuracy vs PyTorch")
    parser.add_argument("--tta-sizes", type=int, nargs="+", default=[784, 256, 128, 10])
    parser.add_argument("--tta-lr", type=float, default=1e-3)
    parser.add_argument("--tta-batch", type=int, default=128)
    parser.add_argument("--tta-target", type=float, default=0.98)
    parser.add_argument("--tta-epochs", type=int, default=20)
    parser.add_argument(
        "--ablation", action="store_true", help="tracegrad with FTZ / BLAS updates switched off"
    )
    parser.add_argument("--child", choices=[*ACTIVE, *ABLATION], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ablation or args.child in ABLATION:
        ACTIVE.clear()
        ACTIVE.update(ABLATION)
    if args.child:
        return child(args)
    if args.quick:
        args.repeats, args.batch_sizes = 1, [64, 256]
        args.samples = args.samples or 10_000
        args.tta_epochs = min(args.tta_epochs, 2)

    header(args.threads)
    X, y = load(args.data_dir, "train", args.samples)
    throughput(args, X, y)
    if args.rss:
        peak_rss(args)
    if args.tta:
        time_to_accuracy(args, X, y)


if __name__ == "__main__":
    main()
