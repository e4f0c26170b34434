"""Tests for tracegrad.plots: valid PNGs written atomically, and figures that show the data."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

plots = pytest.importorskip("tracegrad.plots")
plt = pytest.importorskip("matplotlib.pyplot")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SRC = Path(__file__).resolve().parents[1] / "src"


def assert_png(path: Path) -> np.ndarray:
    """The file is a complete PNG that matplotlib reads back; return its pixels."""
    assert path.read_bytes()[:8] == PNG_SIGNATURE
    pixels = plt.imread(path)
    assert pixels.ndim == 3 and pixels.shape[0] > 100 and pixels.shape[1] > 100
    assert pixels.std() > 0  # something was drawn
    return pixels


def assert_only(directory: Path, *names: str) -> None:
    """No temp files left next to the figures."""
    assert sorted(p.name for p in directory.iterdir()) == sorted(names)


class History:
    def __init__(self, **lists):
        self._lists = lists

    def as_dict(self):
        return dict(self._lists)


def sample_calls(rng):
    """(file name, function, args, kwargs) for one call of each plotting function."""
    history = {
        "loss": [1.0, 0.6, 0.4, 0.3],
        "val_loss": [1.1, 0.7, 0.55, 0.5],
        "accuracy": [0.5, 0.7, 0.8, 0.85],
        "val_accuracy": [0.45, 0.65, 0.75, 0.78],
    }
    X = rng.normal(size=(60, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    weight = rng.normal(size=(12, 64))
    named = {"0.weight": weight, "0.weight.grad": 0.01 * weight, "0.bias": rng.normal(size=12)}
    return [
        ("curves.png", plots.learning_curves, (history,), {}),
        ("matrix.png", plots.confusion_matrix, ([[50, 3, 0], [4, 40, 6], [0, 2, 45]],), {}),
        ("boundary.png", plots.decision_boundary, (lambda P: P[:, 0] * P[:, 1] > 0, X, y), {}),
        ("weights.png", plots.first_layer_weights, (weight, (8, 8)), {}),
        ("hists.png", plots.histograms, (named,), {}),
    ]


def test_each_function_writes_a_png_and_nothing_else(tmp_path, rng):
    calls = sample_calls(rng)
    for name, fn, args, kwargs in calls:
        returned = fn(*args, path=tmp_path / name, **kwargs)
        assert Path(returned) == tmp_path / name
        assert_png(tmp_path / name)
    assert_only(tmp_path, *(name for name, *_ in calls))
    assert plt.get_fignums() == []  # every figure was closed


def test_without_path_returns_an_open_figure(rng):
    for _, fn, args, kwargs in sample_calls(rng):
        fig = fn(*args, **kwargs)
        assert isinstance(fig, plt.Figure) and fig.axes
        assert fig.get_suptitle() or fig.axes[0].get_title()
    assert plt.get_fignums() == []


def test_failed_save_leaves_no_file(tmp_path, monkeypatch):
    def broken_savefig(self, *args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plt.Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="disk full"):
        plots.confusion_matrix(np.eye(2), path=tmp_path / "m.png")
    assert_only(tmp_path)


def test_unknown_suffix_is_refused_before_writing(tmp_path):
    with pytest.raises(ValueError, match=r"\.png"):
        plots.confusion_matrix(np.eye(2), path=tmp_path / "m.nope")
    assert_only(tmp_path)


def test_overwrites_an_existing_file(tmp_path):
    target = tmp_path / "m.png"
    target.write_bytes(b"old")
    plots.confusion_matrix(np.eye(3), path=target)
    assert_png(target)
    assert_only(tmp_path, "m.png")


def test_import_tracegrad_does_not_import_matplotlib():
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    code = "import tracegrad, sys; assert 'matplotlib' not in sys.modules, 'matplotlib imported'"
    subprocess.run([sys.executable, "-c", code], env=env, check=True)


def test_decision_boundary_colours_half_planes_differently(tmp_path):
    # Class 1 exactly where x0 > 0: the left and right halves must differ in colour,
    # and each half must be one colour.
    X = np.array([[-2.0, -2.0], [-2.0, 2.0], [2.0, -2.0], [2.0, 2.0]])
    y = np.array([0, 0, 1, 1])
    fig = plots.decision_boundary(lambda P: (P[:, 0] > 0).astype(int), X, y, resolution=101)
    path = tmp_path / "b.png"
    fig.savefig(path, dpi=fig.dpi)  # plain save: data coordinates map straight to pixels
    pixels = assert_png(path)

    ax = fig.axes[0]
    height = pixels.shape[0]

    def colour_at(x0, x1):
        px, py = ax.transData.transform((x0, x1))
        return pixels[int(round(height - py)), int(round(px)), :3]

    left, right = colour_at(-1.0, 0.0), colour_at(1.0, 0.0)
    assert np.abs(left - right).max() > 0.1
    np.testing.assert_allclose(colour_at(-1.0, 1.0), left, atol=0.02)
    np.testing.assert_allclose(colour_at(1.0, -1.0), right, atol=0.02)


def test_decision_boundary_takes_argmax_of_probabilities():
    X = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    y = np.array([0, 1, 2])

    def probabilities(P):
        scores = np.column_stack([-P[:, 0], P[:, 0], P[:, 1] - 0.5])
        return np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)

    fig = plots.decision_boundary(probabilities, X, y, resolution=50)
    regions = fig.axes[0].collections[0]  # the filled contours come first
    assert regions.get_array().size == 3  # one band per class


def test_confusion_matrix_text_and_normalization():
    fig = plots.confusion_matrix([[8, 2], [0, 0]], class_names=["cat", "dog"], normalize=True)
    ax = fig.axes[0]
    texts = {(t.get_position(), t.get_text()): t.get_color() for t in ax.texts}
    assert texts[((0, 0), "0.80")] == "white"  # dark cell
    assert texts[((1, 0), "0.20")] == "black"
    assert texts[((0, 1), "0.00")] == "black"  # empty row stays 0, not NaN
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cat", "dog"]


def test_learning_curves_accepts_history_object_and_loss_only():
    fig = plots.learning_curves(History(loss=[1.0, 0.5], lr=[0.1, 0.1]))
    assert len(fig.axes) == 1  # no accuracy panel when none was recorded
    fig = plots.learning_curves(History(loss=[1.0, 0.5], accuracy=[0.5, 0.9]), title="run 3")
    assert len(fig.axes) == 2 and fig.get_suptitle() == "run 3"


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: plots.learning_curves({"lr": [0.1]}), "nothing to plot"),
        (lambda: plots.confusion_matrix(np.ones((2, 3))), "square"),
        (lambda: plots.decision_boundary(lambda P: P[:, 0] > 0, np.ones((4, 3)), [0] * 4), "2-D"),
        (lambda: plots.first_layer_weights(np.ones((784, 8)), (28, 28)), "weight.T"),
        (lambda: plots.histograms({}), "empty"),
    ],
)
def test_bad_inputs_say_what_to_do(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_first_layer_weights_uses_a_symmetric_scale(rng):
    weight = rng.normal(size=(100, 16)) + 0.5  # skewed positive: the scale must still centre on 0
    fig = plots.first_layer_weights(weight, (4, 4), max_units=9)
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 9
    vmin, vmax = images[0].get_clim()
    assert vmin == -vmax and vmax == pytest.approx(np.abs(weight[:9]).max())
