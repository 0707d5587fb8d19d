"""The estimators as scikit-learn users meet them: attributes, pickling, pipelines, DataFrames, bad input,
interruption, and agreement with scikit-learn's own MLP on the same settings."""

import copy
import os
import pickle
import signal
import threading

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_multilabel_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier as SkClassifier
from sklearn.neural_network import MLPRegressor as SkRegressor

import wgtrain
from wgtrain.sklearn import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


def test_devices_lists_the_adapter():
    devices = wgtrain.devices()
    assert devices and all({"name", "backend", "device_type", "driver"} <= set(d) for d in devices)


def test_fitted_attributes_follow_scikit_learn(iris):
    X, y = iris
    est = MLPClassifier(hidden_layer_sizes=(16, 8), max_iter=30, random_state=0).fit(X, y)
    assert [c.shape for c in est.coefs_] == [(4, 16), (16, 8), (8, 3)]
    assert [b.shape for b in est.intercepts_] == [(16,), (8,), (3,)]
    assert est.n_layers_ == 4 and est.n_outputs_ == 3 and est.out_activation_ == "softmax"
    assert est.n_iter_ == 30 and est.t_ == 30 * len(X) and len(est.loss_curve_) == 30
    assert est.loss_ == est.loss_curve_[-1] and est.best_loss_ == min(est.loss_curve_)
    assert list(est.classes_) == [0, 1, 2] and est.n_features_in_ == 4
    proba = est.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(est.predict(X), est.classes_[proba.argmax(axis=1)])


def test_matches_scikit_learn_regression_with_the_same_settings():
    # Same initial weights (scikit-learn's draws), same shuffles and batches: the losses agree to float32 rounding.
    X, y = make_regression(200, 5, n_targets=2, random_state=0)
    y = y / 100
    ours = MLPRegressor(max_iter=50, random_state=0, alpha=0.0).fit(X, y)
    theirs = SkRegressor(max_iter=50, random_state=0, alpha=0.0).fit(X, y)
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-3)
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-3, atol=1e-3)


@pytest.mark.filterwarnings("ignore", category=ConvergenceWarning)
def test_alpha_penalises_the_weights_as_scikit_learn_does(iris):
    # alpha·W/rows on the weights only, rows each batch's own size: 150 rows in batches of 32 end with one of 22.
    # Same initial weights, shuffles and SGD steps as scikit-learn; float32 against float64 over 25 steps stays
    # within 1e-5 (measured: 2e-7), while decaying the intercepts too with alpha/32 moves them by about 0.07.
    X, y = iris
    settings = dict(
        hidden_layer_sizes=(8,),
        solver="sgd",
        alpha=2.0,
        batch_size=32,
        learning_rate_init=0.01,
        max_iter=5,
        random_state=0,
    )
    ours = MLPClassifier(**settings).fit(X, y)
    theirs = SkClassifier(**settings).fit(X, y)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # loss_ takes the penalty from the end-of-epoch weights rather than each batch's (docs/python.md): measured
    # 0.6% apart here.
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-2)


def test_pickle_deepcopy_and_clone_round_trip(iris):
    X, y = iris
    est = MLPClassifier(max_iter=20, random_state=0).fit(X, y)
    state = est.__getstate__()
    assert "_net" not in state and "coefs_" not in state and isinstance(state["_model_bytes"], bytes)
    for other in (pickle.loads(pickle.dumps(est)), copy.deepcopy(est)):
        np.testing.assert_array_equal(other.predict_proba(X), est.predict_proba(X))
        for a, b in zip(other.coefs_, est.coefs_):
            np.testing.assert_array_equal(a, b)
    assert clone(est).get_params() == est.get_params()
    assert not hasattr(clone(est), "coefs_")


def test_multilabel_and_multi_output_regression():
    X, Y = make_multilabel_classification(100, 6, n_classes=3, random_state=0)
    clf = MLPClassifier(max_iter=50, random_state=0).fit(X, Y)
    assert clf.out_activation_ == "logistic" and clf.n_outputs_ == 3
    assert clf.predict(X).shape == (100, 3) and clf.predict_proba(X).shape == (100, 3)
    assert clf.score(X, Y) > 0.3
    X, y = make_regression(100, 4, n_targets=3, random_state=0)
    reg = MLPRegressor(max_iter=20, random_state=0).fit(X, y / 100)
    assert reg.predict(X).shape == (100, 3) and reg.out_activation_ == "identity"


