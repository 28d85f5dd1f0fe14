"""scikit-learn compatible multilayer perceptrons on nnlearn's engine.

``MLPClassifier`` and ``MLPRegressor`` take scikit-learn's parameter names (and
meanings) and add nnlearn's: any activation, dropout, batch normalization, any loss,
initializer, optimizer and callbacks.  They work without scikit-learn; with it installed
they are its estimators (``clone``, ``Pipeline``, ``GridSearchCV``, ``check_estimator``).

Computation happens in X's dtype (float32 stays float32, anything else float64), as in
scikit-learn, unless ``dtype`` says otherwise (``dtype="float32"`` is about twice as
fast on float64 data).

Training: mini-batch gradient descent by the chosen ``solver`` on the
mean loss plus scikit-learn's L2 penalty alpha / (2 n_batch) * sum ||W||^2, stopping
when the training loss (or, with ``early_stopping``, the validation score) has not
improved by ``tol`` for ``n_iter_no_change`` epochs, or after ``max_iter`` epochs.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import activations as activations_module
from . import optimizers as optimizers_module
from .base import (BaseEstimator, ClassifierMixin, RegressorMixin, check_is_fitted,
                   r2_score, validate_fit, validate_predict)
from .callbacks import Callback, StopKind, StopReason
from .layers import Dense
from .models import mlp
from .regularizers import L2

__all__ = ["MLPClassifier", "MLPRegressor", "ConvergenceWarning"]

try:
    from sklearn.exceptions import ConvergenceWarning
except ImportError:  # pragma: no cover
    class ConvergenceWarning(UserWarning):
        """Training stopped at max_iter before the stopping criterion was met."""

_SKLEARN_ACTIVATIONS = {"logistic": "sigmoid", "identity": "linear"}
_FLOATS = (np.float64, np.float32)  # float32 input is trained in float32, else float64


class _StoppingCriterion(Callback):
    """scikit-learn's stopping rule as a training callback: record the loss curve; stop
    when the training loss (or the validation score, with early_stopping) has not
    improved by tol for n_iter_no_change epochs; stop on a non-finite loss."""

    def __init__(self, estimator, x_val, y_val, incremental: bool):
        self.estimator, self.x_val, self.y_val = estimator, x_val, y_val
        self.incremental = incremental
        self.best_weights = None
        self.no_improvement = 0

    def on_epoch_end(self, epoch, logs=None):
        est, loss = self.estimator, logs["loss"]
        est.loss_curve_.append(loss)
        if est.verbose:
            print(f"Iteration {epoch + 1}, loss = {loss:.8f}")
        if not np.isfinite(loss):
            raise ValueError(f"training diverged at iteration {epoch + 1} (loss {loss}); "
                             "lower learning_rate_init")
        if self.x_val is not None:
            score = est._validation_score(self.x_val, self.y_val)
            est.validation_scores_.append(score)
            improved = score > est.best_validation_score_ + est.tol
            if score > est.best_validation_score_:
                est.best_validation_score_ = score
                self.best_weights = self.model.get_weights()
        else:
            improved = loss < est.best_loss_ - est.tol
            est.best_loss_ = min(est.best_loss_, loss)
        self.no_improvement = 0 if improved else self.no_improvement + 1
        if not self.incremental and self.no_improvement > est.n_iter_no_change:
            what = "validation score" if self.x_val is not None else "training loss"
            self.model.stop(StopReason(StopKind.CONVERGED, f"{what} did not improve more "
                                       f"than tol={est.tol} for {est.n_iter_no_change} "
                                       "consecutive epochs"))


class _BaseMLP(BaseEstimator):
    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, dropout=0.0, batch_normalization=False, loss=None,
                 kernel_initializer="glorot_uniform", callbacks=None, dtype=None):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
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
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.loss = loss
        self.kernel_initializer = kernel_initializer
        self.callbacks = callbacks
        self.dtype = dtype

    # -- construction ----------------------------------------------------------------------
    def _validate_params(self):
        sizes = self.hidden_layer_sizes
        sizes = (sizes,) if isinstance(sizes, (int, np.integer)) else tuple(sizes)
        if not all(isinstance(n, (int, np.integer)) and n > 0 for n in sizes):
            raise ValueError(f"hidden_layer_sizes must be positive integers; got "
                             f"{self.hidden_layer_sizes!r}")
        for name in ("max_iter", "n_iter_no_change"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if not (isinstance(self.alpha, (int, float)) and self.alpha >= 0):
            raise ValueError(f"alpha must be a non-negative number; got {self.alpha!r}")
        if not (isinstance(self.learning_rate_init, (int, float))
                and self.learning_rate_init > 0):
            raise ValueError(f"learning_rate_init must be positive; got "
                             f"{self.learning_rate_init!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1); got {self.dropout!r}")
        if not 0 < self.validation_fraction < 1:
            raise ValueError(f"validation_fraction must be in (0, 1); got "
                             f"{self.validation_fraction!r}")
        if self.batch_size != "auto" and not (isinstance(self.batch_size, (int, np.integer))
                                              and self.batch_size > 0):
            raise ValueError(f"batch_size must be 'auto' or a positive integer; got "
                             f"{self.batch_size!r}")
        activations_module.get(_SKLEARN_ACTIVATIONS.get(self.activation, self.activation))
        return sizes

    def _optimizer(self):
        lr = self.learning_rate_init
        if self.solver == "sgd":
            return optimizers_module.SGD(lr, momentum=self.momentum,
                                         nesterov=self.nesterovs_momentum and self.momentum > 0)
        if self.solver == "adam":
            return optimizers_module.Adam(lr, beta_1=self.beta_1, beta_2=self.beta_2,
                                          epsilon=self.epsilon)
        if self.solver == "lbfgs":
            return optimizers_module.LBFGS()
        return optimizers_module.get({"class_name": self.solver,
                                      "config": {"learning_rate": lr}}, "solver")

    def _build(self, n_features, n_outputs, dtype, batch):
        sizes = self._validate_params()
        rng = np.random.default_rng(self.random_state)
        model = mlp(n_features, sizes, n_outputs,
                    activation=_SKLEARN_ACTIVATIONS.get(self.activation, self.activation),
                    output_activation=self._output_activation(),
                    kernel_regularizer=L2(self.alpha / (2 * batch)) if self.alpha else None,
                    dropout=self.dropout, batch_normalization=self.batch_normalization,
                    kernel_initializer=self.kernel_initializer,
                    seed=int(rng.integers(2**31)), dtype=dtype)
        model.build((n_features,))
        model.compile(optimizer=self._optimizer(), loss=self.loss or self._default_loss())
        return model

    # -- training --------------------------------------------------------------------------
    def _batch(self, n):
        return min(200, n) if self.batch_size == "auto" else min(self.batch_size, n)

    def _fit(self, X, targets, incremental: bool):
        if self.dtype is not None:  # e.g. "float32": compute in it whatever X's dtype
            X = X.astype(self.dtype, copy=False)
        n = len(X)
        fresh = not (incremental or self.warm_start) or not hasattr(self, "model_")
        # scikit-learn's penalty is alpha / (2 n_batch); L-BFGS's batch is all n samples
        batch = n if self.solver == "lbfgs" else self._batch(n)
        if fresh:
            self.model_ = self._build(X.shape[1], self._output_units(targets), X.dtype, batch)
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
            self.best_loss_ = np.inf
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_validation_score_ = -np.inf if self.early_stopping else None
        x_val = y_val = None
        if self.early_stopping and not incremental:
            order = np.random.default_rng(self.random_state).permutation(n)
            n_val = max(1, int(round(self.validation_fraction * n)))
            X, x_val = X[order[n_val:]], X[order[:n_val]]
            targets, y_val = targets[order[n_val:]], targets[order[:n_val]]
        stopping = _StoppingCriterion(self, x_val, y_val, incremental)
        epochs = 1 if incremental else self.max_iter
        history = self.model_.fit(
            X, targets, epochs=self.n_iter_ + epochs, initial_epoch=self.n_iter_,
            batch_size=len(X) if self.solver == "lbfgs" else batch, shuffle=self.shuffle,
            verbose=0, seed=np.random.SeedSequence(self.random_state).entropy,
            callbacks=[*(self.callbacks or []), stopping])
        self.n_iter_ += len(history.epoch)
        self.t_ += len(X) * len(history.epoch)
        if stopping.best_weights is not None:  # early stopping keeps the best epoch
            self.model_.set_weights(stopping.best_weights)
            self.best_loss_ = None
        if not incremental and not self.model_.stop_training and self.solver != "lbfgs":
            warnings.warn(f"Stochastic optimizer: maximum iterations ({self.max_iter}) "
                          "reached and the optimization hasn't converged yet.",
                          ConvergenceWarning, stacklevel=3)
        return self

    def _validation_score(self, x_val, y_val) -> float:
        raise NotImplementedError

    def _forward(self, X) -> np.ndarray:
        return self.model_.predict(X.astype(self.model_.dtype, copy=False), batch_size=4096)

    # -- scikit-learn's fitted attributes ------------------------------------------------------
    @property
    def coefs_(self) -> list:
        check_is_fitted(self, "model_")
        return [layer.kernel.data for layer in self.model_.layers if isinstance(layer, Dense)]

    @property
    def intercepts_(self) -> list:
        check_is_fitted(self, "model_")
        return [layer.bias.data for layer in self.model_.layers if isinstance(layer, Dense)]

    @property
    def n_layers_(self) -> int:
        return len(self.coefs_) + 1

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier (scikit-learn's MLPClassifier parameters).

    Binary targets use one sigmoid output and binary cross-entropy; several classes a
    softmax output and categorical cross-entropy (computed from the logits); a 2-D 0/1
    indicator matrix is multi-label (one sigmoid per label).
    """

    def _output_activation(self):
        return "softmax" if self._kind == "multiclass" else "sigmoid"

    def _output_units(self, targets):
        return len(self.classes_) if self._kind == "multiclass" else targets.shape[1]

    def _default_loss(self):
        return ("sparse_categorical_crossentropy" if self._kind == "multiclass"
                else "binary_crossentropy")

    def _encode(self, y, classes=None, reset: bool = True):
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:  # multi-label indicator matrix
            if reset:
                self._kind = "multilabel"
                self.classes_ = np.arange(y.shape[1])
            if not np.all((y == 0) | (y == 1)):
                raise ValueError("a 2-D y must be a 0/1 label indicator matrix")
            return y.astype(np.float64)
        if y.ndim == 2:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D (labels) or a 2-D indicator matrix; got "
                             f"shape {y.shape}")
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        if reset:
            labels = np.unique(y) if classes is None else np.asarray(classes)
            if y.dtype.kind == "f" and not np.all(labels == np.round(labels)):
                raise ValueError("Unknown label type: continuous. MLPClassifier needs class "
                                 "labels (use MLPRegressor for continuous targets)")
            if len(labels) < 2:
                raise ValueError(f"y must contain at least two classes; got 1 class: "
                                 f"{labels.tolist()}")
            self.classes_ = labels
            self._kind = "binary" if len(labels) == 2 else "multiclass"
        unknown = ~np.isin(y, self.classes_)
        if unknown.any():
            raise ValueError(f"y contains labels not in classes_: {np.unique(y[unknown])!r}")
        position = {label: i for i, label in enumerate(self.classes_.tolist())}
        index = np.array([position[label] for label in y.tolist()], dtype=np.int64)
        return (index.astype(np.float64)[:, None] if self._kind == "binary"
                else index[:, None])

    def fit(self, X, y):
        """Train on (X, y); returns self."""
        reset = not (self.warm_start and hasattr(self, "model_"))
        X, y = validate_fit(self, X, y, reset=reset, dtype=_FLOATS, multi_output=True)
        return self._fit(X, self._encode(y, reset=reset), incremental=False)

    def partial_fit(self, X, y, classes=None):
        """One epoch on (X, y); ``classes`` (all labels) is required on the first call."""
        first = not hasattr(self, "model_")
        if first and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        X, y = validate_fit(self, X, y, reset=first, dtype=_FLOATS, multi_output=True)
        return self._fit(X, self._encode(y, classes=classes, reset=first), incremental=True)

    def _validation_score(self, x_val, y_val):
        """Accuracy (exact match of every label for multi-label targets)."""
        predicted, truth = self._decode(self._forward(x_val)), self._decode_targets(y_val)
        if self._kind == "multilabel":
            return float(np.mean(np.all(predicted == truth, axis=1)))
        return float(np.mean(predicted == truth))

    def _decode_targets(self, targets):
        if self._kind == "multilabel":
            return targets.astype(int)
        return self.classes_[targets[:, 0].astype(int)]

    def _decode(self, output):
        if self._kind == "multilabel":
            return (output > 0.5).astype(int)
        if self._kind == "binary":
            return self.classes_[(output[:, 0] > 0.5).astype(int)]
        return self.classes_[np.argmax(output, axis=1)]

    def predict(self, X):
        """The predicted class of each sample (labels, or an indicator matrix)."""
        return self._decode(self._forward(validate_predict(self, X, "model_", dtype=_FLOATS)))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``."""
        X = validate_predict(self, X, "model_", dtype=_FLOATS)
        output = self._forward(X).astype(np.float64)
        if self._kind == "binary":
            return np.hstack([1 - output, output])
        return output

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor (scikit-learn's MLPRegressor parameters): a
    linear output layer and the mean squared error, one output per target column."""

    def _output_activation(self):
        return "linear"

    def _output_units(self, targets):
        return targets.shape[1]

    def _default_loss(self):
        return "mse"

    def _targets(self, X, y, reset: bool):
        y = np.asarray(y)
        if y.dtype.kind not in "iubf":
            raise ValueError(f"y must be numeric; got dtype {y.dtype}")
        y = y.astype(X.dtype)
        if not np.all(np.isfinite(y)):
            raise ValueError("Input y contains NaN or infinity.")
        if reset:
            self._single_output = y.ndim == 1
        return y.reshape(len(y), -1)

    def fit(self, X, y):
        reset = not (self.warm_start and hasattr(self, "model_"))
        X, y = validate_fit(self, X, y, reset=reset, dtype=_FLOATS, multi_output=True)
        return self._fit(X, self._targets(X, y, reset), incremental=False)

    def partial_fit(self, X, y):
        first = not hasattr(self, "model_")
        X, y = validate_fit(self, X, y, reset=first, dtype=_FLOATS, multi_output=True)
        return self._fit(X, self._targets(X, y, first), incremental=True)

    def _validation_score(self, x_val, y_val):
        return r2_score(y_val, self._forward(x_val))

    def predict(self, X):
        X = validate_predict(self, X, "model_", dtype=_FLOATS)
        output = self._forward(X).astype(np.float64)
        return output[:, 0] if self._single_output else output

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
