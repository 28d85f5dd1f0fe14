"""Recurrent ops - a whole sequence through SimpleRNN, LSTM or GRU cells - each one node
of the graph with its backpropagation-through-time VJP beside it (Werbos 1990).

Shapes follow Keras: a batch of sequences is ``(batch, steps, features)``; a kernel is
``(features, gates * units)`` and a recurrent kernel ``(units, gates * units)``, with
Keras's gate order (LSTM: i, f, c, o; GRU: z, r, h).  A recurrent network "can use
current and previous inputs, in time": the state ``h_t`` of step t is computed from the
input ``x_t`` and the state ``h_{t-1}`` of the step before.

Each op does the input projection of every step at once - one product
``(batch * steps, features) @ kernel`` - and then, step by step, only the small
recurrent product ``h_{t-1} @ recurrent_kernel`` and the gates' elementwise work.  The
VJP runs the steps backwards keeping dL/dh (and, for the LSTM, dL/dc), stores the
gradient of every step's pre-activations ``dZ`` and finishes with three products:
``dL/dkernel = X^T dZ``, ``dL/drecurrent_kernel = H_prev^T dZ_rec`` and
``dL/dx = dZ kernel^T``.  A graph of one node per step and per elementwise op is the
alternative (the layers fall back to it for activations without a fused derivative);
``bench/rnn.py`` measures the difference.

Activations fused here: every activation of :mod:`nnlearn.activations` whose derivative
is a function of its output y = g(z) (tanh: 1 - y^2, sigmoid: y (1 - y), relu, linear,
...), its element rules evaluated by NumPy on whole arrays (:data:`FUSED_ACTIVATIONS`).
The LSTM's default pair (tanh, sigmoid) is lowered further: all four gates by one tanh,
sigma(z) = (1 + tanh(z / 2)) / 2.

The LSTM keeps its per-step arrays time-major (step first), so every step's product and
gate math read and write contiguous blocks, preallocated once per call and written in
place.

Two lowerings run the steps, chosen by
:func:`nnlearn.lowering.recurrent_cell.recurrent_cell_reason`: the compiled cell
(:mod:`nnlearn.lowering.recurrent_cell`: one numba call per batch of sequences forward
and one backward, the activations' rules with float32 exp and tanh lowered to the
vectorizable approximations of :mod:`nnlearn.lowering.fastmath`; numba's own tanh and exp
are scalar C-library calls), and NumPy passes per step, here, when numba is absent or
``NNLEARN_RECURRENT_CELL=off``. Either way the input projection and the final products
(dL/dx, dL/dW, dL/dU) are one BLAS product each, and a loop of small per-step products
runs with the BLAS on one thread
(:func:`nnlearn.lowering.recurrent_cell.recurrent_threads`); the compiled cell runs groups
of the batch's sequences side by side, one thread each
(:func:`nnlearn.lowering.recurrent_cell.recurrent_parts`), each group's products its own.

This module is long because each of the three fused ops (SimpleRNN, LSTM, GRU) holds its
forward pass and its backpropagation through time side by side, on both lowerings.
"""

from __future__ import annotations

import numpy as np

from .. import activations as _activations
from ..lowering import groups
from .ops import as_operand
from .tensor import Tensor

__all__ = ["simple_rnn", "lstm", "gru", "embedding"]

# the LSTM's backward pass computes its per-step factors for blocks of about this many
# elements (512 KB in float32): a block stays in the CPU's cache between its two passes
_BLOCK_ELEMENTS = 1 << 17


def _lowered(spec):
    """(g(z), g'(z) from y = g(z)) of an activation whose backward rule reads only its
    output: its element rules evaluated by NumPy on whole arrays."""
    def g(z):
        with np.errstate(over="ignore", under="ignore"):
            return spec.function(z, z.dtype.type(1))

    def dg(y):
        one = y.dtype.type(1)
        return np.broadcast_to(spec.backward(None, one, y, y, one), y.shape).astype(y.dtype)

    return g, dg


#: name -> (g(z), g'(z) written from y = g(z)), from the table of activations
FUSED_ACTIVATIONS = {name: _lowered(spec) for name, spec in _activations.elementwise().items()
                     if not spec.needs_input}


def _activation(name, argument: str, op: str):
    if name not in FUSED_ACTIVATIONS:
        raise ValueError(f"{op}: {argument} must be one of {sorted(FUSED_ACTIVATIONS)}; "
                         f"got {name!r}")
    return FUSED_ACTIVATIONS[name]


def _gate_squash(g, s, k: int):
    """A function (z, out) writing the LSTM's gate activations [s, s, g, s](z) into out
    (the default tanh and sigmoid are lowered in lstm itself)."""
    def squash(z, out):
        out[:, :2 * k] = s(z[:, :2 * k])
        out[:, 2 * k:3 * k] = g(z[:, 2 * k:3 * k])
        out[:, 3 * k:] = s(z[:, 3 * k:])
    return squash


