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
    r"""A 2-D convolution layer (LeCun et al. 1998; Keras's Conv2D, channels-last) on
    images (height, width, channels), with a kernel $K$ of shape (kh, kw, channels / groups,
    filters) shared by every position:

    $$
    z_{i,j,f} = b_f + \sum_{u,v,c} x_{s i + d u,\; s j + d v,\; c}\, K_{u,v,c,f},
    \qquad h = g(z),
    $$

    with stride $s$ and dilation $d$ (the cross-correlation that deep-learning libraries
    call convolution).  Glorot's initialisation counts
    $\text{fan}_\text{in} = k_h k_w\, \text{channels} / \text{groups}$ and
    $\text{fan}_\text{out} = k_h k_w\, \text{filters}$.

    Parameters
    ----------
    filters : int
        The number of filters $F$ (output channels).
    kernel_size : int or tuple of 2 int
        The window (kh, kw) of each filter.
    strides : int or tuple of 2 int, default=(1, 1)
        The step $s$ between windows.
    padding : {"valid", "same"}, default="valid"
        "valid": only whole windows, $\lfloor (n - d (k - 1) - 1) / s\rfloor + 1$
        positions; "same": zeros around the input so that $\lceil n / s\rceil$ positions
        remain.
    dilation_rate : int or tuple of 2 int, default=(1, 1)
        The spacing $d$ of the kernel's taps (Yu & Koltun 2016).
    groups : int, default=1
        Independent convolutions over that many slices of the channels (the channels and
        ``filters`` must be multiples of it); ``groups`` = channels is a depthwise
        convolution (Chollet 2017).
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
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    rank = 2

    def __init__(self, filters: int, kernel_size, strides=(1, 1), padding: str = "valid",
                 dilation_rate=(1, 1), groups: int = 1, activation=None,
                 use_bias: bool = True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, name: str | None = None):
        super().__init__(filters, kernel_size, strides, padding, dilation_rate, groups,
                         activation, use_bias, kernel_initializer, bias_initializer,
                         kernel_regularizer, name)


class Conv1D(BaseConv):
    r"""A 1-D convolution layer on sequences (steps, channels), with a kernel of shape
    (kernel_size, channels / groups, filters): Keras's Conv1D,

    $$
    z_{t,f} = b_f + \sum_{u,c} x_{s t + d u,\; c}\, K_{u,c,f}, \qquad h = g(z).
    $$

    ``padding="causal"`` left-pads $d (k - 1)$ zeros, so step $t$ sees steps $\le t$ only
    (WaveNet, van den Oord et al. 2016); with dilation rates 1, 2, 4, ... stacked causal
    layers see an exponentially long past (Yu & Koltun 2016).

    Parameters
    ----------
    filters : int
        The number of filters $F$ (output channels).
    kernel_size : int or tuple of 1 int
        The window length k of each filter.
    strides : int or tuple of 1 int, default=1
        The step $s$ between windows.
    padding : {"valid", "same", "causal"}, default="valid"
        "valid": only whole windows, $\lfloor (n - d (k - 1) - 1) / s\rfloor + 1$
        positions; "same": zeros around the input so that $\lceil n / s\rceil$ positions
        remain; "causal": zeros on the left only, so step $t$ sees steps $\le t$.
    dilation_rate : int or tuple of 1 int, default=1
        The spacing $d$ of the kernel's taps (Yu & Koltun 2016).
    groups : int, default=1
        Independent convolutions over that many slices of the channels (the channels and
        ``filters`` must be multiples of it); ``groups`` = channels is a depthwise
        convolution (Chollet 2017).
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
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

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
    r"""The maximum of each window, channel by channel (Keras's MaxPooling2D):
    $y_{i,j,c} = \max_{u,v} x_{s i + u,\, s j + v,\, c}$ (Zhou & Chellappa 1988; Ranzato
    et al. 2007).

    Parameters
    ----------
    pool_size : int or tuple of 2 int, default=(2, 2)
        The window's size.
    strides : int or tuple of 2 int, optional
        The step between windows; None is ``pool_size`` (windows side by side).
    padding : {"valid", "same"}, default="valid"
        "valid": only whole windows; "same": $\lceil n / s\rceil$ windows, the edge ones
        over the unpadded part.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    _op = "max_pool2d"

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 name: str | None = None):
        super().__init__(pool_size, strides, padding, name)


class AveragePooling2D(BasePooling):
    r"""The mean of each window, channel by channel: $y_{i,j,c} =
    \frac{1}{|P|} \sum_{(u,v) \in P} x_{s i + u,\, s j + v,\, c}$ (with "same", $P$ is the
    window's unpadded part; LeCun et al. 1998's subsampling).

    Parameters
    ----------
    pool_size : int or tuple of 2 int, default=(2, 2)
        The window's size.
    strides : int or tuple of 2 int, optional
        The step between windows; None is ``pool_size`` (windows side by side).
    padding : {"valid", "same"}, default="valid"
        "valid": only whole windows; "same": $\lceil n / s\rceil$ windows, the edge ones
        over the unpadded part.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    _op = "avg_pool2d"

    def __init__(self, pool_size=(2, 2), strides=None, padding: str = "valid",
                 name: str | None = None):
        super().__init__(pool_size, strides, padding, name)


