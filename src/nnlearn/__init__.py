"""nnlearn: the classic neural-network curriculum, from first principles on NumPy.

The engine (seed 000's ``T.grad`` written against NumPy)::

    import nnlearn as nl
    a = nl.Tensor(-0.5, requires_grad=True)
    cost = ((a * x - y) ** 2).mean()
    (grad_a,) = nl.grad(cost, [a])
"""

from .autograd import (
    GradcheckError, Tensor, abs, add, clip, concatenate, div, enable_grad, exp, getitem,
    grad, gradcheck, is_grad_enabled, log, log_softmax, logsumexp, matmul, max, maximum,
    mean, min, minimum, mul, neg, no_grad, pow, relu, reshape, sigmoid,
    sigmoid_binary_cross_entropy, sign, softmax, softmax_cross_entropy, softplus, sqrt,
    stack, sub, sum, tanh, transpose, where,
)
from .backend import floatx, set_floatx

__version__ = "0.1.0"

__all__ = [
    "Tensor", "grad", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
    "GradcheckError", "floatx", "set_floatx",
    "add", "sub", "mul", "div", "neg", "pow", "matmul",
    "sum", "mean", "max", "min", "logsumexp",
    "exp", "log", "sqrt", "abs", "sign", "clip", "maximum", "minimum", "where",
    "tanh", "sigmoid", "relu", "softplus", "softmax", "log_softmax",
    "reshape", "transpose", "getitem", "concatenate", "stack",
    "softmax_cross_entropy", "sigmoid_binary_cross_entropy",
]
