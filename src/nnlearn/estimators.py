r"""scikit-learn compatible multilayer perceptrons on nnlearn's engine.

``MLPClassifier`` and ``MLPRegressor`` are drop-in replacements for scikit-learn's
classes of the same names (scikit-learn 1.6+): the same parameters, defaults, fitted
attributes, warnings and errors, and, for the same ``random_state``, the same initial
weights, the same shuffling and so the same loss curve.  On top, they take nnlearn's
extras: any activation, dropout, batch normalization, any nnlearn loss, initializer and
optimizer, callbacks and a computation ``dtype``.  They work without scikit-learn; with
it installed they are its estimators (``clone``, ``Pipeline``, ``GridSearchCV``,
``check_estimator``).

The objective is scikit-learn's (``_backprop`` in sklearn/neural_network): for a batch
of $n$ samples with weights $s_i$ (1 without ``sample_weight``) and $S = \sum_i s_i$,

$$
J = \frac1S \sum_i s_i\, l(y_i, f(x_i)) + \frac{\alpha}{2S} \sum_l \lVert W_l\rVert_F^2
$$

with $l$ the half squared error averaged over the outputs (regression), the half Poisson
deviance summed over the outputs with an exp output (``loss="poisson"``), the
cross-entropy of a softmax output (several classes) or the binary cross-entropy of
logistic outputs summed over the labels (binary, multi-label).  Computation happens in
X's dtype (float32 stays float32, anything else float64), as in scikit-learn, unless
``dtype`` says otherwise.  The objective is a registered loss of its own,
:class:`nnlearn.losses.SklearnMLPLoss`, and the sample weights go through
``Model.fit(sample_weight=...)``: the fitted network ``model_`` is a plain Sequential
that saves, loads and exports its Python source like any other.

``ModelClassifier`` and ``ModelRegressor`` wrap any function that builds a compiled
nnlearn model as a scikit-learn estimator (what scikeras does for Keras), so that
``GridSearchCV`` and ``Pipeline`` work with arbitrary architectures.
"""

from __future__ import annotations

import inspect
import numbers
import warnings

import numpy as np

from . import activations as activations_module
from . import autograd as ag
from . import initializers as initializers_module
from . import losses as losses_module
from . import optimizers as optimizers_module
from .base import (BaseEstimator, ClassifierMixin, RegressorMixin, check_is_fitted,
                   validate_fit, validate_predict)
from .callbacks import Callback, StopKind, StopReason
from .layers import Dense
from .models import Model, Sequential, mlp

__all__ = ["MLPClassifier", "MLPRegressor", "ModelClassifier", "ModelRegressor",
           "ConvergenceWarning", "InvalidParameterError"]

try:
    from sklearn.exceptions import ConvergenceWarning
except ImportError:  # pragma: no cover
    class ConvergenceWarning(UserWarning):
        """Training stopped at max_iter before the stopping criterion was met."""

try:
    from sklearn.utils._param_validation import InvalidParameterError
except ImportError:  # pragma: no cover
    class InvalidParameterError(ValueError, TypeError):
        """A constructor parameter has a value its estimator does not accept."""

try:
    from sklearn.model_selection import train_test_split as _sklearn_split
except ImportError:  # pragma: no cover
    _sklearn_split = None

_SKLEARN_ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}
_FLOATS = (np.float64, np.float32)  # float32 input is trained in float32, else float64
_STOCHASTIC = ("sgd", "adam")
_SCIPY_FTOL = 2.220446049250313e-09  # scipy's L-BFGS-B default factr * machine epsilon
_NON_FINITE = ("Solver produced non-finite parameter weights. The input data may contain "
               "large values and need to be preprocessed.")


# -- parameter validation: one declarative table per estimator -------------------------------
class _Interval:
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


class _Options:
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


class _Check:
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


def _is_random_state(value) -> bool:
    return value is None or isinstance(value, np.random.RandomState) or (
        isinstance(value, numbers.Integral) and not isinstance(value, bool)
        and 0 <= value <= 2**32 - 1)


def _is_hidden_layer_sizes(value) -> bool:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return value >= 1
    return not isinstance(value, str) and hasattr(value, "__iter__")


def _known(lookup):
    def test(value):
        lookup(value)
        return True
    return test


_BOOLEAN = _Check(lambda v: isinstance(v, (bool, np.bool_)), "an instance of 'bool'")
_RANDOM_STATE = _Check(_is_random_state, "an int in the range [0, 4294967295], an instance "
                       "of 'numpy.random.RandomState' or None")
_VERBOSE = _Check(lambda v: isinstance(v, (numbers.Integral, np.bool_)), "an int or a bool")
_NONE = _Check(lambda v: v is None, "None")
_ACTIVATION = _Check(_known(lambda v: activations_module.get(
    _SKLEARN_ACTIVATIONS.get(v, v))), "a str among {'identity', 'logistic', 'tanh', "
    "'relu'} or any nnlearn activation")
_SOLVER = _Check(lambda v: isinstance(v, optimizers_module.Optimizer) or (
    isinstance(v, str) and _known(lambda s: s in _STOCHASTIC + ("lbfgs",)
                                  or optimizers_module.get({"class_name": s}, "solver"))(v)),
    "a str among {'lbfgs', 'sgd', 'adam'}, any nnlearn optimizer name or an Optimizer")

