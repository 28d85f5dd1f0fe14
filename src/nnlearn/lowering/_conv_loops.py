"""The numba loops of :mod:`nnlearn.autograd.conv`.  Each is compiled once per window (or
kernel) size, strides and dilation, which are then constants numba unrolls (with them as
arguments the pooling loop ran about twice as slowly): the loops below are written with
those constants as module-level names (``KH``, ``SW``, ...), and :func:`_compiled`
writes each one's source with the constants' values above it to nnlearn's one compile
cache (:func:`nnlearn.lowering.loops.compiled_module`), so that a new process loads the
machine code instead of compiling it again (LeNet's five loops took about 3 s to compile
in every process: nearly all of a first ``fit``'s time).

* max pooling and its gradient: NumPy makes them in ph * pw passes over strided slices whose
  contiguous runs are one pixel's channels (six numbers after a first LeNet layer), so
  it pays its per-run overhead on every few numbers; the loop visits each window once,
  and chooses without branching (a comparison's result selects or masks a value: on
  random data a branch per tap is mispredicted often enough to cost 2-4 times the loop).
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
import inspect

import numpy as np

#: the constants a loop is compiled with: each loop's template reads them as globals
KH = KW = SH = SW = DH = DW = PH = PW = 1


def _compiled(template, **constants):
    """``template`` compiled by numba with ``constants`` (``KH=5``, ...) bound as the
    module-level names it reads, through the kernel cache
    (:func:`nnlearn.lowering.loops.compiled_module`); the values are written into the
    source, so each set of constants has its own cached machine code."""
    from . import loops

    header = "".join(f"{name} = {int(value)}\n" for name, value in sorted(constants.items()))
    source = "import numpy as np\n\n" + header + "\n\n" + inspect.getsource(template)
    suffix = "_".join(f"{name}{int(value)}" for name, value in sorted(constants.items()))
    (loop,) = loops.compiled_module(f"nnlearn.lowering.conv_loops.{template.__name__}.{suffix}",
                                    source, {}, [], (template.__name__,))
    return loop


@functools.lru_cache(maxsize=None)
def max_pool(pool: tuple, strides: tuple):
    """``loop(xp, out)``: ``out[n, i, j, c] = max_{a < ph, e < pw} xp[n, i s_h + a,
    j s_w + e, c]``, a NaN in a window giving NaN (as ``np.maximum`` does).  Each window
    is reduced in registers, its taps unrolled (ph and pw are constants), and the choice
    of the larger is written without a short-circuit ``or`` so that it compiles to a
    select, not a branch (which random data mispredicts): 2-4 times faster than making
    each output row tap by tap, on LeNet's layers (``python bench/cnn.py --parts``)."""
    (ph, pw), (sh, sw) = pool, strides
    return _compiled(max_pool_loop, PH=ph, PW=pw, SH=sh, SW=sw)


def max_pool_loop(xp, out):
    """The loop of :func:`max_pool`."""
    n, oh, ow, c = out.shape
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for k in range(c):
                    m = xp[b, i * SH, j * SW, k]
                    for a in range(PH):
                        for e in range(PW):
                            if a + e > 0:
                                v = xp[b, i * SH + a, j * SW + e, k]
                                m = v if (v > m) | (v != v) else m   # NaN wins, as in np.maximum
                    out[b, i, j, k] = m


@functools.lru_cache(maxsize=None)
def max_pool_gradient(pool: tuple, strides: tuple):
    """``gradient(xp, out, g, dxp)`` for disjoint windows (strides >= pool): for each
    window and channel, ``dxp`` at the window's first element equal to its maximum
    ``out`` (in (row, column) order) is set to ``g``, the window's other elements to 0.
    Elements of ``dxp`` outside every window are left as they are (zeros from the
    caller).

    The loop moves ``g``'s bits: it sees ``g`` and ``dxp`` as unsigned integers of the
    same width and keeps or clears them with a mask made from the comparison
    (``r & -hit``), so a hit costs no branch (with ``r if hit else 0`` numba branched,
    and random data mispredicts a quarter of the taps: 2.5 times slower on a first LeNet
    layer's six channels).  At each window's first maximum the value written is ``g``'s
    own, NaN and -0 included; at its other elements +0 (NumPy's route writes ``False * g``
    there: -0 for a negative ``g``, NaN for a non-finite one)."""
    (ph, pw), (sh, sw) = pool, strides
    loop = _compiled(max_pool_gradient_loop, PH=ph, PW=pw, SH=sh, SW=sw)
    bits = {np.dtype(np.float32): np.uint32, np.dtype(np.float64): np.uint64}

    def gradient(xp, out, g, dxp):
        if dxp.dtype != g.dtype:   # the views below must have one width
            raise TypeError(f"max_pool_gradient: dxp has dtype {dxp.dtype}; expected "
                            f"{g.dtype}, g's")
        unsigned = bits[g.dtype]
        loop(xp, out, g.view(unsigned), dxp.view(unsigned))

    gradient.loop = loop    # the compiled loop itself (its numba dispatcher)
    return gradient


