"""Training a search's fits ahead: the configurations of one ``evaluate_candidates`` call that can share a group
(same architecture, activation, loss, solver, batch size and shuffle order) train together in one model-batched
network on each fold, and the search's own fits then find their model trained (``BaseMLP.fit`` asks
``pretrained``). ``GroupedSearch`` is the part a scikit-learn search class (``BaseSearchCV`` or its successive
halving) mixes in; the search itself, its scoring, ranking and refit, stay scikit-learn's."""

import contextvars
import hashlib
import pickle
from collections import defaultdict
from inspect import signature

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import check_cv
from sklearn.utils import _safe_indexing
from sklearn.utils.validation import indexable

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
        try:
            Xp, y_device, batch, _, _ = est._prepare(X, y, incremental=False)
        except Exception:
            # A configuration that cannot train (a bad parameter, a fold it cannot fit) is left to the search's own
            # fit, which raises or records ``error_score`` as scikit-learn does.
            continue
        est._sgd_lr = float(est.learning_rate_init)
        groups[_group_key(est, batch)].append((est, Xp, y_device))
    for key, items in groups.items():
        members = [e for e, _, _ in items]
        batch = key[5]
        units = members[0]._units()
        cap = Group.capacity(members[0].device, units[0], units[1:-1], units[-1], members[0].solver, batch)
        step = max(cap, 1)
        for start in range(0, len(members), step):
            _train_group(members[start : start + step], items[0][1], items[0][2], batch)
    return {_key(e, X, y): dict(e.__dict__) for items in groups.values() for e, _, _ in items}


def train_ahead(estimator, candidate_params, splits, X, y):
    """Fits ``estimator`` with each of ``candidate_params`` on the training side of each of ``splits``, grouped;
    returns {key: fitted state} for ``pretrained``."""
    cache = {}
    for train, _ in splits:
        X_train, y_train = _safe_indexing(X, train), _safe_indexing(y, train)
        fold = [clone(estimator).set_params(**clone(p, safe=False)) for p in candidate_params]
        cache.update(_train_fold(fold, X_train, y_train))
    return cache


class GroupedSearch:
    """Mixed into a scikit-learn search (before its base class): each ``evaluate_candidates`` call first trains
    its candidates on its folds in groups, then lets scikit-learn fit and score them, finding them trained. The
    folds are split once and handed to scikit-learn as that fixed list, so a randomly subsampled split (successive
    halving over ``n_samples``) is the same for the training ahead and for the scoring."""

    def fit(self, X, y=None, **params):
        """Run the search, training each round's groupable configurations together on each fold."""
        X, y = indexable(X, y)
        self._grouped_data = (X, y, self._get_routed_params_for_fit(params).splitter.split)
        try:
            return super().fit(X, y, **params)
        finally:
            del self._grouped_data

    def _grouped(self, evaluate_candidates):
        """``evaluate_candidates`` with the candidates trained ahead."""

        def evaluate(candidate_params, cv=None, more_results=None, callback_ctx=None):
            candidate_params = list(candidate_params)
            X, y, split_params = self._grouped_data
            splits = list((cv or self._checked_cv_orig).split(X, y, **split_params))
            cache = train_ahead(self.estimator, candidate_params, splits, X, y)
            extra = {} if callback_ctx is None else {"callback_ctx": callback_ctx}
            token = _PRETRAINED.set(cache)
            try:
                return evaluate_candidates(candidate_params, check_cv(splits), more_results, **extra)
            finally:
                _PRETRAINED.reset(token)

        return evaluate

    def _run_grouped(self, run_search, evaluate_candidates, callback_ctx):
        """Calls a scikit-learn ``_run_search`` with the grouped ``evaluate_candidates`` (and, on scikit-learn
        versions whose searches take one, the callback context)."""
        if "callback_ctx" in signature(run_search).parameters:
            run_search(self._grouped(evaluate_candidates), callback_ctx=callback_ctx)
        else:
            run_search(self._grouped(evaluate_candidates))
