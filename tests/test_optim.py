"""Optimizers against hand formulas and torch.optim; schedules; the SciPy bridge."""

import contextlib
import copy

import numpy as np
import pytest
import scipy.optimize

from optim_cases import CASES, IDS
from tracegrad import losses, nn, optim


class Param:
    """Stand-in for tracegrad.nn.Parameter: ``.data`` and ``.grad`` (plus the ``shape``
    and ``size`` that ``nn.vector_to_parameters`` reads, for ``minimize``)."""

    def __init__(self, data):
        self.data = np.array(data)
        self.grad = None

    shape = property(lambda self: self.data.shape)
    size = property(lambda self: self.data.size)


PARAM_CLASSES = [Param, nn.Parameter]


SHAPES = [(3, 4), (4,), (2, 3, 2)]


def make_params(dtype, cls=Param):
    rng = np.random.default_rng(0)
    return [cls(rng.standard_normal(s).astype(dtype)) for s in SHAPES]


def quadratic_grad(w, k, t):
    """Gradient of a quadratic centred at a point that moves with step ``t``; its size
    alternates so that AMSGrad's running maximum matters."""
    rng = np.random.default_rng(100 * t + k)
    scale = 3.0 if t % 2 else 0.3
    return (1.5 * w - rng.standard_normal(w.shape) * scale).astype(w.dtype)


def run(opt, params, steps, start=0):
    for t in range(start, start + steps):
        for k, p in enumerate(params):
            p.grad = quadratic_grad(p.data, k, t)
        opt.step()


@pytest.mark.parametrize("cls", PARAM_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-9), (np.float32, 1e-5)])
@pytest.mark.parametrize("name, config", CASES, ids=IDS)
def test_matches_torch(name, config, dtype, rtol, cls):
    torch = pytest.importorskip("torch")
    params = make_params(dtype, cls)
    theirs = [torch.tensor(p.data.copy(), requires_grad=True) for p in params]
    torch_cls = getattr(torch.optim, "RMSprop" if name == "RMSProp" else name)
    ours_opt = getattr(optim, name)(params, **config)
    their_opt = torch_cls(theirs, foreach=False, **config)
    for t in range(5):
        for k, (p, q) in enumerate(zip(params, theirs, strict=True)):
            p.grad = quadratic_grad(p.data, k, t)
            q.grad = torch.from_numpy(quadratic_grad(q.detach().numpy(), k, t))
        ours_opt.step()
        their_opt.step()
    for p, q in zip(params, theirs, strict=True):
        assert p.data.dtype == dtype
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=rtol, atol=rtol)


def test_amsgrad_cases_exercise_the_running_maximum():
    results = []
    for amsgrad in (False, True):
        params = make_params(np.float64)
        run(optim.Adam(params, lr=0.01, betas=(0.9, 0.5), amsgrad=amsgrad), params, 5)
        results.append(params[0].data)
    assert not np.allclose(*results, rtol=1e-6, atol=0)


def test_sgd_plain_step_is_the_hand_formula():
    w0, g = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.25, -1.0])
    p = Param(w0)
    p.grad = g
    optim.SGD([p], lr=0.1).step()
    np.testing.assert_array_equal(p.data, w0 - 0.1 * g)


def test_sgd_momentum_two_steps_by_hand():
    p = Param([1.0, 2.0])
    opt = optim.SGD([p], lr=0.5, momentum=0.9, dampening=0.2)
    g1, g2 = np.array([1.0, -1.0]), np.array([2.0, 0.0])
    p.grad = g1
    opt.step()  # the buffer starts at g1, undamped
    p.grad = g2
    opt.step()
    b2 = 0.9 * g1 + 0.8 * g2
    np.testing.assert_allclose(p.data, np.array([1.0, 2.0]) - 0.5 * g1 - 0.5 * b2)


