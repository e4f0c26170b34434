"""tracegrad.sklearn's MLPs: scikit-learn's own estimator checks, the same numbers as
scikit-learn's MLPs where the arithmetic is the same, and the tools practitioners use."""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn import neural_network as sknn
from sklearn.base import clone
from sklearn.datasets import load_digits, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
    train_test_split,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from conftest import shared_data_dir
from tracegrad.sklearn import MLPClassifier, MLPRegressor


@parametrize_with_checks(
    [
        MLPClassifier(max_iter=20),
        MLPRegressor(max_iter=20),
        MLPClassifier(solver="lbfgs", max_iter=50),
        MLPRegressor(solver="lbfgs", max_iter=50),
        MLPClassifier(max_iter=40, dropout=0.2, dtype=None),
    ],
    expected_failed_checks=lambda est: {},
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_sklearn_array_api_check_with_numpy_inputs():
    """The one estimator check that SkipTests without SCIPY_ARRAY_API=1 (SciPy reads it at
    import), run in a fresh interpreter that has it: array-API dispatch on NumPy inputs
    must not change any result."""
    code = (
        "import warnings; warnings.simplefilter('ignore')\n"
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from tracegrad.sklearn import MLPClassifier, MLPRegressor\n"
        "for e in (MLPClassifier(max_iter=20), MLPRegressor(max_iter=20),"
        " MLPRegressor(solver='lbfgs', max_iter=20)):\n"
        "    check_array_api_input(type(e).__name__, e, array_namespace='numpy',"
        " expect_only_array_outputs=False)\n"
        "print('checked')\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0 and "checked" in done.stdout, done.stderr[-2000:]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="module")
def regression():
    X, y = make_regression(400, 10, n_targets=3, noise=1.0, random_state=0)
    return X, y / 100.0


def _fit_both(cls, skcls, X, y, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = cls(dtype=np.float64, **params).fit(X, y)
        theirs = skcls(**params).fit(X, y)
    return ours, theirs


def _assert_same_network(ours, theirs, rtol=1e-9, atol=1e-12):
    assert len(ours.coefs_) == len(theirs.coefs_)
    for a, b in zip(
        ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
    ):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)


# With the same random_state the starting weights are drawn exactly as scikit-learn draws
# them; without shuffling (or with lbfgs) every update is then the same arithmetic.
SAME_ARITHMETIC = [
    dict(solver="sgd", momentum=0.0, shuffle=False),
    dict(solver="sgd", momentum=0.9, nesterovs_momentum=True, shuffle=False),
    dict(solver="sgd", momentum=0.5, nesterovs_momentum=False, shuffle=False, batch_size=64),
    dict(
        solver="sgd",
        momentum=0.0,
        shuffle=False,
        learning_rate="invscaling",
        learning_rate_init=0.2,
    ),
    dict(solver="sgd", momentum=0.9, shuffle=False, learning_rate="invscaling", power_t=0.3),
    dict(solver="adam", shuffle=False, activation="tanh"),
    dict(solver="adam", shuffle=False, activation="logistic", batch_size=50),
    dict(solver="sgd", momentum=0.0, shuffle=False, activation="identity", alpha=0.0),
]


@pytest.mark.parametrize("params", SAME_ARITHMETIC, ids=lambda p: "-".join(map(str, p.values())))
def test_classifier_loss_curve_matches_sklearn(digits, params):
    X, y = digits
    params = {"alpha": 1e-2, **params}
    ours, theirs = _fit_both(
        MLPClassifier,
        sknn.MLPClassifier,
        X[:600],
        y[:600],
        hidden_layer_sizes=(20,),
        random_state=0,
        max_iter=6,
        **params,
    )
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    assert ours.n_iter_ == theirs.n_iter_ == 6
    assert ours.t_ == theirs.t_ == 6 * 600
    assert ours.best_loss_ == pytest.approx(theirs.best_loss_, rel=1e-10)
    _assert_same_network(ours, theirs)
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-10)


def test_binary_and_multilabel_match_sklearn(digits):
    X, y = digits
    Xm, Ym = make_multilabel_classification(300, 12, n_classes=4, random_state=0)
    for X_, y_ in ((X[:500], y[:500] > 4), (Xm / Xm.max(), Ym)):
        ours, theirs = _fit_both(
            MLPClassifier,
            sknn.MLPClassifier,
            X_,
            y_,
            hidden_layer_sizes=(16, 8),
            solver="sgd",
            momentum=0.0,
            shuffle=False,
            learning_rate_init=0.1,
            random_state=1,
            max_iter=4,
        )
        assert ours.out_activation_ == theirs.out_activation_ == "logistic"
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
        np.testing.assert_array_equal(ours.predict(X_), theirs.predict(X_))
        assert ours.predict_proba(X_).shape == theirs.predict_proba(X_).shape


def test_regressor_matches_sklearn(regression):
    X, Y = regression
    for y in (Y[:, 0], Y):  # one output, and three (loss_ is averaged over outputs)
        ours, theirs = _fit_both(
            MLPRegressor,
            sknn.MLPRegressor,
            X,
            y,
            hidden_layer_sizes=(20,),
            solver="sgd",
            momentum=0.0,
            shuffle=False,
            random_state=0,
            max_iter=5,
        )
        assert ours.out_activation_ == "identity" and ours.n_outputs_ == y.reshape(400, -1).shape[1]
        np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
        np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-8, atol=1e-10)


