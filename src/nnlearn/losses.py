"""Loss functions with Keras's names and signature ``loss(y_true, y_pred)``.

Each returns the mean over the batch of a per-sample loss, the per-sample loss being
taken over the last axis as Keras defines it (``EPSILON = 1e-7`` where Keras clips):

* mean_squared_error (mse):        mean (y - p)^2
* mean_absolute_error (mae):       mean |y - p|
* mean_absolute_percentage_error (mape): 100 mean |(y - p) / max(|y|, eps)|
* mean_squared_logarithmic_error (msle): mean (ln(max(p, eps) + 1) - ln(max(y, eps) + 1))^2
* hinge:                           mean max(1 - y p, 0)         (0/1 labels become -1/1)
* squared_hinge:                   mean max(1 - y p, 0)^2       (likewise)
* categorical_hinge:               max(max_k (1 - y_k) p_k - sum_k y_k p_k + 1, 0)
* log_cosh (logcosh):              mean ln cosh(p - y)
* binary_crossentropy:             mean -[y ln p + (1 - y) ln(1 - p)], p in [eps, 1 - eps]
* categorical_crossentropy:        -sum_k y_k ln p_k, p normalised and clipped
* sparse_categorical_crossentropy: the same with integer labels
* kl_divergence:                   sum_k y_k ln(y_k / p_k), both clipped to [eps, 1]
* poisson:                         mean p - y ln(p + eps)
* cosine_similarity (cosine_proximity): -sum_k y_k p_k / (|y| |p|)

Each function has a class with Keras's name (``MeanSquaredError``,
``CategoricalCrossentropy(from_logits=False)``, ...): a :class:`Loss` object knows its
name, what its targets are (values, one-hot rows, class indices) and checks them, and
the cross-entropies know their *fused* form.  When the model's output layer is a softmax
(sigmoid) and the loss a categorical (binary) cross-entropy, the model computes the loss
from the logits in one node: the gradient of softmax + cross-entropy with respect to the
logits is simply ``p - y`` (Bridle 1990; Goodfellow, Bengio & Courville 2016, 6.2.2.3),
exact for any logit instead of clipped.  A plain function given as the loss is wrapped
in a :class:`LossFunctionWrapper`: it trains, unfused.
"""

from __future__ import annotations

import math

import numpy as np

from . import autograd as ag
from ._registry import lookup
from .autograd import Tensor

__all__ = [
    "Loss", "LossFunctionWrapper", "get", "serialize", "EPSILON",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Hinge", "SquaredHinge", "CategoricalHinge", "LogCosh",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "Poisson", "CosineSimilarity",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "hinge", "squared_hinge", "categorical_hinge",
    "log_cosh", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "kl_divergence", "poisson", "cosine_similarity",
]

EPSILON = 1e-7  # Keras's backend.epsilon()


def _targets(y_true, y_pred: Tensor) -> np.ndarray:
    """y_true as an array of y_pred's dtype, shaped like y_pred ((n,) becomes (n, 1) for
    a single output)."""
    return targets_shaped(y_true, y_pred.shape, y_pred.dtype)


def targets_shaped(y_true, shape: tuple, dtype=None) -> np.ndarray:
    """y_true as an array of ``dtype`` (its own when None) and of the predictions'
    ``shape`` ((n,) becomes (n, 1) for a single output); the rule every value loss (and
    the compiled step, :mod:`nnlearn.compiled`) reads its targets by."""
    y = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    if y.dtype.kind not in "iubf":
        raise TypeError(f"y_true must be numeric; got dtype {y.dtype}")
    if dtype is not None:
        y = y.astype(dtype, copy=False)
    if y.ndim == len(shape) - 1 and shape[-1] == 1:
        y = y[..., None]
    if y.shape != tuple(shape):
        raise ValueError(f"y_true of shape {y.shape} does not match y_pred of shape "
                         f"{tuple(shape)}")
    return y


def _clip_epsilon(dtype) -> float:
    """Keras's EPSILON, or the dtype's own spacing below 1 when that is larger (in float16
    1 - 1e-7 rounds to 1, and a clip at 1 would leave log(1 - p) infinite)."""
    return max(EPSILON, float(np.finfo(dtype).epsneg))


def _norm_floor(dtype) -> float:
    """The floor of |v|^2 in the cosine similarity: 1e-12, or the dtype's smallest normal
    number when 1e-12 underflows (float16)."""
    return max(1e-12, float(np.finfo(dtype).tiny))


def _pred(y_pred) -> Tensor:
    return y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred)


