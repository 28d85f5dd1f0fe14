"""scikit-learn's estimator conventions, without needing scikit-learn.

``__init__`` only stores its arguments; ``fit`` validates the data, sets the fitted
attributes (names ending in ``_``) and returns ``self``; ``get_params`` / ``set_params``
read and write the constructor arguments.

When scikit-learn is installed, these classes derive from its ``BaseEstimator`` and
mixins, so nnlearn's estimators are scikit-learn estimators (tags, ``clone``,
``Pipeline``, ``GridSearchCV``); without it, the same methods are defined here.
"""

from __future__ import annotations

import inspect

import numpy as np

from ._validation import check_array, check_X_y

try:  # optional: scikit-learn's bases give tags, clone and pipelines for free
    from sklearn.base import BaseEstimator as _SklearnBase
    from sklearn.base import ClassifierMixin as _SklearnClassifier
    from sklearn.base import RegressorMixin as _SklearnRegressor
    from sklearn.utils.multiclass import check_classification_targets
    from sklearn.utils.validation import column_or_1d, validate_data
except ImportError:  # pragma: no cover - exercised when scikit-learn is absent
    _SklearnBase = _SklearnClassifier = _SklearnRegressor = object
    validate_data = None

__all__ = ["BaseEstimator", "ClassifierMixin", "RegressorMixin", "check_array", "check_X_y",
           "check_is_fitted", "NotFittedError", "validate_fit", "validate_predict"]


try:
    from sklearn.exceptions import NotFittedError as _SklearnNotFitted
except ImportError:  # pragma: no cover
    class _SklearnNotFitted(Exception):
        """Stands in for scikit-learn's NotFittedError when it is absent."""


class NotFittedError(_SklearnNotFitted, ValueError, AttributeError):
    """An estimator was used before ``fit`` (scikit-learn's NotFittedError when it is
    installed)."""


_HAVE_SKLEARN = _SklearnBase is not object


class BaseEstimator(_SklearnBase):
    """get_params / set_params / repr from the constructor's signature (scikit-learn's
    own when it is installed)."""

    if not _HAVE_SKLEARN:
        @classmethod
        def _get_param_names(cls) -> list:
            signature = inspect.signature(cls.__init__)
            return [name for name, p in signature.parameters.items()
                    if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]

        def get_params(self, deep: bool = True) -> dict:
            return {name: getattr(self, name) for name in self._get_param_names()}

        def set_params(self, **params):
            valid = self._get_param_names()
            for name, value in params.items():
                if name not in valid:
                    raise ValueError(f"Invalid parameter {name!r} for estimator "
                                     f"{type(self).__name__}(). Valid parameters are: "
                                     f"{sorted(valid)}.")
                setattr(self, name, value)
            return self

        def __repr__(self):
            defaults = {name: p.default for name, p in
                        inspect.signature(type(self).__init__).parameters.items()}
            changed = [f"{k}={v!r}" for k, v in self.get_params().items()
                       if not (isinstance(v, (int, float, str, bool, type(None)))
                               and v == defaults.get(k))]
            return f"{type(self).__name__}({', '.join(changed)})"


class ClassifierMixin(_SklearnClassifier):
    """Marks a classifier; ``score`` is the mean accuracy.  Put it before
    BaseEstimator in the bases, as scikit-learn requires."""

    _estimator_type = "classifier"

    if not _HAVE_SKLEARN:
        def score(self, X, y, sample_weight=None) -> float:
            """Mean accuracy of ``predict(X)`` against ``y``."""
            return float(np.mean(self.predict(X) == np.asarray(y)))


class RegressorMixin(_SklearnRegressor):
    """Marks a regressor; ``score`` is R^2 = 1 - SS_res / SS_tot (averaged over
    outputs)."""

    _estimator_type = "regressor"

    if not _HAVE_SKLEARN:
        def score(self, X, y, sample_weight=None) -> float:
            return r2_score(y, self.predict(X))


