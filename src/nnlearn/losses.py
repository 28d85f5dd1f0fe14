r"""Loss functions with Keras's names and signature ``loss(y_true, y_pred)``.

Each returns the mean over the batch of a per-sample loss, the per-sample loss being
taken over the last axis as Keras defines it ($\epsilon$ = ``EPSILON`` $= 10^{-7}$ where
Keras clips), for targets $y$ and predictions $p$ with $K$ values per sample:

| loss (alias) | per-sample loss |
|---|---|
| mean_squared_error (mse) | $\frac1K \sum_k (y_k - p_k)^2$ |
| mean_absolute_error (mae) | $\frac1K \sum_k \lvert y_k - p_k\rvert$ |
| mean_absolute_percentage_error | $\frac{100}{K} \sum_k \lvert y_k - p_k\rvert / \hat y_k$ |
| mean_squared_logarithmic_error | $\frac1K \sum_k (\ln(\hat p_k + 1) - \ln(\hat y_k + 1))^2$ |
| hinge | $\frac1K \sum_k \max(1 - y_k p_k, 0)$, labels $\pm 1$ (0/1 labels become $-1$/$1$) |
| squared_hinge | $\frac1K \sum_k \max(1 - y_k p_k, 0)^2$ (likewise) |
| categorical_hinge | $\max\big(\max_k (1 - y_k) p_k - \sum_k y_k p_k + 1,\ 0\big)$ |
| log_cosh (logcosh) | $\frac1K \sum_k \ln\cosh(p_k - y_k)$ |
| binary_crossentropy | $-\frac1K \sum_k \big[y_k \ln p_k + (1 - y_k) \ln(1 - p_k)\big]$ |
| categorical_crossentropy | $-\sum_k y_k \ln p_k$, $p$ normalised and clipped |
| sparse_categorical_crossentropy | the same with integer labels: $-\ln p_y$ |
| kl_divergence | $\sum_k y_k \ln(y_k / p_k)$, both clipped to $[\epsilon, 1]$ |
| poisson | $\frac1K \sum_k \big(p_k - y_k \ln(p_k + \epsilon)\big)$ |
| cosine_similarity (cosine_proximity) | $-\sum_k y_k p_k / (\lVert y\rVert\, \lVert p\rVert)$ |

The aliases: mape for mean_absolute_percentage_error, msle for
mean_squared_logarithmic_error; $\hat v = \max(v, \epsilon)$ (for mape
$\hat y_k = \max(\lvert y_k\rvert, \epsilon)$).  The binary cross-entropy clips $p$ to
$[\epsilon, 1 - \epsilon]$.

Sources: least squares (Legendre 1805; Gauss 1809); least absolute deviations (Laplace
1788); the hinge loss of support vector machines (Cortes & Vapnik 1995) and its
multiclass form (Crammer & Singer 2001); the cross-entropy of a probabilistic classifier
(Cox 1958; Bridle 1990); the Kullback-Leibler divergence (Kullback & Leibler 1951); the
Poisson deviance of generalized linear models (Nelder & Wedderburn 1972).

Each function has a class with Keras's name (``MeanSquaredError``,
``CategoricalCrossentropy(from_logits=False)``, ...): a :class:`Loss` object knows its
name, what its targets are (values, one-hot rows, class indices) and checks them, and
the cross-entropies know their *fused* form.  When the model's output layer is a softmax
(sigmoid) and the loss a categorical (binary) cross-entropy, the model computes the loss
from the logits in one node: the gradient of softmax + cross-entropy with respect to the
logits is simply

$$
\frac{\partial L}{\partial z_k} = p_k - y_k
$$

(Bridle 1990; Goodfellow, Bengio & Courville 2016, 6.2.2.3), exact for any logit instead
of clipped.  A plain function given as the loss is wrapped in a
:class:`LossFunctionWrapper`: it trains, unfused.

This module is long because it is the catalogue of Keras's losses: each a function and a
class of a few lines, beside the fused forms and heads that share their helpers.
"""

from __future__ import annotations

import math

import numpy as np

from . import autograd as ag
from . import links
from ._registry import lookup
from .autograd import Tensor

