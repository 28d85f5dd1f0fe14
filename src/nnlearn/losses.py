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

When the model's last layer is a softmax (sigmoid) and the loss is a cross-entropy,
:func:`fused` gives the same loss computed from the logits in one node (seed 001: the
gradient is then simply ``p - y``), exact for any logit instead of clipped.
"""

from __future__ import annotations

import math

import numpy as np

from . import autograd as ag
from ._registry import lookup, name_of
from .autograd import Tensor

__all__ = [
    "get", "serialize", "fused", "EPSILON",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "hinge", "squared_hinge", "categorical_hinge",
    "log_cosh", "binary_crossentropy", "categorical_crossentropy",
    "sparse_categorical_crossentropy", "kl_divergence", "poisson", "cosine_similarity",
]

EPSILON = 1e-7  # Keras's backend.epsilon()


def _targets(y_true, y_pred: Tensor) -> np.ndarray:
    """y_true as an array of y_pred's dtype, shaped like y_pred ((n,) becomes (n, 1) for
    a single output)."""
    y = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    if y.dtype.kind not in "iubf":
        raise TypeError(f"y_true must be numeric; got dtype {y.dtype}")
    y = y.astype(y_pred.dtype, copy=False)
    if y.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        y = y[..., None]
    if y.shape != y_pred.shape:
        raise ValueError(f"y_true of shape {y.shape} does not match y_pred of shape "
                         f"{y_pred.shape}")
    return y


def _pred(y_pred) -> Tensor:
    return y_pred if isinstance(y_pred, Tensor) else Tensor(y_pred)


def _batch_mean(per_sample: Tensor) -> Tensor:
    return per_sample.mean()


def mean_squared_error(y_true, y_pred) -> Tensor:
    p = _pred(y_pred)
    y = _targets(y_true, p)
    return ag.mean_squared_error(p, y)  # = _batch_mean(((p - y) ** 2).mean(axis=-1)), one node


def mean_absolute_error(y_true, y_pred) -> Tensor:
    p = _pred(y_pred)
    y = _targets(y_true, p)
    return _batch_mean(ag.abs(p - y).mean(axis=-1))


def mean_absolute_percentage_error(y_true, y_pred) -> Tensor:
    p = _pred(y_pred)
    y = _targets(y_true, p)
    return _batch_mean(100 * ag.abs((y - p) / np.maximum(np.abs(y), EPSILON)).mean(axis=-1))


def mean_squared_logarithmic_error(y_true, y_pred) -> Tensor:
    p = _pred(y_pred)
    y = _targets(y_true, p)
    log_p = ag.log(ag.maximum(p, EPSILON) + 1)
    log_y = np.log(np.maximum(y, EPSILON) + 1)
    return _batch_mean(((log_p - log_y) ** 2).mean(axis=-1))


def _signed(y: np.ndarray) -> np.ndarray:
    """Keras's hinge losses take labels in {-1, 1}; labels in {0, 1} are converted."""
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


def hinge(y_true, y_pred) -> Tensor:
    p = _pred(y_pred)
    y = _signed(_targets(y_true, p))
    return _batch_mean(ag.relu(1 - y * p).mean(axis=-1))


def squared_hinge(y_true, y_pred) -> Tensor:
    p = _pred(y_pred)
    y = _signed(_targets(y_true, p))
    return _batch_mean((ag.relu(1 - y * p) ** 2).mean(axis=-1))


def categorical_hinge(y_true, y_pred) -> Tensor:
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
    p = _pred(y_pred)
    y = _targets(y_true, p)
    p = ag.clip(p, EPSILON, 1 - EPSILON)
    return _batch_mean(-(y * ag.log(p) + (1 - y) * ag.log(1 - p)).mean(axis=-1))


def categorical_crossentropy(y_true, y_pred) -> Tensor:
    p = _pred(y_pred)
    y = _targets(y_true, p)
    p = ag.clip(p / p.sum(axis=-1, keepdims=True), EPSILON, 1 - EPSILON)
    return _batch_mean(-(y * ag.log(p)).sum(axis=-1))


