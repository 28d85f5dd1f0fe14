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


# -- convolutional and augmentation layers (issue 18) ------------------------------------------
L = nl.layers


def small_cnn(seed=0, augment=()):
    return nl.Sequential([L.Input((8, 8, 1)), *augment,
                          L.Conv2D(4, 3, padding="same", activation="relu"), L.MaxPooling2D(),
                          L.Conv2D(6, 3, activation="relu"), L.Flatten(),
                          L.Dense(2, activation="softmax")], seed=seed)


def bars(n=120, seed=0):
    """8x8 images with one horizontal (class 0) or vertical (class 1) bar, plus noise."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 0.1, (n, 8, 8, 1)).astype(np.float32)
    where = rng.integers(1, 7, n)
    for i in range(n):
        if y[i]:
            x[i, :, where[i], 0] += 1
        else:
            x[i, where[i], :, 0] += 1
    return x, y


def test_conv2d_layer_shapes_params_and_glorot_fans():
    layer = L.Conv2D(8, (5, 3), strides=2, padding="same")
    layer.build((28, 27, 3), np.random.default_rng(0), np.float32)
    assert layer.kernel.shape == (5, 3, 3, 8) and layer.bias.shape == (8,)
    assert layer.output_shape == (14, 14, 8) and layer.count_params() == 5 * 3 * 3 * 8 + 8
    limit = np.sqrt(6 / (5 * 3 * 3 + 5 * 3 * 8))  # fan_in kh kw cin, fan_out kh kw cout
    assert np.abs(layer.kernel.data).max() <= limit
    assert np.abs(layer.kernel.data).max() > 0.9 * limit
    out = layer(np.ones((2, 28, 27, 3), np.float32))
    assert out.shape == (2, 14, 14, 8) and out.dtype == np.float32


def test_conv1d_and_pooling_layer_shapes():
    model = nl.Sequential([L.Input((20, 3)), L.Conv1D(5, 3, dilation_rate=2),
                           L.MaxPooling1D(2), L.AveragePooling1D(3, strides=1, padding="same"),
                           L.GlobalAveragePooling1D()], seed=0)
    model.build((20, 3))
    assert [layer.output_shape for layer in model.layers[1:]] == [(16, 5), (8, 5), (8, 5),
                                                                   (5,)]
    assert model.predict(np.ones((4, 20, 3))).shape == (4, 5)


def test_global_pooling_zero_padding_and_reshape():
    x = np.arange(2 * 3 * 4 * 2, dtype=np.float64).reshape(2, 3, 4, 2)
    np.testing.assert_allclose(L.GlobalAveragePooling2D()(x).data, x.mean(axis=(1, 2)))
    np.testing.assert_allclose(L.GlobalMaxPooling2D()(x).data, x.max(axis=(1, 2)))
    padded = L.ZeroPadding2D(((1, 2), (0, 1)))(x).data
    assert padded.shape == (2, 6, 5, 2)
    np.testing.assert_array_equal(padded[:, 1:4, :4], x)
    assert L.Reshape((-1, 2))(x).shape == (2, 12, 2)
    assert L.Reshape((4, 6))(x).shape == (2, 4, 6)
    with pytest.raises(ValueError, match="cannot reshape"):
        L.Reshape((5, 5)).build((3, 4, 2), None, np.float32)


def test_flatten_handles_images():
    assert Flatten()(np.ones((3, 4, 5, 2))).shape == (3, 40)


@pytest.mark.parametrize("layer, shape, message", [
    (L.Conv2D(2, 3), (10,), "height, width, channels"),
    (L.Conv2D(2, 5), (4, 4, 1), "does not fit"),
    (L.MaxPooling2D(3), (2, 8, 1), "does not fit"),
    (L.Conv1D(2, 3), (5, 5, 1), "steps, channels"),
])
def test_bad_input_shapes_are_explained(layer, shape, message):
    with pytest.raises(ValueError, match=message):
        layer.build(shape, np.random.default_rng(0), np.float32)


@pytest.mark.parametrize("kwargs, message", [
    ({"filters": 0, "kernel_size": 3}, "filters"),
    ({"filters": 2, "kernel_size": (3, 3, 3)}, "kernel_size"),
    ({"filters": 2, "kernel_size": 3, "padding": "full"}, "padding"),
    ({"filters": 2, "kernel_size": 3, "strides": 2, "dilation_rate": 2}, "not supported"),
])
def test_bad_conv_arguments_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message):
        L.Conv2D(**kwargs)


def test_a_small_cnn_learns_bars_and_round_trips_through_a_model_file(tmp_path):
    x, y = bars()
    model = small_cnn(seed=0)
    model.compile(optimizer=nl.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(x, y, epochs=15, batch_size=16, verbose=0, seed=0)
    assert history.history["accuracy"][-1] > 0.95
    lines = []
    model.summary(print_fn=lines.append)
    table = "\n".join(lines)
    assert "(None, 8, 8, 4)" in table and "(None, 4, 4, 4)" in table and "40" in table
    model.save(tmp_path / "cnn.nnlearn")
    again = nl.load_model(tmp_path / "cnn.nnlearn")
    np.testing.assert_array_equal(again.predict(x), model.predict(x))


def test_conv_layer_gradients_in_a_model_gradcheck():
    rng = np.random.default_rng(0)
    layer = L.Conv2D(2, 2, strides=(1, 2), padding="same", kernel_regularizer="l2")
    layer.build((4, 5, 2), rng, np.float64)
    x = nl.Tensor(rng.standard_normal((2, 4, 5, 2)), requires_grad=True)
    assert nl.gradcheck(lambda x, k, b: nl.tanh(nl.conv2d(x, k, b, (1, 2), "same")),
                        [x, layer.kernel, layer.bias])
    assert layer.regularization() is not None


AUGMENTATIONS = [
    L.RandomFlip(), L.RandomFlip("horizontal"), L.RandomTranslation(0.2, (-0.1, 0.3)),
    L.RandomRotation(0.1), L.RandomZoom(0.2), L.RandomZoom((-0.3, 0.1), (0.0, 0.2)),
    L.RandomTranslation(0.2, 0.2, fill_mode="constant", fill_value=0.5),
    L.RandomRotation(0.2, fill_mode="wrap", interpolation="nearest"),
    L.RandomZoom(0.2, fill_mode="nearest"), L.GaussianNoise(0.3), L.GaussianDropout(0.4),
]


@pytest.mark.parametrize("layer", AUGMENTATIONS, ids=lambda layer: repr(layer))
def test_augmentation_is_identity_at_inference_and_random_in_training(layer):
    x = np.random.default_rng(0).random((16, 9, 10, 2)).astype(np.float32)
    layer.build(x.shape[1:], np.random.default_rng(0), np.float32)
    assert layer(x, training=False).data is x or np.array_equal(layer(x).data, x)
    layer.reseed(np.random.SeedSequence(1))
    out = layer(x, training=True).data
    assert out.shape == x.shape and out.dtype == np.float32 and not np.array_equal(out, x)
    layer.reseed(np.random.SeedSequence(1))
    np.testing.assert_array_equal(layer(x, training=True).data, out)  # reproducible
    config = layer.get_config()
    json.dumps(config)
    assert nl.layers.get(type(layer).__name__, config).get_config() == config


def test_geometric_augmentations_move_the_image_as_documented():
    x = np.zeros((1, 5, 5, 1))
    x[0, 2, 2, 0] = 1
    shift = L.RandomTranslation((0.2, 0.2), (-0.2, -0.2), seed=0)  # one row down, one left
    out = shift(x, training=True).data[0, :, :, 0]
    assert out[3, 1] == pytest.approx(1) and out.sum() == pytest.approx(1)
    quarter = L.RandomRotation((0.25, 0.25), seed=0, interpolation="nearest")
    image = np.arange(9.0).reshape(1, 3, 3, 1)
    np.testing.assert_array_equal(quarter(image, training=True).data[0, :, :, 0],
                                  np.rot90(image[0, :, :, 0], 1))  # counter-clockwise
    flips = L.RandomFlip("horizontal", seed=0)(np.repeat(image, 50, 0), training=True).data
    kinds = {bytes(f.tobytes()) for f in flips}
    assert kinds == {image.tobytes(), image[:, :, ::-1].copy().tobytes()}
    zoom_out = L.RandomZoom((1.0, 1.0), fill_mode="constant", seed=0)  # half the size
    big = np.ones((1, 8, 8, 1))
    assert zoom_out(big, training=True).data.sum() == pytest.approx(16, abs=4)


def test_augmented_training_is_reproducible_under_fit_seed():
    x, y = bars(64)

    def run(seed):
        model = small_cnn(seed=0, augment=(L.RandomTranslation(0.1, 0.1), L.RandomFlip(),
                                           L.GaussianNoise(0.05), L.GaussianDropout(0.1)))
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=seed)
        return model.get_weights(), model.predict(x)

    (w1, p1), (w2, p2), (w3, _) = run(3), run(3), run(4)
    for a, b in zip(w1, w2):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(p1, p2)
    assert not all(np.array_equal(a, b) for a, b in zip(w1, w3))
    model = small_cnn(seed=0, augment=(L.RandomRotation(0.1), L.GaussianNoise(1.0)))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.build((8, 8, 1))
    np.testing.assert_array_equal(model.predict(x), model.predict(x))  # identity: no noise
    assert model.evaluate(x, y) == model.evaluate(x, y)


@pytest.mark.parametrize("layer", [
    L.Conv2D(4, (3, 2), strides=(2, 1), padding="same", dilation_rate=(1, 1),
             activation="relu", use_bias=False, kernel_initializer="he_normal",
             kernel_regularizer="l2"),
    L.Conv1D(3, 5, dilation_rate=2), L.MaxPooling2D(3, strides=1, padding="same"),
    L.AveragePooling2D(), L.MaxPooling1D(), L.AveragePooling1D(4, 2),
    L.GlobalAveragePooling1D(), L.GlobalAveragePooling2D(), L.GlobalMaxPooling1D(),
    L.GlobalMaxPooling2D(), L.ZeroPadding2D(2), L.Reshape((28, 28, 1)),
], ids=lambda layer: type(layer).__name__)
def test_convolutional_layer_configs_round_trip(layer):
    config = layer.get_config()
    json.dumps(config)
    again = nl.layers.get(type(layer).__name__, config)
    assert type(again) is type(layer) and again.get_config() == config


def test_dense_maps_the_last_axis_of_higher_rank_samples():
    """Keras's Dense on (batch, steps, features): the same neurons at every step."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 5, 4))
    model = nl.Sequential([nl.layers.Input((5, 4)), Dense(2, "tanh")], seed=0, dtype="float64")
    out = model.predict(x)
    assert out.shape == (3, 5, 2)
    kernel, bias = model.get_weights()
    np.testing.assert_allclose(out, np.tanh(x @ kernel + bias), rtol=1e-12)
    layer = Dense(3, "relu")
    layer.build((5, 4), np.random.default_rng(0), np.float64)
    assert layer.output_shape == (5, 3)
    assert nl.gradcheck(lambda t: layer(t), [nl.Tensor(rng.standard_normal((2, 5, 4)),
                                                       requires_grad=True)])