__all__ = [
    "Loss", "LossFunctionWrapper", "Head", "get", "serialize", "EPSILON", "REDUCTIONS",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Hinge", "SquaredHinge", "CategoricalHinge", "LogCosh",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "Poisson", "CosineSimilarity", "SklearnMLPLoss",
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
    the compiled step, :mod:`nnlearn.lowering.dense_step`) reads its targets by."""
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


MEAN = "sum_over_batch_size"
#: How a batch's per-sample losses L_i (weights w_i, 1 when not given) become its loss, as
#: Keras 3 names them: the weighted mean over the batch (sum_i w_i L_i / n, the default),
#: the mean over the weights (sum_i w_i L_i / sum_i w_i), the sum, or no reduction.
REDUCTIONS = (MEAN, "mean_with_sample_weight", "sum", "none")


def _reduce(per_sample: Tensor, sample_weight=None, reduction: str = MEAN) -> Tensor:
    """The batch's loss from the per-sample losses (see :data:`REDUCTIONS`); a sample's
    weight applies to every value of its row when the per-sample losses have more axes
    (a sequence's time steps)."""
    if sample_weight is None:
        if reduction in (MEAN, "mean_with_sample_weight"):
            return per_sample.mean()
        return per_sample.sum() if reduction == "sum" else per_sample
    w = np.asarray(sample_weight, dtype=per_sample.dtype)
    if w.ndim == per_sample.ndim + 1 and w.shape[-1] == 1:  # (n, 1) weights: one per sample
        w = w[..., 0]
    if w.shape != per_sample.shape[:w.ndim]:
        raise ValueError(f"sample_weight of shape {w.shape} does not match the per-sample "
                         f"losses of shape {per_sample.shape}")
    w = w.reshape(w.shape + (1,) * (per_sample.ndim - w.ndim))
    weighted = per_sample * w
    if reduction == MEAN:
        return weighted.mean()
    if reduction == "sum":
        return weighted.sum()
    if reduction == "none":
        return weighted
    total = float(np.add.reduce(np.broadcast_to(w, per_sample.shape), axis=None,
                                dtype=np.float64))
    return weighted.sum() * (1.0 / total if total else 0.0)


def mean_squared_error(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Mean over the batch of $\frac1K \sum_k (y_k - p_k)^2$ (least squares; Legendre 1805,
    Gauss 1809)."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    if sample_weight is None and reduction == MEAN:
        return ag.mean_squared_error(p, y)  # the same mean, one node
    return _reduce(((p - y) ** 2).mean(axis=-1), sample_weight, reduction)


def mean_absolute_error(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Mean over the batch of $\frac1K \sum_k \lvert y_k - p_k\rvert$ (Laplace 1788)."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    return _reduce(ag.abs(p - y).mean(axis=-1), sample_weight, reduction)


def mean_absolute_percentage_error(y_true, y_pred, sample_weight=None,
                                   reduction=MEAN) -> Tensor:
    r"""Mean over the batch of
    $\frac{100}{K} \sum_k \lvert (y_k - p_k) / \max(\lvert y_k\rvert, \epsilon)\rvert$."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    # the factor 100 last: in float16 a term times 100 can overflow where the mean does not
    return 100 * _reduce(ag.abs((y - p) / np.maximum(np.abs(y), EPSILON)).mean(axis=-1),
                         sample_weight, reduction)


def mean_squared_logarithmic_error(y_true, y_pred, sample_weight=None,
                                   reduction=MEAN) -> Tensor:
    r"""Mean of $\big(\ln(\max(p, \epsilon) + 1) - \ln(\max(y, \epsilon) + 1)\big)^2$."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    log_p = ag.log(ag.maximum(p, EPSILON) + 1)
    log_y = np.log(np.maximum(y, EPSILON) + 1)
    return _reduce(((log_p - log_y) ** 2).mean(axis=-1), sample_weight, reduction)


def _signed(y: np.ndarray) -> np.ndarray:
    """Keras's hinge losses take labels in {-1, 1}; labels in {0, 1} are converted."""
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


def hinge(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Mean of $\max(1 - y p, 0)$, labels in $\{-1, 1\}$ (0/1 labels are converted;
    Cortes & Vapnik 1995)."""
    p = _pred(y_pred)
    y = _signed(_targets(y_true, p))
    return _reduce(ag.relu(1 - y * p).mean(axis=-1), sample_weight, reduction)


def squared_hinge(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Mean of $\max(1 - y p, 0)^2$, labels in $\{-1, 1\}$ (0/1 converted)."""
    p = _pred(y_pred)
    y = _signed(_targets(y_true, p))
    return _reduce((ag.relu(1 - y * p) ** 2).mean(axis=-1), sample_weight, reduction)


def categorical_hinge(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Mean over the batch of
    $\max\big(\max_k (1 - y_k) p_k - \sum_k y_k p_k + 1,\ 0\big)$ (Crammer & Singer 2001)."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    positive = (y * p).sum(axis=-1)
    negative = ((1 - y) * p).max(axis=-1)
    return _reduce(ag.relu(negative - positive + 1), sample_weight, reduction)


def log_cosh(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""$\ln\cosh x$ computed as $x + \operatorname{softplus}(-2x) - \ln 2$, finite for
    any $x$."""
    p = _pred(y_pred)
    x = p - _targets(y_true, p)
    return _reduce((x + ag.softplus(-2 * x) - math.log(2.0)).mean(axis=-1), sample_weight,
                   reduction)


def binary_crossentropy(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Mean of $-[y \ln p + (1 - y) \ln(1 - p)]$, $p$ clipped to
    $[\epsilon, 1 - \epsilon]$ (Cox 1958)."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    eps = _clip_epsilon(p.dtype)
    p = ag.clip(p, eps, 1 - eps)
    return _reduce(-(y * ag.log(p) + (1 - y) * ag.log(1 - p)).mean(axis=-1), sample_weight,
                   reduction)


def categorical_crossentropy(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Mean over the batch of $-\sum_k y_k \ln p_k$, $p$ normalised
    and clipped (Bridle 1990)."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    eps = _clip_epsilon(p.dtype)
    p = ag.clip(p / p.sum(axis=-1, keepdims=True), eps, 1 - eps)
    return _reduce(-(y * ag.log(p)).sum(axis=-1), sample_weight, reduction)


def per_position_hint(prediction_shape: tuple) -> str:
    """Why a model gave a prediction per position, not per sample: samples with more axes
    than the first layer needs (a Dense layer acts on the last axis of its input)."""
    return (f"(the model's output has shape {tuple(prediction_shape)}, a prediction for each "
            f"position of a sample: a Dense layer acts on the last axis of its input, so "
            f"samples with extra axes give one output per position; flatten the samples, "
            f"x.reshape(len(x), -1), or put a Flatten() layer first)")


def class_indices(y_true, prediction_shape: tuple, check_range: bool = True) -> np.ndarray:
    """Integer labels of shape prediction_shape[:-1] (a trailing axis of 1 is dropped),
    checked: the rule the sparse cross-entropy (and the compiled step) reads labels by.
    ``check_range=False`` leaves the range to the caller (the compiled step's loop
    checks each label as it reads it: two reductions less per step)."""
    n_classes = prediction_shape[-1]
    y = np.asarray(y_true.data if isinstance(y_true, Tensor) else y_true)
    if y.ndim == len(prediction_shape) and y.shape[-1] == 1:
        y = y[..., 0]
    if y.shape != tuple(prediction_shape[:-1]):
        raise ValueError(f"y_true of shape {y.shape} must hold one integer label per "
                         f"sample ({tuple(prediction_shape[:-1])}) for "
                         "sparse_categorical_crossentropy " + (
                             per_position_hint(prediction_shape)
                             if len(prediction_shape) > 2 and y.shape[:1] == prediction_shape[:1]
                             else "(one-hot rows: use loss='categorical_crossentropy')"))
    if y.dtype.kind not in "iuf":
        raise ValueError("y_true must hold integer class labels for "
                         f"sparse_categorical_crossentropy; got dtype {y.dtype}")
    labels = y.astype(np.intp, copy=False)
    exact = y.dtype.kind == "i" and y.dtype.itemsize <= labels.dtype.itemsize
    if not exact and not np.array_equal(labels, y):  # fractions, or unsigned beyond intp
        raise ValueError("y_true must hold integer class labels for "
                         f"sparse_categorical_crossentropy; got {y[labels != y][0]}")
    if check_range and y.size and (y.min() < 0 or y.max() >= n_classes):  # no wrap-around
        raise ValueError(f"y_true: labels must lie in [0, {n_classes}) for an output of "
                         f"{n_classes} classes; got {y.min()} to {y.max()}")
    return labels


def sparse_categorical_crossentropy(y_true, y_pred, sample_weight=None,
                                    reduction=MEAN) -> Tensor:
    r"""categorical_crossentropy with integer class labels
    $y$: $-\ln p_y$."""
    p = _pred(y_pred)
    labels = class_indices(y_true, p.shape)
    return categorical_crossentropy(np.eye(p.shape[-1], dtype=p.dtype)[labels], p,
                                    sample_weight, reduction)


def kl_divergence(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Mean over the batch of $\sum_k y_k \ln(y_k / p_k)$, both clipped to
    $[\epsilon, 1]$ (Kullback & Leibler 1951)."""
    p = _pred(y_pred)
    y = np.clip(_targets(y_true, p), EPSILON, 1)
    p = ag.clip(p, EPSILON, 1)
    return _reduce((y * (np.log(y) - ag.log(p))).sum(axis=-1), sample_weight, reduction)


def poisson(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Mean of $p - y \ln(p + \epsilon)$, the Poisson negative log-likelihood up to
    a constant (Nelder & Wedderburn 1972)."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    return _reduce((p - y * ag.log(p + EPSILON)).mean(axis=-1), sample_weight, reduction)


def cosine_similarity(y_true, y_pred, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""$-\cos(y, p) = -\sum_k y_k p_k / (\lVert y\rVert\, \lVert p\rVert)$ per
    sample, each vector scaled by $1 / \sqrt{\max(\lVert v\rVert^2, 10^{-12})}$ (the floor
    raised to the dtype's smallest normal number in float16)."""
    p = _pred(y_pred)
    y = _targets(y_true, p)
    floor = _norm_floor(p.dtype)
    y_unit = y / np.sqrt(np.maximum((y * y).sum(axis=-1, keepdims=True), floor))
    p_unit = p / ag.sqrt(ag.maximum((p * p).sum(axis=-1, keepdims=True), floor))
    return _reduce(-(p_unit * y_unit).sum(axis=-1), sample_weight, reduction)


def _fused(node, per_sample_node, sample_weight, reduction) -> Tensor:
    """A fused node's mean as it is, or its per-sample values reduced (with weights)."""
    if sample_weight is None and reduction == MEAN:
        return node()
    return _reduce(per_sample_node(), sample_weight, reduction)


def _sparse_from_logits(y_true, logits: Tensor, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Sparse categorical cross-entropy from the logits $z$: mean of
    $\operatorname{logsumexp}(z) - z_y$, whose gradient is
    $\operatorname{softmax}(z) - \operatorname{onehot}(y)$ (one fused node)."""
    labels = class_indices(y_true, logits.shape)
    return _fused(lambda: ag.softmax_cross_entropy(logits, labels),
                  lambda: ag.softmax_cross_entropy(logits, labels, reduction="none"),
                  sample_weight, reduction)


def _categorical_from_logits(y_true, logits: Tensor, sample_weight=None,
                             reduction=MEAN) -> Tensor:
    r"""Categorical cross-entropy from the logits $z$: mean of
    $\operatorname{logsumexp}(z) - \sum_k y_k z_k$, whose gradient is
    $\operatorname{softmax}(z) - y$ (one fused node)."""
    y = _targets(y_true, logits)
    return _fused(lambda: ag.softmax_cross_entropy(logits, y),
                  lambda: ag.softmax_cross_entropy(logits, y, reduction="none"),
                  sample_weight, reduction)


def _binary_from_logits(y_true, logits: Tensor, sample_weight=None, reduction=MEAN) -> Tensor:
    r"""Binary cross-entropy from the logits $z$: mean of
    $\operatorname{softplus}(z) - y z$, whose gradient is $\sigma(z) - y$ (one fused node,
    never forming $\sigma(z)$ and its log)."""
    y = _targets(y_true, logits)
    return _fused(lambda: ag.sigmoid_binary_cross_entropy(logits, y),
                  lambda: ag.sigmoid_binary_cross_entropy(logits, y, reduction="none")
                  .mean(axis=-1), sample_weight, reduction)


# -- loss objects ---------------------------------------------------------------------------
class Head:
    r"""How a loss reads the last layer's pre-activation $z$ when it has a *canonical link*
    $f$ (the output activation whose gradient, paired with the loss, is $f(z) - t$;
    McCullagh & Nelder 1989): what a compiled step needs to compute the loss and
    $\partial L/\partial z$ without building a graph (:mod:`nnlearn.lowering.dense_step`).  The loss
    and its gradient are

    $$
    L = \frac{c_v}{N} \sum_i w_i l_i + \frac{\lambda}{N} \sum_l \lVert W_l\rVert^2, \qquad
    \frac{\partial L}{\partial z_i} = \frac{c_g}{N} w_i \big(f(z_i) - t_i\big)
    $$

    ($c_v$ = ``value_scale``, $c_g$ = ``grad_scale``, $\lambda$ = ``penalty``; softmax:
    $f(z_i) \sum_k t_{ik} - t_i$), with $l_i$ the per-sample cross-entropy of the link (the
    squared error for the identity) summed over the outputs, $w_i$ the sample weights (1
    without) and $N$ the reduction's normalizer (:meth:`Loss.normalizer`).

    * ``link``: "softmax", "sigmoid" or "identity";
    * ``targets(y)`` gives the targets of a batch as ``(rows, None)`` (an (n, k) array)
      or ``(None, labels)`` (class indices), read and checked by the engine's own rules."""

    LINKS = tuple(links.CODES)  # in their codes' order

    def __init__(self, link: str, value_scale: float, grad_scale: float, targets,
                 penalty: float = 0.0):
        if link not in self.LINKS:
            raise ValueError(f"Head: link must be one of {self.LINKS}; got {link!r}")
        self.link, self.value_scale, self.grad_scale = link, value_scale, grad_scale
        self.targets, self.penalty = targets, penalty


def _class_labels(units: int):
    # the range is checked by the compiled loop, which reads every label (dense_step
    # then names the range)
    return lambda y: (None, class_indices(y, (len(y), units), check_range=False))


def _rows(units: int):
    return lambda y: (targets_shaped(y, (len(y), units)), None)


class Loss:
    r"""A loss ``loss(y_true, y_pred, sample_weight=None) -> Tensor``: the per-sample losses
    of a batch reduced to one number (Keras 3's semantics).

    Subclasses define :meth:`call`.  ``reduction`` (one of :data:`REDUCTIONS`) says how
    the per-sample losses $l_i$ with weights $w_i$ (1 when not given) become the batch's
    loss: ``"sum_over_batch_size"`` (the default) $\frac1n \sum_i w_i l_i$, the weighted
    mean over the batch; ``"mean_with_sample_weight"`` $\sum_i w_i l_i / \sum_i w_i$;
    ``"sum"`` $\sum_i w_i l_i$; ``"none"`` (the weighted per-sample losses).  ``targets``
    says what ``y_true`` holds: ``"values"`` (anything shaped like the output),
    ``"one_hot"`` (rows of class probabilities) or ``"class_index"`` (integer labels);
    :meth:`check_targets` checks them against the model's output before training starts.
    :meth:`from_logits_of` gives the same loss computed from the logits of a named output
    activation, when one exists, and :meth:`head` what a compiled step needs to compute it
    (its canonical link)."""

    name = "loss"
    targets = "values"
    accuracy = None       # the accuracy "accuracy" means after this loss (see metrics.get)
    from_logits = False
    kernel_penalty = 0.0  # c: the model adds c / N sum ||W||^2 over its kernels (see Head)

    def __init__(self, reduction: str = MEAN):
        reduction = {"mean": MEAN, None: "none"}.get(reduction, reduction)  # Keras's aliases
        if reduction not in REDUCTIONS:
            raise ValueError(f"{type(self).__name__}: reduction must be one of {REDUCTIONS}; "
                             f"got {reduction!r}")
        self.reduction = reduction

    def _as_declared(self) -> bool:
        """Whether this loss computes what its class declares (its fused and compiled
        forms): a registered class, or a subclass that changes neither ``call`` nor
        ``__call__`` (one that does computes something else)."""
        registered = next((cls for cls in type(self).__mro__
                           if _CLASSES.get(cls.__name__) is cls), None)
        return (registered is not None and type(self).call is registered.call
                and type(self).__call__ is registered.__call__)

    def __call__(self, y_true, y_pred, sample_weight=None) -> Tensor:
        return self.call(y_true, y_pred, sample_weight)

    def call(self, y_true, y_pred, sample_weight=None) -> Tensor:
        """The loss of the batch as a scalar Tensor (subclasses define it)."""
        raise NotImplementedError

    def normalizer(self, n: int, sample_weight=None) -> float:
        """$N$, what the weighted sum of the per-sample losses of a batch of $n$
        samples is divided by: $n$, the sum of the weights or 1 (see :data:`REDUCTIONS`)."""
        if self.reduction == "mean_with_sample_weight" and sample_weight is not None:
            return float(np.add.reduce(np.asarray(sample_weight), dtype=np.float64))
        return float(n) if self.reduction in (MEAN, "mean_with_sample_weight") else 1.0

    def from_logits_of(self, activation: str | None):
        """The loss of ``activation(logits)`` as a function of the logits (one fused
        node), or None when there is none."""
        return None

    def head(self, activation: str | None, units: int) -> Head | None:
        """The :class:`Head` of this loss after the output ``activation`` (a registered
        name) of ``units`` outputs, or None when the pair has no canonical link."""
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
        return {} if self.reduction == MEAN else {"reduction": self.reduction}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class LossFunctionWrapper(Loss):
    """A function ``fn(y_true, y_pred) -> Tensor`` as a Loss (a plain function given as
    the loss is wrapped so; it is never fused).  The named losses below are wrappers of
    this module's functions, which take ``sample_weight`` and ``reduction`` too.  A custom
    function that returns per-sample losses (one value per sample) is reduced here, with
    the sample weights; one that returns the batch's loss cannot weight samples."""

    function = None

    def __init__(self, fn=None, name: str | None = None, reduction: str = MEAN):
        super().__init__(reduction)
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

    def call(self, y_true, y_pred, sample_weight=None):
        """The wrapped function's batch loss, a scalar Tensor."""
        if type(self).function is not None:
            return self.fn(y_true, y_pred, sample_weight, self.reduction)
        value = self.fn(y_true, y_pred)
        if sample_weight is None and self.reduction == MEAN and np.ndim(value) == 0:
            return value  # the batch's loss, as the function computed it
        value = value if isinstance(value, Tensor) else Tensor(value)
        if value.ndim == 0 or len(value) != len(y_pred):
            raise ValueError(f"the custom loss {self.name} returns one value for the batch: "
                             "to use sample weights or another reduction it must return one "
                             "value per sample")
        return _reduce(value, sample_weight, self.reduction)

    def __repr__(self):
        if type(self).function is not None:
            return super().__repr__()
        return f"LossFunctionWrapper({self.name})"


class MeanSquaredError(LossFunctionWrapper):
    r"""$\frac1K \sum_k (y_k - p_k)^2$: least squares (Legendre 1805, Gauss
    1809).  Its canonical link is the identity: after a linear output,
    $\partial L/\partial z_k = 2 (z_k - y_k) / K$ per sample of $K$ outputs."""
    function = staticmethod(mean_squared_error)

    def head(self, activation, units):
        if activation != "linear" or not self._as_declared():
            return None
        return Head("identity", 1.0 / units, 2.0 / units, _rows(units))


class MeanAbsoluteError(LossFunctionWrapper):
    r"""$\frac1K \sum_k \lvert y_k - p_k\rvert$ (least absolute deviations, Laplace 1788)."""
    function = staticmethod(mean_absolute_error)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    r"""$\frac{100}{K} \sum_k \lvert (y_k - p_k) / \max(\lvert y_k\rvert, \epsilon)\rvert$."""
    function = staticmethod(mean_absolute_percentage_error)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    r"""$\frac1K \sum_k \big(\ln(\max(p_k, \epsilon) + 1) - \ln(\max(y_k, \epsilon) + 1)\big)^2$."""
    function = staticmethod(mean_squared_logarithmic_error)


class Hinge(LossFunctionWrapper):
    r"""$\frac1K \sum_k \max(1 - y_k p_k, 0)$, labels in $\{-1, 1\}$ (Cortes & Vapnik 1995)."""
    function = staticmethod(hinge)


class SquaredHinge(LossFunctionWrapper):
    r"""$\frac1K \sum_k \max(1 - y_k p_k, 0)^2$, labels in $\{-1, 1\}$."""
    function = staticmethod(squared_hinge)


class CategoricalHinge(LossFunctionWrapper):
    r"""$\max\big(\max_k (1 - y_k) p_k - \sum_k y_k p_k + 1,\ 0\big)$ (Crammer & Singer 2001)."""
    function = staticmethod(categorical_hinge)


class LogCosh(LossFunctionWrapper):
    r"""$\frac1K \sum_k \ln\cosh(p_k - y_k)$."""
    function = staticmethod(log_cosh)


class KLDivergence(LossFunctionWrapper):
    r"""$\sum_k y_k \ln(y_k / p_k)$ (Kullback & Leibler 1951)."""
    function = staticmethod(kl_divergence)


class Poisson(LossFunctionWrapper):
    r"""$\frac1K \sum_k \big(p_k - y_k \ln(p_k + \epsilon)\big)$, the Poisson negative
    log-likelihood up to a constant (Nelder & Wedderburn 1972)."""
    function = staticmethod(poisson)


class CosineSimilarity(LossFunctionWrapper):
    r"""$-\cos(y, p) = -\sum_k y_k p_k / (\lVert y\rVert\, \lVert p\rVert)$ per sample."""
    function = staticmethod(cosine_similarity)


class _Crossentropy(Loss):
    """A cross-entropy on probabilities, or on logits with ``from_logits=True``."""

    activation = None          # the output activation whose logits it fuses with
    probabilities = None       # the loss function of probabilities
    logits = None              # the same loss as a function of the logits

    def __init__(self, from_logits: bool = False, reduction: str = MEAN):
        super().__init__(reduction)
        self.from_logits = bool(from_logits)

    def call(self, y_true, y_pred, sample_weight=None):
        loss = type(self).logits if self.from_logits else type(self).probabilities
        return loss(y_true, _pred(y_pred), sample_weight, self.reduction)

    def from_logits_of(self, activation):
        if not self.from_logits and activation == self.activation and self._as_declared():
            return type(self)(from_logits=True, reduction=self.reduction)
        return None

    def head(self, activation, units):
        if self.from_logits or activation != self.activation or not self._as_declared():
            return None
        if self.activation == "sigmoid":  # the binary cross-entropy, averaged over outputs
            return Head("sigmoid", 1.0 / units, 1.0 / units, _rows(units))
        targets = _class_labels(units) if self.targets == "class_index" else _rows(units)
        return Head("softmax", 1.0, 1.0, targets)

    def get_config(self):
        return {"from_logits": self.from_logits, **super().get_config()}


class BinaryCrossentropy(_Crossentropy):
    r"""$-\frac1K \sum_k [y_k \ln p_k + (1 - y_k) \ln(1 - p_k)]$ (Cox 1958); with a
    sigmoid output the model computes it from the logits $z$ as
    $\operatorname{softplus}(z) - y z$ (gradient $\sigma(z) - y$)."""

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
    r"""$-\sum_k y_k \ln p_k$ with one-hot (or probability) rows $y$
    (Bridle 1990); with a softmax output the model computes it from the logits as
    $\operatorname{logsumexp}(z) - \sum_k y_k z_k$ (gradient $p - y$)."""

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
    r"""The categorical cross-entropy with integer class labels
    $y$ instead of one-hot rows: $-\ln p_y$."""

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


class SklearnMLPLoss(Loss):
    r"""scikit-learn's multilayer-perceptron objective (``_backprop`` and ``_base.py`` in
    sklearn/neural_network), the loss of nnlearn's :class:`~nnlearn.estimators.MLPClassifier`
    and :class:`~nnlearn.estimators.MLPRegressor`: for a batch with sample weights
    $s_i$ (1 without) and $S = \sum_i s_i$,

    $$
    J = \frac{1}{S} \sum_i s_i\, l(y_i, z_i) + \frac{\alpha}{2S} \sum_l \|W_l\|_F^2
    $$

    from the output layer's logits $z$ through the link of ``link``:

    * ``"softmax"``: $l = \log\sum_k e^{z_k} - z_y$ (log-loss, integer labels);
    * ``"logistic"``: $l = \sum_k \operatorname{softplus}(z_k) - t_k z_k$ (binary
      log-loss summed over the labels);
    * ``"identity"``: $l = \tfrac12 \operatorname{mean}_k (z_k - y_k)^2$ (half squared
      error), whose gradient scikit-learn takes as $z - y$ for every output (that of
      the sum over the outputs): so does this loss;
    * ``"exp"``: $l = \sum_k e^{z_k} - y_k z_k + y_k \ln y_k - y_k$ (half Poisson
      deviance, exponential output).

    The gradient with respect to $z_i$ is $s_i (f(z_i) - y_i) / S$ in every case
    (``reduction="mean_with_sample_weight"``).  With ``loss`` (another nnlearn loss, the
    estimators' extra) that loss is computed on the outputs instead, with its own
    reduction (by default the weighted mean over the batch, $\frac1n \sum_i w_i l_i$), plus
    the penalty $\frac{\alpha}{2n} \sum_l \lVert W_l\rVert_F^2$.
    """

    name = "sklearn_mlp"
    LINKS = {"softmax": "softmax", "logistic": "sigmoid", "identity": "linear",
             "exp": "exponential"}  # scikit-learn's name -> the output activation

    def __init__(self, link: str = "softmax", alpha: float = 0.0001, loss=None):
        super().__init__("mean_with_sample_weight" if loss is None else MEAN)
        if link not in self.LINKS:
            raise ValueError(f"SklearnMLPLoss: link must be one of {tuple(self.LINKS)}; got "
                             f"{link!r}")
        if not np.isfinite(alpha) or alpha < 0:
            raise ValueError(f"SklearnMLPLoss: alpha must be a finite number >= 0; got "
                             f"{alpha!r}")
        self.link, self.alpha = link, float(alpha)
        if isinstance(loss, SklearnMLPLoss) or (isinstance(loss, dict) and
                                                loss.get("class_name") == "SklearnMLPLoss"):
            raise ValueError("SklearnMLPLoss: loss must be another loss than SklearnMLPLoss")
        self.inner = None if loss is None else get(loss)
        self.kernel_penalty = 0.5 * self.alpha
        self.targets = ("class_index" if link == "softmax" and self.inner is None
                        else "values")
        self.accuracy = {"softmax": "sparse", "logistic": "binary"}.get(link)

    def check_targets(self, y, units, argument="y"):
        if self.inner is not None and self.link != "softmax":
            return self.inner.check_targets(y, units, argument)
        if self.link == "softmax":
            return SparseCategoricalCrossentropy().check_targets(y, units, argument)
        super().check_targets(y, units, argument)
        if self.link == "logistic" and y.size and (y.min() < 0 or y.max() > 1):
            raise ValueError(f"{argument} must hold 0/1 labels for the logistic output; got "
                             f"values from {y.min()} to {y.max()}")

    def _inner_targets(self, y_true, units: int):
        if self.link == "softmax" and self.inner.targets != "class_index":
            return np.eye(units)[class_indices(y_true, (len(y_true), units))]
        return y_true

    def call(self, y_true, y_pred, sample_weight=None):
        """The objective from the outputs (probabilities, values): the logits are
        recovered by the link's inverse, as far as the outputs allow."""
        p = _pred(y_pred)
        if self.inner is not None:
            return self.inner(self._inner_targets(y_true, p.shape[-1]), p, sample_weight)
        eps = _clip_epsilon(p.dtype)
        if self.link == "softmax":
            labels = class_indices(y_true, p.shape)
            per_sample = -ag.log(ag.clip(p, eps, 1 - eps))[np.arange(len(labels)), labels]
        elif self.link == "logistic":
            y = _targets(y_true, p)
            q = ag.clip(p, eps, 1 - eps)
            per_sample = -(y * ag.log(q) + (1 - y) * ag.log(1 - q)).sum(axis=-1)
        elif self.link == "identity":
            return self.from_logits_of("linear")(y_true, p, sample_weight)
        else:
            return self.from_logits_of("exponential")(y_true, ag.log(p), sample_weight)
        return _reduce(per_sample, sample_weight, self.reduction)

    def from_logits_of(self, activation):
        if self.inner is not None or activation != self.LINKS[self.link] \
                or not self._as_declared():
            return None
        return self._from_logits

    def _from_logits(self, y_true, z, sample_weight=None):
        if self.link == "softmax":
            labels = class_indices(y_true, z.shape)
            return _fused(lambda: ag.softmax_cross_entropy(z, labels),
                          lambda: ag.softmax_cross_entropy(z, labels, reduction="none"),
                          sample_weight, self.reduction)
        y = _targets(y_true, z)
        if self.link == "logistic":
            per_sample = ag.sigmoid_binary_cross_entropy(z, y, reduction="none").sum(axis=-1)
        elif self.link == "identity":
            half = _reduce(((z - y) ** 2).sum(axis=-1) * 0.5, sample_weight, self.reduction)
            return half + half.data * (1.0 / z.shape[-1] - 1.0)  # the value of the mean
        else:
            constant = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0.0) - y
            per_sample = (ag.exp(z) - z * y + constant).sum(axis=-1)
        return _reduce(per_sample, sample_weight, self.reduction)

    def head(self, activation, units):
        if self.inner is not None or activation != self.LINKS[self.link] \
                or self.link == "exp" or not self._as_declared():
            return None
        penalty = self.kernel_penalty
        if self.link == "softmax":
            return Head("softmax", 1.0, 1.0, _class_labels(units), penalty)
        if self.link == "logistic":
            return Head("sigmoid", 1.0, 1.0, _rows(units), penalty)
        return Head("identity", 0.5 / units, 1.0, _rows(units), penalty)

    def get_config(self):
        return {"link": self.link, "alpha": self.alpha,
                "loss": None if self.inner is None else serialize(self.inner)}


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
    "sklearn_mlp": SklearnMLPLoss,
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
