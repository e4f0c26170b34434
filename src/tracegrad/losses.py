"""Cost functions. Reductions and defaults follow ``torch.nn.functional``: the
mean over the batch unless ``reduction="sum"`` or ``"none"``.

This module checks the inputs where they enter (one line naming the problem and the
fix); the cross-entropies then run as fused primitives (``tracegrad.autograd.fused``),
the other losses as composites of primitives.
"""

from __future__ import annotations

import numpy as np

from .autograd import fused
from .autograd.primitives import abs, sum
from .autograd.tensor import Tensor

__all__ = [
    "mse",
    "mae",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "nll_loss",
    "l2_penalty",
]


def _tensor(x, name: str, check_finite: bool = True) -> Tensor:
    if not isinstance(x, Tensor):
        x = Tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{name} must be floating point, got dtype {x.dtype}")
    if check_finite and not np.all(np.isfinite(x.data)):
        bad = x.data[~np.isfinite(x.data)][:3]
        raise ValueError(
            f"{name} contains non-finite values (e.g. {bad.tolist()}): check the learning "
            "rate and the input scaling"
        )
    return x


def _targets_like(targets, output: Tensor, name="targets") -> np.ndarray:
    t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if t.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numeric, got dtype {t.dtype}")
    if t.shape != output.shape:
        raise ValueError(
            f"{name} have shape {t.shape} but the output has shape {output.shape}; they must match"
        )
    if not np.all(np.isfinite(t)):
        raise ValueError(f"{name} contain non-finite values")
    return t.astype(output.dtype, copy=False)


def _check_reduction(reduction: str) -> None:
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _reduce(per_element: Tensor, reduction: str) -> Tensor:
    _check_reduction(reduction)
    if reduction == "mean":
        return per_element.mean()
    if reduction == "sum":
        return per_element.sum()
    return per_element


def mse(output, targets, reduction: str = "mean") -> Tensor:
    """Mean squared error, averaged over every element (as PyTorch).

    The worked examples' cost E = Σ ½(t − o)² is ``0.5 * mse(o, t, reduction="sum")``;
    Nielsen's quadratic cost over a batch of n is ``0.5 * mse(o, t, "sum") / n``.

    Parameters
    ----------
    output : Tensor or array_like
        The network's output, floating point and finite (TypeError, ValueError otherwise).
    targets : array_like or Tensor
        Numeric, finite, of ``output``'s shape (ValueError otherwise).
    reduction : {"mean", "sum", "none"}, default "mean"
        The mean over every element, their sum, or no reduction (one loss per element).
    """
    output = _tensor(output, "output")
    diff = output - _targets_like(targets, output)
    return _reduce(diff * diff, reduction)


def mae(output, targets, reduction: str = "mean") -> Tensor:
    """Mean absolute error, averaged over every element (as PyTorch).

    Parameters
    ----------
    output : Tensor or array_like
        The network's output, floating point and finite (TypeError, ValueError otherwise).
    targets : array_like or Tensor
        Numeric, finite, of ``output``'s shape (ValueError otherwise).
    reduction : {"mean", "sum", "none"}, default "mean"
        The mean over every element, their sum, or no reduction (one loss per element).
    """
    output = _tensor(output, "output")
    return _reduce(abs(output - _targets_like(targets, output)), reduction)