def max_pool_gradient_loop(xp, out, g, dxp):
    """The loop of :func:`max_pool_gradient` (``g`` and ``dxp`` as unsigned integers)."""
    n, oh, ow, c = out.shape
    rest = np.empty((ow, c), g.dtype)    # what each window of the row has still to give
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for k in range(c):
                    rest[j, k] = g[b, i, j, k]
            # row by row of the windows, along the input's memory (window by window
            # the taps are still visited in (a, e) order)
            for a in range(PH):
                for j in range(ow):
                    for e in range(PW):
                        for k in range(c):
                            hit = xp[b, i * SH + a, j * SW + e, k] == out[b, i, j, k]
                            keep = g.dtype.type(0) - g.dtype.type(hit)   # all ones on a hit
                            r = rest[j, k]
                            dxp[b, i * SH + a, j * SW + e, k] = r & keep
                            rest[j, k] = r & ~keep    # later ties get nothing


@functools.lru_cache(maxsize=None)
def im2col(kernel: tuple, strides: tuple, dilation: tuple, batch_inner: bool):
    """``loop(xt, cols)``: each kernel tap's strided slice of the padded input ``xt``
    copied into the columns ``cols`` (im2col).  With ``batch_inner`` ``xt`` is (groups,
    cg, hp, wp, batch) and ``cols`` (groups, kh, kw, cg, oh, ow, batch)::

        cols[q, a, e, k, i, j, n] = xt[q, k, i s_h + a d_h, j s_w + e d_w, n]

    else the batch comes first, ``xt`` (groups, cg, batch, hp, wp) and ``cols`` (groups,
    kh, kw, cg, batch, oh, ow), with the same indices."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilation
    return _compiled(im2col_batch_inner if batch_inner else im2col_batch_first,
                     KH=kh, KW=kw, SH=sh, SW=sw, DH=dh, DW=dw)


def im2col_batch_inner(xt, cols):
    """The loop of :func:`im2col` with the batch innermost."""
    groups, _, _, cg, oh, ow, n = cols.shape
    for q in range(groups):
        for a in range(KH):
            for e in range(KW):
                for k in range(cg):
                    for i in range(oh):
                        for j in range(ow):
                            for b in range(n):
                                cols[q, a, e, k, i, j, b] = \
                                    xt[q, k, i * SH + a * DH, j * SW + e * DW, b]


def im2col_batch_first(xt, cols):
    """The loop of :func:`im2col` with the batch first."""
    groups, _, _, cg, n, oh, ow = cols.shape
    for q in range(groups):
        for a in range(KH):
            for e in range(KW):
                for k in range(cg):
                    for b in range(n):
                        for i in range(oh):
                            for j in range(ow):
                                cols[q, a, e, k, b, i, j] = \
                                    xt[q, k, b, i * SH + a * DH, j * SW + e * DW]


@functools.lru_cache(maxsize=None)
def col2im(kernel: tuple, strides: tuple, dilation: tuple):
    """``loop(dcols, dxt)`` with the columns' gradient ``dcols`` as (groups, kh, kw, cg,
    oh, ow, batch) and the padded input's ``dxt`` as (groups, cg, hp, wp, batch), batch
    innermost::

        dxt[q, k, i s_h + a d_h, j s_w + e d_w, n] += dcols[q, a, e, k, i, j, n]

    tap (a, e) after tap, as the NumPy path adds them."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, strides, dilation
    return _compiled(col2im_loop, KH=kh, KW=kw, SH=sh, SW=sw, DH=dh, DW=dw)


def col2im_loop(dcols, dxt):
    """The loop of :func:`col2im`."""
    groups, _, _, cg, oh, ow, n = dcols.shape
    for q in range(groups):
        for a in range(KH):
            for e in range(KW):
                for k in range(cg):
                    for i in range(oh):
                        for j in range(ow):
                            for b in range(n):
                                dxt[q, k, i * SH + a * DH, j * SW + e * DW, b] += \
                                    dcols[q, a, e, k, i, j, b]
