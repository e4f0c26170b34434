"""safetensors export: the weights under the key names of a flat ``torch.nn.Sequential``.

The model's layers, flattened in forward order, become the modules of one
``nn.Sequential``: ``Linear`` -> ``nn.Linear`` (the same (out, in) weight),
each activation -> its ``torch.nn`` twin, ``Dropout`` -> ``nn.Dropout`` and an
identity output -> ``nn.Identity``, so every module keeps its index and the
keys are the ones PyTorch gives (``"1.weight"``, ``"1.bias"``, ``"3.weight"``...).

The input scaling is kept as what it is, two buffers ``"0.offset"`` and
``"0.scale"`` of a small ``Normalization`` module computing
``(x - offset) / scale`` (the class is in the generated code), rather than
folded into a diagonal ``nn.Linear``: the numbers stay those tracegrad uses,
the file stays O(n) in the features, and a user sees the scaling instead of an
unexplained first layer. ``torch_code`` writes the module's source; it is also
stored in the file's metadata (``"torch_module"``) next to ``"class_names"``.

The torch model returns what ``model(X)`` returns in tracegrad (logits for a
cross-entropy classifier, as PyTorch's ``CrossEntropyLoss`` expects); the
metadata's ``"probabilities"`` says how ``predict_proba`` turns them into
probabilities.
"""

from __future__ import annotations

import json

import numpy as np

from ..nn.module import Module
from ..training.metrics import output_kind
from .layers import check_supported, flatten

# type name -> the torch.nn expression for a layer
_TORCH = {
    "Normalization": lambda m: f"Normalization({m.n_features})",
    "Denormalization": lambda m: f"Denormalization({m.n_features})",
    "Linear": lambda m: (
        f"nn.Linear({m.in_features}, {m.out_features}"
        + ("" if m.bias is not None else ", bias=False")
        + ")"
    ),
    "ReLU": lambda m: "nn.ReLU()",
    "Sigmoid": lambda m: "nn.Sigmoid()",
    "Tanh": lambda m: "nn.Tanh()",
    "Softplus": lambda m: "nn.Softplus()",
    "LeakyReLU": lambda m: f"nn.LeakyReLU({float(m.negative_slope)!r})",
    "Softmax": lambda m: f"nn.Softmax(dim={int(m.axis)})",
    "LogSoftmax": lambda m: f"nn.LogSoftmax(dim={int(m.axis)})",
    "Identity": lambda m: "nn.Identity()",
    "Dropout": lambda m: f"nn.Dropout({float(m.p)!r})",
}
SUPPORTED = tuple(_TORCH)

_NORMALIZATION_CLASS = '''

class Normalization(nn.Module):
    """(x - offset) / scale per feature: tracegrad's input scaling, as two buffers."""

    def __init__(self, n_features):
        super().__init__()
        self.register_buffer("offset", torch.zeros(n_features))
        self.register_buffer("scale", torch.ones(n_features))

    def forward(self, x):
        return (x - self.offset) / self.scale
'''

_DENORMALIZATION_CLASS = '''

class Denormalization(nn.Module):
    """z * scale + offset per output: tracegrad's undoing of a target standardization."""

    def __init__(self, n_outputs):
        super().__init__()
        self.register_buffer("offset", torch.zeros(n_outputs))
        self.register_buffer("scale", torch.ones(n_outputs))

    def forward(self, z):
        return z * self.scale + self.offset
'''

_PROBABILITIES = {
    "probabilities": "model(x) (the model ends in softmax or sigmoid)",
    "log_probabilities": "model(x).exp()",
    "logits": "torch.softmax(model(x), dim=1)",
    "one logit": "torch.sigmoid(model(x))",
}


def state_dict(model: Module) -> dict[str, np.ndarray]:
    """``{torch key: array}`` for the flat ``nn.Sequential`` of ``model``'s layers."""
    layers = flatten(model)
    check_supported(layers, SUPPORTED, "safetensors")
    tensors = {}
    for i, (_, layer) in enumerate(layers):
        kind = type(layer).__name__
        if kind in ("Normalization", "Denormalization"):
            tensors[f"{i}.offset"], tensors[f"{i}.scale"] = layer.offset, layer.scale
        elif kind == "Linear":
            tensors[f"{i}.weight"] = layer.weight.data
            if layer.bias is not None:
                tensors[f"{i}.bias"] = layer.bias.data
    return {k: np.ascontiguousarray(v) for k, v in tensors.items()}


def torch_code(model: Module, path: str = "model.safetensors") -> str:
    """Python source building the ``torch.nn.Sequential`` the exported weights load into."""
    layers = flatten(model)
    check_supported(layers, SUPPORTED, "safetensors")
    kinds = [type(layer).__name__ for _, layer in layers]
    lines = ["import torch", "from safetensors.torch import load_file", "from torch import nn"]
    if "Normalization" in kinds:
        lines.append(_NORMALIZATION_CLASS)
    if "Denormalization" in kinds:
        lines.append(_DENORMALIZATION_CLASS)
    lines.append("\nmodel = nn.Sequential(")
    lines += [f"    {_TORCH[type(layer).__name__](layer)}," for _, layer in layers]
    lines.append(")")
    dtypes = {a.dtype for a in state_dict(model).values()}
    if dtypes and dtypes != {np.dtype(np.float32)}:
        lines.append(f"model = model.to(torch.{max(dtypes, key=lambda d: d.itemsize).name})")
    lines.append(f"model.load_state_dict(load_file({str(path)!r}), strict=True)")
    lines.append("model.eval()  # dropout off, as tracegrad's predict")
    lines.append(f"# probabilities as tracegrad.training.predict_proba: {_probabilities(model)}")
    return "\n".join(lines) + "\n"


def to_safetensors(model: Module, class_names=None, trained_on=None, path="model.safetensors"):
    """The bytes of the safetensors file of ``model`` (metadata included)."""
    from safetensors.numpy import save

    metadata = {
        "format": "pt",  # what Hugging Face's loaders look for
        "producer": "tracegrad",
        "torch_module": torch_code(model, path),
        "probabilities": _probabilities(model),
    }
    if class_names is not None:
        metadata["class_names"] = json.dumps([str(c) for c in class_names])
    if trained_on is not None:
        metadata["trained_on"] = json.dumps(trained_on, allow_nan=False)
    return save(state_dict(model), metadata=metadata)


def _probabilities(model: Module) -> str:
    kind = output_kind(model)
    if type(flatten(model)[-1][1]).__name__ == "Denormalization":
        return "none: a regression model, model(x) gives the predicted values"
    if kind == "logits" and _last_width(model) == 1:
        kind = "one logit"
    return _PROBABILITIES[kind]


def _last_width(model: Module) -> int | None:
    widths = [m.out_features for _, m in flatten(model) if type(m).__name__ == "Linear"]
    return widths[-1] if widths else None
