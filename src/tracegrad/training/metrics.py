"""What a trained network says about data: outputs, probabilities, classes and scores.

Everything here runs in eval mode (dropout off), in batches, without recording
gradients, and puts the model back in the mode it was in.
"""

from __future__ import annotations

import numpy as np

from ..datasets import Dataset
from ..losses import _class_labels
from ..nn.layers import LogSoftmax, Sigmoid, Softmax
from ..nn.module import Sequential
from ..nn.preprocessing import Denormalization
from ..tensor import Tensor, no_grad


def as_xy(data, y=None) -> tuple:
    """``(X, y)`` from a ``Dataset``, an ``(X, y)`` pair, or ``X`` and ``y`` given apart."""
    if isinstance(data, Dataset):
        return data.X, data.y
    if y is None and isinstance(data, (tuple, list)) and len(data) == 2:
        return data
    if y is None:
        raise TypeError("pass the data as a Dataset, an (X, y) pair, or X and y separately")
    return data, y


def as_features(model, X) -> np.ndarray:
    """``X`` as a 2-D array in the dtype of the model's parameters (float32 stays float32)."""
    X = np.asarray(X)
    params = model.parameters()
    dtype = params[0].dtype if params else np.float32
    if X.ndim != 2:
        raise ValueError(
            f"X has shape {X.shape}: expected 2-D (samples, features); "
            "flatten images with X.reshape(len(X), -1)"
        )
    return X.astype(dtype, copy=False)


def output_kind(model) -> str:
    """``"logits"``, ``"probabilities"`` or ``"log_probabilities"``, from the last layer.

    For an ``MLP`` this is its ``output`` activation: identity gives logits,
    softmax and sigmoid give probabilities, log_softmax log-probabilities.
    """
    last = model
    while isinstance(last, Sequential) and len(last):
        last = last.layers[-1]
    if isinstance(last, LogSoftmax):  # before Softmax: LogSoftmax subclasses it
        return "log_probabilities"
    if isinstance(last, (Softmax, Sigmoid)):
        return "probabilities"
    return "logits"


def outputs(model, X, batch_size: int = 1024) -> np.ndarray:
    """The model's raw outputs for every row of ``X``, computed in batches."""
    X = as_features(model, X)
    if len(X) == 0:
        raise ValueError("X has no rows: there is nothing to predict")
    modes = [(m, m.training) for _, m in model.named_modules()]
    model.eval()
    try:
        with no_grad():
            chunks = [
                model(Tensor(X[i : i + batch_size])).data for i in range(0, len(X), batch_size)
            ]
    finally:
        for m, mode in modes:  # each sub-module back to its own mode
            m.training = mode
    return np.concatenate(chunks)


def is_regression(model) -> bool:
    """Whether ``model`` predicts values: its last layer maps outputs back to target units.

    Parameters
    ----------
    model : Module
        The network; True when its last layer (inside nested ``Sequential``) is a
        ``Denormalization``.
    """
    last = model
    while isinstance(last, Sequential) and len(last):
        last = last.layers[-1]
    return isinstance(last, Denormalization)


def regression_scores(y_true, y_pred) -> dict:
    """``r2`` (1 - SS_res / SS_tot, averaged over outputs, as scikit-learn), ``rmse``, ``mae``.

    Computed in float64 in the targets' units. A constant target column has no
    variance to explain: its R² is 1 for a perfect fit and 0 otherwise (scikit-learn's rule).

    Parameters
    ----------
    y_true, y_pred : array_like
        Targets and predictions, shape (n,) or (n, outputs), the same once each is
        made 2-D (ValueError otherwise).

    Returns
    -------
    dict
        ``{"r2": float, "rmse": float, "mae": float}``.
    """
    t = np.asarray(y_true, dtype=np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, dtype=np.float64).reshape(len(y_pred), -1)
    if t.shape != p.shape:
        raise ValueError(f"targets of shape {t.shape} but predictions of shape {p.shape}")
    residual = ((t - p) ** 2).sum(axis=0)
    total = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(total > 0, 1 - residual / total, np.where(residual == 0, 1.0, 0.0))
    return {
        "r2": float(r2.mean()),
        "rmse": float(np.sqrt(((t - p) ** 2).mean())),
        "mae": float(np.abs(t - p).mean()),
    }


def to_probabilities(model, out: np.ndarray) -> np.ndarray:
    """Turn outputs into probabilities: softmax of logits, or sigmoid of a single logit column."""
    kind = output_kind(model)
    if kind == "log_probabilities":
        return np.exp(out)
    if kind == "probabilities":
        return out
    if out.ndim == 1 or out.shape[1] == 1:
        return 0.5 * (1.0 + np.tanh(0.5 * out))  # the sigmoid, without overflow in exp
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def to_classes(model, out: np.ndarray) -> np.ndarray:
    """Class indices: the largest output, or ``p >= 0.5`` for a single output column."""
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    return (to_probabilities(model, out).reshape(len(out)) >= 0.5).astype(np.int64)


def predict_proba(model, X, batch_size: int = 1024) -> np.ndarray:
    """Class probabilities for each row of ``X``, shape (n, K), or (n, 1) for one output.

    Logits go through a softmax (a sigmoid for one column); softmax, sigmoid and
    log-softmax outputs are read as they are.

    Parameters
    ----------
    model : Module
        The trained network; run in eval mode, without gradients, and put back in
        the mode it was in.
    X : array_like
        Inputs of shape (n, features), n >= 1 (ValueError otherwise: flatten images).
    batch_size : int, default 1024
        Rows per forward pass.

    Raises
    ------
    ValueError
        For a regression model (see :func:`is_regression`).
    """
    if is_regression(model):
        raise ValueError("a regression model predicts values, not probabilities: use predict")
    return to_probabilities(model, outputs(model, X, batch_size))


