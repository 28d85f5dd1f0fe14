"""Feature transformations (scikit-learn conventions: fit / transform / fit_transform).

So far: ``add_bias`` (seed 000's x_0 = 1 column) and ``PolynomialFeatures`` (seed 000's
powers of x for the order-20 polynomial fit), shared by the classic models.
"""

from __future__ import annotations

import itertools

import numpy as np

from .base import BaseEstimator, check_array, check_is_fitted

__all__ = ["add_bias", "PolynomialFeatures"]


def add_bias(X) -> np.ndarray:
    """Prepend a column of ones, so that h(x) = w . x includes w_0 (seed 000)."""
    X = check_array(X)
    return np.hstack([np.ones((len(X), 1)), X])


class PolynomialFeatures(BaseEstimator):
    """All monomials of the features up to ``degree``: for one feature x,
    [1, x, x^2, ..., x^degree] (seed 000's ``[x**i for i in range(1, N)]``, plus the bias
    column unless ``include_bias=False``).  Several features give every product of total
    degree <= ``degree`` (``interaction_only`` keeps those without repeated factors), in
    scikit-learn's order."""

    def __init__(self, degree: int = 2, include_bias: bool = True,
                 interaction_only: bool = False):
        self.degree = degree
        self.include_bias = include_bias
        self.interaction_only = interaction_only

    def fit(self, X, y=None):
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
        check_is_fitted(self, "powers_")
        X = check_array(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features; PolynomialFeatures was fitted "
                             f"with {self.n_features_in_}")
        columns = [np.prod(X[:, list(c)], axis=1) for c in self.powers_]
        return np.stack(columns, axis=1) if columns else np.empty((len(X), 0))

    def fit_transform(self, X, y=None) -> np.ndarray:
        return self.fit(X).transform(X)
