"""``MLPHalvingGridSearchCV`` and ``MLPHalvingRandomSearchCV``: scikit-learn's successive-halving searches
(``HalvingGridSearchCV``, ``HalvingRandomSearchCV``) over wgtrain's estimators, where each round's configurations
train ahead in groups as ``MLPSearchCV``'s do. The rounds, the candidates kept (the best ceil(n / factor) by mean
test score), ``cv_results_``, the best candidate and the refit are scikit-learn's own code.

The resource is ``max_iter`` (epochs) by default rather than scikit-learn's ``n_samples``, and
``max_resources='auto'`` then means the estimator's ``max_iter``; ``resource='n_samples'`` (or any other integer
parameter) works as in scikit-learn. A survivor of a round trains again from its initial weights with the next
round's ``max_iter``, as scikit-learn's fits do."""

from numbers import Integral

import numpy as np
from sklearn.experimental import enable_halving_search_cv  # noqa: F401  (makes the classes importable)
from sklearn.model_selection import HalvingGridSearchCV, HalvingRandomSearchCV

from ._pretrain import GroupedSearch


class _GroupedHalving(GroupedSearch):
    """What the two halving searches add to scikit-learn's: rounds trained ahead, and epochs as the resource."""

    def _check_input_parameters(self, X, y, split_params):
        auto = self.max_resources == "auto" and self.resource != "n_samples"
        if not auto or self.resource not in self.estimator.get_params():
            # scikit-learn's own checks, an unknown resource's error included.
            return super()._check_input_parameters(X, y, split_params)
        if self.resource != "max_iter":
            raise ValueError(
                f"max_resources='auto' needs resource='max_iter' or 'n_samples', got resource={self.resource!r}; "
                "set max_resources to an integer."
            )
        max_iter = self.estimator.get_params().get("max_iter")
        if not isinstance(max_iter, Integral) or isinstance(max_iter, bool) or max_iter < 1:
            raise ValueError(
                f"max_resources='auto' is the estimator's max_iter, which must be a positive integer; got {max_iter!r}."
            )
        # scikit-learn's check reads ``max_resources``; it sees the estimator's max_iter for the call only.
        self.max_resources = int(max_iter)
        try:
            return super()._check_input_parameters(X, y, split_params)
        finally:
            self.max_resources = "auto"

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        self._run_grouped(super()._run_search, evaluate_candidates, callback_ctx)


class MLPHalvingGridSearchCV(_GroupedHalving, HalvingGridSearchCV):
    """scikit-learn's ``HalvingGridSearchCV`` (same parameters, attributes and results) over a wgtrain estimator,
    each round's groupable configurations trained together on each fold; ``resource`` defaults to ``'max_iter'``."""

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        factor=3,
        resource="max_iter",
        max_resources="auto",
        min_resources="exhaust",
        aggressive_elimination=False,
        cv=5,
        scoring=None,
        refit=True,
        error_score=np.nan,
        return_train_score=True,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        super().__init__(
            estimator,
            param_grid,
            factor=factor,
            resource=resource,
            max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
            cv=cv,
            scoring=scoring,
            refit=refit,
            error_score=error_score,
            return_train_score=return_train_score,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=verbose,
        )


class MLPHalvingRandomSearchCV(_GroupedHalving, HalvingRandomSearchCV):
    """scikit-learn's ``HalvingRandomSearchCV`` (same parameters, attributes and results) over a wgtrain
    estimator, each round's groupable configurations trained together on each fold; ``resource`` defaults to
    ``'max_iter'``."""

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_candidates="exhaust",
        factor=3,
        resource="max_iter",
        max_resources="auto",
        min_resources="smallest",
        aggressive_elimination=False,
        cv=5,
        scoring=None,
        refit=True,
        error_score=np.nan,
        return_train_score=True,
        random_state=None,
        n_jobs=None,
        verbose=0,
    ):
        super().__init__(
            estimator,
            param_distributions,
            n_candidates=n_candidates,
            factor=factor,
            resource=resource,
            max_resources=max_resources,
            min_resources=min_resources,
            aggressive_elimination=aggressive_elimination,
            cv=cv,
            scoring=scoring,
            refit=refit,
            error_score=error_score,
            return_train_score=return_train_score,
            random_state=random_state,
            n_jobs=n_jobs,
            verbose=verbose,
        )
