"""Reverse-mode automatic differentiation on NumPy arrays."""

from .gradcheck import GradcheckError, gradcheck
from .ops import (
    abs, add, clip, concatenate, div, exp, getitem, log, log_softmax, logsumexp, matmul,
    max, maximum, mean, min, minimum, mul, neg, pow, relu, reshape, sigmoid,
    sigmoid_binary_cross_entropy, sign, softmax, softmax_cross_entropy, softplus, sqrt,
    stack, sub, sum, tanh, transpose, where,
)
from .tensor import Tensor, enable_grad, grad, is_grad_enabled, no_grad

__all__ = [
    "Tensor", "grad", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
    "GradcheckError",
    "add", "sub", "mul", "div", "neg", "pow", "matmul",
    "sum", "mean", "max", "min", "logsumexp",
    "exp", "log", "sqrt", "abs", "sign", "clip", "maximum", "minimum", "where",
    "tanh", "sigmoid", "relu", "softplus", "softmax", "log_softmax",
    "reshape", "transpose", "getitem", "concatenate", "stack",
    "softmax_cross_entropy", "sigmoid_binary_cross_entropy",
]
