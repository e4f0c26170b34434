"""Optimizers that scale each coordinate's step by its gradient history: Adagrad, RMSProp, Adam.

Every rule follows ``torch.optim`` exactly (same formulas, defaults and state),
so results can be compared with PyTorch number for number. Buffers live in the
parameter's dtype and scalars stay Python floats, so float32 training stays float32.
"""

from __future__ import annotations

import math

import numpy as np

from .optimizer import Optimizer


class Adagrad(Optimizer):
    """Adagrad: divide each step by the root of the sum of all past squared gradients.

    The update, for each parameter ``w`` with gradient ``g``::

        g   <- g + weight_decay * w
        lr_t = lr / (1 + (t - 1) * lr_decay)
        G   <- G + g * g
        w   <- w - lr_t * g / (sqrt(G) + eps)

    Parameters
    ----------
    params : iterable
        Parameters with ``.data`` and ``.grad``.
    lr : float, default 1e-2
    lr_decay : float, default 0
        Inverse-time decay of the learning rate with the step count ``t``.
    weight_decay : float, default 0
        L2 penalty coefficient, added to the gradient.
    initial_accumulator_value : float, default 0
        Starting value of ``G``.
    eps : float, default 1e-10
    """

    def __init__(
        self, params, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10
    ):
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
        )
        super().__init__(params, defaults)

    def _init_state(self, w):
        return {"sum_sq": np.full_like(w, self.initial_accumulator_value)}

    def _update(self, w, g, state):
        if self.weight_decay != 0:
            g = g + self.weight_decay * w
        lr_t = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        G = state["sum_sq"]
        G += g * g
        w -= lr_t * (g / (np.sqrt(G) + self.eps))


class RMSProp(Optimizer):
    """RMSProp: divide each step by a running root-mean-square of the gradient.

    The update, for each parameter ``w`` with gradient ``g``::

        g <- g + weight_decay * w
        v <- alpha * v + (1 - alpha) * g * g
        d  = sqrt(v - a * a) + eps,  a <- alpha * a + (1 - alpha) * g   (centered)
        d  = sqrt(v) + eps                                             (otherwise)
        w <- w - lr * g / d                                  (no momentum)
        b <- momentum * b + g / d,  w <- w - lr * b          (momentum)

    Parameters
    ----------
    params : iterable
        Parameters with ``.data`` and ``.grad``.
    lr : float, default 1e-2
    alpha : float, default 0.99
        Smoothing constant of the running averages, in [0, 1).
    eps : float, default 1e-8
    weight_decay : float, default 0
        L2 penalty coefficient, added to the gradient.
    momentum : float, default 0
        Momentum factor in [0, 1).
    centered : bool, default False
        Normalise by an estimate of the gradient's variance instead of its second moment.
    """

    def __init__(
        self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False
    ):
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
        )
        super().__init__(params, defaults)

    def _init_state(self, w):
        state = {"square_avg": np.zeros_like(w)}
        if self.centered:
            state["grad_avg"] = np.zeros_like(w)
        if self.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(w)
        return state

    def _update(self, w, g, state):
        alpha = self.alpha
        if self.weight_decay != 0:
            g = g + self.weight_decay * w
        v = state["square_avg"]
        v *= alpha
        v += (1 - alpha) * g * g
        if self.centered:
            a = state["grad_avg"]
            a += (1 - alpha) * (g - a)  # a <- alpha * a + (1 - alpha) * g, as torch's lerp
            d = np.sqrt(v - a * a)
        else:
            d = np.sqrt(v)
        d += self.eps
        if self.momentum > 0:
            b = state["momentum_buffer"]
            b *= self.momentum
            b += g / d
            w -= self.lr * b
        else:
            w -= self.lr * (g / d)


RMSprop = RMSProp  # the spelling torch.optim uses


class Adam(Optimizer):
    """Adam: momentum on the gradient, divided by a running RMS, both bias-corrected.

    The update, for each parameter ``w`` with gradient ``g``::

        g <- g + weight_decay * w
        m <- beta1 * m + (1 - beta1) * g
        v <- beta2 * v + (1 - beta2) * g * g
        v_max <- max(v_max, v),  v <- v_max            (amsgrad)
        w <- w - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Parameters
    ----------
    params : iterable
        Parameters with ``.data`` and ``.grad``.
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        Decay rates of ``m`` and ``v``, each in [0, 1).
    eps : float, default 1e-8
    weight_decay : float, default 0
        L2 penalty coefficient, added to the gradient (see :class:`AdamW` for the decoupled form).
    amsgrad : bool, default False
        Divide by the largest ``v`` seen so far, so the step size never grows.
    """

    decoupled_weight_decay = False

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False
    ):
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad)
        super().__init__(params, defaults)

    def _init_state(self, w):
        state = {"m": np.zeros_like(w), "v": np.zeros_like(w)}
        if self.amsgrad:
            state["v_max"] = np.zeros_like(w)
        return state

    def _update(self, w, g, state):
        beta1, beta2 = self.betas
        t = state["step"]
        if self.weight_decay != 0:
            if self.decoupled_weight_decay:
                w *= 1 - self.lr * self.weight_decay
            else:
                g = g + self.weight_decay * w
        m, v = state["m"], state["v"]  # updated in place: they are the optimizer's state
        m += (1 - beta1) * (g - m)  # m <- beta1 * m + (1 - beta1) * g, as torch's lerp
        v *= beta2
        v += (1 - beta2) * g * g
        if self.amsgrad:
            np.maximum(state["v_max"], v, out=state["v_max"])
            v = state["v_max"]
        step_size = self.lr / (1 - beta1**t)
        w -= step_size * m / (np.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps)


class AdamW(Adam):
    """Adam with decoupled weight decay: ``w <- w * (1 - lr * weight_decay)`` before the Adam step.

    Unlike L2 regularisation through the gradient, the decay is not divided by the
    running RMS, so every weight shrinks at the same rate.

    Parameters
    ----------
    params : iterable
        Parameters with ``.data`` and ``.grad``.
    lr : float, default 1e-3
        The learning rate.
    betas : (float, float), default (0.9, 0.999)
        Decay rates of ``m`` and ``v``, each in [0, 1).
    eps : float, default 1e-8
        Added to the denominator.
    weight_decay : float, default 1e-2
        The decoupled decay coefficient (Adam's default is 0).
    amsgrad : bool, default False
        Divide by the largest ``v`` seen so far, so the step size never grows.
    """

    decoupled_weight_decay = True

    def __init__(
        self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2, amsgrad=False
    ):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad)
