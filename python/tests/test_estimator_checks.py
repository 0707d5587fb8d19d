"""scikit-learn's own estimator checks on both estimators."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from wgtrain.sklearn import MLPClassifier, MLPRegressor

#: Checks expected to fail, with the reason (none at present).
EXPECTED_FAILED = {}


@parametrize_with_checks(
    [MLPClassifier(max_iter=100, random_state=0), MLPRegressor(max_iter=100, random_state=0)],
    expected_failed_checks=lambda est: EXPECTED_FAILED.get(type(est).__name__, {}),
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
