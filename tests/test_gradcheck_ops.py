"""Every primitive's gradient against two-sided differences in float64 (full Jacobians)."""

import numpy as np
import pytest

import tracegrad as tg
from op_table import ENTRIES, PUBLIC_OPS, make_inputs
from tracegrad.checking import analytic_jacobian, numerical_jacobian


def test_every_public_op_has_a_gradcheck_entry():
    covered = {name for name, *_ in ENTRIES}
    missing = [name for name in PUBLIC_OPS if name not in covered]
    assert not missing, f"ops without a gradient-check entry: {missing}"


@pytest.mark.parametrize("entry", ENTRIES, ids=[f"{e[0]}-{i}" for i, e in enumerate(ENTRIES)])
def test_full_jacobian_matches_finite_differences(entry):
    name, fn, _, shapes, bounds = entry
    inputs = make_inputs(shapes, bounds)
    analytic = analytic_jacobian(fn, inputs)
    numerical = numerical_jacobian(fn, inputs)
    for i, (a, n) in enumerate(zip(analytic, numerical, strict=True)):
        assert a.shape == n.shape, f"{name}: input {i} Jacobian shapes differ"
        np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-8, err_msg=f"{name}: input {i}")


@pytest.mark.parametrize("entry", ENTRIES[:10], ids=[e[0] for e in ENTRIES[:10]])
def test_gradcheck_relative_difference_is_tiny(entry):
    name, fn, _, shapes, bounds = entry
    result = tg.gradcheck(fn, make_inputs(shapes, bounds), eps=1e-5, tol=1e-8)
    assert result.passed, result.summary()


def test_gradcheck_catches_a_wrong_gradient():
    # A primitive whose vjp is deliberately off by a factor 2 must be flagged.
    def bad_square(a):
        return a * a, lambda g: (g * a,)

    result = tg.gradcheck(lambda x: tg.ops.apply(bad_square, x), [np.array([1.0, -2.0, 3.0])])
    assert not result.passed
    assert result.relative_difference == pytest.approx(1 / 3, rel=1e-6)
