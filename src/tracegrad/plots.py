"""Figures of training: learning curves, confusion matrices, decision boundaries, weights.

Every function takes plain data (lists, arrays, dicts), draws one figure and,
when ``path`` is given, writes it atomically and returns the path; with
``path=None`` it returns the :class:`matplotlib.figure.Figure` instead.

Importing this module selects matplotlib's non-interactive Agg backend, so
figures render the same on a laptop, a server or in CI. The rest of tracegrad
never imports matplotlib: ``import tracegrad`` stays fast, and this module is
loaded only where a plot is asked for. Regression figures (predicted against
true values, fitted curves) are in ``tracegrad.fit_plots``, built on the helpers here.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")  # must precede the pyplot import to take effect without a display

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .atomic import atomic_write  # noqa: E402

__all__ = [
    "learning_curves", "confusion_matrix", "decision_boundary", "first_layer_weights",
    "histograms",
]  # fmt: skip

DPI = 110
TRAIN_COLOR = "tab:blue"
VAL_COLOR = "tab:orange"


# -- shared helpers -----------------------------------------------------------------------
def _as_array(x, dtype=None) -> np.ndarray:
    """An ndarray from an array, a list or a tracegrad Tensor/Parameter (its ``.data``)."""
    if not isinstance(x, np.ndarray) and isinstance(getattr(x, "data", None), np.ndarray):
        x = x.data
    return np.asarray(x, dtype=dtype)


def _new_figure(figsize) -> plt.Figure:
    # Constrained layout is matplotlib's tight layout that also makes room for
    # colorbars and suptitles, which plain tight_layout() overlaps.
    return plt.figure(figsize=figsize, dpi=DPI, layout="constrained")


def _finish(fig, path):
    """Save ``fig`` to ``path`` atomically and close it, or return it when ``path`` is None."""
    if path is None:
        plt.close(fig)  # detach from pyplot so figures do not pile up; still drawable
        return fig
    path = Path(path)
    try:
        fmt = path.suffix.lstrip(".").lower() or "png"
        supported = fig.canvas.get_supported_filetypes()
        if fmt not in supported:
            raise ValueError(
                f"cannot save a figure as {path.name!r}: use one of the suffixes "
                f"{', '.join('.' + s for s in sorted(supported))}"
            )
        with atomic_write(path) as f:
            fig.savefig(f, format=fmt, dpi=DPI)
    finally:
        plt.close(fig)
    return path


def _grid(n: int, max_cols: int) -> tuple[int, int]:
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


# -- learning curves ----------------------------------------------------------------------
def learning_curves(history, path=None, title=None):
    """Loss (and accuracy, when recorded) per epoch, training against validation.

    Parameters
    ----------
    history : dict or object with ``as_dict()``
        Per-epoch lists under any of ``loss``, ``val_loss``, ``accuracy``,
        ``val_accuracy``; other keys are ignored, ``None`` entries are gaps.
    path : str or Path, optional
        Where to save the figure; ``None`` returns the Figure.
    title : str, optional
        Figure title (default ``"Learning curves"``).
    """
    if hasattr(history, "as_dict"):
        history = history.as_dict()
    panels = []  # (panel name, [history keys present]); a panel only if it has a curve
    for name, key in (("Loss", "loss"), ("Accuracy", "accuracy")):
        keys = [k for k in (key, "val_" + key) if history.get(k) is not None and len(history[k])]
        if keys:
            panels.append((name, keys))
    if not panels:
        raise ValueError(
            "history has nothing to plot: expected per-epoch lists under 'loss', 'val_loss', "
            f"'accuracy' or 'val_accuracy', got keys {sorted(history)}"
        )

    fig = _new_figure((5.0 * len(panels), 3.8))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, keys) in zip(axes, panels, strict=True):
        for key in keys:
            values = np.array([np.nan if v is None else v for v in history[key]], dtype=float)
            epochs = np.arange(1, len(values) + 1)
            is_val = key.startswith("val_")
            label, color = ("validation", VAL_COLOR) if is_val else ("training", TRAIN_COLOR)
            marker = "o" if len(values) <= 30 else None  # dots help read short runs only
            ax.plot(epochs, values, color=color, label=label, marker=marker, markersize=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name.lower())
        ax.set_title(name)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 2.5
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title or "Learning curves")
    return _finish(fig, path)


# -- confusion matrix ---------------------------------------------------------------------
def confusion_matrix(matrix, class_names=None, path=None, normalize=False, title=None):
    """A K x K confusion matrix as a heat map, rows true classes, columns predicted.

    Parameters
    ----------
    matrix : array_like, shape (K, K)
        Counts: ``matrix[i, j]`` samples of class ``i`` predicted as ``j``.
    class_names : sequence of str, optional
        Tick labels (default ``0 .. K-1``).
    path : str or Path, optional
        Where to save the figure; ``None`` returns the Figure.
    normalize : bool
        Divide each row by its total, so cells read as recall per true class.
    title : str, optional
        Figure title.
    """
    counts = _as_array(matrix, dtype=float)
    if counts.ndim != 2 or counts.shape[0] != counts.shape[1]:
        raise ValueError(f"expected a square (K, K) matrix of counts, got shape {counts.shape}")
    k = counts.shape[0]
    names = [str(c) for c in (range(k) if class_names is None else class_names)]
    if len(names) != k:
        raise ValueError(f"got {len(names)} class names for a {k} x {k} matrix")
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        # A class absent from the true labels has an all-zero row: keep it zero, not NaN.
        values = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    else:
        values = counts

    side = min(max(4.5, 0.5 * k + 2.5), 14.0)
    fig = _new_figure((side + 1.0, side))
    ax = fig.add_subplot()
    image = ax.imshow(values, cmap="Blues", vmin=0, vmax=1 if normalize else None)
    fig.colorbar(image, ax=ax, label="fraction of true class" if normalize else "count")
    if k <= 30:  # beyond this the numbers are too small to read
        fmt = "{:.2f}" if normalize else "{:.0f}"
        fontsize = 9 if k <= 12 else 6
        for (i, j), v in np.ndenumerate(values):
            # Dark cells get white text; the colormap is dark above the middle of its range.
            color = "white" if image.norm(v) > 0.5 else "black"
            ax.text(j, i, fmt.format(v), ha="center", va="center", color=color, fontsize=fontsize)
    long_names = max(map(len, names)) > 3
    ax.set_xticks(range(k), names, rotation=45 if long_names else 0,
                  ha="right" if long_names else "center")  # fmt: skip
    ax.set_yticks(range(k), names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title or ("Confusion matrix (normalized by row)" if normalize
                           else "Confusion matrix"))  # fmt: skip
    return _finish(fig, path)


# -- decision boundary --------------------------------------------------------------------
def _class_colors(n_classes: int) -> np.ndarray:
    base = plt.get_cmap("tab10" if n_classes <= 10 else "tab20")
    return np.array([base(i % base.N) for i in range(n_classes)])


def _to_class_indices(out, n: int) -> np.ndarray:
    out = _as_array(out)
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(axis=1)
    if out.ndim == 2 and out.shape[1] == 1:
        return (out[:, 0] > 0.5).astype(int)  # one probability column: P(class 1)
    out = out.reshape(-1)
    if out.dtype == bool:  # e.g. ``lambda P: P[:, 0] > 0``
        out = out.astype(int)
    if out.shape[0] != n or not np.all(out == np.round(out)):
        raise ValueError(
            f"predict_fn must return {n} class indices or an ({n}, K) array of probabilities, "
            f"got an array of shape {out.shape} and dtype {out.dtype}"
        )
    return out.astype(int)


def decision_boundary(predict_fn, X, y, path=None, resolution=300, class_names=None, title=None):
    """Regions a classifier assigns to each class, over 2-D data.

    Parameters
    ----------
    predict_fn : callable
        ``predict_fn(points)`` for ``points`` of shape (n, 2) returns class
        indices (n,), or probabilities/scores (n, K) whose argmax is taken.
    X : array_like, shape (n, 2)
        The data points, drawn over the regions.
    y : array_like, shape (n,)
        Their integer class labels.
    path : str or Path, optional
        Where to save the figure; ``None`` returns the Figure.
    resolution : int
        Grid points along each axis.
    class_names : sequence of str, optional
        Legend labels (default ``class 0 .. class K-1``).
    title : str, optional
        Figure title.
    """
    X = _as_array(X, dtype=float)
    y = _as_array(y).reshape(-1).astype(int)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(
            f"decision_boundary needs 2-D points, X of shape (n, 2); got {X.shape}: "
            "project the data to two features first"
        )
    if len(y) != len(X):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")

    lo, hi = X.min(axis=0), X.max(axis=0)
    margin = np.where(hi > lo, 0.1 * (hi - lo), 1.0)
    xs = np.linspace(lo[0] - margin[0], hi[0] + margin[0], resolution)
    ys = np.linspace(lo[1] - margin[1], hi[1] + margin[1], resolution)
    xx, yy = np.meshgrid(xs, ys)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    zz = _to_class_indices(predict_fn(grid), len(grid)).reshape(xx.shape)

    k = int(max(zz.max(), y.max() if len(y) else 0)) + 1
    if class_names is not None:
        k = max(k, len(class_names))
    if class_names is None:
        names = [f"class {i}" for i in range(k)]
    else:
        names = [str(c) for c in class_names]
    colors = _class_colors(k)

    fig = _new_figure((6.0, 5.0))
    ax = fig.add_subplot()
    # Levels at half-integers put each integer class in its own band of one colour.
    ax.contourf(xx, yy, zz, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colors),
                alpha=0.35)  # fmt: skip
    for c in range(k):
        mask = y == c
        if mask.any():
            ax.scatter(X[mask, 0], X[mask, 1], color=colors[c], edgecolors="black",
                       linewidths=0.6, s=22, label=names[c])  # fmt: skip
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("$x_0$")
    ax.set_ylabel("$x_1$")
    ax.set_title(title or "Decision boundary")
    ax.legend(loc="best", fontsize=8, framealpha=0.8)
    return _finish(fig, path)


# -- weights ------------------------------------------------------------------------------
def first_layer_weights(weight, image_shape, path=None, max_units=64, title=None):
    """Each hidden unit's incoming weights drawn as an image, one panel per unit.

    Parameters
    ----------
    weight : array_like, shape (units, features)
        A first ``Linear`` layer's ``weight`` (its rows are units).
    image_shape : tuple of int
        ``(height, width)`` with ``height * width == features``, e.g. ``(28, 28)``.
    path : str or Path, optional
        Where to save the figure; ``None`` returns the Figure.
    max_units : int
        Draw only the first ``max_units`` rows.
    title : str, optional
        Figure title.
    """
    W = _as_array(weight, dtype=float)
    image_shape = tuple(int(s) for s in image_shape)
    features = math.prod(image_shape)
    if W.ndim != 2 or W.shape[1] != features:
        hint = ""
        if W.ndim == 2 and W.shape[0] == features:
            hint = ": it looks transposed, pass weight.T"
        raise ValueError(
            f"expected a (units, {features}) weight matrix for images of shape {image_shape}, "
            f"got {W.shape}{hint}"
        )
    W = W[:max_units]
    n = len(W)
    rows, cols = _grid(n, max_cols=math.ceil(math.sqrt(n)))
    # One symmetric scale for all panels: white is 0, and units compare by colour.
    vmax = float(np.abs(W).max()) or 1.0

    fig = _new_figure((1.2 * cols + 1.2, 1.2 * rows + 0.6))
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.set_axis_off()
            continue
        image = ax.imshow(W[i].reshape(image_shape), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    fig.colorbar(image, ax=axes, shrink=0.8, label="weight")
    fig.suptitle(title or f"First-layer weights ({n} of {len(_as_array(weight))} units)")
    return _finish(fig, path)


def histograms(named_arrays, path=None, title=None):
    """One histogram per named array: weights and, when given, their gradients.

    Parameters
    ----------
    named_arrays : dict of str -> array_like
        For example ``{name: p.data for name, p in model.named_parameters()}``
        merged with ``{name + ".grad": p.grad ...}``. ``None`` values (no
        gradient yet) are skipped; names containing ``grad`` are drawn in another colour.
    path : str or Path, optional
        Where to save the figure; ``None`` returns the Figure.
    title : str, optional
        Figure title.
    """
    items = [(str(name), _as_array(a, dtype=float).ravel())
             for name, a in dict(named_arrays).items() if a is not None]  # fmt: skip
    if not items:
        raise ValueError("named_arrays is empty: pass a dict of name -> array")
    rows, cols = _grid(len(items), max_cols=4)

    fig = _new_figure((3.2 * cols, 2.6 * rows + 0.4))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (name, values) in zip(axes.flat, items, strict=False):
        finite = values[np.isfinite(values)]
        color = "tab:red" if "grad" in name else TRAIN_COLOR
        ax.hist(finite, bins=min(50, max(5, int(np.sqrt(finite.size)))), color=color, alpha=0.8)
        bad = values.size - finite.size
        stats = f"mean {finite.mean():.3g}, std {finite.std():.3g}" if finite.size else "no data"
        ax.set_title(f"{name}\n{stats}" + (f", {bad} non-finite" if bad else ""), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("value", fontsize=7)
        ax.set_ylabel("count", fontsize=7)
    for ax in axes.flat[len(items) :]:
        ax.set_axis_off()
    fig.suptitle(title or "Parameter histograms")
    return _finish(fig, path)
