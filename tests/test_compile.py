"""The compiled training step against the eager one (tracegrad.compile).

Every case trains two copies of the same model from the same start, one eagerly
(``zero_grad; loss.backward(); step``) and one through ``compile_step``, and compares
parameters, gradients, optimizer state and loss values after each step. The kernels
perform the eager operations in the eager order, so the comparison is bit for bit,
except where the eager engine composes an op from several primitives whose gradients
it adds in another order (``TOLERANT``: softplus and BCE with logits), where it is
within a few units in the last place.
"""

import warnings

import numpy as np
import pytest

import tracegrad as tg
from optim_cases import CASES, IDS
from tracegrad import losses, nn, optim, training
from tracegrad.compile import (
    CompileWarning,
    compile_step,
    eager_step,
    label_loss,
    with_l2_penalty,
)

# Relative tolerance for the cases whose eager gradient is summed in another order:
# a few float32 ulps per step, over the few steps a test takes.
TOLERANT = {np.float32: 2e-5, np.float64: 1e-12}


def pair(build, opt_name="SGD", dtype=np.float32, **opt_args):
    """Two identical (model, optimizer) pairs."""
    made = []
    for _ in range(2):
        model = build(dtype)
        opt = getattr(optim, opt_name)(model.parameters(), **(opt_args or {"lr": 0.1}))
        made.append((model, opt))
    return made


def data(n=24, features=6, classes=4, seed=1, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, features)).astype(dtype), rng.integers(0, classes, n)


def assert_same(a, b, rtol=None):
    check = np.testing.assert_array_equal if rtol is None else (
        lambda x, y: np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)
    )
    (m1, o1), (m2, o2) = a, b
    for p, q in zip(m1.parameters(), m2.parameters(), strict=True):
        check(p.data, q.data)
        check(p.grad, q.grad)
    s1, s2 = o1.state_dict(), o2.state_dict()
    assert s1["hyperparameters"] == s2["hyperparameters"]
    assert s1["state"].keys() == s2["state"].keys()
    for i in s1["state"]:
        assert s1["state"][i].keys() == s2["state"][i].keys()
        for k, v in s1["state"][i].items():
            check(v, s2["state"][i][k])


def run_both(build, loss, X, y, steps=4, rtol=None, opt_name="SGD", dtype=np.float32, **opt):
    eager, compiled = pair(build, opt_name, dtype, **opt)
    # a loss that depends on the model (the L2 penalty) is given as loss(model)
    per_model = isinstance(loss, PerModel)
    step = compile_step(compiled[0], loss(compiled[0]) if per_model else loss, compiled[1])
    assert step.compiled, step.explain()
    eager_loss = loss(eager[0]) if per_model else loss
    for _ in range(steps):
        v1, out1 = eager_step(eager[0], eager_loss, eager[1], X, y)
        v2 = step(X, y)
        if rtol is None:
            assert v1 == v2
            np.testing.assert_array_equal(out1, step.output)
        else:
            np.testing.assert_allclose(v1, v2, rtol=rtol)
        assert_same(eager, compiled, rtol)
    assert step.compiled_calls == steps and step.eager_calls == 0
    return eager, compiled


class PerModel:
    def __init__(self, make):
        self.make = make

    def __call__(self, model):
        return self.make(model)


def mlp(activation, output="identity", sizes=(6, 8, 5, 4), dropout=0.0):
    return lambda dtype: nn.MLP(sizes, activation, output, rng=0, dropout=dropout, dtype=dtype)


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh", "leaky_relu", "identity"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_hidden_layer_bit_identical(activation, dtype):
    X, y = data(dtype=dtype)
    run_both(mlp(activation), losses.cross_entropy, X, y, dtype=dtype, lr=0.1, momentum=0.9)


def test_leaky_relu_slope_and_softplus():
    X, y = data()
    slope = lambda d: nn.Sequential(nn.Linear(6, 8, rng=0, dtype=d), nn.LeakyReLU(0.3),  # noqa: E731
                                    nn.Linear(8, 4, rng=1, dtype=d))  # fmt: skip
    run_both(slope, losses.cross_entropy, X, y)
    for dtype in (np.float32, np.float64):
        X, y = data(dtype=dtype)
        run_both(mlp("softplus"), losses.cross_entropy, X, y, rtol=TOLERANT[dtype], dtype=dtype)


