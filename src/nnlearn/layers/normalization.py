"""Batch normalization (Ioffe & Szegedy 2015).
"""

from __future__ import annotations

import numpy as np

from .. import autograd as ag
from ..config_schema import NUMBER
from .base import Layer


class BatchNormalization(Layer):
    r"""Batch normalization (Ioffe & Szegedy 2015): each feature is standardized by
    the batch's statistics and then scaled and shifted by learned $\gamma$, $\beta$:

    $$
    \hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}, \qquad y = \gamma \hat x + \beta.
    $$

    Training uses the batch's mean $\mu_B$ and (biased) variance $\sigma_B^2$ and updates
    the running averages $m \leftarrow \rho\, m + (1 - \rho)\, \mu_B$ (and likewise for the
    variance), $\rho$ = ``momentum``; inference uses the running averages.

    Parameters
    ----------
    momentum : float, default=0.99
        The decay $\rho \in [0, 1)$ of the running averages (Keras's default).
    epsilon : float, default=1e-3
        The $\epsilon > 0$ added to the variance (Keras's default).
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    ARGUMENTS = {"momentum": NUMBER, "epsilon": NUMBER}

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3,
                 name: str | None = None):
        super().__init__(name)
        if not 0 <= momentum < 1:
            raise ValueError(f"BatchNormalization: momentum must be in [0, 1); got {momentum}")
        if not epsilon > 0:
            raise ValueError(f"BatchNormalization: epsilon must be positive; got {epsilon}")
        self.momentum, self.epsilon = float(momentum), float(epsilon)

    def build(self, input_shape, rng, dtype):
        shape = tuple(input_shape)
        self.gamma = self._param(np.ones(shape), dtype)
        self.beta = self._param(np.zeros(shape), dtype)
        self.moving_mean = np.zeros(shape, dtype=dtype)
        self.moving_variance = np.ones(shape, dtype=dtype)
        self.params = [self.gamma, self.beta]
        super().build(input_shape, rng, dtype)

    def weight_shapes(self, input_shape):
        """gamma, beta, the moving mean and variance: each the sample's shape."""
        return [tuple(input_shape)] * 4, tuple(input_shape)

    def call(self, x, training=False):
        if training:
            mean = x.mean(axis=0)
            centered = x - mean
            variance = (centered * centered).mean(axis=0)
            m = self.momentum
            self.moving_mean *= m
            self.moving_mean += (1 - m) * mean.data
            self.moving_variance *= m
            self.moving_variance += (1 - m) * variance.data
            x_hat = centered / ag.sqrt(variance + self.epsilon)
        else:
            x_hat = (x - self.moving_mean) / np.sqrt(self.moving_variance + self.epsilon)
        return self.gamma * x_hat + self.beta

    def state_arrays(self) -> list:
        """Non-trainable arrays saved with the weights."""
        return [self.moving_mean, self.moving_variance]

    def get_config(self):
        return {"momentum": self.momentum, "epsilon": self.epsilon, **super().get_config()}
