"""Convolution and pooling ops (channels-last, as Keras), each with its VJP beside it.

Shapes follow Keras: images are ``(batch, height, width, channels)`` (NHWC), sequences
``(batch, steps, channels)``; a 2-D kernel is ``(kh, kw, in_channels, out_channels)``
(HWIO), a 1-D one ``(k, in_channels, out_channels)``.  ``padding="same"`` pads as
TensorFlow does: the output has ``ceil(n / stride)`` positions and the padding is split
with the extra row or column at the end.

The convolution (a cross-correlation, as in every deep-learning library) is im2col: the
padded input's windows, taken with :func:`numpy.lib.stride_tricks.sliding_window_view`
(a view, no copy), are copied once into a ``(positions, channels * kh * kw)`` matrix
and multiplied by the kernel as a ``(channels * kh * kw, filters)`` matrix: one BLAS
product.  ``bench/cnn.py --choice`` times it against a loop of kh * kw smaller
products on strided views: for LeNet's second layer (batch 64, 14x14x6 -> 10x10x16),
forward and backward take 3.0 ms against the loop's 4.7 ms (2 cores).  The input's
gradient is the loop's part: one product per kernel tap, added into place.  The
VJPs: ``dL/dkernel = cols^T g`` (a second product) and ``dL/dx``, the transpose of
im2col (col2im), as ``g kernel[a, e]^T`` added back tap by tap.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import ops
from .ops import _column_sum, _constant, _tensor
from .tensor import Tensor

__all__ = ["conv2d", "conv1d", "max_pool2d", "avg_pool2d", "max_pool1d", "avg_pool1d",
           "zero_pad2d"]

_PADDINGS = ("valid", "same")


def _pair_of(value, name: str, op: str) -> tuple:
    """(a, b) from an int or a pair of positive ints."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        value = (int(value), int(value))
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                  and v >= 1 for v in value):
        raise ValueError(f"{op}: {name} must be a positive integer or a pair of them; "
                         f"got {value!r}")
    return int(value[0]), int(value[1])


def _single(value, name: str, op: str) -> int:
    """A positive int from an int or a 1-tuple (Keras's 1-D arguments)."""
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return _pair_of(value, name, op)[0]


def _check_padding(padding: str, op: str) -> str:
    if not isinstance(padding, str) or padding.lower() not in _PADDINGS:
        raise ValueError(f"{op}: padding must be 'valid' or 'same'; got {padding!r}")
    return padding.lower()


