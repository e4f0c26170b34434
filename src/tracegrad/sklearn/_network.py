"""The estimators' network: scikit-learn's ``coefs_`` and ``intercepts_`` as a tracegrad model.

scikit-learn stores layer ``i``'s weights as ``coefs_[i]`` of shape (n_in, n_out), so a
forward pass is ``a @ coefs_[i]``; tracegrad's ``Linear`` holds the notes' ``W`` of shape
(n_out, n_in), so ``coefs_[i]`` is ``W.T``. The network ends with the last ``Linear``
(its output is ``z`` of the last layer): the loss applies the output activation itself,
which is both numerically safer and what makes ``delta = output - y`` hold.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn
from ..tensor import Tensor, no_grad

# scikit-learn's activation names -> tracegrad's registry names
HIDDEN = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}


def initial_parameters(layer_units, activation, initializer, random_state, rng, dtype):
    """``(coefs, intercepts)`` for a new network.

    With ``initializer=None`` they follow scikit-learn exactly: Glorot's uniform bound
    sqrt(6 / (fan_in + fan_out)) (sqrt(2 / ...) for logistic units) for weights and
    biases, drawn from ``random_state`` in scikit-learn's order, so the same seed gives
    the same starting weights as ``sklearn.neural_network``. Otherwise ``initializer`` is
    a ``tracegrad.nn.init`` name or callable, drawn from ``rng``, with zero biases.
    """
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:], strict=True):
        if initializer is None:
            factor = 2.0 if activation == "logistic" else 6.0
            bound = np.sqrt(factor / (fan_in + fan_out))
            coef = random_state.uniform(-bound, bound, (fan_in, fan_out))
            intercept = random_state.uniform(-bound, bound, fan_out)
        else:
            weight = nn.init.get(initializer)((fan_out, fan_in), rng, dtype)
            coef, intercept = np.asarray(weight).T, np.zeros(fan_out)
        coefs.append(np.ascontiguousarray(coef, dtype=dtype))
        intercepts.append(intercept.astype(dtype))
    return coefs, intercepts


def build(coefs, intercepts, activation, dropout, rng, dtype) -> nn.Sequential:
    """A ``Sequential`` of ``Linear`` layers holding copies of ``coefs`` and ``intercepts``."""
    layers = []
    last = len(coefs) - 1
    for i, coef in enumerate(coefs):
        fan_in, fan_out = coef.shape
        layers.append(nn.Linear(fan_in, fan_out, init="zeros", dtype=dtype))
        if i < last:
            layers.append(nn.activation(HIDDEN[activation]))
            if dropout > 0:
                layers.append(nn.Dropout(dropout, rng=rng))
    network = nn.Sequential(*layers)
    load(network, coefs, intercepts)
    return network


def linears(network) -> list:
    return [m for m in network.layers if isinstance(m, nn.Linear)]


def load(network, coefs, intercepts) -> None:
    """Copy ``coefs`` / ``intercepts`` into the network's weights, in place.

    In place, so an optimizer built over the parameters keeps following them.
    """
    layers = linears(network)
    if len(layers) != len(coefs) or len(coefs) != len(intercepts):
        raise ValueError(
            f"coefs_ and intercepts_ must hold one entry per layer ({len(layers)}), "
            f"got {len(coefs)} and {len(intercepts)}"
        )
    for lin, coef, intercept in zip(layers, coefs, intercepts, strict=True):
        if np.shape(coef) != (lin.in_features, lin.out_features) or np.shape(intercept) != (
            lin.out_features,
        ):
            raise ValueError(
                f"coefs_/intercepts_ entry of shape {np.shape(coef)}/{np.shape(intercept)} "
                f"does not fit a layer of {lin.in_features} -> {lin.out_features} units"
            )
        np.copyto(lin.weight.data, np.asarray(coef).T, casting="unsafe")
        np.copyto(lin.bias.data, intercept, casting="unsafe")


def store(network) -> tuple[list, list]:
    """Fresh ``(coefs, intercepts)`` arrays in scikit-learn's layout, from the network."""
    layers = linears(network)
    # weight.data is column-major, so its transpose is already C-contiguous: copy it
    # explicitly (ascontiguousarray would return a view of the live weights).
    coefs = [np.array(lin.weight.data.T, order="C") for lin in layers]
    intercepts = [lin.bias.data.copy() for lin in layers]
    return coefs, intercepts


def set_rng(network, rng) -> None:
    """Point every dropout layer at ``rng`` (a new fit draws its masks from its own seed)."""
    for module in network.layers:
        if isinstance(module, nn.Dropout):
            module.rng = rng


def output(network, X, out_activation: str) -> np.ndarray:
    """The network's output activations for ``X``, in inference mode (no dropout, no graph)."""
    was_training = network.training
    network.eval()
    try:
        with no_grad():
            z = network(Tensor(X))
            if out_activation == "softmax":
                a = F.softmax(z)
            elif out_activation == "logistic":
                a = F.sigmoid(z)
            elif out_activation == "exp":
                a = z.exp()
            else:
                a = z
            return np.asarray(a.data)
    finally:
        network.train(was_training)
