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
    r"""$\frac{1}{n} \sum_i (y_i - p_i)^2$ over the batch, as a float."""
    return float(np.mean((np.asarray(y_true).reshape(y_pred.shape) - y_pred) ** 2))


def mean_absolute_error(y_true, y_pred) -> float:
    r"""$\frac{1}{n} \sum_i \lvert y_i - p_i\rvert$ over the batch, as a float."""
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
    r"""The weighted mean $\sum_j w_j v_j / \sum_j w_j$ of the values $v_j$ given (``fit``
    tracks the loss with one)."""

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
    r"""$\frac{1}{n} \sum_i (y_i - p_i)^2$ over every sample seen."""
    function = staticmethod(mean_squared_error)


class MeanAbsoluteError(MeanMetricWrapper):
    r"""$\frac{1}{n} \sum_i \lvert y_i - p_i\rvert$ over every sample seen."""
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
    if not getattr(metric, "_is_default", lambda: True)():
        raise ValueError(f"cannot save metric {metric!r} with non-default settings: a model "
                         f"file stores a metric by its name ({metric.name!r}) only")
    return metric.name


# -- counts at thresholds: AUC, precision, recall (Keras's semantics) -------------------------
def _binary_targets(y_true, y_pred, class_id, metric: str):
    """(labels, scores) as flat float arrays of equal length: ``y_true`` holds 0/1
    labels shaped like ``y_pred`` (a column for one output, one-hot rows for several;
    each output is one binary decision, as in Keras), or only output ``class_id``."""
    y_pred = np.asarray(y_pred, dtype=np.float64)
    y_true = np.asarray(y_true)
    if y_true.size != y_pred.size:
        raise ValueError(f"{metric}: y_true must hold a 0/1 label per output (shape "
                         f"{y_pred.shape}, one-hot rows for several outputs); got shape "
                         f"{y_true.shape}")
    y_true = y_true.reshape(y_pred.shape).astype(np.float64)
    if class_id is not None:
        if y_pred.ndim < 2 or not 0 <= class_id < y_pred.shape[-1]:
            raise ValueError(f"{metric}: class_id={class_id} is not an output of shape "
                             f"{y_pred.shape}")
        y_true, y_pred = y_true[..., class_id], y_pred[..., class_id]
    if not np.isin(y_true, (0.0, 1.0)).all():
        raise ValueError(f"{metric}: y_true must hold labels 0 and 1; got values such as "
                         f"{y_true[~np.isin(y_true, (0.0, 1.0))].ravel()[0]:g}")
    return y_true.ravel(), y_pred.ravel()


