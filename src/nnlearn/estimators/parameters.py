"""The estimators' constructor parameters, checked as scikit-learn checks them: one
declarative table of constraints per estimator (intervals, options, predicates) and the
function that reports the first violation with scikit-learn's message
(:class:`InvalidParameterError`).
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import activations as activations_module
from .. import initializers as initializers_module
from .. import optimizers as optimizers_module
from ..callbacks import Callback


try:
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover
    class InvalidParameterError(ValueError, TypeError):
        """A constructor parameter has a value its estimator does not accept."""

SKLEARN_ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}
FLOATS = (np.float64, np.float32)  # float32 input is trained in float32, else float64
STOCHASTIC = ("sgd", "adam")


# -- parameter validation: one declarative table per estimator -------------------------------
class Interval:
    """Numbers of ``kind`` (numbers.Real or numbers.Integral, NumPy scalars included)
    between ``low`` and ``high`` (None: unbounded); ``closed`` as scikit-learn's
    Interval: "left", "right", "both" or "neither"."""

    def __init__(self, kind, low, high, closed):
        self.kind, self.low, self.high, self.closed = kind, low, high, closed

    def __call__(self, value) -> bool:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, self.kind):
            return False
        if self.low is not None and (value < self.low or (
                value == self.low and self.closed in ("right", "neither"))):
            return False
        return self.high is None or not (value > self.high or (
            value == self.high and self.closed in ("left", "neither")))

    def __str__(self):
        kind = "an int" if self.kind is numbers.Integral else "a float"
        left = "[" if self.closed in ("left", "both") else "("
        right = "]" if self.closed in ("right", "both") else ")"
        low = "-inf" if self.low is None else self.low
        high = "inf" if self.high is None else self.high
        return f"{kind} in the range {left}{low}, {high}{right}"


class Options:
    """One of a fixed set of values (strings, or e.g. ``{np.inf}``)."""

    def __init__(self, *values, kind=None):
        self.values, self.kind = values, kind

    def __call__(self, value) -> bool:
        try:
            return (self.kind is None or isinstance(value, self.kind)) and any(
                value == v and type(value) is not bool for v in self.values)
        except (TypeError, ValueError):
            return False

    def __str__(self):
        what = "a str" if all(isinstance(v, str) for v in self.values) else "a float"
        return f"{what} among {{{', '.join(repr(v) for v in self.values)}}}"


class Check:
    """A predicate with its description (for the error message)."""

    def __init__(self, test, text):
        self.test, self.text = test, text

    def __call__(self, value) -> bool:
        try:
            return bool(self.test(value))
        except Exception:  # noqa: BLE001 - any failure means "not satisfied"
            return False

    def __str__(self):
        return self.text


def is_random_state(value) -> bool:
    return value is None or isinstance(value, np.random.RandomState) or (
        isinstance(value, numbers.Integral) and not isinstance(value, bool)
        and 0 <= value <= 2**32 - 1)


def is_hidden_layer_sizes(value) -> bool:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return value >= 1
    return not isinstance(value, str) and hasattr(value, "__iter__")


def known(lookup):
    def test(value):
        lookup(value)
        return True
    return test


BOOLEAN = Check(lambda v: isinstance(v, (bool, np.bool_)), "an instance of 'bool'")
RANDOM_STATE = Check(is_random_state, "an int in the range [0, 4294967295], an instance "
                       "of 'numpy.random.RandomState' or None")
VERBOSE = Check(lambda v: isinstance(v, (numbers.Integral, np.bool_)), "an int or a bool")
NONE = Check(lambda v: v is None, "None")
ACTIVATION = Check(known(lambda v: activations_module.get(
    SKLEARN_ACTIVATIONS.get(v, v))), "a str among {'identity', 'logistic', 'tanh', "
    "'relu'} or any nnlearn activation")
SOLVER = Check(lambda v: isinstance(v, optimizers_module.Optimizer) or (
    isinstance(v, str) and known(lambda s: s in STOCHASTIC + ("lbfgs",)
                                  or optimizers_module.get({"class_name": s}, "solver"))(v)),
    "a str among {'lbfgs', 'sgd', 'adam'}, any nnlearn optimizer name or an Optimizer")

MLP_CONSTRAINTS = {
    "hidden_layer_sizes": [Check(is_hidden_layer_sizes, "an array-like or an int in the "
                                  "range [1, inf)")],
    "activation": [ACTIVATION],
    "solver": [SOLVER],
    "alpha": [Interval(numbers.Real, 0, None, "left")],
    "batch_size": [Options("auto"), Interval(numbers.Integral, 1, None, "left")],
    "learning_rate": [Options("constant", "invscaling", "adaptive")],
    "learning_rate_init": [Interval(numbers.Real, 0, None, "neither")],
    "power_t": [Interval(numbers.Real, 0, None, "left")],
    "max_iter": [Interval(numbers.Integral, 1, None, "left")],
    "shuffle": [BOOLEAN],
    "random_state": [RANDOM_STATE],
    "tol": [Interval(numbers.Real, 0, None, "left")],
    "verbose": [VERBOSE],
    "warm_start": [BOOLEAN],
    "momentum": [Interval(numbers.Real, 0, 1, "both")],
    "nesterovs_momentum": [BOOLEAN],
    "early_stopping": [BOOLEAN],
    "validation_fraction": [Interval(numbers.Real, 0, 1, "left")],
    "beta_1": [Interval(numbers.Real, 0, 1, "left")],
    "beta_2": [Interval(numbers.Real, 0, 1, "left")],
    "epsilon": [Interval(numbers.Real, 0, None, "neither")],
    "n_iter_no_change": [Interval(numbers.Integral, 1, None, "left"),
                         Options(np.inf, kind=numbers.Real)],
    "max_fun": [Interval(numbers.Integral, 1, None, "left")],
    # nnlearn's extras
    "dropout": [Interval(numbers.Real, 0, 1, "left")],
    "batch_normalization": [BOOLEAN],
    "kernel_initializer": [NONE, Check(known(initializers_module.get),
                                         "an nnlearn initializer")],
    "callbacks": [NONE, Check(lambda v: all(isinstance(c, Callback) for c in v),
                                "a list of nnlearn callbacks")],
    "dtype": [NONE, Check(lambda v: np.dtype(v).kind == "f", "a floating dtype")],
}


def validate_parameters(estimator, table: dict) -> None:
    """Check every parameter of ``estimator`` against ``table`` (name -> list of
    constraints, any one of which must hold), with scikit-learn's message."""
    for name, constraints in table.items():
        value = getattr(estimator, name)
        if any(constraint(value) for constraint in constraints):
            continue
        texts = [str(c) for c in constraints]
        text = texts[0] if len(texts) == 1 else f"{', '.join(texts[:-1])} or {texts[-1]}"
        raise InvalidParameterError(f"The {name!r} parameter of {type(estimator).__name__} "
                                    f"must be {text}. Got {value!r} instead.")


def check_random_state(seed) -> np.random.RandomState:
    """scikit-learn's check_random_state: None is NumPy's global RandomState, an int a new
    RandomState(seed), a RandomState itself."""
    if seed is None:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(int(seed))
    return seed
