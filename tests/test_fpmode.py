"""The subnormal flush: the block flushes and restores the mode (the compiled training step
uses it; the eager optimizers run in plain IEEE arithmetic)."""

import numpy as np
import pytest

from tracegrad import fpmode, nn, optim

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


def test_the_eager_optimizer_step_keeps_ieee_arithmetic():
    """Flushing lives behind the compiled step: Optimizer.step is the plain update."""
    buffer = decaying_buffer(True)
    assert np.all(buffer.view(np.uint32) != 0)  # subnormals kept, as IEEE arithmetic does
    assert np.all(np.abs(buffer) < np.finfo(np.float32).tiny)
    assert ieee_mode()


def test_unsupported_platforms_run_in_ieee_mode(monkeypatch):
    monkeypatch.setattr(fpmode, "_api", False)
    assert fpmode.flush_supported() is False
    assert fpmode.begin_flush() is None
    with fpmode.flushing_denormals():
        assert ieee_mode()
