r"""Differentiable ops: each forward computation with its vector-Jacobian product beside it.

Every op takes Tensors (or numbers and arrays, treated as constants), computes its
output $y = f(a, b, \dots)$ with NumPy, and hands :meth:`Tensor._make` a ``vjp(g)``
closure that maps $g = \partial L / \partial y$ to each input's gradient, the
vector-Jacobian product

$$
\frac{\partial L}{\partial a} = g^\top \frac{\partial y}{\partial a}
$$

(None where no gradient is needed): reverse-mode differentiation (Linnainmaa 1970;
Speelpenning 1980; Rumelhart, Hinton & Williams 1986).  Broadcasting follows NumPy; the
gradient of a broadcast input is summed back over the broadcast axes
(:func:`_unbroadcast`).

Conventions: VJPs never write into ``g`` (the same array may reach several parents),
and compute a parent's gradient only when that parent requires one.

This module is long because it is the catalogue of the engine's ops, each forward beside
its vector-Jacobian product, sharing the broadcasting and dtype helpers at the top.
"""

from __future__ import annotations

import functools
import math
import sys

import numpy as np
from numpy.lib.array_utils import normalize_axis_tuple

from .. import activations as _activations
from .. import links as _links
from .. import numerics
from ..backend import as_float_array
from ..lowering.loops import elementwise
from .tensor import Tensor

__all__ = [
    "add", "sub", "mul", "div", "neg", "pow", "matmul", "linear", "dense",
    "sum", "sum_of_squares", "mean", "max", "min", "logsumexp",
    "exp", "log", "sqrt", "abs", "sign", "clip", "maximum", "minimum", "where",
    "activation", "tanh", "sigmoid", "relu", "leaky_relu", "elu", "arctan", "binary_step",
    "softplus",
    "softmax", "log_softmax",
    "reshape", "transpose", "getitem", "concatenate", "stack",
    "softmax_cross_entropy", "sigmoid_binary_cross_entropy", "mean_squared_error",
]


# --------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------
def constant(x, dtype=None) -> Tensor:
    """Wrap a number or array as a constant tensor; a bare Python number takes ``dtype``
    (the other operand's), so ``float32_tensor * 0.5`` stays float32."""
    if isinstance(x, (int, float)) and not isinstance(x, bool) and dtype is not None:
        data = np.asarray(x, dtype=dtype)
    else:
        data = as_float_array(x, copy=False, name="operand")
    return Tensor._make(data, (), None, "constant")


def as_operand(x) -> Tensor:
    """``x`` if it is a Tensor, else :func:`constant` of it (an op's operand)."""
    return x if isinstance(x, Tensor) else constant(x)


def _pair(a, b):
    if isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            b = constant(b, a.dtype)
    elif isinstance(b, Tensor):
        a = constant(a, b.dtype)
    else:
        a = constant(a)
        b = constant(b, a.dtype)
    return a, b


@functools.lru_cache(maxsize=16)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


def _column_sum(g: np.ndarray) -> np.ndarray:
    r"""The sum of the rows of a matrix (a bias gradient), as the product $\mathbf 1^\top g$:
    BLAS does it 3-4 times faster than ``np.add.reduce(g, axis=0)`` (measured on 100 x 3
    and 128 x 512 float32)."""
    return np.dot(_ones(g.shape[0], g.dtype), g)


