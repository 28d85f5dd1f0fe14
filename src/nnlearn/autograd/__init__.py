"""Reverse-mode automatic differentiation on NumPy arrays."""

from . import conv, ops, recurrent
from .conv import *  # noqa: F403  (convolution and pooling; conv.__all__)
from .gradcheck import GradcheckError, gradcheck
from .graph import Graph, Node, graph
from .ops import *  # noqa: F403  (every op; the list is ops.__all__)
from .recurrent import *  # noqa: F403  (simple_rnn, lstm, gru, embedding)
from .tensor import Tensor, as_tensor, enable_grad, grad, is_grad_enabled, no_grad

__all__ = ["Tensor", "as_tensor", "grad", "no_grad", "enable_grad", "is_grad_enabled", "gradcheck",
           "GradcheckError", "graph", "Graph", "Node", *ops.__all__, *conv.__all__,
           *recurrent.__all__]
