#!/usr/bin/env python3
"""wgtrain against a scikit-learn pipeline on the same tabular splits.

usage: python3 bench/tabular_sklearn.py [--wgtrain PATH] [--epochs N] [--seeds N] [--keep DIR]

Three synthetic but realistic tables are generated (fixed seeds), each split 70/30 into train.csv / test.csv:
  penguins  344 rows, 3 species; island and sex as text, four measurements, ~5% gaps ("", NA, ?)
  income    2,000 rows, binary ">50K"/"<=50K"; education, occupation (with "?" gaps), marital status, sex as
            text, age, hours, capital gain, a few empty cells
  houses    600 rows, regression: neighbourhood as text, area (with NA gaps), rooms, year; price around 10^5
wgtrain reads the CSVs as they are (`train --normalize`, no per-column flags) and is scored with `eval --json`.
scikit-learn gets the textbook pipeline: numeric columns SimpleImputer(mean, add_indicator=True) + StandardScaler,
text columns filled with a "(missing)" level + OneHotEncoder(handle_unknown="ignore"), then MLPClassifier /
MLPRegressor (target standardised with TransformedTargetRegressor). Both use one hidden layer of 32 ReLU units,
Adam at lr 1e-3, batches of 32 and the same number of epochs; sklearn's alpha (L2) is 0 to match wgtrain's default.
Accuracy (and macro F1) or r² on test.csv, the mean over --seeds initialisations, are printed for both.
Needs numpy and scikit-learn (no pandas).
"""

import argparse
import csv
import json
import math
import os
import subprocess
import tempfile
import warnings

import numpy as np
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.impute import SimpleImputer
from sklearn.metrics import accuracy_score, f1_score, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

MISSING = {"", "na", "n/a", "nan", "null", "?"}


def gap(rng, value, p, tokens=("", "NA", "?")):
    return tokens[rng.integers(len(tokens))] if rng.random() < p else value


def penguins(rng):
    spec = [("Adelie", ["Torgersen", "Biscoe", "Dream"], 38.8, 18.3, 190, 3700),
            ("Chinstrap", ["Dream"], 48.8, 18.4, 196, 3730),
            ("Gentoo", ["Biscoe"], 47.5, 15.0, 217, 5070)]
    rows = [["island", "bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "sex", "species"]]
    for i in range(344):
        name, islands, bl, bd, fl, bm = spec[rng.choice(3, p=[0.44, 0.20, 0.36])]
        male = rng.random() < 0.5
        k = 1.06 if male else 0.94
        cells = [islands[rng.integers(len(islands))], f"{bl * k + 2.6 * rng.normal():.1f}",
                 f"{bd * k + 1.1 * rng.normal():.1f}", f"{fl * k + 6.5 * rng.normal():.0f}",
                 f"{bm * k + 350 * rng.normal():.0f}", "male" if male else "female"]
        rows.append([gap(rng, c, 0.05) for c in cells] + [name])
    return rows


def income(rng):
    edu = ["Preschool", "HS-grad", "Some-college", "Assoc", "Bachelors", "Masters", "Prof-school", "Doctorate"]
    occ = ["Tech-support", "Craft-repair", "Sales", "Exec-managerial", "Prof-specialty", "Handlers-cleaners",
           "Machine-op", "Adm-clerical", "Farming-fishing", "Transport"]
    occ_lift = [0.3, 0.0, 0.2, 1.0, 0.9, -0.8, -0.4, -0.1, -0.9, -0.3]
    marital = ["Married", "Never-married", "Divorced", "Widowed"]
    rows = [["age", "education", "occupation", "marital_status", "sex", "hours_per_week", "capital_gain", "income"]]
    for _ in range(2000):
        age = int(np.clip(rng.normal(40, 13), 17, 90))
        e = int(np.clip(rng.normal(2.5, 1.6), 0, 7))
        o = rng.integers(len(occ))
        m = rng.choice(4, p=[0.47, 0.33, 0.14, 0.06])
        sex = "Male" if rng.random() < 0.67 else "Female"
        hours = int(np.clip(rng.normal(40, 11), 1, 99))
        gain = 0 if rng.random() < 0.9 else int(rng.exponential(8000))
        z = (-5.2 + 0.045 * age - 0.0004 * (age - 45) ** 2 * 10 + 0.55 * e + occ_lift[o] + (1.3 if m == 0 else 0)
             + (0.3 if sex == "Male" else 0) + 0.03 * (hours - 40) + (2.0 if gain > 5000 else 0))
        label = ">50K" if rng.random() < 1 / (1 + math.exp(-z)) else "<=50K"
        cells = [str(age), edu[e], gap(rng, occ[o], 0.06, ("?",)), marital[m], sex, gap(rng, str(hours), 0.02),
                 str(gain)]
        rows.append(cells + [label])
    return rows


def houses(rng):
    hoods = [("Old Town", 30000), ("Harbour", 10000), ("Hillside", -15000), ("Airport", -30000)]
    rows = [["neighbourhood", "area_m2", "rooms", "year_built", "price"]]
    for _ in range(600):
        hood, premium = hoods[rng.integers(4)]
        area = 40 + 110 * rng.random()
        rooms = 1 + int(area / 30)
        year = int(rng.integers(1900, 2024))
        price = 40000 + 900 * area + premium + 150 * (year - 1960) + 5000 * rng.normal()
        rows.append([hood, gap(rng, f"{area:.1f}", 0.04, ("NA",)), str(rooms), str(year), f"{price:.0f}"])
    return rows


def write(path, rows):
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)


def split(rows, rng):
    body = rows[1:]
    idx = rng.permutation(len(body))
    n_test = round(0.3 * len(body))
    test = [body[i] for i in sorted(idx[:n_test])]
    train = [body[i] for i in sorted(idx[n_test:])]
    return [rows[0]] + train, [rows[0]] + test


def is_number(s):
    try:
        float(s)
        return True
    except ValueError:
        return False


def sklearn_arrays(rows, num_cols, cat_cols):
    header, body = rows[0], rows[1:]
    num = np.array([[float("nan") if r[header.index(c)].strip().lower() in MISSING else float(r[header.index(c)])
                     for c in num_cols] for r in body], dtype=float)
    cat = np.array([["(missing)" if r[header.index(c)].strip().lower() in MISSING else r[header.index(c)]
                     for c in cat_cols] for r in body], dtype=object)
    y = [r[-1] for r in body]
    return np.concatenate([num.astype(object), cat], axis=1), y


def sklearn_score(train, test, regression, epochs, seed):
    header = train[0][:-1]
    numeric = [c for i, c in enumerate(header)
               if all(is_number(r[i]) for r in train[1:] if r[i].strip().lower() not in MISSING)]
    categorical = [c for c in header if c not in numeric]
    xtr, ytr = sklearn_arrays(train, numeric, categorical)
    xte, yte = sklearn_arrays(test, numeric, categorical)
    n_num = len(numeric)
    pre = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="mean", add_indicator=True), StandardScaler()),
         list(range(n_num))),
        ("cat", OneHotEncoder(handle_unknown="ignore"), list(range(n_num, n_num + len(categorical)))),
    ])
    mlp_args = dict(hidden_layer_sizes=(32,), activation="relu", solver="adam", learning_rate_init=1e-3,
                    batch_size=32, max_iter=epochs, alpha=0.0, random_state=seed, n_iter_no_change=epochs + 1,
                    tol=0.0)
    if regression:
        model = Pipeline([("pre", pre), ("mlp", TransformedTargetRegressor(
            regressor=MLPRegressor(**mlp_args), transformer=StandardScaler()))])
        model.fit(xtr, np.array(ytr, dtype=float))
        return {"r2": r2_score(np.array(yte, dtype=float), model.predict(xte))}
    model = Pipeline([("pre", pre), ("mlp", MLPClassifier(**mlp_args))])
    model.fit(xtr, ytr)
    pred = model.predict(xte)
    return {"accuracy": accuracy_score(yte, pred), "macro_f1": f1_score(yte, pred, average="macro")}


