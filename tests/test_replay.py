"""The replayed forward pass (tracegrad.replay) gives bit-identical results to the plain path."""

import numpy as np
import pytest

import tracegrad as tg
from tracegrad import losses, nn, optim


def train(model, steps=6, batch=(7, 7, 7, 5, 7, 5), dtype=np.float32, opt_cls=optim.SGD, **kw):
    rng = np.random.default_rng(0)
    opt = opt_cls(model.parameters(), **kw)
    outputs = []
    for i in range(steps):
        X = rng.normal(size=(batch[i % len(batch)], 6)).astype(dtype)
        y = rng.integers(0, 3, size=len(X))
        out = model(tg.Tensor(X))
        loss = losses.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        outputs.append((out.data.copy(), loss.item(), [p.grad.copy() for p in model.parameters()]))
        opt.step()
    return outputs, [p.data.copy() for p in model.parameters()]


def same(a, b):
    (outs_a, params_a), (outs_b, params_b) = a, b
    for (oa, la, ga), (ob, lb, gb) in zip(outs_a, outs_b, strict=True):
        assert oa.tobytes() == ob.tobytes()
        assert la == lb
        for x, y in zip(ga, gb, strict=True):
            assert x.tobytes() == y.tobytes()
    for x, y in zip(params_a, params_b, strict=True):
        assert x.tobytes() == y.tobytes()


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu", "softplus"])
@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_replay_is_bit_identical_to_plain_path(activation, dropout):
    def make(replay):
        m = nn.MLP([6, 8, 5, 3], activation=activation, dropout=dropout, rng=1)
        m.replay = replay
        return m

    replayed, plain = make(True), make(False)
    a = train(replayed, momentum=0.9, lr=0.1)
    b = train(plain, momentum=0.9, lr=0.1)
    same(a, b)
    # The tape was really used: one per batch shape (7 and 5 rows).
    assert len(replayed._tapes.tapes) == 2
    assert "_tapes" not in plain.__dict__


def test_replay_in_float64_with_adam_matches():
    def make(replay):
        m = nn.MLP([6, 4, 3], activation="tanh", output="softmax", rng=2, dtype=np.float64)
        m.replay = replay
        return m

    same(
        train(make(True), dtype=np.float64, opt_cls=optim.Adam, lr=0.01),
        train(make(False), dtype=np.float64, opt_cls=optim.Adam, lr=0.01),
    )


def test_replay_output_is_one_node_and_gradcheck_passes():
    model = nn.MLP([3, 4, 2], activation="sigmoid", rng=0, dtype=np.float64)
    X = np.random.default_rng(1).normal(size=(5, 3))
    y = np.array([0, 1, 1, 0, 1])
    model(tg.Tensor(X))  # records
    out = model(tg.Tensor(X))  # replays
    assert out.op == "replay"
    result = tg.check_model_gradients(model, lambda: losses.cross_entropy(model(tg.Tensor(X)), y))
    assert result.relative_difference < 1e-9


def test_input_gradient_flows_through_replay():
    model = nn.MLP([3, 4, 2], activation="tanh", rng=0, dtype=np.float64)
    X = np.random.default_rng(1).normal(size=(5, 3))
    grads = []
    for _ in range(2):  # record, then replay
        x = tg.Tensor(X, requires_grad=True)
        (model(x) ** 2).sum().backward()
        grads.append(x.grad)
    model.replay = False
    x = tg.Tensor(X, requires_grad=True)
    (model(x) ** 2).sum().backward()
    assert grads[0].tobytes() == grads[1].tobytes() == x.grad.tobytes()


def test_mode_structure_and_freezing_invalidate_tapes():
    model = nn.MLP([3, 4, 2], activation="relu", dropout=0.5, rng=0)
    x = tg.Tensor(np.ones((4, 3), dtype=np.float32))
    model(x)
    model(x)
    model.eval()
    with tg.no_grad():
        a = model(x).data  # the plain path
    model(x)  # records the evaluation tape
    replayed = model(x)
    assert replayed.op == "replay"
    assert a.tobytes() == replayed.data.tobytes()  # eval mode: no dropout, its own tape
    # Only the dropout layer in eval: a tape of its own too, with no dropout.
    model.train()
    model.layers[2].eval()
    model(x)
    assert model(x).data.tobytes() == a.tobytes()
    model.train()
    n_tapes = len(model._tapes.tapes)
    model.linears[0].weight.requires_grad = False
    model(x)
    assert len(model._tapes.tapes) == n_tapes + 1
    # Replacing a parameter changes the structure: tapes are dropped, the new weight is used.
    model.eval()
    model(x)
    model.layers[0].weight = nn.Parameter(np.zeros((4, 3), dtype=np.float32))
    out = model(x)
    first, last = model.linears
    expected = np.maximum(first.bias.data, 0) @ last.weight.data.T + last.bias.data
    np.testing.assert_allclose(out.data, np.broadcast_to(expected, (4, 2)), rtol=1e-6)
    assert model(x).op == "replay"


class Custom(nn.Module):
    def __init__(self):
        self.lin = nn.Linear(3, 2, rng=0)

    def forward(self, x):
        # Data-dependent Python: must never be frozen into a tape.
        return self.lin(x) if x.data.sum() > 0 else self.lin(-x)


def test_models_with_unknown_layers_take_the_plain_path():
    model = nn.Sequential(Custom())
    pos = tg.Tensor(np.ones((2, 3)))
    neg = tg.Tensor(-np.ones((2, 3)))
    a = model(pos).data
    b = model(neg).data
    np.testing.assert_array_equal(a, b)
    assert "_tapes" not in model.__dict__


def test_changing_a_layer_setting_is_seen_by_the_replay():
    model = nn.MLP([3, 5, 2], activation="relu", dropout=0.5, rng=0)
    x = tg.Tensor(np.ones((4, 3), dtype=np.float32))
    model(x)
    model(x)
    dropout = model.layers[2]
    dropout.p = 0.0  # no dropout any more: training output equals evaluation output
    train_out = model(x).data
    with tg.no_grad():
        eval_out = model.eval()(x).data
    np.testing.assert_array_equal(train_out, eval_out)
    # A new generator for the dropout masks is used from the next call on.
    model.train()
    dropout.p = 0.5
    dropout.rng = np.random.default_rng(7)
    a = model(x).data
    dropout.rng = np.random.default_rng(7)
    assert model(x).data.tobytes() == a.tobytes()


def test_replacing_parameter_data_is_seen_by_the_replay():
    model = nn.Sequential(nn.Linear(3, 2, rng=0, dtype=np.float64))
    x = tg.Tensor(np.ones((4, 3)))
    model(x)
    model(x)
    layer = model.layers[0]
    layer.weight.data = np.ones((2, 3))
    layer.bias.data = np.full(2, 0.5)
    out = model(x)
    assert out.op == "replay"
    np.testing.assert_array_equal(out.data, np.full((4, 2), 3.5))  # the new weights, not the old


def test_inner_model_opting_out_is_respected():
    inner = nn.Sequential(nn.Linear(3, 2, rng=0))
    inner.replay = False
    outer = nn.Sequential(inner, nn.ReLU())
    x = tg.Tensor(np.ones((4, 3), dtype=np.float32))
    outer(x)
    assert outer(x).op != "replay"


def test_recording_in_one_thread_does_not_capture_another_threads_ops():
    import threading

    from tracegrad.replay import Recorder

    seen = []
    with Recorder() as rec:
        t = threading.Thread(target=lambda: seen.append(tg.Tensor(np.ones(2)) * 2))
        t.start()
        t.join()
    assert seen and rec.calls == []
