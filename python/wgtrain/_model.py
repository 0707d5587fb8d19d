"""Estimators as the command line's model file (safetensors: weights plus architecture, loss, classes, feature
names and the table preprocessor) — for ``est.save``, ``wgtrain.load`` and pickling."""

import numpy as np

from . import _native
from ._layout import pack, unpack
from ._params import ACTIVATIONS

#: The library's activation names → scikit-learn's.
_SKLEARN_ACTIVATION = {v: k for k, v in ACTIVATIONS.items()}


def _spec(est):
    """The model dict the native module writes."""
    units = est._units()
    if est._preprocessor is not None:
        features = _native.table_feature_names(est._preprocessor)
    elif hasattr(est, "feature_names_in_"):
        features = [str(c) for c in est.feature_names_in_]
    else:
        features = [f"x{i}" for i in range(units[0])]
    classes = [str(c) for c in est.classes_] if hasattr(est, "classes_") else None
    if classes is not None and est.n_outputs_ > 1 and est._loss == "bce":
        classes = ["0", "1"]
    return {
        "input": units[0],
        "hidden": units[1:-1],
        "output": units[-1],
        "activation": ACTIVATIONS[est.activation],
        "loss": est._loss,
        "params": pack(est.coefs_, est.intercepts_),
        "classes": classes,
        "feature_names": features,
        "target_name": "y",
        "preprocessor": est._preprocessor,
    }


def save(est, path):
    """Writes ``est`` to ``path`` (atomically)."""
    _native.save_model(str(path), _spec(est))


def to_bytes(est):
    """The model file's bytes for ``est``."""
    return bytes(_native.model_bytes(_spec(est)))


def params_from_bytes(data):
    """``coefs_`` and ``intercepts_`` from model file bytes."""
    m = _native.load_model(data=data)
    return unpack(m["params"], [m["input"], *m["hidden"], m["output"]])


def _labels(names):
    """Class names read back from a file, as numbers when they all are."""
    for kind in (int, float):
        try:
            return np.asarray([kind(n) for n in names])
        except ValueError:
            continue
    return np.asarray(names, dtype=object)


def load(path):
    """A fitted ``MLPClassifier`` or ``MLPRegressor`` from a model file written by ``est.save`` or ``wgtrain
    train``."""
    from ._estimators import MLPClassifier, MLPRegressor

    m = _native.load_model(path=str(path))
    activation = _SKLEARN_ACTIVATION.get(m["activation"])
    if activation is None:
        raise ValueError(f"{path}: the activation {m['activation']!r} has no scikit-learn name")
    classify = m["loss"] in ("cross-entropy", "bce")
    est = (MLPClassifier if classify else MLPRegressor)(hidden_layer_sizes=tuple(m["hidden"]), activation=activation)
    units = [m["input"], *m["hidden"], m["output"]]
    est.coefs_, est.intercepts_ = unpack(m["params"], units)
    est._loss = m["loss"]
    est._preprocessor = m["preprocessor"]
    est._hidden_sizes = list(m["hidden"])
    est._n_inputs = m["input"]
    est.n_outputs_ = m["output"]
    est.n_layers_ = len(units)
    est.out_activation_ = est._out_activation()
    est.n_iter_ = 0
    est.t_ = 0
    est._net = None
    if est._preprocessor is not None:
        import json

        columns = [c["name"] for c in json.loads(est._preprocessor)["columns"]]
        est.n_features_in_ = len(columns)
        est.feature_names_in_ = np.asarray(columns, dtype=object)
    else:
        est.n_features_in_ = m["input"]
        if not all(name == f"x{i}" for i, name in enumerate(m["feature_names"])):
            est.feature_names_in_ = np.asarray(m["feature_names"], dtype=object)
    if classify:
        if m["loss"] == "bce" and m["output"] > 1:
            est.classes_ = np.arange(m["output"])
        else:
            est.classes_ = _labels(m["classes"] or [str(i) for i in range(max(m["output"], 2))])
    return est