def _check(x: Tensor, kernel: Tensor, recurrent_kernel: Tensor, gates: int, op: str) -> tuple:
    """(batch, steps, features, units) after checking the shapes."""
    if x.ndim != 3:
        raise ValueError(f"{op}: x must be a batch of sequences (batch, steps, features); "
                         f"got shape {x.shape}")
    n, steps, features = x.shape
    if recurrent_kernel.ndim != 2 or recurrent_kernel.shape[1] != gates * recurrent_kernel.shape[0]:
        raise ValueError(f"{op}: recurrent_kernel must have shape (units, {gates} * units); "
                         f"got {recurrent_kernel.shape}")
    units = recurrent_kernel.shape[0]
    if kernel.shape != (features, gates * units):
        raise ValueError(f"{op}: kernel must have shape (features, {gates} * units) = "
                         f"{(features, gates * units)}; got {kernel.shape}")
    if steps < 1:
        raise ValueError(f"{op}: x must have at least one step; got shape {x.shape}")
    return n, steps, features, units


def _state(state, n: int, units: int, dtype, name: str, op: str):
    """(Tensor or None, array) of an initial state: zeros when None."""
    if state is None:
        return None, np.zeros((n, units), dtype)
    state = as_operand(state)
    if state.shape != (n, units):
        raise ValueError(f"{op}: {name} must have shape (batch, units) = {(n, units)}; got "
                         f"{state.shape}")
    return state, state.data.astype(dtype, copy=False)


def _bias(bias, shape: tuple, op: str):
    if bias is None:
        return None
    bias = as_operand(bias)
    if bias.shape != shape:
        raise ValueError(f"{op}: bias must have shape {shape}; got {bias.shape}")
    return bias


def _projection(x: np.ndarray, kernel: np.ndarray, bias) -> np.ndarray:
    """x_t @ kernel + bias for every step at once: (batch, steps, gates * units)."""
    n, steps, features = x.shape
    xw = (x.reshape(n * steps, features) @ kernel).reshape(n, steps, -1)
    if bias is not None:
        xw += bias
    return xw


def _finish(x, kernel, dz_in: np.ndarray) -> tuple:
    """dL/dx = dZ kernel^T and dL/dkernel = X^T dZ from the input pre-activations'
    gradient dZ (batch, steps, gates * units)."""
    n, steps, features = x.shape
    flat = dz_in.reshape(n * steps, -1)
    dx = (flat @ kernel.data.T).reshape(x.shape) if x.requires_grad else None
    dkernel = x.data.reshape(n * steps, features).T @ flat if kernel.requires_grad else None
    return dx, dkernel


def _compiled(dtype, n: int, units: int, gates: int):
    """(the BLAS threads for the steps, whether the compiled cell runs them, the groups
    of sequences it runs side by side): the planner's choices for this op."""
    from ..lowering import recurrent_cell

    return recurrent_cell.recurrent_threads(n, units, gates), \
        recurrent_cell.recurrent_cell_reason(dtype) is None, \
        recurrent_cell.recurrent_parts(n, units, gates)


def _time_major(x: np.ndarray, kernel: np.ndarray, bias) -> tuple:
    """(x time-major (steps, batch, features), x_t W + bias of every step time-major
    (steps, batch, gates * units)): one product."""
    n, steps, features = x.shape
    xt = np.ascontiguousarray(x.transpose(1, 0, 2))
    xw = xt.reshape(steps * n, features) @ kernel
    if bias is not None:
        xw += bias
    return xt, xw.reshape(steps, n, -1)


def _finish_time_major(x, kernel, xt: np.ndarray, dz_in: np.ndarray) -> tuple:
    """dL/dx and dL/dkernel from the input pre-activations' gradient dZ, time-major
    (steps, batch, gates * units)."""
    steps, n, _ = dz_in.shape
    flat = dz_in.reshape(steps * n, -1)
    dx = dkernel = None
    if x.requires_grad:
        dx = (flat @ kernel.data.T).reshape(steps, n, -1).transpose(1, 0, 2)
    if kernel.requires_grad:
        dkernel = xt.reshape(steps * n, -1).T @ flat
    return dx, dkernel


def _steps(steps, threads):
    """Iterate over ``steps`` with the BLAS on ``threads`` threads (None: as it is)."""
    with _blas_threads(threads):
        yield from steps


def _blas_threads(limit):
    from ..lowering.recurrent_cell import blas_threads

    return blas_threads(limit)


def _cell(activation: str, recurrent_activation: str, dtype) -> tuple:
    """(the compiled loops for these activations, the gemm, 1 in dtype)."""
    from ..lowering import recurrent_cell

    return (recurrent_cell.cell_functions(activation, recurrent_activation),
            recurrent_cell.gemm(dtype), np.dtype(dtype).type(1))


