"""Batch normalization (Ioffe & Szegedy 2015).
"""

from __future__ import annotations

import numpy as np

from .. import autograd as ag
from ..config_schema import NUMBER
from .base import Layer


class BatchNormalization(Layer):
    """Batch normalization (Ioffe & Szegedy 2015)::

        x_hat = (x - mu_B) / sqrt(var_B + epsilon);   y = gamma x_hat + beta

    Training uses the batch's mean and (biased) variance and updates the running
    averages ``moving = momentum moving + (1 - momentum) batch``; inference uses the
    running averages.  Keras's defaults: momentum 0.99, epsilon 1e-3.
    """

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
