"""scikit-learn compatible estimators on nnlearn's engine.

- :mod:`.mlp`: ``MLPClassifier`` and ``MLPRegressor``, drop-in replacements for
  scikit-learn's (same parameters, defaults, fitted attributes, loss curve);
- :mod:`.wrappers`: ``ModelClassifier`` and ``ModelRegressor``, any compiled nnlearn
  model as an estimator;
- :mod:`.parameters`: the constructor parameters' checks, one table per estimator;
- :mod:`.fitting`: scikit-learn's initial weights, shuffling and stopping rules.
"""

from .fitting import ConvergenceWarning
from .mlp import MLPClassifier, MLPRegressor
from .parameters import InvalidParameterError
from .wrappers import ModelClassifier, ModelRegressor


__all__ = ["MLPClassifier", "MLPRegressor", "ModelClassifier", "ModelRegressor",
           "ConvergenceWarning", "InvalidParameterError"]
