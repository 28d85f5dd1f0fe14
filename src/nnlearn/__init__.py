"""nnlearn: the classic neural-network curriculum, from first principles on NumPy.

The engine (Theano's ``T.grad`` written against NumPy)::

    import nnlearn as nl
    a = nl.Tensor(-0.5, requires_grad=True)
    cost = ((a * x - y) ** 2).mean()
    (grad_a,) = nl.grad(cost, [a])
"""

import importlib as _importlib

from . import _moved  # first: the old names of moved modules (nnlearn.recurrent, ...) import
from . import (activations, autograd, callbacks, data, datasets, initializers, layers, links,
               losses, lowering, metrics, numerics, optimizers, regularizers, schedules, utils)
from .autograd import *  # noqa: F403  (Tensor, grad, no_grad, gradcheck and every op)
from ._version import __version__  # noqa: F401
from .backend import floatx, set_floatx
from .lr_finder import lr_find
from .models import Model, Sequential, load_model
from .models.graph import Input


# The scikit-learn-style modules are imported on first use: with scikit-learn installed
# they import it, which would make ``import nnlearn`` take a second instead of ~0.1 s.
# So are the figures and the experiments (``nl.plot.plot_history(history)``), which
# import matplotlib only when a figure is drawn.
_LAZY = ("base", "classic", "diagnostics", "estimators", "model_selection", "preprocessing",
         "plot", "experiments")

# ``from nnlearn import *`` leaves Python's builtins alone: the ops named like them (sum,
# max, min, abs, pow) stay reachable as nl.sum, nl.max, ... but are not star-exported.
_BUILTIN_NAMES = {"sum", "max", "min", "abs", "pow", "round", "all", "any"}

__all__ = [*(name for name in autograd.__all__ if name not in _BUILTIN_NAMES),
           "floatx", "set_floatx", "Input", "Model", "Sequential", "load_model", "lr_find",
           "numerics",
           "activations", "callbacks", "data", "datasets", "initializers", "layers",
           "links", "losses", "lowering", "metrics", "optimizers", "regularizers",
           "schedules", "utils", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return _importlib.import_module(f".{name}", __name__)
    if f"{__name__}.{name}" in _moved.MOVED:
        return _importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'nnlearn' has no attribute {name!r}")


def __dir__():
    """The public names and the lazy modules (not the private helpers above: _moved, ...)."""
    public = (name for name in globals() if not name.startswith("_") or name.startswith("__"))
    return sorted([*public, *_LAZY])