def _sample_weights(sample_weight, y_true_flat: np.ndarray, y_pred) -> np.ndarray:
    """Per-output weights (ones without ``sample_weight``; one weight per sample repeated
    over that sample's outputs)."""
    if sample_weight is None:
        return np.ones_like(y_true_flat)
    weight = np.asarray(sample_weight, dtype=np.float64).ravel()
    n = len(y_pred)
    if weight.size != n:
        raise ValueError(f"sample_weight must hold one weight per sample ({n}); got "
                         f"{weight.size}")
    return np.repeat(weight, y_true_flat.size // n)


class _ConfusionCounts(Metric):
    """True/false positives/negatives at each of ``thresholds`` (a prediction above the
    threshold is a positive), summed over every batch seen."""

    def __init__(self, thresholds, class_id, name):
        self.thresholds = np.asarray(thresholds, dtype=np.float64)
        self.class_id = class_id
        super().__init__(name)

    def reset_state(self) -> None:
        """Forget every batch seen."""
        super().reset_state()
        size = len(self.thresholds)
        self.tp, self.fp, self.tn, self.fn = (np.zeros(size) for _ in range(4))

    def update_state(self, y_true, y_pred, sample_weight=None) -> None:
        """Add one batch's counts at every threshold."""
        labels, scores = _binary_targets(y_true, y_pred, self.class_id, self.name)
        weights = _sample_weights(sample_weight, labels, y_pred)
        # k = how many thresholds lie strictly below each score: the score is a positive
        # at thresholds 0..k-1.  Counts at threshold j: the scores with k > j.
        k = np.searchsorted(self.thresholds, scores, side="left")
        size = len(self.thresholds)
        positives = np.bincount(k, weights=labels * weights, minlength=size + 1)
        negatives = np.bincount(k, weights=(1 - labels) * weights, minlength=size + 1)
        above_pos = np.cumsum(positives[::-1])[::-1][1:]  # scores above threshold j
        above_neg = np.cumsum(negatives[::-1])[::-1][1:]
        self.tp += above_pos
        self.fp += above_neg
        self.fn += positives.sum() - above_pos
        self.tn += negatives.sum() - above_neg
        self.count += len(y_pred)


def _divide(a, b):
    """$a / b$, 0 where $b$ is 0 (Keras's divide_no_nan)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return np.divide(a, b, out=np.zeros(np.broadcast(a, b).shape), where=b != 0)


class AUC(_ConfusionCounts):
    r"""Area under the ROC curve (``curve="ROC"``, Hanley & McNeil 1982) or the
    precision-recall curve (``curve="PR"``), as Keras's ``AUC`` computes it: true/false
    positives and negatives are counted, over every batch seen, at ``num_thresholds``
    thresholds evenly spaced in $[0, 1]$ (the first just below 0, the last just above 1),
    and the area is the Riemann sum over those points,

    $$
    \text{AUC} = \sum_i (x_i - x_{i+1})\, \text{height}_i ,
    $$

    with $x$ the false positive rate $\text{fp} / (\text{fp} + \text{tn})$ (ROC) or the
    recall (PR), and the height the mean of the two ends
    (``summation_method="interpolation"``; the PR curve then uses Davis & Goadrich 2006's
    interpolation, as Keras does), their minimum (``"minoring"``) or maximum
    (``"majoring"``).

    Outputs are probabilities (a sigmoid or softmax output); ``y_true`` holds 0/1 labels
    shaped like them (one-hot rows for several outputs: each output is a binary decision,
    Keras's ``multi_label=False``).  Where no two scores fall between the same pair of
    thresholds the ROC value equals the exact area (scikit-learn's ``roc_auc_score``);
    otherwise it is an approximation within about $1/\text{num\_thresholds}$."""

    def __init__(self, num_thresholds: int = 200, curve: str = "ROC",
                 summation_method: str = "interpolation", name: str = "auc",
                 thresholds=None):
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or \
                num_thresholds < 2:
            raise ValueError(f"AUC: num_thresholds must be an integer > 1; got "
                             f"{num_thresholds!r}")
        if curve not in ("ROC", "PR"):
            raise ValueError(f"AUC: curve must be 'ROC' or 'PR'; got {curve!r}")
        if summation_method not in ("interpolation", "minoring", "majoring"):
            raise ValueError(f"AUC: summation_method must be 'interpolation', 'minoring' or "
                             f"'majoring'; got {summation_method!r}")
        self.num_thresholds, self.curve = num_thresholds, curve
        self.summation_method = summation_method
        if thresholds is None:
            epsilon = 1e-7  # Keras's: a score of exactly 0 or 1 is on the right side
            inner = [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            thresholds = [0.0 - epsilon, *inner, 1.0 + epsilon]
        else:
            thresholds = sorted(float(t) for t in thresholds)
            if not all(0 <= t <= 1 for t in thresholds):
                raise ValueError(f"AUC: thresholds must lie in [0, 1]; got {thresholds!r}")
            thresholds = [0.0 - 1e-7, *thresholds, 1.0 + 1e-7]
            self.num_thresholds = len(thresholds)
        super().__init__(thresholds, None, name)

    def _interpolate_pr_auc(self) -> float:
        """Davis & Goadrich (2006)'s interpolated area under the precision-recall curve,
        as Keras computes it."""
        tp, fp, fn = self.tp, self.fp, self.fn
        dtp = tp[:-1] - tp[1:]
        p = tp + fp
        dp = p[:-1] - p[1:]
        slope = _divide(dtp, np.maximum(dp, 0))
        intercept = tp[1:] - slope * p[1:]
        ratio = np.where((p[:-1] > 0) & (p[1:] > 0), _divide(p[:-1], np.maximum(p[1:], 0)),
                         1.0)
        return float(np.sum(_divide(slope * (dtp + intercept * np.log(ratio)),
                                    np.maximum(tp[1:] + fn[1:], 0))))

    def result(self) -> float:
        """The area so far (NaN before any update)."""
        if not self.count:
            return float("nan")
        if self.curve == "PR" and self.summation_method == "interpolation":
            return self._interpolate_pr_auc()
        recall = _divide(self.tp, self.tp + self.fn)
        if self.curve == "ROC":
            x, y = _divide(self.fp, self.fp + self.tn), recall
        else:
            x, y = recall, _divide(self.tp, self.tp + self.fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2
        elif self.summation_method == "minoring":
            heights = np.minimum(y[:-1], y[1:])
        else:
            heights = np.maximum(y[:-1], y[1:])
        return float(np.sum((x[:-1] - x[1:]) * heights))

    def _is_default(self) -> bool:
        return (self.num_thresholds, self.curve, self.summation_method) == \
            (200, "ROC", "interpolation") and len(self.thresholds) == 200


class _AtThreshold(_ConfusionCounts):
    def __init__(self, thresholds=None, class_id: int | None = None, name: str = ""):
        threshold = 0.5 if thresholds is None else thresholds
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or \
                not 0 <= threshold <= 1:
            raise ValueError(f"{type(self).__name__}: thresholds must be one number in "
                             f"[0, 1]; got {thresholds!r}")
        if class_id is not None and (isinstance(class_id, bool)
                                     or not isinstance(class_id, int) or class_id < 0):
            raise ValueError(f"{type(self).__name__}: class_id must be a non-negative "
                             f"integer or None; got {class_id!r}")
        super().__init__([float(threshold)], class_id, name)

    def _is_default(self) -> bool:
        return self.thresholds[0] == 0.5 and self.class_id is None


class Precision(_AtThreshold):
    r"""Of the outputs above ``thresholds`` (0.5 by default), the fraction that are
    true: $\text{tp} / (\text{tp} + \text{fp})$, counted over every batch seen (Keras's
    ``Precision``: 0 when nothing was predicted positive).  ``y_true`` holds 0/1 labels
    shaped like the outputs; ``class_id`` counts only that output."""

    def __init__(self, thresholds=None, class_id: int | None = None,
                 name: str = "precision"):
        super().__init__(thresholds, class_id, name)

    def result(self) -> float:
        r"""$\text{tp} / (\text{tp} + \text{fp})$ so far (NaN before any update)."""
        if not self.count:
            return float("nan")
        return float(_divide(self.tp[0], self.tp[0] + self.fp[0]))


class Recall(_AtThreshold):
    r"""Of the true outputs, the fraction above ``thresholds`` (0.5 by default):
    $\text{tp} / (\text{tp} + \text{fn})$, counted over every batch seen (Keras's ``Recall``:
    0 when there was no true output).  ``y_true`` holds 0/1 labels shaped like the outputs;
    ``class_id`` counts only that output."""

    def __init__(self, thresholds=None, class_id: int | None = None, name: str = "recall"):
        super().__init__(thresholds, class_id, name)

    def result(self) -> float:
        r"""$\text{tp} / (\text{tp} + \text{fn})$ so far (NaN before any update)."""
        if not self.count:
            return float("nan")
        return float(_divide(self.tp[0], self.tp[0] + self.fn[0]))


METRICS.update({"auc": AUC, "precision": Precision, "recall": Recall})
__all__ += ["AUC", "Precision", "Recall"]
