"""Layers that regularize by noise during training and are the identity at inference:
Dropout (Srivastava et al. 2014), Gaussian noise and Gaussian dropout.
"""

from __future__ import annotations

import math

import numpy as np

from .base import RandomLayer


class Dropout(RandomLayer):
    r"""Inverted dropout (Srivastava et al. 2014): while training, each unit is kept with
    probability $1 - p$ and scaled so that its expectation is unchanged,

    $$
    \tilde h = \frac{m \odot h}{1 - p}, \qquad m_k \sim \operatorname{Bernoulli}(1 - p),
    $$

    so nothing changes at inference, where the layer is the identity.

    Parameters
    ----------
    rate : float
        The probability $p \in [0, 1)$ that a unit is dropped.
    seed : int, optional
        The layer's own random seed; None draws fresh randomness from ``fit(seed=...)`` at
        each epoch, so that a seeded fit is reproducible.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None):
        super().__init__(seed, name)
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1); got {rate!r}")
        self.rate = float(rate)

    def call(self, x, training=False):
        if not training or self.rate == 0:
            return x
        keep = self._rng.random(x.shape, dtype=np.float32) >= self.rate
        return x * (keep.astype(x.dtype) / (1 - self.rate))

    def get_config(self):
        return {"rate": self.rate, **super().get_config()}


# --------------------------------------------------------------------------------------
# data augmentation: random transformations while training, the identity at inference
# (Krizhevsky, Sutskever & Hinton 2012; Simard, Steinkraus & Platt 2003)
# --------------------------------------------------------------------------------------
class GaussianNoise(RandomLayer):
    r"""Adds noise $\epsilon \sim \mathcal N(0, \sigma^2)$ while training (a regularizer:
    Sietsma & Dow 1991; Bishop 1995 shows it acts like Tikhonov regularization); the identity
    at inference.

    Parameters
    ----------
    stddev : float
        The noise's standard deviation $\sigma \ge 0$.
    seed : int, optional
        The layer's own random seed; None draws fresh randomness from ``fit(seed=...)`` at
        each epoch, so that a seeded fit is reproducible.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    def __init__(self, stddev: float, seed: int | None = None, name: str | None = None):
        super().__init__(seed, name)
        if not isinstance(stddev, (int, float)) or isinstance(stddev, bool) or stddev < 0:
            raise ValueError(f"GaussianNoise: stddev must be a non-negative number; got "
                             f"{stddev!r}")
        self.stddev = float(stddev)

    def call(self, x, training=False):
        if not training or self.stddev == 0:
            return x
        return x + (self._rng.standard_normal(x.shape) * self.stddev).astype(x.dtype)

    def get_config(self):
        return {"stddev": self.stddev, **super().get_config()}


class GaussianDropout(RandomLayer):
    r"""Multiplies by noise $\epsilon \sim \mathcal N\big(1, p / (1 - p)\big)$ while
    training: dropout's mean and variance with Gaussian noise (Srivastava et al. 2014,
    section 10); the identity at inference.

    Parameters
    ----------
    rate : float
        The drop probability $p \in [0, 1)$ whose variance the noise has.
    seed : int, optional
        The layer's own random seed; None draws fresh randomness from ``fit(seed=...)`` at
        each epoch, so that a seeded fit is reproducible.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None):
        super().__init__(seed, name)
        if not isinstance(rate, (int, float)) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ValueError(f"GaussianDropout: rate must be in [0, 1); got {rate!r}")
        self.rate = float(rate)

    def call(self, x, training=False):
        if not training or self.rate == 0:
            return x
        std = math.sqrt(self.rate / (1 - self.rate))
        return x * (1 + self._rng.standard_normal(x.shape) * std).astype(x.dtype)

    def get_config(self):
        return {"rate": self.rate, **super().get_config()}
