"""The BLAS update path of the optimizers: same results as the NumPy path and as PyTorch."""

import numpy as np
import pytest

from optim_cases import CASES as ALL_CASES
from optim_cases import IDS as ALL_IDS
from tracegrad import fpmode, optim
from tracegrad.optim import SGD, blas1

LARGE = (120, 70)  # 8,400 elements: above blas1.MIN_SIZE, so updates go through BLAS

needs_blas = pytest.mark.skipif(
    not blas1._get(np.dtype(np.float32)),
    reason="NumPy's BLAS here is not an OpenBLAS with cblas_?axpby (another BLAS or platform)",
)

# The optimizers whose updates of large arrays go through BLAS.
CASES = [case for case in ALL_CASES if case[0] in ("SGD", "Adam", "AdamW")]
IDS = [i for case, i in zip(ALL_CASES, ALL_IDS, strict=True) if case in CASES]


class Param:
    def __init__(self, data):
        self.data = data
        self.grad = None


def train(name, config, dtype, use_blas, monkeypatch, steps=6):
    """Train one large parameter; return its values and how many BLAS calls were made."""
    calls = []
    for routine in ("axpy", "axpby"):
        original = getattr(blas1, routine)

        def counted(*args, original=original):
            done = original(*args)
            calls.append(done)
            return done

        monkeypatch.setattr(blas1, routine, counted)
    monkeypatch.setattr(blas1, "enabled", use_blas)
    rng = np.random.default_rng(0)
    p = Param(rng.standard_normal(LARGE).astype(dtype))
    opt = getattr(optim, name)([p], **config)
    for _ in range(steps):
        p.grad = (1.5 * p.data - rng.standard_normal(LARGE)).astype(dtype)
        opt.step()
    monkeypatch.undo()
    return p.data, sum(calls)


@needs_blas
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("name, config", CASES, ids=IDS)
def test_blas_path_matches_numpy_path(name, config, dtype, rtol, monkeypatch):
    (fast, blas_calls), (plain, no_calls) = (
        train(name, config, dtype, True, monkeypatch),
        train(name, config, dtype, False, monkeypatch),
    )
    assert blas_calls >= 6 and no_calls == 0  # the two runs really took different paths
    assert fast.dtype == dtype
    assert not np.shares_memory(fast, plain)
    np.testing.assert_allclose(fast, plain, rtol=rtol, atol=rtol)


@needs_blas
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-5)])
@pytest.mark.parametrize("name, config", CASES, ids=IDS)
def test_blas_path_matches_torch(name, config, dtype, rtol):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    ours = Param(rng.standard_normal(LARGE).astype(dtype))
    theirs = torch.tensor(ours.data.copy(), requires_grad=True)
    opt = getattr(optim, name)([ours], **config)
    their_opt = getattr(torch.optim, name)([theirs], foreach=False, **config)
    for _ in range(6):
        g = (1.5 * ours.data - rng.standard_normal(LARGE)).astype(dtype)
        ours.grad, theirs.grad = g, torch.from_numpy(g.copy())  # the same gradient for both
        opt.step()
        their_opt.step()
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=rtol)


@needs_blas
def test_routines_compute_axpy_and_axpby():
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        x = rng.standard_normal(blas1.MIN_SIZE * 2).astype(dtype)
        y = rng.standard_normal(blas1.MIN_SIZE * 2).astype(dtype)
        want = 0.5 * x + 0.25 * y  # products by powers of two are exact
        assert blas1.axpby(0.5, x, 0.25, y)
        np.testing.assert_array_equal(y, want)
        assert blas1.axpy(-1.0, x, y)
        np.testing.assert_allclose(y, want - x, rtol=1e-6)


