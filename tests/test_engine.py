"""The Tensor and the engine: dtypes, accumulation, deep graphs, no_grad, errors."""

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


@pytest.mark.parametrize(
    "shape", [(15, 10), (16, 10), (256, 10), (16, 64), (16, 65), (40, 1), (3, 0, 2)]
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_max_keepdims_equals_numpy_max(shape, dtype):
    """The softmaxes' shift: the column-major path (16+ rows, <= 64 columns) is exact."""
    from tracegrad.ops import max_keepdims

    a = np.random.default_rng(0).standard_normal(shape).astype(dtype)
    if a.size:
        a.flat[7] = np.nan  # NaN must win in its row, as in a.max
        a.flat[-1] = -np.inf
    for axis in range(-a.ndim, a.ndim):
        if a.shape[axis] == 0:
            continue
        got, want = max_keepdims(a, axis), a.max(axis=axis, keepdims=True)
        assert got.shape == want.shape and got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    strided = a[::2] if a.ndim == 2 else a  # a non-contiguous view takes the same paths
    np.testing.assert_array_equal(max_keepdims(strided, -1), strided.max(axis=-1, keepdims=True))


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


def _mlp_grads(model, X, y):
    model.zero_grad()
    tg.losses.cross_entropy(model(tg.Tensor(X)), y).backward()
    return [p.grad for p in model.parameters()]


def test_linear_weights_are_column_major_with_matching_owned_gradients():
    """Linear keeps W column-major (faster products); gradients follow, values do not change."""
    model = nn.MLP([6, 8, 3], activation="relu", rng=0, dtype=np.float64)
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 6)), rng.integers(0, 3, 20)
    weights = [p for name, p in model.named_parameters() if name.endswith("weight")]
    assert all(w.data.flags.f_contiguous and not w.data.flags.c_contiguous for w in weights)
    fast = _mlp_grads(model, X, y)
    for w in weights:
        assert w.grad.flags.f_contiguous and w.grad.base is None  # own memory, no copy made
    for p in model.parameters():  # a user may assign row-major arrays: same gradients
        p.data = np.ascontiguousarray(p.data)
    plain = _mlp_grads(model, X, y)
    assert all(w.grad.flags.c_contiguous for w in weights)
    for a, b in zip(fast, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


def test_layout_survives_state_dicts_and_gradient_checks():
    model = nn.MLP([4, 5, 3], activation="tanh", rng=2, dtype=np.float64)
    other = nn.MLP([4, 5, 3], activation="tanh", rng=3, dtype=np.float64)
    other.load_state_dict({k: np.ascontiguousarray(v) for k, v in model.state_dict().items()})
    w = other.parameters()[0]
    assert w.data.flags.f_contiguous  # copied into the existing storage
    np.testing.assert_array_equal(w.data, model.parameters()[0].data)
    opt = tg.optim.SGD(other.parameters(), lr=0.1, momentum=0.9)
    X, y = np.random.default_rng(0).normal(size=(7, 4)), np.arange(7) % 3
    _mlp_grads(other, X, y)
    opt.step()
    again = tg.optim.SGD(other.parameters(), lr=0.1, momentum=0.9)
    again.load_state_dict(opt.state_dict())  # saved row-major, restored in w's layout
    assert again.state[0]["momentum_buffer"].flags.f_contiguous
    # The numerical check perturbs column-major weights in place (reshape(-1) would copy).
    result = tg.checking.check_model_gradients(
        other, lambda: tg.losses.cross_entropy(other(tg.Tensor(X)), y)
    )
    assert result.passed and result.details["0.weight"]["relative_difference"] < 1e-8


def test_numerical_jacobian_of_a_column_major_input():
    a = np.asfortranarray(np.random.default_rng(0).normal(size=(3, 4)))
    (num,) = tg.checking.numerical_jacobian(lambda t: t * t, [a])
    np.testing.assert_allclose(num, np.diag(2 * a.ravel()), atol=1e-8)
