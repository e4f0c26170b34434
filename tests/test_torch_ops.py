"""Values and gradients of every op against PyTorch (float64 ≤ 1e-9, float32 ≤ 1e-5 relative)."""

import numpy as np
import pytest

import tracegrad as tg
from op_table import ENTRIES, make_inputs

torch = pytest.importorskip("torch")

TOLERANCE = {np.float64: 1e-9, np.float32: 1e-5}


def _grads_close(ours, theirs, rtol):
    """Gradients of tracegrad and torch leaves; an unused input has None in both."""
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        assert (a.grad is None) == (b.grad is None), f"input {i}: grad None in one only"
        if a.grad is not None:
            _rel_close(a.grad, b.grad.numpy(), rtol, f"grad of input {i}")


def _rel_close(ours, theirs, rtol, what):
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    scale = max(np.abs(theirs).max(initial=0.0), 1e-3)
    err = np.abs(ours - theirs).max(initial=0.0) / scale
    assert err <= rtol, f"{what}: relative error {err:.2e} > {rtol:g}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(
    "entry",
    [e for e in ENTRIES if e[2] is not None],
    ids=[f"{e[0]}-{i}" for i, e in enumerate(ENTRIES) if e[2] is not None],
)
def test_op_matches_torch(entry, dtype):
    name, fn, torch_fn, shapes, bounds = entry
    inputs = make_inputs(shapes, bounds, seed=7, dtype=dtype)
    ours = [tg.Tensor(x.copy(), requires_grad=True) for x in inputs]
    theirs = [torch.tensor(x.copy(), requires_grad=True) for x in inputs]
    out, ref = fn(*ours), torch_fn(torch, *theirs)
    assert out.dtype == ref.detach().numpy().dtype, (
        f"{name}: dtype {out.dtype} vs torch {ref.dtype}"
    )
    _rel_close(out.data, ref.detach().numpy(), TOLERANCE[dtype], f"{name} value")
    upstream = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        _rel_close(a.grad, b.grad.numpy(), TOLERANCE[dtype], f"{name} grad of input {i}")


# The same expression, letter for letter, run on a tracegrad Tensor and on a torch tensor:
# methods, operators and the dim/keepdim spellings follow PyTorch.
SAME_CALLS = [
    lambda x, y: x.relu() + x.tanh() * x.sigmoid(),
    lambda x, y: x.exp().sum() + x.abs().sqrt().mean() + (x.abs() + 1).log().sum(),
    lambda x, y: (x.abs() + 0.5).log1p() * x.neg(),
    lambda x, y: x.sum(1) + x.sum(dim=1) + x.mean(dim=-1),
    lambda x, y: x.sum(dim=0, keepdim=True) * x.mean(0, keepdim=True),
    lambda x, y: x.amax(dim=1) - x.amin(1) + x.max() - x.min(),
    lambda x, y: x.reshape(4, 3) @ y.reshape((3, 4)),
    lambda x, y: x.transpose(0, 1) * y.T + x.permute(1, 0),
    lambda x, y: x.clamp(-0.5, 0.5) + x.clip(min=-0.2) + x.clamp(max=0.1),
    lambda x, y: x.softmax(dim=1) + x.log_softmax(1) + x.softmax(0),
    lambda x, y: x.matmul(y.T) + x @ y.T,
    lambda x, y: x.maximum(y) * x.minimum(y),
    lambda x, y: x.add(y).mul(y).sub(x).div(y.abs() + 1) + x.pow(2) + (x**3) / 2,
    lambda x, y: 2 * x - 1 / (y.abs() + 1) + 3 - x + 2**x,
    lambda x, y: x[1:, ::2].sum() + x[np.array([0, 2, 0])].mean(),
]


@pytest.mark.parametrize("call", SAME_CALLS, ids=[str(i) for i in range(len(SAME_CALLS))])
def test_method_calls_read_as_in_torch(call):
    rng = np.random.default_rng(5)
    X, Y = rng.uniform(-2, 2, (3, 4)), rng.uniform(-2, 2, (3, 4))
    ours = [tg.Tensor(X.copy(), requires_grad=True), tg.Tensor(Y.copy(), requires_grad=True)]
    theirs = [torch.tensor(X, requires_grad=True), torch.tensor(Y, requires_grad=True)]
    out, ref = call(*ours), call(*theirs)
    _rel_close(out.data, ref.detach().numpy(), 1e-12, "value")
    upstream = rng.standard_normal(out.shape)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    _grads_close(ours, theirs, 1e-12)


