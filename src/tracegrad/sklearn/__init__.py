"""scikit-learn estimators backed by tracegrad: ``MLPClassifier`` and ``MLPRegressor``.

Drop-in replacements for ``sklearn.neural_network``'s MLPs: the same arguments and
defaults, the same fitted attributes (``coefs_`` as (n_in, n_out) arrays, ``loss_curve_``,
``validation_scores_``, ``t_``, ...), the same stopping rules and ``ConvergenceWarning``,
``partial_fit``, multilabel classification and multi-output regression. They train with
``tracegrad.training.fit`` (SGD, Adam) or SciPy's L-BFGS-B on tracegrad's backprop, and
add ``dropout``, ``initializer``, ``dtype`` and ``trace_step(X, y)``.

    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from tracegrad.sklearn import MLPClassifier
    >>> model = make_pipeline(StandardScaler(), MLPClassifier((64,), random_state=0))
    >>> scores = cross_val_score(model, X, y, cv=5)  # doctest: +SKIP

With ``dtype=numpy.float64`` and the same ``random_state`` the starting weights are
scikit-learn's own, and without shuffling (or with lbfgs) every update is the same
arithmetic: loss curves and weights agree to rounding. Where they differ, and why:

- ``dtype`` (the training precision) defaults to float32, for speed; None follows X as
  scikit-learn does. Predictions are always computed in float64 from the trained weights,
  so a sample's prediction does not depend on the batch it comes in.
- With ``shuffle=True`` the sample order comes from tracegrad's seeded Generator, not
  scikit-learn's, so runs differ sample by sample while following the same rules.
- lbfgs with several regression targets minimises the squared error summed over them,
  whose gradient scikit-learn uses, and reports ``loss_`` averaged over them as it does.
- ``fit`` takes no ``sample_weight`` and X must be dense.
"""

from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