_MLP_CONSTRAINTS = {
    "hidden_layer_sizes": [_Check(_is_hidden_layer_sizes, "an array-like or an int in the "
                                  "range [1, inf)")],
    "activation": [_ACTIVATION],
    "solver": [_SOLVER],
    "alpha": [_Interval(numbers.Real, 0, None, "left")],
    "batch_size": [_Options("auto"), _Interval(numbers.Integral, 1, None, "left")],
    "learning_rate": [_Options("constant", "invscaling", "adaptive")],
    "learning_rate_init": [_Interval(numbers.Real, 0, None, "neither")],
    "power_t": [_Interval(numbers.Real, 0, None, "left")],
    "max_iter": [_Interval(numbers.Integral, 1, None, "left")],
    "shuffle": [_BOOLEAN],
    "random_state": [_RANDOM_STATE],
    "tol": [_Interval(numbers.Real, 0, None, "left")],
    "verbose": [_VERBOSE],
    "warm_start": [_BOOLEAN],
    "momentum": [_Interval(numbers.Real, 0, 1, "both")],
    "nesterovs_momentum": [_BOOLEAN],
    "early_stopping": [_BOOLEAN],
    "validation_fraction": [_Interval(numbers.Real, 0, 1, "left")],
    "beta_1": [_Interval(numbers.Real, 0, 1, "left")],
    "beta_2": [_Interval(numbers.Real, 0, 1, "left")],
    "epsilon": [_Interval(numbers.Real, 0, None, "neither")],
    "n_iter_no_change": [_Interval(numbers.Integral, 1, None, "left"),
                         _Options(np.inf, kind=numbers.Real)],
    "max_fun": [_Interval(numbers.Integral, 1, None, "left")],
    # nnlearn's extras
    "dropout": [_Interval(numbers.Real, 0, 1, "left")],
    "batch_normalization": [_BOOLEAN],
    "kernel_initializer": [_NONE, _Check(_known(initializers_module.get),
                                         "an nnlearn initializer")],
    "callbacks": [_NONE, _Check(lambda v: all(isinstance(c, Callback) for c in v),
                                "a list of nnlearn callbacks")],
    "dtype": [_NONE, _Check(lambda v: np.dtype(v).kind == "f", "a floating dtype")],
}


def _validate_parameters(estimator, table: dict) -> None:
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


def _check_random_state(seed) -> np.random.RandomState:
    """scikit-learn's check_random_state: None is NumPy's global RandomState, an int a new
    RandomState(seed), a RandomState itself."""
    if seed is None:
        return np.random.mtrand._rand
    if isinstance(seed, numbers.Integral):
        return np.random.RandomState(int(seed))
    return seed


def _check_sample_weight(sample_weight, n: int, dtype) -> np.ndarray | None:
    if sample_weight is None:
        return None
    if isinstance(sample_weight, numbers.Number):
        return np.full(n, sample_weight, dtype=dtype)
    weights = np.asarray(sample_weight, dtype=dtype)
    if weights.ndim != 1:
        raise ValueError("Sample weights must be 1D array or scalar")
    if weights.shape != (n,):
        raise ValueError(f"sample_weight.shape == {weights.shape}, expected ({n},)!")
    if not np.all(np.isfinite(weights)):
        raise ValueError("Input sample_weight contains NaN or infinity.")
    if not np.any(weights):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return weights


def _accuracy(y, predicted, weights=None) -> float:
    y, predicted = np.asarray(y), np.asarray(predicted)
    hits = np.all(y == predicted, axis=1) if y.ndim == 2 else y == predicted
    return float(np.average(hits, weights=weights))


def _r2(y, predicted, weights=None) -> float:
    """scikit-learn's r2_score (uniform average over outputs; a constant target scores 1
    when predicted exactly, else 0)."""
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    predicted = np.asarray(predicted, dtype=np.float64).reshape(y.shape)
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    residual = (w[:, None] * (y - predicted) ** 2).sum(axis=0)
    total = (w[:, None] * (y - np.average(y, axis=0, weights=w)) ** 2).sum(axis=0)
    scores = np.where(total > 0, 1 - residual / np.where(total > 0, total, 1),
                      np.where(residual > 0, 0.0, 1.0))
    return float(np.mean(scores))


# -- the network --------------------------------------------------------------------------
class _Network(Sequential):
    """The estimators' network: a Sequential that draws each epoch's batches as
    scikit-learn does (the sample order permuted again by the estimator's RandomState,
    ``rng``) when ``rng`` is set, through :meth:`Model.batch_indices`, the documented way
    to draw batches differently.  Its loss is scikit-learn's objective
    (:class:`nnlearn.losses.SklearnMLPLoss`); saved, it is a plain Sequential."""

    rng = order = None

    def batch_indices(self, n, batch_size, shuffle, epoch_seed):
        if self.rng is None or self.optimizer.full_batch:
            return super().batch_indices(n, batch_size, shuffle, epoch_seed)
        if not shuffle:
            return [slice(start, start + batch_size) for start in range(0, n, batch_size)]
        if self.order is None or len(self.order) != n:
            self.order = np.arange(n)
        permutation = np.arange(n)
        self.rng.shuffle(permutation)  # sklearn.utils.shuffle's draw
        self.order = self.order[permutation]
        return [self.order[start:start + batch_size] for start in range(0, n, batch_size)]


def _sklearn_weights(rng, sizes, activation, dtype):
    """scikit-learn's initialization (Glorot & Bengio 2010): W and b uniform in +-sqrt(6 /
    (fan_in + fan_out)) (2 instead of 6 for the logistic activation), layer by layer, W
    then b, drawn from ``rng`` in scikit-learn's order."""
    factor = 2.0 if activation == "logistic" else 6.0
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = np.sqrt(factor / (fan_in + fan_out))
        weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        weights.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return weights


# -- the callbacks that implement scikit-learn's stopping rules ---------------------------------
class _StochasticStopping(Callback):
    """scikit-learn's epoch end for the stochastic solvers (``_fit_stochastic``): record
    the loss; count the epochs without improvement of the training loss (or, with
    early_stopping, of the validation score) by tol; update the learning rate
    (invscaling); after n_iter_no_change + 1 such epochs stop, or with
    learning_rate='adaptive' divide the learning rate by 5 (until it is <= 1e-6)."""

    def __init__(self, estimator, n_samples, validation, incremental: bool):
        self.estimator, self.n_samples = estimator, n_samples
        self.validation, self.incremental = validation, incremental
        self.converged = False

    def on_epoch_end(self, epoch, logs=None):
        est, loss = self.estimator, float(logs["loss"])
        est.n_iter_ += 1
        est.loss_ = loss
        est.t_ += self.n_samples
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {loss:.8f}")
        if self.validation is not None:
            score = est._validation_score(*self.validation)
            est.validation_scores_.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            improved = not score < est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                est._best_weights = self.model.get_weights()
        else:
            improved = not loss > est.best_loss_ - est.tol
            if loss < est.best_loss_:
                est.best_loss_ = loss
        est._no_improvement_count = 0 if improved else est._no_improvement_count + 1
        optimizer = self.model.optimizer
        sgd = est.solver == "sgd"
        if sgd and est.learning_rate == "invscaling":
            optimizer.learning_rate = float(est.learning_rate_init) / (est.t_ + 1) ** est.power_t
        if est._no_improvement_count > est.n_iter_no_change:
            what = "Validation score" if self.validation is not None else "Training loss"
            message = (f"{what} did not improve more than tol={est.tol:f} for "
                       f"{est.n_iter_no_change} consecutive epochs.")
            if sgd and est.learning_rate == "adaptive" and optimizer.learning_rate > 1e-6:
                optimizer.learning_rate /= 5.0
                est._no_improvement_count = 0
                if est.verbose:
                    print(f"{message} Setting learning rate to {optimizer.learning_rate:f}")
            else:
                if est.verbose:
                    print(f"{message} Stopping.")
                self.converged = True
                self.model.stop(StopReason(StopKind.CONVERGED, message))


