"""The Tensor and the engine: dtypes, accumulation, deep graphs, no_grad, errors."""

import re

import numpy as np
import pytest

import tracegrad as tg
from tracegrad import nn


def test_dtype_rules():
    assert tg.Tensor(1.5).dtype == np.float32
    assert tg.Tensor([1, 2, 3]).dtype == np.float32
    assert tg.Tensor(np.zeros(3)).dtype == np.float64
    assert tg.Tensor(np.zeros(3, dtype=np.float32)).dtype == np.float32
    x = tg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    assert (x * 2 + 1 / x - 0.5).dtype == np.float32  # Python numbers never upcast


def test_attributes_and_methods():
    t = tg.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert t.shape == (2, 3) and t.requires_grad and t.grad is None
    assert t.numpy() is t.data
    assert t[1, 2].item() == 5.0
    d = t.detach()
    assert not d.requires_grad and d.data is t.data
    t.data = np.zeros((2, 3), dtype=np.float32)
    assert t.data.sum() == 0 and t.dtype == np.float32 and t.shape == (2, 3)
    with pytest.raises(ValueError, match="one element"):
        t.item()


def test_reused_nodes_accumulate():
    a = tg.Tensor(3.0, requires_grad=True)
    b = a + a
    c = b + b
    c.backward()
    assert a.grad == 4.0
    x = tg.Tensor(2.0, requires_grad=True)
    (x * x * x).backward()  # d/dx x^3 = 3 x^2
    assert x.grad == 12.0


def test_leaf_gradients_accumulate_across_backward_calls():
    w = tg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    (w * 3).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_array_equal(w.grad, [6.0, 6.0])
    w.grad = None
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad, [2.0, 4.0])


def test_chain_of_100000_ops_does_not_hit_recursion_limit():
    a = tg.Tensor(np.float64(1.0), requires_grad=True)
    t = a
    for _ in range(100_000):
        t = t * 1.0 + 0.0
    t.backward()
    assert a.grad == 1.0


def test_no_grad_stops_recording():
    w = tg.Tensor(np.ones(2), requires_grad=True)
    with tg.no_grad():
        y = w * 2
    assert not y.requires_grad
    assert tg.is_grad_enabled()
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()

    @tg.no_grad()
    def f(x):
        return x * 3

    assert not f(w).requires_grad


def test_retain_grad_keeps_intermediate_gradients():
    x = tg.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    z = (x * 3).retain_grad()
    (z * z).sum().backward()
    np.testing.assert_array_equal(z.grad, 2 * z.data)
    np.testing.assert_array_equal(x.grad, 6 * z.data)


def test_numpy_on_the_left():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    y = np.array([1.0, 2.0, 3.0]) * x + np.ones(3)
    assert isinstance(y, tg.Tensor)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 2.0, 3.0])


def test_backward_needs_scalar_or_grad():
    x = tg.Tensor(np.ones(3), requires_grad=True)
    with pytest.raises(RuntimeError, match="one-element"):
        (x * 2).backward()
    with pytest.raises(ValueError, match="grad has shape"):
        (x * 2).backward(np.ones(4))


def test_matmul_shape_error_names_shapes():
    a, b = tg.Tensor(np.ones((3, 4))), tg.Tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5, 2\)"):
        a @ b


def test_broadcast_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(3,\) and \(4,\)"):
        tg.Tensor(np.ones(3)) + tg.Tensor(np.ones(4))


def test_linear_rejects_wrong_feature_count():
    layer = nn.Linear(784, 15, rng=0)
    with pytest.raises(ValueError, match=r"784 features.*\(10, 28, 28\).*flatten"):
        layer(np.zeros((10, 28, 28), dtype=np.float32))
    with pytest.raises(ValueError, match="positive integer"):
        nn.Linear(0, 3)


