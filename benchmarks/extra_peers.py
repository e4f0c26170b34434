"""The optional parts of throughput.py: more peers, the ablation, peak RSS, time to accuracy."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import warnings
from pathlib import Path

import jax_peers
import numpy as np


def more_contenders(lr, momentum, batches, tracegrad_model) -> dict:
    """NumPy written by hand (with and without FTZ), PyTorch + FTZ, scikit-learn's MLP."""
    from importlib.util import find_spec

    from tracegrad.compile import fpmode

    def numpy_epoch(X, y, bs, init):
        W1, b1, W2, b2 = (w.copy() for w in init)
        v = [np.zeros_like(w) for w in (W1, b1, W2, b2)]
        start = time.perf_counter()
        for idx in batches(len(X), bs):
            x, t = X[idx], y[idx]
            m, rows = len(x), np.arange(len(x))
            z1 = x @ W1.T + b1
            a1 = np.maximum(z1, 0)
            z2 = a1 @ W2.T + b2
            e = np.exp(z2 - z2.max(axis=1, keepdims=True))
            delta2 = e / e.sum(axis=1, keepdims=True)
            delta2[rows, t] -= 1
            delta2 /= m
            delta1 = (delta2 @ W2) * (z1 > 0)
            grads = (delta1.T @ x, delta1.sum(axis=0), delta2.T @ a1, delta2.sum(axis=0))
            for i, (w, g) in enumerate(zip((W1, b1, W2, b2), grads, strict=True)):
                v[i] = momentum * v[i] + g
                w -= lr * v[i]
        return time.perf_counter() - start

    def numpy_hand(X, y, bs, init):
        return numpy_epoch(X, y, bs, init) if len(init) == 4 else float("nan")

    def numpy_ftz(X, y, bs, init):
        with fpmode.flushing_denormals():
            return numpy_hand(X, y, bs, init)

    def sklearn_mlp(X, y, bs, init):
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        hidden = tuple(w.shape[0] for w in init[:-2:2])
        clf = MLPClassifier(hidden_layer_sizes=hidden, solver="sgd", learning_rate_init=lr,
                            momentum=momentum, nesterovs_momentum=False, alpha=0, batch_size=bs,
                            max_iter=1, random_state=0)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            clf.fit(X, y)  # its own init (and float64 arithmetic)
            return time.perf_counter() - start

    found = {"NumPy by hand": numpy_hand, "NumPy by hand + FTZ": numpy_ftz,
             "scikit-learn MLP": sklearn_mlp}  # fmt: skip
    if find_spec("torch") is not None:
        from throughput import torch_eager

        found["PyTorch eager + FTZ"] = lambda X, y, bs, init: torch_eager(X, y, bs, init, True)
    return found


def ablation(tracegrad_fit, tracegrad_eager) -> dict:
    """fit with each measure of the compiled step switched off, one at a time.

    Subnormal flushing off: ``tg.set_flush_denormal(False)``; buffer reuse off: the
    step's laid-out plans are dropped after every batch (``CompiledStep.forget``), so
    every buffer is allocated again; BLAS on one thread instead of every core
    (threadpoolctl). Replay is gone (see README): the eager loop is the eager engine.
    """
    import threadpoolctl

    from tracegrad import training
    from tracegrad.compile import fpmode

    class Forget(training.Callback):
        def on_batch_end(self, trainer, batch, logs):
            trainer.compiled_step.forget()

    def no_flush(X, y, bs, init):
        saved = fpmode.flush_denormal_enabled()
        fpmode.set_flush_denormal(False)
        try:
            return tracegrad_fit(X, y, bs, init)
        finally:
            fpmode.set_flush_denormal(saved)

    def fresh_buffers(X, y, bs, init):
        import throughput

        model = throughput.tracegrad_model(init)
        from tracegrad import losses, optim

        opt = optim.SGD(model.parameters(), lr=throughput.LR, momentum=throughput.MOMENTUM)
        start = time.perf_counter()
        training.fit(model, losses.cross_entropy, opt, (X, y), epochs=1, batch_size=bs,
                     rng=throughput.SEED, callbacks=[Forget()])  # fmt: skip
        return time.perf_counter() - start

    def one_thread(X, y, bs, init):
        with threadpoolctl.threadpool_limits(limits=1, user_api="blas"):
            return tracegrad_fit(X, y, bs, init)

    return {
        "tracegrad fit": tracegrad_fit,
        "fit, eager (compile=False)": lambda X, y, bs, init: tracegrad_fit(X, y, bs, init, False),
        "fit, no subnormal flushing": no_flush,
        "fit, fresh buffers each step": fresh_buffers,
        "fit, BLAS on 1 thread": one_thread,
        "tracegrad eager": tracegrad_eager,
    }