class _LbfgsStopping(Callback):
    """scikit-learn's L-BFGS stopping (scipy's L-BFGS-B with gtol=tol, maxiter=max_iter,
    maxfun=max_fun): stop when max |gradient| <= tol, when the relative decrease of the
    loss (f_k - f_k+1) / max(|f_k|, |f_k+1|, 1) <= 2.2e-9 (scipy's ftol), or when the
    loss has been evaluated max_fun times; each epoch is one L-BFGS iteration, whose
    line search is capped so that the evaluations stay within max_fun."""

    def __init__(self, estimator):
        self.estimator = estimator
        self.status, self.message = 1, "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT"

    def on_epoch_begin(self, epoch, logs=None):
        left = self.estimator.max_fun - self.model.loss_evaluations
        self.model.optimizer.max_line_search = int(max(1, min(25, left - 1)))

    def on_epoch_end(self, epoch, logs=None):
        est, model = self.estimator, self.model
        est.n_iter_ += 1
        before, after = float(logs["loss"]), float(model.optimizer.last_loss)
        est.loss_ = after
        if est.verbose:
            print(f"Iteration {est.n_iter_}, loss = {after:.8f}")
        gradient = max(float(np.max(np.abs(p.grad))) for p in model.params
                       if p.grad is not None)
        if model.loss_evaluations >= est.max_fun:
            self.message = "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT"
        elif gradient <= est.tol:
            self.status, self.message = 0, "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL"
        elif (before - after) / max(abs(before), abs(after), 1.0) <= _SCIPY_FTOL:
            self.status = 0
            self.message = "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH"
        else:
            return
        model.stop(StopReason(StopKind.CONVERGED if self.status == 0 else StopKind.REQUESTED,
                              self.message))