def test_poisson_regressor_matches_sklearn(regression):
    X, _ = regression
    y = np.random.default_rng(0).poisson(np.exp(0.3 * X[:, 0]))
    ours, theirs = _fit_both(
        MLPRegressor,
        sknn.MLPRegressor,
        X,
        y,
        loss="poisson",
        hidden_layer_sizes=(8,),
        solver="sgd",
        momentum=0.0,
        shuffle=False,
        random_state=0,
        max_iter=3,
    )
    assert ours.out_activation_ == "exp"
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)


def test_lbfgs_matches_sklearn(digits, regression):
    X, y = digits
    ours, theirs = _fit_both(
        MLPClassifier,
        sknn.MLPClassifier,
        X[:400],
        y[:400],
        hidden_layer_sizes=(15,),
        solver="lbfgs",
        random_state=0,
        max_iter=15,
    )
    assert ours.n_iter_ == theirs.n_iter_ == 15
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-8)
    _assert_same_network(ours, theirs, rtol=1e-6, atol=1e-8)
    assert not hasattr(ours, "loss_curve_")  # as scikit-learn: no curve for lbfgs


def test_early_stopping_matches_sklearn(digits):
    X, y = digits
    ours, theirs = _fit_both(
        MLPClassifier,
        sknn.MLPClassifier,
        X[:800],
        y[:800],
        hidden_layer_sizes=(30,),
        solver="sgd",
        learning_rate_init=0.1,
        shuffle=False,
        early_stopping=True,
        n_iter_no_change=3,
        tol=1e-3,
        random_state=0,
        max_iter=60,
    )
    assert ours.validation_scores_ == pytest.approx(theirs.validation_scores_)
    assert ours.n_iter_ == theirs.n_iter_ < 60  # stopped by the rule, not by max_iter
    assert ours.best_validation_score_ == theirs.best_validation_score_
    assert ours.best_loss_ is None
    _assert_same_network(ours, theirs)  # the best epoch's weights, restored


def test_adaptive_learning_rate_matches_sklearn(digits):
    X, y = digits
    ours, theirs = _fit_both(
        MLPClassifier,
        sknn.MLPClassifier,
        X[:300],
        y[:300],
        hidden_layer_sizes=(10,),
        solver="sgd",
        momentum=0.9,
        learning_rate="adaptive",
        learning_rate_init=0.5,
        n_iter_no_change=2,
        tol=0.05,
        shuffle=False,
        random_state=0,
        max_iter=25,
    )
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-9)
    assert theirs._optimizer.learning_rate < 0.5 / 5  # the rate was divided, twice or more
    assert ours._optimizer.lr == pytest.approx(theirs._optimizer.learning_rate)


def test_warm_start_continues_from_assigned_coefs(digits):
    """Weights set through coefs_ are where a warm start continues, as in scikit-learn."""
    X, y = digits
    X, y = X[:500], y[:500]
    params = dict(
        hidden_layer_sizes=(12,),
        solver="sgd",
        momentum=0.0,
        shuffle=False,
        max_iter=3,
        warm_start=True,
    )
    theirs = sknn.MLPClassifier(random_state=5, **params)
    ours = MLPClassifier(random_state=7, dtype=np.float64, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs.fit(X, y)
        ours.fit(X, y)
        assert ours.loss_curve_ != pytest.approx(theirs.loss_curve_)  # other seed
        ours.coefs_ = [c.copy() for c in theirs.coefs_]
        ours.intercepts_ = [b.copy() for b in theirs.intercepts_]
        theirs.fit(X, y)
        ours.fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_[3:], theirs.loss_curve_[3:], rtol=1e-10)
    _assert_same_network(ours, theirs)


def test_changed_activation_is_used_like_sklearn(digits):
    X, y = digits
    params = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        shuffle=False,
        max_iter=2,
        random_state=0,
        warm_start=True,
    )
    ours, theirs = _fit_both(MLPClassifier, sknn.MLPClassifier, X, y, **params)
    for est in (ours, theirs):
        est.set_params(activation="tanh")
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours.fit(X, y)
        theirs.fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)


