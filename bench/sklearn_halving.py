"""Successive halving against the full search: the same 27 configurations of an MLPClassifier on scikit-learn's
digits (3-fold CV, 27 epochs), searched by ``MLPSearchCV`` (every configuration for 27 epochs) and by
``MLPHalvingGridSearchCV`` (factor 3: all 27 for 1 epoch, the best 9 for 3, the best 3 for 9, the best one for
27; without train scores, as the full search). Prints each search's wall time, its best parameters and
cross-validated accuracy, and the refitted model's test accuracy."""

import time
import warnings

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from wgtrain.sklearn import MLPClassifier, MLPHalvingGridSearchCV, MLPSearchCV

GRID = {
    "learning_rate_init": [3e-4, 1e-3, 3e-3],
    "alpha": [0.0, 1e-4, 1e-3],
    "beta_1": [0.8, 0.9, 0.95],
}


def main():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16, y, test_size=0.25, random_state=0, stratify=y)
    est = MLPClassifier(hidden_layer_sizes=(64,), max_iter=27, random_state=0)
    searches = {
        "full search (MLPSearchCV)": MLPSearchCV(est, GRID, cv=3),
        "halving (MLPHalvingGridSearchCV, factor 3)": MLPHalvingGridSearchCV(
            est, GRID, factor=3, cv=3, return_train_score=False
        ),
    }
    seconds = {}
    for name, search in searches.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            search.fit(X_train, y_train)
            seconds[name] = time.perf_counter() - start
        rounds = getattr(search, "n_candidates_", None)
        detail = f" (candidates per round {rounds}, epochs {search.n_resources_})" if rounds else ""
        print(f"{name}: {seconds[name]:.2f} s{detail}")
        print(
            f"  best {search.best_params_}: CV accuracy {search.best_score_:.4f}, "
            f"test accuracy {search.score(X_test, y_test):.4f}"
        )
    full, halving = seconds.values()
    print(f"halving / full: {halving / full:.2f}x")


if __name__ == "__main__":
    main()
