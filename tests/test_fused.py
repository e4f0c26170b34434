"""Each fused primitive equals the composite of primitives it replaces: values and gradients.

The fused forms exist for speed or for PyTorch's conventions at the edges (see
``tracegrad/autograd/fused.py``); away from those edges they must be the same function.
"""

import numpy as np
import pytest

import tracegrad as tg
from tracegrad import losses
from tracegrad.autograd import fused

LABELS = np.arange(32) % 10
ONEHOT = np.eye(10)[LABELS] * 0.7 + 0.03  # probability rows
Y = (np.arange(32 * 3).reshape(32, 3) % 2).astype(np.float64)


def composite_softmax(a, axis):
    e = tg.exp(a - tg.max(a, axis, keepdims=True))
    return e / tg.sum(e, axis, keepdims=True)


def composite_log_softmax(a, axis):
    shifted = a - tg.max(a, axis, keepdims=True)
    return shifted - tg.log(tg.sum(tg.exp(shifted), axis, keepdims=True))


def composite_softplus(x):
    return tg.maximum(x, 0.0) + tg.log1p(tg.exp(-tg.abs(x)))


CASES = [
    (
        "linear",
        lambda x, w, b: fused.linear(x, w, b),
        lambda x, w, b: x @ w.T + b,
        [(32, 20), (7, 20), (7,)],
    ),
    ("linear", lambda x, w: fused.linear(x, w), lambda x, w: x @ w.T, [(4, 5, 6), (3, 6)]),
    ("softmax", lambda a: fused.softmax(a, 1), lambda a: composite_softmax(a, 1), [(32, 10)]),
    ("softmax", lambda a: fused.softmax(a, dim=0), lambda a: composite_softmax(a, 0), [(5, 6)]),
    (
        "log_softmax",
        lambda a: fused.log_softmax(a),
        lambda a: composite_log_softmax(a, -1),
        [(32, 10)],
    ),
    (
        "softmax_cross_entropy",
        lambda z: losses.cross_entropy(z, LABELS),
        lambda z: -tg.mean(composite_log_softmax(z, 1)[np.arange(32), LABELS]),
        [(32, 10)],
    ),
    (
        "softmax_cross_entropy",
        lambda z: losses.cross_entropy(z, ONEHOT, reduction="none"),
        lambda z: -tg.sum(composite_log_softmax(z, 1) * ONEHOT, axis=1),
        [(32, 10)],
    ),
    (
        "binary_cross_entropy",
        lambda p: losses.binary_cross_entropy(tg.sigmoid(p), Y, reduction="sum"),
        lambda p: -tg.sum(Y * tg.log(tg.sigmoid(p)) + (1 - Y) * tg.log(1 - tg.sigmoid(p))),
        [(32, 3)],
    ),
    (
        "binary_cross_entropy_with_logits",
        lambda x: losses.binary_cross_entropy_with_logits(x, Y),
        lambda x: tg.mean(composite_softplus(x) - x * Y),
        [(32, 3)],
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_fused_equals_its_composite(case):
    _, fused_fn, composite_fn, shapes = case
    rng = np.random.default_rng(11)
    arrays = [rng.uniform(-3, 3, s) for s in shapes]
    outs = []
    for fn in (fused_fn, composite_fn):
        leaves = [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]
        out = fn(*leaves)
        out.backward(np.linspace(-1, 1, out.size).reshape(out.shape))
        outs.append((out.data, [leaf.grad for leaf in leaves]))
    (value, grads), (want, want_grads) = outs
    np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-14)
    for g, w in zip(grads, want_grads, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-13)