@pytest.mark.parametrize("output,loss", [
    ("identity", losses.cross_entropy),
    ("log_softmax", losses.nll_loss),
    ("softmax", losses.mse),
    ("identity", losses.mae),
])  # fmt: skip
def test_every_loss_bit_identical(output, loss):
    X, labels = data()
    y = labels if loss in (losses.cross_entropy, losses.nll_loss) else np.eye(4)[labels]
    run_both(mlp("relu", output), loss, X, y, lr=0.05)


@pytest.mark.parametrize("kind", ["mse", "quadratic"])
def test_losses_of_labels_through_one_hot_rows(kind):
    X, y = data()  # the CLI's --loss mse and Nielsen's --loss quadratic
    run_both(mlp("sigmoid", "sigmoid"), label_loss(kind, 4), X, y, lr=3.0)
    model = mlp("sigmoid", "sigmoid")(np.float32)  # called, it is the eager expression
    out, t = model(tg.Tensor(X)), np.eye(4, dtype=np.float32)[y]
    expected = losses.mse(out, t) if kind == "mse" else 0.5 * losses.mse(out, t, "sum") / len(y)
    assert label_loss(kind, 4)(out, y).item() == expected.item()


def test_cross_entropy_with_probability_rows():
    X, labels = data()
    y = np.full((24, 4), 0.1) + 0.6 * np.eye(4)[labels]
    run_both(mlp("tanh"), losses.cross_entropy, X, y.astype(np.float32))


def test_binary_cross_entropy_and_with_logits():
    X, labels = data()
    y = (labels % 2).astype(np.float32)[:, None]
    run_both(mlp("relu", "sigmoid", (6, 8, 1)), losses.binary_cross_entropy, X, y)
    tol = TOLERANT[np.float32]
    run_both(mlp("relu", "identity", (6, 8, 1)), losses.binary_cross_entropy_with_logits, X, y,
             rtol=tol)  # fmt: skip


@pytest.mark.parametrize("name,config", CASES, ids=IDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_optimizer_bit_identical(name, config, dtype):
    X, y = data(dtype=dtype)
    run_both(mlp("relu"), losses.cross_entropy, X, y, steps=5, opt_name=name, dtype=dtype, **config)


def test_dropout_draws_the_same_stream():
    X, y = data()
    build = mlp("relu", dropout=0.4)
    eager, compiled = run_both(build, losses.cross_entropy, X, y, steps=5, lr=0.1, momentum=0.9)
    rngs = [m.layers[2].rng for m, _ in (eager, compiled)]
    assert rngs[0].random() == rngs[1].random()  # both generators advanced alike
    for m, _ in (eager, compiled):  # and eval mode switches it off in both
        m.eval()
    step = compile_step(compiled[0], losses.cross_entropy, compiled[1])
    v1, _ = eager_step(eager[0], losses.cross_entropy, eager[1], X, y)
    assert v1 == step(X, y)
    assert_same(eager, compiled)


def test_l2_penalty_matches_the_eager_sum():
    X, y = data()
    penalized = PerModel(lambda model: with_l2_penalty(losses.cross_entropy, model, 5.0, 100))
    for name, config in [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01))]:
        run_both(mlp("relu"), penalized, X, y, opt_name=name, **config)
    model = mlp("relu")(np.float32)  # called directly, it is the eager closure's value
    out = model(tg.Tensor(X))
    closure = losses.cross_entropy(out, y) + losses.l2_penalty(model, 5.0, 100)
    assert with_l2_penalty(losses.cross_entropy, model, 5.0, 100)(out, y).item() == closure.item()


def test_learning_rate_changed_between_steps_is_read():
    X, y = data()
    eager, compiled = pair(mlp("relu"), lr=0.1, momentum=0.9)
    step = compile_step(compiled[0], losses.cross_entropy, compiled[1])
    for lr in (0.1, 0.02, 0.3, 0.0):
        eager[1].lr = compiled[1].lr = lr
        eager_step(eager[0], losses.cross_entropy, eager[1], X, y)
        step(X, y)
        assert_same(eager, compiled)
    frozen = [p.data.copy() for p in compiled[0].parameters()]
    step(X, y)  # lr 0 now: the momentum buffer moves, the weights must not
    after = compiled[0].parameters()
    assert all(np.array_equal(a, p.data) for a, p in zip(frozen, after, strict=True))