# -- the estimators ---------------------------------------------------------------------------
class _BaseMLP(BaseEstimator):
    _parameter_table = _MLP_CONSTRAINTS

    def _check_parameters(self):
        _validate_parameters(self, self._parameter_table)
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if not hasattr(sizes, "__iter__") else list(sizes)
        if not all(isinstance(n, numbers.Integral) and n > 0 for n in sizes):
            raise ValueError(f"hidden_layer_sizes must be > 0, got {sizes}.")
        return [int(n) for n in sizes]

    @property
    def _stochastic(self) -> bool:
        return self.solver != "lbfgs"

    # -- construction ----------------------------------------------------------------------
    def _optimizer(self):
        lr = float(self.learning_rate_init)
        if self.solver == "sgd":
            return optimizers_module.SGD(lr, momentum=float(self.momentum),
                                         nesterov=bool(self.nesterovs_momentum))
        if self.solver == "adam":
            return optimizers_module.Adam(lr, beta_1=float(self.beta_1),
                                          beta_2=float(self.beta_2),
                                          epsilon=float(self.epsilon), epsilon_hat=True)
        if self.solver == "lbfgs":
            return optimizers_module.LBFGS()
        if isinstance(self.solver, optimizers_module.Optimizer):
            return self.solver
        return optimizers_module.get({"class_name": self.solver,
                                      "config": {"learning_rate": lr}}, "solver")

    def _build(self, sizes, n_features, n_outputs, dtype, rng):
        output = losses_module.SklearnMLPLoss.LINKS[self.out_activation_]
        stack = mlp(n_features, sizes, n_outputs,
                    activation=_SKLEARN_ACTIVATIONS.get(self.activation, self.activation),
                    output_activation=output, dropout=float(self.dropout),
                    batch_normalization=self.batch_normalization,
                    kernel_initializer=self.kernel_initializer or "glorot_uniform",
                    seed=int(rng.randint(2**31 - 1)) if self.kernel_initializer else None,
                    dtype=dtype)
        model = _Network(stack.layers, seed=stack.seed, dtype=dtype, name="mlp")
        model.build((n_features,))
        if self.kernel_initializer is None:  # scikit-learn's initialization, its draws
            initial = _sklearn_weights(rng, [n_features, *sizes, n_outputs],
                                       self.activation, dtype)
            self._set_dense(model, initial)
        return model

    @staticmethod
    def _set_dense(model, arrays):
        dense = [layer for layer in model.layers if isinstance(layer, Dense)]
        for i, layer in enumerate(dense):
            layer.kernel.data[...] = arrays[2 * i]
            layer.bias.data[...] = arrays[2 * i + 1]

    def _loss(self):
        """scikit-learn's objective with this fit's alpha (and the custom loss, if any)."""
        return losses_module.SklearnMLPLoss(self.out_activation_, float(self.alpha),
                                            self._custom_loss())

    def _compile(self):
        self.model_.compile(optimizer=self._optimizer(), loss=self._loss())

    def _custom_loss(self):
        return None

    # -- training --------------------------------------------------------------------------
    def _fit(self, X, targets, sample_weight, incremental: bool, first: bool, sizes):
        if self.dtype is not None:  # e.g. "float32": compute in it whatever X's dtype
            X = X.astype(self.dtype, copy=False)
        n = len(X)
        weights = _check_sample_weight(sample_weight, n, X.dtype)
        n_outputs = targets.shape[1] if self.out_activation_ != "softmax" \
            else len(self.classes_)
        if not first and n_outputs != self.n_outputs_:
            raise ValueError(f"y has {n_outputs} output(s) per sample; the estimator was "
                             f"fitted with {self.n_outputs_}")
        self.n_outputs_ = n_outputs
        rng = _check_random_state(self.random_state)
        if first:
            self.model_ = self._build(sizes, X.shape[1], self.n_outputs_, X.dtype, rng)
            self.n_iter_, self.t_ = 0, 0
            self._best_weights = self.model_.get_weights()
            if self._stochastic:
                self.loss_curve_ = []
                self._no_improvement_count = 0
                self.best_loss_ = None if self.early_stopping else np.inf
                self.validation_scores_ = [] if self.early_stopping else None
                self.best_validation_score_ = -np.inf if self.early_stopping else None
        if first or not incremental or not hasattr(self, "_compiled"):
            self._compile()  # scikit-learn starts a new optimizer at every fit
            self._compiled = True
        self.model_.loss = self._loss()  # this fit's alpha, also for warm starts
        self.model_.rng = rng
        self.model_.order = None
        if self.out_activation_ != "softmax":  # the softmax's targets are class indices
            targets = targets.astype(X.dtype, copy=False)
        if self._stochastic:
            self._fit_stochastic(X, targets, weights, incremental, rng)
        else:
            self._fit_lbfgs(X, targets, weights)
        if not all(np.all(np.isfinite(w)) for w in self.model_.get_weights()):
            raise ValueError(_NON_FINITE)
        return self

    def _fit_stochastic(self, X, targets, weights, incremental, rng):
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        validation = None
        if self.early_stopping:
            X, targets, weights, validation = self._split(X, targets, weights, rng)
        n = len(X)
        if self.batch_size == "auto":
            batch = min(200, n)
        else:
            if self.batch_size > n:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is "
                              "going to be clipped", stacklevel=4)
            batch = int(np.clip(self.batch_size, 1, n))
        self.n_iter_ = 0
        stopping = _StochasticStopping(self, n, validation, incremental)
        self.model_.fit(X, targets, epochs=1 if incremental else self.max_iter,
                        batch_size=batch, shuffle=self.shuffle, verbose=0,
                        sample_weight=weights,
                        seed=int(rng.randint(2**31 - 1)) if self.dropout else 0,
                        callbacks=[*(self.callbacks or []), stopping])
        if (not incremental and not stopping.converged and self.n_iter_ == self.max_iter):
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                          "and the optimization hasn't converged yet.", ConvergenceWarning,
                          stacklevel=4)
        if self.early_stopping:  # keep the weights of the best validation score
            self.model_.set_weights(self._best_weights)

    def _split(self, X, targets, weights, rng):
        """scikit-learn's validation split: train_test_split with the estimator's
        RandomState, stratified for a single-output classifier; returns the training
        part (X, targets, weights) and the validation part (X, y, weights)."""
        stratify = None
        if isinstance(self, ClassifierMixin) and self.n_outputs_ == 1:
            stratify = targets[:, 0]  # scikit-learn stratifies single-output targets only
        arrays = (X, targets) if weights is None else (X, targets, weights)
        if _sklearn_split is not None:
            parts = _sklearn_split(*arrays, random_state=rng,
                                   test_size=self.validation_fraction, stratify=stratify)
        else:  # pragma: no cover - without scikit-learn: nnlearn's own split
            from .model_selection import train_test_split
            parts = train_test_split(*arrays, test_size=self.validation_fraction,
                                     stratify=stratify,
                                     random_state=int(rng.randint(2**31 - 1)))
        train, validation = parts[0::2], parts[1::2]
        if len(validation[0]) < 2:
            raise ValueError("The validation set is too small. Increase "
                             "'validation_fraction' or the size of your dataset.")
        w_train, w_val = (None, None) if weights is None else (train[2], validation[2])
        return (train[0], train[1], w_train,
                (validation[0], self._decode_targets(validation[1]), w_val))

    def _fit_lbfgs(self, X, targets, weights):
        stopping = _LbfgsStopping(self)
        self.model_.loss_evaluations = 0
        self.n_iter_ = 0
        self.model_.fit(X, targets, epochs=self.max_iter, batch_size=len(X), shuffle=False,
                        verbose=0, sample_weight=weights,
                        callbacks=[*(self.callbacks or []), stopping])
        limit = self.model_.stop_reason is not None or self.n_iter_ == self.max_iter
        if stopping.status != 0 and limit:
            message = (f"lbfgs failed to converge after {self.n_iter_} iteration(s) "
                       f"(status={stopping.status}):\n{stopping.message}\n")
            if self.n_iter_ == self.max_iter:
                message += ("\nIncrease the number of iterations to improve the convergence "
                            f"(max_iter={self.max_iter}).")
            message += ("\nYou might also want to scale the data as shown in:\n    "
                        "https://scikit-learn.org/stable/modules/preprocessing.html")
            warnings.warn(message, ConvergenceWarning, stacklevel=4)

    def _forward(self, X) -> np.ndarray:
        """The outputs, in the dtype scikit-learn's would have (X's and the weights'
        common type)."""
        out = self.model_.predict(X.astype(self.model_.dtype, copy=False), batch_size=4096)
        return out.astype(np.result_type(X.dtype, self.model_.dtype), copy=False)

    def _validation_score(self, X, y, weights) -> float:
        predicted = self._predict_array(X)
        if predicted.dtype.kind == "f" and not np.all(np.isfinite(predicted)):
            return np.nan
        return self._score_function(y, predicted, weights)

    # -- scikit-learn's fitted attributes ------------------------------------------------------
    def _dense(self):
        check_is_fitted(self, "model_")
        return [layer for layer in self.model_.layers if isinstance(layer, Dense)]

    @property
    def coefs_(self) -> list:
        """The kernels W of the Dense layers (arrays shared with the network)."""
        return [layer.kernel.data for layer in self._dense()]

    @coefs_.setter
    def coefs_(self, arrays):
        self._assign_weights(arrays, "kernel")

    @property
    def intercepts_(self) -> list:
        return [layer.bias.data for layer in self._dense()]

    @intercepts_.setter
    def intercepts_(self, arrays):
        self._assign_weights(arrays, "bias")

    def _assign_weights(self, arrays, which):
        dense = self._dense()
        arrays = list(arrays)
        if len(arrays) != len(dense):
            raise ValueError(f"expected {len(dense)} arrays; got {len(arrays)}")
        for layer, array in zip(dense, arrays):
            target = getattr(layer, which).data
            if np.shape(array) != target.shape:
                raise ValueError(f"expected an array of shape {target.shape}; got "
                                 f"{np.shape(array)}")
            target[...] = array

    @property
    def n_layers_(self) -> int:
        return len(self.coefs_) + 1

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.sparse = True
        return tags


_COMMON_DOC = """
    Parameters and attributes are scikit-learn's (see its documentation of {name});
    nnlearn adds ``dropout``, ``batch_normalization``, ``kernel_initializer`` (None:
    scikit-learn's initialization from ``random_state``), ``callbacks`` (nnlearn
    callbacks), ``dtype`` (e.g. "float32"), any nnlearn activation for ``activation`` and
    any nnlearn optimizer for ``solver``{extra}.
"""

