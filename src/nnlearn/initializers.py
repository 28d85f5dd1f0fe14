r"""Weight initializers by name (Glorot & Bengio 2010; He et al. 2015), with Keras's names
and defaults.

For a kernel of shape (fan_in, fan_out) $= (n_i, n_o)$, with the Glorot limit
$r = \sqrt{6 / (n_i + n_o)}$:

| name | distribution |
|---|---|
| zeros / ones / constant | every weight the same (the symmetry that stops learning) |
| random_normal | $\mathcal N(0, 0.05^2)$ |
| random_uniform | $U(-0.05, 0.05)$ |
| glorot_uniform | $U(-r, r)$ (Glorot & Bengio 2010) |
| glorot_normal | truncated $\mathcal N$, $\sigma = \sqrt{2 / (n_i + n_o)}$ |
| he_uniform / he_normal | the same with $6 / n_i$ and $2 / n_i$ (He et al. 2015) |
| lecun_uniform / lecun_normal | the same with $3 / n_i$ and $1 / n_i$ (LeCun et al. 1998) |
| glorot_uniform_sigmoid | $U(-4r, 4r)$ (the Glorot limit times 4 for the sigmoid) |
| glorot_uniform_relu | $U(-\sqrt2\, r, \sqrt2\, r)$ (times $\sqrt2$ for the ReLU) |
| glorot_normal_sigmoid | $\mathcal N$ with $\sigma = 4 \sqrt{2 / (n_i + n_o)}$ |
| glorot_normal_relu | $\mathcal N$ with $\sigma = \sqrt2 \sqrt{2 / (n_i + n_o)}$ |
| orthogonal | a random orthogonal matrix (Saxe et al. 2014): recurrent kernels |
| uniform | Keras's alias of random_uniform (Embedding) |

Each keeps the variance of the activations about constant from layer to layer: a
weight of variance $\operatorname{Var}(w) = c / n$ gives a unit that sums $n$ inputs the
variance $c$ times its inputs' (with $c = 1$ for tanh near 0 and $c = 2$ for the ReLU,
which zeroes half its inputs).

Truncated normals (Keras's VarianceScaling) redraw values beyond two standard deviations
and divide the standard deviation by 0.87962566103423978 so the variance is as stated."""

from __future__ import annotations

import functools
import math

import numpy as np

from ._registry import lookup

__all__ = ["get", "variance_scaling", "constant", "zeros", "ones", "random_normal",
           "random_uniform", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
           "lecun_uniform", "lecun_normal", "orthogonal"]

_TRUNCATED_STD = 0.87962566103423978  # std of a standard normal truncated to [-2, 2]


def _fans(shape) -> tuple:
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


