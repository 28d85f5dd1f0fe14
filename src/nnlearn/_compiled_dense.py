"""The numba functions of :mod:`nnlearn.compiled` (imported when the first compiled step
runs: importing this module imports numba).  Compiled on first use and cached on disk
(numba's ``cache=True``), so a new process loads them instead of compiling again.

Numbers that must stay in the arrays' dtype arrive as arguments (``one``, ``c``): a
literal 1 next to a float32 value would make numba compute in float64.
"""

from __future__ import annotations

import numba
import numpy as np

_jit = numba.njit(error_model="numpy", cache=True)

LINEAR, RELU, SIGMOID, TANH = 0, 1, 2, 3        # activation codes (compiled.HIDDEN_ACTIVATIONS)
SOFTMAX, LOGISTIC, IDENTITY = 0, 1, 2           # link codes (compiled.LINKS)


@_jit
def sigmoid(v, one):
    """1 / (1 + e^-v), without overflow for large |v|."""
    if v >= 0:
        return one / (one + np.exp(-v))
    e = np.exp(v)
    return e / (one + e)


@_jit
def add_bias_and_activate(z, b, code, one):
    """z <- g(z + b) in place."""
    n, k = z.shape
    zero = one - one
    for i in range(n):
        for j in range(k):
            v = z[i, j] + b[j]
            if code == RELU:
                v = zero if v < zero else v           # NaN stays NaN, as np.maximum
            elif code == SIGMOID:
                v = sigmoid(v, one)
            elif code == TANH:
                v = np.tanh(v)
            z[i, j] = v


@_jit
def times_derivative(delta, h, code, one):
    """delta <- delta * g'(z), with g' read from the output h = g(z): 1 where h > 0
    (relu), h (1 - h) (sigmoid), 1 - h^2 (tanh)."""
    if code == LINEAR:
        return
    n, k = delta.shape
    zero = one - one
    for i in range(n):
        for j in range(k):
            v = h[i, j]
            if code == RELU:
                delta[i, j] *= one if v > zero else zero   # NaN * 0 stays NaN
            elif code == SIGMOID:
                delta[i, j] *= v * (one - v)
            else:
                delta[i, j] *= one - v * v


@_jit
def loss_head(z, rows, labels, link, c, one, p, delta):
    """The sum of the per-element losses of the batch (in float64), with p = f(z) and
    delta = c (f(z) - t) (softmax: c (f(z) sum_k t_k - t)) written out.  Targets are
    ``labels`` (class indices) when it is not empty, else ``rows``."""
    n, k = z.shape
    zero = one - one
    total = 0.0
    for i in range(n):
        if link == SOFTMAX:                           # -sum_k t_k log softmax(z)_k
            m = z[i, 0]
            for j in range(1, k):
                m = max(m, z[i, j])
            s = zero
            for j in range(k):
                p[i, j] = np.exp(z[i, j] - m)
                s += p[i, j]
            log_s = np.log(s)                         # log softmax(z)_j = z_j - m - log_s
            for j in range(k):
                p[i, j] /= s
            if labels.size:
                y = labels[i]
                if y < 0 or y >= k:
                    raise ValueError("class label out of range")  # compiled.py says which
                total += log_s - (z[i, y] - m)
                for j in range(k):
                    delta[i, j] = p[i, j] * c
                delta[i, y] = (p[i, y] - one) * c
            else:
                mass = zero
                for j in range(k):
                    t = rows[i, j]
                    if t != zero:                     # 0 log p is 0, even for p = 0
                        total += t * (log_s - (z[i, j] - m))
                    mass += t
                for j in range(k):
                    delta[i, j] = (p[i, j] * mass - rows[i, j]) * c
        elif link == LOGISTIC:                        # -t log s(z) - (1 - t) log(1 - s(z))
            for j in range(k):
                v, t = z[i, j], rows[i, j]
                p[i, j] = sigmoid(v, one)
                total += (max(v, zero) - v * t) + np.log1p(np.exp(-abs(v)))
                delta[i, j] = (p[i, j] - t) * c
        else:                                         # (z - t)^2
            for j in range(k):
                d = z[i, j] - rows[i, j]
                p[i, j] = z[i, j]
                total += d * d
                delta[i, j] = d * c
    return total


@_jit
def column_sums(delta, out):
    """out <- the sum of delta's rows."""
    out[:] = 0
    for i in range(delta.shape[0]):
        for j in range(delta.shape[1]):
            out[j] += delta[i, j]


@_jit
def sum_of_squares(w):
    total = 0.0
    for v in w.ravel():
        total += v * v
    return total


@_jit
def matmul(gemm, a, b, out, transpose_a, transpose_b):
    """out <- op(a) op(b), op transposing when asked, for C-ordered a, b and out: by
    ``gemm``, a row-major CBLAS gemm of 64-bit integers (NumPy's own BLAS, passed as a
    ctypes function), or numba's np.dot (SciPy's BLAS) when ``gemm`` is None."""
    if gemm is None:
        if transpose_a:
            np.dot(a.T, b, out)
        elif transpose_b:
            np.dot(a, b.T, out)
        else:
            np.dot(a, b, out)
        return
    m, k = (a.shape[1], a.shape[0]) if transpose_a else (a.shape[0], a.shape[1])
    n = b.shape[0] if transpose_b else b.shape[1]
    if (b.shape[1] if transpose_b else b.shape[0]) != k or out.shape[0] != m \
            or out.shape[1] != n:
        raise ValueError("matmul: shapes not aligned")
    gemm(101, 112 if transpose_a else 111, 112 if transpose_b else 111,  # row-major; T, N
         m, n, k, 1.0, a.ctypes, a.shape[1], b.ctypes, b.shape[1], 0.0, out.ctypes, n)


@_jit
def gradients(x, rows, labels, kernels, biases, codes, link, c, penalty, decay, one,
              kernel_grads, bias_grads, gemm):
    """The loss of a batch (float64, without the per-element losses' scale: see
    compiled.CompiledGradients) and the outputs f(z_L); the gradients written to
    kernel_grads and bias_grads.  ``penalty`` (float64) and ``decay`` (dtype) add
    penalty sum ||W||^2 to the loss and decay W to each kernel's gradient.  The
    products by ``gemm`` (see :func:`matmul`)."""
    depth = len(kernels)
    outputs = [x]                                     # h_0 = x, h_1, ..., z_L
    h = x
    for layer in range(depth):
        w = kernels[layer]
        z = np.empty((h.shape[0], w.shape[1]), h.dtype)
        matmul(gemm, h, w, z, False, False)
        h = z
        add_bias_and_activate(h, biases[layer], codes[layer], one)
        outputs.append(h)
    predictions = np.empty_like(h)
    delta = np.empty_like(h)
    loss = loss_head(h, rows, labels, link, c, one, predictions, delta)
    squares = 0.0
    if penalty != 0:
        for layer in range(depth):
            squares += sum_of_squares(kernels[layer])
    for layer in range(depth - 1, -1, -1):
        matmul(gemm, outputs[layer], delta, kernel_grads[layer], True, False)  # h^T delta
        column_sums(delta, bias_grads[layer])                     # db_l = sum_i delta_l
        if penalty != 0:
            grad = kernel_grads[layer]
            grad += decay * kernels[layer]
        if layer > 0:                                 # delta_(l-1) = delta_l W_l^T * g'
            below = np.empty((delta.shape[0], kernels[layer].shape[0]), delta.dtype)
            matmul(gemm, delta, kernels[layer], below, False, True)
            delta = below
            times_derivative(delta, outputs[layer], codes[layer - 1], one)
    return loss, penalty * squares, predictions
