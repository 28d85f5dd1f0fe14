"""nnlearn: the classic neural-network curriculum, from first principles on NumPy.

The engine (seed 000's ``T.grad`` written against NumPy)::

    import nnlearn as nl
    a = nl.Tensor(-0.5, requires_grad=True)
    cost = ((a * x - y) ** 2).mean()
    (grad_a,) = nl.grad(cost, [a])
"""

from . import (activations, autograd, callbacks, classic, datasets, initializers, layers,
               losses, metrics, optimizers, preprocessing, regularizers, schedules, utils)
from .autograd import *  # noqa: F403  (Tensor, grad, no_grad, gradcheck and every op)
from .backend import floatx, set_floatx
from .models import Sequential, load_model

__version__ = "0.1.0"

__all__ = [*autograd.__all__, "floatx", "set_floatx", "Sequential", "load_model",
           "activations", "callbacks", "classic", "datasets", "initializers", "layers",
           "losses", "metrics", "optimizers", "preprocessing", "regularizers", "schedules",
           "utils"]
