"""nnlearn.models: Model and Sequential: the training step, fit/evaluate/predict, weights,
model files, the errors at fit/predict, subclassed models and the Python source of a
model."""

import io
import json
import zipfile

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.layers import Activation, BatchNormalization, Dense, Input


def blobs(n=300, seed=0):
    """Three separable Gaussian blobs in 2-D."""
    rng = np.random.default_rng(seed)
    centers = np.array([[0.0, 3.0], [3.0, -2.0], [-3.0, -2.0]])
    y = rng.integers(0, 3, n)
    return (centers[y] + rng.standard_normal((n, 2))).astype(np.float32), y


def small_model(**compile_args):
    model = nl.Sequential([Dense(16, activation="tanh"), Dense(3, activation="softmax")],
                          seed=0)
    model.compile(**{"optimizer": "rmsprop", "loss": "sparse_categorical_crossentropy",
                     "metrics": ["accuracy"], **compile_args})
    return model


def test_fit_learns_and_history_records_every_epoch():
    x, y = blobs()
    model = small_model()
    history = model.fit(x, y, epochs=15, batch_size=32, validation_split=0.2, verbose=0,
                        seed=0)
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(history.history["loss"]) == 15 and history.epoch == list(range(15))
    assert history.history["loss"][-1] < history.history["loss"][0] / 3
    assert history.history["val_accuracy"][-1] > 0.95
    loss, accuracy = model.evaluate(x, y)
    assert accuracy > 0.95
    probabilities = model.predict(x[:5])
    assert probabilities.shape == (5, 3) and probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_training_is_reproducible_with_seeds():
    x, y = blobs()
    weights = []
    for _ in range(2):
        model = small_model()
        model.fit(x, y, epochs=2, verbose=0, seed=3)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_fused_loss_trains_like_the_unfused_one():
    """softmax + categorical_crossentropy from logits equals the clipped Keras loss."""
    x, y = blobs(60)
    onehot = nl.utils.to_categorical(y)
    fused_model = small_model(loss="categorical_crossentropy", optimizer="sgd")
    plain = nl.Sequential([Dense(16, activation="tanh"), Dense(3), Activation("softmax")],
                          seed=0)
    plain.compile(optimizer="sgd", loss=lambda t, p: nl.losses.categorical_crossentropy(t, p))
    plain.build((2,))
    fused_model.build((2,))
    plain.set_weights(fused_model.get_weights())
    for model in (fused_model, plain):
        model.fit(x, onehot, epochs=3, batch_size=20, shuffle=False, verbose=0)
    for a, b in zip(fused_model.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_summary_counts_parameters(capsys):
    model = nl.Sequential([Input(784), Dense(512, activation="relu"),
                           Dense(10, activation="softmax")])
    model.build((784,))
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "401,920" in text and "5,130" in text and "Total params: 407,050" in text
    assert model.count_params() == 784 * 512 + 512 + 512 * 10 + 10
    # layers named by kind and rank, with or without an Input layer in front
    assert "dense_1 (Dense)" in text and "dense_2 (Dense)" in text
    plain = nl.Sequential([Dense(512, activation="relu", input_dim=784), Dense(10)])
    lines.clear()
    plain.summary(print_fn=lines.append)
    assert "dense_1 (Dense)" in "\n".join(lines) and "dense_0" not in "\n".join(lines)


def test_weights_are_in_keras_order_and_settable():
    model = nl.Sequential([Dense(4, input_dim=3), BatchNormalization(), Dense(2)])
    model.build((3,))
    shapes = [w.shape for w in model.get_weights()]
    assert shapes == [(3, 4), (4,), (4,), (4,), (4,), (4,), (4, 2), (2,)]
    new = [np.full(s, i, dtype=np.float32) for i, s in enumerate(shapes)]
    model.set_weights(new)
    for a, b in zip(model.get_weights(), new):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="weights\\[0\\] must have shape \\(3, 4\\)"):
        model.set_weights([np.zeros((4, 3))] + new[1:])
    with pytest.raises(ValueError, match="8 weight arrays; got 1"):
        model.set_weights(new[:1])


