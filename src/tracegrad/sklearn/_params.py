"""Checking the estimators' constructor arguments, where ``fit`` first sees them.

scikit-learn's rule is that ``__init__`` only stores its arguments; their values are
checked when ``fit`` runs, so ``set_params`` and ``GridSearchCV`` can change them
freely. Each check names the parameter, the value and what is allowed.
"""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

ACTIVATIONS = ("identity", "logistic", "tanh", "relu")
SOLVERS = ("lbfgs", "sgd", "adam")
LEARNING_RATES = ("constant", "invscaling", "adaptive")
DTYPES = {"float32": np.float32, "float64": np.float64}


def _number(name, value, low=None, high=None, low_open=False, high_open=False, integer=False):
    kind = Integral if integer else Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if too_low or too_high or value != value:  # value != value: NaN
        lo = "" if low is None else f"{low} {'<' if low_open else '<='} "
        hi = "" if high is None else f" {'<' if high_open else '<='} {high}"
        raise ValueError(f"{name} must satisfy {lo}{name}{hi}, got {value!r}")


def _choice(name, value, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}; got {value!r}")


def _boolean(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")


def hidden_layer_sizes(value) -> list[int]:
    """The hidden widths as a list: an int means one hidden layer, () none."""
    sizes = list(value) if hasattr(value, "__iter__") else [value]
    for s in sizes:
        if isinstance(s, bool) or not isinstance(s, Integral) or s < 1:
            raise ValueError(
                f"hidden_layer_sizes must be positive integers, got {value!r}: "
                "pass e.g. (100,) or (64, 32)"
            )
    return [int(s) for s in sizes]


def model_dtype(value):
    """``np.float32`` / ``np.float64`` from the ``dtype`` argument (None: follow X)."""
    if value is None:
        return None
    key = value if isinstance(value, str) else getattr(np.dtype(value), "name", None)
    if key not in DTYPES:
        raise ValueError(f"dtype must be float32, float64 or None (follow X), got {value!r}")
    return DTYPES[key]


def validate(est) -> None:
    """Raise ValueError naming the first argument of ``est`` that is out of range."""
    hidden_layer_sizes(est.hidden_layer_sizes)
    _choice("activation", est.activation, ACTIVATIONS)
    _choice("solver", est.solver, SOLVERS)
    _number("alpha", est.alpha, low=0)
    if not (isinstance(est.batch_size, str) and est.batch_size == "auto"):
        _number("batch_size", est.batch_size, low=1, integer=True)
    _choice("learning_rate", est.learning_rate, LEARNING_RATES)
    _number("learning_rate_init", est.learning_rate_init, low=0, low_open=True)
    _number("power_t", est.power_t, low=0)
    _number("max_iter", est.max_iter, low=1, integer=True)
    _boolean("shuffle", est.shuffle)
    _number("tol", est.tol, low=0)
    _boolean("warm_start", est.warm_start)
    _number("momentum", est.momentum, low=0, high=1)
    _boolean("nesterovs_momentum", est.nesterovs_momentum)
    _boolean("early_stopping", est.early_stopping)
    _number("validation_fraction", est.validation_fraction, low=0, high=1, high_open=True)
    _number("beta_1", est.beta_1, low=0, high=1, high_open=True)
    _number("beta_2", est.beta_2, low=0, high=1, high_open=True)
    _number("epsilon", est.epsilon, low=0, low_open=True)
    if est.n_iter_no_change != np.inf:
        _number("n_iter_no_change", est.n_iter_no_change, low=1, integer=True)
    _number("max_fun", est.max_fun, low=1, integer=True)
    _number("dropout", est.dropout, low=0, high=1, high_open=True)
    model_dtype(est.dtype)
    if est.initializer is not None:
        from ..nn import init

        init.get(est.initializer)  # raises, listing the known names