def _unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum ``g`` over the axes along which an input of ``shape`` was broadcast."""
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    if lead == 1 and g.ndim == 2 and g.shape[1:] == shape and g.dtype.kind == "f":
        return _column_sum(g)  # a bias row added to every sample
    if g.shape[lead:] == shape:  # only leading axes were added (a bias row, a scalar)
        return np.add.reduce(g, axis=tuple(range(lead)))
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and g.shape[lead + i] != 1
    )
    return np.add.reduce(g, axis=axes, keepdims=True).reshape(shape)


def _axes(axis, ndim: int):
    """None (all axes) or a tuple of non-negative axes."""
    return None if axis is None else normalize_axis_tuple(axis, ndim)


#: A full reduction's gradient over at most this many elements is a filled array rather
#: than a broadcast view: the view's fixed cost (2.8-3.3 us) is most of the VJP of a sum of
#: a few elements, where filling a new array takes 0.6 us.
SMALL = 2048


def _expand_to(g: np.ndarray, shape: tuple, axes, keepdims: bool) -> np.ndarray:
    """Broadcast the gradient of a reduction back to the reduced input's ``shape`` (a
    view; a filled array for a full reduction of at most :data:`SMALL` elements)."""
    if axes is None and not keepdims and g.ndim == 0 and math.prod(shape) <= SMALL:
        filled = np.empty(shape, g.dtype)
        filled[...] = g
        return filled
    if not keepdims and axes is not None:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, shape)


# --------------------------------------------------------------------------------------
# arithmetic
# --------------------------------------------------------------------------------------
def _broadcast_mismatch(op: str, a: Tensor, b: Tensor) -> ValueError:
    """Explain why ``a op b`` is undefined: the shapes do not broadcast."""
    return ValueError(f"{op}: shapes {a.shape} and {b.shape} do not broadcast (NumPy's rule: "
                      f"compared from the last axis, two lengths must be equal or one of "
                      f"them 1)")


def add(a, b) -> Tensor:
    r"""$a + b$; $\partial/\partial a = 1$, $\partial/\partial b = 1$."""
    a, b = _pair(a, b)
    try:
        out = a.data + b.data
    except ValueError:
        raise _broadcast_mismatch("add", a, b) from None

    def vjp(g):
        return (_unbroadcast(g, a.shape) if a.requires_grad else None,
                _unbroadcast(g, b.shape) if b.requires_grad else None)

    return Tensor._make(out, (a, b), vjp, "add")


def sub(a, b) -> Tensor:
    r"""$a - b$; $\partial/\partial a = 1$, $\partial/\partial b = -1$."""
    a, b = _pair(a, b)
    try:
        out = a.data - b.data
    except ValueError:
        raise _broadcast_mismatch("sub", a, b) from None

    def vjp(g):
        return (_unbroadcast(g, a.shape) if a.requires_grad else None,
                _unbroadcast(-g, b.shape) if b.requires_grad else None)

    return Tensor._make(out, (a, b), vjp, "sub")


def mul(a, b) -> Tensor:
    r"""$a \odot b$ (elementwise); $\partial/\partial a = b$, $\partial/\partial b = a$."""
    a, b = _pair(a, b)
    try:
        out = a.data * b.data
    except ValueError:
        raise _broadcast_mismatch("mul", a, b) from None

    def vjp(g):
        return (_unbroadcast(g * b.data, a.shape) if a.requires_grad else None,
                _unbroadcast(g * a.data, b.shape) if b.requires_grad else None)

    return Tensor._make(out, (a, b), vjp, "mul")


def div(a, b) -> Tensor:
    r"""$a / b$; $\partial/\partial a = 1/b$, $\partial/\partial b = -a/b^2 = -y/b$."""
    a, b = _pair(a, b)
    try:
        out = a.data / b.data
    except ValueError:
        raise _broadcast_mismatch("div", a, b) from None

    def vjp(g):
        g_over_b = g / b.data
        return (_unbroadcast(g_over_b, a.shape) if a.requires_grad else None,
                _unbroadcast(-g_over_b * out, b.shape) if b.requires_grad else None)

    return Tensor._make(out, (a, b), vjp, "div")


def neg(a) -> Tensor:
    r"""$-a$; $\partial/\partial a = -1$."""
    a = as_operand(a)
    return Tensor._make(-a.data, (a,), lambda g: (-g,), "neg")


def pow(a, b) -> Tensor:
    r"""$a^b$; $\partial/\partial a = b\, a^{b-1}$, $\partial/\partial b = a^b \ln a$ (taken as 0
    where $a \le 0$)."""
    if isinstance(b, (int, float)) and not isinstance(b, bool) and isinstance(a, Tensor):
        # The common case, a constant exponent (x ** 2): no tensor for b.
        a_data, exponent = a.data, b
        out = a_data ** exponent

        def vjp_const(g):
            if exponent == 2:
                return (g * 2 * a_data,)
            return (g * exponent * a_data ** (exponent - 1),)

        return Tensor._make(out, (a,), vjp_const, "pow")

    a, b = _pair(a, b)
    out = a.data ** b.data

    def vjp(g):
        ga = gb = None
        if a.requires_grad:
            ga = _unbroadcast(g * b.data * a.data ** (b.data - 1), a.shape)
        if b.requires_grad:
            positive = a.data > 0
            log_a = np.log(np.where(positive, a.data, 1))
            gb = _unbroadcast(g * out * log_a, b.shape)
        return ga, gb

    return Tensor._make(out, (a, b), vjp, "pow")


def _matmul_mismatch(shape_a: tuple, shape_b: tuple) -> str:
    """Explain why ``a @ b`` is undefined for these shapes."""
    if not shape_a or not shape_b:
        return (f"matmul: operands must have at least one dimension; got shapes "
                f"{shape_a} and {shape_b}")
    k_a = shape_a[-1]
    k_b = shape_b[0] if len(shape_b) == 1 else shape_b[-2]
    if k_a != k_b:
        return (f"matmul: shapes {shape_a} and {shape_b} are not aligned: {k_a} (last dim "
                f"of the first) != {k_b} (the second's "
                f"{'first' if len(shape_b) == 1 else 'second-to-last'} dim)")
    return (f"matmul: shapes {shape_a} and {shape_b} do not match: their batch dimensions "
            f"{shape_a[:-2]} and {shape_b[:-2]} do not broadcast")


def matmul(a, b) -> Tensor:
    r"""``a @ b`` with NumPy's rules (vectors, matrices, stacks of matrices).

    For matrices: $\partial L/\partial a = g\, b^\top$, $\partial L/\partial b = a^\top g$."""
    a, b = _pair(a, b)
    A, B = a.data, b.data
    try:
        out = A @ B
    except ValueError:
        raise ValueError(_matmul_mismatch(A.shape, B.shape)) from None

    if A.ndim == 2 and B.ndim == 2:  # the hot path of every dense layer
        def vjp(g):
            return (g @ B.T if a.requires_grad else None,
                    A.T @ g if b.requires_grad else None)

        return Tensor._make(out, (a, b), vjp, "matmul")

    def vjp_general(g):
        # Promote vectors to matrices, as matmul does, and differentiate that.
        A2 = A[None, :] if A.ndim == 1 else A
        B2 = B[:, None] if B.ndim == 1 else B
        g2 = g.reshape(np.broadcast_shapes(A2.shape[:-2], B2.shape[:-2])
                       + (A2.shape[-2], B2.shape[-1]))
        ga = gb = None
        if a.requires_grad:
            ga = _unbroadcast(g2 @ np.swapaxes(B2, -1, -2), A2.shape).reshape(A.shape)
        if b.requires_grad:
            gb = _unbroadcast(np.swapaxes(A2, -1, -2) @ g2, B2.shape).reshape(B.shape)
        return ga, gb

    return Tensor._make(out, (a, b), vjp_general, "matmul")


def linear(x, w, b=None) -> Tensor:
    r"""``x @ w + b`` as one node: the affine map $z = x W + b$ of a dense layer (a neuron's
    $z = w_0 + \sum_i w_i x_i$, rows of $x$ being samples).

    x: (n, n_in), w: (n_in, n_out), b: (n_out,) or None.
    $\partial L/\partial x = g W^\top$, $\partial L/\partial W = x^\top g$,
    $\partial L/\partial b = \sum_i g_i$ (over samples).
    The products use ``np.dot``, which for matrices is the same BLAS product as ``@``
    with less call overhead (it matters for tiny networks such as the XOR network)."""
    return dense(x, w, b, _activations.linear)


def dense(x, w, b=None, activation=_activations.linear) -> Tensor:
    r"""activation(x @ w + b) as one node: a layer of neurons $h = g(x W + b)$.

    ``activation``: an element-wise :class:`~nnlearn.activations.Activation` (or its
    name).  Its element rules give $h$ and, in the backward pass,
    $\delta = \partial L / \partial z = g \cdot g'(z)$ (one kernel pass), from
    which linear's VJP follows: $\partial L/\partial x = \delta W^T$,
    $\partial L/\partial W = x^T \delta$, $\partial L/\partial b =
    \sum_i \delta_i$.  Same values, bit for bit, as :func:`linear` followed by
    :func:`activation`, with one node less; z is kept only when the activation's
    derivative needs it (``needs_input``).
    """
    spec = _activations.get(activation, "activation") if isinstance(activation, str) \
        else activation
    if not getattr(spec, "elementwise", False):
        raise ValueError(f"dense: activation must be an element-wise activation of "
                         f"nnlearn.activations; got {activation!r}")
    op = "linear" if spec is _activations.linear else f"dense_{spec.name}"
    x, w = _pair(x, w)
    X, W = x.data, w.data
    if X.ndim != 2 or W.ndim != 2:
        raise ValueError(f"{op}: x and w must be matrices; got shapes {X.shape} and {W.shape}")
    if X.shape[1] != W.shape[0]:
        raise ValueError(_matmul_mismatch(X.shape, W.shape))
    z = np.dot(X, W)
    parents = (x, w)
    if b is not None:
        b = b if isinstance(b, Tensor) else constant(b, z.dtype)
        if b.shape != (W.shape[1],):
            raise ValueError(f"{op}: b must have shape ({W.shape[1]},); got {b.shape}")
        z = z + b.data if b.dtype != z.dtype else np.add(z, b.data, out=z)
        parents = (x, w, b)
    out = _forward(spec, z)
    kept = z if spec.needs_input else out

    def vjp(g):
        dz = _backward(spec, g, kept, out)
        grads = (np.dot(dz, W.T) if x.requires_grad else None,
                 np.dot(X.T, dz) if w.requires_grad else None)
        return grads if b is None else grads + (_column_sum(dz) if b.requires_grad else None,)

    return Tensor._make(out, parents, vjp, op)


# --------------------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------------------
def sum(a, axis=None, keepdims=False) -> Tensor:
    """Sum over ``axis`` (all axes by default); the gradient is $g$ copied over the axis."""
    a = as_operand(a)
    axes = _axes(axis, a.ndim)
    out = np.add.reduce(a.data, axis=axes, keepdims=keepdims)
    return Tensor._make(out, (a,), lambda g: (_expand_to(g, a.shape, axes, keepdims),), "sum")


def sum_of_squares(a) -> Tensor:
    r"""$\sum_i a_i^2$, the squared L2 norm (an L2 penalty), as one node: one pass and no
    temporary, where ``(a * a).sum()`` takes three nodes; $\partial/\partial a = 2a$."""
    a = as_operand(a)
    out = np.vdot(a.data, a.data)
    return Tensor._make(np.asarray(out, dtype=a.dtype), (a,),
                        lambda g: (a.data * (2 * float(g)),), "sum_of_squares")


def mean(a, axis=None, keepdims=False) -> Tensor:
    """Mean over ``axis``; the gradient is $g / n$ copied over the axis."""
    a = as_operand(a)
    axes = _axes(axis, a.ndim)
    n = a.data.size if axes is None else int(np.prod([a.shape[i] for i in axes]))
    if a.dtype == np.float16:  # as np.mean does: a float32 sum (a float16 one overflows)
        out = (np.add.reduce(a.data, axis=axes, keepdims=keepdims, dtype=np.float32)
               / n).astype(np.float16)
    else:
        out = np.add.reduce(a.data, axis=axes, keepdims=keepdims) / n

    def vjp(g):
        return (_expand_to(g / n, a.shape, axes, keepdims),)

    return Tensor._make(out, (a,), vjp, "mean")


def _extremum(a, axis, keepdims, reduce, name) -> Tensor:
    a = as_operand(a)
    axes = _axes(axis, a.ndim)
    kept = reduce(a.data, axis=axes, keepdims=True)
    out = kept if keepdims else (kept.reshape(()) if axes is None else np.squeeze(kept, axes))

    def vjp(g):
        # The gradient goes to the extreme element(s); ties share it equally.
        hit = (a.data == kept).astype(a.dtype)
        share = hit / hit.sum(axis=axes, keepdims=True)
        g = g if keepdims else (np.reshape(g, kept.shape))
        return (share * g,)

    return Tensor._make(out, (a,), vjp, name)


def max(a, axis=None, keepdims=False) -> Tensor:
    """Maximum over ``axis``;  the gradient flows to the maximal element(s)."""
    return _extremum(a, axis, keepdims, np.max, "max")


def min(a, axis=None, keepdims=False) -> Tensor:
    """Minimum over ``axis``;  the gradient flows to the minimal element(s)."""
    return _extremum(a, axis, keepdims, np.min, "min")


def logsumexp(a, axis=None, keepdims=False) -> Tensor:
    r"""$\ln \sum_i e^{a_i}$, computed as $m + \ln \sum_i e^{a_i - m}$ with $m = \max a$; the
    gradient is $\operatorname{softmax}(a)\, g$."""
    a = as_operand(a)
    axes = _axes(axis, a.ndim)
    kept = numerics.logsumexp(a.data, axes)
    out = kept if keepdims else (kept.reshape(()) if axes is None else np.squeeze(kept, axes))

    def vjp(g):
        g = g if keepdims else np.reshape(g, kept.shape)
        return (np.exp(a.data - kept) * g,)

    return Tensor._make(out, (a,), vjp, "logsumexp")


# --------------------------------------------------------------------------------------
# elementwise functions
# --------------------------------------------------------------------------------------
def exp(a) -> Tensor:
    r"""$e^a$; $\partial/\partial a = e^a$."""
    a = as_operand(a)
    out = np.exp(a.data)
    return Tensor._make(out, (a,), lambda g: (g * out,), "exp")


def log(a) -> Tensor:
    r"""$\ln a$; $\partial/\partial a = 1/a$."""
    a = as_operand(a)
    return Tensor._make(np.log(a.data), (a,), lambda g: (g / a.data,), "log")


def sqrt(a) -> Tensor:
    r"""$\sqrt a$; $\partial/\partial a = 1 / (2 \sqrt a)$."""
    a = as_operand(a)
    out = np.sqrt(a.data)
    return Tensor._make(out, (a,), lambda g: (g / (2 * out),), "sqrt")


def abs(a) -> Tensor:
    r"""$\lvert a\rvert$; $\partial/\partial a = \operatorname{sign}(a)$ (0 at 0)."""
    a = as_operand(a)
    return Tensor._make(np.abs(a.data), (a,), lambda g: (g * np.sign(a.data),), "abs")


def sign(a) -> Tensor:
    r"""$\operatorname{sign}(a) \in \{-1, 0, 1\}$; its derivative is 0 wherever it exists."""
    a = as_operand(a)
    return Tensor._make(np.sign(a.data), (a,), lambda g: (np.zeros_like(a.data),), "sign")


def clip(a, min=None, max=None) -> Tensor:
    r"""$a$ limited to $[\text{min}, \text{max}]$; $\partial/\partial a = 1$ inside the
    interval, 0 outside."""
    a = as_operand(a)
    if min is None and max is None:
        raise ValueError("clip: give min, max or both")
    out = np.clip(a.data, min, max)

    def vjp(g):
        inside = np.ones(a.shape, dtype=bool)
        if min is not None:
            inside &= a.data >= min
        if max is not None:
            inside &= a.data <= max
        return (g * inside,)

    return Tensor._make(out, (a,), vjp, "clip")


def _select(a, b, a_wins, name) -> Tensor:
    a, b = _pair(a, b)
    out = np.where(a_wins(a.data, b.data), a.data, b.data)

    def vjp(g):
        # Ties split the gradient equally between the two inputs.
        share_a = np.where(a.data == b.data, 0.5, a_wins(a.data, b.data)).astype(g.dtype)
        return (_unbroadcast(g * share_a, a.shape) if a.requires_grad else None,
                _unbroadcast(g * (1 - share_a), b.shape) if b.requires_grad else None)

    return Tensor._make(out.astype(np.result_type(a.data, b.data), copy=False), (a, b), vjp, name)


def maximum(a, b) -> Tensor:
    r"""Elementwise $\max(a, b)$; the gradient goes to the larger input (halved on ties)."""
    return _select(a, b, np.greater, "maximum")


def minimum(a, b) -> Tensor:
    r"""Elementwise $\min(a, b)$; the gradient goes to the smaller input (halved on ties)."""
    return _select(a, b, np.less, "minimum")


def where(condition, a, b) -> Tensor:
    """a where ``condition`` holds, else b;  the gradient is routed the same way."""
    cond = np.asarray(condition.data if isinstance(condition, Tensor) else condition, dtype=bool)
    a, b = _pair(a, b)
    out = np.where(cond, a.data, b.data)

    def vjp(g):
        return (_unbroadcast(np.where(cond, g, 0), a.shape) if a.requires_grad else None,
                _unbroadcast(np.where(cond, 0, g), b.shape) if b.requires_grad else None)

    return Tensor._make(out, (a, b), vjp, "where")


# --------------------------------------------------------------------------------------
# activations: one node for any element-wise activation of nnlearn.activations
# --------------------------------------------------------------------------------------
_backward_kernels: dict = {}  # Activation -> its backward rule as a nnlearn.lowering.loops loop


def _backward_kernel(spec):
    kernel = _backward_kernels.get(spec)
    if kernel is None:
        kernel = _backward_kernels[spec] = elementwise(arrays=4)(spec.backward)
    return kernel


def _forward(spec, z: np.ndarray) -> np.ndarray:
    """$h = g(z)$: the activation's element rule evaluated by NumPy on the whole array."""
    if spec is _activations.linear:
        return z
    if spec.overflows:
        with np.errstate(over="ignore", under="ignore"):  # e^-z = inf: sigmoid 0, as the rule says
            h = spec.function(z, z.dtype.type(1))
    else:
        h = spec.function(z, z.dtype.type(1))
    return h if type(h) is np.ndarray else np.asarray(h, z.dtype)


