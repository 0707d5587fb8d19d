"""``MLPSearchCV``: scikit-learn's grid and random search over wgtrain's estimators, where the configurations
that can share a group (same architecture, activation, loss, solver, batch size and shuffle order) train together
in one model-batched network on each fold. The search itself is scikit-learn's (``BaseSearchCV``): the fits it asks
for find their model already trained, so ``cv_results_``, scoring and refitting are exactly ``GridSearchCV``'s."""

import contextvars
import hashlib
import pickle
from collections import defaultdict

import numpy as np
from sklearn.base import clone, is_classifier
from sklearn.model_selection import ParameterGrid, ParameterSampler, check_cv
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils import _safe_indexing

from ._layout import pack
from ._native import Group
from ._params import ACTIVATIONS

#: The fits trained ahead by the running search: (data fingerprint, parameters) → the fitted estimator's state.
_PRETRAINED = contextvars.ContextVar("wgtrain_pretrained", default=None)


def _fingerprint(a):
    """A digest of an array's contents (or, for other containers such as DataFrames, of their pickle)."""
    h = hashlib.sha1()
    if isinstance(a, np.ndarray) and a.dtype != object:
        h.update(repr((a.dtype.str, a.shape)).encode())
        h.update(memoryview(np.ascontiguousarray(a)).cast("B"))
    else:
        h.update(pickle.dumps(a, protocol=4))
    return h.hexdigest()


def _key(est, X, y):
    return _fingerprint(X), _fingerprint(y), repr(sorted(est.get_params(deep=False).items()))


def pretrained(est, X, y):
    """The state of ``est`` fitted on (X, y) by the running search, if it trained that fit ahead."""
    cache = _PRETRAINED.get()
    if not cache:
        return None
    state = cache.get(_key(est, X, y))
    if state is None:
        return None
    state = dict(state)
    state["coefs_"] = [c.copy() for c in state["coefs_"]]
    state["intercepts_"] = [b.copy() for b in state["intercepts_"]]
    state["loss_curve_"] = list(state["loss_curve_"])
    return state


def _groupable(est):
    """Whether ``est`` can train in a group: its shuffles must be reproducible from its parameters."""
    seeded = isinstance(est.random_state, (int, np.integer)) or not est.shuffle
    return seeded and not est.early_stopping


def _group_key(est, batch):
    return (
        tuple(est._hidden_sizes),
        est.activation,
        est._loss,
        est.n_outputs_,
        est.solver,
        batch,
        est.shuffle,
        est.random_state if est.shuffle else None,
        est.device,
    )


def _train_group(members, X, y_device, batch):
    """Trains ``members`` (prepared, one group key) together for their epochs; each keeps scikit-learn's own
    stopping rule and is frozen once it stops."""
    first = members[0]
    units = first._units()
    group = Group(
        first.device,
        units[0],
        units[1:-1],
        units[-1],
        ACTIVATIONS[first.activation],
        first._loss,
        first.solver,
        [m._optimizer()[1:] for m in members],
        [pack(m.coefs_, m.intercepts_) for m in members],
        batch,
    )
    data = group.upload(X.tobytes(), y_device.tobytes())
    active = [True] * len(members)
    converged = [False] * len(members)
    n = X.shape[0]
    while any(active):
        order, lrs = None, []
        for m, on in zip(members, active):
            if on:
                o, lr = m._epoch_order()
                order = o if order is None else order
                lrs.append(lr)
            else:
                lrs.append(0.0)
        stats = group.train_epoch(data, order.astype(np.uint32).tobytes(), batch, lrs)
        for i, m in enumerate(members):
            if not active[i]:
                continue
            if m._end_epoch(stats[i], n, batch, lambda i=i: group.params(i), None, None):
                converged[i] = True
            if converged[i] or m.n_iter_ >= m.max_iter:
                active[i] = False
                group.set_frozen(i, True)
    for i, m in enumerate(members):
        m._finish(lambda i=i: group.params(i), False, converged[i])
        m._net = None


def _train_fold(estimators, X, y):
    """Fits every groupable estimator on (X, y), grouped; returns {key: fitted state}."""
    groups = defaultdict(list)
    for est in estimators:
        if not _groupable(est):
            continue
        Xp, y_device, batch, _, _ = est._prepare(X, y, incremental=False)
        est._sgd_lr = float(est.learning_rate_init)
        groups[_group_key(est, batch)].append((est, Xp, y_device))
    for key, items in groups.items():
        members = [e for e, _, _ in items]
        batch = key[5]
        units = members[0]._units()
        cap = Group.capacity(members[0].device, units[0], units[1:-1], units[-1], members[0].solver, batch)
        for start in range(0, len(members), max(cap, 1)):
            _train_group(members[start : start + cap], items[0][1], items[0][2], batch)
    return {_key(e, X, y): dict(e.__dict__) for items in groups.values() for e, _, _ in items}


class MLPSearchCV(BaseSearchCV):
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
        evaluate_candidates(self._candidate_list)

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters, training groupable configurations together on each fold."""
        self._candidate_list = self._candidates()
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        cache = {}
        for train, _ in cv.split(X, y):
            X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
            fold = [clone(self.estimator).set_params(**p) for p in self._candidate_list]
            cache.update(_train_fold(fold, X_train, y_train))
        token = _PRETRAINED.set(cache)
        try:
            return super().fit(X, y, **params)
        finally:
            _PRETRAINED.reset(token)