def test_loss_errors_name_values():
    logits = tg.Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="non-finite"):
        tg.losses.cross_entropy(tg.Tensor(np.array([[np.nan, 0, 0], [0, 0, 0]])), [0, 1])
    with pytest.raises(ValueError, match=r"0\.\.2.*from 0 to 3"):
        tg.losses.cross_entropy(logits, np.array([0, 3]))
    with pytest.raises(TypeError, match="integers"):
        tg.losses.cross_entropy(logits, np.array(["a", "b"]))
    with pytest.raises(TypeError, match="non-integer"):
        tg.losses.cross_entropy(logits, np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match=r"shape \(3,\) but the output has shape \(2, 3\)"):
        tg.losses.mse(logits, np.zeros(3))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        tg.losses.binary_cross_entropy(tg.Tensor(np.array([1.5, 0.2])), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="targets must lie in"):
        tg.losses.binary_cross_entropy(tg.Tensor(np.array([0.5, 0.2])), np.array([2.0, 0.0]))
    with pytest.raises(ValueError, match="reduction"):
        tg.losses.mse(logits, np.zeros((2, 3)), reduction="avg")


def test_nll_loss_names_the_shape_it_needs():
    """Not 2-D, it failed with Python's 'not enough values to unpack'."""
    for shape in [(3,), (2, 3, 4), ()]:
        given = re.escape(str(shape))
        with pytest.raises(ValueError, match=rf"must be 2-D \(N, K\).*got shape {given}"):
            tg.losses.nll_loss(tg.Tensor(np.zeros(shape)), np.array([0]))
    lp = tg.Tensor(np.log(np.full((2, 3), 1 / 3)))
    with pytest.raises(ValueError, match=r"0\.\.2 for 3 classes, got values from -1 to 0"):
        tg.losses.nll_loss(lp, np.array([0, -1]))
    with pytest.raises(ValueError, match=r"shape \(2, 1\): expected \(2,\)"):
        tg.losses.nll_loss(lp, np.array([[0], [1]]))
    assert tg.losses.nll_loss(lp, np.array([0, 2.0])).item() == pytest.approx(np.log(3))


def test_cross_entropy_accepts_tensor_targets_and_onehot():
    z = np.random.default_rng(0).normal(size=(4, 3))
    labels = np.array([0, 2, 1, 2])
    a = tg.losses.cross_entropy(tg.Tensor(z), tg.Tensor(labels.astype(np.float64))).item()
    b = tg.losses.cross_entropy(tg.Tensor(z), np.eye(3)[labels]).item()
    c = tg.losses.cross_entropy(tg.Tensor(z), labels).item()
    assert a == pytest.approx(c, rel=1e-12) and b == pytest.approx(c, rel=1e-12)


def test_stable_sigmoid_and_softmax_at_extremes():
    x = np.array([-1000.0, -710.0, 0.0, 710.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        s = tg.functional.sigmoid(tg.Tensor(x)).data
    np.testing.assert_allclose(s, [0.0, np.exp(-710.0), 0.5, 1.0, 1.0], rtol=1e-12)
    assert np.isfinite(tg.losses.cross_entropy(tg.Tensor(np.array([[1e4, -1e4]])), [1]).item())


def test_sigmoid_special_values_and_scalars():
    x = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, -100.0, 100.0], dtype=np.float32)
    s = tg.functional.sigmoid(tg.Tensor(x)).data
    assert s.dtype == np.float32 and np.isnan(s[0])
    np.testing.assert_array_equal(s[1:], np.float32([1, 0, 0.5, 0.5, np.exp(-100.0), 1]))
    t = tg.Tensor(np.float64(-3.0), requires_grad=True)  # 0-d: the in-place steps keep arrays
    y = tg.functional.sigmoid(t)
    y.backward()
    want = 1 / (1 + np.exp(3.0))
    assert y.item() == pytest.approx(want, rel=1e-15)
    assert t.grad == pytest.approx(want * (1 - want), rel=1e-15)


def test_dropout_inverted_scaling_and_eval_identity():
    layer = nn.Dropout(0.25, rng=0)
    x = tg.Tensor(np.ones((200, 50)))
    y = layer(x).data
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75)
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="probability of dropping"):
        nn.Dropout(1.0)