def _backward(spec, g: np.ndarray, z: np.ndarray, h: np.ndarray) -> np.ndarray:
    r"""$\partial L/\partial z = g \cdot g'(z)$: the activation's backward rule, one kernel pass
    (``z`` may be ``h`` when the rule reads only the output)."""
    if spec is _activations.linear:
        return g
    dz = np.empty(h.shape, np.result_type(g, h))
    _backward_kernel(spec)(dz, g, z, h, 1)
    return dz


def activation(a, spec) -> Tensor:
    r"""$h = g(a)$ for an element-wise activation ``spec`` of :mod:`nnlearn.activations`
    (an :class:`~nnlearn.activations.Activation`: its element rules give the value and
    $\partial L/\partial a = g \cdot g'(a)$)."""
    a = as_operand(a)
    z = a.data
    h = _forward(spec, z)
    kept = z if spec.needs_input else h
    return Tensor._make(h, (a,), lambda g: (_backward(spec, g, kept, h),), spec.name)


def tanh(a) -> Tensor:
    r"""$\tanh a$; $\partial/\partial a = 1 - \tanh^2 a$."""
    return activation(a, _activations.tanh)


def sigmoid(a) -> Tensor:
    r"""The logistic function $\sigma(a) = 1 / (1 + e^{-a})$;
    $\partial/\partial a = \sigma (1 - \sigma)$."""
    return activation(a, _activations.sigmoid)