def test_fit_compiled_equals_fit_eager_with_schedule_and_ragged_last_batch():
    X, y = data(n=50)
    runs = []
    for compile_ in (True, False):
        model = mlp("relu", dropout=0.2)(np.float32)
        opt = optim.Adam(model.parameters(), lr=0.01)
        schedule = training.LearningRateScheduler(optim.InverseTimeDecay(0.01, 0.5))
        trainer = training.Trainer(model, losses.cross_entropy, opt, [schedule], 0, compile_)
        history = trainer.fit((X, y), epochs=3, batch_size=16)  # batches of 16, 16, 16, 2
        runs.append((model, opt, history.as_dict(), trainer))
    assert runs[0][3].compiled_step.compiled_calls == 12
    assert runs[0][2] | {"epoch_time": 0} == runs[1][2] | {"epoch_time": 0}
    assert_same(runs[0][:2], runs[1][:2])


def test_checkpoint_resume_is_bit_exact(tmp_path):
    X, y = data(n=40)

    def train(epochs, resume=None, callbacks=()):
        model = mlp("relu")(np.float32)
        opt = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
        training.fit(model, losses.cross_entropy, opt, (X, y), epochs=epochs, batch_size=8,
                     rng=3, callbacks=list(callbacks), resume_from=resume)  # fmt: skip
        return model, opt

    whole = train(4)
    train(2, callbacks=[training.Checkpoint(tmp_path / "ckpt.npz")])
    resumed = train(4, resume=tmp_path / "ckpt.npz")
    assert_same(whole, resumed)


def test_state_dict_mid_training_is_the_optimizers_own():
    X, y = data()
    (m1, o1), (m2, o2) = pair(mlp("tanh"), "RMSProp", lr=0.01, momentum=0.5, centered=True)
    step = compile_step(m1, losses.cross_entropy, o1)
    for _ in range(3):
        step(X, y)
    m2.load_state_dict(m1.state_dict())
    o2.load_state_dict(o1.state_dict())
    for _ in range(3):  # one continues compiled, the other eagerly, from the copied state
        step(X, y)
        eager_step(m2, losses.cross_entropy, o2, X, y)
    assert_same((m1, o1), (m2, o2))
    o1.load_state_dict(o2.state_dict())  # loading replaces the state arrays: still used
    step(X, y)
    eager_step(m2, losses.cross_entropy, o2, X, y)
    assert_same((m1, o1), (m2, o2))


def test_integer_and_noncontiguous_inputs():
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 255, (24, 12))
    y = rng.integers(0, 4, 24)
    floats = wide.astype(np.float32)
    for X in (wide[:, ::2], floats[:, 1::2], np.asfortranarray(floats[:, 3:9])):
        assert not X.flags.c_contiguous  # strided or column-major, integer or float
        run_both(mlp("relu"), losses.cross_entropy, X, y, lr=1e-4)


def test_inputs_of_another_width_get_the_eager_error():
    X, y = data()
    (m1, o1), (m2, o2) = pair(mlp("relu"))
    step = compile_step(m1, losses.cross_entropy, o1, warn=False)
    step(X, y)
    wide = np.ones((24, 7), np.float32)  # the same number of rows, one feature too many
    with pytest.raises(ValueError) as compiled_error:
        step(wide, y)
    with pytest.raises(ValueError) as eager_error:
        eager_step(m2, losses.cross_entropy, o2, wide, y)
    assert str(compiled_error.value) == str(eager_error.value)


def test_float64_inputs_to_a_float32_model_run_eagerly_and_say_so():
    X, y = data(dtype=np.float64)
    (m1, o1), (m2, o2) = pair(mlp("relu"))
    step = compile_step(m1, losses.cross_entropy, o1)
    with pytest.warns(CompileWarning, match="float64 inputs to a float32 model"):
        v = step(X, y)
    assert v == eager_step(m2, losses.cross_entropy, o2, X, y)[0]
    assert step.eager_calls == 1 and "float64" in step.explain()