def peak_rss_kib() -> int:
    """VmHWM, not ru_maxrss: the kernel carries ru_maxrss across exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1])
    return 0


def child(args, contenders, load) -> None:
    """One epoch of one contender in this fresh process; print RSS figures (KiB) as JSON."""
    from throughput import SIZES, initial_weights

    X, y = load(args.data_dir, "train", args.samples)
    init = initial_weights(SIZES)
    if "JAX" in args.child:
        import jax  # noqa: F401 -- the library is part of the baseline, not of the growth
    if "PyTorch" in args.child:
        import torch  # noqa: F401
    try:
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM on Linux
    except OSError:
        pass
    baseline = peak_rss_kib()
    contenders[args.child](X, y, args.batch_size, init)
    print(json.dumps(dict(baseline=baseline, peak=peak_rss_kib(), data=X.nbytes)))


def peak_rss(args, contenders, script) -> None:
    print(f"\n### Peak RSS of one epoch at batch {args.batch_size}, a fresh process each\n")
    print("| contender | RSS before, MB | peak RSS, MB | growth, MB |")
    print("| --- | ---: | ---: | ---: |")
    for name in contenders:
        if name == "GEMM floor":
            continue
        command = [sys.executable, script, "--child", name, "--batch-size", str(args.batch_size),
                   "--data-dir", str(args.data_dir)]  # fmt: skip
        command += ["--samples", str(args.samples)] if args.samples else []
        command += ["--threads", str(args.threads)] if args.threads else []
        command += [flag for flag in ("--ablation", "--more") if getattr(args, flag[2:])]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        r = json.loads(result.stdout.strip().splitlines()[-1])
        base, peak = r["baseline"] / 1024, r["peak"] / 1024
        print(f"| {name} | {base:.0f} | {peak:.0f} | {peak - base:.0f} |")


def time_to_accuracy(args, X, y, load, initial_weights, tracegrad_model, target=0.98) -> None:
    """784-256-128-10 ReLU, Adam 1e-3, batch 128: tracegrad's fit against a jitted JAX Adam
    step, alternating epochs from the same weights; evaluation is not timed."""
    import tracegrad as tg
    from tracegrad import losses, optim, training

    sizes, lr, bs = (784, 256, 128, 10), 1e-3, 128
    Xtest, ytest = load(args.data_dir, "test")
    init = initial_weights(sizes)
    net = tracegrad_model(init)
    opt = optim.Adam(net.parameters(), lr=lr)
    shuffle = np.random.default_rng(0)

    def tg_epoch():
        training.fit(net, losses.cross_entropy, opt, (X, y), epochs=1, batch_size=bs, rng=shuffle)

    def tg_accuracy():
        with tg.no_grad():
            return float((net(tg.Tensor(Xtest)).data.argmax(1) == ytest).mean())

    runs = {"tracegrad fit": (tg_epoch, tg_accuracy)}
    if jax_peers.HAVE_JAX:
        jx, jrng = jax_peers.AdamTrainer(init, lr), np.random.default_rng(0)
        jx.warm(X, y, bs)
        runs["JAX jit step"] = (
            lambda: jx.epoch(X, y, bs, jrng),
            lambda: float((jx.scores(Xtest).argmax(1) == ytest).mean()),
        )
    wall, reached = dict.fromkeys(runs, 0.0), {}
    for epoch in range(1, args.tta_epochs + 1):
        for name, (train, accuracy) in runs.items():
            if name in reached:
                continue
            start = time.perf_counter()
            train()
            wall[name] += time.perf_counter() - start
            acc = accuracy()
            if acc >= target or epoch == args.tta_epochs:
                reached[name] = (epoch if acc >= target else None, acc)
        if len(reached) == len(runs):
            break
    print(f"\n### Time to {target:.0%} MNIST test accuracy (784-256-128-10 ReLU, Adam {lr}, "
          f"batch {bs}, {len(X):,} training samples)\n")  # fmt: skip
    print("| framework | training wall s | epochs | test accuracy | |")
    print("| --- | ---: | ---: | ---: | --- |")
    for name, (epoch, acc) in reached.items():
        status = "reached" if epoch else f"not reached in {args.tta_epochs} epochs"
        print(f"| {name} | {wall[name]:.1f} | {epoch or '-'} | {acc:.2%} | {status} |")
