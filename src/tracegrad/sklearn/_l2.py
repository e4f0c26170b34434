"""scikit-learn's L2 term applied as a gradient, next to the optimizer step.

The penalty alpha / (2 n) * sum ||W||^2 has the gradient alpha / n * W. Built into the
cost tensor it costs several graph operations per weight matrix each batch (40% of a
digits epoch); added to the weights' gradients just before the update it is one pass
over each matrix. Biases are left out, as in scikit-learn, which is why the optimizers'
own ``weight_decay`` (applied to every parameter) does not serve.
"""

from __future__ import annotations

from .. import optim


class _L2Gradient:
    """Mixin: before each step, add ``alpha / n * W`` to the gradient of each weight.

    ``l2_weights`` are the weight parameters, ``l2_alpha`` the strength and
    ``l2_batch`` an object whose ``batch_size`` is the n of the batch just
    backpropagated (the ``Objective`` that computed its cost).
    """

    l2_alpha, l2_weights, l2_batch = 0.0, (), None

    def step(self) -> None:
        if self.l2_alpha > 0:
            scale = self.l2_alpha / self.l2_batch.batch_size
            for w in self.l2_weights:
                if w.grad is not None:
                    w.grad = w.grad + scale * w.data  # a new array: the gradient may be shared
        super().step()


class SGD(_L2Gradient, optim.SGD):
    """``tracegrad.optim.SGD`` with scikit-learn's L2 gradient on the weights."""


class Adam(_L2Gradient, optim.Adam):
    """``tracegrad.optim.Adam`` with scikit-learn's L2 gradient on the weights."""
