"""The course notes' worked examples, digit for digit."""

import json
import subprocess
import sys

import numpy as np
import pytest

import tracegrad as tg
from tracegrad import losses, nn
from tracegrad.tracing import mazur_network, trace, train_steps


def test_computational_graph_f_equals_wx_plus_b():
    w, x, b = (tg.Tensor(v, requires_grad=True) for v in (-2.0, 5.0, 3.0))
    f = w * x + b
    f.backward()
    assert f.item() == -7.0
    assert (w.grad, x.grad, b.grad) == (5.0, -2.0, 1.0)


def test_sigmoid_derivative_values():
    z = tg.Tensor(np.array([-1.0, -0.5, 0.0, 0.5, 1.0]), requires_grad=True)
    tg.functional.sigmoid(z).sum().backward()
    np.testing.assert_allclose(
        z.grad, [0.196612, 0.235004, 0.250000, 0.235004, 0.196612], atol=5e-7
    )


@pytest.mark.parametrize("sizes, count", [([784, 15, 10], 11_935), ([400, 25, 10], 10_285)])
def test_parameter_counts(sizes, count):
    model = nn.MLP(sizes, rng=0)
    assert model.num_parameters() == count
    assert nn.parameters_to_vector(model.parameters()).size == count


def test_mazur_forward_pass_and_one_step():
    model, x, t = mazur_network()
    step = trace(model, x, t, cost="half_sse", lr=0.5, update_biases=False)
    assert round(step.cost, 9) == 0.298371109
    out_layer, hidden = step.layers[1], step.layers[0]
    np.testing.assert_allclose(out_layer.a, [[0.75136507, 0.772928465]], atol=5e-10)
    # w5..w8, then w1..w4, as printed in the worked example (all gradients computed first).
    np.testing.assert_allclose(
        out_layer.W_new.ravel(), [0.35891648, 0.408666186, 0.511301270, 0.561370121], atol=5e-9
    )
    np.testing.assert_allclose(
        hidden.W_new.ravel(), [0.149780716, 0.19956143, 0.24975114, 0.29950229], atol=5e-9
    )
    # The model now holds the new weights; the biases were not updated.
    np.testing.assert_array_equal(model.linears[0].weight.data, hidden.W_new)
    np.testing.assert_array_equal(model.linears[1].bias.data, [0.6, 0.6])


def test_mazur_after_10000_steps():
    # The blog's "0.0000351085" is the error its 10,000th step computes, before that
    # step's update: the error after 9,999 updates.
    model, x, t = mazur_network()
    before = train_steps(model, x, t, 9_999, cost="half_sse", lr=0.5, update_biases=False)
    assert round(before, 10) == 0.0000351085
    model, x, t = mazur_network()
    cost = train_steps(model, x, t, 10_000, cost="half_sse", lr=0.5, update_biases=False)
    assert 0 < cost < before and cost == pytest.approx(3.51e-05, rel=2e-3)
    with tg.no_grad():
        out = model(tg.Tensor(x)).data
    np.testing.assert_allclose(out, [[0.0159, 0.9841]], atol=5e-5)