def _simple_rnn_cell(x, kernel, recurrent_kernel, bias, h0, h0_data, activation, threads,
                     parts=1):
    """simple_rnn with its steps in the compiled cell (the same equations), the batch's
    sequences in ``parts`` groups of rows side by side
    (:func:`nnlearn.lowering.groups.side_by_side`)."""
    n, steps, _ = x.shape
    units, dtype = recurrent_kernel.shape[0], x.dtype
    loops, gemm, one = _cell(activation, activation, dtype)
    u = np.ascontiguousarray(recurrent_kernel.data, dtype)
    spans = groups.spans(n, parts)
    out = np.empty((n, steps, units), dtype)
    xts, hs = [None] * len(spans), [None] * len(spans)

    def forward(p, lo, hi, loop_threads):
        xts[p], xw = _time_major(x.data[lo:hi], kernel.data,
                                 None if bias is None else bias.data)
        h = hs[p] = np.empty((steps + 1, hi - lo, units), dtype)
        h[0] = h0_data[lo:hi]
        with _blas_threads(loop_threads):
            loops["simple_rnn_forward"](xw, u, h, gemm, one)
        out[lo:hi] = h[1:].transpose(1, 0, 2)

    groups.run_parts(forward, spans, threads)

    def grads_of(grad_out):
        dh = np.zeros((n, units), dtype)
        dx = np.empty(x.shape, dtype) if x.requires_grad else None
        ut = np.ascontiguousarray(u.T)  # U^T: a transposed operand's product is slower
        sums = [None] * len(spans)

        def backward(p, lo, hi, loop_threads):
            m = hi - lo
            dz = np.empty((steps, m, units), dtype)
            grad = _time_major_grad(grad_out[lo:hi], dtype)
            with _blas_threads(loop_threads):
                loops["simple_rnn_backward"](hs[p], grad, ut, dz, dh[lo:hi], gemm, one)
            dx_part, dkernel = _finish_time_major(x, kernel, xts[p], dz)
            if dx is not None:
                dx[lo:hi] = dx_part
            flat = dz.reshape(steps * m, units)
            sums[p] = (dkernel, hs[p][:-1].reshape(steps * m, units).T @ flat,
                       flat.sum(axis=0) if bias is not None else None)

        groups.run_parts(backward, spans, threads)
        dkernel, du, db = groups.sum_parts(sums)
        return dx, dkernel, du, db, dh

    return _make(out, [x, kernel, recurrent_kernel, bias, h0], grads_of, "simple_rnn")


def _time_major_grad(grad_out: np.ndarray, dtype) -> np.ndarray:
    """The outputs' gradient (batch, steps, ...) as a C-ordered time-major array."""
    return np.ascontiguousarray(np.moveaxis(grad_out, 1, 0), dtype=dtype)


def _lstm_cell(x, kernel, recurrent_kernel, bias, h0, h0_data, c0, c0_data, activation,
               recurrent_activation, threads, parts=1):
    """lstm with its steps in the compiled cell (the same equations), on the stacked
    operand [h_{t-1} | x_t | 1] and kernel [U; W; b] (see
    :mod:`nnlearn.lowering._recurrent_template`; no 1s and no b without a bias), the
    batch's sequences in ``parts`` groups of rows side by side
    (:func:`nnlearn.lowering.groups.side_by_side`).
    The weight-gradient product of the stacked operand gives dU, dW and db together."""
    n, steps, features = x.shape
    k, dtype = recurrent_kernel.shape[0], x.dtype
    loops, gemm, one = _cell(activation, recurrent_activation, dtype)
    stacked = [recurrent_kernel.data, kernel.data] + ([] if bias is None else [bias.data[None]])
    v = np.concatenate(stacked).astype(dtype, copy=False)
    width = len(v)  # k + features (+ 1: the constant input of the bias)
    c_start = np.ascontiguousarray(np.broadcast_to(c0_data, (n, k)), dtype)
    out = np.empty((n, steps, 2, k), dtype)  # the op's output: (h_t, c_t) of every step
    spans = groups.spans(n, parts)
    hxs, gates, g_cs = [None] * len(spans), [None] * len(spans), [None] * len(spans)

    def forward(p, lo, hi, loop_threads):
        m = hi - lo
        hx = hxs[p] = np.empty((steps + 1, m, width), dtype)  # [h_{t-1} | x_t | 1]
        hx[:steps, :, k:k + features] = x.data[lo:hi].transpose(1, 0, 2)
        hx[:steps, :, k + features:] = 1
        hx[0, :, :k] = h0_data[lo:hi]
        gates[p] = np.empty((steps, m, 4 * k), dtype)
        g_cs[p] = np.empty((steps, m, k), dtype)
        with _blas_threads(loop_threads):
            loops["lstm_forward"](hx, v, c_start[lo:hi], out[lo:hi], gates[p], g_cs[p],
                                  gemm, one)

    groups.run_parts(forward, spans, threads)

    def grads_of(grad_packed):
        grad = np.ascontiguousarray(grad_packed, dtype)
        dh, dc = np.zeros((n, k), dtype), np.zeros((n, k), dtype)
        dx = np.empty((n, steps, features), dtype) if x.requires_grad else None
        ut = np.ascontiguousarray(v[:k].T)
        sums = [None] * len(spans)

        def backward(p, lo, hi, loop_threads):
            m = hi - lo
            dz = np.empty((steps, m, 4 * k), dtype)
            with _blas_threads(loop_threads):
                loops["lstm_backward"](gates[p], g_cs[p], c_start[lo:hi], out[lo:hi],
                                       grad[lo:hi], ut, dz, dh[lo:hi], dc[lo:hi], gemm, one)
            flat = dz.reshape(steps * m, 4 * k)
            if dx is not None:  # dL/dx_t = dz_t W^T, every step in one product
                dx[lo:hi] = (flat @ v[k:k + features].T).reshape(steps, m, features) \
                    .transpose(1, 0, 2)
            # [dU; dW; db] = sum_t hx_t^T dz_t over this group's rows, one product
            sums[p] = (hxs[p][:-1].reshape(steps * m, width).T @ flat,)

        groups.run_parts(backward, spans, threads)
        dv, = groups.sum_parts(sums)
        return (dx, dv[k:k + features] if kernel.requires_grad else None, dv[:k],
                None if bias is None else dv[k + features], dh, dc)

    result = _make(out, [x, kernel, recurrent_kernel, bias, h0, c0], grads_of, "lstm")
    return result[:, :, 0], result[:, :, 1]


