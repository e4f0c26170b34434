"""The universal-approximation picture: one hidden layer of 1, 2, 4, 8, ... units fitting a sine.

The notes write a network's output as a sum of basis functions,
``z(x) = Σ_j w_j φ(x; θ_j)``, whose parameters θ the hidden layer adapts; with
enough of them any continuous function can be approached (the universal
approximation theorem), though the theorem does not say how many. This demo
makes the statement visible: each width is fitted to the same noisy ``sin(x)``
and drawn over the data, and its mean squared error shrinks as units are added.
The demo's sine has two periods over [-π, π] (``frequency=2``): one period is
already fitted by two units, which leaves little to see.

Each width is fitted by L-BFGS in float64 from a few seeded starts, keeping the
best, so the comparison is between what the widths can represent rather than
between lucky and unlucky initializations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import losses, nn
from .datasets.targets import sine

DEFAULT_UNITS = (1, 2, 4, 8, 16)


@dataclass
class Fit:
    """One width's best fit: its units, its training MSE (target units) and the model."""

    units: int
    mse: float
    model: nn.Module

    def __call__(self, x) -> np.ndarray:
        from .training.metrics import outputs

        return outputs(self.model, np.asarray(x, np.float64).reshape(-1, 1))


def fit_widths(
    units=DEFAULT_UNITS,
    *,
    n_samples: int = 200,
    noise: float = 0.1,
    frequency: float = 2.0,
    seed: int = 0,
    activation: str = "tanh",
    iterations: int = 1000,
    restarts: int = 3,
):
    """Fit a 1-``units``-1 network to the ``sine`` set for each entry of ``units``.

    Returns
    -------
    data : datasets.Targets
        The points every width was fitted to.
    fits : list of Fit
        In the order of ``units``.
    """
    from .training import fit_lbfgs

    units = [int(u) for u in units]
    if not units or min(units) < 1:
        raise ValueError(f"units must be positive whole numbers, got {units}")
    data = sine(n_samples, noise, frequency, seed=seed)
    X, y = data.X.astype(np.float64), data.y.astype(np.float64)
    norm = nn.Normalization(X.mean(axis=0), X.std(axis=0))  # x over [-π, π] -> unit scale
    fits = []
    for width in units:
        best = None
        for start in range(restarts):
            rng = np.random.default_rng([seed, width, start])
            mlp = nn.MLP([1, width, 1], activation=activation, rng=rng, dtype=np.float64)
            model = nn.Sequential(norm, mlp)
            fit_lbfgs(model, losses.mse, (X, y), iterations=iterations)
            mse = _mse(model, X, y)
            if best is None or mse < best.mse:
                best = Fit(width, mse, model)
        fits.append(best)
    return data, fits


def _mse(model, X, y) -> float:
    from .training.metrics import outputs

    return float(np.mean((outputs(model, X) - y) ** 2))


def universal_approximation(units=DEFAULT_UNITS, path=None, **options):
    """Draw the fits of :func:`fit_widths` over the data; return ``(figure or path, fits)``."""
    from .fit_plots import curves

    data, fits = fit_widths(units, **options)
    labelled = {f"{f.units} unit{'s' if f.units > 1 else ''} (MSE {f.mse:.4f})": f for f in fits}
    title = "z(x) = Σ w_j φ(x; θ_j): one hidden layer, more basis functions"
    return curves(labelled, data.X, data.y, path, title=title), fits