def _class_indices(y_true, prediction_shape: tuple) -> np.ndarray:
    """Integer labels of shape prediction_shape[:-1] (a trailing axis of 1 is dropped)."""
    n_classes = prediction_shape[-1]
    y = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    if y.ndim == len(prediction_shape) and y.shape[-1] == 1:
        y = y[..., 0]
    labels = y.astype(np.intp)
    if y.dtype.kind not in "iuf" or not np.array_equal(labels, y):
        raise ValueError("y_true must hold integer class labels for "
                         "sparse_categorical_crossentropy")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"y_true: labels must lie in [0, {n_classes}) for an output of "
                         f"{n_classes} classes; got {labels.min()} to {labels.max()}")
    return labels


def sparse_categorical_crossentropy(y_true, y_pred) -> Tensor:
    p = _pred(y_pred)
    labels = _class_indices(y_true, p.shape)
    return categorical_crossentropy(np.eye(p.shape[-1], dtype=p.dtype)[labels], p)


def kl_divergence(y_true, y_pred) -> Tensor:
    p = _pred(y_pred)
    y = np.clip(_targets(y_true, p), EPSILON, 1)
    p = ag.clip(p, EPSILON, 1)
    return _batch_mean((y * (np.log(y) - ag.log(p))).sum(axis=-1))


def poisson(y_true, y_pred) -> Tensor:
    p = _pred(y_pred)
    y = _targets(y_true, p)
    return _batch_mean((p - y * ag.log(p + EPSILON)).mean(axis=-1))


def cosine_similarity(y_true, y_pred) -> Tensor:
    """-cos(y, p) per sample, each vector scaled by 1 / sqrt(max(|v|^2, 1e-12))."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    y_unit = y / np.sqrt(np.maximum((y * y).sum(axis=-1, keepdims=True), 1e-12))
    p_unit = p / ag.sqrt(ag.maximum((p * p).sum(axis=-1, keepdims=True), 1e-12))
    return _batch_mean(-(p_unit * y_unit).sum(axis=-1))


LOSSES = {
    "mean_squared_error": mean_squared_error, "mse": mean_squared_error,
    "mean_absolute_error": mean_absolute_error, "mae": mean_absolute_error,
    "mean_absolute_percentage_error": mean_absolute_percentage_error,
    "mape": mean_absolute_percentage_error,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error,
    "msle": mean_squared_logarithmic_error,
    "hinge": hinge, "squared_hinge": squared_hinge, "categorical_hinge": categorical_hinge,
    "log_cosh": log_cosh, "logcosh": log_cosh,
    "binary_crossentropy": binary_crossentropy,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "kl_divergence": kl_divergence, "kullback_leibler_divergence": kl_divergence,
    "poisson": poisson,
    "cosine_similarity": cosine_similarity, "cosine_proximity": cosine_similarity,
}


def get(identifier, argument: str = "loss"):
    """The loss named ``identifier``, or a callable ``loss(y_true, y_pred)`` as given."""
    return lookup("loss", LOSSES, identifier, argument)


def serialize(loss) -> str:
    name = name_of(LOSSES, loss)
    if name is None:
        raise ValueError(f"cannot save custom loss {loss!r}: only named losses can be "
                         "stored in a model file")
    return name


def _sparse_from_logits(y_true, logits: Tensor) -> Tensor:
    return ag.softmax_cross_entropy(logits, _class_indices(y_true, logits.shape))


def _categorical_from_logits(y_true, logits: Tensor) -> Tensor:
    return ag.softmax_cross_entropy(logits, _targets(y_true, logits))


def _binary_from_logits(y_true, logits: Tensor) -> Tensor:
    return ag.sigmoid_binary_cross_entropy(logits, _targets(y_true, logits))


_FUSED = {
    (categorical_crossentropy, "softmax"): _categorical_from_logits,
    (sparse_categorical_crossentropy, "softmax"): _sparse_from_logits,
    (binary_crossentropy, "sigmoid"): _binary_from_logits,
}


def fused(loss, activation):
    """``loss_from_logits(y_true, logits)`` equal to ``loss(y_true, activation(logits))``
    as one node, or None when there is no fused form."""
    from . import activations

    name = name_of(activations.ACTIVATIONS, activation)
    return _FUSED.get((loss, name))
