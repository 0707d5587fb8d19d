"""scikit-learn's multilayer-perceptron parameters, their defaults and their checks (plus ``device``)."""

from numbers import Integral, Real

from sklearn.base import BaseEstimator

#: scikit-learn's activation names → the library's.
ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
#: Solvers wgtrain trains with (scikit-learn's stochastic ones, and three of its own).
SOLVERS = ("adam", "sgd", "adamw", "rmsprop", "adagrad")
#: scikit-learn's learning-rate rules (they apply to sgd).
LEARNING_RATES = ("constant", "invscaling", "adaptive")


def _check(condition, message):
    if not condition:
        raise ValueError(message)


class MLPParams(BaseEstimator):
    """scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` parameters with their defaults, checked at fit time."""

    """scikit-learn's multilayer perceptron parameters and training loop, trained by wgtrain on a GPU."""

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        device=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.device = device

    # ----- parameters -------------------------------------------------------------------------------------------

    def _hidden(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, Integral) else list(sizes)
        _check(
            all(isinstance(s, Integral) and s > 0 for s in sizes),
            f"hidden_layer_sizes must be > 0, got {self.hidden_layer_sizes}.",
        )
        return [int(s) for s in sizes]

    def _validate_hyperparameters(self):
        _check(
            self.solver in SOLVERS,
            f"solver={self.solver!r} is not supported by wgtrain; supported solvers: {', '.join(SOLVERS)}.",
        )
        _check(
            self.activation in ACTIVATIONS,
            f"activation={self.activation!r} is not supported; supported: {', '.join(ACTIVATIONS)}.",
        )
        _check(
            self.learning_rate in LEARNING_RATES,
            f"learning_rate={self.learning_rate!r} is not supported; supported: {', '.join(LEARNING_RATES)}.",
        )
        _check(
            isinstance(self.max_iter, Integral) and self.max_iter >= 1,
            f"max_iter must be an int >= 1, got {self.max_iter!r}.",
        )
        _check(isinstance(self.alpha, Real) and self.alpha >= 0, f"alpha must be >= 0, got {self.alpha!r}.")
        _check(
            isinstance(self.learning_rate_init, Real) and self.learning_rate_init > 0,
            f"learning_rate_init must be > 0, got {self.learning_rate_init!r}.",
        )
        _check(isinstance(self.power_t, Real) and self.power_t >= 0, f"power_t must be >= 0, got {self.power_t!r}.")
        _check(isinstance(self.tol, Real) and self.tol >= 0, f"tol must be >= 0, got {self.tol!r}.")
        _check(
            isinstance(self.momentum, Real) and 0 <= self.momentum <= 1,
            f"momentum must be in [0, 1], got {self.momentum!r}.",
        )
        for name in ("beta_1", "beta_2"):
            v = getattr(self, name)
            _check(isinstance(v, Real) and 0 <= v < 1, f"{name} must be in [0, 1), got {v!r}.")
        _check(isinstance(self.epsilon, Real) and self.epsilon > 0, f"epsilon must be > 0, got {self.epsilon!r}.")
        _check(
            isinstance(self.validation_fraction, Real) and 0 < self.validation_fraction < 1,
            f"validation_fraction must be in (0, 1), got {self.validation_fraction!r}.",
        )
        _check(
            isinstance(self.n_iter_no_change, Integral) and self.n_iter_no_change >= 1,
            f"n_iter_no_change must be an int >= 1, got {self.n_iter_no_change!r}.",
        )
        _check(
            self.batch_size == "auto" or (isinstance(self.batch_size, Integral) and self.batch_size >= 1),
            f"batch_size must be 'auto' or an int >= 1, got {self.batch_size!r}.",
        )
        _check(
            self.device is None or isinstance(self.device, str),
            f"device must be None or a substring of an adapter name, got {self.device!r}.",
        )
        self._hidden()
