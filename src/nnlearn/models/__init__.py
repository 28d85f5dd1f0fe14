"""Models: what the layers become together, and everything done with them.

- :mod:`.model`: ``Model`` (subclass it and write ``call``): layers, weights, summary;
- :mod:`.trainer`: the training loop every model inherits (``compile``, the steps,
  ``fit``, ``evaluate``, ``predict``);
- :mod:`.sequential`: ``Sequential`` (a stack of layers), ``mlp``, ``python_source``;
- :mod:`.files`: the model file format (a zip of a JSON manifest and .npy arrays, no
  pickle) and its checks; :mod:`.loading`: ``load_model``;
- :mod:`.progress`: the progress bar of ``fit``.
"""

from .loading import load_model
from .model import Model
from .trainer import History
from .sequential import Sequential, mlp, python_source


__all__ = ["Model", "Sequential", "History", "load_model", "mlp", "python_source"]
