"""The core layers: the fully connected layer (Rosenblatt 1958's weighted sum, in matrix
form), an activation on its own, PReLU (He et al. 2015) and the shape layers Flatten and
Reshape.
"""

from __future__ import annotations

import math

import numpy as np

from .. import activations, initializers, regularizers
from .. import autograd as ag
from ..config_schema import INITIALIZER, SIZE, integer
from ..autograd import Tensor
from .base import Layer


class Dense(Layer):
    r"""A fully connected layer (Rosenblatt 1958; Rumelhart, Hinton & Williams 1986):

    $$
    h = g(x W + b), \qquad h_k = g\Big(b_k + \sum_i x_i W_{ik}\Big),
    $$

    rows of $x$ being samples, with kernel $W$ of shape (n_in, units) and bias $b$ of shape
    (units,).  Samples with more than one axis, as Keras does, are mapped along their last
    axis (shape (..., n_in) -> (..., units)): the same neurons applied at every position,
    e.g. every time step of a sequence.  ``kernel_regularizer`` adds its penalty on the
    kernel (never the bias) to the loss.  With any element-wise activation of
    `nnlearn.activations` the layer is one node of the engine (`nnlearn.autograd.dense`).

    Parameters
    ----------
    units : int
        The number of neurons (outputs per sample).
    activation : str or callable, optional
        An activation of `nnlearn.activations` by name (e.g. "relu"), or a function of a
        Tensor; None is the identity (a linear layer).
    use_bias : bool, default=True
        Whether the layer adds a learned bias $b$.
    kernel_initializer : str or initializer, default="glorot_uniform"
        How the kernel is drawn (`nnlearn.initializers`; Glorot & Bengio 2010's uniform by
        default).
    bias_initializer : str or initializer, default="zeros"
        How the bias starts.
    kernel_regularizer : regularizer, optional
        A penalty on the kernel added to the loss (`nnlearn.regularizers`, e.g.
        ``L2(1e-4)``, $\lambda \lVert W\rVert^2$); never on the bias.
    input_dim : int, optional
        The number of input features, Keras 2's shortcut for an ``Input`` layer before
        this one.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    ARGUMENTS = {"units": SIZE, "input_dim": (None, SIZE)}

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
        from ..lowering.dense_step import activation_code  # the compiled step's own table of codes

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
        """$z = x W + b$, the input of the activation (the logits of an
        output layer)."""
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
    """Applies an activation function $h = g(z)$ by name.

    Parameters
    ----------
    activation : str or callable
        An activation of `nnlearn.activations` (e.g. "tanh") or a function of a Tensor.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    def __init__(self, activation, name: str | None = None):
        super().__init__(name)
        self.activation = activations.get(activation)

    def call(self, x, training=False):
        return self.activation(x)

    def get_config(self):
        return {"activation": activations.serialize(self.activation), **super().get_config()}


class Flatten(Layer):
    """Reshapes each sample to a vector (e.g. 28x28 images to 784 features).

    Parameters
    ----------
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    def compute_output_shape(self, input_shape):
        return (math.prod(input_shape),)

    def call(self, x, training=False):
        return x.reshape(x.shape[0], -1)


class PReLU(Layer):
    """Parametric ReLU (He et al. 2015): $h = z$ for $z > 0$, $h = a z$ otherwise, with
    one learnable slope $a$ per unit (initialised to 0, as in Keras).

    Parameters
    ----------
    alpha_initializer : str or initializer, default="zeros"
        How the slopes $a$ start.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    ARGUMENTS = {"alpha_initializer": INITIALIZER}

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


class Reshape(Layer):
    """Reshapes each sample, e.g. 784 features to (28, 28, 1) images.

    Parameters
    ----------
    target_shape : int or tuple of int
        The shape of each output sample; one entry may be -1 (inferred from the size).
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    ARGUMENTS = {"target_shape": [integer(-1, description="a positive integer or -1")]}

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
