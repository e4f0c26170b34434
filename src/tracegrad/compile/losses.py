"""Loss kernels: the value of a loss and its gradient dC/d(output), into preallocated buffers.

``targets(y)`` prepares a batch's targets after the cheap checks that keep the compiled
path on the eager path's inputs; it returns None for anything unusual (a float label, a
wrong shape), and the step then runs eagerly so that the eager loss gives its own answer
or its own error message. ``value`` and ``delta`` follow the eager loss's operations.
"""

from __future__ import annotations

import numpy as np

from .. import losses
from .layers import Unsupported, _row_max


class _Loss:
    def __init__(self, n, width, dtype):
        self.n, self.dtype = n, np.dtype(dtype)
        self.delta = np.empty((n, width), dtype)
        self.count = n * width  # elements a "mean" divides by
        self.c = self.dtype.type(1) / self.count  # the upstream gradient 1 spread over them

    def targets(self, y):
        """Targets of the output's shape, numeric and cast to its dtype (as eager does)."""
        if y.shape != self.delta.shape or y.dtype.kind not in "biuf":
            return None
        return y.astype(self.dtype, copy=False)


class MSE(_Loss):
    def value(self, out, t):
        self.diff = np.subtract(out, t, out=self.delta)
        return np.multiply(self.diff, self.diff).mean()

    def backward(self):
        # d/d(diff) of mean(diff * diff): the product's two factors each give c * diff
        self.delta *= self.c
        self.delta += self.delta
        return self.delta


class MAE(_Loss):
    def value(self, out, t):
        np.subtract(out, t, out=self.delta)
        return np.abs(self.delta).mean()

    def backward(self):
        np.sign(self.delta, out=self.delta)
        self.delta *= self.c
        return self.delta


class BinaryCrossEntropy(_Loss):
    def __init__(self, n, width, dtype):
        super().__init__(n, width, dtype)
        self.tmp = np.empty((n, width), dtype)

    def targets(self, y):
        t = super().targets(y)
        if t is None or np.any((t < 0) | (t > 1)):
            return None
        return t

    def value(self, p, t):
        if np.any((p < 0) | (p > 1)):
            return np.nan  # eager refuses such probabilities with its own message
        self.p, self.t = p, t
        with np.errstate(divide="ignore"):
            log_p = np.maximum(np.log(np.maximum(p, 0)), -100)
            log_q = np.maximum(np.log(np.maximum(1 - p, 0)), -100)
        return (-(t * log_p + (1 - t) * log_q)).mean()

    def backward(self):
        np.subtract(self.p, self.t, out=self.delta)
        np.subtract(1, self.p, out=self.tmp)
        self.tmp *= self.p
        np.maximum(self.tmp, 1e-12, out=self.tmp)
        self.delta /= self.tmp
        # The eager VJP multiplies by the upstream gradient g / n (g = 1 in the loss's
        # dtype), which rounds differently from dividing by n.
        self.delta *= np.ones((), self.delta.dtype) / self.count
        return self.delta


class BinaryCrossEntropyWithLogits(BinaryCrossEntropy):
    """softplus(x) − x·y; the gradient (sigmoid(x) − y) / count, which eager sums in
    another order from the pieces of its composition: equal up to rounding (tested)."""

    def value(self, x, t):
        self.x, self.t = x, t
        e = np.exp(-np.abs(x))
        softplus = np.maximum(x, 0.0) + np.log1p(e)
        # sigmoid(x) from the same e: 1 / (1 + e) for x >= 0, e / (1 + e) below
        self.sigmoid = np.maximum(e, x >= 0) / (e + 1)
        return (softplus - x * t).mean()

    def backward(self):
        np.subtract(self.sigmoid, self.t, out=self.delta)
        self.delta *= self.c
        return self.delta


class CrossEntropy(_Loss):
    """Softmax cross-entropy of logits against class indices or probability rows."""

    def __init__(self, n, width, dtype):
        super().__init__(n, width, dtype)
        self.rows = np.arange(n)
        self.shifted = np.empty((n, width), dtype)
        self.total = np.empty((n, 1), dtype)
        self.c = self.dtype.type(1) / n  # the mean is over rows

    def targets(self, y):
        n, k = self.delta.shape
        if y.ndim == 1 and y.dtype.kind in "iu" and len(y) == n:
            labels = y.astype(np.intp, copy=False)
            # seen as unsigned, a negative label is huge: one max() checks both ends
            return labels if not labels.size or labels.view(np.uintp).max() < k else None
        if y.shape == (n, k) and y.dtype.kind in "biuf" and np.all(np.isfinite(y)):
            return None if np.any(y < 0) else y.astype(self.dtype, copy=False)
        return None

    def value(self, z, t):
        self.t = t
        np.subtract(z, _row_max(z), out=self.shifted)
        np.exp(self.shifted, out=self.delta)  # e, kept for the gradient
        np.add.reduce(self.delta, axis=1, keepdims=True, out=self.total)
        log_total = np.log(self.total)
        if t.ndim == 1:
            per_row = log_total[:, 0] - self.shifted[self.rows, t]
        else:
            per_row = (t * (log_total - self.shifted)).sum(axis=1)
        return np.add.reduce(per_row) / self.n

    def backward(self):
        p = np.divide(self.delta, self.total, out=self.delta)
        if self.t.ndim == 1:
            p[self.rows, self.t] -= 1
        else:
            p *= self.t.sum(axis=1, keepdims=True)
            p -= self.t
        p *= self.c
        return p


