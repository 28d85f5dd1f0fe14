"""nnlearn.layers: Dense (and its kernel regularizer), Dropout, BatchNormalization,
Flatten and PReLU, and every layer's config round trip."""

import json

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.layers import Activation, BatchNormalization, Dense, Dropout, Flatten, Input, PReLU


def blobs(n=300, seed=0):
    """Three separable Gaussian blobs in 2-D."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    y = rng.integers(0, 3, n)
    return (centers[y] + rng.standard_normal((n, 2))).astype(np.float32), y


def test_prelu_layer_learns_its_slope():
    layer = nl.layers.PReLU()
    layer.build((3,), np.random.default_rng(0), np.float64)
    layer.alpha.data[:] = [0.1, 0.2, 0.3]
    x = np.array([[-1.0, 2.0, -3.0]])
    np.testing.assert_allclose(layer(x).data, [[-0.1, 2.0, -0.9]])
    assert nl.gradcheck(lambda a: nl.relu(nl.Tensor(x)) - a * nl.relu(-nl.Tensor(x)),
                        [layer.alpha])


def test_dropout_is_inverted_and_identity_at_inference():
    layer = Dropout(0.25, seed=0)
    x = nl.Tensor(np.ones((2000, 50), dtype=np.float32))
    out = layer(x, training=True).data
    assert set(np.unique(out)) == {0.0, np.float32(1 / 0.75)}
    assert out.mean() == pytest.approx(1.0, abs=0.01)   # expectation preserved
    assert (out == 0).mean() == pytest.approx(0.25, abs=0.01)
    np.testing.assert_array_equal(layer(x, training=False).data, x.data)


def test_batch_normalization_training_and_inference():
    rng = np.random.default_rng(0)
    layer = BatchNormalization(momentum=0.5)
    layer.build((3,), rng, np.float64)
    x = rng.normal(5, 2, (64, 3))
    out = layer(x, training=True).data
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=0), 2 ** 2 / (2 ** 2 + 1e-3) * np.ones(3),
                               rtol=0.2)
    np.testing.assert_allclose(layer.moving_mean, 0.5 * x.mean(axis=0))
    expected = (x - layer.moving_mean) / np.sqrt(layer.moving_variance + 1e-3)
    np.testing.assert_allclose(layer(x, training=False).data, expected)
    gamma, beta = layer.params
    assert nl.gradcheck(lambda g, b, t: g * ((t - t.mean(axis=0)) / nl.sqrt(
        ((t - t.mean(axis=0)) ** 2).mean(axis=0) + 1e-3)) + b,
        [gamma, beta, nl.Tensor(x[:5], requires_grad=True)])


def test_flatten_and_prelu_in_a_model():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 4, 4)).astype(np.float32)
    y = (x.reshape(40, -1).sum(axis=1) > 0).astype(np.float32)
    model = nl.Sequential([Flatten(), Dense(8), PReLU(), Dense(1, activation="sigmoid")],
                          seed=1)
    model.compile(optimizer=nl.optimizers.RMSprop(0.01), loss="binary_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=30, batch_size=8, verbose=0)
    assert history.history["accuracy"][-1] > 0.9


def test_kernel_regularizer_is_added_to_the_loss():
    x, y = blobs(50)
    model = nl.Sequential([Dense(3, activation="softmax", kernel_regularizer="l2")], seed=0)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    model.build((2,))
    kernel = model.layers[0].kernel.data
    plain = nl.losses.sparse_categorical_crossentropy(y, model(x)).item()
    assert model.evaluate(x, y) == pytest.approx(plain + 0.01 * np.sum(kernel ** 2), rel=1e-5)


@pytest.mark.parametrize("layer", [
    Input(784), Dense(5, activation="elu", use_bias=False, kernel_initializer="he_normal",
                      kernel_regularizer=nl.regularizers.L1L2(0.1, 0.2), input_dim=3),
    Activation("swish"), Dropout(0.3, seed=4), BatchNormalization(momentum=0.9, epsilon=0.01),
    Flatten(), PReLU(alpha_initializer="ones"),
], ids=lambda layer: type(layer).__name__)
def test_every_layer_config_round_trips(layer):
    config = layer.get_config()
    json.dumps(config)  # model files store it as JSON
    again = nl.layers.get(type(layer).__name__, config)
    assert type(again) is type(layer) and again.get_config() == config
