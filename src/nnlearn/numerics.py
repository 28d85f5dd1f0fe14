r"""Numerically stable functions on plain NumPy arrays, for the engine's row-wise ops
(:mod:`nnlearn.autograd`: log-sum-exp, log-softmax), the element rules of the
activations (:func:`erfc`, which NumPy lacks) and the classic models
(:mod:`nnlearn.classic`: sigmoid and softplus, in place on plain arrays; the
activations' own rules, :mod:`nnlearn.activations`, are what the networks use).

* ``stable_max(x, axes)``: $m = \max x$ over ``axes`` (kept), infinite maxima replaced
  by 0, so that $x - m$ never produces $\infty - \infty$.
* ``logsumexp(x, axes)``: $\ln \sum_k e^{x_k} = m + \ln \sum_k e^{x_k - m}$, the shift
  that keeps every exponent $\le 0$ (Blanchard, Higham & Higham 2021 analyse it).
* ``log_softmax(x, axes)``: $x_j - \ln \sum_k e^{x_k}$ computed as
  $(x_j - m) - \ln \sum_k e^{x_k - m}$: never $m + \ln(\dots)$ rounded first and
  subtracted after, which loses everything when the logits are large (float32
  $[10^8, 10^8]$ would give $[0, 0]$ instead of $-\ln 2$).
* ``sigmoid(x)``: $1 / (1 + e^{-x})$, accurate in both tails (0 where it underflows).
* ``softplus(x)``: $\ln(1 + e^x) = \max(x, 0) + \ln(1 + e^{-\lvert x\rvert})$, finite for
  any $x$.
* ``erfc(x)``: the complementary error function, element by element."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["stable_max", "logsumexp", "log_softmax", "sigmoid", "softplus", "erfc"]


def stable_max(x: np.ndarray, axes) -> np.ndarray:
    r"""$m = \max x$ over ``axes`` (kept), with infinite maxima replaced by 0 so $x - m$ is safe."""
    m = np.max(x, axis=axes, keepdims=True)
    finite = np.isfinite(m)
    return m if finite.all() else np.where(finite, m, 0)


def logsumexp(x: np.ndarray, axes) -> np.ndarray:
    r"""$\ln \sum_k e^{x_k}$ over ``axes`` (kept) as $m + \ln \sum_k e^{x_k - m}$,
    $m = \max x$, so that nothing overflows.  A slice that is all $-\infty$ gives $-\infty$."""
    m = stable_max(x, axes)
    total = np.add.reduce(np.exp(x - m), axis=axes, keepdims=True)
    if total.all():
        return np.log(total) + m
    with np.errstate(divide="ignore"):  # log(0) = -inf, the right answer
        return np.log(total) + m


def log_softmax(x: np.ndarray, axes) -> np.ndarray:
    r"""$x_j - \ln \sum_k e^{x_k}$ over ``axes`` (kept), as
    $(x_j - m) - \ln \sum_k e^{x_k - m}$ with $m = \max x$: exact to rounding for any finite
    $x$, huge equal values included (where $m + \ln(\dots)$ is rounded back to $m$).  A
    slice that is all $-\infty$ gives NaN."""
    with np.errstate(over="ignore"):  # x - m below -max: -inf, the value rounded
        shifted = x - stable_max(x, axes)
    total = np.add.reduce(np.exp(shifted), axis=axes, keepdims=True)
    with np.errstate(divide="ignore"):  # log(0) = -inf (every entry -inf)
        return shifted - np.log(total)


def sigmoid(x: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    r"""$\sigma(x) = 1 / (1 + e^{-x})$, accurate in both tails: where $e^{-x}$ overflows the
    result is 0 (the true value is below the dtype's smallest normal number there).  Capping
    the exponent instead would freeze the tail at that number, and $x \sigma(x)$ (silu) at
    the most negative $x$ would come out near $-1$ instead of $-0$.  ``out``: the array to
    write (x itself for an in-place sigmoid)."""
    t = np.negative(x, out=out)
    if type(t) is not np.ndarray:  # a 0-d input gives a NumPy scalar
        t = np.asarray(t)
    with np.errstate(over="ignore"):  # e^-x = inf: 1 / (1 + inf) = 0
        np.exp(t, out=t)
    t += 1
    return np.reciprocal(t, out=t)


def softplus(x: np.ndarray) -> np.ndarray:
    r"""$\ln(1 + e^x) = \max(x, 0) + \ln(1 + e^{-|x|})$, finite for any $x$."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


_erfc_elements = np.frompyfunc(math.erfc, 1, 1)


def _vectorized_erfc():
    """SciPy's vectorized erfc (the fast extra), or None."""
    try:
        from scipy.special import erfc as vectorized
    except ImportError:
        return None
    return vectorized


def erfc(x):
    r"""The complementary error function $\operatorname{erfc} x = 1 - \operatorname{erf}
    x = \frac{2}{\sqrt\pi}\int_x^\infty e^{-t^2} dt$, element by element (NumPy has
    none): the C library's ``erfc`` through :func:`math.erfc`, in ``x``'s dtype.  Accurate
    in the tail where 1 - erf x cancels: the normal distribution function is
    $\Phi(z) = \tfrac12 \operatorname{erfc}(-z/\sqrt2)$.  On arrays SciPy's
    vectorized erfc when installed (the C library's one element at a time is ~200 times
    slower); compiled loops call the C library's (:func:`numba_lowerings`): the two agree
    to a few units in the last place."""
    array = np.asarray(x)
    dtype = array.dtype if array.dtype.kind == "f" else np.dtype(np.float64)
    if array.ndim == 0:
        return dtype.type(math.erfc(array))
    if _erfc[0] is None:
        _erfc[0] = _vectorized_erfc() or (lambda a: _erfc_elements(a).astype(np.float64))
    return np.asarray(_erfc[0](array)).astype(dtype, copy=False)


_erfc: list = [None]  # the array erfc, chosen at the first call


_lowered: list = []


def numba_lowerings() -> None:
    """Teach numba the functions of this module that element rules call and NumPy lacks
    (:func:`erfc`: the C library's, as here); called by every module that compiles rules,
    before it compiles them (importing numba)."""
    if _lowered:
        return
    from numba.extending import overload

    @overload(erfc)
    def _erfc(x):
        return lambda x: math.erfc(x)

    _lowered.append(True)