def test_small_strided_mixed_or_aliased_arrays_fall_back_to_numpy():
    n = blas1.MIN_SIZE * 2
    x, y = np.ones(n, np.float32), np.ones(n, np.float32)
    before = y.copy()
    assert not blas1.axpy(1.0, x[:10], y[:10])  # small
    assert not blas1.axpy(1.0, x[::2], y[: n // 2])  # strided
    assert not blas1.axpy(1.0, x.astype(np.float64), y)  # mixed dtypes
    assert not blas1.axpy(1.0, y, y)  # aliased
    assert not blas1.axpy(1.0, y[1:], y[:-1])  # overlapping
    read_only = np.ones(n, np.float32)
    read_only.flags.writeable = False
    assert not blas1.axpy(1.0, x, read_only)
    np.testing.assert_array_equal(y, before)


@needs_blas
def test_column_major_arrays_use_blas_and_mixed_layouts_fall_back():
    """Linear's weights are column-major: one pass over memory is still element by element."""
    rng = np.random.default_rng(2)
    x = np.asfortranarray(rng.standard_normal(LARGE).astype(np.float32))
    y = np.asfortranarray(rng.standard_normal(LARGE).astype(np.float32))
    want = 0.5 * x + 0.25 * y
    assert blas1.axpby(0.5, x, 0.25, y)
    np.testing.assert_array_equal(y, want)
    assert y.flags.f_contiguous
    row_major = np.ascontiguousarray(y)
    assert not blas1.axpy(1.0, x, row_major)  # same shape, other layout: NumPy does it
    np.testing.assert_array_equal(row_major, want)


@needs_blas
@pytest.mark.parametrize(
    "name, config",
    [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01, betas=(0.9, 0.5), amsgrad=True))],
    ids=["SGD-momentum", "Adam-amsgrad"],
)
def test_column_major_parameters_train_like_row_major_ones(name, config, monkeypatch):
    results = {}
    for order in "CF":
        calls = []

        def counted(*args, calls=calls, original=blas1.axpy):
            calls.append(original(*args))
            return calls[-1]

        monkeypatch.setattr(blas1, "axpy", counted)
        rng = np.random.default_rng(0)
        p = Param(np.asarray(rng.standard_normal(LARGE), order=order))
        opt = getattr(optim, name)([p], **config)
        for _ in range(4):
            p.grad = np.asarray(1.5 * p.data - rng.standard_normal(LARGE), order=order)
            opt.step()
        monkeypatch.undo()
        assert sum(calls) == 4 and p.data.flags[f"{order}_CONTIGUOUS"]
        results[order] = p.data
    np.testing.assert_array_equal(results["C"], results["F"])


def test_disabled_blas_is_never_called(monkeypatch):
    monkeypatch.setattr(blas1, "enabled", False)
    n = blas1.MIN_SIZE * 2
    assert not blas1.axpby(1.0, np.ones(n), 0.5, np.ones(n))


def test_wrong_routines_are_rejected():
    def wrong_axpby(n, a, x, incx, b, y, incy):  # does nothing: y stays as it was
        pass

    def axpy(n, a, x, incx, y, incy):
        pass

    assert not blas1._works({np.dtype(np.float32): (axpy, wrong_axpby)})


@needs_blas
@pytest.mark.skipif(not fpmode.flush_supported(), reason="no fegetmode/fesetmode here")
def test_large_momentum_buffers_are_flushed_in_every_blas_thread():
    previous = fpmode.flush_denormal_enabled()
    fpmode.set_flush_denormal(True)
    try:
        p = Param(np.ones(50 * blas1.MIN_SIZE, dtype=np.float32))  # big enough for threads
        opt = SGD([p], lr=0.1, momentum=0.5)
        p.grad = np.full(p.data.shape, 1e-36, dtype=np.float32)
        opt.step()
        for _ in range(20):
            p.grad = np.zeros_like(p.data)
            opt.step()
    finally:
        fpmode.set_flush_denormal(previous)
    assert np.all(opt.state[0]["momentum_buffer"].view(np.uint32) == 0)
