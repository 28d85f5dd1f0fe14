"""The compiled recurrent cells' loops, as a template (see :mod:`nnlearn.lowering.recurrent_cell`).

This file is plain Python: :func:`source` appends to it the matrix product of the Dense
template (:func:`nnlearn._dense_template.matmul`), and the kernel cache compiles the
text with numba, the activations bound as ``activation`` / ``activation_backward`` (g)
and ``recurrent`` / ``recurrent_backward`` (s): their element rules from
:mod:`nnlearn.activations`, lowered by :func:`nnlearn.lowering.fastmath.lowered`.  A backward
rule is called as ``rule(d, d, y, y, one)``: d g'(z) read from the output y = g(z) (the
fused ops take only activations whose derivative needs no z).

The arrays a step reads or writes as a block are time-major (step first) and
C-ordered, so that each step's block is contiguous.  SimpleRNN and GRU take ``xw``,
x_t W + b of every step (one product done before); each forward loop runs all the
steps: per step, one product ``h_{t-1} U`` by ``matmul`` and short passes over the
gates, each writing one array (LLVM vectorizes those; it left loops that wrote several
scalar), and each backward loop runs them backwards: per step, passes over the gates
writing the pre-activations' gradients ``dz[t]`` and one product ``dz_t U^T`` into
dL/dh_{t-1}.  The LSTM multiplies the stacked [h_{t-1} | x_t | 1] by the stacked kernel
[U; W; b] instead, one product per step for all three, and reads and writes its output
and the output's gradient batch-major in the loop: no time-major copy of x W, of the
outputs or of their gradient is made (measured: those copies took a third of the
LSTM(64) op's time); backward, its product per step is dz_t U^T alone, dL/dx the
caller's single product for all the steps.
The equations are those of :mod:`nnlearn.autograd.recurrent`, whose NumPy passes
compute the same values.
"""

from __future__ import annotations

import inspect
import sys

import numpy as np


def simple_rnn_forward(xw, u, h, gemm, one):
    """h[t + 1] = g(xw[t] + h[t] U) for every step (h[0] holds h_0)."""
    steps, n, k = xw.shape
    z = np.empty((n, k), xw.dtype)
    for t in range(steps):
        matmul(gemm, h[t], u, z, False, False)  # noqa: F821 (appended)
        x_t, h_t = xw[t], h[t + 1]
        for i in range(n):
            for j in range(k):
                h_t[i, j] = activation(x_t[i, j] + z[i, j], one)  # noqa: F821


def simple_rnn_backward(h, grad, ut, dz, dh, gemm, one):
    """dz[t] = (dh_t) g'(z_t), dh_{t-1} = dz_t U^T, from dh = dL/dh_T (zeros) and the
    outputs' gradients grad[t] (``ut``: U^T, C-ordered); dh ends as dL/dh_0."""
    steps, n, k = grad.shape
    for t in range(steps - 1, -1, -1):
        y, g_t, dz_t = h[t + 1], grad[t], dz[t]
        for i in range(n):
            for j in range(k):
                d = dh[i, j] + g_t[i, j]
                dz_t[i, j] = activation_backward(d, d, y[i, j], y[i, j], one)  # noqa: F821
        matmul(gemm, dz_t, ut, dh, False, False)  # noqa: F821


