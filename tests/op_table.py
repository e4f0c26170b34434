"""The gradient-check table: every public primitive with shapes and a safe input range.

Each entry: (op name, tracegrad function, torch function or None, input shapes, (low, high)).
The torch function mirrors the tracegrad one so values and gradients can be compared.
"""

import numpy as np

import tracegrad as tg
from tracegrad import functional as F
from tracegrad import losses, ops
from tracegrad.autograd import OPS

_LABELS = np.array([2, 0, 1, 2])
_LABELS20 = np.arange(20) % 4  # a batch of 20 rows of 4 classes
_PROBS = np.array([[0.2, 0.3, 0.5], [1, 0, 0], [0.1, 0.1, 0.8], [0.3, 0.3, 0.4]])
_BINARY = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
_COND = np.array([[True, False, True], [False, True, True]])
_BOUNDS = (-0.5, 0.5)


def _t(torch, x):
    return torch.as_tensor(x)


ENTRIES = [
    ("add", lambda a, b: a + b, lambda t, a, b: a + b, [(3, 4), (3, 4)], (-2, 2)),
    ("add", lambda a, b: a + b, lambda t, a, b: a + b, [(4, 1), (1, 3)], (-2, 2)),
    ("add", lambda a, b: a + b, lambda t, a, b: a + b, [(2, 3), ()], (-2, 2)),
    ("sub", lambda a, b: a - b, lambda t, a, b: a - b, [(4, 1), (1, 3)], (-2, 2)),
    ("sub", lambda a, b: a - b, lambda t, a, b: a - b, [(), (3,)], (-2, 2)),
    ("mul", lambda a, b: a * b, lambda t, a, b: a * b, [(4, 1), (1, 3)], (-2, 2)),
    ("mul", lambda a, b: a * b, lambda t, a, b: a * b, [(2, 3), (3,)], (-2, 2)),
    ("div", lambda a, b: a / b, lambda t, a, b: a / b, [(4, 1), (1, 3)], (0.5, 2)),
    ("div", lambda a, b: a / b, lambda t, a, b: a / b, [(), (2, 2)], (0.5, 2)),
    ("neg", lambda a: -a, lambda t, a: -a, [(2, 3)], (-2, 2)),
    ("pow", lambda a: a**3, lambda t, a: a**3, [(2, 3)], (-2, 2)),
    ("pow", lambda a: a**0.5, lambda t, a: a**0.5, [(2, 3)], (0.5, 2)),
    ("pow", lambda a, b: a**b, lambda t, a, b: a**b, [(4, 1), (1, 3)], (0.5, 2)),
    ("matmul", lambda a, b: a @ b, lambda t, a, b: a @ b, [(3, 4), (4, 2)], (-1, 1)),
    ("matmul", lambda a, b: a @ b, lambda t, a, b: a @ b, [(4,), (4, 2)], (-1, 1)),
    ("matmul", lambda a, b: a @ b, lambda t, a, b: a @ b, [(3, 4), (4,)], (-1, 1)),
    ("matmul", lambda a, b: a @ b, lambda t, a, b: a @ b, [(4,), (4,)], (-1, 1)),
    ("matmul", lambda a, b: a @ b, lambda t, a, b: a @ b, [(2, 3, 4), (4, 2)], (-1, 1)),
    ("exp", ops.exp, lambda t, a: t.exp(a), [(2, 3)], (-2, 2)),
    ("log", ops.log, lambda t, a: t.log(a), [(2, 3)], (0.5, 3)),
    ("log1p", ops.log1p, lambda t, a: t.log1p(a), [(2, 3)], (-0.5, 3)),
    ("sqrt", ops.sqrt, lambda t, a: t.sqrt(a), [(2, 3)], (0.5, 3)),
    ("abs", ops.abs, lambda t, a: t.abs(a), [(2, 3)], (-2, 2)),
    ("tanh", ops.tanh, lambda t, a: t.tanh(a), [(2, 3)], (-3, 3)),
    ("sigmoid", ops.sigmoid, lambda t, a: t.sigmoid(a), [(2, 3)], (-5, 5)),
    ("relu", ops.relu, lambda t, a: t.relu(a), [(2, 3)], (-2, 2)),
    ("maximum", ops.maximum, lambda t, a, b: t.maximum(a, b), [(4, 1), (1, 3)], (-2, 2)),
    ("minimum", ops.minimum, lambda t, a, b: t.minimum(a, b), [(4, 1), (1, 3)], (-2, 2)),
    ("sum", lambda a: ops.sum(a), lambda t, a: a.sum(), [(3, 4)], (-2, 2)),
    ("sum", lambda a: ops.sum(a, 0), lambda t, a: a.sum(0), [(3, 4)], (-2, 2)),
    (
        "sum",
        lambda a: ops.sum(a, (0, 2), True),
        lambda t, a: a.sum((0, 2), keepdim=True),
        [(2, 3, 2)],
        (-2, 2),
    ),
    ("mean", lambda a: ops.mean(a), lambda t, a: a.mean(), [(3, 4)], (-2, 2)),
    (
        "mean",
        lambda a: ops.mean(a, -1, True),
        lambda t, a: a.mean(-1, keepdim=True),
        [(3, 4)],
        (-2, 2),
    ),
    ("max", lambda a: ops.max(a), lambda t, a: a.amax(), [(3, 4)], (-2, 2)),
    ("max", lambda a: ops.max(a, 1), lambda t, a: a.amax(1), [(3, 4)], (-2, 2)),
    ("max", lambda a: ops.max(a, 0, True), lambda t, a: a.amax(0, keepdim=True), [(3, 4)], (-2, 2)),
    ("max", lambda a: a.amax(dim=(0, 2)), lambda t, a: a.amax(dim=(0, 2)), [(2, 3, 2)], (-2, 2)),
    ("min", lambda a: ops.min(a), lambda t, a: a.amin(), [(3, 4)], (-2, 2)),
    ("min", lambda a: a.min(axis=1), lambda t, a: a.amin(1), [(3, 4)], (-2, 2)),
    ("reshape", lambda a: a.reshape(4, 3), lambda t, a: a.reshape(4, 3), [(3, 4)], (-2, 2)),
    ("transpose", lambda a: a.T, lambda t, a: a.T, [(3, 4)], (-2, 2)),
    (
        "transpose",
        lambda a: a.transpose(1, 2, 0),
        lambda t, a: a.permute(1, 2, 0),
        [(2, 3, 4)],
        (-2, 2),
    ),
    (
        "transpose",
        lambda a: a.transpose(0, 2),
        lambda t, a: a.transpose(0, 2),
        [(2, 3, 4)],
        (-2, 2),
    ),
    (
        "permute",
        lambda a: a.permute(2, 0, 1),
        lambda t, a: a.permute(2, 0, 1),
        [(2, 3, 4)],
        (-2, 2),
    ),
    ("getitem", lambda a: a[1:, ::2], lambda t, a: a[1:, ::2], [(3, 4)], (-2, 2)),
    ("getitem", lambda a: a[np.array([0, 2, 0])], lambda t, a: a[[0, 2, 0]], [(3, 4)], (-2, 2)),
    (
        "getitem",
        lambda a: a[np.arange(3), np.array([1, 1, 3])],
        lambda t, a: a[list(range(3)), [1, 1, 3]],
        [(3, 4)],
        (-2, 2),
    ),
    (
        "concatenate",
        lambda a, b: ops.concatenate([a, b], 1),
        lambda t, a, b: t.cat([a, b], 1),
        [(2, 3), (2, 2)],
        (-2, 2),
    ),
    (
        "stack",
        lambda a, b: ops.stack([a, b], 1),
        lambda t, a, b: t.stack([a, b], 1),
        [(2, 3), (2, 3)],
        (-2, 2),
    ),
    (
        "where",
        lambda a, b: ops.where(_COND, a, b),
        lambda t, a, b: t.where(t.as_tensor(_COND), a, b),
        [(2, 3), (1, 3)],
        (-2, 2),
    ),
    ("clip", lambda a: ops.clip(a, -1.0, 1.2), lambda t, a: a.clamp(-1.0, 1.2), [(3, 4)], (-2, 2)),
    ("clip", lambda a: a.clamp(min=-0.5), lambda t, a: a.clamp(min=-0.5), [(3, 4)], (-2, 2)),
    ("clip", lambda a: a.clip(max=0.5), lambda t, a: a.clip(max=0.5), [(3, 4)], (-2, 2)),
    (
        "astype",
        lambda a: ops.astype(a, np.float64) * 2,
        lambda t, a: a.double() * 2,
        [(2, 2)],
        (-2, 2),
    ),
    ("softmax", lambda a: F.softmax(a), lambda t, a: t.softmax(a, -1), [(3, 4)], (-3, 3)),
    ("softmax", lambda a: F.softmax(a, 0), lambda t, a: t.softmax(a, 0), [(3, 4)], (-3, 3)),
    (
        "log_softmax",
        lambda a: F.log_softmax(a),
        lambda t, a: t.log_softmax(a, -1),
        [(3, 4)],
        (-3, 3),
    ),
    ("softmax", lambda a: F.softmax(a), lambda t, a: t.softmax(a, -1), [(20, 5)], (-3, 3)),
    (
        "log_softmax",
        lambda a: F.log_softmax(a),
        lambda t, a: t.log_softmax(a, -1),
        [(20, 5)],
        (-3, 3),
    ),
    ("linear", ops.linear, lambda t, x, w, b: x @ w.T + b, [(5, 3), (4, 3), (4,)], (-1, 1)),
    ("linear", lambda x, w: ops.linear(x, w), lambda t, x, w: x @ w.T, [(5, 3), (4, 3)], (-1, 1)),
    (
        "leaky_relu",
        lambda a: F.leaky_relu(a, 0.1),
        lambda t, a: t.nn.functional.leaky_relu(a, 0.1),
        [(3, 4)],
        (-2, 2),
    ),
    ("softplus", F.softplus, lambda t, a: t.nn.functional.softplus(a), [(3, 4)], (-3, 3)),
    (
        "mse",
        lambda a: losses.mse(a, np.zeros((2, 3)) + 0.5),
        lambda t, a: t.nn.functional.mse_loss(a, t.full((2, 3), 0.5, dtype=a.dtype)),
        [(2, 3)],
        (-2, 2),
    ),
    (
        "mae",
        lambda a: losses.mae(a, np.zeros((2, 3)) + 0.5),
        lambda t, a: t.nn.functional.l1_loss(a, t.full((2, 3), 0.5, dtype=a.dtype)),
        [(2, 3)],
        (-2, 2),
    ),
    (
        "binary_cross_entropy",
        lambda a: losses.binary_cross_entropy(a, _BINARY),
        lambda t, a: t.nn.functional.binary_cross_entropy(a, _t(t, _BINARY).to(a.dtype)),
        [(2, 3)],
        (0.05, 0.95),
    ),
    (
        "binary_cross_entropy_with_logits",
        lambda a: losses.binary_cross_entropy_with_logits(a, _BINARY),
        lambda t, a: t.nn.functional.binary_cross_entropy_with_logits(
            a, _t(t, _BINARY).to(a.dtype)
        ),
        [(2, 3)],
        (-3, 3),
    ),
    (
        "cross_entropy",
        lambda a: losses.cross_entropy(a, _LABELS),
        lambda t, a: t.nn.functional.cross_entropy(a, _t(t, _LABELS)),
        [(4, 3)],
        (-3, 3),
    ),
    (
        "cross_entropy",
        lambda a: losses.cross_entropy(a, _PROBS, reduction="sum"),
        lambda t, a: t.nn.functional.cross_entropy(a, _t(t, _PROBS).to(a.dtype), reduction="sum"),
        [(4, 3)],
        (-3, 3),
    ),
    (
        "cross_entropy",
        lambda a: losses.cross_entropy(a, _LABELS, reduction="none"),
        lambda t, a: t.nn.functional.cross_entropy(a, _t(t, _LABELS), reduction="none"),
        [(4, 3)],
        (-3, 3),
    ),
    (
        "cross_entropy",
        lambda a: losses.cross_entropy(a, _LABELS20),
        lambda t, a: t.nn.functional.cross_entropy(a, _t(t, _LABELS20)),
        [(20, 4)],
        (-3, 3),
    ),
    (
        "nll_loss",
        lambda a: losses.nll_loss(F.log_softmax(a), _LABELS),
        lambda t, a: t.nn.functional.nll_loss(t.log_softmax(a, -1), _t(t, _LABELS)),
        [(4, 3)],
        (-3, 3),
    ),
    ("dropout", lambda a: F.dropout(a, 0.4, np.random.default_rng(3)), None, [(3, 4)], (-2, 2)),
]

# Everything a user can differentiate through: the registry's ops (aliases such as
# ``clamp`` are the same functions as ``clip``), the functional activations and the
# losses. A name here without a table entry fails a test.
REGISTERED = sorted(name for name, fn in OPS.items() if fn.__name__ == name)
PUBLIC_OPS = sorted(
    set(REGISTERED) | set(F.__all__) - {"identity"} | set(losses.__all__) - {"l2_penalty"}
)


def make_inputs(shapes, bounds, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    low, high = bounds
    return [rng.uniform(low, high, size=s).astype(dtype) for s in shapes]


__all__ = ["ENTRIES", "PUBLIC_OPS", "REGISTERED", "make_inputs", "tg"]