def relu(a) -> Tensor:
    r"""$\max(a, 0)$; $\partial/\partial a = 1$ for $a > 0$, else 0 (read from the output:
    $h > 0$)."""
    return activation(a, _activations.relu)


def arctan(a) -> Tensor:
    r"""$\arctan a$, an S-shaped activation with range $(-\pi/2, \pi/2)$;
    $\partial/\partial a = 1 / (1 + a^2)$."""
    return activation(a, _activations.arctan)


def binary_step(a) -> Tensor:
    r"""The Heaviside step: 1 for $a \ge 0$, else 0 (the threshold unit).  Its derivative
    is 0 everywhere it exists, so no gradient flows through it: it cannot be trained by
    backpropagation (which is why the perceptron rule exists)."""
    return activation(a, _activations.binary_step)


def softplus(a) -> Tensor:
    r"""$\ln(1 + e^a)$; $\partial/\partial a = \sigma(a)$."""
    return activation(a, _activations.softplus)


def leaky_relu(a, alpha=0.3) -> Tensor:
    r"""$a$ for $a > 0$, $\alpha a$ otherwise (Keras's default $\alpha = 0.3$);
    $\partial/\partial a = 1$ or $\alpha$.  Another $\alpha$ than the registered
    activation's is the composition $\operatorname{relu}(a) - \alpha \operatorname{relu}(-a)$
    (no derivative of its own)."""
    if alpha == 0.3:
        return activation(a, _activations.leaky_relu)
    a = as_operand(a)
    return sub(relu(a), mul(alpha, relu(neg(a))))


