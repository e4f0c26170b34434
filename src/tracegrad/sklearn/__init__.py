"""scikit-learn estimators backed by tracegrad: ``MLPClassifier`` and ``MLPRegressor``.

Drop-in replacements for ``sklearn.neural_network``'s MLPs (same arguments, defaults,
fitted attributes and stopping rules) that train with ``tracegrad.training.fit`` in
float32 by default, plus ``dropout``, ``initializer``, ``dtype`` and ``trace_step``.

    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from tracegrad.sklearn import MLPClassifier
    >>> model = make_pipeline(StandardScaler(), MLPClassifier((64,), random_state=0))
    >>> scores = cross_val_score(model, X, y, cv=5)  # doctest: +SKIP
"""

from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