#: What each constructor parameter of the multilayer perceptrons means, written once;
#: each class's "Parameters" section lists them in its signature's order.
_MLP_PARAMETERS = {
    "hidden_layer_sizes": r"""hidden_layer_sizes : array-like of int, or int, default=(100,)
    The width of each hidden layer, input side first: ``(64, 32)`` is two hidden layers
    of 64 and 32 units.""",
    "activation": r"""activation : str, default="relu"
    The hidden layers' activation $g$: scikit-learn's "identity", "logistic"
    ($\sigma(z) = 1/(1 + e^{-z})$), "tanh" or "relu" ($\max(z, 0)$), or any name of
    `nnlearn.activations`. The output layer's activation follows from the task.""",
    "solver": r"""solver : {"lbfgs", "sgd", "adam"} or nnlearn Optimizer, default="adam"
    How the weights are fitted: full-batch L-BFGS (Liu & Nocedal 1989), minibatch
    stochastic gradient descent with momentum (Robbins & Monro 1951; Polyak 1964), Adam
    (Kingma & Ba 2015), or any nnlearn optimizer object run on minibatches.""",
    "alpha": r"""alpha : float, default=0.0001
    Strength $\alpha \ge 0$ of the L2 penalty (weight decay) on the weights, not the
    biases: the objective gains $\frac{\alpha}{2S} \sum_l \lVert W_l\rVert_F^2$, $S$ the
    batch's total sample weight.""",
    "batch_size": r"""batch_size : int or "auto", default="auto"
    Samples per minibatch for the stochastic solvers; "auto" is $\min(200, n)$. Unused
    by "lbfgs".""",
    "learning_rate": r"""learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
    The step-size schedule of ``solver="sgd"``: constant $\eta_0$; "invscaling"
    $\eta_t = \eta_0 / (t + 1)^{p}$ with $t$ the samples seen and $p$ = ``power_t``;
    "adaptive" keeps $\eta_0$ while the loss improves and divides it by 5 after
    ``n_iter_no_change`` epochs without improvement by ``tol``.""",
    "learning_rate_init": r"""learning_rate_init : float, default=0.001
    The initial step size $\eta_0 > 0$ ("sgd" and "adam").""",
    "power_t": r"""power_t : float, default=0.5
    The exponent $p$ of the "invscaling" schedule.""",
    "max_iter": r"""max_iter : int, default=200
    The most epochs (stochastic solvers) or L-BFGS iterations; reaching it without
    converging warns (ConvergenceWarning, with scikit-learn installed).""",
    "shuffle": r"""shuffle : bool, default=True
    Whether the samples are shuffled at each epoch (stochastic solvers).""",
    "random_state": r"""random_state : int, RandomState or None, default=None
    The source of the initial weights, the shuffling, the validation split and the
    dropout masks; an int gives reproducible fits, and the same initial weights and
    shuffling as scikit-learn's estimator with the same value.""",
    "tol": r"""tol : float, default=1e-4
    The improvement that counts: training stops after ``n_iter_no_change`` epochs in
    which the loss fell (or the validation score rose) by less than ``tol``; for L-BFGS,
    the bound on the largest gradient component.""",
    "verbose": r"""verbose : bool or int, default=False
    Print the loss (and validation score) at each epoch.""",
    "warm_start": r"""warm_start : bool, default=False
    Continue from the previous fit's weights instead of initializing anew.""",
    "momentum": r"""momentum : float, default=0.9
    The momentum $\mu \in [0, 1]$ of ``solver="sgd"``:
    $v \leftarrow \mu v - \eta g$, $W \leftarrow W + v$ (Polyak 1964).""",
    "nesterovs_momentum": r"""nesterovs_momentum : bool, default=True
    Use Nesterov's momentum, the gradient taken at the look-ahead point (Nesterov 1983;
    Sutskever et al. 2013), with ``solver="sgd"`` and ``momentum > 0``.""",
    "early_stopping": r"""early_stopping : bool, default=False
    Hold out ``validation_fraction`` of the training data (stratified for a classifier),
    stop when its score has not improved by ``tol`` for ``n_iter_no_change`` epochs and
    keep the weights of the best epoch (stochastic solvers).""",
    "validation_fraction": r"""validation_fraction : float, default=0.1
    The share of the training data held out for ``early_stopping``, in $[0, 1)$.""",
    "beta_1": r"""beta_1 : float, default=0.9
    Adam's decay rate $\beta_1 \in [0, 1)$ of the first-moment estimate
    $m \leftarrow \beta_1 m + (1 - \beta_1) g$ (Kingma & Ba 2015).""",
    "beta_2": r"""beta_2 : float, default=0.999
    Adam's decay rate $\beta_2 \in [0, 1)$ of the second-moment estimate
    $v \leftarrow \beta_2 v + (1 - \beta_2) g^2$.""",
    "epsilon": r"""epsilon : float, default=1e-8
    Adam's $\epsilon$ in the step $\eta\, \hat m / (\sqrt{\hat v} + \epsilon)$, which
    keeps it finite where $\hat v$ is 0.""",
    "n_iter_no_change": r"""n_iter_no_change : int, default=10
    The number of epochs without an improvement of ``tol`` before stopping (or, with
    ``learning_rate="adaptive"``, before dividing the step size by 5).""",
    "max_fun": r"""max_fun : int, default=15000
    The most loss evaluations of ``solver="lbfgs"`` (its line searches included).""",
    "dropout": r"""dropout : float, default=0.0
    nnlearn's extra: the dropout rate after each hidden layer while training, in
    $[0, 1)$ (Srivastava et al. 2014); 0 adds no Dropout layer.""",
    "batch_normalization": r"""batch_normalization : bool, default=False
    nnlearn's extra: a BatchNormalization layer after each hidden layer (Ioffe &
    Szegedy 2015).""",
    "kernel_initializer": r"""kernel_initializer : str or nnlearn initializer, default=None
    nnlearn's extra: the initializer of every layer's weights (e.g. "he_normal"); None
    draws scikit-learn's uniform Glorot initialization from ``random_state``.""",
    "callbacks": r"""callbacks : list of nnlearn Callback, default=None
    nnlearn's extra: callbacks called at each epoch of the fit, before the
    estimator's own stopping rule.""",
    "dtype": r"""dtype : str or numpy dtype, default=None
    nnlearn's extra: the floating dtype the network computes in (e.g. "float32");
    None follows X (float32 stays float32, anything else float64).""",
}