def elu(a, alpha=1.0) -> Tensor:
    r"""$a$ for $a > 0$, $\alpha (e^a - 1)$ otherwise (Clevert et al. 2016);
    $\partial/\partial a = 1$ or $\alpha e^a$.  Another $\alpha$ than the registered
    activation's (1) is the composition $\operatorname{relu}(a) + \alpha
    \operatorname{elu}_1(\min(a, 0))$ (no derivative of its own)."""
    if alpha == 1.0:
        return activation(a, _activations.elu)
    a = as_operand(a)
    return add(relu(a), mul(alpha, activation(minimum(a, 0.0), _activations.elu)))


def softmax(a, axis=-1) -> Tensor:
    r"""$s_j = e^{a_j} / \sum_k e^{a_k}$ along ``axis``; VJP:
    $s \odot (g - \sum_k g_k s_k)$."""
    a = as_operand(a)
    axes = _axes(axis, a.ndim)
    with np.errstate(over="ignore"):  # a - m below -max: -inf, and e^-inf = 0
        e = np.exp(a.data - numerics.stable_max(a.data, axes))
    out = e / e.sum(axis=axes, keepdims=True)

    def vjp(g):
        return (out * (g - np.sum(g * out, axis=axes, keepdims=True)),)

    return Tensor._make(out, (a,), vjp, "softmax")


