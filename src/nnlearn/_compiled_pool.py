"""The numba loop of max pooling's gradient (:func:`nnlearn.autograd.conv.max_pool2d`),
imported when it first runs: importing this module imports numba.

NumPy makes the gradient in ph * pw passes over strided slices whose contiguous runs are
one pixel's channels (six numbers after a first LeNet layer), so it pays its per-run
overhead on every few numbers; this loop visits each window once.  It is compiled once
per window size and strides, which are then constants numba unrolls (with them as
arguments the loop ran about twice as slowly).
"""

from __future__ import annotations

import functools

import numba


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
        for b in range(n):
            for i in range(oh):
                for j in range(ow):
                    for k in range(c):
                        top, rest = out[b, i, j, k], g[b, i, j, k]
                        for a in range(ph):
                            for e in range(pw):
                                if xp[b, i * sh + a, j * sw + e, k] == top:
                                    dxp[b, i * sh + a, j * sw + e, k] = rest
                                    rest = zero            # later ties get nothing
                                else:
                                    dxp[b, i * sh + a, j * sw + e, k] = zero

    return loop