class NLL(CrossEntropy):
    """Negative log-likelihood of class indices given log-probabilities."""

    def targets(self, y):
        labels = super().targets(y)
        return labels if labels is not None and labels.ndim == 1 else None

    def value(self, lp, labels):
        self.t = labels
        return (-lp[self.rows, labels]).mean()

    def backward(self):
        self.delta.fill(0)
        self.delta[self.rows, self.t] = -self.c
        return self.delta


class OneHotLoss(_Loss):
    """MSE of class labels through one-hot rows: ``mse`` (the mean over every element) or
    Nielsen's ``quadratic`` cost, 1/(2n)·Σ‖y − a‖² (see :func:`label_loss`)."""

    def __init__(self, n, width, dtype, quadratic=False):
        super().__init__(n, width, dtype)
        self.quadratic = quadratic
        self.one_hot = np.zeros((n, width), dtype)
        self.rows, self.labels = np.arange(n), None
        if quadratic:  # the gradient of (0.5 * sum) / n reaching each squared difference
            self.c = (self.dtype.type(1) / n) * self.dtype.type(0.5)

    def targets(self, y):
        n, k = self.delta.shape
        if y.ndim != 1 or y.dtype.kind not in "iu" or len(y) != n:
            return None
        labels = y.astype(np.intp, copy=False)
        if labels.size and labels.view(np.uintp).max() >= k:
            return None  # eager's one-hot indexing gives the error
        if self.labels is not None:
            self.one_hot[self.rows, self.labels] = 0
        self.one_hot[self.rows, labels] = 1
        self.labels = labels
        return self.one_hot

    def value(self, out, t):
        self.diff = np.subtract(out, t, out=self.delta)
        squares = np.multiply(self.diff, self.diff)
        if self.quadratic:
            return self.dtype.type(0.5) * squares.sum() / self.dtype.type(self.n)
        return squares.mean()

    backward = MSE.backward


class LabelLoss:
    """A loss of class labels ``y`` through one-hot rows, in a form the compiler reads.

    Called, it is the eager ``losses.mse(out, eye[y])`` (``kind="mse"``) or Nielsen's
    quadratic cost ``0.5 * losses.mse(out, eye[y], "sum") / len(y)`` (``"quadratic"``).
    Called with ``(out, y)``, ``y`` integer labels in 0..K-1.

    Parameters
    ----------
    kind : {"mse", "quadratic"}
        The mean over every element, or Nielsen's half sum over the batch size
        (ValueError for anything else).
    n_classes : int
        K, the width of the one-hot rows; it must match the model's outputs for the
        step to compile.
    """

    def __init__(self, kind: str, n_classes: int):
        if kind not in ("mse", "quadratic"):
            raise ValueError(f"label_loss kind must be 'mse' or 'quadratic', got {kind!r}")
        self.kind, self.n_classes, self._eye = kind, int(n_classes), None

    def one_hot(self, y, n, dtype):
        # checked as cross_entropy checks its labels: eye[-1] would be class K-1's row
        labels = losses._class_labels(y, n, self.n_classes)
        if self._eye is None or self._eye.dtype != dtype:
            self._eye = np.eye(self.n_classes, dtype=dtype)
        return self._eye[labels]

    def __call__(self, out, y):
        """The eager loss of outputs ``out`` (n, K) for integer labels ``y`` (n,).

        Parameters
        ----------
        out : Tensor
            The model's outputs.
        y : array_like of int
            Class labels in 0..K-1 (ValueError otherwise, worded as ``cross_entropy``'s).
        """
        t = self.one_hot(y, len(out), out.dtype)
        if self.kind == "mse":
            return losses.mse(out, t)
        return 0.5 * losses.mse(out, t, "sum") / len(t)

    def __repr__(self) -> str:
        return f"label_loss({self.kind!r}, {self.n_classes})"


