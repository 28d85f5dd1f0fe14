"""Feature transformations with scikit-learn's conventions (fit / transform /
fit_transform / inverse_transform): zero-centre and normalise the inputs, decorrelate
and whiten them with PCA; the bias column and polynomial features.

* StandardScaler:  x' = (x - mean) / std                 (z-score)
* MinMaxScaler:    x' = a + (x - min) (b - a) / (max - min), range (a, b)
* PCA:             x' = (x - mean) V_k, and divided by sqrt(eigenvalue) when whitening
* OneHotEncoder / to_categorical: class labels to one-hot rows
"""

from __future__ import annotations

import itertools

import numpy as np

from .base import BaseEstimator, check_array, check_is_fitted
from .utils import to_categorical

__all__ = ["add_bias", "PolynomialFeatures", "StandardScaler", "MinMaxScaler", "PCA",
           "OneHotEncoder", "to_categorical"]


def add_bias(X) -> np.ndarray:
    """Prepend a column of ones, so that h(x) = w . x includes w_0."""
    X = check_array(X)
    return np.hstack([np.ones((len(X), 1)), X])


class PolynomialFeatures(BaseEstimator):
    """All monomials of the features up to ``degree``: for one feature x,
    [1, x, x^2, ..., x^degree] (``[x**i for i in range(1, N)]``, plus the bias
    column unless ``include_bias=False``).  Several features give every product of total
    degree <= ``degree`` (``interaction_only`` keeps those without repeated factors), in
    scikit-learn's order."""

    def __init__(self, degree: int = 2, include_bias: bool = True,
                 interaction_only: bool = False):
        self.degree = degree
        self.include_bias = include_bias
        self.interaction_only = interaction_only

    def fit(self, X, y=None):
        """Record the number of input features and the monomials; returns self."""
        if not isinstance(self.degree, (int, np.integer)) or self.degree < 0:
            raise ValueError(f"degree must be a non-negative integer; got {self.degree!r}")
        X = check_array(X)
        self.n_features_in_ = X.shape[1]
        combine = (itertools.combinations if self.interaction_only
                   else itertools.combinations_with_replacement)
        start = 0 if self.include_bias else 1
        self.powers_ = [c for d in range(start, self.degree + 1)
                        for c in combine(range(self.n_features_in_), d)]
        self.n_output_features_ = len(self.powers_)
        return self

    def transform(self, X) -> np.ndarray:
        """The monomials of the inputs up to ``degree`` (see the class)."""
        check_is_fitted(self, "powers_")
        X = check_array(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features; PolynomialFeatures was fitted "
                             f"with {self.n_features_in_}")
        columns = [np.prod(X[:, list(c)], axis=1) for c in self.powers_]
        return np.stack(columns, axis=1) if columns else np.empty((len(X), 0))

    def fit_transform(self, X, y=None) -> np.ndarray:
        """fit, then transform."""
        return self.fit(X).transform(X)


class _Transformer(BaseEstimator):
    def fit_transform(self, X, y=None) -> np.ndarray:
        return self.fit(X).transform(X)

    def _checked(self, X, attribute: str) -> np.ndarray:
        check_is_fitted(self, attribute)
        X = check_array(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features; {type(self).__name__} was "
                             f"fitted with {self.n_features_in_}")
        return X


class StandardScaler(_Transformer):
    """z-score each feature: (x - mean) / std (population std; constant features are
    only centred)."""

    def __init__(self, with_mean: bool = True, with_std: bool = True):
        self.with_mean = with_mean
        self.with_std = with_std

    def fit(self, X, y=None):
        """Learn each feature's mean and standard deviation; returns self."""
        X = check_array(X)
        self.n_features_in_ = X.shape[1]
        with np.errstate(over="ignore", invalid="ignore"):
            mean, std = X.mean(axis=0), X.std(axis=0)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()):
            # finite values whose sum or squares overflow (1e300): the same statistics of
            # the columns divided by their largest magnitude, scaled back
            peak = np.max(np.abs(X), axis=0)
            peak = np.where(peak > 0, peak, 1.0)
            mean, std = (X / peak).mean(axis=0) * peak, (X / peak).std(axis=0) * peak
        self.mean_ = mean if self.with_mean else np.zeros(X.shape[1])
        self.scale_ = np.where(std > 0, std, 1.0) if self.with_std else np.ones(X.shape[1])
        return self

    def transform(self, X) -> np.ndarray:
        """(x - mean) / std: zero mean, unit variance per feature."""
        return (self._checked(X, "mean_") - self.mean_) / self.scale_

    def inverse_transform(self, X) -> np.ndarray:
        """x * std + mean."""
        return self._checked(X, "mean_") * self.scale_ + self.mean_