def _gru_cell(x, kernel, recurrent_kernel, bias, h0, h0_data, activation,
              recurrent_activation, threads, parts=1):
    """gru with its steps in the compiled cell (the same equations), the batch's
    sequences in ``parts`` groups of rows side by side
    (:func:`nnlearn.lowering.groups.side_by_side`)."""
    n, steps, _ = x.shape
    k, dtype = recurrent_kernel.shape[0], x.dtype
    loops, gemm, one = _cell(activation, recurrent_activation, dtype)
    u = np.ascontiguousarray(recurrent_kernel.data, dtype)
    b_rec = np.zeros(3 * k, dtype) if bias is None else np.ascontiguousarray(bias.data[1])
    spans = groups.spans(n, parts)
    out = np.empty((n, steps, k), dtype)
    kept = [None] * len(spans)  # each group's (xt, h, zr, r_h, cand)

    def forward(p, lo, hi, loop_threads):
        m = hi - lo
        xt, xw = _time_major(x.data[lo:hi], kernel.data,
                             None if bias is None else bias.data[0])
        h = np.empty((steps + 1, m, k), dtype)
        zr = np.empty((steps, m, 2 * k), dtype)
        r_h = np.empty((steps, m, k), dtype)
        cand = np.empty((steps, m, k), dtype)
        h[0] = h0_data[lo:hi]
        with _blas_threads(loop_threads):
            loops["gru_forward"](xw, u, b_rec, h, zr, r_h, cand, gemm, one)
        out[lo:hi] = h[1:].transpose(1, 0, 2)
        kept[p] = (xt, h, zr, r_h, cand)

    groups.run_parts(forward, spans, threads)

    def grads_of(grad_out):
        dh = np.zeros((n, k), dtype)
        dx = np.empty(x.shape, dtype) if x.requires_grad else None
        ut = np.ascontiguousarray(u.T)  # U^T: a transposed operand's product is slower
        sums = [None] * len(spans)

        def backward(p, lo, hi, loop_threads):
            m = hi - lo
            xt, h, zr, r_h, cand = kept[p]
            dz_in = np.empty((steps, m, 3 * k), dtype)
            dz_rec = np.empty((steps, m, 3 * k), dtype)
            grad, keep = _time_major_grad(grad_out[lo:hi], dtype), np.empty((m, k), dtype)
            with _blas_threads(loop_threads):
                loops["gru_backward"](h, zr, r_h, cand, grad, ut, dz_in, dz_rec, dh[lo:hi],
                                      keep, gemm, one)
            dx_part, dkernel = _finish_time_major(x, kernel, xt, dz_in)
            if dx is not None:
                dx[lo:hi] = dx_part
            flat = dz_rec.reshape(steps * m, 3 * k)
            db = None if bias is None else \
                np.stack([dz_in.reshape(steps * m, 3 * k).sum(axis=0), flat.sum(axis=0)])
            sums[p] = (dkernel, h[:-1].reshape(steps * m, k).T @ flat, db)

        groups.run_parts(backward, spans, threads)
        dkernel, du, db = groups.sum_parts(sums)
        return dx, dkernel, du, db, dh

    return _make(out, [x, kernel, recurrent_kernel, bias, h0], grads_of, "gru")


def _make(out, parents: list, grads_of, name: str) -> Tensor:
    """The op's output; parents that are None (no bias, no initial state) are left out."""
    kept = [(i, p) for i, p in enumerate(parents) if p is not None]

    def vjp(g):
        grads = grads_of(g)
        return tuple(grads[i] for i, _ in kept)

    return Tensor._make(out, tuple(p for _, p in kept), vjp, name)


# --------------------------------------------------------------------------------------
# SimpleRNN: Elman 1990
# --------------------------------------------------------------------------------------
def simple_rnn(x, kernel, recurrent_kernel, bias=None, initial_state=None,
               activation: str = "tanh") -> Tensor:
    r"""The states of an Elman network (Elman 1990, "Finding structure in time") over a
    batch of sequences:

    $$
    h_t = g(x_t W + h_{t-1} U + b), \qquad h_0 = \text{initial\_state (zeros by default)}.
    $$

    Parameters
    ----------
    x : Tensor (batch, steps, features)
    kernel : W, (features, units);  recurrent_kernel : U, (units, units)
    bias : b, (units,), optional;  initial_state : (batch, units), optional
    activation : one of FUSED_ACTIVATIONS (Keras's default tanh)

    Returns
    -------
    Tensor (batch, steps, units)
        The states: ``out[:, t]`` is h_{t+1}.

    Notes
    -----
    Backpropagation through time (Werbos 1990): with dh_t the gradient reaching h_t
    (from the output at t and from step t + 1), dz_t = dh_t g'(z_t),
    dh_{t-1} += dz_t U^T; dU = sum_t h_{t-1}^T dz_t.
    """
    op = "simple_rnn"
    x, kernel, recurrent_kernel = as_operand(x), as_operand(kernel), as_operand(recurrent_kernel)
    n, steps, _, units = _check(x, kernel, recurrent_kernel, 1, op)
    g, dg = _activation(activation, "activation", op)
    bias = _bias(bias, (units,), op)
    h0, h0_data = _state(initial_state, n, units, x.dtype, "initial_state", op)
    threads, compiled, parts = _compiled(x.dtype, n, units, 1)
    if compiled:
        return _simple_rnn_cell(x, kernel, recurrent_kernel, bias, h0, h0_data, activation,
                                threads, parts)
    u = recurrent_kernel.data
    xw = _projection(x.data, kernel.data, None if bias is None else bias.data)
    h = np.empty((n, steps + 1, units), x.dtype)  # h[:, 0] = h_0
    h[:, 0] = h0_data
    with _blas_threads(threads):
        for t in range(steps):
            h[:, t + 1] = g(xw[:, t] + h[:, t] @ u)
    out = h[:, 1:]

    def grads_of(grad_out):
        dz = np.empty_like(xw)
        slope = dg(out)  # g'(z_t) of every step at once
        dh = np.zeros((n, units), x.dtype)
        with _blas_threads(threads):
            for t in reversed(range(steps)):
                dh += grad_out[:, t]
                dz_t = np.multiply(dh, slope[:, t], out=dz[:, t])
                dh = dz_t @ u.T
        dx, dkernel = _finish(x, kernel, dz)
        flat = dz.reshape(n * steps, units)
        du = h[:, :-1].reshape(n * steps, units).T @ flat
        db = flat.sum(axis=0) if bias is not None else None
        return dx, dkernel, du, db, dh

    return _make(out, [x, kernel, recurrent_kernel, bias, h0], grads_of, op)