def label_loss(kind: str, n_classes: int) -> LabelLoss:
    """``mse`` or Nielsen's ``quadratic`` cost of integer labels against one-hot rows.

    Parameters
    ----------
    kind : {"mse", "quadratic"}
        The mean over every element, or Nielsen's half sum over the batch size
        (ValueError for anything else).
    n_classes : int
        K, the width of the one-hot rows; it must match the model's outputs for the
        step to compile.

    Returns
    -------
    LabelLoss
        The loss, called as ``loss(out, y)``.
    """
    return LabelLoss(kind, n_classes)


# The eager loss functions the compiler knows, by identity (a wrapper or a lambda is not
# one of them: it may compute anything, so it runs eagerly).
KERNELS = {
    losses.cross_entropy: CrossEntropy,
    losses.nll_loss: NLL,
    losses.mse: MSE,
    losses.mae: MAE,
    losses.binary_cross_entropy: BinaryCrossEntropy,
    losses.binary_cross_entropy_with_logits: BinaryCrossEntropyWithLogits,
}


class WithL2Penalty:
    """``loss(out, y) + losses.l2_penalty(model, lam, m)`` as a callable the compiler reads.

    A closure computing the same sum is opaque to the compiler (it runs eagerly); this
    object says what it computes, so the compiled step adds λ/(2m)·Σ‖W‖² to the value and
    λ/m·W to each weight's gradient. Called directly, it is the eager sum.

    Parameters
    ----------
    loss : callable
        The data term ``loss(out, y)``; compiled when it is one of ``tracegrad.losses``'
        functions or a :class:`LabelLoss`.
    model : Module
        The network whose weight matrices (biases excluded) are penalized.
    lam : float
        λ, the regularization strength, >= 0 (ValueError otherwise).
    m : int
        The number of training examples, > 0 (ValueError otherwise).
    """

    def __init__(self, loss, model, lam: float, m: int):
        losses.l2_penalty(model, lam, m)  # the eager function's checks of lam and m
        self.loss, self.model, self.lam, self.m = loss, model, float(lam), int(m)

    def __call__(self, out, y):
        """The eager sum ``loss(out, y) + l2_penalty(model, lam, m)``.

        Parameters
        ----------
        out : Tensor
            The model's outputs.
        y : array_like
            Their targets, as ``loss`` takes them.
        """
        return self.loss(out, y) + losses.l2_penalty(self.model, self.lam, self.m)

    def __repr__(self) -> str:
        name = getattr(self.loss, "__name__", repr(self.loss))
        return f"WithL2Penalty({name}, lam={self.lam}, m={self.m})"


def with_l2_penalty(loss, model, lam: float, m: int) -> WithL2Penalty:
    """The notes' regularized cost, ``loss + λ/(2m)·Σ‖W‖²``, in a form the compiler can read.

    Parameters
    ----------
    loss : callable
        The data term ``loss(out, y)``; compiled when it is one of ``tracegrad.losses``'
        functions or a :class:`LabelLoss`.
    model : Module
        The network whose weight matrices (biases excluded) are penalized.
    lam : float
        λ, the regularization strength, >= 0 (ValueError otherwise).
    m : int
        The number of training examples, > 0 (ValueError otherwise).

    Returns
    -------
    WithL2Penalty
        The regularized loss, called as ``cost(out, y)``.

    Examples
    --------
    >>> cost = with_l2_penalty(losses.cross_entropy, model, lam=5.0, m=len(X))  # doctest: +SKIP
    >>> training.fit(model, cost, opt, (X, y))  # compiled, penalty included   # doctest: +SKIP
    """
    return WithL2Penalty(loss, model, lam, m)


def kernel_for(loss):
    """(kernel class, penalty or None) for a loss callable, or raise Unsupported."""
    penalty = None
    if isinstance(loss, WithL2Penalty):
        penalty, loss = loss, loss.loss
    if isinstance(loss, LabelLoss):
        quadratic = loss.kind == "quadratic"

        def kernel(n, width, dtype):
            if width != loss.n_classes:
                raise Unsupported(f"{width} outputs for {loss!r}")
            return OneHotLoss(n, width, dtype, quadratic)

        kernel.__name__ = f"OneHot{'Quadratic' if quadratic else 'MSE'}"
        return kernel, penalty
    kernel = KERNELS.get(loss)
    if kernel is None:
        name = getattr(loss, "__qualname__", type(loss).__name__)
        raise Unsupported(
            f"the loss {name} is not one of tracegrad.losses' functions "
            "(a custom callable may compute anything); for the notes' L2 penalty use "
            "tracegrad.compile.with_l2_penalty(loss, model, lam, m), for mse or Nielsen's "
            "quadratic cost of class labels against one-hot rows "
            "tracegrad.compile.label_loss('quadratic', n_classes)"
        )
    return kernel, penalty
