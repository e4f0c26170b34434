"""Values and gradients of every op against PyTorch (float64 ≤ 1e-9, float32 ≤ 1e-5 relative)."""

import numpy as np
import pytest

import tracegrad as tg
from op_table import ENTRIES, make_inputs

torch = pytest.importorskip("torch")

TOLERANCE = {np.float64: 1e-9, np.float32: 1e-5}


def _rel_close(ours, theirs, rtol, what):
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs torch {theirs.shape}"
    scale = max(np.abs(theirs).max(initial=0.0), 1e-3)
    err = np.abs(ours - theirs).max(initial=0.0) / scale
    assert err <= rtol, f"{what}: relative error {err:.2e} > {rtol:g}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize(
    "entry",
    [e for e in ENTRIES if e[2] is not None],
    ids=[f"{e[0]}-{i}" for i, e in enumerate(ENTRIES) if e[2] is not None],
)
def test_op_matches_torch(entry, dtype):
    name, fn, torch_fn, shapes, bounds = entry
    inputs = make_inputs(shapes, bounds, seed=7, dtype=dtype)
    ours = [tg.Tensor(x.copy(), requires_grad=True) for x in inputs]
    theirs = [torch.tensor(x.copy(), requires_grad=True) for x in inputs]
    out, ref = fn(*ours), torch_fn(torch, *theirs)
    assert out.dtype == ref.detach().numpy().dtype, (
        f"{name}: dtype {out.dtype} vs torch {ref.dtype}"
    )
    _rel_close(out.data, ref.detach().numpy(), TOLERANCE[dtype], f"{name} value")
    upstream = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    out.backward(upstream)
    ref.backward(torch.tensor(upstream))
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        _rel_close(a.grad, b.grad.numpy(), TOLERANCE[dtype], f"{name} grad of input {i}")
