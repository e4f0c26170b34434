"""JAX 0.10 CPU peers for throughput.py: a jitted step per batch, and one lax.scan per epoch.

Same recipe as tracegrad's contenders: the same initial weights (W of shape (out, in),
z = a Wᵀ + b), ReLU, softmax cross-entropy, SGD with momentum as torch.optim.SGD
defines it (b <- μ b + g, w <- w − lr b, the buffer starting at the first gradient)
or Adam for the time-to-accuracy run, float32. Data are passed as arguments, never
closed over (a closed-over array would be folded into the compiled program as a
constant). Compilation is done before the clock starts, for every batch shape the epoch
uses; the gather of each batch (or of the shuffled epoch, for the scan) is timed, as it
is for tracegrad.

Install with ``pip install -e '.[bench]'`` (``jax[cpu]``). Thread settings: XLA's CPU
backend sizes its pool from the cores it sees; ``configure(threads=1)`` (called by
``throughput.py --threads 1`` before JAX is imported) turns its multithreading off.
"""

from __future__ import annotations

import os
import time
from importlib.util import find_spec

import numpy as np

HAVE_JAX = find_spec("jax") is not None


def configure(threads: int | None) -> str:
    """Set XLA's CPU threading before the first ``import jax``; say what was set."""
    if threads == 1:
        flags = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flags}".strip()
    return os.environ.get("XLA_FLAGS", "unset (XLA's default pool: every core)")


def version() -> str:
    import jax

    return jax.__version__


def _functions(lr, momentum):
    """The jitted SGD-momentum step and the scanned epoch (built once per recipe)."""
    import jax
    import jax.numpy as jnp

    def loss(params, x, t):
        a = x
        for i in range(0, len(params), 2):
            a = a @ params[i].T + params[i + 1]
            if i + 2 < len(params):
                a = jnp.maximum(a, 0)
        log_p = jax.nn.log_softmax(a)
        return -jnp.mean(jnp.take_along_axis(log_p, t[:, None], axis=1))

    def sgd(params, velocity, first, x, t):
        grads = jax.grad(loss)(params, x, t)
        pairs = zip(velocity, grads, strict=True)
        velocity = [jnp.where(first, g, momentum * v + g) for v, g in pairs]
        return [p - lr * v for p, v in zip(params, velocity, strict=True)], velocity

    step = jax.jit(sgd)

    @jax.jit
    def epoch(params, velocity, first, xs, ts):
        def body(carry, batch):
            p, v, f = carry
            p, v = sgd(p, v, f, *batch)
            return (p, v, False), None

        (params, velocity, first), _ = jax.lax.scan(body, (params, velocity, first), (xs, ts))
        return params, velocity, first

    return step, epoch, loss


_CACHE = {}


def _compiled(lr, momentum):
    key = (lr, momentum)
    if key not in _CACHE:
        _CACHE[key] = _functions(lr, momentum)
    return _CACHE[key]


def _start(init):
    import jax.numpy as jnp

    params = [jnp.asarray(w) for w in init]
    return params, [jnp.zeros_like(p) for p in params]


def _warm(step, epoch, init, X, y, bs):
    """Compile for every shape an epoch of batch ``bs`` uses, before any timing."""
    params, velocity = _start(init)
    n = len(X)
    for size in {bs, n % bs} - {0}:
        step(params, velocity, True, X[:size], y[:size])
    full = n // bs * bs
    if full:
        xs, ts = X[:full].reshape(-1, bs, X.shape[1]), y[:full].reshape(-1, bs)
        epoch(params, velocity, True, xs, ts)


def jit_step(X, y, bs, init, lr, momentum, order):
    """Seconds for one epoch with a jitted step per batch (batches gathered by NumPy)."""
    import jax

    step, epoch, _ = _compiled(lr, momentum)
    _warm(step, epoch, init, X, y.astype(np.int32), bs)
    params, velocity = _start(init)
    y = y.astype(np.int32)
    start = time.perf_counter()
    first = True
    for i in range(0, len(X), bs):
        idx = order[i : i + bs]
        params, velocity = step(params, velocity, first, X[idx], y[idx])
        first = False
    jax.block_until_ready(params)
    return time.perf_counter() - start


def scan_epoch(X, y, bs, init, lr, momentum, order):
    """Seconds for one epoch as one lax.scan over the shuffled batches (plus a jitted
    step for a ragged last batch, which a scan cannot hold)."""
    import jax

    step, epoch, _ = _compiled(lr, momentum)
    _warm(step, epoch, init, X, y.astype(np.int32), bs)
    params, velocity = _start(init)
    y = y.astype(np.int32)
    full = len(X) // bs * bs
    start = time.perf_counter()
    xs = X[order[:full]].reshape(-1, bs, X.shape[1])
    ts = y[order[:full]].reshape(-1, bs)
    params, velocity, first = epoch(params, velocity, True, xs, ts)
    if full < len(X):
        rest = order[full:]
        params, velocity = step(params, velocity, first, X[rest], y[rest])
    jax.block_until_ready(params)
    return time.perf_counter() - start


class AdamTrainer:
    """A jitted Adam step (torch.optim.Adam's formulas) for the time-to-accuracy run."""

    def __init__(self, init, lr, betas=(0.9, 0.999), eps=1e-8):
        import jax
        import jax.numpy as jnp

        _, _, loss = _functions(0.0, 0.0)
        b1, b2 = betas

        def adam(params, m, v, t, x, labels):
            grads = jax.grad(loss)(params, x, labels)
            m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads, strict=True)]
            v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads, strict=True)]
            step_size = lr / (1 - b1**t)
            root = jnp.sqrt(1 - b2**t)
            params = [p - step_size * mi / (jnp.sqrt(vi) / root + eps)
                      for p, mi, vi in zip(params, m, v, strict=True)]  # fmt: skip
            return params, m, v

        self.step = jax.jit(adam)
        self.params, self.m = _start(init)
        self.v = [jnp.zeros_like(p) for p in self.params]
        self.t = 0

    def epoch(self, X, y, bs, rng):
        import jax

        order = rng.permutation(len(X))
        y = y.astype(np.int32)
        for i in range(0, len(X), bs):
            idx = order[i : i + bs]
            self.t += 1
            self.params, self.m, self.v = self.step(
                self.params, self.m, self.v, np.float32(self.t), X[idx], y[idx]
            )
        jax.block_until_ready(self.params)

    def warm(self, X, y, bs):
        """Compile for the full and the ragged batch shape (on throwaway state)."""
        for size in {bs, len(X) % bs} - {0}:
            self.step(self.params, self.m, self.v, np.float32(1), X[:size],
                      y[:size].astype(np.int32))  # fmt: skip

    def scores(self, X):
        a = X
        for i in range(0, len(self.params), 2):
            a = a @ np.asarray(self.params[i]).T + np.asarray(self.params[i + 1])
            if i + 2 < len(self.params):
                a = np.maximum(a, 0)
        return a