def test_verbose_prints_scikit_learns_lines(iris, capsys):
    X, y = iris
    MLPClassifier(max_iter=3, random_state=0, verbose=True).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == ["Iteration 1", "Iteration 2", "Iteration 3"]
    assert lines[0].startswith("Iteration 1, loss = ")


def test_early_stopping_and_partial_fit(iris):
    X, y = iris
    est = MLPClassifier(max_iter=200, early_stopping=True, random_state=0, n_iter_no_change=3).fit(X, y)
    assert est.best_loss_ is None and len(est.validation_scores_) == est.n_iter_
    assert est.best_validation_score_ == max(est.validation_scores_)
    inc = MLPClassifier(random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        inc.partial_fit(X, y)
    inc.partial_fit(X, y, classes=[0, 1, 2]).partial_fit(X, y)
    assert inc.n_iter_ == 2


def test_cross_val_score(iris):
    X, y = iris
    scores = cross_val_score(MLPClassifier(max_iter=100, random_state=0), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.8


def test_unsupported_solver_names_the_supported_ones(iris):
    X, y = iris
    with pytest.raises(ValueError, match="lbfgs.*adam, sgd, adamw, rmsprop, adagrad"):
        MLPClassifier(solver="lbfgs").fit(X, y)


@pytest.mark.parametrize(
    "X, message",
    [
        (np.array([[1.0, np.nan], [0.0, 1.0]]), "Input X contains NaN"),
        (np.array([[1.0, np.inf], [0.0, 1.0]]), "Input X contains infinity"),
        (np.array([1.0, 2.0]), "Expected 2D array, got 1D array"),
        (np.empty((0, 2)), "0 sample"),
        (np.array([[1 + 1j, 0], [0, 1]]), "Complex data not supported"),
    ],
)
def test_bad_input_raises_scikit_learns_errors(X, message):
    with pytest.raises(ValueError, match=message):
        MLPRegressor(max_iter=2).fit(X, np.arange(len(X), dtype=float))


def test_sparse_input_and_wrong_width_are_rejected(iris):
    import scipy.sparse

    X, y = iris
    with pytest.raises(TypeError, match="dense data is required"):
        MLPClassifier(max_iter=2).fit(scipy.sparse.csr_matrix(X), y)
    est = MLPClassifier(max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but MLPClassifier is expecting 4 features"):
        est.predict(X[:, :3])


def test_other_numeric_dtypes_are_converted(iris):
    X, y = iris
    a = MLPClassifier(max_iter=5, random_state=0).fit(X.astype(np.float32), y).predict_proba(X)
    b = MLPClassifier(max_iter=5, random_state=0).fit((X * 10).astype(np.int64) / 10, y).predict_proba(X)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_ctrl_c_raises_keyboard_interrupt_and_leaves_the_estimator(iris):
    X, y = iris
    X = np.repeat(X, 50, axis=0)
    y = np.repeat(y, 50)
    est = MLPClassifier(max_iter=100000, batch_size=8, random_state=0)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        est.fit(X, y)
    timer.join()
    assert not hasattr(est, "coefs_") and not hasattr(est, "n_iter_")
    fitted = MLPClassifier(max_iter=2, random_state=0).fit(X[::50], y[::50])
    before = [c.copy() for c in fitted.coefs_]
    fitted.set_params(max_iter=100000, warm_start=True)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        fitted.fit(X, y)
    timer.join()
    assert fitted.n_iter_ == 2
    for a, b in zip(before, fitted.coefs_):
        np.testing.assert_array_equal(a, b)


def test_ctrl_c_during_partial_fit_keeps_the_predictions(iris):
    X, y = iris
    est = MLPClassifier(batch_size=1, random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    before = est.predict_proba(X)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        est.partial_fit(np.repeat(X, 400, axis=0), np.repeat(y, 400))
    timer.join()
    assert est.n_iter_ == 1
    np.testing.assert_array_equal(est.predict_proba(X), before)
