"""Metrics reported during training (Keras's names), computed on arrays.

``accuracy`` means what Keras makes it mean from the loss: binary accuracy (threshold
0.5) after binary_crossentropy, sparse categorical accuracy (argmax vs integer label)
after sparse_categorical_crossentropy, categorical accuracy (argmax vs argmax) otherwise.
"""

from __future__ import annotations

import numpy as np

from . import losses
from ._registry import lookup

__all__ = ["binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "mean_squared_error", "mean_absolute_error", "get"]


def binary_accuracy(y_true, y_pred, threshold=0.5) -> float:
    y_true = np.asarray(y_true).reshape(y_pred.shape)
    return float(np.mean(y_true == (y_pred > threshold)))


def categorical_accuracy(y_true, y_pred) -> float:
    return float(np.mean(np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)))


def sparse_categorical_accuracy(y_true, y_pred) -> float:
    y_true = np.asarray(y_true).reshape(y_pred.shape[:-1])
    return float(np.mean(y_true == np.argmax(y_pred, axis=-1)))


def mean_squared_error(y_true, y_pred) -> float:
    return float(np.mean((np.asarray(y_true).reshape(y_pred.shape) - y_pred) ** 2))


def mean_absolute_error(y_true, y_pred) -> float:
    return float(np.mean(np.abs(np.asarray(y_true).reshape(y_pred.shape) - y_pred)))


METRICS = {
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
}


def get(identifier, loss=None):
    """(display name, function) for a metric; "accuracy"/"acc" is resolved from the loss."""
    if identifier in ("accuracy", "acc"):
        if loss is losses.binary_crossentropy:
            return "accuracy", binary_accuracy
        if loss is losses.sparse_categorical_crossentropy:
            return "accuracy", sparse_categorical_accuracy
        return "accuracy", categorical_accuracy
    fn = lookup("metric", {**METRICS, "accuracy": None}, identifier, "metrics")
    return (identifier if isinstance(identifier, str) else fn.__name__), fn
