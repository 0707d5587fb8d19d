"""scikit-learn estimators trained by wgtrain: ``MLPClassifier`` and ``MLPRegressor`` (drop-in replacements for
``sklearn.neural_network``'s) and ``MLPSearchCV``, a grid or random search that trains configurations together."""

from ._estimators import MLPClassifier, MLPRegressor
from ._search import MLPSearchCV

__all__ = ["MLPClassifier", "MLPRegressor", "MLPSearchCV"]
