"""``est.save`` writes the command line's model file: ``wgtrain predict`` on it gives Python's predictions, and
``wgtrain.load`` reads it back as a fitted estimator."""

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_iris, make_regression

import wgtrain
from wgtrain.sklearn import MLPClassifier, MLPRegressor

ROOT = Path(__file__).resolve().parents[2]


def _cli():
    """The ``wgtrain`` binary: $WGTRAIN_BIN, else the repository's release build."""
    path = Path(os.environ.get("WGTRAIN_BIN", ROOT / "target" / "release" / "wgtrain"))
    assert path.is_file(), f"build the CLI first (cargo build --release --bin wgtrain) or set WGTRAIN_BIN: {path}"
    return str(path)


def _predict_cli(model, frame, tmp_path, proba=False):
    csv = tmp_path / "data.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "out.csv"
    args = [_cli(), "predict", "--model", str(model), "--data", str(csv), "--out", str(out)]
    subprocess.run(args + (["--proba"] if proba else []), check=True, capture_output=True)
    return pd.read_csv(out, header=None)


def test_cli_predicts_what_python_predicts_for_a_classifier(tmp_path):
    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]
    est = MLPClassifier(max_iter=50, random_state=0).fit(X, names)
    est.save(tmp_path / "iris.safetensors")
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    out = _predict_cli(tmp_path / "iris.safetensors", frame, tmp_path)
    np.testing.assert_array_equal(out.iloc[:, -1].to_numpy(), est.predict(X))
    # `wgtrain eval` on the same rows with their labels: scikit-learn's accuracy of the Python predictions.
    frame["y"] = names
    frame.to_csv(tmp_path / "labelled.csv", index=False)
    args = [_cli(), "eval", "--model", str(tmp_path / "iris.safetensors"), "--data", str(tmp_path / "labelled.csv")]
    report = json.loads(subprocess.run(args + ["--json"], check=True, capture_output=True, text=True).stdout)
    assert report["accuracy"] == pytest.approx(est.score(X, names), abs=1e-12)
    loaded = wgtrain.load(tmp_path / "iris.safetensors")
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X), rtol=1e-6)


def test_cli_predicts_what_python_predicts_for_a_regressor_on_a_text_frame(tmp_path):
    X, y = make_regression(80, 2, random_state=0)
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1], "kind": np.where(X[:, 0] > 0, "up", "down")})
    est = MLPRegressor(max_iter=30, random_state=0).fit(frame, y / 100)
    est.save(tmp_path / "reg.safetensors")
    out = _predict_cli(tmp_path / "reg.safetensors", frame, tmp_path)
    np.testing.assert_allclose(out.iloc[:, -1].to_numpy(), est.predict(frame), rtol=1e-4, atol=1e-5)
    loaded = wgtrain.load(tmp_path / "reg.safetensors")
    np.testing.assert_allclose(loaded.predict(frame), est.predict(frame), rtol=1e-6)


def test_loading_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        wgtrain.load(tmp_path / "none.safetensors")