def test_partial_fit_matches_sklearn(digits):
    X, y = digits
    params = dict(
        hidden_layer_sizes=(16,), solver="sgd", momentum=0.9, shuffle=False, random_state=3
    )
    ours, theirs = MLPClassifier(dtype=np.float64, **params), sknn.MLPClassifier(**params)
    for start in range(0, 900, 300):
        batch = slice(start, start + 300)
        for est in (ours, theirs):
            est.partial_fit(X[batch], y[batch], classes=np.arange(10))
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    assert ours.t_ == theirs.t_ == 900 and ours.n_iter_ == theirs.n_iter_ == 1
    _assert_same_network(ours, theirs)
    with pytest.raises(ValueError, match="classes not in"):
        ours.partial_fit(X[:5], np.full(5, 11))
    with pytest.raises(AttributeError, match="partial_fit"):
        getattr(MLPClassifier(solver="lbfgs"), "partial_fit")  # noqa: B009 (the access raises)


def test_float32_default_is_close_to_sklearn(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier((32,), random_state=0, max_iter=5).fit(X, y)
        theirs = sknn.MLPClassifier((32,), random_state=0, max_iter=5).fit(X, y)
    assert ours.coefs_[0].dtype == np.float32
    assert ours.predict_proba(X).dtype == np.float64
    # other sample orders (tracegrad's shuffling), same starting point and rules
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=0.05)


