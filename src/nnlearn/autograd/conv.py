r"""Convolution and pooling ops (channels-last, as Keras), each with its VJP beside it.

Shapes follow Keras: images are ``(batch, height, width, channels)`` (NHWC), sequences
``(batch, steps, channels)``; a 2-D kernel is ``(kh, kw, in_channels / groups, filters)``
(HWIO), a 1-D one ``(k, in_channels / groups, filters)``.  ``padding="same"`` pads as
TensorFlow does: the output has ``ceil(n / stride)`` positions and the padding is split
with the extra row or column at the end; ``"causal"`` (1-D only) pads ``dilation (k - 1)``
steps on the left, so that output t sees inputs up to t only (van den Oord et al. 2016).

The convolution (a cross-correlation, as in every deep-learning library; LeCun et al.
1989) is im2col (unfolding, Chellapilla et al. 2006): the padded input is copied once as
``(channels, batch, height, width)`` and each of the kh * kw kernel taps copies its
strided slice into a ``(kh kw channels, positions)`` column matrix (the same copies in
one compiled loop on the numba backend of :mod:`nnlearn.lowering.loops`), to which a row of
ones is appended when there is a bias (the bias is then the kernel's last row, and its
gradient comes out of the same product).  Forward, $\partial L/\partial K$ and
$\partial L/\partial x$ are one matrix product each (per group):

$$
\text{out} = C^\top K, \qquad \frac{\partial L}{\partial K} = C g, \qquad
\frac{\partial L}{\partial C} = K g^\top
$$

with $C$ the column matrix ``cols``, ``out`` and $g$ as (positions, filters) matrices,
and col2im adds $\partial L/\partial C$ back tap
by tap (kh * kw adds of strided slices; with the batch innermost, a compiled loop on the
numba backend of :mod:`nnlearn.lowering.loops` adds the same numbers in the same order).
Three BLAS calls per layer and step, where the first version made kh * kw + 2: on a
shared 2-core machine each call costs OpenBLAS a thread handshake (``bench/cnn.py``
measures it).

The copy's memory order decides the order of the positions.  With several channels
per group it stores the batch innermost, ``(channels, height, width, batch)`` as
cuda-convnet does (Krizhevsky et al. 2012), so that a tap copies runs of
``out_width * batch`` contiguous numbers; the (positions, filters) product is then in
``(height, width, batch)`` order and is moved to NHWC with the filters kept as
contiguous runs (and g back the same way).  With one channel per group (a first layer
on grey images, a depthwise convolution) it stores ``(channels, batch, height, width)``:
the runs are ``out_width`` long, but the positions are in NHWC order, so the product is
the output itself and ``g`` is used as it is (moving six-filter runs costs more than
the shorter copies).  Such a layer has few filters (six in LeNet), and a product with
six columns runs at half the speed of one with 24, so with one channel and one group t
neighbouring output columns are taken as one position (t the largest divisor of the
output width with t filters <= 24): the kernel becomes the (kh, span, 1, t filters)
``Wb[a, q s_w + e d_w, 0, q f + k] = W[a, e, 0, k]`` (zeros elsewhere; span = (t - 1)
s_w + (kw - 1) d_w + 1), convolved with strides (s_h, t s_w), whose output is the
layer's in the same memory (dilation (d_h, 1)); dL/dW sums dL/dWb over the t copies.
``groups`` splits the channels into independent convolutions (Krizhevsky et al. 2012;
depthwise when groups == channels, Chollet 2017): the products become one stacked
``np.matmul`` over groups.
"""

from __future__ import annotations

import numpy as np

from . import ops
from .ops import constant, as_operand
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


def _check_padding(padding: str, op: str, allowed=_PADDINGS) -> str:
    if not isinstance(padding, str) or padding.lower() not in allowed:
        raise ValueError(f"{op}: padding must be {' or '.join(map(repr, allowed))}; got "
                         f"{padding!r}")
    return padding.lower()