def _batch_mean(per_sample: Tensor) -> Tensor:
    return per_sample.mean()


def mean_squared_error(y_true, y_pred) -> Tensor:
    """mean over the batch of mean_k (y_k - p_k)^2 (least squares)."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    return ag.mean_squared_error(p, y)  # = _batch_mean(((p - y) ** 2).mean(axis=-1)), one node


def mean_absolute_error(y_true, y_pred) -> Tensor:
    """mean over the batch of mean_k |y_k - p_k|."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    return _batch_mean(ag.abs(p - y).mean(axis=-1))


def mean_absolute_percentage_error(y_true, y_pred) -> Tensor:
    """100 x mean over the batch of mean_k |(y_k - p_k) / max(|y_k|, eps)|."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    # the factor 100 last: in float16 a term times 100 can overflow where the mean does not
    return 100 * _batch_mean(ag.abs((y - p) / np.maximum(np.abs(y), EPSILON)).mean(axis=-1))


def mean_squared_logarithmic_error(y_true, y_pred) -> Tensor:
    """mean of (ln(max(p, eps) + 1) - ln(max(y, eps) + 1))^2."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    log_p = ag.log(ag.maximum(p, EPSILON) + 1)
    log_y = np.log(np.maximum(y, EPSILON) + 1)
    return _batch_mean(((log_p - log_y) ** 2).mean(axis=-1))


def _signed(y: np.ndarray) -> np.ndarray:
    """Keras's hinge losses take labels in {-1, 1}; labels in {0, 1} are converted."""
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


def hinge(y_true, y_pred) -> Tensor:
    """mean of max(1 - y p, 0), labels in {-1, 1} (0/1 labels are converted)."""
    p = _pred(y_pred)
    y = _signed(_targets(y_true, p))
    return _batch_mean(ag.relu(1 - y * p).mean(axis=-1))


def squared_hinge(y_true, y_pred) -> Tensor:
    """mean of max(1 - y p, 0)^2, labels in {-1, 1} (0/1 converted)."""
    p = _pred(y_pred)
    y = _signed(_targets(y_true, p))
    return _batch_mean((ag.relu(1 - y * p) ** 2).mean(axis=-1))


def categorical_hinge(y_true, y_pred) -> Tensor:
    """mean over the batch of max(max_k (1 - y_k) p_k - sum_k y_k p_k + 1, 0)."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    positive = (y * p).sum(axis=-1)
    negative = ((1 - y) * p).max(axis=-1)
    return _batch_mean(ag.relu(negative - positive + 1))


def log_cosh(y_true, y_pred) -> Tensor:
    """ln cosh(x) computed as x + softplus(-2x) - ln 2, finite for any x."""
    p = _pred(y_pred)
    x = p - _targets(y_true, p)
    return _batch_mean((x + ag.softplus(-2 * x) - math.log(2.0)).mean(axis=-1))


def binary_crossentropy(y_true, y_pred) -> Tensor:
    """mean of -[y ln p + (1 - y) ln(1 - p)], p clipped to [eps, 1 - eps]."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    eps = _clip_epsilon(p.dtype)
    p = ag.clip(p, eps, 1 - eps)
    return _batch_mean(-(y * ag.log(p) + (1 - y) * ag.log(1 - p)).mean(axis=-1))