def r2_score(y, prediction) -> float:
    """R^2 = 1 - SS_res / SS_tot per output, averaged (0 for a constant target)."""
    y = np.asarray(y, dtype=float)
    prediction = np.asarray(prediction, dtype=float).reshape(y.shape)
    residual = np.sum((y - prediction) ** 2, axis=0)
    total = np.sum((y - y.mean(axis=0)) ** 2, axis=0)
    return float(np.mean(np.where(total > 0, 1 - residual / np.where(total > 0, total, 1),
                                  0.0)))


def check_is_fitted(estimator, attribute: str) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has ``attribute`` (set by fit).

    Parameters
    ----------
    estimator : object
        The estimator to check.
    attribute : str
        A fitted attribute's name, e.g. ``"coef_"``.
    """
    if not hasattr(estimator, attribute):
        raise NotFittedError(f"this {type(estimator).__name__} is not fitted yet: call fit "
                             "first")


def _float_dtype(X, dtype):
    """A dtype, or with a tuple of float dtypes (scikit-learn's convention) X's own one
    if listed, else the first."""
    if not isinstance(dtype, (tuple, list)):
        return dtype
    own = getattr(X, "dtype", None)
    return own if own in dtype else dtype[0]


def _sparse(X) -> bool:
    return hasattr(X, "tocsr") or type(X).__module__.startswith("scipy.sparse")


def _densify(X, accept_sparse: bool):
    """A scipy.sparse X as a dense array when ``accept_sparse`` (after checking that
    its stored values are finite); else a clear TypeError."""
    if not accept_sparse:
        raise TypeError("Sparse data was passed, but dense data is required. Use "
                        "'.toarray()' to convert to a dense numpy array.")
    values = getattr(X, "data", None)
    if values is not None and values.dtype.kind == "f" and not np.all(np.isfinite(values)):
        raise ValueError("Input X contains NaN or infinity.")
    return X.toarray()


def validate_fit(estimator, X, y, reset: bool = True, dtype=np.float64, multi_output=False,
                 accept_sparse: bool = False):
    """(X, y) for ``fit``: X 2-D and finite, y as long as X (a column vector becomes 1-D
    with a warning), class labels checked for classifiers; records ``n_features_in_``
    (and ``feature_names_in_`` for a DataFrame) when ``reset``.  Uses scikit-learn's
    ``validate_data`` (and so its messages) when it is installed.  With
    ``accept_sparse``, a CSR/CSC matrix is accepted and returned dense."""
    classifier = isinstance(estimator, ClassifierMixin)
    if validate_data is not None:
        X, y = validate_data(estimator, X, y, reset=reset, dtype=dtype,
                             multi_output=multi_output or classifier,
                             y_numeric=not classifier,
                             accept_sparse=["csr", "csc"] if accept_sparse else False)
        if _sparse(X):
            X = X.toarray()
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        if classifier:
            check_classification_targets(y)
        return X, y
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the "
                         "target y is None.")
    if _sparse(X):
        X = _densify(X, accept_sparse)
    X, y = check_X_y(X, y, dtype=_float_dtype(X, dtype))
    if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise ValueError("Input y contains NaN or infinity.")
    if classifier and y.dtype.kind == "f" and not np.all(y == np.round(y)):
        raise ValueError("Unknown label type: continuous. A classifier needs class labels")
    if reset:
        estimator.n_features_in_ = X.shape[1]
    elif X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
                         f"expecting {estimator.n_features_in_} features as input.")
    return X, y


def validate_predict(estimator, X, fitted_attribute: str, dtype=np.float64,
                     accept_sparse: bool = False) -> np.ndarray:
    """X for ``predict``: the estimator must be fitted, X 2-D and finite with the
    features it was fitted on (a CSR/CSC matrix made dense with ``accept_sparse``)."""
    check_is_fitted(estimator, fitted_attribute)
    if validate_data is not None:
        X = validate_data(estimator, X, reset=False, dtype=dtype,
                          accept_sparse=["csr", "csc"] if accept_sparse else False)
        return X.toarray() if _sparse(X) else X
    if _sparse(X):
        X = _densify(X, accept_sparse)
    X = check_array(X, dtype=_float_dtype(X, dtype))
    if X.shape[1] != estimator.n_features_in_:
        raise ValueError(f"X has {X.shape[1]} features, but {type(estimator).__name__} is "
                         f"expecting {estimator.n_features_in_} features as input.")
    return X