def _parameters_section(estimator_class, descriptions: dict) -> str:
    """The numpy-style "Parameters" section of ``estimator_class``'s docstring: each
    constructor parameter's description from ``descriptions``, in the signature's order
    (a parameter without one is an error at import time, not a silent gap)."""
    import inspect
    import textwrap

    names = [name for name in inspect.signature(estimator_class.__init__).parameters
             if name != "self"]
    entries = [textwrap.indent(descriptions[name].strip("\n"), "    ") for name in names]
    return "\n    Parameters\n    ----------\n" + "\n".join(entries) + "\n"


class MLPClassifier(ClassifierMixin, _BaseMLP):
    __doc__ = ("""A multilayer perceptron classifier: scikit-learn's MLPClassifier on
    nnlearn's engine.

    One logistic output for two classes (or one), a softmax output for more, one logistic
    output per label for a 2-D indicator matrix (multi-label); the loss is scikit-learn's
    log-loss (summed over the labels).
    """ + _COMMON_DOC.format(name="MLPClassifier", extra=", and any nnlearn loss for "
                             "``loss`` (None: the log-loss)"))

    _parameter_table = {**_MLP_CONSTRAINTS, "loss": [_NONE, _Check(
        _known(losses_module.get), "an nnlearn loss")]}

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, batch_normalization=False, loss=None, kernel_initializer=None,
                 callbacks=None, dtype=None):
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
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.loss = loss
        self.kernel_initializer = kernel_initializer
        self.callbacks = callbacks
        self.dtype = dtype

    def _custom_loss(self):
        return None if self.loss is None else losses_module.get(self.loss)

    # -- labels as scikit-learn's LabelBinarizer -------------------------------------------
    def _set_classes(self, y_or_classes, multilabel: bool):
        if multilabel:
            self.classes_ = np.arange(np.asarray(y_or_classes).shape[1])
            self._kind = "multilabel"
        else:
            self.classes_ = np.unique(np.asarray(y_or_classes))
            self._kind = "multiclass" if len(self.classes_) > 2 else "binary"
        self.out_activation_ = "softmax" if self._kind == "multiclass" else "logistic"

    @staticmethod
    def _is_multilabel(y) -> bool:
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            if not np.all((y == 0) | (y == 1)):
                raise ValueError("Multioutput target data is not supported with label "
                                 "binarization")
            return True
        return False

    def _encode(self, y):
        """The network's targets: the class index (softmax), the 0/1 indicator of the
        second class (binary; all 0 for a single class) or the label matrix."""
        if self._kind == "multilabel":
            if not (np.ndim(y) == 2 and np.shape(y)[1] == len(self.classes_)):
                raise ValueError("y must be a label indicator matrix with "
                                 f"{len(self.classes_)} columns")
            return np.asarray(y, dtype=np.float64)
        index = np.searchsorted(self.classes_, y)
        if self._kind == "binary":
            return (index == 1).astype(np.float64)[:, None] if len(self.classes_) == 2 \
                else np.zeros((len(y), 1))
        return index.astype(np.intp)[:, None]  # class indices, read as they are each step

    def _decode_targets(self, targets):
        if self._kind == "multilabel":
            return targets.astype(int)
        if self._kind == "binary":
            return self.classes_[targets[:, 0].astype(int)] if len(self.classes_) == 2 \
                else np.repeat(self.classes_, len(targets))
        return self.classes_[targets[:, 0].astype(int)]

    def _labels(self, y, incremental: bool, first: bool):
        multilabel = self._is_multilabel(y)
        if first and not incremental or not hasattr(self, "classes_"):
            self._set_classes(y, multilabel)
            return self._encode(y)
        classes = np.arange(np.shape(y)[1]) if multilabel else np.unique(y)
        if self.warm_start:
            if set(classes.tolist()) != set(self.classes_.tolist()):
                raise ValueError("warm_start can only be used where `y` has the same classes "
                                 f"as in the previous call to fit. Previously got "
                                 f"{self.classes_}, `y` has {classes}")
        elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has "
                             f"{self.classes_}. 'y' has {classes}.")
        return self._encode(y)

    def fit(self, X, y, sample_weight=None):
        """Train on (X, y) (optionally weighting the samples); returns self."""
        sizes = self._check_parameters()
        first = not hasattr(self, "model_") or not self.warm_start
        X, y = validate_fit(self, X, y, reset=first, dtype=_FLOATS, multi_output=True,
                            accept_sparse=True)
        targets = self._labels(y, incremental=False, first=first)
        return self._fit(X, targets, sample_weight, False, first, sizes)

    def _check_solver(self):
        if not self._stochastic:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return True

    @property
    def partial_fit(self):
        """One epoch on (X, y): ``partial_fit(X, y, sample_weight=None, classes=None)``;
        ``classes`` (all labels) is required on the first call.  Only for the stochastic
        solvers (scikit-learn hides it for solver='lbfgs')."""
        self._check_solver()
        return self._partial_fit

    def _partial_fit(self, X, y, sample_weight=None, classes=None):
        sizes = self._check_parameters()
        known = getattr(self, "classes_", None)
        if known is None and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit.")
        if classes is not None and known is not None:
            if not np.array_equal(known, np.unique(classes)):
                raise ValueError(f"`classes={classes!r}` is not the same as on last call to "
                                 f"partial_fit, was: {known!r}")
        first = not hasattr(self, "model_")
        X, y = validate_fit(self, X, y, reset=first, dtype=_FLOATS, multi_output=True,
                            accept_sparse=True)
        if known is None:
            multilabel = self._is_multilabel(y)
            self._set_classes(y if multilabel else classes, multilabel)
        targets = self._labels(y, incremental=True, first=first)
        return self._fit(X, targets, sample_weight, True, first, sizes)

    def _score_function(self, y, predicted, weights):
        return _accuracy(y, predicted, weights)

    def _decode(self, output):
        if self._kind == "multilabel":
            return (output > 0.5).astype(int)
        if self._kind == "binary":
            if len(self.classes_) == 1:
                return np.repeat(self.classes_, len(output))
            return self.classes_[(output[:, 0] > 0.5).astype(int)]
        return self.classes_[np.argmax(output, axis=1)]

    def _predict_array(self, X):
        return self._decode(self._forward(X))

    def predict(self, X):
        """The predicted class of each sample (labels, or an indicator matrix)."""
        return self._predict_array(validate_predict(self, X, "model_", dtype=_FLOATS,
                                                    accept_sparse=True))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``."""
        X = validate_predict(self, X, "model_", dtype=_FLOATS, accept_sparse=True)
        output = self._forward(X)
        if self.n_outputs_ == 1:
            return np.hstack([1 - output, output])
        return output

    def predict_log_proba(self, X):
        """The logarithm of ``predict_proba`` (-inf where a probability is 0)."""
        probabilities = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(probabilities, out=probabilities)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


MLPClassifier.__doc__ += _parameters_section(MLPClassifier, {**_MLP_PARAMETERS, "loss": r"""
loss : str, nnlearn Loss or None, default=None
    nnlearn's extra: the loss on the outputs; None is scikit-learn's log-loss, the
    cross-entropy $-\sum_k y_k \ln p_k$ of a softmax output (several classes) or the
    binary cross-entropy of logistic outputs summed over the labels (Cox 1958; Bridle
    1990)."""})

class MLPRegressor(RegressorMixin, _BaseMLP):
    __doc__ = ("""A multilayer perceptron regressor: scikit-learn's MLPRegressor on nnlearn's
    engine: a linear output and the half squared error (``loss="squared_error"``), or an
    exp output and the half Poisson deviance (``loss="poisson"``, y >= 0).
    """ + _COMMON_DOC.format(name="MLPRegressor", extra=", and any nnlearn loss for "
                             "``loss`` (computed on a linear output)"))

    _parameter_table = {**_MLP_CONSTRAINTS, "loss": [
        _Options("squared_error", "poisson"),
        _Check(lambda v: losses_module.get(v) is not None, "any nnlearn loss")]}

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, batch_normalization=False, kernel_initializer=None,
                 callbacks=None, dtype=None):
        self.loss = loss
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
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.kernel_initializer = kernel_initializer
        self.callbacks = callbacks
        self.dtype = dtype

    def _custom_loss(self):
        if isinstance(self.loss, str) and self.loss in ("squared_error", "poisson"):
            return None
        return losses_module.get(self.loss)

    def _targets(self, X, y):
        y = np.asarray(y, dtype=np.float64)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError("Some value(s) of y are negative which is not allowed for "
                             "Poisson regression.")
        return y.reshape(len(y), -1)

    def _head(self):
        self.out_activation_ = "exp" if self.loss == "poisson" else "identity"

    def fit(self, X, y, sample_weight=None):
        """Train on (X, y) (optionally weighting the samples); returns self."""
        sizes = self._check_parameters()
        first = not hasattr(self, "model_") or not self.warm_start
        X, y = validate_fit(self, X, y, reset=first, dtype=_FLOATS, multi_output=True,
                            accept_sparse=True)
        if first:
            self._head()
        return self._fit(X, self._targets(X, y), sample_weight, False, first, sizes)

    @property
    def partial_fit(self):
        """One epoch on (X, y): ``partial_fit(X, y, sample_weight=None)``.  Only for the
        stochastic solvers."""
        if not self._stochastic:
            raise AttributeError(f"partial_fit is only available for stochastic optimizers. "
                                 f"{self.solver} is not stochastic.")
        return self._partial_fit

    def _partial_fit(self, X, y, sample_weight=None):
        sizes = self._check_parameters()
        first = not hasattr(self, "model_")
        X, y = validate_fit(self, X, y, reset=first, dtype=_FLOATS, multi_output=True,
                            accept_sparse=True)
        if first:
            self._head()
        return self._fit(X, self._targets(X, y), sample_weight, True, first, sizes)

    def _decode_targets(self, targets):
        return targets

    def _score_function(self, y, predicted, weights):
        return _r2(y, predicted, weights)

    def _predict_array(self, X):
        return self._forward(X)

    def predict(self, X):
        """The predictions: shape (n,) for one output, else (n, n_outputs)."""
        X = validate_predict(self, X, "model_", dtype=_FLOATS, accept_sparse=True)
        output = self._forward(X)
        return output[:, 0] if output.shape[1] == 1 else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        tags.target_tags.positive_only = self.loss == "poisson"
        return tags


MLPRegressor.__doc__ += _parameters_section(MLPRegressor, {**_MLP_PARAMETERS, "loss": r"""
loss : {"squared_error", "poisson"} or nnlearn Loss, default="squared_error"
    "squared_error": a linear output and the half squared error
    $\frac{1}{2K} \sum_k (y_k - \hat y_k)^2$ (least squares, Gauss 1809); "poisson": an
    exponential output $\hat y = e^z$ and the half Poisson deviance
    $\sum_k (\hat y_k - y_k \ln \hat y_k)$ up to a constant, for counts $y \ge 0$
    (Nelder & Wedderburn 1972); or any nnlearn loss, computed on a linear output."""})

# -- any compiled nnlearn model as a scikit-learn estimator ------------------------------------
class _ModelWrapper(BaseEstimator):
    """Base of ModelClassifier / ModelRegressor (what scikeras's KerasClassifier does for
    Keras): ``model`` is a function returning a compiled nnlearn Model; keyword arguments
    named like its parameters are its hyperparameters (so GridSearchCV can tune them),
    and it also receives ``n_features_in`` and ``n_outputs`` (regression) or ``n_classes``
    (classification) when it takes parameters of those names."""

    _meta = ()

    def __init__(self, model=None, *, epochs=10, batch_size=32, shuffle=True,
                 validation_split=0.0, callbacks=None, verbose=0, random_state=None,
                 **model_params):
        self.model = model
        self.epochs = epochs
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.validation_split = validation_split
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        for name, value in model_params.items():
            setattr(self, name, value)
        self._model_params = tuple(model_params)

    def get_params(self, deep=True):
        params = {name: getattr(self, name) for name in
                  ("model", "epochs", "batch_size", "shuffle", "validation_split",
                   "callbacks", "verbose", "random_state")}
        params.update({name: getattr(self, name) for name in self._model_params})
        return params

    def set_params(self, **params):
        fixed = set(self.get_params())
        for name, value in params.items():
            if name not in fixed:
                if not self._accepts(name):
                    raise ValueError(f"Invalid parameter {name!r} for estimator "
                                     f"{type(self).__name__}(): the model function takes "
                                     "no parameter of that name.")
                self._model_params = (*self._model_params, name)
            setattr(self, name, value)
        return self

    def _accepts(self, name) -> bool:
        if self.model is None:
            return False
        parameters = inspect.signature(self.model).parameters
        return name in parameters or any(p.kind is p.VAR_KEYWORD for p in parameters.values())

    def _build_model(self, meta: dict) -> Model:
        if not callable(self.model):
            raise ValueError("model must be a function returning a compiled nnlearn model; "
                             f"got {self.model!r}")
        kwargs = {name: getattr(self, name) for name in self._model_params}
        parameters = inspect.signature(self.model).parameters
        kwargs.update({k: v for k, v in meta.items() if k in parameters})
        model = self.model(**kwargs)
        if not isinstance(model, Model) or model.loss is None:
            raise ValueError("model must return a compiled nnlearn Model (call "
                             "model.compile(optimizer, loss) in the function)")
        if not model.built:
            model.build((meta["n_features_in"],))
        return model

    def _train(self, X, targets, model):
        seed = None if self.random_state is None else int(
            _check_random_state(self.random_state).randint(2**31 - 1))
        self.model_ = model
        if self.model_.seed is None and seed is not None and not self.model_.built:
            self.model_.seed = seed
        X = X.astype(self.model_.dtype, copy=False)
        self.history_ = self.model_.fit(
            X, targets, epochs=self.epochs, batch_size=min(self.batch_size, len(X)),
            shuffle=self.shuffle, validation_split=self.validation_split,
            callbacks=list(self.callbacks or []), verbose=self.verbose, seed=seed)
        return self

    def _outputs(self, X):
        X = validate_predict(self, X, "model_", dtype=_FLOATS, accept_sparse=True)
        return self.model_.predict(X.astype(self.model_.dtype, copy=False)).astype(
            np.float64).reshape(len(X), -1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        tags.input_tags.sparse = True
        return tags


#: The constructor parameters of ModelClassifier and ModelRegressor (one text for both).
_MODEL_WRAPPER_PARAMETERS = """
    Parameters
    ----------
    model : callable
        A function returning a compiled nnlearn model. It receives the keyword
        arguments named like its parameters (the hyperparameters below), and
        ``n_features_in`` and ``n_classes`` (classifier) or ``n_outputs`` (regressor)
        when it takes parameters of those names.
    epochs : int, default=10
        The passes over the training data in ``fit``.
    batch_size : int, default=32
        Samples per minibatch (at most the number of samples).
    shuffle : bool, default=True
        Whether the samples are shuffled at each epoch.
    validation_split : float, default=0.0
        The share of the training data held out to report validation metrics, as
        ``Model.fit(validation_split=...)`` does.
    callbacks : list of nnlearn Callback, default=None
        Callbacks passed to ``Model.fit``.
    verbose : int, default=0
        ``Model.fit``'s progress output: 0 silent, 1 a progress bar, 2 a line per epoch.
    random_state : int, RandomState or None, default=None
        The source of the model's seed (initial weights, shuffling, dropout masks); an
        int gives reproducible fits.
    **model_params
        The model function's hyperparameters (``units=32``): estimator parameters
        that ``get_params`` reports and ``GridSearchCV`` can tune.