def binary_cross_entropy(probabilities, targets, reduction: str = "mean") -> Tensor:
    """Cross-entropy of probabilities in [0, 1] (e.g. sigmoid outputs) against 0/1 targets.

    Each log is clamped at −100, as PyTorch, so p = 0 or 1 gives a finite loss.

    Parameters
    ----------
    probabilities : Tensor or array_like
        Floating point, in [0, 1] (ValueError otherwise: pass raw scores to
        :func:`binary_cross_entropy_with_logits`).
    targets : array_like or Tensor
        Of ``probabilities``' shape, in [0, 1] (soft labels allowed).
    reduction : {"mean", "sum", "none"}, default "mean"
        The mean over every element, their sum, or no reduction (one loss per element).
    """
    p = _tensor(probabilities, "probabilities")
    if np.any((p.data < 0) | (p.data > 1)):
        raise ValueError(
            "binary_cross_entropy needs probabilities in [0, 1]; for raw scores use "
            "binary_cross_entropy_with_logits"
        )
    y = _targets_like(targets, p)
    if np.any((y < 0) | (y > 1)):
        raise ValueError(
            f"binary targets must lie in [0, 1], got values from {y.min()} to {y.max()}"
        )
    _check_reduction(reduction)
    return fused.binary_cross_entropy(p, y, reduction)


def binary_cross_entropy_with_logits(logits, targets, reduction: str = "mean") -> Tensor:
    """Sigmoid + binary cross-entropy in one stable expression: softplus(x) − x·y.

    Parameters
    ----------
    logits : Tensor or array_like
        Raw scores x, floating point and finite.
    targets : array_like or Tensor
        Of ``logits``' shape, in [0, 1] (ValueError otherwise).
    reduction : {"mean", "sum", "none"}, default "mean"
        The mean over every element, their sum, or no reduction (one loss per element).
    """
    x = _tensor(logits, "logits")
    y = _targets_like(targets, x)
    if np.any((y < 0) | (y > 1)):
        raise ValueError(
            f"binary targets must lie in [0, 1], got values from {y.min()} to {y.max()}"
        )
    _check_reduction(reduction)
    return fused.binary_cross_entropy_with_logits(x, y, reduction)


def _class_labels(targets, n: int | None, k: int, what: str = "class targets") -> np.ndarray:
    """``targets`` as ``n`` class indices in 0..k-1 (intp), or one line saying what is wrong.

    Shared by every loss of class labels (``cross_entropy``, ``nll_loss`` and
    ``tracegrad.compile.label_loss``) and by ``training.confusion_matrix``, so that each
    refuses a label the same way: a negative one would otherwise pick a class from the
    end of a row, silently, and an out-of-range one land in another cell.

    Parameters
    ----------
    targets : array_like or Tensor
        One label per row: integers, or floats with integer values.
    n : int or None
        The number of rows (ValueError for another number of labels); None: any.
    k : int
        The number of classes (ValueError for a label outside 0..k-1).
    what : str, default "class targets"
        What the labels are called in the messages.
    """
    t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if t.dtype.kind == "f":
        if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
            raise TypeError(
                f"{what} must be integers 0..K-1; got non-integer floats "
                "(pass one-hot rows of shape (n, K) for probability targets)"
            )
    elif t.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {t.dtype}")
    if t.ndim != 1:
        raise ValueError(
            f"{what} have shape {t.shape}: expected ({'n' if n is None else n},), one label "
            f"per row (class indices; take argmax(axis=1) of one-hot rows)"
        )
    if n is not None and len(t) != n:
        raise ValueError(f"{len(t)} {what} for {n} rows; one label per row is needed")
    labels = t.astype(np.intp, copy=False)
    # One pass: seen as unsigned, a negative label is huge, so max() catches both ends.
    if labels.size and labels.view(np.uintp).max() >= k:
        raise ValueError(
            f"{what} must lie in 0..{k - 1} for {k} classes, got values from "
            f"{labels.min()} to {labels.max()}; number the classes 0..{k - 1}"
        )
    return labels


