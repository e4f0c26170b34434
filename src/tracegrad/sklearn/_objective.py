"""scikit-learn's MLP losses, written with tracegrad's losses so backprop gives their gradients.

Each output activation is paired with its canonical loss, so that dC/dz of the last
layer is ``(output - y) / n`` (scikit-learn's ``delta = activations[-1] - y``):

- softmax + categorical cross-entropy (multiclass), averaged over samples;
- logistic + binary cross-entropy (binary, multilabel), summed over outputs;
- identity + half squared error (regression), summed over outputs;
- exp + half Poisson deviance (``loss="poisson"``), summed over outputs.

The L2 term is scikit-learn's alpha / (2 n) * sum ||W||^2 over weights only, with n the
batch size. The number scikit-learn *reports* as ``loss_`` differs from the minimised
cost in two places, reproduced here: squared error is averaged over outputs, and the
Poisson deviance includes the constant y log y - y.
"""

from __future__ import annotations

import numpy as np
from scipy.special import xlogy

from .. import losses
from ._network import linears


class Objective:
    """``objective(z, y)``: the cost tensor to backpropagate; records scikit-learn's loss.

    ``reported()`` is the sample-weighted mean, since the last ``reset()``, of the loss
    scikit-learn would report for each batch: its ``loss_`` for an epoch.
    """

    def __init__(self, network, out_activation: str, alpha: float, l2_in_cost: bool = True):
        self.network, self.out_activation, self.alpha = network, out_activation, alpha
        # False: the optimizer adds the L2 gradient itself (see _l2.py); the cost tensor
        # then holds the data term only, and the L2 value is only counted in the loss.
        self.l2_in_cost = l2_in_cost
        self.weights = [lin.weight for lin in linears(network)]
        self.batch_size = None
        self.reset()

    def reset(self) -> None:
        self._total, self._seen = 0.0, 0

    def reported(self) -> float:
        return self._total / max(self._seen, 1)

    def __call__(self, z, y):
        n = self.batch_size = len(y)
        if self.out_activation == "softmax":
            data = losses.cross_entropy(z, y)  # y: class indices
            shown = None
        elif self.out_activation == "logistic":
            data = losses.binary_cross_entropy_with_logits(z, y, reduction="sum") / n
            shown = None
        elif self.out_activation == "exp":
            # d/dz of exp(z) - y z is exp(z) - y: the deviance's gradient without its constant
            data = (z.exp() - z * y).sum() / n
            shown = float(data.item()) + float(np.sum(xlogy(y, y) - y)) / n
        else:
            data = 0.5 * losses.mse(z, y, reduction="sum") / n
            shown = float(data.item()) / max(y.shape[1], 1)
        cost = data
        penalty = 0.0
        if self.alpha > 0 and self.l2_in_cost:
            l2 = losses.l2_penalty(self.network, self.alpha, n)
            cost = data + l2
            penalty = float(l2.item())
        elif self.alpha > 0:
            # W.T of a column-major weight is C-contiguous: vdot reads it without a copy
            squares = sum(float(np.vdot(w.data.T, w.data.T)) for w in self.weights)
            penalty = self.alpha / (2 * n) * squares
        value = (float(data.item()) if shown is None else shown) + penalty
        self._total += value * n
        self._seen += n
        return cost


def traced(network, out_activation: str, alpha: float):
    """``(model, cost)`` for ``tracing.trace``: the network *with* its output activation.

    Tracing shows a^(L) = f(z^(L)), so the cost is written on the activations here
    (log-likelihood of the probabilities, squared error of the outputs); its dC/dz^(L)
    is the same ``(a - y) / n`` as in training. The Poisson output keeps z^(L) as a^(L)
    (there is no exponential layer), with the cost of :class:`Objective`.
    """
    from .. import nn

    def with_l2(data, n):
        return data + losses.l2_penalty(network, alpha, n) if alpha > 0 else data

    if out_activation == "softmax":
        model = nn.Sequential(*network.layers, nn.Softmax())
        return model, lambda a, y: with_l2(losses.nll_loss(a.log(), y), len(y))
    if out_activation == "logistic":
        model = nn.Sequential(*network.layers, nn.Sigmoid())
        return model, lambda a, y: with_l2(
            losses.binary_cross_entropy(a, y, reduction="sum") / len(y), len(y)
        )
    if out_activation == "identity":
        return network, lambda a, y: with_l2(
            0.5 * losses.mse(a, y, reduction="sum") / len(y), len(y)
        )
    return network, Objective(network, out_activation, alpha)
