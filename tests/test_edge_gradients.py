"""Values and gradients at the edges, against torch.autograd in float64.

Random points (test_torch_ops) miss the places where conventions decide: 0 for relu and
abs, ties for max, maximum, minimum and clip's bounds, domain boundaries of log, sqrt
and pow, x**0 at 0, and magnitudes near overflow and underflow. At each of them the
value and the gradient must equal PyTorch's, inf and NaN included, in the same places.
Full reductions with ties are compared with torch.amax/amin (ties share the gradient
equally, as torch.max(x) without dim does too); torch.max(x, dim) hands it to one index.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tracegrad as tg
from tracegrad import functional as F
from tracegrad import losses

torch = pytest.importorskip("torch")
tnf = pytest.importorskip("torch.nn.functional")

TINY, HUGE, SUB = 1e-300, 1e300, 5e-324  # small, large, the smallest subnormal
Z = [0.0, -0.0, TINY, -TINY, SUB, HUGE, -HUGE, 1.0, -1.0, 30.0, -30.0]
A = np.array


def same(f):
    """An op spelled the same way for both libraries."""
    return f, f


EDGES = [
    ("relu", *same(lambda x: x.relu()), [A(Z)]),
    ("abs", *same(lambda x: x.abs()), [A(Z)]),
    ("tanh", *same(lambda x: x.tanh()), [A(Z + [20.0, -20.0, 1e4])]),
    ("sigmoid", *same(lambda x: x.sigmoid()), [A(Z + [745.0, -745.0, 40.0, -40.0, 1e4])]),
    ("exp", *same(lambda x: x.exp()), [A(Z[:5] + [709.0, 710.0, -745.0, -746.0])]),
    ("log", *same(lambda x: x.log()), [A([0.0, SUB, TINY, 1.0, HUGE, -1.0])]),
    ("log1p", *same(lambda x: x.log1p()), [A([-1.0, -1 + 1e-16, 0.0, TINY, HUGE, -2.0])]),
    ("sqrt", *same(lambda x: x.sqrt()), [A([0.0, SUB, TINY, 1.0, HUGE, -1.0])]),
    ("neg", *same(lambda x: -x), [A(Z)]),
    ("pow", *same(lambda x: x**0), [A([0.0, -0.0, -1.0, 2.0, HUGE])]),
    ("pow", *same(lambda x: x**1), [A([0.0, -1.0, HUGE])]),
    ("pow", *same(lambda x: x**2), [A([0.0, TINY, -1.0, 1e200])]),
    ("pow", *same(lambda x: x**3), [A([0.0, -TINY, HUGE])]),
    ("pow", *same(lambda x: x**0.5), [A([0.0, SUB, 4.0, -1.0])]),
    ("pow", *same(lambda x: x**-1), [A([0.0, -0.0, TINY, 2.0])]),
    (
        "pow",
        *same(lambda a, b: a**b),
        [
            A([0.0, 0.0, 0.0, 0.0, 2.0, -2.0, -2.0, 1.0]),
            A([0.0, 2.0, 0.5, -1.0, 0.0, 0.5, 2.0, HUGE]),
        ],
    ),
    ("add", *same(lambda a, b: a + b), [A([HUGE, 1e308, -0.0]), A([HUGE, 1e308, 0.0])]),
    ("sub", *same(lambda a, b: a - b), [A([HUGE, -1e308, 0.0]), A([-HUGE, 1e308, -0.0])]),
    ("mul", *same(lambda a, b: a * b), [A([0.0, HUGE, TINY, -0.0]), A([HUGE, 1e10, TINY, 3.0])]),
    (
        "div",
        *same(lambda a, b: a / b),
        [A([1.0, 0.0, HUGE, TINY, -1.0, 1.0]), A([0.0, 0.0, TINY, HUGE, 1e-200, 1e200])],
    ),
    (
        "maximum",
        *same(lambda a, b: a.maximum(b)),
        [A([1.0, 0.0, -0.0, 2.0, HUGE, -1.0]), A([1.0, -0.0, 0.0, 1.0, HUGE, 3.0])],
    ),
    (
        "minimum",
        *same(lambda a, b: a.minimum(b)),
        [A([1.0, 0.0, -0.0, 2.0, -HUGE, -1.0]), A([1.0, -0.0, 0.0, 1.0, -HUGE, 3.0])],
    ),
    ("clip", *same(lambda x: x.clamp(-1.0, 1.25)), [A([-1.0, 1.25, -1.5, 0.0, 1.5, HUGE])]),
    ("clip", *same(lambda x: x.clamp(min=0.0)), [A([0.0, -0.0, -TINY, TINY])]),
    ("max", *same(lambda x: x.amax()), [A([[1.0, 3.0, 3.0], [3.0, -1.0, 3.0]])]),
    ("max", lambda x: x.max(), lambda x: x.max(), [A([[2.0, 2.0], [2.0, -HUGE]])]),
    ("max", *same(lambda x: x.amax(dim=1)), [A([[1.0, 3.0, 3.0], [3.0, 3.0, 3.0], [0, -0.0, 0]])]),
    ("max", *same(lambda x: x.amax(0, keepdim=True)), [A([[1.0, HUGE], [1.0, HUGE], [0, 1]])]),
    ("min", *same(lambda x: x.amin()), [A([[1.0, -3.0, -3.0], [-3.0, 1.0, 0.0]])]),
    ("min", *same(lambda x: x.amin(dim=0)), [A([[1.0, -0.0], [1.0, 0.0], [2.0, 0.0]])]),
    ("sum", *same(lambda x: x.sum(dim=1)), [A([[HUGE, HUGE], [HUGE, -HUGE]])]),
    ("sum", *same(lambda x: x.sum()), [np.zeros((0, 3))]),
    ("mean", *same(lambda x: x.mean(dim=0)), [A([[HUGE, TINY], [-HUGE, SUB]])]),
    ("matmul", *same(lambda a, b: a @ b), [np.zeros((0, 3)), np.ones((3, 2))]),
    (
        "matmul",
        *same(lambda a, b: a @ b),
        [A([[HUGE, 0.0], [TINY, -0.0]]), A([[TINY, 0.0], [1.0, HUGE]])],
    ),
    ("reshape", *same(lambda x: x.reshape(3, 0)), [np.zeros((0, 3))]),
    ("reshape", *same(lambda x: x.reshape(())), [A([HUGE])]),
    ("transpose", *same(lambda x: x.transpose(0, 1)), [np.zeros((0, 2))]),
    ("permute", *same(lambda x: x.permute(2, 0, 1)), [np.ones((1, 1, 3))]),
    ("getitem", *same(lambda x: x[np.array([0, 0, 0])]), [A([TINY, HUGE])]),
    (
        "concatenate",
        lambda a, b: tg.cat([a, b]),
        lambda a, b: torch.cat([a, b]),
        [np.zeros((0, 2)), A([[HUGE, -0.0]])],
    ),
    ("stack", lambda a, b: tg.stack([a, b]), lambda a, b: torch.stack([a, b]), [A(0.0), A(HUGE)]),
    (
        "where",
        lambda a, b: tg.where(a > b, a, b),
        lambda a, b: torch.where(a > b, a, b),
        [A([1.0, 0.0, -0.0]), A([1.0, -0.0, 0.0])],
    ),
    ("astype", lambda x: x.astype(np.float32), lambda x: x.float(), [A([HUGE, TINY, 1 / 3])]),
    (
        "softmax",
        *same(lambda x: x.softmax(dim=1)),
        [A([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [TINY, 0.0, -TINY], [700.0, 700.0, -700.0]])],
    ),
    (
        "log_softmax",
        *same(lambda x: x.log_softmax(dim=1)),
        [A([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [TINY, 0.0, -TINY], [700.0, 700.0, -700.0]])],
    ),
    (
        "linear",
        tg.linear,
        tnf.linear,
        [
            A([[HUGE, 0.0], [TINY, -0.0]]),
            A([[TINY, 1.0], [0.0, -0.0], [1.0, 1.0]]),
            A([0.0, HUGE, -0.0]),
        ],
    ),
    ("leaky_relu", lambda x: F.leaky_relu(x, 0.1), lambda x: tnf.leaky_relu(x, 0.1), [A(Z)]),
    ("softplus", F.softplus, tnf.softplus, [A([0.0, -0.0, TINY, 50.0, -50.0, 1e4, -1e4, HUGE])]),
    (
        "mse",
        lambda x: losses.mse(x, A([0.0, HUGE])),
        lambda x: tnf.mse_loss(x, torch.tensor([0.0, HUGE], dtype=torch.float64)),
        [A([0.0, 1e150])],
    ),
    (
        "mae",
        lambda x: losses.mae(x, A([0.0, 1.0, 2.0])),
        lambda x: tnf.l1_loss(x, torch.tensor([0.0, 1.0, 2.0], dtype=torch.float64)),
        [A([0.0, 1.0, 1.0])],
    ),
    (
        "binary_cross_entropy",
        lambda p: losses.binary_cross_entropy(p, A([0.0, 1.0, 0.0, 1.0, 1.0, 0.0])),
        lambda p: tnf.binary_cross_entropy(
            p, torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0, 0.0], dtype=torch.float64)
        ),
        [A([0.0, 1.0, 1.0, 0.0, TINY, 0.5])],
    ),
    (
        "binary_cross_entropy_with_logits",
        lambda x: losses.binary_cross_entropy_with_logits(x, A([0.0, 1.0, 1.0, 0.0, 1.0, 0.0])),
        lambda x: tnf.binary_cross_entropy_with_logits(
            x, torch.tensor([0.0, 1.0, 1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
        ),
        [A([1e4, 1e4, -1e4, 0.0, 40.0, TINY])],
    ),
    (
        "cross_entropy",
        lambda z: losses.cross_entropy(z, A([0, 1, 2])),
        lambda z: tnf.cross_entropy(z, torch.tensor([0, 1, 2])),
        [A([[1e4, -1e4, 0.0], [0.0, 0.0, 0.0], [700.0, 700.0, -700.0]])],
    ),
    (
        "nll_loss",
        lambda z: losses.nll_loss(F.log_softmax(z), A([0, 1])),
        lambda z: tnf.nll_loss(tnf.log_softmax(z, 1), torch.tensor([0, 1])),
        [A([[1e4, -1e4], [-0.0, 0.0]])],
    ),
]


@pytest.mark.parametrize("entry", EDGES, ids=[f"{e[0]}-{i}" for i, e in enumerate(EDGES)])
def test_value_and_gradient_match_torch_at_edge_points(entry):
    name, ours_fn, torch_fn, arrays = entry
    ours = [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    with np.errstate(all="ignore"):
        out = ours_fn(*ours)
        ref = torch_fn(*theirs)
        expected = ref.detach().numpy()
        assert out.shape == expected.shape, f"{name}: shape {out.shape} vs {expected.shape}"
        np.testing.assert_allclose(out.data, expected, rtol=1e-12, atol=1e-300, err_msg=name)
        upstream = np.linspace(-1.5, 2.0, max(out.size, 1))[: out.size].reshape(out.shape)
        out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        want = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
        got = np.zeros(a.shape) if a.grad is None else a.grad
        # Rounding in sums may differ: allow it relative to the largest finite gradient.
        finite = np.abs(want[np.isfinite(want)])
        atol = max(1e-15 * finite.max(initial=0.0), 1e-300)
        np.testing.assert_allclose(
            got, want, rtol=1e-12, atol=atol, err_msg=f"{name}: gradient of input {i}"
        )


def test_every_public_op_has_an_edge_entry():
    from op_table import PUBLIC_OPS

    covered = {name for name, *_ in EDGES}
    missing = [n for n in PUBLIC_OPS if n not in covered and n != "dropout"]  # random: no peer
    assert not missing, f"ops without an edge-point comparison: {missing}"


TIE_OPS = {
    "max": lambda x, y: x.amax(dim=0) + x.amax(),
    "min": lambda x, y: x.amin(dim=-1, keepdim=True) * x.amin(),
    "maximum": lambda x, y: x.maximum(y),
    "minimum": lambda x, y: x.minimum(y),
    "clip": lambda x, y: x.clamp(-1.0, 1.0),
    "relu-abs": lambda x, y: x.relu() + y.abs(),
    "softmax": lambda x, y: x.softmax(dim=-1) * y,
}


@pytest.mark.parametrize("op", TIE_OPS)
@settings(max_examples=25, deadline=None)
@given(
    hnp.arrays(np.float64, (3, 4), elements=st.sampled_from([-1.0, -0.0, 0.0, 1.0, 2.0])),
    hnp.arrays(np.float64, (3, 4), elements=st.sampled_from([-1.0, 0.0, 1.0])),
)
def test_ties_and_kinks_follow_torch_for_any_pattern(op, x, y):
    """Inputs drawn from a few values, so ties and kinks are everywhere."""
    fn = TIE_OPS[op]
    ours = [tg.Tensor(a.copy(), requires_grad=True) for a in (x, y)]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in (x, y)]
    out, ref = fn(*ours), fn(*theirs)
    np.testing.assert_allclose(out.data, ref.detach().numpy(), rtol=1e-12, atol=1e-15)
    upstream = np.arange(1.0, out.size + 1).reshape(out.shape)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for a, b in zip(ours, theirs, strict=True):
        want = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
        got = np.zeros(a.shape) if a.grad is None else a.grad
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
