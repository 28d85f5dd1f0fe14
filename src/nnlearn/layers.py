"""Layers: parameters plus a forward computation on Tensors (Keras's names).

A layer is built once it knows its input shape (``build(input_shape, rng, dtype)``);
``call(x, training)`` maps a batch (rows are samples) to a batch.  Backpropagation comes
from the engine: no layer writes a backward pass.  A layer first called unbuilt builds
itself for the batch it sees (with the random generator and dtype of the model being
built, see :func:`building`), which is how a subclassed ``Model`` builds its layers.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

from . import activations, initializers, regularizers
from . import autograd as ag
from ._registry import constructor_repr
from .autograd import Tensor

__all__ = ["Layer", "Input", "Dense", "Activation", "Dropout", "BatchNormalization",
           "Flatten", "PReLU", "get"]


_BUILDING: list = []  # (rng, dtype) of the models being built, innermost last


@contextlib.contextmanager
def building(rng: np.random.Generator, dtype):
    """Layers first called inside this block build with ``rng`` and ``dtype``."""
    _BUILDING.append((rng, np.dtype(dtype)))
    try:
        yield
    finally:
        _BUILDING.pop()


class Layer:
    """Base class.  Subclasses set ``self.params`` (Tensors) in ``build`` and define
    ``call``; ``get_config`` returns the constructor arguments.

    The hooks a model calls, each with a default here: ``regularization()`` (the
    penalty added to the loss, or None), ``state_arrays()`` (non-trainable arrays saved
    with the weights, e.g. batch normalization's moving statistics) and
    ``reseed(seed_sequence)`` (fresh randomness for each epoch, e.g. dropout masks)."""

    def __init__(self, name: str | None = None):
        self.name = name
        self.params: list = []
        self.built = False
        self.input_shape = None
        self.output_shape = None

    def build(self, input_shape: tuple, rng: np.random.Generator, dtype) -> None:
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        raise NotImplementedError

    def __call__(self, x, training: bool = False):
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.built:
            rng, dtype = _BUILDING[-1] if _BUILDING else (np.random.default_rng(), x.dtype)
            self.build(x.shape[1:], rng, dtype)
        return self.call(x, training)

    def regularization(self) -> Tensor | None:
        """The penalty this layer adds to the loss (None: no penalty)."""
        return None

    def state_arrays(self) -> list:
        """Non-trainable arrays saved with the weights (none by default)."""
        return []

    def reseed(self, seed_sequence: np.random.SeedSequence) -> None:
        """Take fresh randomness for the next epoch (layers without any ignore it)."""

    def count_params(self) -> int:
        return sum(p.size for p in self.params)

    def get_config(self) -> dict:
        return {"name": self.name}

    def _param(self, array, dtype) -> Tensor:
        return Tensor(np.asarray(array), requires_grad=True, dtype=dtype)

    def __repr__(self):
        """``Dense(units=4, activation='tanh')``: code that builds the same layer."""
        return constructor_repr(self, self.get_config())


class Input(Layer):
    """Declares the shape of one sample (without the batch axis)."""

    def __init__(self, shape, name: str | None = None):
        super().__init__(name)
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if not shape or not all(isinstance(n, int) and n > 0 for n in shape):
            raise ValueError(f"Input: shape must be positive integers; got {shape!r}")
        self.shape = shape

    def call(self, x, training=False):
        return x

    def get_config(self):
        return {"shape": list(self.shape), **super().get_config()}


class Dense(Layer):
    """A fully connected layer: ``activation(x @ kernel + bias)`` (a layer of neurons
    ``h_k = g(w_0k + sum_i w_ik x_i)``, rows of x being samples).

    kernel: (n_in, units), bias: (units,).  ``kernel_regularizer`` adds its penalty on the
    kernel (never the bias) to the loss.
    """

    def __init__(self, units: int, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, input_dim: int | None = None,
                 name: str | None = None):
        super().__init__(name)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units < 1:
            raise ValueError(f"Dense: units must be a positive integer; got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        initializers.get(kernel_initializer, "kernel_initializer")
        initializers.get(bias_initializer, "bias_initializer")
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.input_dim = input_dim

    def build(self, input_shape, rng, dtype):
        if len(input_shape) != 1:
            raise ValueError(f"Dense expects flat samples; got sample shape {input_shape} "
                             "(add a Flatten layer first)")
        n_in = input_shape[0]
        init_kernel = initializers.get(self.kernel_initializer)
        self.kernel = self._param(init_kernel((n_in, self.units), rng), dtype)
        self.params = [self.kernel]
        self.bias = None
        if self.use_bias:
            self.bias = self._param(initializers.get(self.bias_initializer)((self.units,), rng),
                                    dtype)
            self.params.append(self.bias)
        super().build(input_shape, rng, dtype)

    def compute_output_shape(self, input_shape):
        return (self.units,)

    def pre_activation(self, x: Tensor) -> Tensor:
        """z = x @ kernel + bias, the input of the activation (the logits of an output
        layer)."""
        return ag.linear(x, self.kernel, self.bias)

    def call(self, x, training=False):
        return self.activation(self.pre_activation(x))

    def regularization(self):
        return self.kernel_regularizer(self.kernel) if self.kernel_regularizer else None

    def get_config(self):
        return {"units": self.units, "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias,
                "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer,
                "kernel_regularizer": (self.kernel_regularizer.get_config()
                                       if self.kernel_regularizer else None),
                "input_dim": self.input_dim, **super().get_config()}


class Activation(Layer):
    """Applies an activation function by name."""

    def __init__(self, activation, name: str | None = None):
        super().__init__(name)
        self.activation = activations.get(activation)

    def call(self, x, training=False):
        return self.activation(x)

    def get_config(self):
        return {"activation": activations.serialize(self.activation), **super().get_config()}


class Dropout(Layer):
    """Inverted dropout (Srivastava et al. 2014): while training, each unit is kept with
    probability 1 - rate and scaled by 1 / (1 - rate), so nothing changes at inference,
    where the layer is the identity."""

    def __init__(self, rate: float, seed: int | None = None, name: str | None = None):
        super().__init__(name)
        if not isinstance(rate, (int, float)) or not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1); got {rate!r}")
        self.rate = float(rate)
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def reseed(self, seed_sequence) -> None:
        """Called by ``fit`` at each epoch (unless the layer has its own seed), so that
        the masks depend only on fit's seed and the epoch."""
        if self.seed is None:
            self._rng = np.random.default_rng(seed_sequence)

    def call(self, x, training=False):
        if not training or self.rate == 0:
            return x
        keep = self._rng.random(x.shape, dtype=np.float32) >= self.rate
        return x * (keep.astype(x.dtype) / (1 - self.rate))

    def get_config(self):
        return {"rate": self.rate, "seed": self.seed, **super().get_config()}


class BatchNormalization(Layer):
    """Batch normalization (Ioffe & Szegedy 2015)::

        x_hat = (x - mu_B) / sqrt(var_B + epsilon);   y = gamma x_hat + beta

    Training uses the batch's mean and (biased) variance and updates the running
    averages ``moving = momentum moving + (1 - momentum) batch``; inference uses the
    running averages.  Keras's defaults: momentum 0.99, epsilon 1e-3.
    """

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


class Flatten(Layer):
    """Reshapes each sample to a vector (e.g. 28x28 images to 784 features)."""

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def call(self, x, training=False):
        return x.reshape(x.shape[0], -1)


class PReLU(Layer):
    """Parametric ReLU (He et al. 2015): z for z > 0, alpha z otherwise, with one
    learnable slope alpha per unit (initialised to 0, as in Keras)."""

    def __init__(self, alpha_initializer="zeros", name: str | None = None):
        super().__init__(name)
        initializers.get(alpha_initializer, "alpha_initializer")
        self.alpha_initializer = alpha_initializer

    def build(self, input_shape, rng, dtype):
        self.alpha = self._param(initializers.get(self.alpha_initializer)(tuple(input_shape),
                                                                           rng), dtype)
        self.params = [self.alpha]
        super().build(input_shape, rng, dtype)

    def call(self, x, training=False):
        return ag.relu(x) - self.alpha * ag.relu(-x)

    def get_config(self):
        return {"alpha_initializer": self.alpha_initializer, **super().get_config()}


LAYERS = {cls.__name__: cls for cls in (Input, Dense, Activation, Dropout,
                                        BatchNormalization, Flatten, PReLU)}


def get(class_name: str, config: dict) -> Layer:
    """A layer from its class name and config (model files)."""
    if class_name not in LAYERS:
        raise ValueError(f"unknown layer class {class_name!r} in model file")
    return LAYERS[class_name](**config)