class MaxPooling1D(BasePooling):
    r"""Max pooling along the steps of sequences (steps, channels):
    $y_{t,c} = \max_u x_{s t + u,\, c}$.

    Parameters
    ----------
    pool_size : int or tuple of 1 int, default=2
        The window's size.
    strides : int or tuple of 1 int, optional
        The step between windows; None is ``pool_size`` (windows side by side).
    padding : {"valid", "same"}, default="valid"
        "valid": only whole windows; "same": $\lceil n / s\rceil$ windows, the edge ones
        over the unpadded part.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    rank = 1
    _op = "max_pool1d"


class AveragePooling1D(BasePooling):
    r"""Average pooling along the steps of sequences (steps, channels):
    $y_{t,c} = \frac{1}{|P|} \sum_{u \in P} x_{s t + u,\, c}$.

    Parameters
    ----------
    pool_size : int or tuple of 1 int, default=2
        The window's size.
    strides : int or tuple of 1 int, optional
        The step between windows; None is ``pool_size`` (windows side by side).
    padding : {"valid", "same"}, default="valid"
        "valid": only whole windows; "same": $\lceil n / s\rceil$ windows, the edge ones
        over the unpadded part.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

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
    r"""The mean of each channel over the image, $y_c = \frac{1}{HW}
    \sum_{i,j} x_{i,j,c}$: (height, width, channels) -> (channels,) (Lin, Chen & Yan 2014's
    global average pooling).

    Parameters
    ----------
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    _reduce = ag.mean


class GlobalAveragePooling1D(BaseGlobalPooling):
    r"""The mean of each channel over the steps, $y_c = \frac1T \sum_t
    x_{t,c}$: (steps, channels) -> (channels,).

    Parameters
    ----------
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    rank = 1
    _reduce = ag.mean


class GlobalMaxPooling2D(BaseGlobalPooling):
    r"""The maximum of each channel over the image, $y_c = \max_{i,j}
    x_{i,j,c}$: (height, width, channels) -> (channels,).

    Parameters
    ----------
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    _reduce = ag.max


class GlobalMaxPooling1D(BaseGlobalPooling):
    r"""The maximum of each channel over the steps, $y_c = \max_t x_{t,c}$:
    (steps, channels) -> (channels,).

    Parameters
    ----------
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

    rank = 1
    _reduce = ag.max


class ZeroPadding2D(Layer):
    """Zeros around each image, as in Keras.

    Parameters
    ----------
    padding : int, (rows, cols) or ((top, bottom), (left, right)), default=(1, 1)
        The rows of zeros added above and below and the columns left and right.
    name : str, optional
        The layer's name (in ``summary()`` and model files); None gives a generated one."""

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