# --------------------------------------------------------------------------------------
# LSTM: Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000
# --------------------------------------------------------------------------------------
def lstm(x, kernel, recurrent_kernel, bias=None, initial_state=None, initial_carry=None,
         activation: str = "tanh", recurrent_activation: str = "sigmoid") -> tuple:
    r"""Long short-term memory (Hochreiter & Schmidhuber 1997) with a forget gate (Gers,
    Schmidhuber & Cummins 2000), Keras's gate order i, f, c, o:

    $$
    \begin{aligned}
    [z_i, z_f, z_c, z_o] &= x_t W + h_{t-1} U + b, \\
    i = \sigma(z_i), \quad f &= \sigma(z_f), \quad o = \sigma(z_o), \quad
    \tilde c = g(z_c), \\
    c_t &= f \odot c_{t-1} + i \odot \tilde c, \\
    h_t &= o \odot g(c_t),
    \end{aligned}
    $$

    $\sigma$ the ``recurrent_activation``; the cell state $c_t$ is let through unless
    $f$ forgets it.

    The cell state is the key idea: its gradient flows back through ``c_t = f c_{t-1} +
    ...`` multiplied only by the forget gate, not by a weight matrix and a squashing
    derivative at every step.

    Parameters: x (batch, steps, features); kernel (features, 4 units); recurrent_kernel
    (units, 4 units); bias (4 units,); initial_state h_0 and initial_carry c_0 (batch,
    units), zeros by default.

    Returns ``(h, c)``, each (batch, steps, units): the states and cell states of every
    step.

    BPTT, from dh_t and dc_t: do = dh g(c_t); dc_t += dh o g'(c_t); di = dc c~;
    dc~ = dc i; df = dc c_{t-1}; dc_{t-1} = dc f (+ what the output at t-1 sends);
    dz = (di s'(i), df s'(f), dc~ g'(c~), do s'(o)); dh_{t-1} = dz U^T.
    """
    op = "lstm"
    x, kernel, recurrent_kernel = as_operand(x), as_operand(kernel), as_operand(recurrent_kernel)
    n, steps, features, units = _check(x, kernel, recurrent_kernel, 4, op)
    rules = _activation(activation, "activation", op) + \
        _activation(recurrent_activation, "recurrent_activation", op)
    bias = _bias(bias, (4 * units,), op)
    h0, h0_data = _state(initial_state, n, units, x.dtype, "initial_state", op)
    c0, c0_data = _state(initial_carry, n, units, x.dtype, "initial_carry", op)
    threads, compiled, parts = _compiled(x.dtype, n, units, 4)
    if compiled:
        return _lstm_cell(x, kernel, recurrent_kernel, bias, h0, h0_data, c0, c0_data,
                          activation, recurrent_activation, threads, parts)
    return _lstm_numpy(x, kernel, recurrent_kernel, bias, h0, h0_data, c0, c0_data,
                       (activation, recurrent_activation), rules, threads)


