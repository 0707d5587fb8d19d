"""``MLPSearchCV``: scikit-learn's grid and random search over wgtrain's estimators, where the configurations
that can share a group (same architecture, activation, loss, solver, batch size and shuffle order) train together
in one model-batched network on each fold. The search itself is scikit-learn's (``BaseSearchCV``): the fits it asks
for find their model already trained, so ``cv_results_``, scoring and refitting are exactly ``GridSearchCV``'s."""

import numpy as np
from sklearn.model_selection import ParameterGrid, ParameterSampler
from sklearn.model_selection._search import BaseSearchCV

from ._pretrain import GroupedSearch


class MLPSearchCV(GroupedSearch, BaseSearchCV):
    """Exhaustive (``param_grid``) or random (``param_distributions`` + ``n_iter`` + ``random_state``) search over
    a wgtrain estimator with cross-validation, with ``GridSearchCV``'s attributes (``best_params_``,
    ``best_score_``, ``best_estimator_``, ``best_index_``, ``cv_results_``). Within each fold, configurations that
    can share a group train together; the rest (early stopping, an unseeded shuffle) train one by one."""

    def __init__(
        self,
        estimator,
        param_grid=None,
        *,
        param_distributions=None,
        n_iter=10,
        random_state=None,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score=np.nan,
        return_train_score=False,
    ):
        super().__init__(
            estimator=estimator,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.param_grid = param_grid
        self.param_distributions = param_distributions
        self.n_iter = n_iter
        self.random_state = random_state

    def _candidates(self):
        if (self.param_grid is None) == (self.param_distributions is None):
            raise ValueError("MLPSearchCV takes either param_grid or param_distributions (with n_iter).")
        if self.param_grid is not None:
            return list(ParameterGrid(self.param_grid))
        return list(ParameterSampler(self.param_distributions, self.n_iter, random_state=self.random_state))

    def _run_search(self, evaluate_candidates):
        self._grouped(evaluate_candidates)(self._candidate_list)

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters, training groupable configurations together on each fold."""
        self._candidate_list = self._candidates()
        return super().fit(X, y, **params)