def predict(model, X, batch_size: int = 1024) -> np.ndarray:
    """The predicted class of each row of ``X``, or the predicted values of a regression model.

    Classes are int64 indices: the largest output, or ``p >= 0.5`` for one output
    column. A regression model (see :func:`is_regression`) gives its values, shape
    (n,) for one output or (n, outputs).

    Parameters
    ----------
    model : Module
        The trained network; run in eval mode, without gradients, and put back in
        the mode it was in.
    X : array_like
        Inputs of shape (n, features), n >= 1 (ValueError otherwise: flatten images).
    batch_size : int, default 1024
        Rows per forward pass.
    """
    if is_regression(model):
        out = outputs(model, X, batch_size)
        return out[:, 0] if out.shape[1] == 1 else out
    return to_classes(model, outputs(model, X, batch_size))


def target_kind(y) -> str | None:
    """How targets name classes: ``"labels"`` (integers, or 0/1 for one output),
    ``"onehot"`` (rows with a single 1), or None for regression targets (no accuracy)."""
    y = np.asarray(y)
    column = y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)
    if y.dtype.kind in "biu":
        return "labels" if column else None
    binary = y.size > 0 and bool(np.all((y == 0) | (y == 1)))
    if column and binary:
        return "labels"
    if y.ndim == 2 and binary and bool(np.all(y.sum(axis=1) == 1)):
        return "onehot"
    return None


def true_classes(y, kind: str) -> np.ndarray:
    """Class indices of targets of the given :func:`target_kind`."""
    y = np.asarray(y)
    return y.argmax(axis=1) if kind == "onehot" else y.reshape(len(y)).astype(np.int64)


def confusion_matrix(true, predicted, n_classes: int) -> np.ndarray:
    """Counts of (true class, predicted class) pairs: rows are true, columns predicted.

    Parameters
    ----------
    true, predicted : array_like of int
        Class indices, one per sample, each a whole number in 0..n_classes-1
        (ValueError naming the first label outside, or of different lengths).
    n_classes : int
        K, the matrix's size.

    Returns
    -------
    numpy.ndarray
        Integer counts of shape (K, K).
    """
    n_classes = int(n_classes)
    true = _class_indices(true, "true", n_classes)
    predicted = _class_indices(predicted, "predicted", n_classes)
    if len(true) != len(predicted):
        raise ValueError(
            f"confusion_matrix: {len(true)} true labels but {len(predicted)} predicted; "
            "pass one of each per sample"
        )
    pairs = true * n_classes + predicted
    return np.bincount(pairs, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def _class_indices(labels, which: str, n_classes: int) -> np.ndarray:
    """``labels`` as class indices, by the losses' one rule (bool predictions count as 0/1)."""
    labels = np.asarray(labels)
    if labels.dtype == bool:
        labels = labels.astype(np.int64)
    try:
        return _class_labels(labels, None, n_classes, what=f"{which} labels")
    except (TypeError, ValueError) as e:
        raise type(e)(f"confusion_matrix: {e}") from None


def evaluate(model, X, y=None, loss=None, batch_size: int = 1024) -> dict:
    """Score ``model`` on ``X`` (or a Dataset / ``(X, y)`` pair) against targets ``y``.

    Parameters
    ----------
    model : Module
        The trained network (run as :func:`predict` runs it).
    X : array_like, Dataset or (X, y)
        Inputs of shape (n, features), or the data with its targets.
    y : array_like, optional
        The targets, when ``X`` holds inputs only: class indices, one-hot rows, or
        values (TypeError when neither gives them).
    loss : callable, optional
        ``loss(output, y)``, e.g. ``losses.cross_entropy``, to report its value.
    batch_size : int, default 1024
        Rows per forward pass.

    Returns
    -------
    dict
        ``loss`` (if a loss function is given: its value over all of ``X``),
        and for class targets ``accuracy``, ``confusion_matrix`` (K x K, rows
        true class, columns predicted), per-class ``precision`` and ``recall``
        (arrays of length K; 0 for a class never predicted or never present).
        For a regression model (see :func:`is_regression`), or continuous
        targets, :func:`regression_scores` instead: ``r2``, ``rmse``, ``mae``.
    """
    X, y = as_xy(X, y)
    out = outputs(model, X, batch_size)
    result = {}
    if loss is not None:
        with no_grad():
            result["loss"] = float(loss(Tensor(out), y).item())
    kind = target_kind(y)
    if is_regression(model) or (kind is None and np.size(out) == np.size(y)):
        result.update(regression_scores(y, out))
        return result
    if kind is None:
        return result
    true, predicted = true_classes(y, kind), to_classes(model, out)
    k = max(out.shape[1] if out.ndim == 2 and out.shape[1] > 1 else 2, true.max() + 1)
    cm = confusion_matrix(true, predicted, int(k))
    hits = np.diag(cm).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(hits / cm.sum(axis=0))
        recall = np.nan_to_num(hits / cm.sum(axis=1))
    result.update(
        accuracy=float(hits.sum() / len(true)),
        confusion_matrix=cm,
        precision=precision,
        recall=recall,
    )
    return result