def log_softmax(a, axis=-1) -> Tensor:
    r"""$a_j - \ln \sum_k e^{a_k}$ along ``axis``, as $(a_j - m) - \ln \sum_k e^{a_k - m}$ with
    $m = \max a$ (right for huge equal logits too); VJP:
    $g - \operatorname{softmax}(a) \sum_k g_k$."""
    a = as_operand(a)
    axes = _axes(axis, a.ndim)
    out = numerics.log_softmax(a.data, axes)

    def vjp(g):
        return (g - np.exp(out) * np.sum(g, axis=axes, keepdims=True),)

    return Tensor._make(out, (a,), vjp, "log_softmax")


# --------------------------------------------------------------------------------------
# shape ops
# --------------------------------------------------------------------------------------
def reshape(a, shape) -> Tensor:
    """The same values in a new shape;  the gradient is reshaped back."""
    a = as_operand(a)
    try:
        out = a.data.reshape(shape)
    except ValueError:
        raise ValueError(f"reshape: cannot reshape a tensor of shape {a.shape} "
                         f"({a.size} elements) into shape {tuple(shape)}") from None
    return Tensor._make(out, (a,), lambda g: (g.reshape(a.shape),), "reshape")


def transpose(a, axes=None) -> Tensor:
    """Permute the axes (reverse them by default);  the gradient is permuted back."""
    a = as_operand(a)
    out = np.transpose(a.data, axes)
    inverse = None if axes is None else tuple(np.argsort(normalize_axis_tuple(axes, a.ndim)))
    return Tensor._make(out, (a,), lambda g: (np.transpose(g, inverse),), "transpose")


def _index_part(part):
    if isinstance(part, Tensor):
        part = part.data
        if part.dtype.kind == "f":
            as_int = part.astype(np.intp)
            if not np.array_equal(as_int, part):
                raise IndexError("a tensor used as an index must hold integers")
            part = as_int
    return part


def getitem(a, index) -> Tensor:
    """a[index]: slices, integers, boolean masks and integer arrays
    (e.g. ``log_p[np.arange(n), y]``);  the gradient is scattered back, summing
    where an element was picked more than once."""
    a = as_operand(a)
    index = tuple(_index_part(p) for p in index) if isinstance(index, tuple) else _index_part(index)
    parts = index if isinstance(index, tuple) else (index,)
    advanced = any(isinstance(p, (np.ndarray, list)) for p in parts)
    out = a.data[index]

    def vjp(g):
        # np.zeros, not zeros_like: the allocator's zeroed memory, where zeros_like fills
        # element by element (an LSTM(64) fit's two per batch: 0.42 ms, now half that)
        full = np.zeros(a.data.shape, a.data.dtype)
        if advanced:
            np.add.at(full, index, g)
        else:
            full[index] = g
        return (full,)

    return Tensor._make(out, (a,), vjp, "getitem")