# -- model files ------------------------------------------------------------------------
def test_save_load_gives_bit_identical_predictions_and_optimizer_state(tmp_path):
    x, y = blobs()
    model = small_model()
    model.fit(x, y, epochs=2, verbose=0)
    path = tmp_path / "model.nnl"
    model.save(path)
    loaded = nl.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    for a, b in zip(model.optimizer.get_state(), loaded.optimizer.get_state()):
        np.testing.assert_array_equal(a, b)
    assert loaded.optimizer.iterations == model.optimizer.iterations
    # training on continues identically
    model.fit(x, y, epochs=1, verbose=0, seed=5)
    loaded.fit(x, y, epochs=1, verbose=0, seed=5)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert not list(tmp_path.glob(".nnlearn-*"))  # no temporary file left behind


def test_model_file_holds_no_pickle(tmp_path):
    model = small_model()
    model.build((2,))
    model.save(tmp_path / "m.nnl")
    with zipfile.ZipFile(tmp_path / "m.nnl") as z:
        manifest = json.loads(np.load(z.open("manifest.npy"), allow_pickle=False).tobytes())
        for name in z.namelist():
            assert np.load(z.open(name), allow_pickle=False).dtype != object
    assert manifest["format"] == "nnlearn-model" and manifest["model"]["layers"]


def test_truncated_and_tampered_files_are_clear_errors(tmp_path):
    model = small_model()
    model.build((2,))
    path = tmp_path / "m.nnl"
    model.save(path)
    data = path.read_bytes()
    (tmp_path / "truncated.nnl").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="not a readable nnlearn model"):
        nl.load_model(tmp_path / "truncated.nnl")
    (tmp_path / "garbage.nnl").write_bytes(b"not a zip at all")
    with pytest.raises(ValueError, match="not a readable nnlearn model"):
        nl.load_model(tmp_path / "garbage.nnl")
    # rewrite one weight array with other values: the checksum catches it
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    import io
    buffer = io.BytesIO()
    np.save(buffer, np.ones((2, 16), dtype=np.float32))
    members["weight_0.npy"] = buffer.getvalue()
    with zipfile.ZipFile(tmp_path / "tampered.nnl", "w") as z:
        for name, content in members.items():
            z.writestr(name, content)
    with pytest.raises(ValueError, match="checksum"):
        nl.load_model(tmp_path / "tampered.nnl")


def test_failed_save_leaves_the_old_file_intact(tmp_path, monkeypatch):
    model = small_model()
    model.build((2,))
    path = tmp_path / "m.nnl"
    model.save(path)
    before = path.read_bytes()

    def broken_savez(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        model.save(path)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".nnlearn-*"))


