"""``MLPRegressor``: scikit-learn's multilayer-perceptron regressor, trained by tracegrad."""

from __future__ import annotations

import numpy as np
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d, validate_data

from ._base import BaseMLP, has_stochastic_solver
from ._docs import ATTRIBUTES, PARAMETERS


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multilayer-perceptron regressor with ``sklearn.neural_network.MLPRegressor``'s API.

    An identity output with half squared error (``loss="squared_error"``), or an
    exponential output with half the Poisson deviance (``loss="poisson"``); several
    target columns train one output unit each.
    """

    __doc__ += (
        PARAMETERS.replace(
            "    ----------\n",
            "    ----------\n"
            "    loss : {'squared_error', 'poisson'}, default='squared_error'\n"
            "        The loss, and with it the output unit (the first positional argument,\n"
            "        as in scikit-learn).\n",
            1,
        )
        + ATTRIBUTES
    )

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        dropout=0.0,
        initializer=None,
        dtype=np.float32,
    ):
        self.loss = loss
        super().__init__(
            hidden_layer_sizes,
            activation,
            solver=solver,
            alpha=alpha,
            batch_size=batch_size,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            power_t=power_t,
            max_iter=max_iter,
            shuffle=shuffle,
            random_state=random_state,
            tol=tol,
            verbose=verbose,
            warm_start=warm_start,
            momentum=momentum,
            nesterovs_momentum=nesterovs_momentum,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            n_iter_no_change=n_iter_no_change,
            max_fun=max_fun,
            dropout=dropout,
            initializer=initializer,
            dtype=dtype,
        )

    def _validate_input(self, X, y, incremental, reset):
        if self.loss not in ("squared_error", "poisson"):
            raise ValueError(f"loss must be 'squared_error' or 'poisson', got {self.loss!r}")
        X, y = validate_data(
            self,
            X,
            y,
            multi_output=True,
            y_numeric=True,
            dtype=(np.float64, np.float32),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("loss='poisson' needs targets >= 0 (counts or rates)")
        return X, y

    def _output_activation(self) -> str:
        return "exp" if self.loss == "poisson" else "identity"

    def _stratify(self) -> bool:
        return False

    def _loss_targets(self, y, dtype):
        return y.astype(dtype)

    def _score_targets(self, y):
        return y

    def _score_output(self, output, y):
        if not np.isfinite(output).all():
            return np.nan
        return r2_score(y, output.ravel() if output.shape[1] == 1 else output)

    def _trace_targets(self, y):
        y = np.asarray(y, dtype=self.coefs_[0].dtype)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def predict(self, X):
        """Predicted targets, shape (n_samples,) or (n_samples, n_outputs).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The inputs, with the features ``fit`` saw.
        """
        out = self._forward(X).astype(np.float64, copy=False)  # scikit-learn's regressors
        return out.ravel() if out.shape[1] == 1 else out

    @available_if(has_stochastic_solver)
    def partial_fit(self, X, y):
        """One epoch over ``X, y``, continuing from the current weights.

        Only for the minibatch solvers (``sgd``, ``adam``), as in scikit-learn.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The inputs.
        y : array_like of shape (n_samples,) or (n_samples, n_outputs)
            The targets.

        Returns
        -------
        MLPRegressor
            ``self``.
        """
        return self._fit(X, y, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