@pytest.mark.parametrize("name, config", CASES, ids=IDS)
def test_state_dict_round_trip_continues_identically(name, config):
    cls = getattr(optim, name)
    a_params = make_params(np.float64)
    a = cls(a_params, **config)
    run(a, a_params, 3)
    b_params = copy.deepcopy(a_params)
    b = cls(b_params, lr=123.0)
    saved = a.state_dict()
    b.load_state_dict(saved)
    assert b.hyperparameters() == a.hyperparameters()
    run(a, a_params, 2, start=3)
    run(b, b_params, 2, start=3)
    for p, q in zip(a_params, b_params, strict=True):
        np.testing.assert_array_equal(p.data, q.data)
    # the snapshot and the loaded state are copies, never views of live buffers
    for i, entry in saved["state"].items():
        assert entry["step"] == 3
        for key, value in entry.items():
            if isinstance(value, np.ndarray):
                assert not np.shares_memory(value, a.state[i][key])
                assert not np.shares_memory(value, b.state[i][key])


def test_load_state_dict_rejects_mismatches():
    params = make_params(np.float64)
    opt = optim.Adam(params, amsgrad=True)
    run(opt, params, 1)
    good = opt.state_dict()
    with pytest.raises(ValueError, match="saved by Adam"):
        optim.AdamW(params).load_state_dict(good)
    with pytest.raises(ValueError, match="missing keys"):
        opt.load_state_dict({"state": {}})
    bad = copy.deepcopy(good)
    bad["state"][1]["m"] = np.zeros(5)
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict(bad)
    bad = copy.deepcopy(good)
    del bad["state"][0]["v_max"]
    with pytest.raises(ValueError, match="keys"):
        opt.load_state_dict(bad)
    with pytest.raises(ValueError, match="this optimizer has 1"):
        optim.Adam(params[:1], amsgrad=True).load_state_dict(good)
    # a failed load leaves the optimizer as it was
    fresh = optim.Adam(params, lr=0.5)
    bad["hyperparameters"]["lr"] = 0.1
    with pytest.raises(ValueError):
        fresh.load_state_dict(bad)
    assert fresh.lr == 0.5 and fresh.amsgrad is False


@pytest.mark.parametrize("cls", PARAM_CLASSES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name, config", CASES, ids=IDS)
def test_updates_in_place_and_keep_float32(name, config, cls):
    params = make_params(np.float32, cls)
    arrays = [p.data for p in params]
    opt = getattr(optim, name)(params, **config)
    run(opt, params, 3)
    for p, a in zip(params, arrays, strict=True):
        assert p.data is a and p.data.dtype == np.float32
    for state in opt.state.values():
        assert all(v.dtype == np.float32 for v in state.values() if isinstance(v, np.ndarray))


def test_none_grad_is_skipped_and_zero_grad_clears():
    params = make_params(np.float64)
    before = params[1].data.copy()
    opt = optim.Adam(params, lr=0.1)
    params[0].grad = np.ones_like(params[0].data)
    opt.step()
    np.testing.assert_array_equal(params[1].data, before)
    assert set(opt.state) == {0}
    opt.zero_grad()
    assert all(p.grad is None for p in params)


def test_lr_is_an_assignable_attribute():
    p = Param([0.0])
    opt = optim.SGD([p], lr=1.0)
    opt.lr = 0.25
    p.grad = np.array([1.0])
    opt.step()
    assert p.data[0] == -0.25
    with pytest.raises(ValueError, match="lr=-1"):
        opt.lr = -1


@pytest.mark.parametrize(
    "name, config, match",
    [
        ("SGD", dict(lr=-0.1), "lr=-0.1"),
        ("SGD", dict(momentum=1.0), "momentum=1.0"),
        ("SGD", dict(nesterov=True), "nesterov"),
        ("SGD", dict(momentum=0.9, dampening=0.1, nesterov=True), "dampening"),
        ("Adam", dict(betas=(0.9, 1.0)), "betas"),
        ("Adam", dict(betas=0.9), "betas"),
        ("Adam", dict(eps=0.0), "eps=0.0"),
        ("AdamW", dict(weight_decay=-1), "weight_decay=-1"),
        ("RMSProp", dict(alpha=1.5), "alpha=1.5"),
        ("Adagrad", dict(lr_decay=float("nan")), "lr_decay=nan"),
    ],
)
def test_invalid_hyperparameters_are_named(name, config, match):
    with pytest.raises(ValueError, match=match):
        getattr(optim, name)(make_params(np.float64), **config)


def test_invalid_parameter_lists():
    with pytest.raises(ValueError, match="empty"):
        optim.SGD([])
    p = Param([1.0])
    with pytest.raises(TypeError, match="single"):
        optim.SGD(p)
    with pytest.raises(ValueError, match="twice"):
        optim.SGD([p, p])
    with pytest.raises(TypeError, match="floating"):
        optim.SGD([Param([1, 2])])


def test_schedule_values():
    assert optim.InverseTimeDecay(1.0, 0.5)(2) == 0.5
    assert optim.InverseTimeDecay(0.2, 1.0)(0) == 0.2
    step = optim.StepDecay(1.0, step_size=3, gamma=0.5)
    assert [step(k) for k in range(7)] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]
    assert optim.ExponentialDecay(2.0, 0.5)(3) == 0.25
    cos = optim.CosineDecay(1.0, total_steps=4, lr_min=0.2)
    assert cos(0) == 1.0 and cos(4) == pytest.approx(0.2) and cos(10) == pytest.approx(0.2)
    assert cos(2) == pytest.approx(0.6)  # halfway down