def _lstm_numpy(x, kernel, recurrent_kernel, bias, h0, h0_data, c0, c0_data, names,
                rules, threads):
    """lstm with its steps as NumPy passes (the equations of :func:`lstm`); ``names`` is
    (activation, recurrent_activation), ``rules`` their (g, g', s, s')."""
    n, steps, _ = x.shape
    k, dtype = recurrent_kernel.shape[0], x.dtype
    g, dg, s, ds = rules
    default = names == ("tanh", "sigmoid")
    # Time-major arrays (step first), so that every step reads and writes contiguous
    # blocks: the per-step product and the gate math then run on whole rows.
    xt, xw = _time_major(x.data, kernel.data, None if bias is None else bias.data)
    h = np.empty((steps + 1, n, k), dtype)
    c = np.empty((steps + 1, n, k), dtype)
    g_c = np.empty((steps, n, k), dtype)  # g(c_t), kept for the backward pass
    gates = np.empty((steps, n, 4 * k), dtype)  # i, f, c~, o after their activations
    h[0], c[0] = h0_data, c0_data
    activate_gates, u_step = _lstm_gate_activation(default, g, s, k, xw,
                                                   recurrent_kernel.data)
    if names[0] == "tanh":
        def activate_cell(c_t, out):
            np.tanh(c_t, out=out)
    else:
        def activate_cell(c_t, out):
            out[...] = g(c_t)
    _lstm_forward(xw, u_step, h, c, gates, g_c, activate_gates, activate_cell, threads)

    def grads_of(grad_packed):
        dz, dh, dc = _lstm_backward(grad_packed, gates, c, g_c, recurrent_kernel.data,
                                    default, dg, ds, threads)
        dx, dkernel = _finish_time_major(x, kernel, xt, dz)
        flat = dz.reshape(steps * n, 4 * k)
        du = h[:-1].reshape(steps * n, k).T @ flat  # sum_t h_{t-1}^T dz_t, one product
        db = flat.sum(axis=0) if bias is not None else None
        return dx, dkernel, du, db, dh, dc

    out = _make(_lstm_packed(h, c), [x, kernel, recurrent_kernel, bias, h0, c0], grads_of,
                "lstm")
    return out[:, :, 0], out[:, :, 1]


def _lstm_packed(h: np.ndarray, c: np.ndarray) -> np.ndarray:
    """The states h_1..h_T and c_1..c_T of time-major (steps + 1, batch, units) arrays as
    one (batch, steps, h or c, units) array: the op's single output."""
    steps, n, k = h.shape[0] - 1, h.shape[1], h.shape[2]
    packed = np.empty((n, steps, 2, k), h.dtype)
    packed[:, :, 0] = h[1:].transpose(1, 0, 2)
    packed[:, :, 1] = c[1:].transpose(1, 0, 2)
    return packed


def _lstm_gate_activation(default: bool, g, s, k: int, xw: np.ndarray, u: np.ndarray):
    r"""(a function (z, out) writing [s(z_i), s(z_f), g(z_c), s(z_o)] into out, the
    recurrent kernel the steps multiply by).  The default pair (tanh, sigmoid) is one tanh
    of all four gates, $\sigma(z) = (1 + \tanh(z / 2)) / 2$: the halving is folded into
    ``xw`` (in place, exact: a power of two) and into the returned kernel once."""
    if not default:
        return _gate_squash(g, s, k), u
    scale = np.full(4 * k, 0.5, xw.dtype)
    scale[2 * k:3 * k] = 1.0
    shift = 0.5 * (scale != 1)
    xw *= scale

    def activate(z, out):  # i, f, o = s(z_i, z_f, z_o);  c~ = g(z_c), written in place
        np.tanh(z, out=out)
        out *= scale
        out += shift

    return activate, u * scale


def _lstm_forward(xw, u, h, c, gates, g_c, activate_gates, activate_cell, threads):
    r"""The LSTM's steps, time-major, written in place: for t = 1..T,
    $z = x_t W + b + h_{t-1} U$, the gates $[i, f, \tilde c, o]$ of z,
    $c_t = f c_{t-1} + i \tilde c$, $g(c_t)$ and $h_t = o\, g(c_t)$."""
    n, k = h.shape[1], h.shape[2]
    z = np.empty((n, 4 * k), h.dtype)
    ic = np.empty((n, k), h.dtype)
    for t in _steps(range(xw.shape[0]), threads):
        np.matmul(h[t], u, out=z)
        z += xw[t]
        a = gates[t]
        activate_gates(z, a)
        i, f, cc, o = a[:, :k], a[:, k:2 * k], a[:, 2 * k:3 * k], a[:, 3 * k:]
        c_t = c[t + 1]
        np.multiply(f, c[t], out=c_t)
        np.multiply(i, cc, out=ic)
        c_t += ic
        activate_cell(c_t, g_c[t])
        np.multiply(o, g_c[t], out=h[t + 1])


def _lstm_factors(gates, c, g_c, lo: int, hi: int, slopes, p, default: bool, dg, ds):
    """The backward factors of steps lo..hi-1, written into slopes[:hi - lo] (A_i, A_f,
    A_c, A_o) and p[:hi - lo] (P): dz = (dc A_i, dc A_f, dc A_c, dh A_o) and
    dc_t += dh_t P_t, with A_i = c~ s'(i), A_f = c_{t-1} s'(f), A_c = i g'(c~),
    A_o = g(c_t) s'(o), P = o g'(c_t)."""
    m, n, k = hi - lo, gates.shape[1], c.shape[2]
    a = gates[lo:hi].reshape(m, n, 4, k)
    i, f, cc, o = (a[:, :, j] for j in range(4))
    out = slopes[:m]
    if default:  # s'(y) = y (1 - y), g'(y) = 1 - y^2, from the outputs y
        np.subtract(1, a, out=out)
        out *= a
        np.multiply(cc, cc, out=out[:, :, 2])
        np.subtract(1, out[:, :, 2], out=out[:, :, 2])
        for j, factor in enumerate((cc, c[lo:hi], i, g_c[lo:hi])):
            out[:, :, j] *= factor
        np.multiply(g_c[lo:hi], g_c[lo:hi], out=p[:m])
        np.subtract(1, p[:m], out=p[:m])
        p[:m] *= o
    else:
        for j, (factor, slope) in enumerate(((cc, ds(i)), (c[lo:hi], ds(f)),
                                             (i, dg(cc)), (g_c[lo:hi], ds(o)))):
            np.multiply(factor, slope, out=out[:, :, j])
        np.multiply(o, dg(g_c[lo:hi]), out=p[:m])


