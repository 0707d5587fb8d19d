"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's estimators, trained by wgtrain."""

import numpy as np
from scipy.special import expit, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import check_is_fitted, column_or_1d

from ._base import BaseMLP


class MLPClassifier(ClassifierMixin, BaseMLP):
    """scikit-learn's ``MLPClassifier`` (same parameters, defaults and fitted attributes) trained on a GPU.

    Multiclass targets train a softmax output with the log-loss; binary and multilabel (a 2-D indicator ``y``)
    targets train logistic outputs with the binary log-loss. ``device`` picks an adapter by a substring of its
    name (default: wgtrain's choice, see ``wgtrain.devices()``)."""

    def _out_activation(self):
        return "softmax" if self._loss == "cross-entropy" else "logistic"

    def _stratify(self):
        return True

    def _encode_targets(self, y, incremental):
        check_classification_targets(y)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if (not hasattr(self, "classes_")) or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start:
                if set(classes) != set(self.classes_):
                    raise ValueError(
                        "warm_start can only be used where `y` has the same classes as in the previous call to "
                        f"fit. Previously got {self.classes_}, `y` has {classes}"
                    )
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(
                    f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. 'y' has {classes}."
                )
        Y = self._label_binarizer.transform(y)
        if self._label_binarizer.y_type_ == "multiclass":
            self._loss = "cross-entropy"
            return np.argmax(Y, axis=1).reshape(-1, 1).astype(np.float32)
        self._loss = "bce"
        return np.asarray(Y, dtype=np.float32)

    def _labels(self, proba):
        """Labels from output probabilities [rows, n_outputs_], as scikit-learn's label binarizer inverts them."""
        if self._loss == "cross-entropy":
            return self.classes_[np.argmax(proba, axis=1)]
        if self.n_outputs_ > 1:
            return (proba > 0.5).astype(int)
        if len(self.classes_) == 1:
            return np.full(len(proba), self.classes_[0])
        return self.classes_[(proba[:, 0] > 0.5).astype(int)]

    def _decode_targets(self, y_device):
        if self._loss == "cross-entropy":
            return self.classes_[y_device[:, 0].astype(int)]
        return self._labels(y_device)

    def _probabilities(self, X):
        check_is_fitted(self)
        X32, _ = self._features(X, reset=False)
        out = self._outputs(X32)
        return softmax(out, axis=1) if self._loss == "cross-entropy" else expit(out)

    def _score_arrays(self, X32, y):
        out = self._outputs(X32)
        proba = softmax(out, axis=1) if self._loss == "cross-entropy" else expit(out)
        return accuracy_score(y, self._labels(proba))

    def predict(self, X):
        """Predict using the multi-layer perceptron classifier."""
        return self._labels(self._probabilities(X))

    def predict_proba(self, X):
        """Probability estimates, [n_samples, n_classes] (the indicator outputs for multilabel)."""
        p = self._probabilities(X)
        if self.n_outputs_ == 1:
            p = p.ravel()
            return np.vstack([1 - p, p]).T
        return p

    def predict_log_proba(self, X):
        """Logarithm of the probability estimates."""
        p = self.predict_proba(X)
        return np.log(p, out=p)

    def partial_fit(self, X, y, classes=None):
        """Update the model with a single iteration over the given data; ``classes`` is required on the first
        call."""
        if not hasattr(self, "coefs_") or not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            y_arr = np.asarray(y)
            if y_arr.ndim == 2 and y_arr.shape[1] > 1:
                self._label_binarizer.fit(y_arr)
            else:
                self._label_binarizer.fit(classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on the last call to partial_fit, was: {self.classes_!r}"
            )
        return self._fit(X, y, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """scikit-learn's ``MLPRegressor`` (same parameters, defaults and fitted attributes) trained on a GPU: squared
    error, identity outputs, one or several targets."""

    def _out_activation(self):
        return "identity"

    def _stratify(self):
        return False

    def _encode_targets(self, y, incremental):
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        self._loss = "mse"
        return np.asarray(y, dtype=np.float32).reshape(len(y), -1)

    def _decode_targets(self, y_device):
        return y_device[:, 0] if y_device.shape[1] == 1 else y_device

    def _score_arrays(self, X32, y):
        return r2_score(y, self._decode_targets(self._outputs(X32)))

    def predict(self, X):
        """Predict using the multi-layer perceptron model."""
        check_is_fitted(self)
        X32, _ = self._features(X, reset=False)
        return self._decode_targets(self._outputs(X32))