def test_the_notes_decay_recurrence_is_exponential_decay():
    # The notes write lr_{k+1} = lr_k / (1 + decay): geometric, not inverse-time.
    lr0, decay, lr = 0.1, 0.05, 0.1
    notes = []
    for _ in range(30):
        notes.append(lr)
        lr = lr / (1 + decay)
    exponential = optim.ExponentialDecay(lr0, 1 / (1 + decay))
    assert [exponential(k) for k in range(30)] == pytest.approx(notes, rel=1e-12)
    inverse_time = optim.InverseTimeDecay(lr0, decay)
    assert inverse_time(29) > notes[29] * 1.5  # 1 / (1 + d k) decays far more slowly


def test_schedule_apply_and_config():
    opt = optim.SGD([Param([0.0])], lr=1.0)
    schedule = optim.InverseTimeDecay(0.1, decay=1.0)
    assert schedule.apply(opt, 4) == pytest.approx(0.02) and opt.lr == pytest.approx(0.02)
    for s in [schedule, optim.StepDecay(1.0, 2), optim.CosineDecay(1.0, 10, 0.1)]:
        config = s.get_config()
        rebuilt = type(s).from_config(config)
        assert rebuilt.get_config() == config and rebuilt(3) == s(3)


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.InverseTimeDecay(-1.0, 0.1),
        lambda: optim.InverseTimeDecay(1.0, -0.1),
        lambda: optim.StepDecay(1.0, 0),
        lambda: optim.StepDecay(1.0, 2.5),
        lambda: optim.ExponentialDecay(1.0, 0.0),
        lambda: optim.CosineDecay(1.0, 10, lr_min=2.0),
        lambda: optim.ExponentialDecay(1.0, 0.9)(-1),
    ],
)
def test_schedule_validation(make):
    with pytest.raises(ValueError, match="invalid"):
        make()


class FakeLoss:
    """A scalar 'tensor' whose backward writes known gradients into the parameters."""

    def __init__(self, value, grads):
        self.value, self.grads = value, grads

    def item(self):
        return self.value

    def backward(self):
        for p, g in self.grads:
            p.grad = g


class QuadraticModel:
    """J = 1/2 (w - c)^T H (w - c) + sum((B - D)^2), minimised at w = c, B = D."""

    H = np.array([[4.0, 1.0, 0.0], [1.0, 3.0, 0.5], [0.0, 0.5, 2.0]])
    c = np.array([1.0, -2.0, 0.5])
    D = np.array([[0.25, -0.5], [1.0, 2.0]])

    def __init__(self, dtype_b=np.float64):
        self.w = Param(np.zeros(3))
        self.B = Param(np.zeros((2, 2), dtype=dtype_b))

    def parameters(self):
        return [self.w, self.B]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = None

    def loss(self):
        r, E = self.w.data - self.c, self.B.data - self.D
        value = 0.5 * r @ self.H @ r + np.sum(E**2)
        return FakeLoss(value, [(self.w, self.H @ r), (self.B, 2 * E)])