def lstm_forward(hx, v, c0, out, gates, g_c, gemm, one):
    """The LSTM's steps (gate order i, f, c~, o) on the stacked operand hx[t] =
    [h_{t-1} | x_t | 1] (the caller fills h_0, every x_t and the 1s) and the stacked
    kernel v = [U; W; b] (the bias as the weight of a constant input 1, the perceptron's
    w_0; without a bias, no 1s and no b): z = hx[t] v, one product per step for all
    three; gates[t] = (s(z_i), s(z_f), g(z_c), s(z_o)); c_t = f c_{t-1} + i c~ (c_{-1}:
    c0); g_c[t] = g(c_t); h_t = o g_c[t], written into hx[t + 1] for the next step and,
    with c_t, into the op's output out[b, t] = (h_t, c_t) (batch-major: no copy after
    the loop)."""
    steps, n, k4 = gates.shape
    k = k4 // 4
    z = np.empty((n, k4), gates.dtype)
    for t in range(steps):
        matmul(gemm, hx[t], v, z, False, False)  # noqa: F821
        for b in range(n):
            z_b, a, g_b, h_next = z[b], gates[t, b], g_c[t, b], hx[t + 1, b]
            c_prev = c0[b] if t == 0 else out[b, t - 1, 1]
            h_b, c_b = out[b, t, 0], out[b, t, 1]
            # one short loop per gate function (LLVM vectorizes each), then the cell
            for j in range(2 * k):
                a[j] = recurrent(z_b[j], one)  # noqa: F821  i, f
            for j in range(2 * k, 3 * k):
                a[j] = activation(z_b[j], one)  # noqa: F821  c~
            for j in range(3 * k, k4):
                a[j] = recurrent(z_b[j], one)  # noqa: F821  o
            for j in range(k):  # one store per loop: LLVM vectorizes only those here
                c_b[j] = a[k + j] * c_prev[j] + a[j] * a[2 * k + j]
            for j in range(k):
                g_b[j] = activation(c_b[j], one)  # noqa: F821
            for j in range(k):
                h_b[j] = a[3 * k + j] * g_b[j]
            for j in range(k):
                h_next[j] = h_b[j]


def lstm_backward(gates, g_c, c0, out, grad, ut, dz, dh, dc, gemm, one):
    """Backpropagation through the LSTM's steps from dh, dc (dL/dh_T, dL/dc_T: zeros)
    and the output's gradient grad[b, t] = (dL/dh_t, dL/dc_t): do = dh g(c_t) s'(o);
    dc += dh o g'(c_t); di = dc c~ s'(i); df = dc c_{t-1} s'(f); dc~ = dc i g'(c~);
    dc_{t-1} = dc f; then one product per step, dL/dh_{t-1} = dz_t U^T into dh (``ut``:
    U^T, C-ordered: with a transposed U the product took 10-28% longer, on 128 and 64
    rows of an LSTM(64)).  dh and dc end as dL/dh_0 and dL/dc_0; dL/dx_t = dz_t W^T is
    the caller's, one product for all the steps (none when x needs no gradient)."""
    steps, n, k4 = gates.shape
    k = k4 // 4
    for t in range(steps - 1, -1, -1):
        for b in range(n):
            a, dz_b, g_b = gates[t, b], dz[t, b], g_c[t, b]
            c_prev = c0[b] if t == 0 else out[b, t - 1, 1]
            gh, gc, dh_b, dc_b = grad[b, t, 0], grad[b, t, 1], dh[b], dc[b]
            # one store per loop (LLVM vectorizes only those here): the output gate,
            for j in range(k):
                o, d_o = a[3 * k + j], (dh_b[j] + gh[j]) * g_b[j]
                dz_b[3 * k + j] = recurrent_backward(d_o, d_o, o, o, one)  # noqa: F821
            for j in range(k):  # dc_t,
                d_g, squashed = (dh_b[j] + gh[j]) * a[3 * k + j], g_b[j]
                dc_b[j] = dc_b[j] + gc[j] + activation_backward(  # noqa: F821
                    d_g, d_g, squashed, squashed, one)
            for j in range(k):  # the input gate,
                i, d_i = a[j], dc_b[j] * a[2 * k + j]
                dz_b[j] = recurrent_backward(d_i, d_i, i, i, one)  # noqa: F821
            for j in range(k):  # the forget gate,
                f, d_f = a[k + j], dc_b[j] * c_prev[j]
                dz_b[k + j] = recurrent_backward(d_f, d_f, f, f, one)  # noqa: F821
            for j in range(k):  # the candidate,
                cc, d_cc = a[2 * k + j], dc_b[j] * a[j]
                dz_b[2 * k + j] = activation_backward(d_cc, d_cc, cc, cc, one)  # noqa: F821
            for j in range(k):  # and dc_{t-1}
                dc_b[j] = dc_b[j] * a[k + j]
        matmul(gemm, dz[t], ut, dh, False, False)  # noqa: F821


