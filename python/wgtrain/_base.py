"""The estimators' common part: scikit-learn's training loop (shuffles, batches, learning-rate
rules, stopping on ``tol`` / ``n_iter_no_change``, early stopping) around epochs that run on the device.

The device trains with PyTorch's loss scaling; scikit-learn's differs by a constant per loss, which is folded into
the optimizer so the updates are scikit-learn's: its squared error is half the mean over outputs with a gradient
that is not averaged over the k outputs (k/2 times torch's mse gradient), and its multilabel log-loss sums over the
k outputs (k times torch's bce).
"""

import warnings

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state, shuffle
from sklearn.utils.validation import check_array, check_consistent_length, check_is_fitted, validate_data

from . import _table
from ._layout import glorot_init, layer_units, pack, unpack
from ._native import Net
from ._params import ACTIVATIONS, MLPParams

#: Rows per launch when predicting.
PREDICT_BATCH = 4096


class BaseMLP(MLPParams):
    """scikit-learn's multilayer perceptron training loop, with epochs on wgtrain's device."""

    # ----- input --------------------------------------------------------------------------------------------------

    def _features(self, X, y="no_validation", reset=True):
        """``X`` (and ``y``) validated as scikit-learn does; X becomes float32 model inputs. A DataFrame with text
        or category columns goes through the table preprocessor (fitted when ``reset``)."""
        if _table.is_text_frame(X):
            if reset:
                self._preprocessor = _table.fit(X)
                self.n_features_in_ = X.shape[1]
                self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
            elif getattr(self, "_preprocessor", None) is None:
                raise ValueError("X has text columns, but this model was fitted on numbers only.")
            Xt = _table.transform(self._preprocessor, X)
            if y is None:
                raise ValueError(
                    f"This {type(self).__name__} estimator requires y to be passed, but the target y is None."
                )
            if not (isinstance(y, str) and y == "no_validation"):
                y = check_array(y, ensure_2d=False, dtype=None if is_classifier(self) else np.float64)
                check_consistent_length(Xt, y)
            return Xt, (None if isinstance(y, str) else y)
        if reset:
            self._preprocessor = None
        elif getattr(self, "_preprocessor", None) is not None:
            raise ValueError("this model was fitted on a DataFrame with text columns; pass one with those columns.")
        options = {"accept_sparse": False, "dtype": (np.float64, np.float32), "reset": reset}
        if isinstance(y, str) and y == "no_validation":
            X = validate_data(self, X, **options)
            return X.astype(np.float32, copy=False), None
        X, y = validate_data(self, X, y, multi_output=True, y_numeric=not is_classifier(self), **options)
        return X.astype(np.float32, copy=False), y

    # ----- the device ---------------------------------------------------------------------------------------------

    def _units(self):
        return layer_units(self._n_inputs, self._hidden_sizes, self.n_outputs_)

    def _scales(self):
        """(gradient scale, loss scale): scikit-learn's gradient and reported loss over PyTorch's."""
        k = self.n_outputs_
        return {"cross-entropy": (1.0, 1.0), "bce": (float(k), float(k)), "mse": (k / 2.0, 0.5)}[self._loss]

    def _optimizer(self):
        """(kind, lr, momentum, nesterov, weight_decay, weight_l2, eps, beta1, beta2) for the device: scikit-learn's
        update with its gradient scale folded in (alpha as the weights-only L2 term alpha·W / batch rows, as
        scikit-learn's; AdamW's decoupled decay as is)."""
        g, _ = self._scales()
        weight_decay = self.alpha if self.solver == "adamw" else 0.0
        weight_l2 = 0.0 if self.solver == "adamw" else self.alpha / g
        eps = self.epsilon / g if self.solver in ("adam", "adamw", "rmsprop", "adagrad") else self.epsilon
        momentum = self.momentum if self.solver in ("sgd", "rmsprop") else 0.0
        nesterov = self.solver == "sgd" and bool(self.nesterovs_momentum) and momentum > 0
        return (
            self.solver,
            float(self.learning_rate_init),
            float(momentum),
            nesterov,
            float(weight_decay),
            float(weight_l2),
            float(eps),
            float(self.beta_1),
            float(self.beta_2),
        )

    def _device_lr(self, lr):
        """The learning rate on the device for scikit-learn's ``lr``: SGD's step scales with the gradient."""
        return lr * self._scales()[0] if self.solver == "sgd" else lr

    def _new_net(self, max_batch, batch_size):
        units = self._units()
        kind, lr, momentum, nesterov, wd, l2, eps, b1, b2 = self._optimizer()
        return Net(
            self.device,
            units[0],
            units[1:-1],
            units[-1],
            ACTIVATIONS[self.activation],
            self._loss,
            kind,
            lr,
            momentum,
            nesterov,
            wd,
            l2,
            eps,
            b1,
            b2,
            pack(self.coefs_, self.intercepts_),
            max_batch,
        )

    def _outputs(self, X32):
        """The network's raw outputs [rows, n_outputs_] for model inputs ``X32``."""
        net = getattr(self, "_net", None)
        if net is None:
            net = self._new_net(min(PREDICT_BATCH, max(len(X32), 1)), 1)
            self._net = net
        raw = net.predict(np.ascontiguousarray(X32, dtype=np.float32).tobytes())
        return np.frombuffer(raw, dtype=np.float32).reshape(len(X32), self.n_outputs_).astype(np.float64)

    def __sklearn_is_fitted__(self):
        return hasattr(self, "coefs_")

    # ----- training -----------------------------------------------------------------------------------------------

    def fit(self, X, y):
        """Fit the model to data matrix X and target(s) y.

        Returns the fitted estimator. Training runs on the device with the GIL released; Ctrl-C raises
        KeyboardInterrupt within a second and leaves the estimator as it was."""
        from ._pretrain import pretrained

        state = pretrained(self, X, y)
        if state is not None:
            self.__dict__.update(state)
            return self
        return self._fit(X, y, incremental=False)

    def _fit(self, X, y, incremental):
        before = dict(self.__dict__)
        try:
            return self._fit_inner(X, y, incremental)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            if incremental:
                # partial_fit trains the kept network in place: rebuild it from the unchanged coefs_ when needed.
                self._net = None
            raise

    def _prepare(self, X, y, incremental):
        """Validation, targets, initialisation and the early-stopping split, before any epoch: returns (X, y on
        the device, batch size, X_val, y_val) with X_val None without early stopping."""
        self._validate_hyperparameters()
        first_pass = not hasattr(self, "coefs_") or (not self.warm_start and not incremental)
        X, y = self._features(X, y, reset=first_pass)
        y_device = self._encode_targets(y, incremental)
        self._random_state = check_random_state(self.random_state)
        n_outputs = y_device.shape[1] if self._loss != "cross-entropy" else len(self.classes_)
        if not first_pass and (self.n_outputs_ != n_outputs or self._hidden_sizes != self._hidden()):
            raise ValueError("the architecture changed since the last fit; set warm_start=False to start again.")
        if first_pass:
            self._initialize(X.shape[1], n_outputs)
        n = X.shape[0]
        if self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped", stacklevel=4
                )
            batch = int(np.clip(self.batch_size, 1, n))
        X_val = y_val = None
        if self.early_stopping and not incremental:
            stratify = y_device[:, 0] if self._stratify() and self.n_outputs_ == 1 else None
            X, X_val, y_device, y_dev_val = train_test_split(
                X, y_device, random_state=self._random_state, test_size=self.validation_fraction, stratify=stratify
            )
            y_val = self._decode_targets(y_dev_val)
            batch = min(batch, X.shape[0])
        self._sample_idx = np.arange(X.shape[0], dtype=np.int64)
        return X, np.ascontiguousarray(y_device, dtype=np.float32), batch, X_val, y_val

    def _epoch_order(self):
        """The next epoch's row order (scikit-learn's shuffle of the previous order) and learning rate."""
        if self.shuffle:
            self._sample_idx = shuffle(self._sample_idx, random_state=self._random_state)
        lr = self._sgd_lr if self.solver == "sgd" else float(self.learning_rate_init)
        return self._sample_idx, self._device_lr(lr)

    def _end_epoch(self, stats, n, batch, params, X_val, y_val):
        """scikit-learn's bookkeeping after an epoch with device statistics ``stats`` ([loss sum, correct, count])
        on ``n`` rows; ``params()`` reads the parameters. Returns whether training stops."""
        if self.alpha > 0 or X_val is not None:
            self.coefs_, self.intercepts_ = unpack(params(), self._units())
        loss = stats[0] / max(stats[2], 1.0) * self._scales()[1]
        if self.alpha > 0:
            steps = -(-n // batch)
            loss += 0.5 * self.alpha * sum(float(np.dot(c.ravel(), c.ravel())) for c in self.coefs_) * steps / n
        self.n_iter_ += 1
        self.loss_ = float(loss)
        self.t_ += n
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        if X_val is not None:
            self._validation_epoch(X_val, y_val)
        else:
            self._loss_epoch()
        if self.solver == "sgd" and self.learning_rate == "invscaling":
            self._sgd_lr = float(self.learning_rate_init) / (self.t_ + 1) ** self.power_t
        if self._no_improvement_count > self.n_iter_no_change:
            what = "Validation score" if X_val is not None else "Training loss"
            msg = f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} consecutive epochs."
            if self._trigger_stopping(msg):
                return True
            self._no_improvement_count = 0
        return False

    def _finish(self, params, early_stopping, converged):
        """The fitted parameters after the last epoch (early stopping's best), warning when not converged."""
        if not converged:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the optimization "
                "hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )
        if early_stopping:
            self.coefs_, self.intercepts_ = self._best_coefs, self._best_intercepts
        else:
            self.coefs_, self.intercepts_ = unpack(params(), self._units())

    def _fit_inner(self, X, y, incremental):
        X, y_device, batch, X_val, y_val = self._prepare(X, y, incremental)
        net = getattr(self, "_net", None) if incremental else None
        if net is None:
            net = self._new_net(batch, batch)
            self._sgd_lr = float(self.learning_rate_init)
        self._net = None
        data = net.upload(X.tobytes(), y_device.tobytes())
        converged = incremental
        for _ in range(1 if incremental else self.max_iter):
            order, lr = self._epoch_order()
            stats = net.train_epoch(data, order.astype(np.uint32).tobytes(), batch, lr)
            # Early stopping scores the validation set with this network.
            self._net = net if X_val is not None else None
            if self._end_epoch(stats, X.shape[0], batch, net.params, X_val, y_val):
                converged = True
                break
        self._finish(net.params, X_val is not None, converged)
        self._net = None if X_val is not None else net
        return self

    def _trigger_stopping(self, msg):
        """scikit-learn's rule: adaptive SGD divides its learning rate by 5 (stopping below 1e-6); the rest stop."""
        is_adaptive = self.solver == "sgd" and self.learning_rate == "adaptive"
        if not is_adaptive:
            if self.verbose:
                print(msg + " Stopping.")
            return True
        if self._sgd_lr <= 1e-6:
            if self.verbose:
                print(msg + " Learning rate too small. Stopping.")
            return True
        self._sgd_lr /= 5.0
        if self.verbose:
            print(msg + f" Setting learning rate to {self._sgd_lr:f}")
        return False

    def _loss_epoch(self):
        if self.loss_curve_[-1] > self.best_loss_ - self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if self.loss_curve_[-1] < self.best_loss_:
            self.best_loss_ = self.loss_curve_[-1]

    def _validation_epoch(self, X_val, y_val):
        score = self._score_arrays(X_val, y_val)
        self.validation_scores_.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        if score < self.best_validation_score_ + self.tol:
            self._no_improvement_count += 1
        else:
            self._no_improvement_count = 0
        if score > self.best_validation_score_:
            self.best_validation_score_ = score
            self._best_coefs = [c.copy() for c in self.coefs_]
            self._best_intercepts = [b.copy() for b in self.intercepts_]

    def _initialize(self, n_features, n_outputs):
        self._hidden_sizes = self._hidden()
        self._n_inputs = n_features
        self.n_outputs_ = n_outputs
        self.n_layers_ = len(self._hidden_sizes) + 2
        self.out_activation_ = self._out_activation()
        self.n_iter_ = 0
        self.t_ = 0
        self.coefs_, self.intercepts_ = glorot_init(self._units(), self.activation, self._random_state)
        self.loss_curve_ = []
        self._no_improvement_count = 0
        if self.early_stopping:
            self.validation_scores_ = []
            self.best_validation_score_ = -np.inf
            self.best_loss_ = None
        else:
            self.best_loss_ = np.inf
            self.validation_scores_ = None
            self.best_validation_score_ = None
        self._net = None

    def partial_fit(self, X, y):
        """Update the model with a single iteration over the given data."""
        return self._fit(X, y, incremental=True)

    # ----- persistence ----------------------------------------------------------------------------------------------

    def save(self, path):
        """Write the model as the command line's model file (safetensors), for ``wgtrain eval`` / ``predict``."""
        from ._model import save

        check_is_fitted(self)
        save(self, path)

    def __getstate__(self):
        from ._model import to_bytes

        state = {k: v for k, v in self.__dict__.items() if k not in ("_net", "coefs_", "intercepts_")}
        for k in ("_best_coefs", "_best_intercepts"):
            state.pop(k, None)
        if hasattr(self, "coefs_"):
            state["_model_bytes"] = to_bytes(self)
        return state

    def __setstate__(self, state):
        from ._model import params_from_bytes

        state = dict(state)
        model = state.pop("_model_bytes", None)
        self.__dict__.update(state)
        if model is not None:
            self.coefs_, self.intercepts_ = params_from_bytes(model)
        self._net = None

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.non_deterministic = False
        return tags