def test_grouped_depthwise_and_causal_conv_layers():
    """groups: kernel (kh, kw, channels / groups, filters), Glorot's fan_in counting one
    group; depthwise when groups == channels; Conv1D's causal padding keeps the length."""
    layer = L.Conv2D(6, 3, groups=3, padding="same")
    layer.build((8, 8, 3), np.random.default_rng(0), np.float32)
    assert layer.kernel.shape == (3, 3, 1, 6) and layer.count_params() == 3 * 3 * 6 + 6
    limit = np.sqrt(6 / (3 * 3 * 1 + 3 * 3 * 6))
    assert limit * 0.9 < np.abs(layer.kernel.data).max() <= limit
    x = np.random.default_rng(1).standard_normal((2, 8, 8, 3)).astype(np.float32)
    out = layer(x).data
    assert out.shape == (2, 8, 8, 6)
    # filters 0-1 see channel 0 only: changing channel 2 leaves them alone
    changed = x.copy()
    changed[..., 2] += 1
    np.testing.assert_array_equal(layer(changed).data[..., :2], out[..., :2])

    model = nl.Sequential([L.Input((12, 4)),
                           L.Conv1D(4, 2, padding="causal", dilation_rate=1, groups=2),
                           L.Conv1D(4, 2, padding="causal", dilation_rate=2),
                           L.Conv1D(4, 2, padding="causal", dilation_rate=4)], seed=0)
    model.build((12, 4))
    assert [layer.output_shape for layer in model.layers[1:]] == [(12, 4)] * 3
    assert model.layers[1].kernel.shape == (2, 2, 4)
    seq = np.random.default_rng(2).standard_normal((1, 12, 4))
    later = seq.copy()
    later[:, 8:] += 1
    np.testing.assert_allclose(model.predict(later)[:, :8], model.predict(seq)[:, :8])