def test_module_walks_parameters_in_order_and_modes():
    model = nn.MLP([3, 4, 2], activation="relu", dropout=0.2, rng=0)
    names = [n for n, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "3.weight", "3.bias"]
    model.eval()
    assert all(not m.training for _, m in model.named_modules())
    model.train()
    assert all(m.training for _, m in model.named_modules())
    x = tg.Tensor(np.ones((2, 3), dtype=np.float32))
    model(x).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_state_dict_round_trip_and_errors():
    a, b = nn.MLP([3, 4, 2], rng=0), nn.MLP([3, 4, 2], rng=1)
    b.load_state_dict(a.state_dict())
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    with pytest.raises(ValueError, match=r"0.weight.*\(4, 3\)"):
        nn.MLP([3, 5, 2], rng=0).load_state_dict(a.state_dict())
    with pytest.raises(KeyError, match="missing"):
        a.load_state_dict({"0.weight": np.zeros((4, 3))})


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        ({"2.weight": np.zeros((5, 4))}, ValueError, r"2.weight: saved shape \(5, 4\)"),
        ({"2.bias": np.zeros(2, dtype=np.complex128)}, TypeError, r"2.bias: saved dtype complex"),
    ],
    ids=["shape", "dtype"],
)
def test_a_refused_state_dict_leaves_every_parameter_as_it_was(bad, error, message):
    """The last parameter is wrong: the earlier ones must not have been overwritten."""
    model = nn.MLP([3, 4, 2], rng=0)
    before = [p.data.copy() for p in model.parameters()]
    state = {k: v + 1 for k, v in nn.MLP([3, 4, 2], rng=1).state_dict().items()}
    state.update(bad)
    with pytest.raises(error, match=message):
        model.load_state_dict(state, strict=False)
    with pytest.raises(error, match="nothing was loaded"):
        model.load_state_dict(state)
    for p, q in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, q)
        assert p.data.tobytes() == q.tobytes()  # bit-identical, not merely close


def test_seed_reproduces_network_bit_for_bit():
    for init in ["glorot_uniform", "he_normal", "lecun_normal", "symmetric_uniform", "torch"]:
        a = nn.MLP([5, 7, 3], init=init, rng=42)
        b = nn.MLP([5, 7, 3], init=init, rng=np.random.default_rng(42))
        for p, q in zip(a.parameters(), b.parameters(), strict=True):
            assert p.data.tobytes() == q.data.tobytes()


def test_initializer_scales():
    rng = np.random.default_rng(0)
    w = nn.init.symmetric_uniform((400, 100), rng)
    eps = np.sqrt(6) / np.sqrt(500)
    assert np.abs(w).max() <= eps and np.abs(w).max() > 0.99 * eps
    assert nn.init.he_normal((2000, 500), rng).std() == pytest.approx(np.sqrt(2 / 500), rel=0.02)
    assert nn.init.glorot_normal((600, 400), rng).std() == pytest.approx(
        np.sqrt(2 / 1000), rel=0.02
    )
    assert np.abs(nn.init.lecun_uniform((50, 300), rng)).max() <= np.sqrt(3 / 300)
    assert nn.init.constant((2, 2), value=0.3).sum() == pytest.approx(1.2)
    with pytest.raises(ValueError, match="unknown initializer"):
        nn.init.get("bogus")


def test_unroll_and_roll_exactly():
    model = nn.MLP([4, 3, 2], rng=0)
    vec = nn.parameters_to_vector(model.parameters())
    other = nn.MLP([4, 3, 2], rng=9)
    nn.vector_to_parameters(vec, other.parameters())
    assert nn.parameters_to_vector(other.parameters()).tobytes() == vec.tobytes()
    with pytest.raises(ValueError, match="23 values"):
        nn.vector_to_parameters(vec[:-1], other.parameters())


def test_leaves_never_share_a_gradient_array():
    a, b, c = (tg.Tensor(np.ones(3), requires_grad=True) for _ in range(3))
    ((a + b) * c).sum().backward()
    assert a.grad is not b.grad
    a.grad *= 0  # e.g. clipping one gradient in place
    np.testing.assert_array_equal(b.grad, [1.0, 1.0, 1.0])


def test_no_grad_decorator_is_reentrant():
    @tg.no_grad()
    def depth(n):
        return 0 if n == 0 else 1 + depth(n - 1)

    assert depth(3) == 3
    assert tg.is_grad_enabled()


def test_numpy_scalar_exponent_keeps_float32():
    x = tg.Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    assert (x ** np.float64(2.0)).dtype == np.float32


def test_integer_inputs_do_not_upcast_a_float32_model():
    model = nn.MLP([3, 4, 2], rng=0)
    out = model(tg.Tensor(np.ones((2, 3), dtype=np.int64)))
    assert out.dtype == np.float32


