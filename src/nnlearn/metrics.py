"""Metrics reported during training (Keras's names).

Each metric exists as a function on arrays (``categorical_accuracy(y_true, y_pred)``,
the value on one batch) and as an object with state (``CategoricalAccuracy()``:
``update_state`` per batch, ``result``, ``reset_state``), which is what ``fit`` and
``evaluate`` use: an epoch's value is the mean over every sample seen, however the
batches fell, not a mean of batch means.

``accuracy`` means what Keras makes it mean from the loss: binary accuracy (threshold
0.5) after a binary cross-entropy, sparse categorical accuracy (argmax vs integer label)
after a sparse categorical cross-entropy, categorical accuracy (argmax vs argmax)
otherwise.
"""

from __future__ import annotations

import numpy as np

from ._registry import lookup

__all__ = ["Metric", "Mean", "MeanMetricWrapper", "Accuracy", "BinaryAccuracy",
           "CategoricalAccuracy",
           "SparseCategoricalAccuracy", "MeanSquaredError", "MeanAbsoluteError",
           "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
           "mean_squared_error", "mean_absolute_error", "get", "serialize"]


def _fraction(hits: np.ndarray) -> float:
    """The fraction of True values (NaN for none): np.mean's value, without its Python
    overhead (a metric runs at every step of a small network)."""
    return np.count_nonzero(hits) / hits.size if hits.size else float("nan")


def binary_accuracy(y_true, y_pred, threshold=0.5) -> float:
    """The fraction of outputs on the right side of ``threshold``."""
    y_true = np.asarray(y_true).reshape(y_pred.shape)
    return _fraction(y_true == (y_pred > threshold))


def categorical_accuracy(y_true, y_pred) -> float:
    """The fraction of samples whose largest output is the one-hot row's class."""
    return _fraction(np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred) -> float:
    """The fraction of samples whose largest output is the integer label."""
    y_true = np.asarray(y_true).reshape(y_pred.shape[:-1])
    return _fraction(y_true == np.argmax(y_pred, axis=-1))


def mean_squared_error(y_true, y_pred) -> float:
    """mean (y - p)^2 over the batch, as a float."""
    return float(np.mean((np.asarray(y_true).reshape(y_pred.shape) - y_pred) ** 2))


def mean_absolute_error(y_true, y_pred) -> float:
    """mean |y - p| over the batch, as a float."""
    return float(np.mean(np.abs(np.asarray(y_true).reshape(y_pred.shape) - y_pred)))


class Metric:
    """A value accumulated over batches: ``update_state`` adds one batch,
    ``result()`` is the value so far, ``reset_state()`` starts again."""

    def __init__(self, name: str):
        self.name = name
        self.reset_state()

    def reset_state(self) -> None:
        """Forget every batch seen."""
        self.total, self.count = 0.0, 0

    def update_state(self, y_true, y_pred) -> None:
        """Add one batch (subclasses define it)."""
        raise NotImplementedError

    def result(self) -> float:
        """The weighted mean so far (NaN before any update)."""
        return float(self.total / self.count) if self.count else float("nan")

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class Mean(Metric):
    """The weighted mean of the values given (``fit`` tracks the loss with one)."""

    def __init__(self, name: str = "mean"):
        super().__init__(name)

    def update_state(self, value, weight: int = 1) -> None:
        """Add ``value`` with weight ``weight`` (e.g. a batch's mean loss and its size)."""
        self.total += float(value) * weight
        self.count += weight


class MeanMetricWrapper(Metric):
    """``fn(y_true, y_pred)`` (a batch mean) averaged over every sample seen."""

    function = None

    def __init__(self, fn=None, name: str | None = None):
        self.fn = fn or type(self).function
        if not callable(self.fn):
            raise TypeError(f"metric must be callable; got {type(self.fn).__name__}")
        super().__init__(name or self.fn.__name__)

    def update_state(self, y_true, y_pred) -> None:
        """Add one batch: ``fn(y_true, y_pred)`` weighted by the batch size."""
        n = len(y_pred)
        self.total += self.fn(y_true, y_pred) * n
        self.count += n


class BinaryAccuracy(MeanMetricWrapper):
    """The fraction of outputs on the right side of 0.5."""
    function = staticmethod(binary_accuracy)


class CategoricalAccuracy(MeanMetricWrapper):
    """The fraction of samples whose largest output is the one-hot row's class."""
    function = staticmethod(categorical_accuracy)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """The fraction of samples whose largest output is the integer label."""
    function = staticmethod(sparse_categorical_accuracy)


class Accuracy(Metric):
    """"accuracy" after a loss that does not say which one it means: chosen from the
    shapes of the first batch, as Keras does: one output -> binary, targets shaped like
    the outputs -> categorical, one label per sample -> sparse categorical."""

    def __init__(self, name: str = "accuracy"):
        super().__init__(name)
        self.fn = None

    def update_state(self, y_true, y_pred) -> None:
        """Add one batch; the first batch's shapes choose binary, categorical or sparse
        categorical accuracy."""
        if self.fn is None:
            if y_pred.shape[-1] == 1:
                self.fn = binary_accuracy
            elif np.shape(y_true) == y_pred.shape:
                self.fn = categorical_accuracy
            else:
                self.fn = sparse_categorical_accuracy
        self.total += self.fn(y_true, y_pred) * len(y_pred)
        self.count += len(y_pred)


class MeanSquaredError(MeanMetricWrapper):
    """mean (y - p)^2 over every sample seen."""
    function = staticmethod(mean_squared_error)


class MeanAbsoluteError(MeanMetricWrapper):
    """mean |y - p| over every sample seen."""
    function = staticmethod(mean_absolute_error)


METRICS = {
    "binary_accuracy": BinaryAccuracy, "categorical_accuracy": CategoricalAccuracy,
    "sparse_categorical_accuracy": SparseCategoricalAccuracy,
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError,
}
_ACCURACIES = {"binary": BinaryAccuracy, "categorical": CategoricalAccuracy,
               "sparse": SparseCategoricalAccuracy}


def get(identifier, loss=None) -> Metric:
    """A fresh Metric from a name, a Metric (returned as it is) or a function
    ``fn(y_true, y_pred) -> float`` (wrapped).  ``"accuracy"``/``"acc"`` is the accuracy
    the loss declares (``loss.accuracy``), else :class:`Accuracy`, which decides from the
    shapes.  The metric's ``name`` is the key of its value in the logs."""
    if isinstance(identifier, Metric):
        return identifier
    if identifier in ("accuracy", "acc"):
        accuracy = _ACCURACIES.get(getattr(loss, "accuracy", None), Accuracy)
        return accuracy(name="accuracy")
    if callable(identifier) and not isinstance(identifier, str):
        return MeanMetricWrapper(identifier)
    cls = lookup("metric", {**METRICS, "accuracy": None}, identifier, "metrics")
    return cls(name=identifier)


def serialize(metric: Metric) -> str:
    """The name a model file stores for a built-in metric (a custom one cannot be saved)."""
    if isinstance(metric, (Accuracy, *_ACCURACIES.values())) and metric.name == "accuracy":
        return "accuracy"
    if METRICS.get(metric.name) is not type(metric):
        raise ValueError(f"cannot save custom metric {metric.name!r}: only nnlearn's metrics "
                         "can be stored in a model file")
    return metric.name
