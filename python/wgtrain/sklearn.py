"""scikit-learn estimators trained by wgtrain: ``MLPClassifier`` and ``MLPRegressor`` (drop-in replacements for
``sklearn.neural_network``'s), ``MLPSearchCV``, a grid or random search that trains configurations together, and
``MLPHalvingGridSearchCV`` / ``MLPHalvingRandomSearchCV``, scikit-learn's successive halving doing the same."""

from ._estimators import MLPClassifier, MLPRegressor
from ._halving import MLPHalvingGridSearchCV, MLPHalvingRandomSearchCV
from ._search import MLPSearchCV

__all__ = ["MLPClassifier", "MLPHalvingGridSearchCV", "MLPHalvingRandomSearchCV", "MLPRegressor", "MLPSearchCV"]
