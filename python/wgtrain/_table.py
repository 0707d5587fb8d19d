"""DataFrames with text or category columns: encoded by the library's table preprocessor (one-hot levels, gaps
imputed with indicator columns, unseen levels as zeros, numeric columns standardised), which is stored with the
model so ``wgtrain predict`` reads the same columns from a CSV file."""

import numpy as np

from . import _native


def is_text_frame(X):
    """Whether ``X`` is a pandas DataFrame with a column that is not numeric or boolean."""
    try:
        import pandas as pd
    except ImportError:
        return False
    if not isinstance(X, pd.DataFrame):
        return False
    return any(not (pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t)) for t in X.dtypes)


def _cells(X):
    """Column names and rows of text cells, a gap as the empty string."""
    import pandas as pd

    header = [str(c) for c in X.columns]
    # Booleans are numbers (0/1), as scikit-learn reads them, not two text levels.
    bools = [c for c, t in X.dtypes.items() if pd.api.types.is_bool_dtype(t)]
    if bools:
        X = X.copy()
        for c in bools:
            X[c] = X[c].map({True: 1, False: 0})
    values = X.astype(object).to_numpy()
    missing = X.isna().to_numpy()
    rows = [["" if gap else str(v) for v, gap in zip(row, gaps)] for row, gaps in zip(values, missing)]
    return header, rows


def fit(X):
    """The preprocessor fitted on DataFrame ``X``, as JSON."""
    header, rows = _cells(X)
    return _native.fit_table(header, rows, True)


def transform(preprocessor, X):
    """DataFrame ``X`` as a float32 matrix of the model's inputs."""
    header, rows = _cells(X)
    data, _unseen = _native.transform_table(preprocessor, header, rows)
    width = len(_native.table_feature_names(preprocessor))
    return np.frombuffer(data, dtype=np.float32).reshape(len(rows), width)