def _lstm_backward(grad_packed, gates, c, g_c, u, default: bool, dg, ds, threads) -> tuple:
    """Backpropagation through time of the LSTM: (dz of every step (steps, batch,
    4 units), dL/dh_0, dL/dc_0) from the gradient of the packed output (batch, steps,
    h or c, units); the steps run backwards in blocks whose factors
    (:func:`_lstm_factors`) are computed at once, in place: few NumPy calls per step, and
    a block small enough to stay in the CPU's cache (the whole sequence's factors would
    not)."""
    steps, n, k = g_c.shape
    dtype = g_c.dtype
    grad = np.ascontiguousarray(grad_packed.transpose(1, 2, 0, 3))  # (steps, 2, n, k)
    grad_h, grad_c = grad[:, 0], grad[:, 1]
    # steps whose output receives a gradient (a many-to-one model: only the last)
    live_h, live_c = grad_h.any(axis=(1, 2)), grad_c.any(axis=(1, 2))
    block = max(1, min(steps, _BLOCK_ELEMENTS // (n * 4 * k)))
    slopes = np.empty((block, n, 4, k), dtype)  # (A_i, A_f, A_c, A_o): dz4's layout
    p = np.empty((block, n, k), dtype)
    dz = np.empty((steps, n, 4 * k), dtype)
    dz4 = dz.reshape(steps, n, 4, k)
    u_t = np.ascontiguousarray(u.T)
    dh = np.zeros((n, k), dtype)
    dc = np.zeros((n, k), dtype)
    tmp = np.empty((n, k), dtype)
    for hi in _steps(range(steps, 0, -block), threads):
        lo = max(0, hi - block)
        _lstm_factors(gates, c, g_c, lo, hi, slopes, p, default, dg, ds)
        for t in reversed(range(lo, hi)):
            if live_h[t]:
                dh += grad_h[t]
            if live_c[t]:
                dc += grad_c[t]
            np.multiply(dh, p[t - lo], out=tmp)
            dc += tmp
            np.multiply(dc[:, None], slopes[t - lo, :, :3], out=dz4[t, :, :3])
            np.multiply(dh, slopes[t - lo, :, 3], out=dz4[t, :, 3])
            dc *= gates[t, :, k:2 * k]  # the forget gate
            np.matmul(dz[t], u_t, out=dh)
    return dz, dh, dc


# --------------------------------------------------------------------------------------
# GRU: Cho et al. 2014 (Keras's reset_after=True, the form of cuDNN and PyTorch)
# --------------------------------------------------------------------------------------
def gru(x, kernel, recurrent_kernel, bias=None, initial_state=None,
        activation: str = "tanh", recurrent_activation: str = "sigmoid") -> Tensor:
    r"""Gated recurrent unit (Cho et al. 2014) with the reset gate applied after the
    recurrent product (Keras's ``reset_after=True``; PyTorch's nn.GRU), gate order z, r,
    h; the bias has two rows, $b_\text{in}$ for the input and $b_\text{rec}$ for the
    recurrent product:

    $$
    \begin{aligned}
    [x_z, x_r, x_h] &= x_t W + b_\text{in}, \qquad
    [r_z, r_r, r_h] = h_{t-1} U + b_\text{rec}, \\
    z = \sigma(x_z + r_z), \quad r &= \sigma(x_r + r_r), \quad
    \tilde h = g(x_h + r \odot r_h), \\
    h_t &= z \odot h_{t-1} + (1 - z) \odot \tilde h .
    \end{aligned}
    $$

    Parameters: x (batch, steps, features); kernel (features, 3 units); recurrent_kernel
    (units, 3 units); bias (2, 3 units); initial_state (batch, units).  Returns the states
    (batch, steps, units).

    BPTT, from dh_t: dz = dh (h_{t-1} - h~); dh~ = dh (1 - z); da = dh~ g'(h~) (the
    candidate's pre-activation); dr = da r_h; the input side gets (dz s'(z), dr s'(r),
    da), the recurrent side (dz s'(z), dr s'(r), da r); dh_{t-1} = dh z + that U^T.
    """
    op = "gru"
    x, kernel, recurrent_kernel = as_operand(x), as_operand(kernel), as_operand(recurrent_kernel)
    n, steps, _, units = _check(x, kernel, recurrent_kernel, 3, op)
    g, dg = _activation(activation, "activation", op)
    s, ds = _activation(recurrent_activation, "recurrent_activation", op)
    bias = _bias(bias, (2, 3 * units), op)
    h0, h0_data = _state(initial_state, n, units, x.dtype, "initial_state", op)
    threads, compiled, parts = _compiled(x.dtype, n, units, 3)
    if compiled:
        return _gru_cell(x, kernel, recurrent_kernel, bias, h0, h0_data, activation,
                         recurrent_activation, threads, parts)
    return _gru_numpy(x, kernel, recurrent_kernel, bias, h0, h0_data, (g, dg, s, ds),
                      threads)


def _gru_numpy(x, kernel, recurrent_kernel, bias, h0, h0_data, rules, threads):
    """gru with its steps as NumPy passes (the equations of :func:`gru`); ``rules`` is
    (g, g', s, s') of the activation and the recurrent activation."""
    n, steps, _ = x.shape
    k = recurrent_kernel.shape[0]
    g, dg, s, ds = rules
    u = recurrent_kernel.data
    xw = _projection(x.data, kernel.data, None if bias is None else bias.data[0])
    b_rec = None if bias is None else bias.data[1]
    h = np.empty((n, steps + 1, k), x.dtype)
    zr = np.empty((n, steps, 2 * k), x.dtype)  # z and r after the activation
    r_h = np.empty((n, steps, k), x.dtype)  # the recurrent part of the candidate
    cand = np.empty((n, steps, k), x.dtype)  # h~
    h[:, 0] = h0_data
    _gru_forward(xw, u, b_rec, h, zr, r_h, cand, g, s, threads)

    def grads_of(grad_out):
        dz_in, dz_rec, dh = _gru_backward(grad_out, xw, h, zr, r_h, cand, u, dg, ds,
                                          threads)
        dx, dkernel = _finish(x, kernel, dz_in)
        flat = dz_rec.reshape(n * steps, 3 * k)
        du = h[:, :-1].reshape(n * steps, k).T @ flat
        db = None
        if bias is not None:
            db = np.stack([dz_in.reshape(n * steps, 3 * k).sum(axis=0), flat.sum(axis=0)])
        return dx, dkernel, du, db, dh

    return _make(h[:, 1:], [x, kernel, recurrent_kernel, bias, h0], grads_of, "gru")


def _gru_forward(xw, u, b_rec, h, zr, r_h, cand, g, s, threads):
    r"""The GRU's steps, batch-major, written in place: for t = 1..T,
    $[r_z, r_r, r_h] = h_{t-1} U + b_\text{rec}$, $[z, r] = \sigma(x_{z,r} + r_{z,r})$,
    $\tilde h = g(x_h + r \odot r_h)$ and $h_t = z h_{t-1} + (1 - z) \tilde h$."""
    k = h.shape[2]
    for t in _steps(range(xw.shape[1]), threads):
        hu = h[:, t] @ u
        if b_rec is not None:
            hu += b_rec
        a = zr[:, t]
        a[...] = s(xw[:, t, :2 * k] + hu[:, :2 * k])
        z, r = a[:, :k], a[:, k:]
        r_h[:, t] = hu[:, 2 * k:]
        cand[:, t] = g(xw[:, t, 2 * k:] + r * r_h[:, t])
        h[:, t + 1] = z * h[:, t] + (1 - z) * cand[:, t]


def _gru_backward(grad_out, xw, h, zr, r_h, cand, u, dg, ds,
                                          threads) -> tuple:
    """Backpropagation through time of the GRU: (dz_in, dz_rec, dL/dh_0), the gradients
    of the input side's and the recurrent side's pre-activations (batch, steps, 3 units):
    dz_in = dh (A_z, A_a R, A_a) and dz_rec = dh (A_z, A_a R, A_a r), the factors of every
    step computed at once; ``xw`` is the input projection, whose shape and type they
    take."""
    n, steps, k = cand.shape
    z, r = zr[..., :k], zr[..., k:]
    a_z = (h[:, :-1] - cand) * ds(z)
    a_a = (1 - z) * dg(cand)
    a_r = a_a * r_h * ds(r)
    rec = np.stack([a_z, a_r, a_a * r], axis=2)  # (batch, steps, 3, units)
    dz_rec = np.empty_like(xw)
    rec_t = dz_rec.reshape(n, steps, 3, k)
    dh_all = np.empty((n, steps, k), h.dtype)
    dh = np.zeros((n, k), h.dtype)
    for t in _steps(reversed(range(steps)), threads):
        dh += grad_out[:, t]
        dh_all[:, t] = dh
        np.multiply(dh[:, None], rec[:, t], out=rec_t[:, t])
        dh = dh * z[:, t] + dz_rec[:, t] @ u.T
    dz_in = (dh_all[:, :, None] * np.stack([a_z, a_r, a_a], axis=2)).reshape(xw.shape)
    return dz_in, dz_rec, dh


# --------------------------------------------------------------------------------------
# embedding lookup
# --------------------------------------------------------------------------------------
def embedding(indices, embeddings) -> Tensor:
    """``embeddings[indices]``: the row of each integer index (a learned vector per token);
    the gradient adds the gradient of each position into its row (rows picked twice get
    both).  ``indices`` may be a float array holding integers (a model's input)."""
    embeddings = as_operand(embeddings)
    data = indices.data if isinstance(indices, Tensor) else np.asarray(indices)
    if data.dtype.kind == "f":
        as_int = data.astype(np.intp)
        if not np.array_equal(as_int, data):
            raise ValueError("embedding: indices must be integers; got non-integer values")
        data = as_int
    elif data.dtype.kind not in "iu":
        raise ValueError(f"embedding: indices must be integers; got dtype {data.dtype}")
    vocabulary = embeddings.shape[0]
    if data.size and (data.min() < 0 or data.max() >= vocabulary):
        raise ValueError(f"embedding: indices must be in [0, input_dim={vocabulary}); got "
                         f"values from {data.min()} to {data.max()}")
    out = embeddings.data[data]

    def vjp(g):
        flat = g.reshape(-1, embeddings.shape[1])
        full = np.zeros_like(embeddings.data)
        np.add.at(full, data.reshape(-1), flat)
        return (full,)

    return Tensor._make(out, (embeddings,), vjp, "embedding")