def _class_targets(targets, logits: Tensor) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Split targets into (class indices, probability rows), validating either."""
    t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    n, k = logits.shape
    if t.ndim == 1:
        return _class_labels(t, n, k), None
    if t.shape != (n, k):
        raise ValueError(
            f"targets have shape {t.shape}: expected ({n},) class indices or ({n}, {k}) "
            "probability rows"
        )
    if t.dtype.kind not in "biuf" or not np.all(np.isfinite(t)) or np.any(t < 0):
        raise ValueError("probability targets must be finite and non-negative")
    return None, t.astype(logits.dtype, copy=False)


def cross_entropy(logits, targets, reduction: str = "mean") -> Tensor:
    """Softmax cross-entropy of raw scores ``logits`` (n, K).

    Pass logits, not softmax outputs: the softmax is applied here, fused with the
    logarithm so it never overflows.

    Parameters
    ----------
    logits : Tensor or array_like
        Floating point, of shape (n, K) (ValueError otherwise).
    targets : array_like or Tensor
        Class indices 0..K-1 of shape (n,) (integers, or floats with integer values),
        or probability / one-hot rows of shape (n, K), finite and non-negative.
    reduction : {"mean", "sum", "none"}, default "mean"
        The mean over the rows, their sum, or no reduction (one loss per row).

    Raises
    ------
    ValueError
        For targets of the wrong shape or range, or a loss that is not finite (the
        message says whether the logits were non-finite or too large).
    """
    # Finiteness is checked on the loss itself: one scalar test instead of a pass over z.
    z = _tensor(logits, "logits", check_finite=False)
    if z.ndim != 2:
        raise ValueError(f"logits must be 2-D (samples, classes), got shape {z.shape}")
    _check_reduction(reduction)
    labels, probs = _class_targets(targets, z)
    loss = fused.softmax_cross_entropy(z, labels, probs, reduction)
    if not np.all(np.isfinite(loss.data)):
        bad = z.data[~np.isfinite(z.data)][:3].tolist()
        raise ValueError(
            f"logits contain non-finite values (e.g. {bad}): check the learning rate and the "
            "input scaling"
            if bad
            else "cross-entropy overflowed: the logits are too large; lower the learning rate"
        )
    return loss


def nll_loss(log_probabilities, targets, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of class indices given log-probabilities (n, K).

    With ``log_softmax`` outputs it equals :func:`cross_entropy` of the logits.

    Parameters
    ----------
    log_probabilities : Tensor or array_like
        Floating point and finite, of shape (n, K) (ValueError for another shape).
    targets : array_like or Tensor
        Class indices 0..K-1 of shape (n,) (integers, or floats with integer values;
        TypeError or ValueError for anything else).
    reduction : {"mean", "sum", "none"}, default "mean"
        The mean over the rows, their sum, or no reduction (one loss per row).
    """
    lp = _tensor(log_probabilities, "log_probabilities")
    if lp.ndim != 2:
        raise ValueError(
            f"log_probabilities must be 2-D (N, K), samples by classes, got shape {lp.shape}; "
            "for one sample pass log_probabilities.reshape(1, -1)"
        )
    labels = _class_labels(targets, *lp.shape)
    return _reduce(-lp[np.arange(len(labels)), labels], reduction)


def l2_penalty(model, lam: float, m: int) -> Tensor:
    """The notes' regularization λ/(2m)·Σ‖W‖² over weight matrices only (biases excluded).

    Its gradient with respect to each weight matrix is λ/m·W. The weights are the
    parameters named ``weight`` (``...weight`` in ``model.named_parameters()``).

    Parameters
    ----------
    model : Module
        The network.
    lam : float
        λ, the regularization strength, >= 0 (ValueError otherwise).
    m : int
        The number of training examples, > 0 (ValueError otherwise).

    Returns
    -------
    Tensor
        A scalar, to add to the loss; ``Tensor(0.0)`` for a model without weights.
    """
    if lam < 0:
        raise ValueError(f"the regularization strength must be >= 0, got {lam}")
    if m <= 0:
        raise ValueError(f"m (the number of training examples) must be positive, got {m}")
    weights = [p for name, p in model.named_parameters() if name.split(".")[-1] == "weight"]
    if not weights:
        return Tensor(0.0)
    total = sum(weights[0] * weights[0])
    for w in weights[1:]:
        total = total + sum(w * w)
    return total * (lam / (2 * m))