def output_length(n: int, k: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Positions along one axis: ceil(n / stride) with "same" and "causal", else
    floor((n - effective_k) / stride) + 1 (0 when the window does not fit)."""
    if padding in ("same", "causal"):
        return -(-n // stride)
    effective = (k - 1) * dilation + 1
    return max((n - effective) // stride + 1, 0)


def same_pads(n: int, k: int, stride: int, dilation: int) -> tuple:
    """(before, after) padding of TensorFlow's "same": the extra one goes after."""
    effective = (k - 1) * dilation + 1
    total = max((-(-n // stride) - 1) * stride + effective - n, 0)
    return total // 2, total - total // 2


def _pads(shape_hw, kernel, strides, dilation, padding) -> tuple:
    if padding == "valid":
        return (0, 0), (0, 0)
    return tuple(same_pads(n, k, s, d) for n, k, s, d in zip(shape_hw, kernel, strides,
                                                              dilation))


def _pad(x: np.ndarray, pads, value=0.0) -> np.ndarray:
    if not any(a or b for a, b in pads):
        return x
    return np.pad(x, ((0, 0), *pads, (0, 0)), constant_values=value)


def _taps(kernel, strides, dilation, out_hw):
    """(a, e, rows, cols) for each kernel tap (a, e): the slices of the padded input that
    tap reads, ``rows = a d_h + s_h i`` for the output rows i (cols likewise)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, strides, dilation, out_hw
    for a in range(kh):
        for e in range(kw):
            yield (a, e, slice(a * dh, a * dh + (oh - 1) * sh + 1, sh),
                   slice(e * dw, e * dw + (ow - 1) * sw + 1, sw))


def _crop(dxp: np.ndarray, pads, shape) -> np.ndarray:
    (top, _), (left, _) = pads
    return dxp[:, top:top + shape[1], left:left + shape[2], :]


def _nhw_view(flat: np.ndarray, lead, nhw, batch_inner: bool) -> np.ndarray:
    """``flat`` (..., positions), its positions stored as (height, width, batch) when
    ``batch_inner`` else as (batch, height, width), seen as (*lead, batch, height, width).
    (Only axes are split and permuted: always a view, so writes reach ``flat``.)"""
    n, h, w = nhw
    if not batch_inner:
        return flat.reshape(*lead, n, h, w)
    k = len(lead)
    return flat.reshape(*lead, h, w, n).transpose(*range(k), k + 2, k, k + 1)


#: The most columns a blocked product has (t f <= this; see the module docstring).
_BLOCK_COLUMNS = 24


def _columns_per_block(cg: int, groups: int, filters: int, ow: int) -> int:
    """t, the output columns per block: the largest divisor of ``ow`` with
    t filters <= _BLOCK_COLUMNS, for one input channel and one group, else 1."""
    if cg != 1 or groups != 1:
        return 1
    return max(t for t in range(1, ow + 1)
               if ow % t == 0 and (t == 1 or t * filters <= _BLOCK_COLUMNS))


def _blocked_kernel(W: np.ndarray, t: int, sw: int, dw: int) -> np.ndarray:
    """The (kh, span, 1, t f) kernel of t neighbouring output columns, span = (t - 1) s_w
    + (kw - 1) d_w + 1: ``Wb[a, q s_w + e d_w, 0, q f + k] = W[a, e, 0, k]``, else 0."""
    kh, kw, _, f = W.shape
    Wb = np.zeros((kh, (t - 1) * sw + (kw - 1) * dw + 1, 1, t, f), W.dtype)
    for q in range(t):
        Wb[:, q * sw:q * sw + (kw - 1) * dw + 1:dw, :, q] = W
    return Wb.reshape(*Wb.shape[:3], t * f)


def _unblocked_gradient(gWb: np.ndarray, shape, t: int, sw: int, dw: int) -> np.ndarray:
    """dL/dW from dL/dWb of :func:`_blocked_kernel`: the sum over the t copies of W."""
    kh, kw, _, f = shape
    gWb = gWb.reshape(*gWb.shape[:3], t, f)
    gW = gWb[:, 0:(kw - 1) * dw + 1:dw, :, 0].copy()
    for q in range(1, t):
        gW += gWb[:, q * sw:q * sw + (kw - 1) * dw + 1:dw, :, q]
    return gW


def _col2im(dcols, x_shape, w_shape, G: int, pads, taps, strides, dilation, out_hw,
            batch_inner: bool):
    """The input's gradient (NHWC) from the columns' gradient ``dcols`` (G, K, P): each
    tap's columns added back where they were copied from (col2im; numba loops where the
    planner allows them), the padding cut off."""
    (n, h, wd, c), (kh, kw, cg, _) = x_shape, w_shape
    (top, bottom), (left, right) = pads
    hp, wp, (oh, ow) = h + top + bottom, wd + left + right, out_hw
    dflat = np.zeros((G, cg, n * hp * wp), dcols.dtype)
    dxt = _nhw_view(dflat, (G, cg), (n, hp, wp), batch_inner)
    if batch_inner and _compiled(dcols):
        from ..lowering._conv_loops import col2im

        col2im((kh, kw), strides, dilation)(dcols.reshape(G, kh, kw, cg, oh, ow, n),
                                            dflat.reshape(G, cg, hp, wp, n))
    else:
        columns_view = _nhw_view(dcols, (G, kh, kw, cg), (n, oh, ow), batch_inner)
        for a, e, rows, columns in taps:
            dxt[:, :, :, rows, columns] += columns_view[:, a, e]
    dxt = dxt.reshape(c, n, hp, wp)[:, :, top:top + h, left:left + wd]
    return np.ascontiguousarray(dxt.transpose(1, 2, 3, 0))


def _im2col(X, G: int, K: int, bias: bool, pads, taps, kernel, strides, dilation, out_hw,
            batch_inner: bool):
    """The columns of the convolution (G, K [+ a row of ones for the bias], P): the
    input padded by ``pads`` as (channels, batch, height, width), stored batch innermost
    (CHWN: a tap copies runs of ow * n numbers) unless a group has one channel (the
    products then give NHWC as it is: see the module docstring), each tap's values
    copied into its rows (one compiled pass where the planner allows the loops), the
    positions P in the memory order of the padded input."""
    n, h, wd, c = X.shape
    (kh, kw), (oh, ow), cg = kernel, out_hw, c // G
    (top, bottom), (left, right) = pads
    hp, wp, P = h + top + bottom, wd + left + right, n * out_hw[0] * out_hw[1]
    flat = np.zeros((c, n * hp * wp), X.dtype)
    xt = _nhw_view(flat, (c,), (n, hp, wp), batch_inner)
    xt[:, :, top:top + h, left:left + wd] = X.transpose(3, 0, 1, 2)
    # columns (G, K [+ a row of ones], P), the positions P in the memory order of xt
    matrix = np.empty((G, K + bias, P), X.dtype)
    matrix[:, K:] = 1
    if _compiled(X):   # one compiled pass over the taps (the same copies)
        from ..lowering._conv_loops import im2col

        spatial = (oh, ow, n) if batch_inner else (n, oh, ow)
        padded = (hp, wp, n) if batch_inner else (n, hp, wp)
        im2col((kh, kw), strides, dilation, batch_inner)(
            flat.reshape(G, cg, *padded), matrix[:, :K].reshape(G, kh, kw, cg, *spatial))
    else:
        xg = xt.reshape(G, cg, n, hp, wp)
        cols = _nhw_view(matrix[:, :K], (G, kh, kw, cg), (n, oh, ow), batch_inner)
        for a, e, rows, columns in taps:
            cols[:, a, e] = xg[:, :, :, rows, columns]
    return matrix


def _conv(x: Tensor, w: Tensor, bias, strides, pads, dilation, groups: int, op: str,
          out_hw) -> Tensor:
    """The convolution of NHWC ``x`` (already checked) with HWIO ``w``, the input padded by
    ``pads`` ((top, bottom), (left, right)): im2col with the bias as a row of ones
    (module docstring), one stacked product per pass over the ``groups`` groups; with one
    input channel, t output columns per block (:func:`_blocked_kernel`)."""
    X, W0 = x.data, w.data
    parents, B = (x, w), None
    if bias is not None:
        b = bias if isinstance(bias, Tensor) else constant(bias, W0.dtype)
        if b.shape != (W0.shape[3],):
            raise ValueError(f"{op}: bias must have shape ({W0.shape[3]},); got {b.shape}")
        parents, B = (x, w, b), b.data
    t = _columns_per_block(W0.shape[2], groups, W0.shape[3], out_hw[1])
    W, sw, dw = W0, strides[1], dilation[1]
    if t > 1:   # the convolution with the blocked kernel, t times fewer output columns
        W = _blocked_kernel(W0, t, sw, dw)
        B = None if B is None else np.tile(B, t)
        strides, dilation = (strides[0], t * strides[1]), (dilation[0], 1)
        out_hw = (out_hw[0], out_hw[1] // t)
    n, h, wd, c = X.shape
    kh, kw, cg, f = W.shape
    G, fg, (oh, ow) = groups, f // groups, out_hw
    (top, bottom), (left, right) = pads
    taps = list(_taps((kh, kw), strides, dilation, out_hw))
    P, K = n * oh * ow, kh * kw * cg
    # the kernel as one (kh kw cg, fg) matrix per group: filter j of group i is i fg + j
    Wg = W.reshape(kh, kw, cg, G, fg).transpose(3, 0, 1, 2, 4).reshape(G, K, fg)
    if B is not None:
        Wg = np.concatenate([Wg, B.reshape(G, 1, fg)], axis=1)
    dtype = np.result_type(X.dtype, Wg.dtype)
    # the padded input as (channels, batch, height, width), stored batch innermost
    # (CHWN: a tap copies runs of ow * n numbers) unless a group has one channel (the
    # products then give NHWC as it is: see the module docstring)
    batch_inner = cg > 1
    matrix = _im2col(X, G, K, B is not None, pads, taps, (kh, kw), strides, dilation,
                     out_hw, batch_inner)
    out = np.empty((n, oh, ow, f), dtype)
    if batch_inner:  # positions (oh, ow, n): move the batch axis out, channels stay runs
        out_p = np.matmul(matrix.transpose(0, 2, 1), Wg)
        out.reshape(n, oh * ow, G, fg)[...] = out_p.reshape(G, oh * ow, n, fg).transpose(
            2, 1, 0, 3)
    else:
        np.matmul(matrix.transpose(0, 2, 1), Wg, out=out.reshape(P, G, fg).transpose(1, 0, 2))

    def vjp(g):
        # g as (G, P, fg), its positions in the order of the columns
        if batch_inner:
            gp = np.ascontiguousarray(g.reshape(n, oh * ow, G, fg).transpose(2, 1, 0, 3))
            gp = gp.reshape(G, P, fg)
        else:
            gp = np.reshape(g, (P, G, fg)).transpose(1, 0, 2)
        gx = None
        if x.requires_grad:
            dcols = np.matmul(Wg[:, :K], gp.transpose(0, 2, 1))      # (G, K, P)
            gx = _col2im(dcols, X.shape, W.shape, G, pads, taps, strides, dilation, out_hw,
                         batch_inner)
        if not any(p.requires_grad for p in parents[1:]):
            return (gx, None, None)[:len(parents)]
        gwb = np.matmul(matrix, gp)                         # (G, K [+ 1], fg)
        gw = gwb[:, :K].reshape(G, kh, kw, cg, fg).transpose(1, 2, 3, 0, 4).reshape(W.shape)
        if t > 1:
            gw = _unblocked_gradient(gw, W0.shape, t, sw, dw)
        if len(parents) == 2:
            return gx, gw
        return gx, gw, gwb[:, K].reshape(t, f // t).sum(axis=0)

    return Tensor._make(out.reshape(n, oh, ow * t, f // t), parents, vjp, op)


def _check_groups(groups, c: int, cin: int, f: int, op: str) -> int:
    if not isinstance(groups, (int, np.integer)) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"{op}: groups must be a positive integer; got {groups!r}")
    groups = int(groups)
    if c % groups or f % groups:
        raise ValueError(f"{op}: groups must divide the input channels and the filters; "
                         f"got groups={groups} for {c} channels and {f} filters")
    if cin * groups != c:
        raise ValueError(f"{op}: the kernel expects {cin} input channels per group "
                         f"({cin * groups} in all with groups={groups}); x has {c}")
    return groups


def conv2d(x, kernel, bias=None, strides=1, padding="valid", dilation=1, groups=1) -> Tensor:
    r"""2-D convolution (cross-correlation; LeCun et al. 1989, 1998) of NHWC ``x`` with an
    HWIO ``kernel``, dilated by $d$ (Yu & Koltun 2016):

    $$
    \text{out}_{n,i,j,f} = b_f + \sum_{a, e, k}
    x^\text{pad}_{n,\; i s_h + a d_h,\; j s_w + e d_w,\; q(f) c_g + k}\, K_{a,e,k,f}
    $$

    where with ``groups`` G the C channels and F filters are split into G consecutive
    groups of cg = C / G and F / G and filter f sees only its group q(f) = f // (F / G)
    (G = C: a depthwise convolution, Chollet 2017).

    Parameters
    ----------
    x : Tensor of shape (batch, height, width, in_channels)
    kernel : Tensor of shape (kh, kw, in_channels / groups, filters)
    bias : Tensor of shape (filters,), optional
    strides, dilation : int or pair of ints
    padding : "valid" (no padding) or "same" (TensorFlow's: ceil(n / stride) outputs)
    groups : int dividing in_channels and filters
    """
    op = "conv2d"
    x = as_operand(x)
    w = kernel if isinstance(kernel, Tensor) else constant(kernel, x.dtype)
    if x.ndim != 4 or w.ndim != 4:
        raise ValueError(f"{op}: x must be (batch, height, width, channels) and kernel "
                         f"(kh, kw, in_channels, filters); got shapes {x.shape} and {w.shape}")
    n, h, wd, c = x.shape
    kh, kw, cin, cout = w.shape
    groups = _check_groups(groups, c, cin, cout, op)
    strides = _pair_of(strides, "strides", op)
    dilation = _pair_of(dilation, "dilation", op)
    padding = _check_padding(padding, op)
    oh = output_length(h, kh, strides[0], padding, dilation[0])
    ow = output_length(wd, kw, strides[1], padding, dilation[1])
    if oh < 1 or ow < 1:
        raise ValueError(f"{op}: the kernel ({kh}x{kw}, dilation {dilation}) does not fit "
                         f"in the {h}x{wd} input with padding 'valid'")
    pads = _pads((h, wd), (kh, kw), strides, dilation, padding)
    return _conv(x, w, bias, strides, pads, dilation, groups, op, (oh, ow))


def conv1d(x, kernel, bias=None, strides=1, padding="valid", dilation=1, groups=1) -> Tensor:
    """1-D convolution of ``x`` (batch, steps, channels) with ``kernel``
    (k, in_channels / groups, filters): :func:`conv2d` on a height of 1 (the reshapes are
    views).  ``padding="causal"`` pads ``dilation (k - 1)`` zeros on the left only, so
    ``out[t]`` depends on ``x[:t + 1]`` (WaveNet's causal convolution, van den Oord et al.
    2016; Keras's Conv1D(padding="causal"))."""
    op = "conv1d"
    x = as_operand(x)
    w = kernel if isinstance(kernel, Tensor) else constant(kernel, x.dtype)
    if x.ndim != 3 or w.ndim != 3:
        raise ValueError(f"{op}: x must be (batch, steps, channels) and kernel (k, "
                         f"in_channels, filters); got shapes {x.shape} and {w.shape}")
    n, steps, c = x.shape
    k, cin, cout = w.shape
    groups = _check_groups(groups, c, cin, cout, op)
    stride = _single(strides, "strides", op)
    rate = _single(dilation, "dilation", op)
    padding = _check_padding(padding, op, ("valid", "same", "causal"))
    length = output_length(steps, k, stride, padding, rate)
    if length < 1:
        raise ValueError(f"{op}: the kernel (size {k}, dilation {rate}) does not fit in "
                         f"the {steps} steps with padding 'valid'")
    if padding == "causal":
        pads = ((0, 0), (rate * (k - 1), 0))
    else:
        pads = _pads((1, steps), (1, k), (1, stride), (1, rate), padding)
    out = _conv(ops.reshape(x, (n, 1, steps, c)), ops.reshape(w, (1, k, cin, cout)), bias,
                (1, stride), pads, (1, rate), groups, op, (1, length))
    return ops.reshape(out, (n, length, cout))


def _pool_setup(x, pool_size, strides, padding, op):
    x = as_operand(x)
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


def _compiled(*arrays) -> bool:
    """Whether a numba loop takes these arrays: the convolution loops switched on
    (:func:`nnlearn.lowering.switches.conv_loops_enabled`), and one dtype, float32 or float64."""
    from ..lowering.switches import conv_loops_enabled

    dtype = arrays[0].dtype
    return (dtype in (np.float32, np.float64) and all(a.dtype == dtype for a in arrays)
            and conv_loops_enabled())


def max_pool2d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    r"""The maximum of each (ph, pw) window of NHWC ``x`` (strides default to pool_size,
    as in Keras; "same" padding never wins a maximum):

    $$
    \text{out}_{n,i,j,c} = \max_{a < p_h,\; e < p_w}
    x^\text{pad}_{n,\; i s_h + a,\; j s_w + e,\; c}
    $$

    computed as a running ``np.maximum`` over the ph * pw taps' strided slices, or on
    the numba backend of :mod:`nnlearn.lowering.loops` in one compiled loop
    (nnlearn.lowering._conv_loops).  The gradient goes to the first maximal element of each
    window in (a, e) order (as PyTorch's and TensorFlow's do): the taps are visited in
    that order and a window stops taking gradient once one tap has equalled its maximum.
    With disjoint windows on the numba backend one compiled loop does it, a row of
    windows at a time along the input's memory (and, when the windows tile the input,
    without zeroing the gradient first: the loop writes every element)."""
    x, pool, strides, pads, out_hw = _pool_setup(x, pool_size, strides, padding,
                                                 "max_pool2d")
    X = x.data
    xp = _pad(X, pads, -np.inf)
    taps = [(rows, cols) for _, _, rows, cols in _taps(pool, strides, (1, 1), out_hw)]
    if _compiled(xp):
        from ..lowering._conv_loops import max_pool

        out = np.empty((X.shape[0], *out_hw, X.shape[3]), X.dtype)
        max_pool(pool, strides)(xp, out)
    else:
        out = xp[:, taps[0][0], taps[0][1]].copy()
        for rows, cols in taps[1:]:
            np.maximum(out, xp[:, rows, cols], out=out)

    disjoint = all(s >= p for s, p in zip(strides, pool))  # each input in one window

    # windows that tile the padded input: the compiled loop writes every element of dxp
    tiling = strides == pool and all(o * s == n for o, s, n in zip(out_hw, strides,
                                                                    xp.shape[1:3]))

    def vjp(g):
        compiled = disjoint and _compiled(xp, g)
        dxp = (np.empty if compiled and tiling else np.zeros)(
            xp.shape, dtype=np.result_type(X.dtype, g.dtype))
        if compiled:
            from ..lowering._conv_loops import max_pool_gradient

            max_pool_gradient(pool, strides)(np.ascontiguousarray(xp), out,
                                             np.ascontiguousarray(g), dxp)
            return (_crop(dxp, pads, X.shape),)
        open_ = None                       # windows whose maximum is still to be found
        for t, (rows, cols) in enumerate(taps):
            first = xp[:, rows, cols] == out
            if open_ is None:
                open_ = ~first
            else:
                first &= open_
                if t < len(taps) - 1:
                    open_ ^= first
            if disjoint:   # (bool * float: several times faster than np.where)
                np.multiply(first, g, out=dxp[:, rows, cols])
            else:
                dxp[:, rows, cols] += first * g
        return (_crop(dxp, pads, X.shape),)

    return Tensor._make(out, (x,), vjp, "max_pool2d")


def avg_pool2d(x, pool_size=2, strides=None, padding="valid") -> Tensor:
    """The mean of each (ph, pw) window of NHWC ``x`` (strides default to pool_size), a
    sum over the taps' strided slices; with "same" padding the padded positions are left
    out of the mean (TensorFlow's rule).  The gradient shares g equally over the window."""
    x, pool, strides, pads, out_hw = _pool_setup(x, pool_size, strides, padding,
                                                 "avg_pool2d")
    X = x.data
    xp = _pad(X, pads)
    taps = [(rows, cols) for _, _, rows, cols in _taps(pool, strides, (1, 1), out_hw)]
    total = xp[:, taps[0][0], taps[0][1]].copy()
    for rows, cols in taps[1:]:
        total += xp[:, rows, cols]
    if any(a or b for a, b in pads):
        ones = _pad(np.ones((1, *X.shape[1:3], 1), X.dtype), pads)
        count = sum(ones[:, rows, cols] for rows, cols in taps)
    else:
        count = np.asarray(len(taps), X.dtype)
    out = (total / count).astype(X.dtype, copy=False)

    def vjp(g):
        share = g / count
        dxp = np.zeros(xp.shape, dtype=np.result_type(X.dtype, g.dtype))
        for rows, cols in taps:
            dxp[:, rows, cols] += share
        return (_crop(dxp, pads, X.shape),)

    return Tensor._make(out, (x,), vjp, "avg_pool2d")


def _pool1d(pool2d, x, pool_size, strides, padding, op) -> Tensor:
    x = as_operand(x)
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
    x = as_operand(x)
    if x.ndim != 4:
        raise ValueError(f"zero_pad2d: x must be (batch, height, width, channels); got "
                         f"shape {x.shape}")
    pads = zero_pads(padding)
    out = _pad(x.data, pads)
    if out is x.data:
        out = x.data.copy()
    return Tensor._make(out, (x,), lambda g: (_crop(g, pads, x.shape),), "zero_pad2d")


def zero_pads(padding) -> tuple:
    """``padding`` (an int, (rows, cols) or ((top, bottom), (left, right)), as Keras's
    ZeroPadding2D takes it) as ((top, bottom), (left, right)), checked."""

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

