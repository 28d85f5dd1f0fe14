"""scikit-learn's estimator conventions, without needing scikit-learn.

``__init__`` only stores its arguments; ``fit`` validates the data, sets the fitted
attributes (names ending in ``_``) and returns ``self``; ``get_params`` / ``set_params``
read and write the constructor arguments.
"""

from __future__ import annotations

import inspect

import numpy as np

__all__ = ["BaseEstimator", "ClassifierMixin", "RegressorMixin", "check_array", "check_X_y",
           "check_is_fitted", "NotFittedError"]


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class BaseEstimator:
    """get_params / set_params / repr from the constructor's signature."""

    @classmethod
    def _param_names(cls) -> list:
        signature = inspect.signature(cls.__init__)
        return [name for name, p in signature.parameters.items()
                if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params):
        valid = self._param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"invalid parameter {name!r} for {type(self).__name__}; "
                                 f"valid parameters: {', '.join(valid)}")
            setattr(self, name, value)
        return self

    def __repr__(self):
        defaults = {name: p.default for name, p in
                    inspect.signature(type(self).__init__).parameters.items()}
        changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                   if not (isinstance(v, (int, float, str, bool, type(None)))
                           and v == defaults.get(k))]
        return f"{type(self).__name__}({', '.join(changed)})"


class ClassifierMixin:
    _estimator_type = "classifier"

    def score(self, X, y) -> float:
        """Mean accuracy of ``predict(X)`` against ``y``."""
        return float(np.mean(self.predict(X) == np.asarray(y)))


class RegressorMixin:
    _estimator_type = "regressor"

    def score(self, X, y) -> float:
        """Coefficient of determination R^2 = 1 - SS_res / SS_tot."""
        y = np.asarray(y, dtype=float)
        residual = np.sum((y - self.predict(X)) ** 2)
        total = np.sum((y - y.mean(axis=0)) ** 2)
        return float(1 - residual / total) if total else 0.0


def check_array(X, name: str = "X", ensure_2d: bool = True, dtype=np.float64) -> np.ndarray:
    """X as a finite float array of shape (n_samples, n_features)."""
    if hasattr(X, "to_numpy"):
        X = X.to_numpy()
    try:
        X = np.asarray(X)
    except ValueError as err:
        raise ValueError(f"{name} must be a rectangular array: {err}") from None
    if X.dtype.kind not in "iubf":
        raise ValueError(f"{name} must be numeric; got dtype {X.dtype}")
    if ensure_2d:
        if X.ndim == 1:
            raise ValueError(f"{name} must be 2-D (n_samples, n_features); got shape "
                             f"{X.shape}: use X.reshape(-1, 1) for a single feature")
        if X.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_samples, n_features); got shape {X.shape}")
    X = X.astype(dtype, copy=False)
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinity")
    if len(X) == 0:
        raise ValueError(f"{name} has no samples")
    return X


def check_X_y(X, y, y_numeric: bool = False):
    X = check_array(X)
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if len(y) != len(X):
        raise ValueError(f"X and y must have the same number of samples; got {len(X)} and "
                         f"{len(y)}")
    if y_numeric:
        y = check_array(y, "y", ensure_2d=False)
    return X, y


def check_is_fitted(estimator, attribute: str) -> None:
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet: call fit "
                             "first")