class MinMaxScaler(_Transformer):
    """Map each feature's [min, max] linearly onto ``feature_range`` (default [0, 1], as
    for the study hours of the logistic-regression experiment)."""

    def __init__(self, feature_range=(0.0, 1.0)):
        self.feature_range = feature_range

    def fit(self, X, y=None):
        """Learn each feature's minimum and maximum; returns self."""
        low, high = self.feature_range
        if not low < high:
            raise ValueError(f"feature_range must be (low, high) with low < high; got "
                             f"{self.feature_range!r}")
        X = check_array(X)
        self.n_features_in_ = X.shape[1]
        self.data_min_, self.data_max_ = X.min(axis=0), X.max(axis=0)
        span = self.data_max_ - self.data_min_
        self.scale_ = (high - low) / np.where(span > 0, span, 1.0)
        self.min_ = low - self.data_min_ * self.scale_
        return self

    def transform(self, X) -> np.ndarray:
        """Each feature mapped linearly onto ``feature_range``."""
        return self._checked(X, "scale_") * self.scale_ + self.min_

    def inverse_transform(self, X) -> np.ndarray:
        """The mapping undone."""
        return (self._checked(X, "scale_") - self.min_) / self.scale_


class PCA(_Transformer):
    """Principal component analysis (decorrelate, then whiten).

    From the SVD of the centred data X - mean = U S V^T: components_ = the first
    ``n_components`` rows of V^T, explained_variance_ = S^2 / (n - 1).  ``transform``
    projects onto the components; with ``whiten=True`` it also divides by
    sqrt(explained_variance_), so the result has identity covariance.
    """

    def __init__(self, n_components=None, whiten: bool = False):
        self.n_components = n_components
        self.whiten = whiten

    def fit(self, X, y=None):
        """Learn the principal axes (eigenvectors of the covariance, Pearson 1901; Hotelling
        1933); returns self."""
        X = check_array(X)
        n, d = X.shape
        k = min(n, d) if self.n_components is None else self.n_components
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= min(n, d):
            raise ValueError(f"n_components must be an integer in [1, {min(n, d)}]; got "
                             f"{self.n_components!r}")
        self.n_features_in_ = d
        self.mean_ = X.mean(axis=0)
        _, singular, vt = np.linalg.svd(X - self.mean_, full_matrices=False)
        signs = np.sign(vt[np.arange(len(vt)), np.argmax(np.abs(vt), axis=1)])
        vt *= np.where(signs == 0, 1, signs)[:, None]  # deterministic signs
        variance = singular ** 2 / max(n - 1, 1)
        self.components_ = vt[:k]
        self.explained_variance_ = variance[:k]
        self.explained_variance_ratio_ = variance[:k] / variance.sum() if variance.sum() \
            else np.zeros(k)
        self.n_components_ = k
        return self

    def transform(self, X) -> np.ndarray:
        """The centred data in the principal axes (divided by sqrt(eigenvalue) with ``whiten``)."""
        Z = (self._checked(X, "components_") - self.mean_) @ self.components_.T
        return Z / np.sqrt(self.explained_variance_) if self.whiten else Z

    def inverse_transform(self, Z) -> np.ndarray:
        """Back to the original axes."""
        check_is_fitted(self, "components_")
        Z = check_array(Z)
        if self.whiten:
            Z = Z * np.sqrt(self.explained_variance_)
        return Z @ self.components_ + self.mean_


class OneHotEncoder(_Transformer):
    """Class labels (one column, any values) to one-hot rows, in the order of
    ``categories_``; ``inverse_transform`` maps rows back by argmax."""

    def fit(self, y, _=None):
        """Learn the categories of each column; returns self."""
        y = np.asarray(y)
        y = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
        if y.ndim != 1:
            raise ValueError(f"y must be one column of labels; got shape {y.shape}")
        self.categories_ = np.unique(y)
        return self

    def transform(self, y) -> np.ndarray:
        """One 0/1 column per category."""
        check_is_fitted(self, "categories_")
        y = np.asarray(y)
        y = y[:, 0] if y.ndim == 2 and y.shape[1] == 1 else y
        index = np.searchsorted(self.categories_, y)
        index = np.clip(index, 0, len(self.categories_) - 1)
        unknown = self.categories_[index] != y
        if unknown.any():
            raise ValueError(f"y contains labels not seen in fit: {np.unique(y[unknown])!r}")
        return np.eye(len(self.categories_))[index]

    def inverse_transform(self, Y) -> np.ndarray:
        """The categories back from the 0/1 columns."""
        check_is_fitted(self, "categories_")
        return self.categories_[np.argmax(np.asarray(Y), axis=1)]
