"""Linear and MLP stacks against PyTorch with copied weights, float64 and float32."""

import numpy as np
import pytest

import tracegrad as tg
from tracegrad import losses, nn

torch = pytest.importorskip("torch")

TOL = {np.float64: 1e-9, np.float32: 1e-5}
TORCH_ACT = {
    "sigmoid": torch.nn.Sigmoid,
    "tanh": torch.nn.Tanh,
    "relu": torch.nn.ReLU,
    "leaky_relu": torch.nn.LeakyReLU,
    "softplus": torch.nn.Softplus,
}


def torch_copy(model, dtype):
    layers = []
    for m in model.layers:
        if isinstance(m, nn.Linear):
            lin = torch.nn.Linear(m.in_features, m.out_features, dtype=torch.float64)
            lin.weight.data = torch.tensor(m.weight.data.copy())
            lin.bias.data = torch.tensor(m.bias.data.copy())
            layers.append(lin)
        elif isinstance(m, nn.Identity):
            layers.append(torch.nn.Identity())
        else:
            layers.append(TORCH_ACT[type(m).__name__.lower().replace("leakyrelu", "leaky_relu")]())
    return torch.nn.Sequential(*layers)


def close(a, b, rtol, what):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    err = np.abs(a - b).max() / max(np.abs(b).max(), 1e-3)
    assert err <= rtol, f"{what}: relative error {err:.2e}"


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "softplus"])
def test_mlp_forward_and_gradients_match_torch(activation, dtype):
    model = nn.MLP([6, 8, 5, 3], activation=activation, rng=4, dtype=dtype)
    ref = torch_copy(model, dtype)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(7, 6)).astype(dtype)
    y = rng.integers(0, 3, size=7)
    out = model(tg.Tensor(X))
    ref_out = ref(torch.tensor(X))
    close(out.data, ref_out.detach().numpy(), TOL[dtype], "output")
    loss = losses.cross_entropy(out, y)
    ref_loss = torch.nn.functional.cross_entropy(ref_out, torch.tensor(y))
    close(loss.data, ref_loss.detach().numpy(), TOL[dtype], "loss")
    loss.backward()
    ref_loss.backward()
    ref_params = list(ref.parameters())
    for (name, p), q in zip(model.named_parameters(), ref_params, strict=True):
        assert p.grad.dtype == dtype
        close(p.grad, q.grad.numpy(), TOL[dtype], f"grad of {name}")


@pytest.mark.parametrize("dtype", [np.float64, np.float32], ids=["float64", "float32"])
def test_linear_input_gradient_and_mse_match_torch(dtype):
    layer = nn.Linear(4, 3, rng=0, dtype=dtype)
    ref = torch_copy(nn.Sequential(layer), dtype)
    X = np.random.default_rng(1).normal(size=(5, 4)).astype(dtype)
    T = np.random.default_rng(2).normal(size=(5, 3)).astype(dtype)
    x, tx = tg.Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    losses.mse(layer(x), T).backward()
    torch.nn.functional.mse_loss(ref(tx), torch.tensor(T)).backward()
    close(x.grad, tx.grad.numpy(), TOL[dtype], "input grad")
    close(layer.weight.grad, ref[0].weight.grad.numpy(), TOL[dtype], "weight grad")


def test_linear_default_init_is_torch_distribution():
    layer = nn.Linear(100, 200, rng=0)
    bound = 1 / np.sqrt(100)
    assert np.abs(layer.weight.data).max() <= bound and np.abs(layer.bias.data).max() <= bound
    assert layer.weight.data.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)