@pytest.mark.parametrize("what", ["loss", "layer", "optimizer", "frozen", "foreign", "shared"])
def test_what_cannot_be_compiled_runs_eagerly_with_a_reason(what):
    X, y = data()

    class Doubler(nn.Module):
        def forward(self, x):
            return x * 2

    class MySGD(optim.SGD):
        pass

    build = mlp("relu")
    if what == "layer":
        build = lambda d: nn.Sequential(nn.Linear(6, 4, rng=0, dtype=d), Doubler())  # noqa: E731
    if what == "shared":  # one Linear twice: its gradient is the sum of two
        def build(d):
            square = nn.Linear(6, 6, rng=0, dtype=d)
            return nn.Sequential(square, nn.Tanh(), square, nn.Linear(6, 4, rng=1, dtype=d))
    made = []
    for _ in range(2):
        model = build(np.float32)
        params = model.parameters()
        opt = (MySGD if what == "optimizer" else optim.SGD)(params, lr=0.1, momentum=0.9)
        if what == "frozen":
            params[0].requires_grad = False
        if what == "foreign":
            opt = optim.SGD([*params, nn.Parameter(np.zeros(3, np.float32))], lr=0.1)
        made.append((model, opt))
    loss = (lambda o, t: losses.cross_entropy(o, t) * 2) if what == "loss" else losses.cross_entropy
    step = compile_step(made[1][0], loss, made[1][1], warn=False)
    assert not step.compiled and step.reason
    assert "not compiled" in step.explain()
    with pytest.warns(CompileWarning, match="runs eagerly"):
        compile_step(made[1][0], loss, made[1][1])
    for _ in range(2):
        assert eager_step(*made[0][:1], loss, made[0][1], X, y)[0] == step(X, y)
    assert step.eager_calls == 2
    assert_same(*made)


def test_bad_targets_give_the_eager_error_and_change_nothing():
    X, y = data()
    (m1, o1), (m2, o2) = pair(mlp("relu"))
    step = compile_step(m1, losses.cross_entropy, o1, warn=False)
    step(X, y)
    eager_step(m2, losses.cross_entropy, o2, X, y)
    for bad in (y + 10, y[:5], np.full(24, 1.5)):
        with pytest.raises((ValueError, TypeError)) as compiled_error:
            step(X, bad)
        with pytest.raises(type(compiled_error.value)) as eager_error:
            eager_step(m2, losses.cross_entropy, o2, X, bad)
        assert str(compiled_error.value) == str(eager_error.value)
    assert_same((m1, o1), (m2, o2))


@pytest.mark.parametrize("kind", ["mse", "quadratic"])
def test_label_loss_refuses_labels_outside_its_classes_as_cross_entropy_does(kind):
    """A label of -1 picked the last one-hot row (class K-1) and trained on it silently."""
    X, y = data()
    (m1, o1), (m2, o2) = pair(mlp("sigmoid", "sigmoid"))
    before = [p.data.copy() for p in m1.parameters()]
    step = compile_step(m1, label_loss(kind, 4), o1, warn=False)
    assert step.compiled
    out = tg.Tensor(np.zeros((24, 4), np.float32))
    for bad in (np.where(y == 3, -1, y), y + 1, np.full(24, 1.5)):
        with pytest.raises((ValueError, TypeError)) as compiled_error:
            step(X, bad)
        with pytest.raises(type(compiled_error.value)) as eager_error:
            eager_step(m2, label_loss(kind, 4), o2, X, bad)
        with pytest.raises(type(compiled_error.value)) as cross_entropy_error:
            losses.cross_entropy(out, bad)
        assert str(compiled_error.value) == str(eager_error.value)
        assert str(eager_error.value) == str(cross_entropy_error.value)
    for p, q in zip(m1.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, q)  # refused before any update


