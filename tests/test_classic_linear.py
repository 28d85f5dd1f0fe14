"""nnlearn.classic.linear: linear regression (normal equation, gradient descent, SGD),
logistic and softmax regression, Ridge and Lasso against their objectives and
scikit-learn, their estimator conventions and bad input."""

import warnings

import numpy as np
import pytest

from nnlearn.classic import (Lasso, LinearRegression, LogisticRegression, Ridge,
                             SoftmaxRegression)
from nnlearn.preprocessing import PolynomialFeatures


GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


def noisy_line(n=100, seed=0):
    rng = np.random.default_rng(seed)
    x = 10 * rng.random(n)
    return x.reshape(-1, 1), 0.5 * x + 0.5 + rng.normal(0, 0.25, n)


def test_normal_equation_matches_lstsq_and_gd_converges_to_it():
    X, y = noisy_line()
    exact = LinearRegression().fit(X, y)
    reference = np.linalg.lstsq(np.hstack([np.ones((100, 1)), X]), y, rcond=None)[0]
    assert exact.intercept_ == pytest.approx(reference[0], abs=1e-10)
    assert exact.coef_[0] == pytest.approx(reference[1], abs=1e-10)
    gd = LinearRegression(solver="gd", learning_rate=0.01, n_epochs=10_000,
                          initial_weights=[1.0, -0.5],        # the course's b = 1.0, a = -0.5
                          snapshot_epochs=(0, 10, 100, 500, 1000)).fit(X, y)
    assert gd.intercept_ == pytest.approx(exact.intercept_, abs=1e-4)
    assert gd.coef_[0] == pytest.approx(exact.coef_[0], abs=1e-5)
    assert sorted(gd.snapshots_) == [0, 10, 100, 500, 1000]
    np.testing.assert_array_equal(gd.snapshots_[0][:, 0], [1.0, -0.5])
    costs = gd.cost_history_
    assert len(costs) == 10_001 and all(b <= a + 1e-12 for a, b in zip(costs, costs[1:]))
    sgd = LinearRegression(solver="sgd", learning_rate=0.001, n_epochs=300,
                           random_state=0).fit(X, y)
    assert sgd.score(X, y) == pytest.approx(exact.score(X, y), abs=5e-3)  # SGD's noise


def test_gd_cost_is_half_the_mean_square():
    X, y = noisy_line(10)
    model = LinearRegression(solver="gd", n_epochs=0, initial_weights=[1.0, -0.5]).fit(X, y)
    assert model.cost_history_[0] == pytest.approx(np.sum((1.0 - 0.5 * X[:, 0] - y) ** 2) / 20)


def test_logistic_regression_on_study_hours():
    rng = np.random.default_rng(1)
    hours = np.concatenate((rng.random(50) * 35, 30 + rng.random(50) * 25))
    passed = np.repeat([0, 1], 50)
    x = ((hours - hours.min()) / (hours.max() - hours.min())).reshape(-1, 1)
    model = LogisticRegression(learning_rate=1.0, n_epochs=5000).fit(x, passed)
    assert model.score(x, passed) >= 0.9  # the classes overlap between 30 and 35 hours
    p = model.predict_proba(x)
    np.testing.assert_allclose(p.sum(axis=1), 1)
    assert model.cost_history_[-1] < model.cost_history_[0]


def test_single_logistic_neuron_learns_and_or_but_not_xor():
    for targets, works in [([0, 0, 0, 1], True), ([0, 1, 1, 1], True), ([0, 1, 1, 0], False)]:
        model = LogisticRegression(learning_rate=0.4, n_epochs=1000).fit(GATE_INPUTS, targets)
        p = model.predict_proba(GATE_INPUTS)[:, 1]
        if works:
            np.testing.assert_array_equal(p > 0.5, np.array(targets) == 1)
        else:
            np.testing.assert_allclose(p, 0.5, atol=1e-6)  # the course's printout


