"""Subnormals are flushed to zero inside optimizer updates only, and nothing else changes."""

import numpy as np
import pytest

from tracegrad import fpmode, losses, nn, optim
from tracegrad.tensor import Tensor

SUBNORMAL = np.float32(1e-39)  # below float32's smallest normal number, 1.18e-38

needs_flush = pytest.mark.skipif(
    not fpmode.flush_supported(),
    reason="this platform has no fegetmode/fesetmode (tracegrad flushes on x86-64 and "
    "ARM64 Linux with glibc)",
)


def ieee_mode() -> bool:
    """Whether arithmetic right now keeps subnormal results (it does outside flushing)."""
    # Compare bit patterns: with DAZ on, even == treats a subnormal as zero.
    a = np.full(16, SUBNORMAL)
    return bool(np.all((a * np.float32(1.0)).view(np.uint32) == a.view(np.uint32)))


@pytest.fixture(autouse=True)
def flushing_on():
    previous = fpmode.flush_denormal_enabled()
    fpmode.set_flush_denormal(True)
    yield
    fpmode.set_flush_denormal(previous)


@needs_flush
def test_the_block_flushes_and_the_mode_comes_back():
    assert ieee_mode()
    with fpmode.flushing_denormals():
        assert not ieee_mode()
        assert np.all((np.full(8, SUBNORMAL) * np.float32(1.0)).view(np.uint32) == 0)
    assert ieee_mode()


@needs_flush
def test_the_mode_comes_back_after_an_exception():
    with pytest.raises(KeyError), fpmode.flushing_denormals():
        raise KeyError("boom")
    assert ieee_mode()


@needs_flush
def test_switched_off_the_block_leaves_ieee_arithmetic():
    assert fpmode.set_flush_denormal(False) is True  # supported, though off
    with fpmode.flushing_denormals():
        assert ieee_mode()


def decaying_buffer(flush: bool) -> np.ndarray:
    """A momentum buffer fed zero gradients after one tiny one, as for a rarely lit pixel."""
    fpmode.set_flush_denormal(flush)
    p = nn.Parameter(np.ones(64, dtype=np.float32))
    opt = optim.SGD([p], lr=0.1, momentum=0.5)
    p.grad = np.full(64, 1e-36, dtype=np.float32)
    opt.step()
    for _ in range(20):  # 1e-36 * 0.5**20 = 1e-42: deep in the subnormal range
        p.grad = np.zeros(64, dtype=np.float32)
        opt.step()
    return opt.state[0]["momentum_buffer"]


@needs_flush
def test_an_optimizer_step_flushes_its_buffers():
    flushed, ieee = decaying_buffer(True), decaying_buffer(False)
    assert np.all(flushed.view(np.uint32) == 0)
    assert np.all(ieee.view(np.uint32) != 0)  # IEEE arithmetic kept the subnormals
    assert np.all(np.abs(ieee) < np.finfo(np.float32).tiny)
    assert ieee_mode()  # and the step put the mode back


@needs_flush
def test_the_step_restores_the_mode_when_the_update_fails():
    p = nn.Parameter(np.ones(3, dtype=np.float32))
    opt = optim.SGD([p], lr=0.1)
    p.grad = np.ones(4, dtype=np.float32)
    with pytest.raises(ValueError, match="shape"):
        opt.step()
    assert ieee_mode()


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSProp", "Adagrad"])
def test_normal_range_training_is_bit_identical_with_and_without_flushing(name):
    def train(flush):
        fpmode.set_flush_denormal(flush)
        rng = np.random.default_rng(0)
        model = nn.MLP([5, 16, 3], activation="relu", rng=1)
        kw = dict(lr=0.05, momentum=0.9) if name == "SGD" else dict(lr=0.01)
        opt = getattr(optim, name)(model.parameters(), **kw)
        for _ in range(30):
            X = rng.normal(size=(8, 5)).astype(np.float32)
            loss = losses.cross_entropy(model(Tensor(X)), rng.integers(0, 3, size=8))
            opt.zero_grad()
            loss.backward()
            opt.step()
        return [p.data.copy() for p in model.parameters()]

    for a, b in zip(train(True), train(False), strict=True):
        assert a.tobytes() == b.tobytes()


def test_unsupported_platforms_run_in_ieee_mode(monkeypatch):
    monkeypatch.setattr(fpmode, "_api", False)
    assert fpmode.flush_supported() is False
    assert fpmode.begin_flush() is None
    with fpmode.flushing_denormals():
        assert ieee_mode()
    p = nn.Parameter(np.ones(2, dtype=np.float32))
    opt = optim.SGD([p], lr=0.5)
    p.grad = np.ones(2, dtype=np.float32)
    opt.step()
    np.testing.assert_array_equal(p.data, [0.5, 0.5])