@pytest.mark.parametrize("method", optim.SUPPORTED_METHODS)
def test_minimize_reaches_quadratic_minimum(method):
    model = QuadraticModel()
    w_array = model.w.data
    result = optim.minimize(model, model.loss, method=method, tol=1e-12)
    assert result.success
    assert model.w.data is w_array  # written back in place
    np.testing.assert_allclose(model.w.data, model.c, atol=1e-6)
    np.testing.assert_allclose(model.B.data, model.D, atol=1e-6)
    assert result.fun == pytest.approx(0.0, abs=1e-10)


def test_minimize_one_argument_loss_callback_and_dtype():
    model = QuadraticModel(dtype_b=np.float32)
    seen = []  # (the iterate SciPy reports, the parameters the model holds then)
    result = optim.minimize(
        model,
        lambda m: m.loss(),
        callback=lambda r: seen.append((r.x[:3].copy(), model.w.data.copy())),
    )
    assert len(seen) == result.nit
    for x, w in seen:
        np.testing.assert_array_equal(x, w)
    assert model.B.data.dtype == np.float32
    np.testing.assert_allclose(model.B.data, model.D, atol=1e-5)
    assert all(p.grad is None for p in model.parameters())


def test_minimize_rejects_unknown_method():
    with pytest.raises(ValueError, match="L-BFGS-B"):
        optim.minimize(QuadraticModel(), lambda: None, method="Nelder-Mead")


def test_minimize_trains_a_real_logistic_regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = (X @ [1.5, -2.0] + 0.3 + rng.standard_normal(40) > 0).astype(np.float64)
    model = nn.Linear(2, 1, rng=rng, dtype=np.float64)

    def cost(m):  # regularised, so the minimum is unique even if the data separate
        z = m(X).reshape(-1)
        return losses.binary_cross_entropy_with_logits(z, y) + losses.l2_penalty(m, 1.0, 40)

    result = optim.minimize(model, cost, tol=1e-12, maxiter=200)
    assert result.success

    def numpy_cost(theta):  # the same cost written out in NumPy, with its gradient
        w, b = theta[:2], theta[2]
        z = X @ w + b
        J = np.mean(np.logaddexp(0, z) - z * y) + 0.5 / 40 * w @ w
        dz = (1 / (1 + np.exp(-z)) - y) / 40
        return J, np.append(X.T @ dz + w / 40, dz.sum())

    reference = scipy.optimize.minimize(numpy_cost, np.zeros(3), jac=True, tol=1e-12).x
    found = np.append(model.weight.data.ravel(), model.bias.data)
    np.testing.assert_allclose(found, reference, atol=1e-6)


def test_minimize_gives_scipy_one_blas_thread_and_the_model_the_callers(monkeypatch):
    # SciPy's step works on tiny arrays (a thread pool only slows it); the model's
    # forward and backward may be large and keep the caller's threads, library by
    # library (NumPy's and SciPy's OpenBLAS share a prefix, so they are told apart by file).
    threadpoolctl = pytest.importorskip("threadpoolctl")
    controller = threadpoolctl.ThreadpoolController()

    def blas_threads():
        return {lib["filepath"]: lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                if lib["user_api"] == "blas"}  # fmt: skip

    libs = sorted(blas_threads())
    if not libs:
        pytest.skip("no BLAS that threadpoolctl can see")
    seen_in_scipy = []
    real_minimize = scipy.optimize.minimize

    def recording_minimize(*args, **kwargs):
        seen_in_scipy.append(blas_threads())
        return real_minimize(*args, **kwargs)

    monkeypatch.setattr(scipy.optimize, "minimize", recording_minimize)
    with contextlib.ExitStack() as stack:
        for i, path in enumerate(libs):  # a different count per library where there are two
            stack.enter_context(controller.select(filepath=path).limit(limits=2 - i % 2))
        outside = blas_threads()
        if 2 not in outside.values():
            pytest.skip(f"OpenBLAS will not run 2 threads here: {outside}")
        seen_in_loss, seen_in_callback = [], []
        model = QuadraticModel()

        def loss():
            seen_in_loss.append(blas_threads())
            return model.loss()

        optim.minimize(model, loss, callback=lambda r: seen_in_callback.append(blas_threads()))
        assert blas_threads() == outside  # restored afterwards
    assert seen_in_scipy == [dict.fromkeys(libs, 1)]
    assert seen_in_loss and all(s == outside for s in seen_in_loss)
    assert seen_in_callback and all(s == outside for s in seen_in_callback)