def test_cli_trace_mazur_text_and_json():
    text = subprocess.run(
        [sys.executable, "-m", "tracegrad", "trace", "mazur"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "0.298371109" in text and "0.358916480" in text and "delta^(2)" in text
    raw = subprocess.run(
        [sys.executable, "-m", "tracegrad", "trace", "mazur", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    data = json.loads(raw)
    assert round(data["cost"], 9) == 0.298371109
    w_new = np.array(data["layers"][0]["W_new"]).ravel()
    np.testing.assert_allclose(w_new, [0.149780716, 0.19956143, 0.24975114, 0.29950229], atol=5e-9)
    for key in ("z", "a", "delta", "dW", "db", "W_new", "b_new"):
        assert key in data["layers"][1]


def test_trace_a_users_own_network():
    model = nn.MLP([3, 4, 2], activation="tanh", output="identity", rng=3, dtype=np.float64)
    x = np.random.default_rng(0).normal(size=(5, 3))
    y = np.array([0, 1, 1, 0, 1])
    before = [p.data.copy() for p in model.parameters()]
    step = trace(model, x, y, cost="cross_entropy", lr=0.1)
    # delta of the output layer of softmax cross-entropy is (softmax - onehot) / n.
    z = step.layers[-1].z
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    np.testing.assert_allclose(step.layers[-1].delta, (p - np.eye(2)[y]) / 5, atol=1e-12)
    # Backprop's equations (BP2, BP4): delta^l = (delta^(l+1) W^(l+1)) * f'(z^l), dW = delta^T a.
    h = step.layers[0]
    expected = (step.layers[1].delta @ step.layers[1].W) * (1 - np.tanh(h.z) ** 2)
    np.testing.assert_allclose(h.delta, expected, atol=1e-12)
    np.testing.assert_allclose(h.dW, h.delta.T @ x, atol=1e-12)
    np.testing.assert_allclose(model.parameters()[0].data, before[0] - 0.1 * h.dW, atol=1e-15)


def _train_xor(model, steps=3000, lr=2.0):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    for _ in range(steps):
        model.zero_grad()
        losses.binary_cross_entropy(model(tg.Tensor(X)), y).backward()
        for p in model.parameters():
            p.data -= lr * p.grad
    with tg.no_grad():
        return model(tg.Tensor(X)).data, y


def test_xor_learned_by_gradient_descent():
    model = nn.MLP([2, 3, 1], activation="sigmoid", output="sigmoid", rng=1, dtype=np.float64)
    out, y = _train_xor(model)
    assert ((out > 0.5) == (y > 0.5)).sum() == 4


def test_symmetry_breaking():
    equal = nn.MLP([2, 3, 1], activation="sigmoid", output="sigmoid", rng=1, dtype=np.float64)
    for p in equal.parameters():
        p.data[...] = 0.5
    _train_xor(equal, steps=300)
    w = equal.linears[0].weight.data
    # All hidden units receive the same gradient, so they stay identical: no symmetry is broken.
    np.testing.assert_allclose(w, np.broadcast_to(w[0], w.shape), atol=1e-12)

    random = nn.MLP([2, 3, 1], activation="sigmoid", output="sigmoid", rng=1, dtype=np.float64)
    _train_xor(random, steps=300)
    w = random.linears[0].weight.data
    assert np.abs(w - w[0]).max() > 1e-2


def test_three_layer_network_with_l2_passes_gradcheck():
    rng = np.random.default_rng(0)
    model = nn.MLP([4, 5, 3, 3], activation="sigmoid", output="identity", rng=2, dtype=np.float64)
    X = rng.normal(size=(6, 4))
    y = rng.integers(0, 3, size=6)

    def cost():
        return losses.cross_entropy(model(X), y) + losses.l2_penalty(model, lam=0.7, m=len(X))

    result = tg.check_model_gradients(model, cost)
    assert result.relative_difference < 1e-9, result.summary()
    assert set(result.details) == {"0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"}


def test_l2_penalty_excludes_biases_and_has_gradient_lambda_over_m_w():
    model = nn.MLP([3, 2, 2], rng=0, dtype=np.float64)
    penalty = losses.l2_penalty(model, lam=2.0, m=4)
    weights = [m.weight.data for m in model.linears]
    assert penalty.item() == pytest.approx(2.0 / 8 * sum((w**2).sum() for w in weights))
    penalty.backward()
    np.testing.assert_allclose(model.linears[0].weight.grad, 2.0 / 4 * weights[0])
    assert model.linears[0].bias.grad is None


def test_lbfgs_beats_fifty_gradient_descent_steps():
    from tracegrad import optim

    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.8).astype(np.int64)

    def make():
        return nn.MLP([4, 6, 2], activation="sigmoid", rng=7, dtype=np.float64)

    def cost_of(model):
        return losses.cross_entropy(model(X), y) + losses.l2_penalty(model, 0.1, len(X))

    gd = make()
    sgd = optim.SGD(gd.parameters(), lr=0.5)
    for _ in range(50):
        sgd.zero_grad()
        cost_of(gd).backward()
        sgd.step()
    lbfgs = make()
    optim.minimize(lbfgs, lambda: cost_of(lbfgs), method="L-BFGS-B", maxiter=50)
    cg = make()
    optim.minimize(cg, lambda: cost_of(cg), method="CG", maxiter=50)
    with tg.no_grad():
        gd_cost, lbfgs_cost, cg_cost = cost_of(gd).item(), cost_of(lbfgs).item(), cost_of(cg).item()
    assert lbfgs_cost < gd_cost
    assert cg_cost < gd_cost