def test_flat_view_of_a_weight_edits_it_as_in_the_course_notes():
    """The notes' gradient check by hand: perturb one weight through a flat view."""
    L = nn.Linear(3, 2, rng=0, dtype=np.float64)
    before = L.weight.data.copy()
    j, eps = 4, 1e-4
    L.weight.data.reshape(-1)[j] += eps
    changed = L.weight.data - before
    assert changed[np.unravel_index(j, before.shape)] == pytest.approx(eps, rel=1e-9)
    assert np.count_nonzero(changed) == 1
    assert L.weight.data.flags.c_contiguous


def test_numerical_gradient_by_the_flat_view_matches_backprop():
    model = nn.MLP([4, 5, 3], activation="tanh", rng=2, dtype=np.float64)
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(7, 4)), np.arange(7) % 3

    def cost():
        return tg.losses.cross_entropy(model(X), y).item()

    tg.losses.cross_entropy(model(X), y).backward()
    W = model.linears[0].weight
    flat, eps = W.data.reshape(-1), 1e-6
    numerical = np.empty(flat.size)
    for j in range(flat.size):
        flat[j] += eps
        plus = cost()
        flat[j] -= 2 * eps
        minus = cost()
        flat[j] += eps
        numerical[j] = (plus - minus) / (2 * eps)
    np.testing.assert_allclose(numerical, W.grad.reshape(-1), rtol=1e-6, atol=1e-9)


def test_integer_input_is_converted_afresh_on_every_call():
    """The example of issue 10: a second integer batch must not give the first's output."""
    m = nn.Sequential(nn.Linear(4, 3, rng=0), nn.ReLU(), nn.Linear(3, 2, rng=1))
    x = np.arange(8).reshape(2, 4)
    first = m(tg.Tensor(x)).data.copy()
    second = m(tg.Tensor(x * 3)).data
    as_float = m(tg.Tensor(x * 3, dtype=np.float32)).data
    assert not np.allclose(first, second)
    np.testing.assert_array_equal(second, as_float)
    assert second.dtype == np.float32


def test_power_zero_has_zero_gradient_everywhere_as_in_torch():
    x = tg.Tensor(np.array([0.0, -1.5, 2.0]), requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])
    a = tg.Tensor(np.array([0.0, 0.0, 3.0]), requires_grad=True)
    b = tg.Tensor(np.array([0.0, 2.0, 0.0]), requires_grad=True)
    (a**b).sum().backward()
    np.testing.assert_array_equal(a.grad, [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(b.grad, [0.0, 0.0, np.log(3.0)])


def test_unneeded_input_gradients_are_never_computed():
    """Only the VJPs of inputs that require a gradient run (one per input, HIPS-style)."""
    calls = []

    @tg.autograd.primitive(registered=False)
    def spy(a, b):
        return a * b, (lambda g: calls.append("a") or g * b, lambda g: calls.append("b") or g * a)

    x, w = tg.Tensor(np.ones(3)), tg.Tensor(np.full(3, 2.0), requires_grad=True)
    spy(x, w).sum().backward()
    assert calls == ["b"]
    np.testing.assert_array_equal(w.grad, [1.0, 1.0, 1.0])


def test_argument_conventions_of_numpy_and_torch():
    x = tg.Tensor(np.arange(24.0).reshape(2, 3, 4))
    np.testing.assert_array_equal(
        x.sum(axis=1, keepdims=True).data, x.sum(dim=1, keepdim=True).data
    )
    with pytest.raises(TypeError, match="axis or dim"):
        x.sum(axis=0, dim=0)
    assert x.transpose(0, 2).shape == (4, 3, 2)  # two axes: swapped, as torch.transpose
    assert x.transpose((2, 0, 1)).shape == (4, 2, 3)  # a tuple: permuted, as NumPy
    assert x.transpose().shape == x.T.shape == (4, 3, 2)  # none: reversed, as NumPy
    m = tg.Tensor(np.eye(2))
    np.testing.assert_array_equal(m.transpose(0, 1).data, m.data.T)
    assert x.max(dim=2).shape == (2, 3)  # values only (torch.amax), never (values, indices)
    assert x.reshape(4, 6).shape == x.reshape((4, 6)).shape == (4, 6)
    np.testing.assert_array_equal(tg.clamp(x, max=3.0).data, np.minimum(x.data, 3.0))