# -- bad input --------------------------------------------------------------------------
@pytest.mark.parametrize("x, y, message", [
    (np.array([[np.nan, 1.0]] * 4), np.zeros(4, int), "x contains NaN or infinity"),
    (np.array([[np.inf, 1.0]] * 4), np.zeros(4, int), "x contains NaN"),
    (np.ones((4, 3)), np.zeros(4, int), r"x: expected samples of shape \(2,\).*got \(3,\)"),
    (np.ones((4, 2)), np.zeros(5, int), "same number of samples; got 4 and 5"),
    (np.ones((4, 2)), np.array([0, 1, 2, 3]), r"labels must be integers in \[0, 3\)"),
    (np.ones((4, 2)), np.array([0, 1, -1, 2]), r"labels must be integers in \[0, 3\)"),
    (np.ones(4), np.zeros(4, int), "Expected 2D array, got 1D array instead: x has shape"),
    (np.array([["a", "b"]]), np.zeros(1, int), "x must be numeric"),
    (np.ones((0, 2)), np.zeros(0, int), r"x has no samples \(shape \(0, 2\)\)"),
])
def test_bad_input_to_fit_names_the_argument(x, y, message):
    model = small_model()
    model.build((2,))
    with pytest.raises(ValueError, match=message):
        model.fit(x, y, verbose=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad, where", [(np.nan, -1), (np.inf, 0), (-np.inf, 70_000), (None, 0)])
def test_all_finite_agrees_with_isfinite_on_large_arrays(dtype, bad, where):
    """The dot-product test of large float arrays (and its fallback when the sum of
    squares overflows) answers as np.isfinite(...).all()."""
    from nnlearn._validation import all_finite

    values = np.random.default_rng(0).standard_normal((300, 400)).astype(dtype)
    huge = np.full((300, 400), np.finfo(dtype).max / 4, dtype)  # squares overflow
    for array in (values, huge):
        if bad is not None:
            array.reshape(-1)[where] = bad
        for case in (array, array[:, ::2], np.ones((300, 400), int)):
            assert all_finite(case) == bool(np.isfinite(case).all())
    assert all_finite(np.ones(10, bool)) and all_finite(np.arange(100_000))


def test_bad_input_to_predict_and_compile():
    model = small_model()
    model.build((2,))
    with pytest.raises(ValueError, match="x contains NaN"):
        model.predict(np.array([[np.nan, 0.0]]))
    with pytest.raises(ValueError, match=r"expected samples of shape \(2,\)"):
        model.predict(np.ones((3, 5)))
    with pytest.raises(ValueError, match="Did you mean 'rmsprop'"):
        model.compile(optimizer="rmsprp", loss="mse")
    with pytest.raises(ValueError, match="Did you mean 'mean_squared_error'"):
        model.compile(optimizer="sgd", loss="mean_squared_eror")
    with pytest.raises(ValueError, match="one-hot of shape \\(n, 3\\).*sparse_categorical"):
        m = small_model(loss="categorical_crossentropy")
        m.fit(np.ones((4, 2)), np.array([0, 1, 2, 0]), verbose=0)
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        model.fit(np.ones((4, 2)), np.zeros(4, int), epochs=0)
    with pytest.raises(RuntimeError, match="compile"):
        nl.Sequential([Dense(1)]).fit(np.ones((2, 2)), np.ones(2))
    with pytest.raises(ValueError, match="units must be a positive integer"):
        Dense(0)
    with pytest.raises(ValueError, match="learning_rate must be a non-negative"):
        nl.optimizers.SGD(learning_rate=-0.1)
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\)"):
        nl.optimizers.SGD(momentum=1.5)


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_a_last_batch_of_one_sample(loss):
    x, y = blobs(33)
    model = small_model(loss=loss)
    targets = y if loss.startswith("sparse") else nl.utils.to_categorical(y)
    history = model.fit(x, targets, epochs=2, batch_size=32, verbose=0)
    assert np.isfinite(history.history["loss"][-1])
    # evaluating in batches of 32 and 1 weights every sample once, the last one included
    p = model.predict(x)
    loss_value, accuracy = model.evaluate(x, targets, batch_size=32)
    assert accuracy == pytest.approx(np.mean(p.argmax(axis=1) == y))
    assert loss_value == pytest.approx(np.mean(-np.log(p[np.arange(33), y])), rel=1e-5)
    loss_value, accuracy = model.evaluate(x[-1:], targets[-1:])
    assert accuracy == float(p[-1].argmax() == y[-1])
    assert loss_value == pytest.approx(-np.log(p[-1, y[-1]]), rel=1e-5)


# -- the training step: subclassed models, overridden steps, wrapped losses ------------------
class SpiralNet(nl.Model):
    """A subclassed model (Keras's style): layers as attributes, its own call."""

    def __init__(self):
        super().__init__(seed=0)
        self.hidden = [Dense(32, activation="tanh"), Dense(32, activation="tanh")]
        self.out = Dense(2, activation="softmax")

    def call(self, x, training=False):
        for layer in self.hidden:
            x = layer(x, training)
        return self.out(x, training)


