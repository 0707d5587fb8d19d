"""The halving searches run scikit-learn's successive halving with each round trained ahead in groups: their results
equal ``HalvingGridSearchCV`` / ``HalvingRandomSearchCV`` over the same estimator, every fit but the refit comes
from a group, and bad parameters raise scikit-learn's errors."""

import warnings

import numpy as np
import pytest
from scipy.stats import loguniform
from sklearn.datasets import load_digits
from sklearn.exceptions import FitFailedWarning
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV

from wgtrain import _base, _pretrain
from wgtrain.sklearn import (
    MLPClassifier,
    MLPHalvingGridSearchCV,
    MLPHalvingRandomSearchCV,
    MLPRegressor,
    MLPSearchCV,
)

GRID = {"learning_rate_init": [1e-3, 3e-3, 1e-2], "alpha": [0.0, 1e-3, 1e-2]}


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:300] / 16, y[:300]


@pytest.fixture
def counts(monkeypatch):
    """Records the size of every group trained ahead and counts the fits that trained on their own."""
    seen = {"groups": [], "own_fits": 0}
    train_group, fit = _pretrain._train_group, _base.BaseMLP._fit

    def counting_group(members, *args):
        seen["groups"].append(len(members))
        return train_group(members, *args)

    def counting_fit(self, *args, **kwargs):
        seen["own_fits"] += 1
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(_pretrain, "_train_group", counting_group)
    monkeypatch.setattr(_base.BaseMLP, "_fit", counting_fit)
    return seen


def _assert_same_search(ours, theirs, X):
    for attr in ("n_resources_", "n_candidates_", "n_iterations_", "n_required_iterations_", "n_possible_iterations_"):
        assert getattr(ours, attr) == getattr(theirs, attr), attr
    assert ours.n_remaining_candidates_ == theirs.n_remaining_candidates_
    assert ours.min_resources_ == theirs.min_resources_ and ours.max_resources_ == theirs.max_resources_
    keys = [k for k in theirs.cv_results_ if k.endswith("_score") and not k.startswith("std_")]
    keys += ["iter", "n_resources", "rank_test_score"]
    for key in keys:
        np.testing.assert_array_equal(ours.cv_results_[key], theirs.cv_results_[key], err_msg=key)
    assert [str(p) for p in ours.cv_results_["params"]] == [str(p) for p in theirs.cv_results_["params"]]
    assert ours.best_params_ == theirs.best_params_ and ours.best_index_ == theirs.best_index_
    assert ours.best_score_ == theirs.best_score_
    np.testing.assert_array_equal(ours.best_estimator_.predict(X), theirs.best_estimator_.predict(X))


def test_grid_over_epochs_equals_halving_grid_search_cv(counts):
    X, y = _digits()
    est = MLPClassifier(hidden_layer_sizes=(16,), max_iter=9, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MLPHalvingGridSearchCV(est, GRID, cv=3).fit(X, y)
        grouped = counts["groups"]
        own_fits = counts["own_fits"]
        theirs = HalvingGridSearchCV(est, GRID, cv=3, resource="max_iter", max_resources=9).fit(X, y)
    # 9 configurations on 1 epoch, the best 3 on 3 epochs, the best on 9 (scikit-learn's rounds).
    assert ours.n_resources_ == [1, 3, 9] and ours.n_candidates_ == [9, 3, 1]
    assert [p["max_iter"] for p in ours.cv_results_["params"]] == [1] * 9 + [3] * 3 + [9]
    # Each round's candidates train as one group per fold; only the refit trains on its own.
    assert grouped == [9, 9, 9, 3, 3, 3, 1, 1, 1]
    assert own_fits == 1
    _assert_same_search(ours, theirs, X)


def test_random_search_aggressive_elimination_equals_halving_random_search_cv(counts):
    X, y = _digits()
    y = y.astype(float)
    est = MLPRegressor(hidden_layer_sizes=(8,), max_iter=4, random_state=0, solver="sgd")
    dist = {"learning_rate_init": loguniform(1e-4, 1e-2), "momentum": [0.0, 0.9]}
    options = dict(n_candidates=10, factor=2, min_resources=1, aggressive_elimination=True, random_state=0, cv=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MLPHalvingRandomSearchCV(est, dist, **options).fit(X, y)
        own_fits = counts["own_fits"]
        theirs = HalvingRandomSearchCV(est, dist, resource="max_iter", max_resources=4, **options).fit(X, y)
    # log2(10) needs 4 rounds, 4 epochs allow 3: aggressive elimination repeats the first budget.
    assert ours.n_resources_ == [1, 1, 2, 4] and ours.n_candidates_ == [10, 5, 3, 2]
    assert own_fits == 1
    _assert_same_search(ours, theirs, X)


def test_n_samples_resource_equals_scikit_learn_and_trains_ahead(counts):
    X, y = _digits()
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    grid = {"learning_rate_init": [1e-3, 1e-2], "alpha": [0.0, 1e-2]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = MLPHalvingGridSearchCV(est, grid, resource="n_samples", factor=2, cv=3, random_state=0).fit(X, y)
        assert counts["own_fits"] == 1  # the refit
        # Unseeded subsampling: the folds trained ahead are the folds scored, so nothing trains twice.
        MLPHalvingGridSearchCV(est, grid, resource="n_samples", factor=2, cv=3).fit(X, y)
        assert counts["own_fits"] == 2
        theirs = HalvingGridSearchCV(est, grid, factor=2, cv=3, random_state=0).fit(X, y)
    assert ours.n_resources_ == [75, 150, 300] and ours.n_candidates_ == [4, 2, 1]
    _assert_same_search(ours, theirs, X)


@pytest.mark.parametrize(
    "search, error, match",
    [
        (lambda est: MLPHalvingGridSearchCV(est, GRID, factor=0), ValueError, "factor"),
        (lambda est: MLPHalvingGridSearchCV(est, "grid"), TypeError, "param_grid"),
        (lambda est: MLPHalvingGridSearchCV(est, GRID, min_resources="most"), ValueError, "min_resources"),
        (lambda est: MLPHalvingGridSearchCV(est, GRID, resource="epochs"), ValueError, "resource=epochs"),
        (lambda est: MLPHalvingGridSearchCV(est, GRID, resource="alpha"), ValueError, "max_resources='auto'"),
        (lambda est: MLPHalvingGridSearchCV(est, GRID, min_resources=20), ValueError, "greater than max_resources_"),
        (lambda est: MLPHalvingGridSearchCV(est, {"max_iter": [1, 2]}), ValueError, "part of the searched"),
        (lambda est: MLPHalvingGridSearchCV(est.set_params(max_iter=0), GRID), ValueError, "positive integer"),
        (
            lambda est: MLPHalvingRandomSearchCV(est, GRID, min_resources="exhaust"),
            ValueError,
            "cannot be both set to 'exhaust'",
        ),
    ],
)
def test_bad_parameters_raise_scikit_learns_errors(search, error, match):
    X, y = _digits()
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=9, random_state=0)
    with pytest.raises(error, match=match):
        search(est).fit(X, y)


def test_a_configuration_that_fails_scores_error_score():
    X, y = _digits()
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.warns(FitFailedWarning):
            search = MLPSearchCV(est, {"activation": ["relu", "nope"]}, cv=2).fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert np.isfinite(scores[0]) and np.isnan(scores[1])