def gru_forward(xw, u, b_rec, h, zr, r_h, cand, gemm, one):
    """The GRU's steps (reset after the product; gate order z, r, h~): with
    hu = h[t] U + b_rec, z = s(xw_z + hu_z), r = s(xw_r + hu_r), r_h[t] = hu_h,
    cand[t] = g(xw_h + r hu_h), h[t + 1] = z h[t] + (1 - z) cand[t]."""
    steps, n, k3 = xw.shape
    k = k3 // 3
    hu = np.empty((n, k3), xw.dtype)
    for t in range(steps):
        matmul(gemm, h[t], u, hu, False, False)  # noqa: F821
        for b in range(n):
            x_b, u_b, a = xw[t, b], hu[b], zr[t, b]
            h_prev, h_b, rh_b, cand_b = h[t, b], h[t + 1, b], r_h[t, b], cand[t, b]
            for j in range(2 * k):  # z, r
                a[j] = recurrent(x_b[j] + (u_b[j] + b_rec[j]), one)  # noqa: F821
            for j in range(k):
                rh_b[j] = u_b[2 * k + j] + b_rec[2 * k + j]
            for j in range(k):  # one store per loop: LLVM vectorizes only those here
                cand_b[j] = activation(x_b[2 * k + j] + a[k + j] * rh_b[j], one)  # noqa: F821
            for j in range(k):
                z = a[j]
                h_b[j] = z * h_prev[j] + (one - z) * cand_b[j]


def gru_backward(h, zr, r_h, cand, grad, ut, dz_in, dz_rec, dh, keep, gemm, one):
    """Backpropagation through the GRU's steps from dh = dL/dh_T (zeros) and the
    outputs' gradients grad[t]: dz = dh (h_{t-1} - h~) s'(z); da = dh (1 - z) g'(h~);
    dr = da r_h s'(r); the input side gets (dz, dr, da), the recurrent side (dz, dr,
    da r); dh_{t-1} = dh z + dz_rec U^T (``ut``: U^T, C-ordered).  ``keep`` is scratch
    (batch, units); dh ends as dL/dh_0."""
    steps, n, k = grad.shape
    for t in range(steps - 1, -1, -1):
        for b in range(n):
            a, h_prev, rh_b, cand_b = zr[t, b], h[t, b], r_h[t, b], cand[t, b]
            g_b, din, drec, dh_b, keep_b = grad[t, b], dz_in[t, b], dz_rec[t, b], dh[b], \
                keep[b]
            # one store per loop (LLVM vectorizes only those here): the update gate,
            for j in range(k):
                z = a[j]
                keep_b[j] = (dh_b[j] + g_b[j]) * z
            for j in range(k):
                z, d_z = a[j], (dh_b[j] + g_b[j]) * (h_prev[j] - cand_b[j])
                din[j] = recurrent_backward(d_z, d_z, z, z, one)  # noqa: F821
            for j in range(k):
                drec[j] = din[j]
            for j in range(k):  # the candidate,
                candidate, d_a = cand_b[j], (dh_b[j] + g_b[j]) * (one - a[j])
                din[2 * k + j] = activation_backward(  # noqa: F821
                    d_a, d_a, candidate, candidate, one)
            for j in range(k):  # the reset gate
                r, d_r = a[k + j], din[2 * k + j] * rh_b[j]
                din[k + j] = recurrent_backward(d_r, d_r, r, r, one)  # noqa: F821
            for j in range(k):
                drec[k + j] = din[k + j]
            for j in range(k):
                drec[2 * k + j] = din[2 * k + j] * a[k + j]
        matmul(gemm, dz_rec[t], ut, dh, False, False)  # noqa: F821
        dh += keep


#: The functions compiled_recurrent.py compiles (matmul first: the others call it).
FUNCTIONS = ("leading", "matmul", "simple_rnn_forward", "simple_rnn_backward",
             "lstm_forward", "lstm_backward", "gru_forward", "gru_backward")


def source() -> str:
    """This template with the Dense template's ``matmul`` (and its ``leading``)
    appended."""
    from . import _dense_template

    template = inspect.getsource(sys.modules[__name__])
    return template.rstrip("\n") + "".join(
        "\n\n\n" + inspect.getsource(function).rstrip("\n")
        for function in (_dense_template.leading, _dense_template.matmul)) + "\n"