def _truncated_normal(rng, shape, std):
    x = rng.standard_normal(shape)
    outside = np.abs(x) > 2
    while outside.any():
        x[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(x) > 2
    return x * std


def variance_scaling(shape, rng, scale=1.0, mode="fan_in", distribution="truncated_normal"):
    r"""Keras's VarianceScaling: weights with variance $\text{scale} / n$, $n$ =
    fan_in, fan_out or their mean ("fan_avg"); uniform limits $\sqrt{3\, \text{scale} / n}$.

    Parameters
    ----------
    shape : tuple of int
        The weight array's shape; fan_in and fan_out are its last two axes (times the
        receptive field, for convolution kernels).
    rng : numpy.random.Generator
        The random number generator.
    scale : float
        1 for Glorot & Bengio (2010) with ``mode="fan_avg"``, 2 for He et al. (2015) with
        ``mode="fan_in"``.
    mode : {"fan_in", "fan_out", "fan_avg"}
        Which $n$ divides ``scale``.
    distribution : str
        ``"truncated_normal"`` (a normal cut at 2 standard deviations, rescaled to keep
        the variance), ``"uniform"``, or anything else for an untruncated normal."""
    fan_in, fan_out = _fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    if distribution == "uniform":
        limit = math.sqrt(3.0 * scale / n)
        return rng.uniform(-limit, limit, shape)
    if distribution == "truncated_normal":
        return _truncated_normal(rng, shape, math.sqrt(scale / n) / _TRUNCATED_STD)
    return rng.standard_normal(shape) * math.sqrt(scale / n)


def constant(shape, rng=None, value=0.0):
    """Every weight equal to ``value``."""
    return np.full(shape, value, dtype=np.float64)


def zeros(shape, rng=None):
    """Every weight 0 (Keras's default for biases)."""
    return np.zeros(shape)


def ones(shape, rng=None):
    """Every weight 1."""
    return np.ones(shape)


def random_normal(shape, rng, mean=0.0, stddev=0.05):
    r"""Weights drawn from $\mathcal N(\mu, \sigma^2)$, $\mu$ = ``mean``, $\sigma$ = ``stddev``."""
    return rng.normal(mean, stddev, shape)


def random_uniform(shape, rng, minval=-0.05, maxval=0.05):
    """Weights drawn from $U(a, b)$, $a$ = ``minval``, $b$ = ``maxval``."""
    return rng.uniform(minval, maxval, shape)


glorot_uniform = functools.partial(variance_scaling, scale=1.0, mode="fan_avg",
                                   distribution="uniform")
glorot_normal = functools.partial(variance_scaling, scale=1.0, mode="fan_avg")
he_uniform = functools.partial(variance_scaling, scale=2.0, distribution="uniform")
he_normal = functools.partial(variance_scaling, scale=2.0)
lecun_uniform = functools.partial(variance_scaling, scale=1.0, distribution="uniform")
lecun_normal = functools.partial(variance_scaling, scale=1.0)

def orthogonal(shape, rng, gain=1.0):
    r"""A random orthogonal matrix (Saxe, McClelland & Ganguli 2014), as Keras's
    Orthogonal: the $Q$ of the QR decomposition of a standard normal (rows, cols) matrix,
    rows = prod(shape[:-1]) and cols = shape[-1], its columns' signs fixed by
    $\operatorname{diag}(R)$ so that $Q$ is uniformly (Haar) distributed.  A tall matrix has
    orthonormal columns ($Q^\top Q = I$), a wide one orthonormal rows ($Q Q^\top = I$);
    times ``gain``.  All of a linear map's singular values are 1, so repeated products
    neither grow nor shrink a vector: the choice for recurrent kernels, applied again at
    every step."""
    shape = tuple(shape)
    if len(shape) < 2:
        raise ValueError(f"orthogonal: shape must have at least 2 axes; got {shape}")
    rows, cols = math.prod(shape[:-1]), shape[-1]
    a = rng.standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return np.ascontiguousarray(gain * q.reshape(shape))


INITIALIZERS = {
    "zeros": zeros, "ones": ones, "constant": constant,
    "random_normal": random_normal, "random_uniform": random_uniform,
    "glorot_uniform": glorot_uniform, "glorot_normal": glorot_normal,
    "he_uniform": he_uniform, "he_normal": he_normal,
    "lecun_uniform": lecun_uniform, "lecun_normal": lecun_normal,
    "orthogonal": orthogonal, "uniform": random_uniform,
    # activation-aware bounds: the Glorot limit times 4 (sigmoid), sqrt 2 (ReLU)
    "glorot_uniform_sigmoid": functools.partial(variance_scaling, scale=16.0, mode="fan_avg",
                                                distribution="uniform"),
    "glorot_uniform_relu": functools.partial(variance_scaling, scale=2.0, mode="fan_avg",
                                             distribution="uniform"),
    "glorot_normal_sigmoid": functools.partial(variance_scaling, scale=16.0, mode="fan_avg",
                                               distribution="normal"),
    "glorot_normal_relu": functools.partial(variance_scaling, scale=2.0, mode="fan_avg",
                                            distribution="normal"),
}


def get(identifier, argument: str = "initializer"):
    """The initializer named ``identifier`` (a function ``(shape, rng) -> float64 array``),
    or one with arguments, ``{"class_name": "random_normal", "config": {"stddev": 1.0}}``
    (a form a model file can store)."""
    if isinstance(identifier, dict):
        function = lookup("initializer", INITIALIZERS, identifier.get("class_name", ""),
                          argument)
        return functools.partial(function, **identifier.get("config", {}))
    return lookup("initializer", INITIALIZERS, identifier, argument)