def output_length(n: int, k: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Positions along one axis: ceil(n / stride) with "same", else
    floor((n - effective_k) / stride) + 1 (0 when the window does not fit)."""
    if padding == "same":
        return -(-n // stride)
    effective = (k - 1) * dilation + 1
    return max((n - effective) // stride + 1, 0)


def _same_pads(n: int, k: int, stride: int, dilation: int) -> tuple:
    """(before, after) padding of TensorFlow's "same": the extra one goes after."""
    effective = (k - 1) * dilation + 1
    total = max((-(-n // stride) - 1) * stride + effective - n, 0)
    return total // 2, total - total // 2


def _pads(shape_hw, kernel, strides, dilation, padding) -> tuple:
    if padding == "valid":
        return (0, 0), (0, 0)
    return tuple(_same_pads(n, k, s, d) for n, k, s, d in zip(shape_hw, kernel, strides,
                                                              dilation))


def _pad(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    if not any(a or b for a, b in pads):
        return x
    return np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)


def _windows(xp: np.ndarray, kernel, strides, dilation, out_hw) -> np.ndarray:
    """The view (n, oh, ow, c, kh, kw) of every window of the padded input."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilation
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    view = sliding_window_view(xp, (eh, ew), axis=(1, 2))
    oh, ow = out_hw
    return view[:, :(oh - 1) * sh + 1:sh, :(ow - 1) * sw + 1:sw, :, ::dh, ::dw]


def _scatter(dxp: np.ndarray, i0: int, j0: int, strides, out_hw, values) -> None:
    """dxp[:, i0 + sh * a, j0 + sw * b, :] += values[:, a, b, :] (one window offset)."""
    (sh, sw), (oh, ow) = strides, out_hw
    dxp[:, i0:i0 + (oh - 1) * sh + 1:sh, j0:j0 + (ow - 1) * sw + 1:sw, :] += values


def _crop(dxp: np.ndarray, pads, shape) -> np.ndarray:
    (top, _), (left, _) = pads
    return dxp[:, top:top + shape[1], left:left + shape[2], :]


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation=1) -> Tensor:
    """2-D convolution (cross-correlation) of NHWC ``x`` with an HWIO ``kernel``::

        out[n, i, j, f] = b[f] + sum_{a, c, k} x_pad[n, i s_h + a d_h, j s_w + c d_w, k]
                                               kernel[a, c, k, f]

    Parameters
    ----------
    x : Tensor of shape (batch, height, width, in_channels)
    kernel : Tensor of shape (kh, kw, in_channels, filters)
    bias : Tensor of shape (filters,), optional
    strides, dilation : int or pair of ints
    padding : "valid" (no padding) or "same" (TensorFlow's: ceil(n / stride) outputs)
    """
    op = "conv2d"
    x = _tensor(x)
    w = kernel if isinstance(kernel, Tensor) else _constant(kernel, x.dtype)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{op}: x must be (batch, height, width, channels) and kernel "
                         f"(kh, kw, in_channels, filters); got shapes {x.shape} and {w.shape}")
    n, h, wd, c = x.shape
    kh, kw, cin, cout = w.shape
    if cin != c:
        raise ValueError(f"{op}: the kernel expects {cin} input channels; x has {c}")
    strides = _pair_of(strides, "strides", op)
    dilation = _pair_of(dilation, "dilation", op)
    padding = _check_padding(padding, op)
    kernel_hw = (kh, kw)
    oh = output_length(h, kh, strides[0], padding, dilation[0])
    ow = output_length(wd, kw, strides[1], padding, dilation[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: the kernel ({kh}x{kw}, dilation {dilation}) does not fit "
                         f"in the {h}x{wd} input with padding 'valid'")
    pads = _pads((h, wd), kernel_hw, strides, dilation, padding)
    X, W = x.data, w.data
    xp = _pad(X, pads)
    windows = _windows(xp, kernel_hw, strides, dilation, (oh, ow))  # (n, oh, ow, c, kh, kw)
    # the windows are copied in their own order (c, kh, kw), several times faster than
    # transposed to (kh, kw, c) when c is small: the kernel is transposed to match instead
    cols = np.ascontiguousarray(windows).reshape(n * oh * ow, c * kh * kw)
    W2 = W.transpose(2, 0, 1, 3).reshape(c * kh * kw, cout)
    out = np.dot(cols, W2)
    parents = (x, w)
    if bias is not None:
        b = bias if isinstance(bias, Tensor) else _constant(bias, out.dtype)
        if b.shape != (cout,):
            raise ValueError(f"{op}: bias must have shape ({cout},); got {b.shape}")
        out += b.data
        parents = (x, w, b)
    out = out.reshape(n, oh, ow, cout)

    def vjp(g):
        g2 = g.reshape(n * oh * ow, cout)
        gx = gw = None
        if x.requires_grad:
            # col2im offset by offset: g W[a, e]^T is a contiguous (positions, c) block,
            # added where that kernel tap read its input (faster than one product whose
            # result would be read back with a stride of kh * kw)
            dxp = np.zeros(xp.shape, dtype=np.result_type(X.dtype, g.dtype))
            for a in range(kh):
                for e in range(kw):
                    _scatter(dxp, a * dilation[0], e * dilation[1], strides, (oh, ow),
                             np.dot(g2, W[a, e].T).reshape(n, oh, ow, c))
            gx = _crop(dxp, pads, X.shape)
        if w.requires_grad:
            gw = np.dot(cols.T, g2).reshape(c, kh, kw, cout).transpose(1, 2, 0, 3)
        if len(parents) == 2:
            return gx, gw
        return gx, gw, (_column_sum(g2) if parents[2].requires_grad else None)

    return Tensor._make(out, parents, vjp, "conv2d")


def conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation=1) -> Tensor:
    """1-D convolution of ``x`` (batch, steps, channels) with ``kernel`` (k, in, filters):
    :func:`conv2d` on a height of 1 (the reshapes are views)."""
    x = _tensor(x)
    w = kernel if isinstance(kernel, Tensor) else _constant(kernel, x.dtype)
    if x.ndim != 3 or w.ndim != 3:
        raise ValueError(f"conv1d: x must be (batch, steps, channels) and kernel (k, "
                         f"in_channels, filters); got shapes {x.shape} and {w.shape}")
    stride = _single(strides, "strides", "conv1d")
    rate = _single(dilation, "dilation", "conv1d")
    out = conv2d(ops.reshape(x, (x.shape[0], 1, *x.shape[1:])),
                 ops.reshape(w, (1, *w.shape)), bias, (1, stride), padding, (1, rate))
    return ops.reshape(out, (out.shape[0], *out.shape[2:]))


def _pool_setup(x, pool_size, strides, padding, op):
    x = _tensor(x)
    if x.ndim != 4:
        raise ValueError(f"{op}: x must be (batch, height, width, channels); got shape "
                         f"{x.shape}")
    pool = _pair_of(pool_size, "pool_size", op)
    strides = pool if strides is None else _pair_of(strides, "strides", op)
    padding = _check_padding(padding, op)
    _, h, wd, _ = x.shape
    oh = output_length(h, pool[0], strides[0], padding)
    ow = output_length(wd, pool[1], strides[1], padding)
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: the pool ({pool[0]}x{pool[1]}) does not fit in the "
                         f"{h}x{wd} input with padding 'valid'")
    pads = _pads((h, wd), pool, strides, (1, 1), padding)
    return x, pool, strides, pads, (oh, ow)


def max_pool2d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """The maximum of each (ph, pw) window of NHWC ``x`` (strides default to pool_size,
    as in Keras; "same" padding never wins a maximum).  The gradient goes to the first
    maximal element of each window (as PyTorch's and TensorFlow's do)."""
    x, pool, strides, pads, out_hw = _pool_setup(x, pool_size, strides, padding,
                                                 "max_pool2d")
    X = x.data
    xp = _pad(X, pads, -np.inf)
    windows = _windows(xp, pool, strides, (1, 1), out_hw)  # (n, oh, ow, c, ph, pw)
    ph, pw = pool
    if ph * pw == 1:
        flat = windows.reshape(windows.shape[:4] + (1,))
    else:
        flat = windows.reshape(windows.shape[:4] + (ph * pw,))
    where = np.argmax(flat, axis=-1)
    out = np.take_along_axis(flat, where[..., None], axis=-1)[..., 0]

    tiled = strides == pool and all(m * k == n for m, k, n in zip(out_hw, pool, xp.shape[1:3]))

    def vjp(g):
        if tiled:  # windows tile the input: one vectorised scatter
            onehot = (where[..., None] == np.arange(ph * pw)) * g[..., None].astype(
                np.result_type(X.dtype, g.dtype), copy=False)
            n, oh, ow, c = g.shape
            dxp = onehot.reshape(n, oh, ow, c, ph, pw).transpose(0, 1, 4, 2, 5, 3).reshape(
                xp.shape)
            return (_crop(dxp, pads, X.shape),)
        dxp = np.zeros(xp.shape, dtype=np.result_type(X.dtype, g.dtype))
        for a in range(ph):
            for e in range(pw):
                _scatter(dxp, a, e, strides, out_hw, np.where(where == a * pw + e, g, 0))
        return (_crop(dxp, pads, X.shape),)

    return Tensor._make(out, (x,), vjp, "max_pool2d")


def avg_pool2d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """The mean of each (ph, pw) window of NHWC ``x`` (strides default to pool_size); with
    "same" padding the padded positions are left out of the mean (TensorFlow's rule)."""
    x, pool, strides, pads, out_hw = _pool_setup(x, pool_size, strides, padding,
                                                 "avg_pool2d")
    X = x.data
    xp = _pad(X, pads)
    windows = _windows(xp, pool, strides, (1, 1), out_hw)
    ph, pw = pool
    total = windows.sum(axis=(-2, -1))
    if any(a or b for a, b in pads):
        ones = _pad(np.ones((1, *X.shape[1:3], 1), X.dtype), pads)
        count = _windows(ones, pool, strides, (1, 1), out_hw).sum(axis=(-2, -1))
    else:
        count = np.asarray(ph * pw, X.dtype)
    out = (total / count).astype(X.dtype, copy=False)

    def vjp(g):
        share = g / count
        dxp = np.zeros(xp.shape, dtype=np.result_type(X.dtype, g.dtype))
        for a in range(ph):
            for e in range(pw):
                _scatter(dxp, a, e, strides, out_hw, share)
        return (_crop(dxp, pads, X.shape),)

    return Tensor._make(out, (x,), vjp, "avg_pool2d")


def _pool1d(pool2d, x, pool_size, strides, padding, op) -> Tensor:
    x = _tensor(x)
    if x.ndim != 3:
        raise ValueError(f"{op}: x must be (batch, steps, channels); got shape {x.shape}")
    size = _single(pool_size, "pool_size", op)
    stride = size if strides is None else _single(strides, "strides", op)
    out = pool2d(ops.reshape(x, (x.shape[0], 1, *x.shape[1:])), (1, size), (1, stride),
                 padding)
    return ops.reshape(out, (out.shape[0], *out.shape[2:]))


def max_pool1d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """:func:`max_pool2d` along the steps of ``x`` (batch, steps, channels)."""
    return _pool1d(max_pool2d, x, pool_size, strides, padding, "max_pool1d")


def avg_pool1d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """:func:`avg_pool2d` along the steps of ``x`` (batch, steps, channels)."""
    return _pool1d(avg_pool2d, x, pool_size, strides, padding, "avg_pool1d")


def zero_pad2d(x, padding=1) -> Tensor:
    """Zeros around NHWC images: ``padding`` is an int, (rows, cols) or
    ((top, bottom), (left, right)) as in Keras's ZeroPadding2D;  the gradient is the
    unpadded part."""
    x = _tensor(x)
    if x.ndim != 4:
        raise ValueError(f"zero_pad2d: x must be (batch, height, width, channels); got "
                         f"shape {x.shape}")
    pads = _zero_pads(padding)
    out = _pad(x.data, pads)
    if out is x.data:
        out = x.data.copy()
    return Tensor._make(out, (x,), lambda g: (_crop(g, pads, x.shape),), "zero_pad2d")


def _zero_pads(padding) -> tuple:
    def count(v):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
            raise ValueError(f"zero_pad2d: padding must be non-negative integers; got "
                             f"{padding!r}")
        return int(v)

    if isinstance(padding, (int, np.integer)) and not isinstance(padding, bool):
        p = count(padding)
        return (p, p), (p, p)
    padding = tuple(padding)
    if len(padding) != 2:
        raise ValueError(f"zero_pad2d: padding must be an int, 2 ints or 2 pairs; got "
                         f"{padding!r}")
    pairs = []
    for part in padding:
        if isinstance(part, (tuple, list)):
            if len(part) != 2:
                raise ValueError(f"zero_pad2d: padding must be an int, 2 ints or 2 pairs; "
                                 f"got {padding!r}")
            pairs.append((count(part[0]), count(part[1])))
        else:
            pairs.append((count(part), count(part)))
    return tuple(pairs)