def categorical_crossentropy(y_true, y_pred) -> Tensor:
    """mean over the batch of -sum_k y_k ln p_k, p normalised and clipped."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    eps = _clip_epsilon(p.dtype)
    p = ag.clip(p / p.sum(axis=-1, keepdims=True), eps, 1 - eps)
    return _batch_mean(-(y * ag.log(p)).sum(axis=-1))


def class_indices(y_true, prediction_shape: tuple) -> np.ndarray:
    """Integer labels of shape prediction_shape[:-1] (a trailing axis of 1 is dropped),
    checked: the rule the sparse cross-entropy (and the compiled step) reads labels by."""
    n_classes = prediction_shape[-1]
    y = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    if y.ndim == len(prediction_shape) and y.shape[-1] == 1:
        y = y[..., 0]
    if y.shape != tuple(prediction_shape[:-1]):
        raise ValueError(f"y_true of shape {y.shape} must hold one integer label per "
                         f"sample ({tuple(prediction_shape[:-1])}) for "
                         "sparse_categorical_crossentropy (one-hot rows: use "
                         "loss='categorical_crossentropy')")
    if y.dtype.kind not in "iuf":
        raise ValueError("y_true must hold integer class labels for "
                         f"sparse_categorical_crossentropy; got dtype {y.dtype}")
    labels = y.astype(np.intp)
    if not np.array_equal(labels, y):
        raise ValueError("y_true must hold integer class labels for "
                         f"sparse_categorical_crossentropy; got {y[labels != y][0]}")
    if y.size and (y.min() < 0 or y.max() >= n_classes):  # y's own values: no wrap-around
        raise ValueError(f"y_true: labels must lie in [0, {n_classes}) for an output of "
                         f"{n_classes} classes; got {y.min()} to {y.max()}")
    return labels


def sparse_categorical_crossentropy(y_true, y_pred) -> Tensor:
    """categorical_crossentropy with integer class labels."""
    p = _pred(y_pred)
    labels = class_indices(y_true, p.shape)
    return categorical_crossentropy(np.eye(p.shape[-1], dtype=p.dtype)[labels], p)


def kl_divergence(y_true, y_pred) -> Tensor:
    """mean over the batch of sum_k y_k ln(y_k / p_k), both clipped to [eps, 1]."""
    p = _pred(y_pred)
    y = np.clip(_targets(y_true, p), EPSILON, 1)
    p = ag.clip(p, EPSILON, 1)
    return _batch_mean((y * (np.log(y) - ag.log(p))).sum(axis=-1))


def poisson(y_true, y_pred) -> Tensor:
    """mean of p - y ln(p + eps), the Poisson negative log-likelihood up to a constant."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    return _batch_mean((p - y * ag.log(p + EPSILON)).mean(axis=-1))


def cosine_similarity(y_true, y_pred) -> Tensor:
    """-cos(y, p) per sample, each vector scaled by 1 / sqrt(max(|v|^2, 1e-12)) (the floor
    raised to the dtype's smallest normal number in float16)."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    floor = _norm_floor(p.dtype)
    y_unit = y / np.sqrt(np.maximum((y * y).sum(axis=-1, keepdims=True), floor))
    p_unit = p / ag.sqrt(ag.maximum((p * p).sum(axis=-1, keepdims=True), floor))
    return _batch_mean(-(p_unit * y_unit).sum(axis=-1))


def _sparse_from_logits(y_true, logits: Tensor) -> Tensor:
    """Sparse categorical cross-entropy from the logits z: mean of
    logsumexp(z) - z_label, whose gradient is softmax(z) - onehot(label) (one fused node)."""
    return ag.softmax_cross_entropy(logits, class_indices(y_true, logits.shape))


def _categorical_from_logits(y_true, logits: Tensor) -> Tensor:
    """Categorical cross-entropy from the logits z: mean of logsumexp(z) - sum_k y_k z_k,
    whose gradient is softmax(z) - y (one fused node)."""
    return ag.softmax_cross_entropy(logits, _targets(y_true, logits))


def _binary_from_logits(y_true, logits: Tensor) -> Tensor:
    """Binary cross-entropy from the logits z: mean of softplus(z) - y z, whose gradient
    is sigmoid(z) - y (one fused node, never forming sigmoid(z) and its log)."""
    return ag.sigmoid_binary_cross_entropy(logits, _targets(y_true, logits))


# -- loss objects ---------------------------------------------------------------------------
class Loss:
    """A loss ``loss(y_true, y_pred) -> Tensor``: the batch mean of a per-sample loss.

    Subclasses define :meth:`call`.  ``targets`` says what ``y_true`` holds: ``"values"``
    (anything shaped like the output), ``"one_hot"`` (rows of class probabilities) or
    ``"class_index"`` (integer labels); :meth:`check_targets` checks them against the
    model's output before training starts.  :meth:`from_logits_of` gives the same loss
    computed from the logits of a named output activation, when one exists.
    """

    name = "loss"
    targets = "values"
    accuracy = None       # the accuracy "accuracy" means after this loss (see metrics.get)
    from_logits = False

    def __call__(self, y_true, y_pred) -> Tensor:
        return self.call(y_true, y_pred)

    def call(self, y_true, y_pred) -> Tensor:
        """The loss of the batch as a scalar Tensor (subclasses define it)."""
        raise NotImplementedError

    def from_logits_of(self, activation: str | None):
        """The loss of ``activation(logits)`` as a function of the logits (one fused
        node), or None when there is none."""
        return None

    def check_targets(self, y: np.ndarray, units: int, argument: str = "y") -> None:
        """Raise ValueError naming ``argument`` when ``y`` cannot be this loss's targets
        for an output of ``units`` values per sample: here, one value per output ((n,)
        for a single output, else (n, units))."""
        per_sample = int(np.prod(y.shape[1:]))
        if per_sample != units:
            raise ValueError(f"{argument} of shape {y.shape} does not match the model's "
                             f"{units} output(s) per sample for {self.name}; expected "
                             f"{'(n,) or (n, 1)' if units == 1 else f'(n, {units})'}")

    def get_config(self) -> dict:
        """The constructor arguments (saved in model files)."""
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class LossFunctionWrapper(Loss):
    """A function ``fn(y_true, y_pred) -> Tensor`` as a Loss (a plain function given as
    the loss is wrapped so; it is never fused).  The named losses below are wrappers of
    this module's functions."""

    function = None

    def __init__(self, fn=None, name: str | None = None):
        fn = fn or type(self).function
        if not callable(fn):
            raise TypeError(f"loss must be callable; got {type(fn).__name__}")
        self.fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)

    def check_targets(self, y, units, argument="y"):
        """Check ``y`` as :meth:`Loss.check_targets` does for the named losses (one
        target per output); a custom function's targets are its own and are not checked."""
        if type(self).function is not None:  # a custom function's targets are its own
            super().check_targets(y, units, argument)

    def call(self, y_true, y_pred):
        """``fn(y_true, y_pred)``: the wrapped function's batch loss, a scalar Tensor."""
        return self.fn(y_true, y_pred)

    def __repr__(self):
        if type(self).function is not None:
            return f"{type(self).__name__}()"
        return f"LossFunctionWrapper({self.name})"


