"""What the two estimators share: arguments, fitting with tracegrad, the fitted attributes."""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from .. import training
from . import _l2, _lbfgs, _network, _params
from ._loop import SklearnAdamEpsilon, SklearnEpochs
from ._objective import Objective, traced


class BaseMLP(BaseEstimator):
    """Base class of :class:`MLPClassifier` and :class:`MLPRegressor`; not for direct use."""

    def __init__(
        self,
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
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.dropout = dropout
        self.initializer = initializer
        self.dtype = dtype

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, X, y):
        """Fit the network to ``X`` (n_samples, n_features) and targets ``y``; return self."""
        return self._fit(X, y, incremental=False)

    def _fit(self, X, y, incremental):
        _params.validate(self)
        hidden = _params.hidden_layer_sizes(self.hidden_layer_sizes)
        if self.solver == "lbfgs" and self.dropout > 0:
            raise ValueError("dropout needs solver='sgd' or 'adam': L-BFGS assumes a fixed cost")
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._validate_input(X, y, incremental, reset=first_pass)
        dtype = _params.model_dtype(self.dtype) or X.dtype.type
        X = X.astype(dtype, copy=False)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        layer_units = [X.shape[1], *hidden, y.shape[1]]
        random_state = check_random_state(self.random_state)
        if first_pass:
            self._initialize(y, layer_units, dtype, random_state)
        elif [c.shape[0] for c in self.coefs_] + [self.coefs_[-1].shape[1]] != layer_units:
            raise ValueError(
                f"warm_start/partial_fit continue a network of layers "
                f"{[c.shape[0] for c in self.coefs_] + [self.coefs_[-1].shape[1]]}, but the "
                f"data and hidden_layer_sizes ask for {layer_units}: fit again with "
                "warm_start=False"
            )
        if self.solver == "lbfgs":
            rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
            network = self._sync_network(dtype, rng)
            _lbfgs.fit(self, network, X, self._loss_targets(y, dtype))
        else:
            self._fit_stochastic(X, y, dtype, random_state, incremental)
        self.coefs_, self.intercepts_ = _network.store(self._network)
        if not all(np.isfinite(w).all() for w in [*self.coefs_, *self.intercepts_]):
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be preprocessed (e.g. StandardScaler)."
            )
        return self

    def _initialize(self, y, layer_units, dtype, random_state):
        """Set up a new network: scikit-learn's ``_initialize``."""
        self.n_iter_, self.t_ = 0, 0
        self.n_outputs_ = y.shape[1]
        self.n_layers_ = len(layer_units)
        self.out_activation_ = self._output_activation()
        # Without an initializer the draws are scikit-learn's own, from random_state itself.
        init_rng = None
        if self.initializer is not None:
            init_rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
        self.coefs_, self.intercepts_ = _network.initial_parameters(
            layer_units, self.activation, self.initializer, random_state, init_rng, dtype
        )
        for name in ("_network", "_optimizer"):
            self.__dict__.pop(name, None)
        self._best_coefs = [c.copy() for c in self.coefs_]
        self._best_intercepts = [b.copy() for b in self.intercepts_]
        if self.solver != "lbfgs":
            self.loss_curve_ = []
            self._no_improvement_count = 0
            if self.early_stopping:
                self.validation_scores_, self.best_validation_score_ = [], -np.inf
                self.best_loss_ = None
            else:
                self.best_loss_ = np.inf
                self.validation_scores_ = self.best_validation_score_ = None

    def _sync_network(self, dtype, rng=None):
        """The tracegrad network holding ``coefs_`` / ``intercepts_`` (built on first use)."""
        network = self.__dict__.get("_network")
        # Rebuilt when set_params changed its layers: scikit-learn's forward pass reads
        # self.activation each time, so a warm start or predict uses the current one.
        key = (self.activation, float(self.dropout), np.dtype(dtype))
        if network is None or self.__dict__.get("_network_key") != key:
            network = _network.build(
                self.coefs_, self.intercepts_, self.activation, self.dropout, rng, dtype
            )
            self._network, self._network_key = network, key
            self.__dict__.pop("_optimizer", None)  # it followed the old parameters
        else:
            _network.load(network, self.coefs_, self.intercepts_)
        if rng is not None:
            _network.set_rng(network, rng)
        return network

    def _fit_stochastic(self, X, y, dtype, random_state, incremental):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        val = None
        if self.early_stopping:
            stratify = y if self._stratify() and self.n_outputs_ == 1 else None
            X, X_val, y, y_val = train_test_split(
                X,
                y,
                random_state=random_state,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            if X_val.shape[0] < 2:
                raise ValueError(
                    "The validation set is too small: increase validation_fraction or "
                    "the size of your data set."
                )
            val = (X_val, self._score_targets(y_val))
        rng = np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
        network = self._sync_network(dtype, rng)
        saved = self.__dict__.pop("_optimizer_state", None)  # left by unpickling
        if not incremental or "_optimizer" not in self.__dict__:
            self._optimizer = self._make_optimizer(network)
            if incremental and saved is not None:
                self._optimizer.load_state_dict(saved)
        n = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(
                    f"batch_size={self.batch_size} is larger than the {n} samples: it is "
                    "clipped to the sample size",
                    stacklevel=3,
                )
            batch_size = int(np.clip(self.batch_size, 1, n))
        objective = Objective(network, self.out_activation_, self.alpha, l2_in_cost=False)
        self._optimizer.l2_alpha, self._optimizer.l2_batch = self.alpha, objective
        self._optimizer.l2_weights = objective.weights
        callbacks = [SklearnEpochs(self, objective, n, val, incremental)]
        if self.solver == "adam":
            callbacks.append(SklearnAdamEpsilon(self.epsilon, self.beta_2))
        if self.verbose:
            callbacks.append(training.ProgressBar())
        self.n_iter_ = 0
        try:
            training.fit(
                network,
                objective,
                self._optimizer,
                (X, self._loss_targets(y, dtype)),
                epochs=1 if incremental else self.max_iter,
                batch_size=batch_size,
                callbacks=callbacks,
                rng=rng,
                shuffle=bool(self.shuffle),
            )
        except KeyboardInterrupt:  # as scikit-learn: keep the weights trained so far
            warnings.warn("Training interrupted by user.", stacklevel=3)
        if self.early_stopping:
            _network.load(network, self._best_coefs, self._best_intercepts)

    def _make_optimizer(self, network):
        params = network.parameters()
        if self.solver == "sgd":
            # torch-style momentum b <- mu b + g, w <- w - lr b (Nesterov: w <- w - lr (g + mu b))
            # is scikit-learn's v <- mu v - lr g with v = -lr b while lr is constant.
            return _l2.SGD(
                params,
                lr=self.learning_rate_init,
                momentum=self.momentum,
                nesterov=bool(self.nesterovs_momentum) and self.momentum > 0,
            )
        return _l2.Adam(
            params,
            lr=self.learning_rate_init,
            betas=(self.beta_1, self.beta_2),
            eps=self.epsilon,
        )

    # -- predicting ------------------------------------------------------------------------

    def _forward(self, X):
        """Output activations for ``X`` after validating it against the fitted data."""
        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        # Predictions are computed in float64 whatever the training precision: a float32
        # matrix product rounds differently for different numbers of rows, so a sample's
        # prediction would change with the batch it came in (scikit-learn checks that it
        # does not). The weights are the trained ones; only the arithmetic is wider.
        network = _network.build(
            self.coefs_, self.intercepts_, self.activation, 0.0, None, np.float64
        )
        return _network.output(network, X, self.out_activation_)

    def trace_step(self, X, y, lr=None):
        """Every number of one training step of the fitted network, in the notes' notation.

        Returns tracegrad's :class:`~tracegrad.tracing.StepTrace` (``z``, ``a``, ``delta``,
        ``dC/dW``, ``dC/db`` per layer, with ``W`` of shape (units out, units in)) for one
        gradient-descent step with learning rate ``lr`` (default ``learning_rate_init``)
        on the batch ``X, y``, with the estimator's cost. The estimator is not changed.
        """
        from .. import tracing

        check_is_fitted(self, "coefs_")
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        y = self._trace_targets(y)
        dtype = self.coefs_[0].dtype.type
        network = _network.build(self.coefs_, self.intercepts_, self.activation, 0.0, None, dtype)
        model, cost = traced(network, self.out_activation_, self.alpha)
        return tracing.trace(
            model,
            X.astype(dtype, copy=False),
            y,
            cost=cost,
            lr=self.learning_rate_init if lr is None else lr,
            apply=False,
        )

    def __getstate__(self):
        # The tracegrad network caches recorded tapes: it is rebuilt from coefs_ after
        # loading. The optimizer's buffers travel as its state_dict (plain arrays), so
        # partial_fit after unpickling continues exactly as it would have.
        state = dict(super().__getstate__())
        state.pop("_network", None)
        state.pop("_network_key", None)
        optimizer = state.pop("_optimizer", None)
        if optimizer is not None:
            state["_optimizer_state"] = optimizer.state_dict()
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


def has_stochastic_solver(estimator) -> bool:
    """``partial_fit``'s availability check (``sklearn.utils.metaestimators.available_if``):
    as in scikit-learn, only the minibatch solvers have it."""
    if estimator.solver not in ("sgd", "adam"):
        raise AttributeError(
            f"partial_fit is only available for stochastic solvers (sgd, adam), "
            f"not {estimator.solver!r}"
        )
    return True
