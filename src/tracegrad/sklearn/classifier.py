"""``MLPClassifier``: scikit-learn's multilayer-perceptron classifier, trained by tracegrad."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
    type_of_target,
    unique_labels,
)
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from ._base import BaseMLP, has_stochastic_solver
from ._docs import ATTRIBUTES, PARAMETERS


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multilayer-perceptron classifier with ``sklearn.neural_network.MLPClassifier``'s API.

    Multiclass targets get a softmax output and cross-entropy; binary and multilabel
    targets one logistic unit per label and binary cross-entropy.
    """

    __doc__ += (
        PARAMETERS
        + ATTRIBUTES
        + """
    classes_ : ndarray or list of ndarray

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier((64,), random_state=0, max_iter=50).fit(X / 16, y)
    >>> clf.score(X / 16, y) > 0.95
    True
    """
    )

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(
            self, X, y, multi_output=True, dtype=(np.float64, np.float32), reset=reset
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        f"warm_start needs y to have the classes of the previous fit: "
                        f"previously {self.classes_}, y has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has "
                    f"{self.classes_}. 'y' has {classes}."
                )
        return X, self._label_binarizer.transform(y).astype(bool)

    def _output_activation(self) -> str:
        return "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"

    def _stratify(self) -> bool:
        return True

    def _loss_targets(self, y, dtype):
        """Class indices for softmax's cross-entropy, 0/1 floats for logistic units."""
        if self.out_activation_ == "softmax":
            return np.argmax(y, axis=1)
        return y.astype(dtype)

    def _score_targets(self, y):
        return self._label_binarizer.inverse_transform(y)

    def _labels(self, output):
        if self.n_outputs_ == 1:
            output = output.ravel()
        return self._label_binarizer.inverse_transform(output)

    def _score_output(self, output, y):
        if not np.isfinite(output).all():
            return np.nan
        return accuracy_score(y, self._labels(output))

    def _trace_targets(self, y):
        check_is_fitted(self, "coefs_")
        dtype = self.coefs_[0].dtype
        return self._loss_targets(self._label_binarizer.transform(np.asarray(y)), dtype)

    def predict(self, X):
        """Predicted class labels, shape (n_samples,) or (n_samples, n_labels).

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The inputs, with the features ``fit`` saw.
        """
        return self._labels(self._forward(X))

    def predict_proba(self, X):
        """Class probabilities, shape (n_samples, n_classes), columns as in ``classes_``.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The inputs, with the features ``fit`` saw.
        """
        p = self._forward(X).astype(np.float64, copy=False)
        if self.n_outputs_ == 1:
            p = p.ravel()
            return np.vstack([1 - p, p]).T
        return p

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The inputs, with the features ``fit`` saw.
        """
        p = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(p, out=p)

    @available_if(has_stochastic_solver)
    def partial_fit(self, X, y, classes=None):
        """One epoch over ``X, y``; ``classes`` (all labels) is required on the first call.

        Only for the minibatch solvers (``sgd``, ``adam``), as in scikit-learn.

        Parameters
        ----------
        X : array_like of shape (n_samples, n_features)
            The inputs.
        y : array_like of shape (n_samples,) or (n_samples, n_labels)
            Class labels, or a label indicator matrix for multilabel targets.
        classes : array_like, optional
            Every class label, needed on the first call only (and ignored for
            multilabel targets).

        Returns
        -------
        MLPClassifier
            ``self``.
        """
        if _check_partial_fit_first_call(self, classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(classes)
        return self._fit(X, y, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags
