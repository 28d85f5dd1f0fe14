"""Numerically stable functions on plain NumPy arrays, shared by the engine's ops
(:mod:`nnlearn.autograd`) and the classic models (:mod:`nnlearn.classic`).

* ``stable_max(x, axes)``:  max over ``axes`` (kept), infinite maxima replaced by 0, so
  that ``x - m`` never produces ``inf - inf``.
* ``logsumexp(x, axes)``:   ln sum exp(x) = m + ln sum exp(x - m), m = max x (the
  shift that keeps every exponent <= 0; Blanchard, Higham & Higham 2021 analyse it).
* ``sigmoid(x)``:           1 / (1 + e^-x), accurate in both tails, never overflowing.
* ``softplus(x)``:          ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), finite for any x.
"""

from __future__ import annotations

import numpy as np

__all__ = ["stable_max", "logsumexp", "sigmoid", "softplus"]


def stable_max(x: np.ndarray, axes) -> np.ndarray:
    """max over ``axes`` (kept), with infinite maxima replaced by 0 so x - m is safe."""
    m = np.max(x, axis=axes, keepdims=True)
    finite = np.isfinite(m)
    return m if finite.all() else np.where(finite, m, 0)


def logsumexp(x: np.ndarray, axes) -> np.ndarray:
    """log sum exp(x) over ``axes`` (kept) as m + log sum exp(x - m), m = max x, so that
    nothing overflows.  A slice that is all -inf gives -inf."""
    m = stable_max(x, axes)
    total = np.add.reduce(np.exp(x - m), axis=axes, keepdims=True)
    if total.all():
        return np.log(total) + m
    with np.errstate(divide="ignore"):  # log(0) = -inf, the right answer
        return np.log(total) + m


def _largest_finite_exp_argument(dtype) -> np.generic:
    """The largest x of ``dtype`` whose e^x is finite (about 88.72 in float32)."""
    x = np.log(np.finfo(dtype).max).astype(dtype)
    with np.errstate(over="ignore"):
        while not np.isfinite(np.exp(x)):
            x = np.nextafter(x, dtype(0))
    return x


_LOG_MAX = {np.dtype(t): _largest_finite_exp_argument(t)
            for t in (np.float16, np.float32, np.float64)}


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-x), accurate in both tails; the exponent is capped where e^-x would
    overflow (there the result, below the dtype's smallest normal number, is unchanged)."""
    t = np.negative(x)
    if type(t) is not np.ndarray:  # a 0-d input gives a NumPy scalar
        t = np.asarray(t)
    np.minimum(t, _LOG_MAX[t.dtype], out=t)
    np.exp(t, out=t)
    t += 1
    return np.reciprocal(t, out=t)


def softplus(x: np.ndarray) -> np.ndarray:
    """ln(1 + e^x) = max(x, 0) + ln(1 + e^-|x|), finite for any x."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