def test_label_loss_refusals_name_the_range():
    with pytest.raises(ValueError, match=r"0\.\.3 for 4 classes, got values from -1 to 2"):
        label_loss("mse", 4)(tg.Tensor(np.zeros((3, 4), np.float32)), np.array([0, -1, 2]))
    with pytest.raises(ValueError, match=r"2 class targets for 3 rows"):
        label_loss("mse", 4)(tg.Tensor(np.zeros((3, 4), np.float32)), np.array([0, 1]))


def test_non_finite_loss_is_refused_as_eagerly():
    X, y = data()
    (m1, o1), (m2, o2) = pair(mlp("relu"))
    for m in (m1, m2):
        m.layers[0].weight.data[0, 0] = np.inf
    step = compile_step(m1, losses.cross_entropy, o1, warn=False)
    with pytest.raises(ValueError) as compiled_error:
        step(X, y)
    with pytest.raises(ValueError) as eager_error:
        eager_step(m2, losses.cross_entropy, o2, X, y)
    assert str(compiled_error.value) == str(eager_error.value)


def test_a_replaced_parameter_is_planned_again():
    X, y = data()
    eager, compiled = pair(mlp("relu"), lr=0.1, momentum=0.9)
    step = compile_step(compiled[0], losses.cross_entropy, compiled[1])
    step(X, y)
    eager_step(eager[0], losses.cross_entropy, eager[1], X, y)
    for m, o in (eager, compiled):  # a new output layer, and an optimizer over it
        m.layers = (*m.layers[:2], nn.Linear(8, 5, rng=7), *m.layers[3:])
        o.params[2:4] = []
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the optimizer lost parameters: eager, with a reason
        with pytest.raises(CompileWarning, match="parameters"):
            step(X, y)


def test_fit_uses_the_compiled_step_by_default_and_compile_false_does_not():
    X, y = data()
    model = mlp("relu")(np.float32)
    opt = optim.SGD(model.parameters(), lr=0.1)
    trainer = training.Trainer(model, losses.cross_entropy, opt)
    trainer.fit((X, y), epochs=1, batch_size=8)
    assert trainer.compiled_step.compiled and trainer.compiled_step.compiled_calls == 3
    assert training.Trainer(model, losses.cross_entropy, opt, compile=False).compiled_step is None
    assert "batch sizes: [8]" in trainer.compiled_step.explain()


@pytest.mark.parametrize("flush", [True, False])
def test_subnormals_are_flushed_during_the_compiled_update_only(flush):
    from tracegrad.compile import fpmode

    if flush and not fpmode.flush_supported():
        pytest.skip("this platform cannot flush subnormals (x86-64 or ARM64 Linux only)")
    X = np.array([[0.0, 1.0], [0.0, 2.0]], np.float32)  # column 0 off: W[:, 0] gets g = 0
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    opt = optim.SGD(model.parameters(), lr=1.0, momentum=0.5)
    step = compile_step(model, losses.cross_entropy, opt)
    step(X, np.array([0, 1]))
    buffer = opt.state[0]["momentum_buffer"]
    buffer[:, 0] = 2e-38  # normal; halved by the next update it becomes subnormal
    saved = fpmode.flush_denormal_enabled()
    fpmode.set_flush_denormal(flush)
    try:
        step(X, np.array([0, 1]))
    finally:
        fpmode.set_flush_denormal(saved)
    expected = 0.0 if flush else np.float32(2e-38) * np.float32(0.5)
    np.testing.assert_array_equal(buffer[:, 0], [expected, expected])
    assert np.float32(2e-38) * np.float32(0.5) > 0  # and IEEE arithmetic outside the step


def test_a_quadratic_cost_written_as_a_lambda_is_told_about_label_loss():
    # Nielsen's cost of labels, written the obvious way, cannot be read by the compiler;
    # the warning must name the form that can, not only the L2 penalty's.
    model = mlp("sigmoid", "sigmoid")(np.float32)
    eye = np.eye(4, dtype=np.float32)

    def quadratic(o, t):
        return 0.5 * losses.mse(o, eye[t], "sum") / len(t)

    opt = optim.SGD(model.parameters(), lr=3.0)
    with pytest.warns(CompileWarning, match=r"label_loss\('quadratic', n_classes\)"):
        step = compile_step(model, quadratic, opt)
    assert not step.compiled
    assert compile_step(model, label_loss("quadratic", 4), opt).compiled