def test_convergence_warning_and_stopping(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(2\\)"):
        MLPClassifier((8,), max_iter=2, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        params = dict(max_iter=50, tol=10.0, n_iter_no_change=2, random_state=0)
        est = MLPClassifier((8,), **params).fit(X, y)
        theirs = sknn.MLPClassifier((8,), **params).fit(X, y)
    # the first epoch improves on inf; the next three do not improve by tol=10: stop
    assert est.n_iter_ == theirs.n_iter_ == 4
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge"):
        MLPClassifier((8,), solver="lbfgs", max_iter=3, random_state=0).fit(X, y)


def test_digits_accuracy_in_pipeline_cross_validation(digits):
    X, y = digits
    model = make_pipeline(StandardScaler(), MLPClassifier((64,), max_iter=60, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        scores = cross_val_score(model, X, y, cv=3)
    assert scores.mean() >= 0.93, scores


def test_mnist_subset_accuracy_floor():
    from tracegrad import datasets

    train, test = datasets.load("mnist", data_dir=shared_data_dir("mnist"))
    X = train.X[:4000].reshape(4000, -1) / 255.0
    X_test = test.X[:2000].reshape(2000, -1) / 255.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((128,), learning_rate_init=0.003, max_iter=15, random_state=0).fit(
            X, train.y[:4000]
        )
    assert clf.score(X_test, test.y[:2000]) >= 0.9


def test_regression_r2_floor():
    X, y = make_regression(600, 8, noise=5.0, random_state=1)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = make_pipeline(
        StandardScaler(),
        MLPRegressor(
            hidden_layer_sizes=(64,), learning_rate_init=0.01, max_iter=300, random_state=0
        ),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X_train, y_train / 100)
    assert model.score(X_test, y_test / 100) >= 0.97


SEARCH_GRID = {"alpha": [1e-4, 1e-1], "hidden_layer_sizes": [(8,), (16,)]}


def _search(n_jobs=None):
    X, y = load_digits(return_X_y=True)
    search = GridSearchCV(
        MLPClassifier(max_iter=10, learning_rate_init=0.02, random_state=0),
        SEARCH_GRID,
        cv=3,
        n_jobs=n_jobs,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return search.fit(X[:600] / 16, y[:600])


def test_grid_and_randomized_search():
    serial = _search()
    assert serial.best_score_ > 0.7
    assert len(serial.cv_results_["mean_test_score"]) == 4
    again = _search()
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], again.cv_results_["mean_test_score"]
    )
    X, y = load_digits(return_X_y=True)
    random = RandomizedSearchCV(
        MLPRegressor(max_iter=5, random_state=0),
        {"alpha": [1e-4, 1e-2, 1.0], "learning_rate_init": [1e-3, 1e-2]},
        n_iter=3,
        cv=2,
        random_state=0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        random.fit(X[:300] / 16, y[:300].astype(float))
    assert len(random.cv_results_["params"]) == 3


def test_dask_backend_gives_the_serial_search():
    distributed = pytest.importorskip("distributed")
    import joblib

    serial = _search()
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster),
    ):
        with joblib.parallel_config(backend="dask"):
            on_dask = _search(n_jobs=-1)
    np.testing.assert_array_equal(
        serial.cv_results_["mean_test_score"], on_dask.cv_results_["mean_test_score"]
    )
    assert serial.best_params_ == on_dask.best_params_
    for a, b in zip(serial.best_estimator_.coefs_, on_dask.best_estimator_.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_clone_and_pickle(digits):
    X, y = digits
    est = MLPClassifier((10,), solver="sgd", max_iter=3, random_state=0, dropout=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params() and not hasattr(copy, "coefs_")
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    loaded.partial_fit(X, y)  # training continues after loading, momentum included
    est.partial_fit(X, y)
    assert loaded.t_ == est.t_ == 4 * len(X)
    for a, b in zip(loaded.coefs_, est.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)


def test_extras_dropout_initializer_dtype(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        plain = MLPClassifier((32,), max_iter=3, random_state=0).fit(X, y)
        dropped = MLPClassifier((32,), max_iter=3, random_state=0, dropout=0.5).fit(X, y)
        he = MLPClassifier(
            (32,),
            max_iter=1,
            random_state=0,
            initializer="he_normal",
            solver="sgd",
            learning_rate_init=1e-9,
        ).fit(X, y)
        wide = MLPClassifier((32,), max_iter=1, random_state=0, dtype=None).fit(X, y)
    assert dropped.loss_curve_[0] > plain.loss_curve_[0]  # half the units are missing
    np.testing.assert_array_equal(dropped.predict_proba(X), dropped.predict_proba(X))
    assert np.abs(he.intercepts_[0]).max() < 1e-6  # tracegrad initializers: zero biases
    assert he.coefs_[0].std() == pytest.approx(np.sqrt(2 / 64), rel=0.1)  # He: sqrt(2/fan_in)
    assert wide.coefs_[0].dtype == np.float64  # dtype=None follows X, as scikit-learn
    with pytest.raises(ValueError, match="unknown initializer"):
        MLPClassifier(initializer="nope").fit(X, y)
    with pytest.raises(ValueError, match="dropout needs solver"):
        MLPClassifier(solver="lbfgs", dropout=0.2).fit(X, y)


def test_trace_step_is_one_sklearn_gradient_step(digits):
    """trace_step's updated weights are what one full-batch SGD step of scikit-learn gives."""
    X, y = digits
    X, y = X[:40], y[:40]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier((6,), max_iter=2, random_state=0, dtype=np.float64).fit(X, y)
    before = [c.copy() for c in est.coefs_]
    step = est.trace_step(X, y, lr=0.3)
    np.testing.assert_array_equal(est.coefs_[0], before[0])  # the estimator is unchanged
    sk = sknn.MLPClassifier(
        (6,),
        solver="sgd",
        momentum=0.0,
        batch_size=40,
        shuffle=False,
        learning_rate_init=0.3,
        alpha=est.alpha,
    )
    sk.partial_fit(X[:1], y[:1], classes=np.arange(10))  # sets up the attributes
    sk.coefs_ = [c.copy() for c in est.coefs_]
    sk.intercepts_ = [b.copy() for b in est.intercepts_]
    sk.partial_fit(X, y)
    assert [layer.W.shape for layer in step.layers] == [(6, 64), (10, 6)]  # W^(l): out x in
    for layer, coef, intercept in zip(step.layers, sk.coefs_, sk.intercepts_, strict=True):
        np.testing.assert_allclose(layer.W_new.T, coef, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(layer.b_new, intercept, rtol=1e-10, atol=1e-12)
    assert step.cost == pytest.approx(sk.loss_curve_[-1], rel=1e-10)
    np.testing.assert_allclose(step.layers[-1].a, est.predict_proba(X), rtol=1e-12)  # a^(L)
    assert "delta" in step.format()


def test_feature_names_and_bad_input(digits):
    pd = pytest.importorskip("pandas")
    X, y = digits
    frame = pd.DataFrame(X[:200], columns=[f"pixel{i}" for i in range(64)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier((8,), max_iter=2, random_state=0).fit(frame, y[:200])
    assert list(est.feature_names_in_) == list(frame.columns) and est.n_features_in_ == 64
    with pytest.raises(ValueError, match="activation must be one of"):
        MLPClassifier(activation="softmax").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes must be positive"):
        MLPClassifier(hidden_layer_sizes=(10, 0)).fit(X, y)
    with pytest.raises(ValueError, match="64 features"):
        est.predict(X[:, :10])
    with pytest.raises(ValueError, match="ask for"):
        MLPClassifier((8,), max_iter=1, warm_start=True).fit(X, y).set_params(
            hidden_layer_sizes=(9,)
        ).fit(X, y)


def test_verbose_shows_tracegrad_progress(digits, capsys):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier((8,), max_iter=2, random_state=0, verbose=True).fit(X, y)
    err = capsys.readouterr().err
    assert "epoch 1/2" in err and "epoch 2/2" in err and "loss" in err