"""


class ModelClassifier(ClassifierMixin, _ModelWrapper):
    __doc__ = ("""Any function building a compiled nnlearn classifier as a scikit-learn classifier::

        def build(n_features_in, n_classes, units=32):
            model = nl.Sequential([nl.layers.Input(n_features_in),
                                   nl.layers.Dense(units, activation="relu"),
                                   nl.layers.Dense(n_classes, activation="softmax")])
            model.compile("adam", loss="sparse_categorical_crossentropy")
            return model

        GridSearchCV(ModelClassifier(build, units=32, epochs=20), {"units": [16, 64]})

    The targets given to the model follow its loss: class indices for a sparse loss,
    one-hot rows for a categorical one, a 0/1 column for a single output.  The outputs
    are read as probabilities (softmax / sigmoid applied when the loss takes logits).
    """ + _MODEL_WRAPPER_PARAMETERS)

    def fit(self, X, y):
        """Build the model for (X, y) and train it; returns self."""
        X, y = validate_fit(self, X, y, dtype=_FLOATS, accept_sparse=True)
        self.classes_, index = np.unique(y, return_inverse=True)
        meta = {"n_features_in": X.shape[1], "n_classes": len(self.classes_)}
        model = self._build_model(meta)
        return self._train(X, self._targets_for(model, index), model)

    def _targets_for(self, model, index):
        if model.output_units == 1:
            return index.astype(np.float64)
        if model.loss.targets == "one_hot":
            return np.eye(len(self.classes_))[index]
        return index

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_`` (the model's
        outputs, through softmax or sigmoid when its loss takes logits)."""
        output = self._outputs(X)
        if self.model_.loss.from_logits:
            output = (activations_module.sigmoid if output.shape[1] == 1 else
                      activations_module.softmax)(ag.Tensor(output)).data
        if output.shape[1] == 1:
            return np.hstack([1 - output, output])
        return output

    def predict(self, X):
        """The most probable class of each sample, as a label of ``classes_``."""
        probabilities = self.predict_proba(X)
        if len(self.classes_) == 1:
            return np.repeat(self.classes_, len(probabilities))
        return self.classes_[np.argmax(probabilities, axis=1)]


class ModelRegressor(RegressorMixin, _ModelWrapper):
    __doc__ = ("""Any function building a compiled nnlearn regressor as a scikit-learn
    regressor (the model function may take ``n_features_in`` and ``n_outputs``).
    """ + _MODEL_WRAPPER_PARAMETERS)

    def fit(self, X, y):
        """Build the model for (X, y) and train it; returns self."""
        X, y = validate_fit(self, X, y, dtype=_FLOATS, multi_output=True, accept_sparse=True)
        y = np.asarray(y, dtype=np.float64)
        self._single_output = y.ndim == 1
        meta = {"n_features_in": X.shape[1], "n_outputs": 1 if y.ndim == 1 else y.shape[1]}
        return self._train(X, y, self._build_model(meta))

    def predict(self, X):
        """The model's outputs (a vector when fit was given one target column)."""
        output = self._outputs(X)
        return output[:, 0] if self._single_output else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
