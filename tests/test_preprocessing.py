"""nnlearn.preprocessing: the scalers, PCA (with and without whitening), one-hot
encoding and polynomial features."""

import numpy as np
import pytest

from nnlearn.preprocessing import (PCA, MinMaxScaler, OneHotEncoder, PolynomialFeatures,
                                   StandardScaler)


def correlated(n=500, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3)) @ np.array([[2, 1, 0], [0, 1, 0], [0, 0.5, 3]]) + 5


def test_standard_scaler():
    X = correlated()
    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-6)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, atol=1e-12)


def test_min_max_scaler():
    X = correlated()
    scaler = MinMaxScaler(feature_range=(-1, 2)).fit(X)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.min(axis=0), -1, atol=1e-12)
    np.testing.assert_allclose(Z.max(axis=0), 2, atol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, atol=1e-12)
    with pytest.raises(ValueError, match="feature_range"):
        MinMaxScaler((1, 0)).fit(X)


def test_pca_whitening_gives_identity_covariance():
    X = correlated()
    pca = PCA(whiten=True).fit(X)
    Z = pca.transform(X)
    np.testing.assert_allclose(np.cov(Z.T), np.eye(3), atol=1e-6)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(pca.inverse_transform(Z), X, atol=1e-10)
    decorrelated = PCA().fit_transform(X)   # without whitening: diagonal covariance
    covariance = np.cov(decorrelated.T)
    np.testing.assert_allclose(covariance - np.diag(np.diag(covariance)), 0, atol=1e-8)
    assert np.all(np.diff(np.diag(covariance)) <= 0)
    assert PCA(2).fit(X).transform(X).shape == (500, 2)
    with pytest.raises(ValueError, match="n_components"):
        PCA(4).fit(X)


def test_one_hot_encoder():
    encoder = OneHotEncoder().fit(["cat", "dog", "cat", "bird"])
    Y = encoder.transform(["dog", "bird"])
    np.testing.assert_array_equal(Y, [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(encoder.inverse_transform(Y), ["dog", "bird"])
    with pytest.raises(ValueError, match="not seen"):
        encoder.transform(["fish"])


def test_polynomial_features():
    X = np.array([[2.0, 3.0]])
    np.testing.assert_array_equal(PolynomialFeatures(2).fit_transform(X),
                                  [[1, 2, 3, 4, 6, 9]])
    np.testing.assert_array_equal(
        PolynomialFeatures(2, include_bias=False, interaction_only=True).fit_transform(X),
        [[2, 3, 6]])
