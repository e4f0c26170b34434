"""Figures of regression fits: predicted against true values, and a fitted curve over its data.

Kept apart from ``plots`` (classification and training figures), whose helpers
they share: the same atomic writes, suffix checks and figure style.
"""

from __future__ import annotations

import numpy as np

from .plots import _as_array, _finish, _new_figure, plt

__all__ = ["fitted_curve", "predicted_vs_true", "curves"]

DATA_COLOR = "0.55"


def predicted_vs_true(y_true, y_pred, path=None, target_names=None, title=None):
    """Scatter of predicted against true values (one panel per target), with the diagonal.

    Points on the dashed line ``predicted = true`` are perfect predictions;
    the title of each panel gives its R².
    """
    from .training.metrics import regression_scores

    t = _as_array(y_true, np.float64).reshape(len(y_true), -1)
    p = _as_array(y_pred, np.float64).reshape(len(y_pred), -1)
    k = t.shape[1]
    names = list(target_names or [f"y{j}" for j in range(k)])
    fig = _new_figure((4.2 * min(k, 3), 4.0 * ((k + 2) // 3)))
    for j in range(k):
        ax = fig.add_subplot((k + 2) // 3, min(k, 3), j + 1)
        ax.scatter(t[:, j], p[:, j], s=12, alpha=0.6, color="tab:blue", edgecolors="none")
        low, high = min(t[:, j].min(), p[:, j].min()), max(t[:, j].max(), p[:, j].max())
        ax.plot([low, high], [low, high], "--", color="0.3", linewidth=1)
        r2 = regression_scores(t[:, j], p[:, j])["r2"]
        ax.set_title(f"{names[j]}: R² = {r2:.3f}")
        ax.set_xlabel("true")
        ax.set_ylabel("predicted")
    if title:
        fig.suptitle(title)
    return _finish(fig, path)


def curves(predict_fns: dict, X, y, path=None, title=None, resolution=400):
    """Several fitted curves ``label -> predict_fn`` over the (one-input) data points."""
    x = _as_array(X, np.float64).reshape(-1)
    t = _as_array(y, np.float64).reshape(-1)
    grid = np.linspace(x.min(), x.max(), resolution).reshape(-1, 1).astype(np.float32)
    fig = _new_figure((6.4, 4.2))
    ax = fig.add_subplot()
    ax.scatter(x, t, s=10, color=DATA_COLOR, alpha=0.7, edgecolors="none", label="data")
    colors = plt.get_cmap("viridis")(np.linspace(0.0, 0.9, max(len(predict_fns), 1)))
    for color, (label, fn) in zip(colors, predict_fns.items(), strict=False):
        values = _as_array(fn(grid), np.float64).reshape(len(grid), -1)[:, 0]
        ax.plot(grid[:, 0], values, color=color, linewidth=2, label=label)
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.legend(fontsize="small")
    if title:
        ax.set_title(title)
    return _finish(fig, path)


def fitted_curve(predict_fn, X, y, path=None, title="fitted curve over the training data"):
    """The model's curve ``predict_fn(x)`` over a one-input data set's points."""
    if _as_array(X).reshape(len(X), -1).shape[1] != 1:
        raise ValueError("fitted_curve draws one input against one output: X needs one column")
    return curves({"model": predict_fn}, X, y, path, title)