def concatenate(tensors, axis=0) -> Tensor:
    """Join tensors along an existing axis;  the gradient is split back."""
    tensors = [as_operand(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: needs at least one tensor")
    out = np.concatenate([t.data for t in tensors], axis=axis)
    ax = normalize_axis_tuple(axis, out.ndim)[0]
    bounds = np.cumsum([t.shape[ax] for t in tensors])[:-1]

    def vjp(g):
        return tuple(np.split(g, bounds, axis=ax))

    return Tensor._make(out, tuple(tensors), vjp, "concatenate")


def stack(tensors, axis=0) -> Tensor:
    """Join same-shaped tensors along a new axis: the concatenation of each tensor given
    a new axis of length 1 there (so it needs no VJP of its own)."""
    tensors = [as_operand(t) for t in tensors]
    if not tensors:
        raise ValueError("stack: needs at least one tensor")
    shapes = sorted({t.shape for t in tensors})
    if len(shapes) > 1:
        raise ValueError(f"stack: all tensors must have the same shape; got {shapes}")
    ax = normalize_axis_tuple(axis, tensors[0].ndim + 1)[0]
    return concatenate([reshape(t, t.shape[:ax] + (1,) + t.shape[ax:]) for t in tensors],
                       axis=ax)


# --------------------------------------------------------------------------------------
# fused losses (one node each: a loss is the last op of every training step)
# --------------------------------------------------------------------------------------
_REDUCTIONS = ("mean", "sum", "none")


def _reduce_loss(per_sample: np.ndarray, reduction: str, op: str):
    """Reduce per-sample losses; returns the value and the weight of each sample in it."""
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: reduction must be one of {_REDUCTIONS}; got {reduction!r}")
    if reduction == "mean":  # summed in float64: a float16 sum must not overflow early
        n = per_sample.size or 1
        with np.errstate(over="ignore"):
            total = np.add.reduce(per_sample, axis=None, dtype=np.float64)
            if np.isinf(total) and np.isfinite(per_sample).all():  # near float64's max
                largest = np.abs(per_sample).max().astype(np.float64)
                share = np.add.reduce(per_sample / largest, axis=None, dtype=np.float64) / n
                return largest * share, 1.0 / n  # share <= 1: no overflow
        return total / n, 1.0 / n
    if reduction == "sum":
        return np.add.reduce(per_sample, axis=None, dtype=np.float64), 1.0
    return per_sample, None


def _in_dtype(value, dtype) -> np.ndarray:
    """A reduced loss in the logits' dtype (inf where the true value exceeds it)."""
    with np.errstate(over="ignore"):
        return np.asarray(value, dtype=dtype)


def _class_targets(labels, logits: np.ndarray):
    """Integer class labels (shape logits.shape[:-1]) or a distribution per sample
    (logits' shape); returns (int_labels, None) or (None, probabilities)."""
    y = labels.data if isinstance(labels, Tensor) else np.asarray(labels)
    if y.dtype.kind not in "iubf":
        raise TypeError(f"softmax_cross_entropy: labels must be numeric; got dtype {y.dtype}")
    n_classes = logits.shape[-1]
    if y.shape == logits.shape:
        return None, y.astype(logits.dtype, copy=False)
    if y.shape == logits.shape[:-1]:
        as_int = y.astype(np.intp)
        if y.dtype.kind == "f" and not np.array_equal(as_int, y):
            raise ValueError("softmax_cross_entropy: labels of shape logits.shape[:-1] must "
                             "be class indices (integers)")
        if as_int.size and (as_int.min() < 0 or as_int.max() >= n_classes):
            raise ValueError(f"softmax_cross_entropy: labels must lie in [0, {n_classes}); "
                             f"got values from {as_int.min()} to {as_int.max()}")
        return as_int, None
    raise ValueError(f"softmax_cross_entropy: labels must have shape {logits.shape[:-1]} "
                     f"(class indices) or {logits.shape} (one-hot or probabilities); "
                     f"got {y.shape}")


def softmax_cross_entropy(logits, labels, reduction="mean") -> Tensor:
    r"""Cross-entropy of softmax(logits) against labels, as one node.

    For sample $i$ with logits $z_i$ and one-hot (or probability) target $y_i$:

    $$
    L_i = -\sum_k y_{ik} \ln \operatorname{softmax}(z_i)_k, \qquad
    \frac{\partial L_i}{\partial z_i} = \operatorname{softmax}(z_i) \sum_k y_{ik} - y_i
    $$

    ($= \operatorname{softmax} - \operatorname{onehot}$; Bridle 1990), with
    $\ln \operatorname{softmax}(z) = (z - m) - \ln \sum_k e^{z_k - m}$, $m = \max z$: never
    $\operatorname{logsumexp}(z) - z$, whose rounded logsumexp loses the answer for large
    logits (float32 $[10^8, 10^8]$ with label 0 would give 0 and gradient $[0, 1]$ instead
    of $\ln 2$ and $[-0.5, 0.5]$).  Finite for any finite logits.  The class axis is the
    last one.

    Parameters
    ----------
    logits : Tensor of shape (..., n_classes)
    labels : array of shape (...) with class indices, or (..., n_classes) with one-hot
        rows or probabilities.  Labels get no gradient.
    reduction : {"mean", "sum", "none"}
        Mean over samples (default, Theano's ``-T.mean``), sum, or per-sample losses."""
    z = as_operand(logits)
    if z.ndim == 0:
        raise ValueError("softmax_cross_entropy: logits need a class axis; got a scalar")
    index, probs = _class_targets(labels, z.data)
    log_p = numerics.log_softmax(z.data, (z.ndim - 1,))
    if index is not None:
        per_sample = -np.take_along_axis(log_p, index[..., None], axis=-1)[..., 0]
    else:
        # 0 * log p is 0 even where log p is -inf (a logit far below the others)
        terms = np.multiply(probs, log_p, out=np.zeros_like(log_p), where=probs != 0)
        per_sample = -np.sum(terms, axis=-1)
    out, weight = _reduce_loss(per_sample, reduction, "softmax_cross_entropy")

    def vjp(g):
        p = np.exp(log_p)
        if index is not None:
            np.put_along_axis(p, index[..., None],
                              np.take_along_axis(p, index[..., None], axis=-1) - 1, axis=-1)
        else:
            p = p * probs.sum(axis=-1, keepdims=True) - probs
        scale = float(g) * weight if weight is not None else g[..., None]
        return (p * scale,)

    return Tensor._make(_in_dtype(out, z.dtype), (z,), vjp, "softmax_cross_entropy")


def sigmoid_binary_cross_entropy(logits, targets, reduction="mean") -> Tensor:
    r"""Binary cross-entropy of sigmoid(logits) against targets in $[0, 1]$, as one node:

    $$
    \begin{aligned}
    L &= -t \ln \sigma(z) - (1 - t) \ln(1 - \sigma(z))
       = (\max(z, 0) - z t) + \ln(1 + e^{-|z|}), \\
    \frac{\partial L}{\partial z} &= \sigma(z) - t .
    \end{aligned}
    $$

    The large terms cancel before the small one is added
    ($\operatorname{softplus}(z) - z t$ would round $\ln(1 + e^{-|z|})$ away next to a large
    $z$).  Finite for any finite logits.  Targets get no gradient.

    Parameters
    ----------
    logits : Tensor
    targets : array of the same shape (or broadcastable to it)
    reduction : {"mean", "sum", "none"}
        Mean over all elements (default), sum, or elementwise losses."""
    z = as_operand(logits)
    t = targets.data if isinstance(targets, Tensor) else np.asarray(targets)
    if t.dtype.kind not in "iubf":
        raise TypeError("sigmoid_binary_cross_entropy: targets must be numeric; "
                        f"got dtype {t.dtype}")
    t = t.astype(z.dtype, copy=False)
    try:
        fits = t.shape == z.shape or np.broadcast_shapes(z.shape, t.shape) == z.shape
    except ValueError:
        fits = False
    if not fits:  # e.g. logits (n, 1) with targets (n,) would silently give (n, n)
        raise ValueError(f"sigmoid_binary_cross_entropy: targets of shape {t.shape} do not "
                         f"match logits of shape {z.shape}")
    one = z.dtype.type(1)
    elementwise = _links.logistic_loss(z.data, t, one)
    out, weight = _reduce_loss(elementwise, reduction, "sigmoid_binary_cross_entropy")

    def vjp(g):
        with np.errstate(over="ignore"):  # e^-z = inf: sigmoid 0, as the rule says
            delta = _activations.sigmoid.function(z.data, one) - t
        return (delta * (float(g) * weight if weight is not None else g),)

    return Tensor._make(_in_dtype(out, z.dtype), (z,), vjp, "sigmoid_binary_cross_entropy")


def mean_squared_error(a, b) -> Tensor:
    r"""The mean of $(a - b)^2$ over all elements, as one node (the squared-error cost of
    regression; equal to Keras's mean over the last axis, then over the samples):

    $$
    L = \frac1N \sum_i (a_i - b_i)^2, \qquad
    \frac{\partial L}{\partial a} = \frac{2 (a - b)}{N} = -\frac{\partial L}{\partial b}.
    $$

    Symmetric, so the order of prediction and target does not matter; the shapes must
    be equal (no broadcasting: a target of the wrong shape is an error, not a grid)."""
    a, b = _pair(a, b)
    if a.shape != b.shape:
        raise ValueError(f"mean_squared_error: the shapes must be equal; got {a.shape} "
                         f"and {b.shape}")
    error = a.data - b.data
    n = error.size or 1
    if error.dtype == np.float16:  # a float32 sum, as np.mean would (float16 overflows)
        wide = error.astype(np.float32)
        with np.errstate(over="ignore"):  # a mean beyond float16's max is inf
            out = np.float16(np.vdot(wide, wide) / n)
    else:
        out = np.vdot(error, error) / n

    def vjp(g):
        ga = error * (2 * float(g) / n)
        return ga if a.requires_grad else None, -ga if b.requires_grad else None

    return Tensor._make(np.asarray(out, dtype=error.dtype), (a, b), vjp, "mean_squared_error")


_activations.register_engine(sys.modules[__name__])  # activations called on Tensors
