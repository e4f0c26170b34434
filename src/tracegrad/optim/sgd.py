"""Stochastic gradient descent, with optional momentum, Nesterov momentum and weight decay."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer


class SGD(Optimizer):
    """Gradient descent ``w <- w - lr * g``, with the exact semantics of ``torch.optim.SGD``.

    With momentum the step follows a buffer ``b`` of past gradients::

        g <- g + weight_decay * w
        b <- g                                   (first step)
        b <- momentum * b + (1 - dampening) * g  (later steps)
        g <- g + momentum * b  if nesterov else  b
        w <- w - lr * g

    Parameters
    ----------
    params : iterable
        Parameters with ``.data`` and ``.grad``, e.g. ``model.parameters()``.
    lr : float, default 1e-3
        Learning rate (step size), >= 0.
    momentum : float, default 0.0
        Momentum factor in [0, 1); 0 turns momentum off.
    dampening : float, default 0.0
        Fraction of each new gradient left out of the momentum buffer.
    weight_decay : float, default 0.0
        L2 penalty coefficient, added to the gradient.
    nesterov : bool, default False
        Use Nesterov momentum (needs ``momentum > 0`` and ``dampening == 0``).
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
        )
        super().__init__(params, defaults)

    def _init_state(self, w: np.ndarray) -> dict:
        return {"momentum_buffer": np.zeros_like(w)} if self.momentum != 0 else {}

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict) -> None:
        if self.weight_decay != 0:
            g = g + self.weight_decay * w
        if self.momentum != 0:
            b = state["momentum_buffer"]
            if state["step"] == 1:
                b[...] = g  # the buffer starts at the first gradient, not at zero
            else:
                b *= self.momentum
                b += (1 - self.dampening) * g
            g = g + self.momentum * b if self.nesterov else b
        w -= self.lr * g