class MeanSquaredError(LossFunctionWrapper):
    """mean (y - p)^2: least squares (Legendre 1805, Gauss 1809)."""
    function = staticmethod(mean_squared_error)


class MeanAbsoluteError(LossFunctionWrapper):
    """mean |y - p| (least absolute deviations, Laplace)."""
    function = staticmethod(mean_absolute_error)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    """100 mean |(y - p) / max(|y|, eps)|."""
    function = staticmethod(mean_absolute_percentage_error)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    """mean (ln(max(p, eps) + 1) - ln(max(y, eps) + 1))^2."""
    function = staticmethod(mean_squared_logarithmic_error)


class Hinge(LossFunctionWrapper):
    """mean max(1 - y p, 0), labels in {-1, 1} (Cortes & Vapnik 1995)."""
    function = staticmethod(hinge)


class SquaredHinge(LossFunctionWrapper):
    """mean max(1 - y p, 0)^2."""
    function = staticmethod(squared_hinge)


class CategoricalHinge(LossFunctionWrapper):
    """max(max_k (1 - y_k) p_k - sum_k y_k p_k + 1, 0) (Crammer & Singer 2001)."""
    function = staticmethod(categorical_hinge)


class LogCosh(LossFunctionWrapper):
    """mean ln cosh(p - y)."""
    function = staticmethod(log_cosh)


class KLDivergence(LossFunctionWrapper):
    """sum_k y_k ln(y_k / p_k) (Kullback & Leibler 1951)."""
    function = staticmethod(kl_divergence)


class Poisson(LossFunctionWrapper):
    """mean p - y ln(p + eps), the Poisson negative log-likelihood up to a constant."""
    function = staticmethod(poisson)


class CosineSimilarity(LossFunctionWrapper):
    """-cos(y, p) per sample."""
    function = staticmethod(cosine_similarity)


class _Crossentropy(Loss):
    """A cross-entropy on probabilities, or on logits with ``from_logits=True``."""

    activation = None          # the output activation whose logits it fuses with
    probabilities = None       # the loss function of probabilities
    logits = None              # the same loss as a function of the logits

    def __init__(self, from_logits: bool = False):
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred):
        loss = type(self).logits if self.from_logits else type(self).probabilities
        return loss(y_true, _pred(y_pred))

    def from_logits_of(self, activation):
        if not self.from_logits and activation == self.activation:
            return type(self)(from_logits=True)
        return None

    def get_config(self):
        return {"from_logits": self.from_logits}


class BinaryCrossentropy(_Crossentropy):
    """-[y ln p + (1 - y) ln(1 - p)] averaged over the outputs; with a sigmoid output the
    model computes it from the logits z as softplus(z) - y z (gradient sigmoid(z) - y)."""

    name, activation, accuracy = "binary_crossentropy", "sigmoid", "binary"
    probabilities = staticmethod(binary_crossentropy)
    logits = staticmethod(_binary_from_logits)

    def check_targets(self, y, units, argument="y"):
        """As :meth:`Loss.check_targets`, and every target a probability in [0, 1] (0/1
        labels or soft targets): outside it the cross-entropy is no loss at all (it goes
        negative and keeps falling)."""
        super().check_targets(y, units, argument)
        if y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"{argument} must hold values in [0, 1] (class labels 0 and 1, "
                             f"or probabilities) for binary_crossentropy; got values from "
                             f"{y.min()} to {y.max()}")


