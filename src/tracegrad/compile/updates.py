"""Optimizer kernels: the update rules of ``tracegrad.optim`` as in-place NumPy calls.

Each function updates one parameter array ``w`` from its gradient ``g`` with the
optimizer's hyperparameters as they are *now* (a schedule may have changed ``opt.lr``
since the last step) and the optimizer's own per-parameter state (``opt.state[i]``), so
``opt.state_dict()`` after a compiled step is the state the eager step would have left,
and a checkpoint resumes bit for bit. ``tmp`` and ``tmp2`` are scratch arrays like ``w``.

The operations and their order are those of the eager rules in ``optim/sgd.py`` and
``optim/adaptive.py`` (the eager rule's equation is in each comment); ``g`` is never
written, as it is the parameter's ``.grad``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import optim


def _decayed(opt, w, g, tmp2):
    """g + weight_decay * w, into ``tmp2`` (or ``g`` itself without decay)."""
    if opt.weight_decay == 0:
        return g
    np.multiply(w, opt.weight_decay, out=tmp2)
    return np.add(g, tmp2, out=tmp2)


def sgd(opt, w, g, state, tmp, tmp2):
    g = _decayed(opt, w, g, tmp2)
    if opt.momentum != 0:
        b = state["momentum_buffer"]
        if state["step"] == 1:
            b[...] = g  # the buffer starts at the first gradient
        else:  # b <- momentum * b + (1 - dampening) * g
            b *= opt.momentum
            if opt.dampening == 0:
                b += g
            else:
                np.multiply(g, 1 - opt.dampening, out=tmp)
                b += tmp
        if opt.nesterov:  # g <- g + momentum * b
            np.multiply(b, opt.momentum, out=tmp)
            g = np.add(g, tmp, out=tmp2)
        else:
            g = b
    np.multiply(g, opt.lr, out=tmp)  # w <- w - lr * g
    w -= tmp


def adagrad(opt, w, g, state, tmp, tmp2):
    g = _decayed(opt, w, g, tmp2)
    lr_t = opt.lr / (1 + (state["step"] - 1) * opt.lr_decay)
    G = state["sum_sq"]
    np.multiply(g, g, out=tmp)  # G <- G + g * g
    G += tmp
    np.sqrt(G, out=tmp)  # w <- w - lr_t * g / (sqrt(G) + eps)
    tmp += opt.eps
    np.divide(g, tmp, out=tmp)
    tmp *= lr_t
    w -= tmp


def rmsprop(opt, w, g, state, tmp, tmp2):
    alpha = opt.alpha
    g = _decayed(opt, w, g, tmp2)
    v = state["square_avg"]
    v *= alpha  # v <- alpha * v + (1 - alpha) * g * g
    np.multiply(g, 1 - alpha, out=tmp)
    tmp *= g
    v += tmp
    if opt.centered:  # a <- a + (1 - alpha) * (g - a);  d = sqrt(v - a * a)
        a = state["grad_avg"]
        np.subtract(g, a, out=tmp)
        tmp *= 1 - alpha
        a += tmp
        np.multiply(a, a, out=tmp)
        np.subtract(v, tmp, out=tmp)
        np.sqrt(tmp, out=tmp)
    else:
        np.sqrt(v, out=tmp)
    tmp += opt.eps
    np.divide(g, tmp, out=tmp)  # g / d
    if opt.momentum > 0:  # b <- momentum * b + g / d;  w <- w - lr * b
        b = state["momentum_buffer"]
        b *= opt.momentum
        b += tmp
        np.multiply(b, opt.lr, out=tmp)
    else:  # w <- w - lr * g / d
        tmp *= opt.lr
    w -= tmp


def adam(opt, w, g, state, tmp, tmp2):
    beta1, beta2 = opt.betas
    t = state["step"]
    if opt.weight_decay != 0:
        if type(opt) is optim.AdamW:  # decoupled: w <- w * (1 - lr * weight_decay)
            w *= 1 - opt.lr * opt.weight_decay
        else:
            g = _decayed(opt, w, g, tmp2)
    m, v = state["m"], state["v"]
    np.subtract(g, m, out=tmp)  # m <- m + (1 - beta1) * (g - m)
    tmp *= 1 - beta1
    m += tmp
    np.multiply(g, 1 - beta2, out=tmp)  # v <- beta2 * v + (1 - beta2) * g * g
    tmp *= g
    v *= beta2
    v += tmp
    if opt.amsgrad:
        np.maximum(state["v_max"], v, out=state["v_max"])
        v = state["v_max"]
    step_size = opt.lr / (1 - beta1**t)
    np.sqrt(v, out=tmp)  # d = sqrt(v) / sqrt(1 - beta2^t) + eps
    tmp /= math.sqrt(1 - beta2**t)
    tmp += opt.eps
    np.multiply(m, step_size, out=tmp2)  # w <- w - (step_size * m) / d; g is no longer read
    tmp2 /= tmp
    w -= tmp2


# Exact types: a subclass may change the rule. For each, the hyperparameters the kernel
# reads and the state buffers a parameter starts with (the eager rule's, same names).
RULES = {
    optim.SGD: (sgd, {"lr", "momentum", "dampening", "weight_decay", "nesterov"}),
    optim.Adagrad: (
        adagrad,
        {"lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"},
    ),
    optim.RMSProp: (rmsprop, {"lr", "alpha", "eps", "weight_decay", "momentum", "centered"}),
    optim.Adam: (adam, {"lr", "betas", "eps", "weight_decay", "amsgrad"}),
    optim.AdamW: (adam, {"lr", "betas", "eps", "weight_decay", "amsgrad"}),
}


def initial_state(opt, w) -> dict:
    """The buffers a parameter starts with, as the eager optimizer creates them."""
    kind = type(opt)
    if kind is optim.SGD:
        return {"momentum_buffer": np.zeros_like(w)} if opt.momentum != 0 else {}
    if kind is optim.Adagrad:
        return {"sum_sq": np.full_like(w, opt.initial_accumulator_value)}
    if kind is optim.RMSProp:
        state = {"square_avg": np.zeros_like(w)}
        if opt.centered:
            state["grad_avg"] = np.zeros_like(w)
        if opt.momentum > 0:
            state["momentum_buffer"] = np.zeros_like(w)
        return state
    state = {"m": np.zeros_like(w), "v": np.zeros_like(w)}  # Adam, AdamW
    if opt.amsgrad:
        state["v_max"] = np.zeros_like(w)
    return state
