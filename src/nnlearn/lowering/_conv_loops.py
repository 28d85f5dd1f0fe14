"""The numba loops of :mod:`nnlearn.autograd.conv`, imported when one first runs:
importing this module imports numba.  Each is compiled once per window (or kernel)
size, strides and dilation, which are then constants numba unrolls (with them as
arguments the pooling loop ran about twice as slowly).

* max pooling and its gradient: NumPy makes them in ph * pw passes over strided slices whose
  contiguous runs are one pixel's channels (six numbers after a first LeNet layer), so
  it pays its per-run overhead on every few numbers; the loop visits each window once.
* im2col, the copying of each kernel tap's strided slice of the padded input into the
  column matrix (Chellapilla et al. 2006): NumPy makes kh * kw strided copies, each with
  its per-run overhead (a first LeNet layer in blocks of four columns copies runs of
  seven numbers four apart); the loop makes the same copies in one compiled pass, so the
  columns have the same bits.
* col2im, the adding back of the columns' gradient into the input's (Chellapilla et al.
  2006): NumPy's kh * kw adds of 7-D strided views cost about three times the loop, which
  adds the same numbers in the same (tap) order, so the sums have the same bits.
"""

from __future__ import annotations

import functools

import numba
import numpy as np


@functools.lru_cache(maxsize=None)
def max_pool(pool: tuple, strides: tuple):
    """``loop(xp, out)``: ``out[n, i, j, c] = max_{a < ph, e < pw} xp[n, i s_h + a,
    j s_w + e, c]``, a NaN in a window giving NaN (as ``np.maximum`` does).  Row i of the
    output is made tap by tap over its whole (width, channels) plane, which numba
    vectorizes."""
    (ph, pw), (sh, sw) = pool, strides

    @numba.njit(error_model="numpy")
    def loop(xp, out):
        n, oh, ow, c = out.shape
        for b in range(n):
            for i in range(oh):
                for a in range(ph):
                    for e in range(pw):
                        for j in range(ow):
                            for k in range(c):
                                v = xp[b, i * sh + a, j * sw + e, k]
                                if a + e == 0:
                                    out[b, i, j, k] = v
                                else:
                                    m = out[b, i, j, k]
                                    out[b, i, j, k] = v if v > m or v != v else m

    return loop


@functools.lru_cache(maxsize=None)
def max_pool_gradient(pool: tuple, strides: tuple):
    """``loop(xp, out, g, dxp)`` for disjoint windows (strides >= pool): for each window
    and channel, ``dxp`` at the window's first element equal to its maximum ``out`` (in
    (row, column) order) is set to ``g``, the window's other elements to 0.  Elements
    of ``dxp`` outside every window are left as they are (zeros from the caller)."""
    (ph, pw), (sh, sw) = pool, strides

    @numba.njit(error_model="numpy")
    def loop(xp, out, g, dxp):
        n, oh, ow, c = out.shape
        zero = g.dtype.type(0)
        rest = np.empty((ow, c), g.dtype)    # what each window of the row has still to give
        for b in range(n):
            for i in range(oh):
                for j in range(ow):
                    for k in range(c):
                        rest[j, k] = g[b, i, j, k]
                # row by row of the windows, along the input's memory (window by window
                # the taps are still visited in (a, e) order)
                for a in range(ph):
                    for j in range(ow):
                        for e in range(pw):
                            for k in range(c):
                                hit = xp[b, i * sh + a, j * sw + e, k] == out[b, i, j, k]
                                r = rest[j, k]
                                dxp[b, i * sh + a, j * sw + e, k] = r if hit else zero
                                rest[j, k] = zero if hit else r    # later ties get nothing

    return loop


@functools.lru_cache(maxsize=None)
def im2col(kernel: tuple, strides: tuple, dilation: tuple, batch_inner: bool):
    """``loop(xt, cols)``: each kernel tap's strided slice of the padded input ``xt``
    copied into the columns ``cols`` (im2col).  With ``batch_inner`` ``xt`` is (groups,
    cg, hp, wp, batch) and ``cols`` (groups, kh, kw, cg, oh, ow, batch)::

        cols[q, a, e, k, i, j, n] = xt[q, k, i s_h + a d_h, j s_w + e d_w, n]

    else the batch comes first, ``xt`` (groups, cg, batch, hp, wp) and ``cols`` (groups,
    kh, kw, cg, batch, oh, ow), with the same indices."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilation

    if batch_inner:
        @numba.njit(error_model="numpy")
        def loop(xt, cols):
            groups, _, _, cg, oh, ow, n = cols.shape
            for q in range(groups):
                for a in range(kh):
                    for e in range(kw):
                        for k in range(cg):
                            for i in range(oh):
                                for j in range(ow):
                                    for b in range(n):
                                        cols[q, a, e, k, i, j, b] = \
                                            xt[q, k, i * sh + a * dh, j * sw + e * dw, b]
    else:
        @numba.njit(error_model="numpy")
        def loop(xt, cols):
            groups, _, _, cg, n, oh, ow = cols.shape
            for q in range(groups):
                for a in range(kh):
                    for e in range(kw):
                        for k in range(cg):
                            for b in range(n):
                                for i in range(oh):
                                    for j in range(ow):
                                        cols[q, a, e, k, b, i, j] = \
                                            xt[q, k, b, i * sh + a * dh, j * sw + e * dw]

    return loop


@functools.lru_cache(maxsize=None)
def col2im(kernel: tuple, strides: tuple, dilation: tuple):
    """``loop(dcols, dxt)`` with the columns' gradient ``dcols`` as (groups, kh, kw, cg,
    oh, ow, batch) and the padded input's ``dxt`` as (groups, cg, hp, wp, batch), batch
    innermost::

        dxt[q, k, i s_h + a d_h, j s_w + e d_w, n] += dcols[q, a, e, k, i, j, n]

    tap (a, e) after tap, as the NumPy path adds them."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilation

    @numba.njit(error_model="numpy")
    def loop(dcols, dxt):
        groups, _, _, cg, oh, ow, n = dcols.shape
        for q in range(groups):
            for a in range(kh):
                for e in range(kw):
                    for k in range(cg):
                        for i in range(oh):
                            for j in range(ow):
                                for b in range(n):
                                    dxt[q, k, i * sh + a * dh, j * sw + e * dw, b] += \
                                        dcols[q, a, e, k, i, j, b]

    return loop