TOP_LEVEL_CALLS = [
    lambda m, L2, W2, b2: m.sigmoid(m.matmul(L2, W2) + b2),
    lambda m, L2, W2, b2: m.tanh(m.exp(L2) @ m.relu(W2)) + m.log(m.abs(b2) + 1),
    lambda m, L2, W2, b2: m.sum(m.sqrt(m.abs(L2)), dim=0) + m.mean(m.log1p(m.abs(W2))),
    lambda m, L2, W2, b2: m.amax(m.clamp(L2, -0.5, 0.5), dim=1) + m.max(m.clip(W2, max=0.1)),
    lambda m, L2, W2, b2: m.where(L2 > 0, L2, -L2).sum() + m.minimum(W2, m.abs(W2) * 0.5).sum(),
    lambda m, L2, W2, b2: m.softmax(m.cat([L2, L2], dim=1), dim=1).sum(0) + b2.sum(),
    lambda m, L2, W2, b2: m.stack([W2, W2], dim=0).sum(dim=(0, 1)) * m.transpose(W2, 0, 1)[:, 0],
    lambda m, L2, W2, b2: m.log_softmax(m.reshape(L2, (4, 3)), dim=1) * m.permute(L2, (1, 0)),
]


@pytest.mark.parametrize("call", TOP_LEVEL_CALLS, ids=[str(i) for i in range(len(TOP_LEVEL_CALLS))])
def test_top_level_functions_read_as_in_torch(call):
    rng = np.random.default_rng(6)
    arrays = [rng.uniform(-1, 1, s) for s in [(3, 4), (4, 2), (2,)]]
    ours = [tg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, ref = call(tg, *ours), call(torch, *theirs)
    _rel_close(out.data, ref.detach().numpy(), 1e-12, "value")
    out.sum().backward()
    ref.sum().backward()
    _grads_close(ours, theirs, 1e-12)


def test_ops_torch_has_as_methods_are_methods_here():
    """Where torch.Tensor has a method of a registered op's name, Tensor has it too; except
    ``where``, whose method in torch (``x.where(condition, y)``) reads differently."""
    from tracegrad.autograd import OPS

    missing = [
        n for n in OPS if hasattr(torch.Tensor, n) and not hasattr(tg.Tensor, n) and n != "where"
    ]
    assert not missing, f"torch.Tensor has these methods, tracegrad's Tensor does not: {missing}"
    not_top_level = [n for n in OPS if hasattr(torch, n) and not hasattr(tg, n)]
    assert not not_top_level


MASK = np.array([True, False, True, False])
# where() with numbers beside tensors: a number follows the value operands' dtype (never
# the bool condition's), or its own kind's default when it is of a higher kind, as in torch.
WHERE_WITH_NUMBERS = [
    lambda m, c, x: m.where(c, x, 0.5),
    lambda m, c, x: m.where(c, 0.5, x),
    lambda m, c, x: m.where(c, x, 2),
    lambda m, c, x: m.where(c, 0.5, 0.0) * x,
    lambda m, c, x: m.where(c, 1, 0.5) + x,
    lambda m, c, x: m.where(c, x, -3.25) * m.where(c, 2.5, x),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("call", WHERE_WITH_NUMBERS, ids=[str(i) for i in range(6)])
def test_where_numbers_take_the_value_dtype_as_in_torch(call, dtype):
    x = np.array([1.25, -2.0, 3.5, 0.75], dtype=dtype)
    ours = tg.Tensor(x.copy(), requires_grad=True)
    theirs = torch.tensor(x.copy(), requires_grad=True)
    out = call(tg, tg.Tensor(MASK), ours)
    ref = call(torch, torch.tensor(MASK), theirs)
    assert out.dtype == ref.detach().numpy().dtype
    np.testing.assert_array_equal(out.data, ref.detach().numpy())
    out.sum().backward()
    ref.sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


@pytest.mark.parametrize(
    "call",
    [
        lambda m, c: m.where(c, 0.5, 0.0),
        lambda m, c: m.where(c, 1, 0),
        lambda m, c: m.where(c, True, False),
        lambda m, c: m.where(c, 1, 0.25),
    ],
    ids=["floats", "ints", "bools", "int-and-float"],
)
def test_where_numbers_only_beside_a_bool_condition_as_in_torch(call):
    out, ref = call(tg, tg.Tensor(MASK)), call(torch, torch.tensor(MASK))
    assert out.dtype == ref.numpy().dtype
    np.testing.assert_array_equal(out.data, ref.numpy())


def test_numbers_of_a_higher_kind_than_the_tensor_keep_their_value():
    """An int tensor times 0.5 is not zero, a bool tensor plus 1 is not True (as in torch)."""
    ints, mask = np.array([1, 2, 3]), np.array([True, False, True])
    cases = [
        (lambda t: t(ints) * 0.5),
        (lambda t: t(ints.astype(np.int32)) * 1.5),
        (lambda t: t(mask) + 1),
        (lambda t: t(mask) * 0.25),
        (lambda t: (tg if t is tg.Tensor else torch).where(t(mask), t(ints), 0.5)),
    ]
    for case in cases:
        ours, theirs = case(tg.Tensor).data, case(torch.tensor).numpy()
        np.testing.assert_array_equal(ours, theirs)
        assert ours.dtype == theirs.dtype, (ours.dtype, theirs.dtype)  # values and dtype
