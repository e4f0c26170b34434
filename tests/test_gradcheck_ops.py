"""Every primitive's gradient against two-sided differences in float64: full Jacobians for
small shapes, random directions <u, J v> (HIPS autograd's check_vjp) for large ones."""

import numpy as np
import pytest

import tracegrad as tg
from op_table import ENTRIES, PUBLIC_OPS, REGISTERED, make_inputs
from tracegrad.autograd import OPS
from tracegrad.autograd.registry import FUNCTIONS_ONLY, primitive
from tracegrad.checking import analytic_jacobian, numerical_jacobian

COVERED = {name for name, *_ in ENTRIES}


def test_every_public_op_has_a_gradcheck_entry():
    missing = [name for name in PUBLIC_OPS if name not in COVERED]
    assert not missing, f"ops without a gradient-check entry: {missing}"


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_registered_op_is_a_method_a_function_and_a_table_row(name):
    fn = OPS[name]
    assert getattr(tg, name) is fn, f"tracegrad.{name} is not the registry's function"
    assert getattr(tg.ops, name) is fn
    if name not in FUNCTIONS_ONLY:
        assert getattr(tg.Tensor, name) is fn, f"Tensor.{name} is not the registry's function"
    assert fn.__name__ in REGISTERED and fn.__name__ in COVERED, f"{name}: no table row"


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e[0]}-{i}" for i, e in enumerate(ENTRIES)])
def test_full_jacobian_matches_finite_differences(entry):
    name, fn, _, shapes, bounds = entry
    inputs = make_inputs(shapes, bounds)
    analytic = analytic_jacobian(fn, inputs)
    numerical = numerical_jacobian(fn, inputs)
    for i, (a, n) in enumerate(zip(analytic, numerical, strict=True)):
        assert a.shape == n.shape, f"{name}: input {i} Jacobian shapes differ"
        np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-8, err_msg=f"{name}: input {i}")


def check_vjp(fn, inputs, seed=0, eps=1e-6):
    """<u, J v> from one backward pass (u^T J, then dotted with v) equals the directional
    derivative of <u, f> along v from two evaluations: one check for any input size."""
    rng = np.random.default_rng(seed)
    leaves = [tg.Tensor(x.copy(), requires_grad=True) for x in inputs]
    out = fn(*leaves)
    u = rng.standard_normal(out.shape)
    out.backward(u)
    v = [rng.standard_normal(x.shape) for x in inputs]
    by_vjp = sum(np.sum(leaf.grad * d) for leaf, d in zip(leaves, v, strict=True))

    def f(step):
        with tg.no_grad():
            moved = [tg.Tensor(x + step * d) for x, d in zip(inputs, v, strict=True)]
            return np.sum(u * fn(*moved).data)

    by_differences = (f(eps) - f(-eps)) / (2 * eps)
    assert by_vjp == pytest.approx(by_differences, rel=1e-6, abs=1e-8)


LARGE = [
    ("linear", tg.linear, [(256, 784), (128, 784), (128,)], (-1, 1)),
    ("matmul", tg.matmul, [(64, 300), (300, 200)], (-1, 1)),
    ("softmax", lambda a: tg.softmax(a, dim=1), [(256, 10)], (-5, 5)),
    ("log_softmax", lambda a: tg.log_softmax(a, 1), [(256, 10)], (-5, 5)),
    (
        "cross_entropy",
        lambda a: tg.losses.cross_entropy(a, np.arange(512) % 10),
        [(512, 10)],
        (-5, 5),
    ),
    ("sigmoid", tg.sigmoid, [(300, 200)], (-8, 8)),
    ("tanh", tg.tanh, [(300, 200)], (-4, 4)),
    ("max", lambda a: a.max(axis=0), [(500, 40)], (-3, 3)),
    ("mean", lambda a: a.mean(dim=1, keepdim=True), [(500, 40)], (-3, 3)),
    ("mul", tg.mul, [(200, 1, 30), (40, 30)], (-2, 2)),
    ("getitem", lambda a: a[np.arange(2000) % 37], [(37, 20)], (-2, 2)),
]


@pytest.mark.parametrize("entry", LARGE, ids=[e[0] for e in LARGE])
def test_random_direction_vjp_at_large_shapes(entry):
    _, fn, shapes, bounds = entry
    check_vjp(fn, make_inputs(shapes, bounds, seed=3))


@pytest.mark.parametrize("entry", ENTRIES[:10], ids=[e[0] for e in ENTRIES[:10]])
def test_gradcheck_relative_difference_is_tiny(entry):
    name, fn, _, shapes, bounds = entry
    result = tg.gradcheck(fn, make_inputs(shapes, bounds), eps=1e-5, tol=1e-8)
    assert result.passed, result.summary()


def test_checks_catch_a_wrong_gradient():
    # A primitive whose VJP is deliberately off by a factor 2 must be flagged by both checks.
    @primitive(registered=False)
    def bad_square(a):
        return a * a, (lambda g: g * a,)

    result = tg.gradcheck(bad_square, [np.array([1.0, -2.0, 3.0])])
    assert not result.passed
    assert result.relative_difference == pytest.approx(1 / 3, rel=1e-6)
    with pytest.raises(AssertionError):
        check_vjp(bad_square, [np.linspace(-1, 1, 50)])
