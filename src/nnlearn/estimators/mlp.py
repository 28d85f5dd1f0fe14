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

The parameter checks are in :mod:`.parameters`, the training rules replayed from
scikit-learn in :mod:`.fitting`, the wrappers of any nnlearn model in :mod:`.wrappers`.
This module is long because its two estimators document every one of scikit-learn's
parameters where the user reads them, in their docstrings; the code they share is one
base class.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np

from .. import losses as losses_module
from .. import optimizers as optimizers_module
from ..base import (BaseEstimator, ClassifierMixin, RegressorMixin, check_is_fitted,
                   validate_fit, validate_predict)
from ..layers import Dense
from ..models import mlp
from .fitting import (NON_FINITE, ConvergenceWarning, LbfgsStopping, Network, StochasticStopping,
                      sklearn_weights)
from .parameters import (FLOATS, MLP_CONSTRAINTS, NONE, SKLEARN_ACTIVATIONS, Check, Options,
                         check_random_state, known, validate_parameters)


try:
    from sklearn.model_selection import train_test_split as _sklearn_split
except ImportError:  # pragma: no cover
    _sklearn_split = None


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


# -- the estimators ---------------------------------------------------------------------------
class _BaseMLP(BaseEstimator):
    _parameter_table = MLP_CONSTRAINTS

    def _check_parameters(self):
        validate_parameters(self, self._parameter_table)
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
                    activation=SKLEARN_ACTIVATIONS.get(self.activation, self.activation),
                    output_activation=output, dropout=float(self.dropout),
                    batch_normalization=self.batch_normalization,
                    kernel_initializer=self.kernel_initializer or "glorot_uniform",
                    seed=int(rng.randint(2**31 - 1)) if self.kernel_initializer else None,
                    dtype=dtype)
        model = Network(stack.layers, seed=stack.seed, dtype=dtype, name="mlp")
        model.build((n_features,))
        if self.kernel_initializer is None:  # scikit-learn's initialization, its draws
            initial = sklearn_weights(rng, [n_features, *sizes, n_outputs],
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
        rng = check_random_state(self.random_state)
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
            raise ValueError(NON_FINITE)
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
        stopping = StochasticStopping(self, n, validation, incremental)
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
            from ..model_selection import train_test_split
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
        stopping = LbfgsStopping(self)
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

    _parameter_table = {**MLP_CONSTRAINTS, "loss": [NONE, Check(
        known(losses_module.get), "an nnlearn loss")]}

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
        X, y = validate_fit(self, X, y, reset=first, dtype=FLOATS, multi_output=True,
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
        X, y = validate_fit(self, X, y, reset=first, dtype=FLOATS, multi_output=True,
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
        return self._predict_array(validate_predict(self, X, "model_", dtype=FLOATS,
                                                    accept_sparse=True))

    def predict_proba(self, X):
        """Class probabilities, columns in the order of ``classes_``."""
        X = validate_predict(self, X, "model_", dtype=FLOATS, accept_sparse=True)
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

    _parameter_table = {**MLP_CONSTRAINTS, "loss": [
        Options("squared_error", "poisson"),
        Check(lambda v: losses_module.get(v) is not None, "any nnlearn loss")]}

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
        X, y = validate_fit(self, X, y, reset=first, dtype=FLOATS, multi_output=True,
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
        X, y = validate_fit(self, X, y, reset=first, dtype=FLOATS, multi_output=True,
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
        X = validate_predict(self, X, "model_", dtype=FLOATS, accept_sparse=True)
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
