"""Layers that regularize by noise during training and are the identity at inference:
Dropout (Srivastava et al. 2014), Gaussian noise and Gaussian dropout.
"""

from __future__ import annotations

import math

import numpy as np

from .base import RandomLayer


class Dropout(RandomLayer):
    """Inverted dropout (Srivastava et al. 2014): while training, each unit is kept with
    probability 1 - rate and scaled by 1 / (1 - rate), so nothing changes at inference,
    where the layer is the identity."""

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
    """Adds N(0, stddev^2) noise while training (a regularizer: Sietsma & Dow 1991;
    Bishop 1995 shows it acts like Tikhonov regularization); the identity at inference."""

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
    """Multiplies by N(1, rate / (1 - rate)) noise while training: dropout's mean and
    variance with Gaussian noise (Srivastava et al. 2014, section 10); the identity at
    inference."""

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
