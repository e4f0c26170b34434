"""Property tests: broadcasting gradients, softmax stability and invariance, unroll/roll."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tracegrad as tg
from tracegrad import functional as F
from tracegrad import nn
from tracegrad.tensor import unbroadcast

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4))
def test_broadcast_gradients_have_input_shapes_and_sum_correctly(bshapes):
    sa, sb = bshapes.input_shapes
    a = tg.Tensor(np.ones(sa), requires_grad=True)
    b = tg.Tensor(np.full(sb, 2.0), requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.shape == sa and b.grad.shape == sb
    n_out = int(np.prod(bshapes.result_shape))
    # Each input element is reused n_out / its size times.
    np.testing.assert_allclose(a.grad, np.full(sa, 2.0 * n_out / int(np.prod(sa))))
    np.testing.assert_allclose(b.grad, np.full(sb, 1.0 * n_out / int(np.prod(sb))))


@settings(max_examples=60, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=1, min_dims=0, max_dims=3, max_side=4))
def test_unbroadcast_matches_sum_over_broadcast_axes(bshapes):
    (shape,) = bshapes.input_shapes
    out_shape = bshapes.result_shape
    g = np.arange(int(np.prod(out_shape)), dtype=np.float64).reshape(out_shape)
    reduced = unbroadcast(g, shape)
    assert reduced.shape == shape
    # Expected: sum over the new leading axes, then over every axis that was stretched from 1.
    lead = len(out_shape) - len(shape)
    expected = g.sum(axis=tuple(range(lead))) if lead else g
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and expected.shape[i] != 1)
    expected = expected.sum(axis=stretched, keepdims=True) if stretched else expected
    np.testing.assert_array_equal(reduced, expected.reshape(shape))


@settings(max_examples=50, deadline=None)
@given(
    hnp.arrays(
        np.float64, st.tuples(st.integers(1, 4), st.integers(1, 6)), elements=st.floats(-1e4, 1e4)
    ),
    st.floats(-1e4, 1e4),
)
def test_softmax_and_log_softmax_stable_and_shift_invariant(x, shift):
    p = F.softmax(tg.Tensor(x)).data
    lp = F.log_softmax(tg.Tensor(x)).data
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(lp))
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(F.softmax(tg.Tensor(x + shift)).data, p, atol=1e-9)
    # log-probabilities are differences of numbers up to 2e4: allow their rounding.
    np.testing.assert_allclose(
        F.log_softmax(tg.Tensor(x + shift)).data,
        lp,
        atol=1e-11 * (1 + np.abs(x).max() + abs(shift)),
    )


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=2, max_size=4), st.integers(0, 2**31))
def test_unroll_roll_round_trip(sizes, seed):
    model = nn.MLP(sizes, rng=seed, dtype=np.float64)
    vec = nn.parameters_to_vector(model.parameters())
    perturbed = vec + 1.0
    nn.vector_to_parameters(perturbed, model.parameters())
    assert nn.parameters_to_vector(model.parameters()).tobytes() == perturbed.tobytes()
    assert vec.size == sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))


@settings(max_examples=30, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(2, 5)),
        elements=st.sampled_from([-1e4, 1e4, 0.0, 3.0]),
    )
)
def test_log_softmax_gradient_finite_at_extremes(x):
    t = tg.Tensor(x, requires_grad=True)
    F.log_softmax(t).sum().backward()
    assert np.all(np.isfinite(t.grad))
