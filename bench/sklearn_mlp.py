"""scikit-learn's MLPClassifier beside wgtrain's, same data and settings, in one run:

1. MNIST subset (data/mnist-10k): 784-128-64-10, adam 1e-3, batch 128, 10 epochs, alpha 0, 8,000 training
   digits, tested on 2,000 — fit time and test accuracy; and the same training through the CLI (`wgtrain train`),
   for the Python layer's cost;
2. a table with text columns and gaps (scikit-learn: OneHotEncoder + imputer pipeline; wgtrain: the DataFrame as
   it is) — fit time and test accuracy;
3. a 16-configuration grid (learning rate × alpha × seed) through GridSearchCV with wgtrain's estimator against
   MLPSearchCV — wall time and best score.

Usage: python bench/sklearn_mlp.py [--grid-samples N] [--grid-epochs N] [--cli PATH]
"""

import argparse
import gzip
import json
import os
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import wgtrain
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier as SkMLP
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from wgtrain.sklearn import MLPClassifier, MLPSearchCV

DATA = Path(__file__).resolve().parents[1] / "data" / "mnist-10k"


def idx(name):
    with gzip.open(DATA / name) as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def mnist():
    X = idx("train-images-idx3-ubyte.gz").reshape(-1, 784)[:8000] / 255.0
    y = idx("train-labels-idx1-ubyte.gz")[:8000]
    Xt = idx("t10k-images-idx3-ubyte.gz").reshape(-1, 784)[:2000] / 255.0
    yt = idx("t10k-labels-idx1-ubyte.gz")[:2000]
    settings = {"hidden_layer_sizes": (128, 64), "solver": "adam", "learning_rate_init": 1e-3, "batch_size": 128}
    settings.update(max_iter=10, alpha=0.0, random_state=0)
    print("MNIST subset: 8,000 training digits, 2,000 test, 784-128-64-10, adam 1e-3, batch 128, 10 epochs")
    for name, est in (
        ("scikit-learn", SkMLP(**settings)),
        ("wgtrain", MLPClassifier(**settings)),
    ):
        _, secs = timed(lambda est=est: est.fit(X, y))
        print(f"  {name:13s} fit {secs:7.2f} s   test accuracy {100 * est.score(Xt, yt):.2f} %")
    return X, y, secs


def cli_overhead(cli, python_fit_s):
    """The same MNIST training through the command line (the Rust API): its epochs' wall time against the Python
    fit's (which also counts the upload, the network's creation and the final read-back)."""
    if not os.path.isfile(cli):
        print(f"Python layer vs the CLI: not measured ({cli} not built; cargo build --release --bin wgtrain)")
        return
    with tempfile.TemporaryDirectory() as tmp:
        metrics = os.path.join(tmp, "metrics.json")
        args = [cli, "train", "--data", str(DATA), "--layers", "128,64", "--optimizer", "adam", "--lr", "0.001"]
        args += ["--batch-size", "128", "--epochs", "10", "--seed", "0", "--quiet", "--metrics", metrics]
        args += ["--save", os.path.join(tmp, "m.safetensors")]
        _, process_s = timed(lambda: subprocess.run(args, check=True, capture_output=True))
        with open(metrics) as f:
            epochs_s = sum(e["wall_s"] for e in json.load(f)["epochs"])
    print(
        f"  wgtrain train  epochs {epochs_s:6.2f} s (process {process_s:.2f} s); Python fit {python_fit_s:.2f} s = "
        f"{100 * (python_fit_s / epochs_s - 1):+.1f} % over the CLI's epochs"
    )


def table(n=6000, seed=0):
    rng = np.random.default_rng(seed)
    city = rng.choice(["Lyon", "Oslo", "Lima", "Pune", "Kobe"], n)
    plan = rng.choice(["basic", "plus", "pro"], n)
    age = rng.normal(40, 12, n)
    spend = rng.gamma(2.0, 50.0, n)
    logit = (plan == "pro") * 1.5 - (city == "Oslo") * 1.0 + (age - 40) / 15 + np.log(spend) - 4.5
    y = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "stays", "leaves")
    frame = pd.DataFrame({"city": city, "plan": plan, "age": age, "spend": spend})
    frame.loc[rng.random(n) < 0.05, "age"] = np.nan
    frame.loc[rng.random(n) < 0.05, "city"] = None
    return frame, y


def tabular():
    X, y = table()
    Xtr, Xte, ytr, yte = X[:5000], X[5000:], y[:5000], y[5000:]
    settings = {"hidden_layer_sizes": (32,), "max_iter": 20, "random_state": 0, "batch_size": 128}
    pre = ColumnTransformer(
        [
            (
                "text",
                make_pipeline(SimpleImputer(strategy="constant", fill_value="?"), OneHotEncoder()),
                ["city", "plan"],
            ),
            (
                "num",
                make_pipeline(SimpleImputer(add_indicator=True), StandardScaler()),
                ["age", "spend"],
            ),
        ]
    )
    print("Table: 5,000 training rows, 1,000 test, 2 text + 2 numeric columns with gaps, 32 hidden, 20 epochs")
    sk = make_pipeline(pre, SkMLP(**settings))
    ours = MLPClassifier(**settings)
    for name, est in (("scikit-learn", sk), ("wgtrain", ours)):
        _, secs = timed(lambda est=est: est.fit(Xtr, ytr))
        print(f"  {name:13s} fit {secs:7.2f} s   test accuracy {100 * est.score(Xte, yte):.2f} %")


def grid(X, y, samples, epochs):
    X, y = X[:samples], y[:samples]
    est = MLPClassifier(hidden_layer_sizes=(128, 64), batch_size=128, max_iter=epochs, random_state=0)
    params = {
        "learning_rate_init": [3e-4, 1e-3, 3e-3, 1e-2],
        "alpha": [0.0, 1e-3],
        "random_state": [0, 1],
    }
    print(
        f"Grid: 16 configurations (4 learning rates × 2 alpha × 2 seeds), 3-fold CV, {samples} digits, {epochs} epochs"
    )
    ours, t_ours = timed(lambda: MLPSearchCV(est, params, cv=3).fit(X, y))
    theirs, t_theirs = timed(lambda: GridSearchCV(est, params, cv=3).fit(X, y))
    same = np.allclose(ours.cv_results_["mean_test_score"], theirs.cv_results_["mean_test_score"])
    print(f"  GridSearchCV  {t_theirs:7.2f} s   best {theirs.best_score_:.4f} {theirs.best_params_}")
    print(
        f"  MLPSearchCV   {t_ours:7.2f} s   best {ours.best_score_:.4f}   ({t_ours / t_theirs:.2f}× the time; "
        f"scores {'equal' if same else 'DIFFER'})"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid-samples", type=int, default=2000)
    parser.add_argument("--grid-epochs", type=int, default=5)
    default_cli = str(Path(__file__).resolve().parents[1] / "target" / "release" / "wgtrain")
    parser.add_argument("--cli", default=os.environ.get("WGTRAIN_BIN", default_cli), help="the wgtrain binary")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    print("device:", wgtrain._native.device_name(), "|", wgtrain.devices()[0]["driver"])
    X, y, fit_s = mnist()
    cli_overhead(args.cli, fit_s)
    tabular()
    grid(X, y, args.grid_samples, args.grid_epochs)


if __name__ == "__main__":
    main()