class CategoricalCrossentropy(_Crossentropy):
    """-sum_k y_k ln p_k with one-hot (or probability) rows y; with a softmax output the
    model computes it from the logits as logsumexp(z) - sum_k y_k z_k (gradient p - y)."""

    name, activation, targets = "categorical_crossentropy", "softmax", "one_hot"
    accuracy = "categorical"
    probabilities = staticmethod(categorical_crossentropy)
    logits = staticmethod(_categorical_from_logits)

    def check_targets(self, y, units, argument="y"):
        """Raise ValueError unless ``y`` is (n, units): one-hot (or probability) rows; integer
        labels get a hint to the sparse loss."""
        if y.ndim != 2 or y.shape[1] != units:
            hint = (" (integer labels: use loss='sparse_categorical_crossentropy' or "
                    "nnlearn.utils.to_categorical)" if y.ndim == 1 else "")
            raise ValueError(f"{argument} must be one-hot of shape (n, {units}) for "
                             f"categorical_crossentropy; got {y.shape}{hint}")


class SparseCategoricalCrossentropy(_Crossentropy):
    """The categorical cross-entropy with integer class labels instead of one-hot rows."""

    name, activation, targets = "sparse_categorical_crossentropy", "softmax", "class_index"
    accuracy = "sparse"
    probabilities = staticmethod(sparse_categorical_crossentropy)
    logits = staticmethod(_sparse_from_logits)

    def check_targets(self, y, units, argument="y"):
        """Raise ValueError unless ``y`` holds one integer label in [0, units) per sample,
        shaped (n,) or (n, 1); one-hot rows get a hint to the categorical loss."""
        if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1):
            raise ValueError(f"{argument} must hold one integer label per sample ((n,) or "
                             f"(n, 1)) for sparse_categorical_crossentropy; got shape "
                             f"{y.shape} (one-hot rows: use loss='categorical_crossentropy')")
        labels = y.reshape(len(y), -1)[:, 0] if y.ndim > 1 else y
        fractional = labels != np.round(labels)
        if labels.size and (labels.min() < 0 or labels.max() >= units or fractional.any()):
            got = (f"{labels[fractional][0]}, not an integer" if fractional.any() else
                   f"values from {labels.min()} to {labels.max()}")
            hint = (" (one output unit: for two classes use activation='sigmoid' with "
                    "loss='binary_crossentropy')" if units == 1 else "")
            raise ValueError(f"{argument}: labels must be integers in [0, {units}) for the "
                             f"output layer of {units} unit{'s' * (units != 1)}; got "
                             f"{got}{hint}")


LOSSES = {
    "mean_squared_error": MeanSquaredError, "mse": MeanSquaredError,
    "mean_absolute_error": MeanAbsoluteError, "mae": MeanAbsoluteError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "mape": MeanAbsolutePercentageError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "msle": MeanSquaredLogarithmicError,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "log_cosh": LogCosh, "logcosh": LogCosh,
    "binary_crossentropy": BinaryCrossentropy,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "kl_divergence": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "poisson": Poisson,
    "cosine_similarity": CosineSimilarity, "cosine_proximity": CosineSimilarity,
}
_CLASSES = {cls.__name__: cls for cls in LOSSES.values()}


def get(identifier, argument: str = "loss") -> Loss:
    """A Loss from a Keras name (``"mse"``), a class name with its config
    (``{"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}}``), a
    Loss object (returned as it is) or a function ``fn(y_true, y_pred)`` (wrapped)."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if isinstance(identifier, dict):
        name = identifier.get("class_name")
        cls = _CLASSES.get(name) or lookup("loss", LOSSES, name or "", argument)
        return cls(**identifier.get("config", {}))
    if callable(identifier) and not isinstance(identifier, str):
        return LossFunctionWrapper(identifier)
    return lookup("loss", LOSSES, identifier, argument)()


def serialize(loss: Loss) -> dict:
    """``{"class_name": ..., "config": ...}`` of a built-in loss (for model files)."""
    if _CLASSES.get(type(loss).__name__) is not type(loss):
        raise ValueError(f"cannot save custom loss {loss!r}: only nnlearn's losses can be "
                         "stored in a model file")
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