@pytest.mark.parametrize("make, message", [
    (lambda: L.Conv2D(5, 3, groups=2), "groups must divide filters"),
    (lambda: L.Conv2D(4, 3, groups=0), "groups must be a positive integer"),
    (lambda: L.Conv2D(4, 3, padding="causal"), "padding"),
    (lambda: L.Conv2D(4, 3, groups=2).build((8, 8, 3), np.random.default_rng(0),
                                            np.float32), "input channels"),
])
def test_bad_groups_and_causal_padding_are_explained(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("layer", [L.Conv2D(4, 3, groups=2, dilation_rate=2),
                                   L.Conv1D(6, 3, padding="causal", groups=3)],
                         ids=["Conv2D-groups", "Conv1D-causal"])
def test_grouped_and_causal_configs_round_trip(layer):
    config = layer.get_config()
    again = nl.layers.get(type(layer).__name__, json.loads(json.dumps(config)))
    assert again.get_config() == config and again.groups == layer.groups


def test_every_layer_declares_the_schema_of_each_of_its_arguments():
    """Model files check a layer's config against the layer's own declaration
    (``Layer.config_schema``): no constructor argument is left to "any JSON value"."""
    from nnlearn.config_schema import ANY

    for name, cls in nl.layers.LAYERS.items():
        undeclared = [key for key, schema in cls.config_schema().items() if schema is ANY]
        assert not undeclared, f"{name} does not declare {undeclared}"
    assert nl.layers.Dense.config_schema()["units"] is not None
    assert "units" in nl.layers.Dense.config_schema() and \
        "activation?" in nl.layers.Dense.config_schema()


def test_a_convolution_counts_its_padded_input_among_the_values_of_a_sample():
    conv = nl.layers.Conv1D(1, 3, padding="same", dilation_rate=1000)
    assert conv.values_per_sample((4, 1), (4, 1)) == 4 + (3 - 1) * 1000  # n + (k - 1) d
    assert nl.layers.Dense(3).values_per_sample((5,), (3,)) == 3


def test_a_misspelt_argument_names_the_layer_and_the_closest_argument():
    with pytest.raises(TypeError, match=r"Dense: unknown argument 'unit'; did you mean "
                                        r"'units'\? \(its arguments: units, activation"):
        Dense(unit=3)
    with pytest.raises(TypeError, match="LSTM: unknown argument 'return_sequence'; did you "
                                        "mean 'return_sequences'"):
        nl.layers.LSTM(4, return_sequence=True)
    with pytest.raises(TypeError, match=r"Flatten: unknown argument 'xyz' \(its arguments"):
        Flatten(xyz=1)
    assert Dense(units=3, activation="relu").units == 3  # known names pass through