def wgtrain_score(exe, d, regression, epochs, seed):
    model = os.path.join(d, f"m{seed}.safetensors")
    args = [exe, "train", "--data", os.path.join(d, "train.csv"), "--layers", "32", "--epochs", str(epochs),
            "--batch-size", "32", "--lr", "0.001", "--normalize", "--seed", str(seed), "--save", model, "--quiet"]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([exe, "eval", "--model", model, "--data", os.path.join(d, "test.csv"), "--json"],
                         check=True, capture_output=True, text=True).stdout
    v = json.loads(out)
    return {"r2": v["r2"]} if regression else {"accuracy": v["accuracy"], "macro_f1": v["macro_f1"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--wgtrain", default="target/release/wgtrain")
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--keep", help="write the CSVs here instead of a temporary directory")
    a = ap.parse_args()
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    # A fixed epoch budget is the point of the comparison, so sklearn's "not converged" warnings are noise here.
    warnings.filterwarnings("ignore", category=UserWarning)
    from sklearn.exceptions import ConvergenceWarning
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        root = a.keep or tmp
        for i, (name, make, regression) in enumerate(
                [("penguins", penguins, False), ("income", income, False), ("houses", houses, True)]):
            rng = np.random.default_rng(100 + i)
            train, test = split(make(rng), rng)
            d = os.path.join(root, name)
            os.makedirs(d, exist_ok=True)
            write(os.path.join(d, "train.csv"), train)
            write(os.path.join(d, "test.csv"), test)
            runs = {"wgtrain": [], "sklearn": []}
            for seed in range(a.seeds):
                runs["wgtrain"].append(wgtrain_score(a.wgtrain, d, regression, a.epochs, seed))
                runs["sklearn"].append(sklearn_score(train, test, regression, a.epochs, seed))
            results[name] = {
                "rows": [len(train) - 1, len(test) - 1],
                **{k: {m: float(np.mean([r[m] for r in v])) for m in v[0]} for k, v in runs.items()},
                "runs": runs,
            }
            w, s = results[name]["wgtrain"], results[name]["sklearn"]
            metric = "r2" if regression else "accuracy"
            print(f"{name:9s} train {len(train) - 1:5d} test {len(test) - 1:4d}  {metric}: "
                  f"wgtrain {w[metric]:.4f}  sklearn {s[metric]:.4f}"
                  + ("" if regression else f"   macro F1: wgtrain {w['macro_f1']:.4f}  sklearn {s['macro_f1']:.4f}"),
                  flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
