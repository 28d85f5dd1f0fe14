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


def _symbolic(x) -> bool:
    """Whether ``x`` is a symbolic tensor of a functional model, or a list holding one."""
    if isinstance(x, (list, tuple)):
        return any(getattr(item, "is_symbolic", False) for item in x)
    return getattr(x, "is_symbolic", False)


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

    What the rest of the library asks of a layer, each with a default here:
    ``compute_output_shape(input_shape)`` (and the check that the layer accepts such
    samples), ``weight_shapes(input_shape)`` (the shapes of its weights without building
    it: model files check a file's arrays against them before reading anything),
    ``regularization()`` (the penalty added to the loss, or None), ``state_arrays()``
    (non-trainable arrays saved with the weights, e.g. batch normalization's moving
    statistics) and ``reseed(seed_sequence)`` (fresh randomness for each epoch, e.g.
    dropout masks)."""

    def __init__(self, name: str | None = None):
        self.name = name
        self.params: list = []
        self.built = False
        self.input_shape = None
        self.output_shape = None

    def build(self, input_shape: tuple, rng: np.random.Generator, dtype) -> None:
        """Create the weights for samples of ``input_shape`` (no batch axis).

        Parameters
        ----------
        input_shape : tuple of int
            The shape of one sample.
        rng : numpy.random.Generator
            The source of the initial weights (the model's, so a seeded model is
            reproducible).
        dtype : the floating dtype of the weights.
        """
        self.input_shape = tuple(input_shape)
        self.output_shape = self.compute_output_shape(self.input_shape)
        self.built = True

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        """The shape of one output sample for samples of ``input_shape`` (no batch
        axis); checks that the layer accepts them."""
        return input_shape

    def weight_shapes(self, input_shape: tuple):
        """(the shapes of the weights in ``get_weights``' order, the output shape) for
        samples of ``input_shape``, without building the layer.  Here: no weights, for a
        layer that does not define its own ``build``; None for one that does without
        declaring its shapes (a model file then builds a copy to find out)."""
        if type(self).build is not Layer.build:
            return None
        return [], self.compute_output_shape(tuple(input_shape))

    def call(self, x: Tensor, training: bool = False) -> Tensor:
        """The layer's output for the batch ``x`` (rows are samples).

        Parameters
        ----------
        x : Tensor of shape (batch, *input_shape)
        training : bool
            True inside ``fit``: dropout, noise and augmentation are active and batch
            normalization uses the batch's statistics.
        """
        raise NotImplementedError

    def __call__(self, x, training: bool = False, **call_arguments):
        """``call`` on ``x`` (a Tensor or array), building the layer first if needed;
        keyword arguments go to ``call`` (a recurrent layer's ``initial_state``).  On a
        symbolic tensor (``nl.Input``) it records a node of a functional model instead
        and returns the symbolic output (:mod:`nnlearn.functional`)."""
        if not isinstance(x, Tensor) and _symbolic(x):
            from .functional import call_symbolic

            return call_symbolic(self, x, training, call_arguments)
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.built:
            rng, dtype = _BUILDING[-1] if _BUILDING else (np.random.default_rng(), x.dtype)
            self.build(x.shape[1:], rng, dtype)
        return self.call(x, training, **call_arguments)

    def regularization(self) -> Tensor | None:
        """The penalty this layer adds to the loss (None: no penalty)."""
        return None

    def state_arrays(self) -> list:
        """Non-trainable arrays saved with the weights (none by default)."""
        return []

    def reseed(self, seed_sequence: np.random.SeedSequence) -> None:
        """Take fresh randomness for the next epoch (layers without any ignore it)."""

    def compiled_step_reason(self, last: bool) -> str | None:
        """Why the compiled Dense step (:mod:`nnlearn.compiled`) cannot take this layer
        (``last``: as the output layer), or None when it can: here, it has no compiled
        form.  The planner asks every layer; a layer that gains an option says here
        whether the compiled step still computes it."""
        return f"a {type(self).__name__} layer has no compiled form"

    def count_params(self) -> int:
        """The number of trainable values."""
        return sum(p.size for p in self.params)

    def get_config(self) -> dict:
        """The constructor arguments, JSON-serialisable (model files, ``repr``)."""
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

    kernel: (n_in, units), bias: (units,).  Samples with more than one axis, as Keras
    does, are mapped along their last axis (shape (..., n_in) -> (..., units)): the same
    neurons applied at every position, e.g. every time step of a sequence.
    ``kernel_regularizer`` adds its penalty on the kernel (never the bias) to the loss.
    With any element-wise activation of :mod:`nnlearn.activations` the layer is one node
    of the engine (:func:`nnlearn.autograd.dense`).
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
        if len(input_shape) < 1:
            raise ValueError("Dense expects a batch of samples with at least one feature "
                             "axis, shape (batch, features); got a 1-D input, read as a "
                             "batch of scalars: reshape it with x.reshape(1, -1) for one "
                             "sample, or x.reshape(-1, 1) for one feature")
        n_in = input_shape[-1]
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
        return tuple(input_shape[:-1]) + (self.units,)

    def weight_shapes(self, input_shape):
        """kernel (n_in, units) and bias (units,)."""
        if len(input_shape) < 1:
            raise ValueError("Dense expects samples with at least one axis; got shape ()")
        return ([(input_shape[-1], self.units)] + ([(self.units,)] if self.use_bias else []),
                self.compute_output_shape(input_shape))

    def compiled_step_reason(self, last: bool) -> str | None:
        """The compiled step computes ``g(x W + b)`` for any element-wise activation of
        the table (the output layer's activation is the loss's link instead), with a
        bias and without a kernel regularizer (each option here, or it runs on the
        engine)."""
        from .compiled import activation_code  # the compiled step's own table of codes

        if type(self) is not Dense:
            return f"a {type(self).__name__} layer has no compiled form"
        if not self.use_bias:
            return "it has no bias"
        if self.kernel_regularizer is not None:
            return "it has a kernel regularizer"
        if not last and activation_code(self.activation) is None:
            return (f"its activation {self.activation!r} is not an element-wise activation "
                    f"of nnlearn.activations ({', '.join(activations.elementwise())})")
        return None

    def pre_activation(self, x: Tensor) -> Tensor:
        """z = x @ kernel + bias, the input of the activation (the logits of an output
        layer)."""
        return self._along_last_axis(x, activations.linear)

    def call(self, x, training=False):
        if isinstance(self.activation, activations.Activation):  # one node (ag.dense)
            return self._along_last_axis(x, self.activation)
        return self.activation(self.pre_activation(x))

    def _along_last_axis(self, x: Tensor, activation) -> Tensor:
        """ag.dense on the rows of x, samples of more than one axis flattened to rows of
        their last axis and back."""
        if x.ndim == 2:
            return ag.dense(x, self.kernel, self.bias, activation)
        if x.ndim < 2:
            raise ValueError(f"Dense expects a batch of samples (at least 2 axes); got an "
                             f"array of shape {x.shape}")
        rows = ag.reshape(x, (-1, x.shape[-1]))
        out = ag.dense(rows, self.kernel, self.bias, activation)
        return ag.reshape(out, x.shape[:-1] + (self.units,))

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


class _RandomLayer(Layer):
    """A layer that draws random numbers while training (dropout, noise, augmentation):
    from its own ``seed``, or else fresh randomness from ``fit(seed=)`` at each epoch, so
    that a seeded fit is reproducible."""

    def __init__(self, seed: int | None = None, name: str | None = None):
        super().__init__(name)
        if seed is not None and (not isinstance(seed, (int, np.integer))
                                 or isinstance(seed, bool)):
            raise ValueError(f"{type(self).__name__}: seed must be an integer or None; "
                             f"got {seed!r}")
        self.seed = seed
        self._rng = np.random.default_rng(seed)

    def reseed(self, seed_sequence) -> None:
        """Called by ``fit`` at each epoch (unless the layer has its own seed), so that
        the random draws depend only on fit's seed and the epoch."""
        if self.seed is None:
            self._rng = np.random.default_rng(seed_sequence)

    def get_config(self):
        return {"seed": self.seed, **super().get_config()}


class Dropout(_RandomLayer):
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

    def weight_shapes(self, input_shape):
        """alpha: the sample's shape."""
        return [tuple(input_shape)], tuple(input_shape)

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


# --------------------------------------------------------------------------------------
# convolutional networks (channels-last, as Keras): LeCun et al. 1998
# --------------------------------------------------------------------------------------
def _tuple_of(value, n: int, name: str, layer: str) -> tuple:
    """An int or n ints as a tuple of n positive ints (Keras's kernel_size, strides...)."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value),) * n
    try:
        value = tuple(value)
    except TypeError:
        value = (value,)
    if len(value) != n or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  and v >= 1 for v in value):
        raise ValueError(f"{layer}: {name} must be a positive integer or {n} of them; "
                         f"got {value!r}")
    return tuple(int(v) for v in value)


def _padding_of(padding, layer: str, allowed=("valid", "same")) -> str:
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"{layer}: padding must be {' or '.join(map(repr, allowed))}; "
                         f"got {padding!r}")
    return padding.lower()


def _sample_rank(input_shape, rank: int, layer: str, what: str) -> None:
    if len(input_shape) != rank:
        raise ValueError(f"{layer} expects samples of shape {what}; got sample shape "
                         f"{tuple(input_shape)}")


class _Conv(Layer):
    """The shared part of Conv1D and Conv2D (``rank`` spatial axes)."""

    rank = 2
    paddings = ("valid", "same")

    def __init__(self, filters: int, kernel_size, strides=1, padding: str = "valid",
                 dilation_rate=1, groups: int = 1, activation=None, use_bias: bool = True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, name: str | None = None):
        super().__init__(name)
        layer = type(self).__name__
        if not isinstance(filters, (int, np.integer)) or isinstance(filters, bool) \
                or filters < 1:
            raise ValueError(f"{layer}: filters must be a positive integer; got {filters!r}")
        self.filters = int(filters)
        self.kernel_size = _tuple_of(kernel_size, self.rank, "kernel_size", layer)
        self.strides = _tuple_of(strides, self.rank, "strides", layer)
        self.padding = _padding_of(padding, layer, self.paddings)
        self.dilation_rate = _tuple_of(dilation_rate, self.rank, "dilation_rate", layer)
        if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) \
                or groups < 1:
            raise ValueError(f"{layer}: groups must be a positive integer; got {groups!r}")
        self.groups = int(groups)
        if self.filters % self.groups:
            raise ValueError(f"{layer}: groups must divide filters; got groups="
                             f"{self.groups} and filters={self.filters}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(f"{layer}: strides > 1 together with dilation_rate > 1 is not "
                             "supported (as in Keras)")
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        initializers.get(kernel_initializer, "kernel_initializer")
        initializers.get(bias_initializer, "bias_initializer")
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.kernel_regularizer = regularizers.get(kernel_regularizer)

    def kernel_shape(self, input_shape) -> tuple:
        """(*kernel_size, channels / groups, filters): each filter sees its group only."""
        return (*self.kernel_size, int(input_shape[-1]) // self.groups, self.filters)

    def build(self, input_shape, rng, dtype):
        self.compute_output_shape(tuple(input_shape))  # checks the shape
        # Glorot's fans for a kernel (kh, kw, cin, cout): kh kw cin and kh kw cout
        self.kernel = self._param(initializers.get(self.kernel_initializer)(
            self.kernel_shape(input_shape), rng), dtype)
        self.params = [self.kernel]
        self.bias = None
        if self.use_bias:
            self.bias = self._param(initializers.get(self.bias_initializer)(
                (self.filters,), rng), dtype)
            self.params.append(self.bias)
        super().build(input_shape, rng, dtype)

    def weight_shapes(self, input_shape):
        """kernel (*kernel_size, channels / groups, filters) and bias (filters,)."""
        out = self.compute_output_shape(tuple(input_shape))  # checks the rank and the fit
        return ([self.kernel_shape(input_shape)]
                + ([(self.filters,)] if self.use_bias else []), out)

    def compute_output_shape(self, input_shape):
        layer = type(self).__name__
        _sample_rank(input_shape, self.rank + 1, layer,
                     "(steps, channels)" if self.rank == 1 else "(height, width, channels)")
        from .autograd.conv import output_length

        if input_shape[-1] % self.groups:
            raise ValueError(f"{layer}: groups must divide the input channels; got groups="
                             f"{self.groups} for samples of shape {tuple(input_shape)}")
        spatial = tuple(output_length(n, k, s, self.padding, d) for n, k, s, d in zip(
            input_shape[:-1], self.kernel_size, self.strides, self.dilation_rate))
        if min(spatial) < 1:
            raise ValueError(f"{layer}: the kernel {self.kernel_size} (dilation "
                             f"{self.dilation_rate}) does not fit in samples of shape "
                             f"{tuple(input_shape)} with padding 'valid'")
        return (*spatial, self.filters)

    def pre_activation(self, x: Tensor) -> Tensor:
        if self.rank == 1:
            return ag.conv1d(x, self.kernel, self.bias, self.strides[0], self.padding,
                             self.dilation_rate[0], self.groups)
        return ag.conv2d(x, self.kernel, self.bias, self.strides, self.padding,
                         self.dilation_rate, self.groups)

    def call(self, x, training=False):
        return self.activation(self.pre_activation(x))

    def regularization(self):
        return self.kernel_regularizer(self.kernel) if self.kernel_regularizer else None

    def get_config(self):
        return {"filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding,
                "dilation_rate": list(self.dilation_rate), "groups": self.groups,
                "activation": activations.serialize(self.activation),
                "use_bias": self.use_bias, "kernel_initializer": self.kernel_initializer,
                "bias_initializer": self.bias_initializer,
                "kernel_regularizer": (self.kernel_regularizer.get_config()
                                       if self.kernel_regularizer else None),
                **super().get_config()}


class Conv2D(_Conv):
    """A 2-D convolution layer (LeCun et al. 1998; Keras's Conv2D, channels-last):
    ``activation(conv2d(x, kernel) + bias)`` on images (height, width, channels), with a
    kernel (kh, kw, channels, filters) shared by every position.

    ``padding="same"`` keeps ceil(size / stride) positions; ``dilation_rate`` spreads the
    kernel's taps apart (Yu & Koltun 2016); ``groups`` splits channels and filters into
    that many independent convolutions, the kernel being (kh, kw, channels / groups,
    filters) - depthwise when groups == channels (Chollet 2017).  Glorot's initialisation
    counts fan_in = kh kw channels / groups and fan_out = kh kw filters."""

    rank = 2

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 dilation_rate=(1, 1), groups: int = 1, activation=None,
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, name: str | None = None):
        super().__init__(filters, kernel_size, strides, padding, dilation_rate, groups,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, name)


class Conv1D(_Conv):
    """A 1-D convolution layer on sequences (steps, channels), with a kernel
    (kernel_size, channels / groups, filters): Keras's Conv1D.  ``padding="causal"``
    left-pads dilation_rate (kernel_size - 1) zeros, so step t sees steps <= t only
    (WaveNet, van den Oord et al. 2016); with dilation rates 1, 2, 4, ... stacked causal
    layers see an exponentially long past (Yu & Koltun 2016)."""

    rank = 1
    paddings = ("valid", "same", "causal")


class _Pooling(Layer):
    rank = 2
    _op = ""

    def __init__(self, pool_size=2, strides=None, padding: str = "valid",
                 name: str | None = None):
        super().__init__(name)
        layer = type(self).__name__
        self.pool_size = _tuple_of(pool_size, self.rank, "pool_size", layer)
        self.strides = (self.pool_size if strides is None
                        else _tuple_of(strides, self.rank, "strides", layer))
        self._strides_given = strides is not None
        self.padding = _padding_of(padding, layer)

    def compute_output_shape(self, input_shape):
        layer = type(self).__name__
        _sample_rank(input_shape, self.rank + 1, layer,
                     "(steps, channels)" if self.rank == 1 else "(height, width, channels)")
        from .autograd.conv import output_length

        spatial = tuple(output_length(n, k, s, self.padding) for n, k, s in zip(
            input_shape[:-1], self.pool_size, self.strides))
        if min(spatial) < 1:
            raise ValueError(f"{layer}: the pool {self.pool_size} does not fit in samples "
                             f"of shape {tuple(input_shape)} with padding 'valid'")
        return (*spatial, input_shape[-1])

    def call(self, x, training=False):
        op = getattr(ag, self._op)
        if self.rank == 1:
            return op(x, self.pool_size[0], self.strides[0], self.padding)
        return op(x, self.pool_size, self.strides, self.padding)

    def get_config(self):
        return {"pool_size": list(self.pool_size),
                "strides": list(self.strides) if self._strides_given else None,
                "padding": self.padding, **super().get_config()}


class MaxPooling2D(_Pooling):
    """The maximum of each pool_size window (strides default to pool_size), channel by
    channel (Keras's MaxPooling2D)."""

    _op = "max_pool2d"

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 name: str | None = None):
        super().__init__(pool_size, strides, padding, name)


class AveragePooling2D(_Pooling):
    """The mean of each pool_size window (with "same", of its unpadded part)."""

    _op = "avg_pool2d"

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 name: str | None = None):
        super().__init__(pool_size, strides, padding, name)


class MaxPooling1D(_Pooling):
    """Max pooling along the steps of sequences (steps, channels)."""

    rank = 1
    _op = "max_pool1d"


class AveragePooling1D(_Pooling):
    """Average pooling along the steps of sequences (steps, channels)."""

    rank = 1
    _op = "avg_pool1d"


class _GlobalPooling(Layer):
    rank = 2
    _reduce = None

    def compute_output_shape(self, input_shape):
        _sample_rank(input_shape, self.rank + 1, type(self).__name__,
                     "(steps, channels)" if self.rank == 1 else "(height, width, channels)")
        return (input_shape[-1],)

    def call(self, x, training=False):
        return type(self)._reduce(x, axis=tuple(range(1, self.rank + 1)))


class GlobalAveragePooling2D(_GlobalPooling):
    """The mean of each channel over the image: (height, width, channels) -> (channels,)
    (Lin et al. 2013's global average pooling)."""

    _reduce = ag.mean


class GlobalAveragePooling1D(_GlobalPooling):
    """The mean of each channel over the steps: (steps, channels) -> (channels,)."""

    rank = 1
    _reduce = ag.mean


class GlobalMaxPooling2D(_GlobalPooling):
    """The maximum of each channel over the image: (height, width, channels) ->
    (channels,)."""

    _reduce = ag.max


class GlobalMaxPooling1D(_GlobalPooling):
    """The maximum of each channel over the steps: (steps, channels) -> (channels,)."""

    rank = 1
    _reduce = ag.max


class ZeroPadding2D(Layer):
    """Zeros around each image: ``padding`` is an int, (rows, cols) or
    ((top, bottom), (left, right)), as in Keras."""

    def __init__(self, padding=(1, 1), name: str | None = None):
        super().__init__(name)
        from .autograd.conv import _zero_pads

        self.pads = _zero_pads(padding)
        self.padding = padding

    def compute_output_shape(self, input_shape):
        _sample_rank(input_shape, 3, "ZeroPadding2D", "(height, width, channels)")
        (t, b), (left, r) = self.pads
        return (input_shape[0] + t + b, input_shape[1] + left + r, input_shape[2])

    def call(self, x, training=False):
        return ag.zero_pad2d(x, self.pads)

    def get_config(self):
        return {"padding": [list(p) for p in self.pads], **super().get_config()}


class Reshape(Layer):
    """Reshapes each sample to ``target_shape`` (one entry may be -1, inferred), e.g.
    784 features to (28, 28, 1) images."""

    def __init__(self, target_shape, name: str | None = None):
        super().__init__(name)
        target = (target_shape,) if isinstance(target_shape, int) else tuple(target_shape)
        if not target or not all(isinstance(n, (int, np.integer)) and not isinstance(n, bool)
                                 and (n >= 1 or n == -1) for n in target) \
                or target.count(-1) > 1:
            raise ValueError(f"Reshape: target_shape must be positive integers (one may be "
                             f"-1); got {target_shape!r}")
        self.target_shape = tuple(int(n) for n in target)

    def compute_output_shape(self, input_shape):
        size = math.prod(input_shape)
        known = math.prod(n for n in self.target_shape if n != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ValueError(f"Reshape: cannot reshape samples of shape "
                                 f"{tuple(input_shape)} into {self.target_shape}")
            return tuple(size // known if n == -1 else n for n in self.target_shape)
        if known != size:
            raise ValueError(f"Reshape: cannot reshape samples of shape {tuple(input_shape)} "
                             f"({size} values) into {self.target_shape} ({known} values)")
        return self.target_shape

    def call(self, x, training=False):
        return ag.reshape(x, (x.shape[0], *self.compute_output_shape(x.shape[1:])))

    def get_config(self):
        return {"target_shape": list(self.target_shape), **super().get_config()}


# --------------------------------------------------------------------------------------
# data augmentation: random transformations while training, the identity at inference
# (Krizhevsky, Sutskever & Hinton 2012; Simard, Steinkraus & Platt 2003)
# --------------------------------------------------------------------------------------
class GaussianNoise(_RandomLayer):
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


class GaussianDropout(_RandomLayer):
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


class RandomFlip(_RandomLayer):
    """Flips each image left-right ("horizontal"), upside down ("vertical") or either
    ("horizontal_and_vertical", each with probability 1/2) while training."""

    MODES = ("horizontal", "vertical", "horizontal_and_vertical")

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None,
                 name: str | None = None):
        super().__init__(seed, name)
        if mode not in self.MODES:
            raise ValueError(f"RandomFlip: mode must be one of {self.MODES}; got {mode!r}")
        self.mode = mode

    def compute_output_shape(self, input_shape):
        _sample_rank(input_shape, 3, "RandomFlip", "(height, width, channels)")
        return tuple(input_shape)

    def call(self, x, training=False):
        if not training:
            return x
        n = x.shape[0]
        if self.mode != "vertical":
            flip = self._rng.random(n) < 0.5
            x = ag.where(flip[:, None, None, None], x[:, :, ::-1, :], x)
        if self.mode != "horizontal":
            flip = self._rng.random(n) < 0.5
            x = ag.where(flip[:, None, None, None], x[:, ::-1, :, :], x)
        return x


_FILL_MODES = ("reflect", "wrap", "constant", "nearest")
_INTERPOLATIONS = ("bilinear", "nearest")


def _fold(coordinate: np.ndarray, n: int, fill_mode: str) -> tuple:
    """Source coordinates mapped into [0, n - 1] by the fill mode; and where they fall
    outside (only "constant" uses it)."""
    outside = (coordinate < -0.5) | (coordinate > n - 0.5)
    if fill_mode == "reflect":  # d c b a | a b c d | d c b a
        period = 2 * n
        u = np.mod(coordinate + 0.5, period)
        coordinate = np.where(u > n, period - u, u) - 0.5
    elif fill_mode == "wrap":  # a b c d | a b c d
        coordinate = np.mod(coordinate + 0.5, n) - 0.5
    return np.clip(coordinate, 0, n - 1), outside


def affine_images(images: np.ndarray, matrices: np.ndarray, fill_mode: str = "reflect",
                  interpolation: str = "bilinear", fill_value: float = 0.0) -> np.ndarray:
    """Each image (n, h, w, c) resampled at ``matrices[i] @ (row, col, 1)`` for every output
    pixel (row, col): the source point of the inverse transformation, as TensorFlow's
    ImageProjectiveTransform does (``matrices`` is (n, 2, 3))."""
    n, h, w, _ = images.shape
    rows, cols = np.meshgrid(np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64),
                             indexing="ij")
    grid = np.stack([rows, cols, np.ones_like(rows)])  # (3, h, w)
    source = np.einsum("nij,jhw->nihw", matrices, grid)
    r, r_out = _fold(source[:, 0], h, fill_mode)
    c, c_out = _fold(source[:, 1], w, fill_mode)
    flat = images.reshape(n * h * w, images.shape[-1])
    base = (np.arange(n) * (h * w))[:, None, None]

    def pick(rr, cc):  # one gather of flat indices: faster than three index arrays
        return np.take(flat, base + rr * w + cc, axis=0)

    if interpolation == "nearest":
        out = pick(np.rint(r).astype(np.intp), np.rint(c).astype(np.intp))
    else:
        r0, c0 = np.floor(r).astype(np.intp), np.floor(c).astype(np.intp)
        r1, c1 = np.minimum(r0 + 1, h - 1), np.minimum(c0 + 1, w - 1)
        fr = (r - r0).astype(images.dtype)[..., None]
        fc = (c - c0).astype(images.dtype)[..., None]
        top = pick(r0, c0)
        top += (pick(r0, c1) - top) * fc
        bottom = pick(r1, c0)
        bottom += (pick(r1, c1) - bottom) * fc
        out = top + (bottom - top) * fr
    if fill_mode == "constant":
        out = np.where((r_out | c_out)[..., None], fill_value, out)
    return out.astype(images.dtype, copy=False)


def _factor_range(factor, name: str, layer: str) -> tuple:
    """Keras's factor: a number f means (-f, f); a pair (lower, upper) is taken as is."""
    if isinstance(factor, (int, float)) and not isinstance(factor, bool):
        low, high = -abs(float(factor)), abs(float(factor))
    else:
        try:
            low, high = (float(v) for v in factor)
        except (TypeError, ValueError):
            raise ValueError(f"{layer}: {name} must be a number or a pair (lower, upper); "
                             f"got {factor!r}") from None
    if not low <= high or not math.isfinite(low) or not math.isfinite(high):
        raise ValueError(f"{layer}: {name} must satisfy lower <= upper; got {factor!r}")
    return low, high


class _RandomAffine(_RandomLayer):
    """Shared part of RandomTranslation, RandomRotation and RandomZoom: a random affine
    map per image, resampled with ``interpolation`` and filled by ``fill_mode``
    ("reflect", "wrap", "constant" with ``fill_value``, "nearest").  No gradient flows to
    the input: these layers belong at the input of a model."""

    def __init__(self, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, name=None):
        super().__init__(seed, name)
        layer = type(self).__name__
        if fill_mode not in _FILL_MODES:
            raise ValueError(f"{layer}: fill_mode must be one of {_FILL_MODES}; got "
                             f"{fill_mode!r}")
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f"{layer}: interpolation must be one of {_INTERPOLATIONS}; got "
                             f"{interpolation!r}")
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def compute_output_shape(self, input_shape):
        _sample_rank(input_shape, 3, type(self).__name__, "(height, width, channels)")
        return tuple(input_shape)

    def matrices(self, n: int, h: int, w: int) -> np.ndarray:
        """The (n, 2, 3) affine maps, one drawn per image of size h x w, from output
        pixel coordinates to the input coordinates they sample."""
        raise NotImplementedError

    def call(self, x, training=False):
        if not training:
            return x
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        n, h, w, _ = data.shape
        out = affine_images(data, self.matrices(n, h, w), self.fill_mode, self.interpolation,
                            self.fill_value)
        return Tensor(out)

    def get_config(self):
        return {"fill_mode": self.fill_mode, "interpolation": self.interpolation,
                **super().get_config(), "fill_value": self.fill_value}


def _about_center(linear: np.ndarray, h: int, w: int) -> np.ndarray:
    """(n, 2, 3) maps source = center + linear (output - center)."""
    center = np.array([(h - 1) / 2, (w - 1) / 2])
    shift = center - np.einsum("nij,j->ni", linear, center)
    return np.concatenate([linear, shift[..., None]], axis=-1)


class RandomTranslation(_RandomAffine):
    """Shifts each image by a random fraction of its height and width: ``height_factor``
    0.1 draws shifts in [-10%, +10%] of the height (a pair (lower, upper) sets the
    range), as Keras's RandomTranslation."""

    def __init__(self, height_factor, width_factor, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, name=None):
        super().__init__(fill_mode, interpolation, seed, fill_value, name)
        self.height_factor = _factor_range(height_factor, "height_factor", "RandomTranslation")
        self.width_factor = _factor_range(width_factor, "width_factor", "RandomTranslation")

    def matrices(self, n, h, w):
        dy = self._rng.uniform(*self.height_factor, n) * h
        dx = self._rng.uniform(*self.width_factor, n) * w
        m = np.zeros((n, 2, 3))
        m[:, 0, 0] = m[:, 1, 1] = 1
        m[:, 0, 2], m[:, 1, 2] = -dy, -dx  # the output at p shows the input at p - shift
        return m

    def get_config(self):
        return {"height_factor": list(self.height_factor),
                "width_factor": list(self.width_factor), **super().get_config()}


class RandomRotation(_RandomAffine):
    """Rotates each image about its center by a random angle: ``factor`` is a fraction of
    a full turn (0.1: up to +-36 degrees; a pair (lower, upper) sets the range; positive
    is counter-clockwise), as Keras's RandomRotation."""

    def __init__(self, factor, fill_mode="reflect", interpolation="bilinear", seed=None,
                 fill_value=0.0, name=None):
        super().__init__(fill_mode, interpolation, seed, fill_value, name)
        self.factor = _factor_range(factor, "factor", "RandomRotation")

    def matrices(self, n, h, w):
        # positive: counter-clockwise as displayed (row 0 on top), as in Keras
        angle = -self._rng.uniform(*self.factor, n) * 2 * np.pi
        cos, sin = np.cos(angle), np.sin(angle)
        linear = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)
        return _about_center(linear, h, w)

    def get_config(self):
        return {"factor": list(self.factor), **super().get_config()}


class RandomZoom(_RandomAffine):
    """Zooms each image about its center by a random amount: ``height_factor`` 0.2 draws
    from [-20%, +20%], where a positive value zooms out (the image looks smaller) and a
    negative one zooms in, as in Keras; ``width_factor`` None keeps the aspect ratio."""

    def __init__(self, height_factor, width_factor=None, fill_mode="reflect",
                 interpolation="bilinear", seed=None, fill_value=0.0, name=None):
        super().__init__(fill_mode, interpolation, seed, fill_value, name)
        self.height_factor = _factor_range(height_factor, "height_factor", "RandomZoom")
        self.width_factor = (None if width_factor is None else
                             _factor_range(width_factor, "width_factor", "RandomZoom"))
        if self.height_factor[0] <= -1 or (self.width_factor and self.width_factor[0] <= -1):
            raise ValueError("RandomZoom: factors must be greater than -1")

    def matrices(self, n, h, w):
        zy = 1 + self._rng.uniform(*self.height_factor, n)
        zx = zy if self.width_factor is None else 1 + self._rng.uniform(*self.width_factor, n)
        linear = np.zeros((n, 2, 2))
        linear[:, 0, 0], linear[:, 1, 1] = zy, zx
        return _about_center(linear, h, w)

    def get_config(self):
        return {"height_factor": list(self.height_factor),
                "width_factor": None if self.width_factor is None else list(self.width_factor),
                **super().get_config()}


CONVOLUTIONAL_LAYERS = (Conv1D, Conv2D, MaxPooling1D, MaxPooling2D, AveragePooling1D,
                        AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D,
                        GlobalMaxPooling1D, GlobalMaxPooling2D, ZeroPadding2D, Reshape)
AUGMENTATION_LAYERS = (RandomFlip, RandomTranslation, RandomRotation, RandomZoom,
                       GaussianNoise, GaussianDropout)
LAYERS.update({cls.__name__: cls for cls in CONVOLUTIONAL_LAYERS + AUGMENTATION_LAYERS})
__all__ += [cls.__name__ for cls in CONVOLUTIONAL_LAYERS + AUGMENTATION_LAYERS]


# --------------------------------------------------------------------------------------
# recurrent networks (Elman 1990; Hochreiter & Schmidhuber 1997; Cho et al. 2014): the
# layers live in nnlearn.recurrent, their fused BPTT ops in nnlearn.autograd.recurrent
# --------------------------------------------------------------------------------------
from .recurrent import (GRU, LSTM, RECURRENT_LAYERS, Bidirectional, Embedding,  # noqa: E402,F401
                        SimpleRNN, TimeDistributed)

LAYERS.update({cls.__name__: cls for cls in RECURRENT_LAYERS})
__all__ += [cls.__name__ for cls in RECURRENT_LAYERS]


# --------------------------------------------------------------------------------------
# merge layers (several inputs, one output) of functional models: nnlearn.merging
# --------------------------------------------------------------------------------------
from .merging import (MERGE_LAYERS, Add, Average, Concatenate, Dot, Maximum,  # noqa: E402,F401
                      Minimum, Multiply, Subtract)

LAYERS.update({cls.__name__: cls for cls in MERGE_LAYERS})
__all__ += [cls.__name__ for cls in MERGE_LAYERS]
