"""``MLPSearchCV`` trains configurations together and scores exactly as ``GridSearchCV`` over the same grid."""

import numpy as np
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV

from wgtrain.sklearn import MLPClassifier, MLPRegressor, MLPSearchCV


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


def test_grid_search_scores_equal_grid_search_cv():
    X, y = _digits()
    est = MLPClassifier(hidden_layer_sizes=(16,), max_iter=8, random_state=0)
    grid = {"learning_rate_init": [1e-3, 1e-2], "alpha": [0.0, 1e-2], "random_state": [0, 1]}
    ours = MLPSearchCV(est, grid, cv=3).fit(X, y)
    theirs = GridSearchCV(est, grid, cv=3).fit(X, y)
    for key in ("mean_test_score", "split0_test_score", "split1_test_score", "split2_test_score", "rank_test_score"):
        np.testing.assert_allclose(ours.cv_results_[key], theirs.cv_results_[key], atol=1e-12, err_msg=key)
    assert ours.best_params_ == theirs.best_params_ and ours.best_index_ == theirs.best_index_
    assert ours.best_score_ == theirs.best_score_
    np.testing.assert_array_equal(ours.best_estimator_.predict(X), theirs.best_estimator_.predict(X))


def test_random_search_scores_equal_randomized_search_cv():
    X, y = _digits()
    y = y.astype(float)
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=5, random_state=0, solver="sgd")
    dist = {"learning_rate_init": loguniform(1e-4, 1e-2), "momentum": [0.0, 0.9]}
    ours = MLPSearchCV(est, param_distributions=dist, n_iter=4, random_state=0, cv=2).fit(X, y)
    theirs = RandomizedSearchCV(est, dist, n_iter=4, random_state=0, cv=2).fit(X, y)
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"], atol=1e-9)
    assert [str(p) for p in ours.cv_results_["params"]] == [str(p) for p in theirs.cv_results_["params"]]
