"""The parameter descriptions both estimators share (appended to their docstrings)."""

PARAMETERS = """
    Parameters
    ----------
    hidden_layer_sizes : array-like of int, default=(100,)
        Units in each hidden layer.
    activation : {'identity', 'logistic', 'tanh', 'relu'}, default='relu'
        Hidden-layer activation.
    solver : {'lbfgs', 'sgd', 'adam'}, default='adam'
        Weight optimizer: SciPy's L-BFGS-B on the full batch, or minibatch SGD / Adam
        through ``tracegrad.training.fit``.
    alpha : float, default=1e-4
        L2 strength: alpha / (2 n) * sum ||W||^2 over weights (not biases) is added to the
        loss, n being the batch size.
    batch_size : int or 'auto', default='auto'
        Minibatch size for sgd/adam; 'auto' means min(200, n_samples).
    learning_rate : {'constant', 'invscaling', 'adaptive'}, default='constant'
        Schedule for sgd: invscaling sets lr = learning_rate_init / (t + 1) ** power_t after
        each epoch (t samples seen); adaptive divides it by 5 whenever n_iter_no_change
        epochs fail to improve by tol.
    learning_rate_init : float, default=1e-3
    power_t : float, default=0.5
    max_iter : int, default=200
        Epochs for sgd/adam, iterations for lbfgs.
    shuffle : bool, default=True
        Draw a new sample order each epoch (sgd/adam).
    random_state : int, RandomState instance or None, default=None
        Seeds the initial weights (drawn exactly as scikit-learn draws them), the
        early-stopping split, the sample order and the dropout masks.
    tol : float, default=1e-4
    verbose : bool, default=False
        Show tracegrad's progress bar (sgd/adam) or one line per iteration (lbfgs).
    warm_start : bool, default=False
        Continue from the previous fit's weights.
    momentum : float, default=0.9
    nesterovs_momentum : bool, default=True
    early_stopping : bool, default=False
        Hold out validation_fraction of the data and stop when its score stops improving;
        the best weights are kept.
    validation_fraction : float, default=0.1
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's decay rates and stabilizer.
    n_iter_no_change : int, default=10
    max_fun : int, default=15000
        Most loss evaluations for lbfgs.
    dropout : float, default=0.0
        tracegrad extra: probability of dropping each hidden unit while training.
    initializer : str, callable or None, default=None
        tracegrad extra: a ``tracegrad.nn.init`` name (``"he_normal"``, ...) for the
        weights, with zero biases; None draws scikit-learn's Glorot-uniform weights.
    dtype : numpy float type or None, default=numpy.float32
        tracegrad extra: the precision the network trains in (``coefs_`` have it).
        float32 is faster; float64 or None (follow X, as scikit-learn does) reproduce
        scikit-learn's arithmetic. Predictions are computed in float64 either way.
"""

ATTRIBUTES = """
    Attributes
    ----------
    coefs_ : list of ndarray
        ``coefs_[i]`` of shape (units in layer i, units in layer i + 1): W^(i+1) transposed.
    intercepts_ : list of ndarray
    loss_ : float
    loss_curve_ : list of float
        One loss per epoch (sgd/adam).
    best_loss_ : float or None
    validation_scores_ : list of float or None
    best_validation_score_ : float or None
    t_ : int
        Training samples seen.
    n_iter_, n_layers_, n_outputs_ : int
    out_activation_ : str
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has string column names.
"""
