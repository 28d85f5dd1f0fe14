"""Convolutional networks (LeCun et al. 1989, 1998): convolutions in one and two dimensions,
max and average pooling, global pooling and zero padding. The ops and their gradients are
in :mod:`nnlearn.autograd.conv`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import activations, initializers, regularizers
from .. import autograd as ag
from ..config_schema import COUNT, SIZE, one_of
from ..autograd import Tensor
from .base import Layer, check_sample_rank


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


def _padded_values(input_shape: tuple, output_shape: tuple, padding: str, window: tuple,
                   dilation: tuple) -> int:
    """The values one sample takes in a convolution or pooling: its output, or with
    "same" or "causal" padding its padded input when larger (a large ``dilation_rate``
    or ``pool_size`` pads by that much)."""
    values = math.prod(output_shape)
    if padding != "valid" and len(input_shape) >= 2:
        padded = [n + (k - 1) * d for n, k, d in zip(input_shape[:-1], window, dilation)]
        values = max(values, math.prod(padded) * input_shape[-1])
    return values


class BaseConv(Layer):
    """The shared part of Conv1D and Conv2D (``rank`` spatial axes)."""

    rank = 2
    paddings = ("valid", "same")

    ARGUMENTS = {"filters": SIZE, "kernel_size": (SIZE, [SIZE]),
                 "strides": (None, SIZE, [SIZE]), "dilation_rate": (SIZE, [SIZE]), "groups": SIZE,
                 "padding": one_of(["valid", "same", "causal"])}

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
        check_sample_rank(input_shape, self.rank + 1, layer,
                     "(steps, channels)" if self.rank == 1 else "(height, width, channels)")
        from ..autograd.conv import output_length

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

    def values_per_sample(self, input_shape, output_shape):
        return _padded_values(tuple(input_shape), tuple(output_shape), self.padding,
                              self.kernel_size, self.dilation_rate)

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


class Conv2D(BaseConv):
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


class Conv1D(BaseConv):
    """A 1-D convolution layer on sequences (steps, channels), with a kernel
    (kernel_size, channels / groups, filters): Keras's Conv1D.  ``padding="causal"``
    left-pads dilation_rate (kernel_size - 1) zeros, so step t sees steps <= t only
    (WaveNet, van den Oord et al. 2016); with dilation rates 1, 2, 4, ... stacked causal
    layers see an exponentially long past (Yu & Koltun 2016)."""

    rank = 1
    paddings = ("valid", "same", "causal")


class BasePooling(Layer):
    rank = 2
    _op = ""

    ARGUMENTS = {"pool_size": (SIZE, [SIZE]), "strides": (None, SIZE, [SIZE]),
                 "padding": one_of(["valid", "same"])}

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
        check_sample_rank(input_shape, self.rank + 1, layer,
                     "(steps, channels)" if self.rank == 1 else "(height, width, channels)")
        from ..autograd.conv import output_length

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

    def values_per_sample(self, input_shape, output_shape):
        return _padded_values(tuple(input_shape), tuple(output_shape), self.padding,
                              self.pool_size, (1,) * len(self.pool_size))

    def get_config(self):
        return {"pool_size": list(self.pool_size),
                "strides": list(self.strides) if self._strides_given else None,
                "padding": self.padding, **super().get_config()}


class MaxPooling2D(BasePooling):
    """The maximum of each pool_size window (strides default to pool_size), channel by
    channel (Keras's MaxPooling2D)."""

    _op = "max_pool2d"

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 name: str | None = None):
        super().__init__(pool_size, strides, padding, name)


class AveragePooling2D(BasePooling):
    """The mean of each pool_size window (with "same", of its unpadded part)."""

    _op = "avg_pool2d"

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 name: str | None = None):
        super().__init__(pool_size, strides, padding, name)


class MaxPooling1D(BasePooling):
    """Max pooling along the steps of sequences (steps, channels)."""

    rank = 1
    _op = "max_pool1d"


class AveragePooling1D(BasePooling):
    """Average pooling along the steps of sequences (steps, channels)."""

    rank = 1
    _op = "avg_pool1d"


class BaseGlobalPooling(Layer):
    rank = 2
    _reduce = None

    def compute_output_shape(self, input_shape):
        check_sample_rank(input_shape, self.rank + 1, type(self).__name__,
                     "(steps, channels)" if self.rank == 1 else "(height, width, channels)")
        return (input_shape[-1],)

    def call(self, x, training=False):
        return type(self)._reduce(x, axis=tuple(range(1, self.rank + 1)))


class GlobalAveragePooling2D(BaseGlobalPooling):
    """The mean of each channel over the image: (height, width, channels) -> (channels,)
    (Lin et al. 2013's global average pooling)."""

    _reduce = ag.mean


class GlobalAveragePooling1D(BaseGlobalPooling):
    """The mean of each channel over the steps: (steps, channels) -> (channels,)."""

    rank = 1
    _reduce = ag.mean


class GlobalMaxPooling2D(BaseGlobalPooling):
    """The maximum of each channel over the image: (height, width, channels) ->
    (channels,)."""

    _reduce = ag.max


class GlobalMaxPooling1D(BaseGlobalPooling):
    """The maximum of each channel over the steps: (steps, channels) -> (channels,)."""

    rank = 1
    _reduce = ag.max


class ZeroPadding2D(Layer):
    """Zeros around each image: ``padding`` is an int, (rows, cols) or
    ((top, bottom), (left, right)), as in Keras."""

    ARGUMENTS = {"padding": (COUNT, [(COUNT, [COUNT])])}

    def __init__(self, padding=(1, 1), name: str | None = None):
        super().__init__(name)
        from ..autograd.conv import zero_pads

        self.pads = zero_pads(padding)
        self.padding = padding

    def compute_output_shape(self, input_shape):
        check_sample_rank(input_shape, 3, "ZeroPadding2D", "(height, width, channels)")
        (t, b), (left, r) = self.pads
        return (input_shape[0] + t + b, input_shape[1] + left + r, input_shape[2])

    def call(self, x, training=False):
        return ag.zero_pad2d(x, self.pads)

    def get_config(self):
        return {"padding": [list(p) for p in self.pads], **super().get_config()}
