"""What ``--task regression`` changes in a run: defaults, refusals, target scaling, scores, plots.

A regression network has an identity output and learns standardized targets
``(t - mean) / std`` with the mean squared error; the saved model ends in a
``Denormalization`` layer that undoes the standardization, so every way of
using it (``model(X)``, ``training.predict``, ``tracegrad predict``) answers
in the targets' own units.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import nn

# The mean squared error's gradient is not bounded as softmax cross-entropy's is, and
# its curvature grows with the hidden width: the (momentum) SGD steps that suit
# classification diverge on 128 units. A fifth of them trains the defaults stably.
SGD_FAMILY_LR_FACTOR = 0.2

# Outputs that cannot reach standardized targets (bounded or non-negative) or that
# tie the outputs together (softmax sums to one): a contradiction, refused.
_ONLY_OUTPUT = "identity"


def resolve(config, given: set, default_lr: dict):
    """``config`` with regression's defaults; ``ValueError`` for options that contradict it.

    ``given`` names the options the user chose, ``default_lr`` the learning rate of each
    optimizer for classification (``experiment.DEFAULT_LR``).
    """
    if config.task != "regression":
        return config
    if config.loss == "cross_entropy":
        if "loss" in given:
            raise ValueError(
                "--loss cross_entropy compares class probabilities and --task regression has "
                "no classes: use --loss mse (the default for regression) or quadratic"
            )
        config = replace(config, loss="mse")
    if config.lr is None and config.optimizer in ("sgd", "momentum", "nesterov"):
        config = replace(config, lr=default_lr[config.optimizer] * SGD_FAMILY_LR_FACTOR)
    if nn.layers.ACTIVATIONS.get(config.output) is not nn.layers.ACTIVATIONS[_ONLY_OUTPUT]:
        raise ValueError(
            f"--output {config.output} bounds or ties together the outputs, and a regression "
            "predicts any real value: use --output identity (the default)"
        )
    return config


class TargetScaling:
    """The training targets' mean and standard deviation (a constant column keeps std 1)."""

    def __init__(self, y):
        y = np.asarray(y, dtype=np.float64)
        self.mean = y.mean(axis=0)
        std = y.std(axis=0)
        # float32 keeps the layer's scale: a smaller one would be refused as subnormal.
        self.std = np.where(std > np.finfo(np.float32).tiny, std, 1.0)

    def transform(self, y):
        return ((np.asarray(y, np.float64) - self.mean) / self.std).astype(np.float32)

    def layer(self) -> nn.Denormalization:
        """The layer that maps the network's outputs back to the targets' units."""
        return nn.Denormalization(self.mean.astype(np.float32), self.std.astype(np.float32))


def metrics(saved, test, loss_value: float) -> dict:
    """Test R², RMSE and MAE of the saved model (raw inputs in, target units out)."""
    from . import training

    scores = training.regression_scores(test.y, training.metrics.outputs(saved, test.X))
    return {
        "test_r2": scores["r2"],
        "test_rmse": scores["rmse"],
        "test_mae": scores["mae"],
        "test_loss": float(loss_value),
    }


def plots(saved, history, train, test, out_dir) -> dict:
    """Predicted-vs-true on the test part; for one input, the fitted curve over the data."""
    from . import fit_plots, training
    from . import plots as p

    files = {}
    if history.get("loss"):
        files["learning_curves"] = p.learning_curves(history, out_dir / "learning_curves.png")
    predicted = training.metrics.outputs(saved, test.X)
    files["predicted_vs_true"] = fit_plots.predicted_vs_true(
        test.y, predicted, out_dir / "predicted_vs_true.png", target_names=train.target_names
    )
    if train.n_features == 1 and train.n_outputs == 1:
        files["fit"] = fit_plots.fitted_curve(
            lambda x: training.metrics.outputs(saved, x), train.X, train.y, out_dir / "fit.png"
        )
    return files