def test_softmax_regression_on_student_grades():
    rng = np.random.default_rng(2)

    def grades(n):
        x = rng.random((n, 2)) * [100, 50]
        y = np.digitize(rng.normal(x[:, 0] + 2 * x[:, 1], 5), [50, 70, 90])
        return x / [100, 50], y

    X, y = grades(1000)
    X_test, y_test = grades(1000)
    model = SoftmaxRegression(learning_rate=0.5, n_epochs=3000).fit(X, y)
    assert model.score(X_test, y_test) > 0.85
    assert model.predict_proba(X_test).shape == (1000, 4)


def sin_data(n=20, sigma=0.1, seed=0):
    rng = np.random.default_rng(seed)
    x = 2 * rng.random(n) - 1
    return x, np.sin(np.pi * x) + rng.normal(0, sigma, n)


def test_lasso_zeros_coefficients_and_ridge_shrinks_them():
    """Overfitting: an order-20 polynomial on 20 noisy sin points."""
    x, y = sin_data()
    X = PolynomialFeatures(19, include_bias=False).fit_transform(x.reshape(-1, 1))
    plain = LinearRegression().fit(X, y)
    ridge = Ridge(alpha=0.1).fit(X, y)
    lasso = Lasso(alpha=0.001).fit(X, y)
    assert np.abs(plain.coef_).max() > 100                 # overfitted, huge weights
    assert np.abs(ridge.coef_).max() < 5                   # shrunk
    assert np.sum(lasso.coef_ == 0) >= 10                  # exactly zero: feature selection
    assert np.sum(ridge.coef_ == 0) == 0
    x_grid = np.linspace(-1, 1, 100).reshape(-1, 1)
    grid = PolynomialFeatures(19, include_bias=False).fit_transform(x_grid)
    for model in (ridge, lasso):
        assert np.mean((model.predict(grid) - np.sin(np.pi * x_grid[:, 0])) ** 2) < 0.05


def test_ridge_and_lasso_solve_their_objectives():
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((40, 5)), rng.standard_normal(40)
    ridge = Ridge(alpha=2.0).fit(X, y)
    Xc, yc = X - X.mean(axis=0), y - y.mean()
    closed_form = np.linalg.solve(Xc.T @ Xc + 2.0 * np.eye(5), Xc.T @ yc)
    np.testing.assert_allclose(ridge.coef_, closed_form, rtol=1e-10)
    lasso = Lasso(alpha=0.1, tol=1e-12).fit(X, y)
    # KKT conditions of 1/(2N)||y - Xw||^2 + alpha |w|_1 on centred data
    gradient = Xc.T @ (yc - Xc @ lasso.coef_) / 40
    active = lasso.coef_ != 0
    np.testing.assert_allclose(gradient[active], 0.1 * np.sign(lasso.coef_[active]), atol=1e-8)
    assert np.all(np.abs(gradient[~active]) <= 0.1 + 1e-8)


def test_against_scikit_learn_when_installed():
    linear_model = pytest.importorskip("sklearn.linear_model")
    x, y = sin_data()
    X = PolynomialFeatures(5, include_bias=False).fit_transform(x.reshape(-1, 1))
    np.testing.assert_allclose(Ridge(alpha=0.1).fit(X, y).coef_,
                               linear_model.Ridge(alpha=0.1).fit(X, y).coef_, rtol=1e-8)
    np.testing.assert_allclose(Lasso(alpha=0.01, tol=1e-10).fit(X, y).coef_,
                               linear_model.Lasso(alpha=0.01, tol=1e-10, max_iter=100000)
                               .fit(X, y).coef_, atol=1e-6)


def test_regressors_reject_bad_input_and_unfitted_use():
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        LinearRegression().fit([[0.0], [1.0]], [0.0])
    with pytest.raises(ValueError, match="solver"):
        LinearRegression(solver="magic").fit([[0.0], [1.0]], [0.0, 1.0])
    with pytest.raises(ValueError, match="not fitted"):
        Ridge().predict([[0.0]])
    with pytest.raises(ValueError, match="diverged"):
        LinearRegression(solver="gd", learning_rate=10.0, n_epochs=1000).fit(*noisy_line())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LinearRegression(solver="gd", n_epochs=10).fit(*noisy_line())