def test_a_subclassed_model_trains_on_the_spiral_through_fit(tmp_path):
    x, y = nl.datasets.make_spiral(400, noise=0.05, random_state=0)
    model = SpiralNet()
    model.compile(nl.optimizers.Adam(0.01), "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(x, y, epochs=150, batch_size=32, seed=0, verbose=0)
    assert len(model.params) == 6 and model.count_params() == 2 * 32 + 32 + 32 * 32 + 32 + 66
    assert history.history["accuracy"][-1] >= 0.95
    assert model.evaluate(x, y, return_dict=True)["accuracy"] >= 0.95
    # its weights go through a file and back into a fresh instance
    model.save_weights(tmp_path / "spiral.weights")
    other = SpiralNet()
    other.build((2,))
    other.load_weights(tmp_path / "spiral.weights")
    np.testing.assert_array_equal(other.predict(x), model.predict(x))
    with pytest.raises(TypeError, match="save_weights"):
        model.save(tmp_path / "spiral.nnlearn")


def test_a_model_without_call_says_so():
    with pytest.raises(NotImplementedError, match="must define call"):
        nl.Model().build((2,))


class PenalizedOutputs(nl.Sequential):
    """train_step overridden: an extra loss term (the mean squared logit), in the logs."""

    weight = 0.1

    def train_step(self, x, y):
        params = self.params

        def closure():
            objective, predictions = self.compute_loss(x, y, training=True)
            logits = self.logits(nl.as_tensor(x), training=True)
            penalty = self.weight * (logits * logits).mean()
            for p in params:
                p.grad = None
            (objective + penalty).backward()
            closure.values = (float(objective.data), penalty.item(), predictions)
            return float(objective.data) + penalty.item()

        loss = self.optimizer.minimize(params, closure)
        data_loss, penalty, predictions = closure.values
        self.update_metrics(y, predictions, data_loss)
        return {"loss": loss, "logit_penalty": penalty}


def test_an_overridden_train_step_trains_and_its_penalty_shows_in_the_logs():
    x, y = blobs(120)
    layers_ = [Dense(16, activation="tanh"), Dense(3, activation="softmax")]
    model = PenalizedOutputs(layers_, seed=0)
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(x, y, epochs=30, batch_size=20, seed=0, verbose=0)
    penalty = history.history["logit_penalty"]
    assert len(penalty) == 30 and all(p > 0 for p in penalty)
    assert history.history["accuracy"][-1] > 0.9
    plain = nl.Sequential([Dense(16, activation="tanh"), Dense(3, activation="softmax")],
                          seed=0)
    plain.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    plain.fit(x, y, epochs=30, batch_size=20, seed=0, verbose=0)
    # the penalty holds the logits back: they end smaller than without it
    logits = model.logits(nl.Tensor(x)).data
    plain_logits = plain.logits(nl.Tensor(x)).data
    assert np.mean(logits ** 2) < np.mean(plain_logits ** 2)


@pytest.mark.parametrize("loss, output, y_of", [
    ("categorical_crossentropy", "softmax", lambda y: nl.utils.to_categorical(y, 3)),
    ("sparse_categorical_crossentropy", "softmax", lambda y: y),
    ("binary_crossentropy", "sigmoid", lambda y: nl.utils.to_categorical(y, 3)),
])
def test_a_loss_wrapped_in_a_function_trains_unfused_like_the_fused_path(loss, output, y_of):
    """float64: the fused node and the clipped loss on probabilities agree to 1e-6."""
    x, labels = blobs(90)
    y = y_of(labels)
    named = nl.losses.get(loss)

    def wrapped(y_true, y_pred):  # a plain function: the model cannot know its fused form
        return named(y_true, y_pred)

    models = []
    for compiled_loss in (loss, wrapped):
        model = nl.Sequential([Dense(8, activation="tanh"), Dense(3, activation=output)],
                              seed=0, dtype="float64")
        model.compile(nl.optimizers.SGD(0.1), compiled_loss)
        models.append(model)
    fused, unfused = models
    assert fused.fused_loss is not None and unfused.fused_loss is None
    histories = [m.fit(x, y, epochs=5, batch_size=15, seed=0, verbose=0) for m in models]
    for a, b in zip(fused.get_weights(), unfused.get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    np.testing.assert_allclose(histories[0].history["loss"], histories[1].history["loss"],
                               rtol=1e-6)


def test_summary_says_whether_the_loss_is_fused(capsys):
    model = small_model()
    model.build((2,))
    model.summary()
    assert "computed from the logits of the softmax output (fused)" in capsys.readouterr().out
    model.compile("sgd", lambda t, p: nl.losses.sparse_categorical_crossentropy(t, p))
    model.summary()
    assert "on the outputs (not fused)" in capsys.readouterr().out


def test_epoch_metrics_are_means_over_samples_not_over_batches():
    """Batches of 4 and 1 samples: the epoch's accuracy weights each sample once."""
    x, y = blobs(5)
    model = small_model(optimizer=nl.optimizers.SGD(0.0))  # nothing moves
    history = model.fit(x, y, epochs=1, batch_size=4, shuffle=False, verbose=0)
    predicted = model.predict(x).argmax(axis=1)
    assert history.history["accuracy"][0] == pytest.approx(np.mean(predicted == y))
    loss = model.evaluate(x, y, batch_size=2, return_dict=True)["loss"]
    assert history.history["loss"][0] == pytest.approx(loss, rel=1e-6)


def test_lbfgs_runs_through_the_same_step_one_iteration_per_epoch():
    x, y = blobs(60)
    model = small_model(optimizer="lbfgs")
    history = model.fit(x, y, epochs=5, batch_size=7, verbose=0)
    assert model.optimizer.iterations == 5 and len(history.epoch) == 5
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_model_files_and_weights_go_through_file_objects():
    x, y = blobs(40)
    model = small_model()
    model.fit(x, y, epochs=2, verbose=0)
    buffer = io.BytesIO()
    model.save(buffer)
    buffer.seek(0)
    loaded = nl.load_model(buffer)
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    weights = io.BytesIO()
    model.save_weights(weights)
    weights.seek(0)
    fresh = small_model()
    fresh.build((2,))
    fresh.load_weights(weights)
    np.testing.assert_array_equal(fresh.predict(x), model.predict(x))
    with pytest.raises(ValueError, match="not a readable nnlearn model"):
        nl.load_model(io.BytesIO(b"not a zip"))


def test_stop_with_a_plain_message_is_a_requested_stop():
    model = small_model()
    model.stop("enough")
    assert model.stop_reason.kind is nl.callbacks.StopKind.REQUESTED
    assert str(model.stop_reason) == "enough"


def test_python_source_rebuilds_the_same_model():
    model = nl.models.mlp(2, [4, 3], 1, activation="tanh", output_activation="sigmoid",
                          kernel_regularizer=nl.regularizers.L2(0.01), dropout=0.2, seed=3)
    model.compile(nl.optimizers.SGD(0.03, momentum=0.9), "binary_crossentropy", ["accuracy"])
    namespace = {}
    exec(nl.models.python_source(model), namespace)
    rebuilt = namespace["model"]
    assert rebuilt.get_config() == model.get_config()
    assert repr(rebuilt.optimizer) == "SGD(learning_rate=0.03, momentum=0.9)"
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    np.testing.assert_array_equal(rebuilt.predict(x), model.predict(x))


def test_layers_in_lists_dicts_and_nested_models_are_tracked():
    class Inner(nl.Model):
        def __init__(self):
            super().__init__(seed=1)
            self.blocks = {"a": Dense(4, activation="tanh"), "b": Dense(4, activation="tanh")}

        def call(self, x, training=False):
            return self.blocks["b"](self.blocks["a"](x, training), training)

    class Outer(nl.Model):
        def __init__(self):
            super().__init__(seed=0)
            self.inner = Inner()
            self.head = Dense(3)
            self.head = Dense(3, activation="softmax")  # reassigned: the first is dropped

        def call(self, x, training=False):
            return self.head(self.inner(x, training), training)

    model = Outer()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    x, y = blobs(60)
    before = model.get_weights() if model.built else None
    model.fit(x, y, epochs=2, verbose=0)
    assert before is None and len(model.layers) == 3 and len(model.params) == 6
    assert model.inner.blocks["a"].kernel is model.params[0]

    class Early(nl.Model):
        def __init__(self):
            self.layer = Dense(2)
            super().__init__()

    with pytest.raises(RuntimeError, match="call super\\(\\).__init__\\(\\) before"):
        Early()


def test_a_step_that_tracks_nothing_has_its_own_loss_averaged():
    class Untracked(nl.Sequential):
        def train_step(self, x, y):
            return {"loss": 2.0 * len(x)}  # a fake loss: 2 per sample in the batch

    model = Untracked([Dense(3, activation="softmax")], seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy")
    x, y = blobs(30)
    history = model.fit(x, y, epochs=1, batch_size=20, shuffle=False, verbose=0)
    # batches of 20 and 10: (40 * 20 + 20 * 10) / 30
    assert history.history["loss"] == [pytest.approx((40 * 20 + 20 * 10) / 30)]


def test_unbuilt_models_and_custom_pieces_fail_clearly(tmp_path):
    with pytest.raises(RuntimeError, match="not built yet"):
        SpiralNet().load_weights(tmp_path / "none")
    with pytest.raises(RuntimeError, match="not built yet"):
        SpiralNet().save_weights(tmp_path / "none")
    model = small_model(metrics=[lambda t, p: 0.0])
    model.build((2,))
    with pytest.raises(ValueError, match="cannot save custom metric"):
        model.save(tmp_path / "m.nnl")
    model.compile("sgd", lambda t, p: nl.losses.mean_squared_error(t, p))
    with pytest.raises(ValueError, match="cannot save custom loss"):
        nl.models.python_source(model)


def test_from_logits_after_a_softmax_output_warns():
    model = nl.Sequential([Dense(3, activation="softmax")])
    with pytest.warns(UserWarning, match="from_logits=True.*applies softmax"):
        model.compile("sgd", nl.losses.SparseCategoricalCrossentropy(from_logits=True))


def test_targets_of_the_wrong_shape_are_refused_before_training():
    model = nl.Sequential([Dense(2)], seed=0)
    model.compile("sgd", "mse")
    x = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="y of shape \\(4,\\) does not match the model's 2"):
        model.fit(x, np.zeros(4), verbose=0)
    model = small_model()
    with pytest.raises(ValueError, match="one-hot rows: use loss='categorical_crossentropy'"):
        model.fit(x[:, :2], np.eye(3)[[0, 1, 2, 0]], verbose=0)


def test_lbfgs_state_is_saved_and_resumed_exactly(tmp_path):
    x, y = blobs(60)
    straight = small_model(optimizer="lbfgs")
    straight.fit(x, y, epochs=6, verbose=0)
    first = small_model(optimizer="lbfgs")
    first.fit(x, y, epochs=3, verbose=0)
    first.save(tmp_path / "half.nnl")
    resumed = nl.load_model(tmp_path / "half.nnl")
    assert len(resumed.optimizer.get_state()[0]) == 3  # three curvature pairs
    resumed.fit(x, y, epochs=6, initial_epoch=3, verbose=0)
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- issue 16: arguments that used to give wrong results or tracebacks ------------------------
@pytest.mark.parametrize("batch_size", [-1, 0, 2.5, True, "8"])
def test_predict_and_evaluate_refuse_a_batch_size_that_is_not_positive(batch_size):
    model = small_model()
    model.build((2,))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.predict(np.zeros((3, 2), np.float32), batch_size=batch_size)
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        model.evaluate(np.zeros((3, 2), np.float32), np.zeros(3, int), batch_size=batch_size)


@pytest.mark.parametrize("n, split, held_out", [(5, 0.05, 0), (2, 0.9, 2), (1, 0.5, 0),
                                                (30, 0.01, 0)])
def test_a_validation_split_that_rounds_to_nothing_or_everything_is_refused(n, split, held_out):
    x, y = blobs(n)
    model = small_model()
    with pytest.raises(ValueError, match=f"validation_split={split} of {n} samples holds out "
                                         f"{held_out}"):
        model.fit(x, y, validation_split=split, verbose=0)
    history = small_model().fit(*blobs(10), validation_split=0.1, epochs=1, verbose=0)
    assert "val_loss" in history.history


def test_a_single_class_validation_tail_is_warned_about():
    x, y = blobs(60)
    order = np.argsort(y, kind="stable")  # sorted by class: the tail is all class 2
    with pytest.warns(UserWarning, match="all of class 2: shuffle the data first"):
        small_model().fit(x[order], y[order], epochs=1, validation_split=0.2, verbose=0)


def test_a_misspelled_keyword_of_compile_fit_evaluate_or_predict_names_the_model_and_a_guess():
    """Python's own message names the class that defines the method (an internal one)
    and no correction; the model's says which method, the closest name and all of them."""
    model = nl.Sequential([Dense(2, activation="softmax")], seed=0)
    with pytest.raises(TypeError, match=r"^Sequential\.compile: unknown argument 'optimiser'; "
                                        r"did you mean 'optimizer'\? \(its arguments: "
                                        r"optimizer, loss, metrics\)$"):
        model.compile(optimiser="adam", loss="mse")
    model.compile(loss="sparse_categorical_crossentropy")
    x, y = np.zeros((4, 2), np.float32), np.zeros(4)
    with pytest.raises(TypeError, match=r"^Sequential\.fit: unknown argument 'epoch'; did you "
                                        r"mean 'epochs'\?"):
        model.fit(x, y, epoch=2)
    with pytest.raises(TypeError, match=r"^Sequential\.predict: unknown argument 'batchsize'; "
                                        r"did you mean 'batch_size'\?"):
        model.predict(x, batchsize=2)
    with pytest.raises(TypeError, match=r"^Sequential\.evaluate: unknown argument 'xyz' "
                                        r"\(its arguments: x, y, "):
        model.evaluate(x, y, xyz=0)
    assert model.fit(x, y, epochs=1, verbose=0).history["loss"]   # known names still pass


def test_verbose_a_single_layer_and_activation_none_get_clear_errors():
    x, y = np.zeros((4, 2), np.float32), np.zeros(4)
    model = nl.Sequential([Dense(2, activation="softmax")], seed=0)
    model.compile(loss="sparse_categorical_crossentropy")
    for call in (lambda: model.fit(x, y, verbose=3), lambda: model.predict(x, verbose=-1),
                 lambda: model.evaluate(x, y, verbose="auto")):
        with pytest.raises(ValueError, match=r"^verbose must be 0 \(silent\), 1 \(a progress "
                                             r"bar\) or 2 \(one line per epoch\); got "):
            call()
    assert model.fit(x, y, verbose=0.0).history["loss"]   # 0.0 is 0
    assert model.evaluate(x, y, verbose=False) is not None  # False is 0 (scikit-learn's)
    with pytest.raises(TypeError, match=r"^Sequential: layers must be a list of layers, e\.g\. "
                                        r".*got a single Dense \(put the layers in a list\)$"):
        nl.Sequential(Dense(2))
    with pytest.raises(TypeError, match=r"^Sequential: layers must be a list of layers; got int$"):
        nl.Sequential(3)
    assert len(nl.Sequential(layer for layer in [Dense(2), Dense(1)]).layers) == 2
    with pytest.raises(ValueError, match=r"^activation: unknown activation 'none'\. For no "
                                         r"activation \(the identity\), pass None or 'linear'"):
        Dense(2, activation="none")


@pytest.mark.parametrize("loss", ["sparse_categorical_crossentropy", "categorical_crossentropy"])
def test_samples_with_an_extra_axis_get_a_hint_about_the_per_position_output(loss):
    """A Dense layer acts on the last axis, so (n, 2, 1) samples give (n, 2, 2) outputs:
    the error about y also says why, and how to get one prediction per sample."""
    X, y = nl.datasets.make_circle(100, random_state=0)
    model = nl.Sequential([Dense(4, activation="relu"), Dense(2, activation="softmax")], seed=0)
    model.compile(loss=loss, optimizer="adam")
    target = y if loss.startswith("sparse") else nl.utils.to_categorical(y)
    with pytest.raises(ValueError, match=r"the model's output has shape \(\d+, 2, 2\), a "
                                         r"prediction for each position .* put a Flatten\(\) "
                                         r"layer first\)$"):
        model.fit(X.reshape(100, 2, 1), target, verbose=0)
    model = nl.Sequential([Dense(4, activation="relu"), Dense(2, activation="softmax")], seed=0)
    model.compile(loss=loss, optimizer="adam")
    assert model.fit(X, target, epochs=1, verbose=0).history["loss"]   # flat samples
