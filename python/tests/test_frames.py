"""pandas DataFrames: numeric ones through scikit-learn's column transformers, text columns with gaps through the
library's table preprocessor."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from wgtrain.sklearn import MLPClassifier, MLPRegressor


def _frame(n=120, seed=0):
    rng = np.random.default_rng(seed)
    colour = rng.choice(["red", "green", "blue"], n)
    size = rng.normal(10, 3, n)
    y = np.where(colour == "red", "warm", "cool")
    return pd.DataFrame({"colour": colour, "size": size}), y


def test_pipeline_with_a_column_transformer():
    X, y = _frame()
    pre = ColumnTransformer([("cat", OneHotEncoder(), ["colour"]), ("num", StandardScaler(), ["size"])])
    pipe = Pipeline([("pre", pre), ("mlp", MLPClassifier(max_iter=200, random_state=0))]).fit(X, y)
    assert pipe.score(X, y) > 0.95
    assert set(pipe.predict(X)) <= {"warm", "cool"}


def test_numeric_frame_keeps_feature_names():
    X = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) ** 0.5})
    est = MLPRegressor(max_iter=5, random_state=0).fit(X, np.arange(30.0))
    assert list(est.feature_names_in_) == ["a", "b"]


def test_text_columns_and_gaps_go_through_the_table_preprocessor():
    X, y = _frame()
    X.loc[3, "colour"] = None
    X.loc[5, "size"] = np.nan
    est = MLPClassifier(max_iter=200, random_state=0).fit(X, y)
    assert est.n_features_in_ == 2 and list(est.feature_names_in_) == ["colour", "size"]
    # colour: blue, green, red, (missing); size and its gap indicator.
    assert est.coefs_[0].shape[0] == 6
    assert est.score(X, y) > 0.9
    new = pd.DataFrame({"colour": ["purple", "red", None], "size": [10.0, np.nan, 12.0]})
    assert est.predict(new).shape == (3,)
    with pytest.raises(ValueError, match="size"):
        est.predict(new[["colour"]])


def test_a_text_frame_after_numbers_is_refused():
    X, y = _frame()
    est = MLPClassifier(max_iter=2).fit(X[["size"]].to_numpy(), y)
    with pytest.raises(ValueError, match="numbers only"):
        est.predict(X)


def test_category_and_boolean_columns():
    X, y = _frame()
    X["colour"] = X["colour"].astype("category")
    X["big"] = X["size"] > 10
    est = MLPClassifier(max_iter=100, random_state=0).fit(X, y)
    # colour's three levels, size, and big as a number.
    assert est.coefs_[0].shape[0] == 5
    assert est.score(X, y) > 0.9
