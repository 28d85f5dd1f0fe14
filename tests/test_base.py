"""nnlearn.base: the scikit-learn estimator conventions every classic model follows
(get_params/set_params, repr) and the input checks at fit."""

import numpy as np
import pytest

from nnlearn.classic import (Adaline, HebbNeuron, Lasso, LinearRegression, LogisticRegression,
                             Perceptron, Ridge, SoftmaxRegression)

ESTIMATORS = [LinearRegression(), LogisticRegression(), SoftmaxRegression(), Ridge(), Lasso(),
              Perceptron(), Adaline(), HebbNeuron()]
CLASSIFIERS = [LogisticRegression(), SoftmaxRegression(), Perceptron(), Adaline()]


@pytest.mark.parametrize("model", ESTIMATORS, ids=lambda m: type(m).__name__)
def test_estimator_conventions(model):
    params = model.get_params()
    assert model.set_params(**params) is model
    with pytest.raises(ValueError, match="Invalid parameter 'nonsense'"):
        model.set_params(nonsense=1)
    assert type(model).__name__ in repr(model)


@pytest.mark.parametrize("model", CLASSIFIERS, ids=lambda m: type(m).__name__)
def test_classifiers_reject_bad_input(model):
    with pytest.raises(ValueError, match="at least two classes"):
        model.fit([[0.0], [1.0]], [1, 1])
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[2, 3\]"):
        model.fit([[0.0], [1.0]], [0, 1, 1])
    with pytest.raises(ValueError, match="X contains NaN"):
        model.fit([[np.nan], [1.0]], [0, 1])
    with pytest.raises(ValueError, match="Expected 2D array, got 1D array"):
        model.fit([0.0, 1.0], [0, 1])
