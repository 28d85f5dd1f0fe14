"""ONNX export (nnlearn.interop.onnx, the skl2onnx converters, Model.export and
``nnlearn export``): onnxruntime's outputs equal ``predict`` to 1e-5 in float32, the
graph passes ``onnx.checker.check_model`` and ONNX's own reference evaluator agrees."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from onnx.reference import ReferenceEvaluator  # noqa: E402

import nnlearn as nl  # noqa: E402
from nnlearn import activations  # noqa: E402
from nnlearn.interop.onnx import (DEFAULT_OPSET, MIN_OPSET, OnnxGraph,  # noqa: E402
                                  lower_activation, to_onnx)

L = nl.layers
TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def outputs_agree(model, x, opset=None, reference=True):
    """Export, check, run in onnxruntime (and the reference evaluator): each equals
    predict to 1e-5.  Returns the ModelProto."""
    proto = to_onnx(model, opset)
    onnx.checker.check_model(proto, full_check=True)
    expected = model.predict(x)
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"input": x.astype(model.dtype)})
    assert got.shape == expected.shape and got.dtype == expected.dtype
    np.testing.assert_allclose(got, expected, **TOLERANCE)
    if reference:
        (by_reference,) = ReferenceEvaluator(proto).run(None, {"input": x.astype(model.dtype)})
        np.testing.assert_allclose(by_reference, expected, **TOLERANCE)
    return proto


def normal(shape, seed=0, scale=1.0):
    return (np.random.default_rng(seed).normal(size=shape) * scale).astype(np.float32)


def randomize(model, seed=1):
    """Every weight and moving statistic away from its initial value (biases 0, gamma
    1...), so that a weight put in the wrong place shows."""
    rng = np.random.default_rng(seed)
    weights = [w + rng.normal(scale=0.3, size=w.shape).astype(w.dtype)
               for w in model.get_weights()]
    model.set_weights(weights)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            layer.moving_mean[...] = rng.normal(size=layer.moving_mean.shape)
            layer.moving_variance[...] = rng.uniform(0.3, 3, size=layer.moving_mean.shape)
    return model


# -- activations: each lowered from its element rule ---------------------------------------
ALL_ACTIVATIONS = sorted(activations.ACTIVATIONS)


@pytest.mark.parametrize("name", ALL_ACTIVATIONS)
def test_an_mlp_with_each_activation(name):
    model = nl.Sequential([L.Input(5), L.Dense(16, activation=name),
                           L.Dense(3, activation=name)], seed=0)
    model.build((5,))
    randomize(model)
    outputs_agree(model, normal((32, 5)))


@pytest.mark.parametrize("name", [n for n in ALL_ACTIVATIONS
                                  if activations.get(n).elementwise])
def test_each_lowered_rule_equals_the_rule_over_a_wide_range(name):
    """The graph of the element rule (native ops off), evaluated by ONNX's reference
    evaluator in float64 (onnxruntime lacks some float64 kernels, Atan), against the
    rule on the same numbers, tails included."""
    activation = activations.get(name)
    z = np.concatenate([np.linspace(-30, 30, 601), [-1e-7, 0.0, 1e-7]])
    graph = OnnxGraph(np.float64, DEFAULT_OPSET)
    out = lower_activation(graph, activation, "z", native=False)
    out = graph.node("Identity", [out], hint="out")
    proto = onnx.helper.make_model(onnx.helper.make_graph(
        graph.nodes, "rule", [onnx.helper.make_tensor_value_info("z", onnx.TensorProto.DOUBLE,
                                                                 [None])],
        [onnx.helper.make_tensor_value_info(out, onnx.TensorProto.DOUBLE, [None])],
        initializer=graph.initializers),
        opset_imports=[onnx.helper.make_opsetid("", DEFAULT_OPSET)])
    proto.ir_version = onnx.helper.find_min_ir_version_for(list(proto.opset_import))
    onnx.checker.check_model(proto, full_check=True)
    (got,) = ReferenceEvaluator(proto).run(None, {"z": z})
    with np.errstate(over="ignore"):
        expected = activation.function(z, 1.0)
    # the reference evaluator's Erf rounds to float32 (GELU's erfc is 1 - erf): 1e-7
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-7 if name == "gelu" else 1e-12)


def test_relu_sigmoid_tanh_use_onnx_operators_that_equal_their_rules():
    for name, op_type in (("relu", "Relu"), ("sigmoid", "Sigmoid"), ("tanh", "Tanh")):
        graph = OnnxGraph(np.float32, DEFAULT_OPSET)
        lower_activation(graph, activations.get(name), "z")
        assert [node.op_type for node in graph.nodes] == [op_type]
    graph = OnnxGraph(np.float32, DEFAULT_OPSET)
    lower_activation(graph, activations.get("gelu"), "z")
    assert "Erf" in [node.op_type for node in graph.nodes]  # z Phi(z), Phi from erfc


def test_a_custom_activation_function_is_a_clear_error():
    graph = OnnxGraph(np.float32, DEFAULT_OPSET)
    with pytest.raises(NotImplementedError, match="activation .*has no ONNX export"):
        lower_activation(graph, lambda z: z * 2, "z")


def test_a_new_activation_declared_with_element_rules_exports_without_more_code():
    """An Activation built from element rules (here the softsign z / (1 + |z|)) exports
    with no converter of its own: its rule is what the graph is made from."""
    def softsign(z, one):
        return z / (one + np.abs(z))

    def softsign_backward(dz, g, z, h, one):
        return g / ((one + np.abs(z)) * (one + np.abs(z)))

    custom = activations.Activation("softsign", softsign, softsign_backward,
                                    needs_input=True, costly=False)
    model = nl.Sequential([L.Input(4), L.Dense(6, activation=custom), L.Dense(2)], seed=0)
    model.build((4,))
    outputs_agree(model, normal((8, 4)))


def test_a_rule_calling_an_unknown_function_names_it():
    def strange(z, one):
        return np.cbrt(z)

    custom = activations.Activation("cube_root", strange, None, needs_input=True,
                                    costly=True)
    graph = OnnxGraph(np.float32, DEFAULT_OPSET)
    with pytest.raises(NotImplementedError, match="'cube_root'.*cbrt"):
        lower_activation(graph, custom, "z")


# -- the gallery's models ------------------------------------------------------------------
def test_the_gallery_lenet_cnn_with_and_without_augmentation():
    from nnlearn.experiments.cnn import lenet

    for augment in (False, True):
        model = lenet(seed=0, augment=augment)
        model.build((28, 28, 1))
        randomize(model)
        outputs_agree(model, normal((6, 28, 28, 1)))


def test_the_gallery_mlps_and_xor_network():
    from nnlearn.experiments.xor import xor_network

    outputs_agree(xor_network(seed=0), np.array([[0, 0], [0, 1], [1, 0], [1, 1]],
                                                np.float32))
    model = nl.models.mlp(784, [50], 10, activation="relu", output_activation="softmax",
                          seed=0)
    model.build((784,))
    outputs_agree(model, normal((5, 784)))


def test_the_gallery_elman_network_trained_a_little():
    steps = 12
    model = nl.Sequential([L.Input((steps, 1)), L.SimpleRNN(8), L.Dense(1)], seed=0)
    x = normal((64, steps, 1))
    model.compile("adam", "mse")
    model.fit(x, x[:, -1], epochs=2, batch_size=16, verbose=0, seed=0)
    outputs_agree(model, x[:10])


def test_convolutions_paddings_strides_dilations_groups_and_pooling():
    model = nl.Sequential([
        L.Input((13, 11, 4)),
        L.Conv2D(6, 3, padding="same", strides=2, activation="elu"),
        L.Conv2D(6, (2, 3), dilation_rate=(2, 1), groups=3, padding="same"),
        L.ZeroPadding2D(((1, 0), (2, 1))),
        L.AveragePooling2D(3, strides=2, padding="same"),
        L.BatchNormalization(),
        L.MaxPooling2D((2, 1), padding="same"),
        L.Conv2D(3, 1, use_bias=False, activation="tanh"),
        L.GlobalMaxPooling2D()], seed=0)
    model.build((13, 11, 4))
    randomize(model)
    outputs_agree(model, normal((5, 13, 11, 4)))

    model = nl.Sequential([
        L.Input((17, 3)),
        L.Conv1D(4, 3, padding="causal", dilation_rate=2, activation="selu"),
        L.MaxPooling1D(3, strides=2, padding="same"),
        L.Conv1D(4, 2, padding="same", groups=2, strides=2),
        L.AveragePooling1D(2),
        L.PReLU(),
        L.GlobalAveragePooling1D(),
        L.Dense(2, activation="softmax")], seed=0)
    model.build((17, 3))
    randomize(model)
    outputs_agree(model, normal((5, 17, 3)))


def test_global_pooling_at_the_oldest_and_newer_operator_sets():
    model = nl.Sequential([L.Input((6, 5, 2)), L.GlobalAveragePooling2D(), L.Dense(2)],
                          seed=0)
    model.build((6, 5, 2))
    for opset in (MIN_OPSET, 17, DEFAULT_OPSET, 21):
        proto = outputs_agree(model, normal((3, 6, 5, 2)), opset=opset)
        assert proto.opset_import[0].version == opset


def test_batch_normalization_flatten_reshape_and_identity_layers():
    model = nl.Sequential([
        L.Input((4, 6)), L.GaussianNoise(0.3), L.Flatten(), L.BatchNormalization(),
        L.Dropout(0.5), L.GaussianDropout(0.2), L.Reshape((3, -1)),
        L.Dense(5, activation="leaky_relu"), L.Reshape((15,)), L.Activation("softplus"),
        L.Dense(2)], seed=0)
    model.build((4, 6))
    randomize(model)
    outputs_agree(model, normal((7, 4, 6)))


@pytest.mark.parametrize("cell", ["SimpleRNN", "LSTM", "GRU"])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_recurrent_layers(cell, go_backwards, return_sequences):
    layer = getattr(L, cell)(5, go_backwards=go_backwards, return_sequences=return_sequences)
    model = nl.Sequential([L.Input((7, 3)), layer, L.Dense(2)], seed=0)
    model.build((7, 3))
    randomize(model)
    outputs_agree(model, normal((4, 7, 3)))


@pytest.mark.parametrize("options", [
    dict(reset_after=False), dict(use_bias=False), dict(reset_after=False, use_bias=False),
    dict(activation="relu"), dict(recurrent_activation="tanh")])
def test_gru_options(options):
    model = nl.Sequential([L.Input((6, 3)), L.GRU(4, return_sequences=True, **options),
                           L.Flatten()], seed=0)
    model.build((6, 3))
    randomize(model)
    # the reference evaluator knows the recurrent operators' default activations only
    outputs_agree(model, normal((4, 6, 3)), reference="activation" not in str(options))


def test_lstm_and_simple_rnn_with_other_activations():
    for layer in (L.LSTM(4, activation="relu", unit_forget_bias=False),
                  L.LSTM(4, recurrent_activation="tanh", use_bias=False),
                  L.SimpleRNN(4, activation="relu"), L.SimpleRNN(4, activation="sigmoid")):
        model = nl.Sequential([L.Input((5, 2)), layer], seed=0)
        model.build((5, 2))
        randomize(model)
        outputs_agree(model, normal((3, 5, 2)), reference=False)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional(merge_mode):
    model = nl.Sequential([
        L.Input((6, 3)),
        L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode=merge_mode),
        L.Bidirectional(L.GRU(3, go_backwards=True), merge_mode=merge_mode),
        L.Dense(1)], seed=0)
    model.build((6, 3))
    randomize(model)
    outputs_agree(model, normal((4, 6, 3)))


def test_embedding_recurrent_and_time_distributed_text_model():
    model = nl.Sequential([
        L.Input(9), L.Embedding(20, 6), L.Bidirectional(L.SimpleRNN(5, return_sequences=True)),
        L.TimeDistributed(L.Dense(3, activation="softmax"))], seed=0)
    model.build((9,))
    randomize(model)
    tokens = np.random.default_rng(0).integers(0, 20, size=(8, 9)).astype(np.float32)
    outputs_agree(model, tokens)


def test_a_float64_model():
    """A float64 model gives a float64 graph (onnxruntime's CPU lacks some float64
    kernels, Erf and Atan: GELU and arctan run in float32 models there)."""
    model = nl.Sequential([L.Input(3), L.Dense(4, activation="softplus"), L.Dense(2)],
                          seed=0, dtype="float64")
    model.build((3,))
    x = np.random.default_rng(0).normal(size=(5, 3))
    proto = outputs_agree(model, x)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


# -- a property: random stacks ---------------------------------------------------------------
@st.composite
def stacks(draw):
    """A random Sequential of Conv2D/pooling blocks (or none) then Dense layers."""
    rng_seed = draw(st.integers(0, 2 ** 16))
    names = [n for n in ALL_ACTIVATIONS if n not in ("exponential", "binary_step")]
    conv_blocks = draw(st.integers(0, 2))
    size = draw(st.integers(6, 10))
    channels = draw(st.integers(1, 3))
    stack = [L.Input((size, size, channels))] if conv_blocks else [L.Input(channels * 3)]
    side = size  # the images' side after each layer: a valid kernel must fit
    for _ in range(conv_blocks):
        kernel, stride = draw(st.integers(1, 3)), draw(st.integers(1, 2))
        padding = draw(st.sampled_from(["valid", "same"])) if kernel <= side else "same"
        stack.append(L.Conv2D(draw(st.integers(1, 4)), kernel, strides=stride,
                              padding=padding, activation=draw(st.sampled_from(names))))
        side = -(-side // stride) if padding == "same" else (side - kernel) // stride + 1
        if draw(st.booleans()):
            stack.append(draw(st.sampled_from([L.MaxPooling2D, L.AveragePooling2D]))(
                2, padding="same"))
            side = -(-side // 2)
    if conv_blocks:
        stack.append(draw(st.sampled_from([L.Flatten(), L.GlobalAveragePooling2D()])))
    for _ in range(draw(st.integers(1, 3))):
        stack.append(L.Dense(draw(st.integers(1, 6)), activation=draw(st.sampled_from(names))))
        if draw(st.booleans()):
            stack.append(L.BatchNormalization())
    sample = (size, size, channels) if conv_blocks else (channels * 3,)
    return stack, sample, rng_seed


@settings(max_examples=25, deadline=None)
@given(stacks())
def test_random_sequential_stacks_agree(drawn):
    stack, sample, seed = drawn
    model = nl.Sequential(stack, seed=seed)
    model.build(sample)
    randomize(model, seed)
    outputs_agree(model, normal((3, *sample), seed))


# -- what is refused, clearly ----------------------------------------------------------------
def test_unsupported_layers_models_and_arguments_are_clear_errors(tmp_path):
    class Doubling(L.Layer):
        def call(self, x, training=False):
            return x * 2

    model = nl.Sequential([L.Input(3), Doubling(name="twice"), L.Dense(1)], seed=0)
    model.build((3,))
    with pytest.raises(NotImplementedError, match="no converter for the layer Doubling"):
        to_onnx(model)

    class Subclassed(nl.Model):
        def __init__(self):
            super().__init__(seed=0)
            self.dense = L.Dense(2)

        def call(self, x, training=False):
            return self.dense(x)

    subclassed = Subclassed()
    subclassed.build((3,))
    with pytest.raises(NotImplementedError, match="Subclassed model cannot be exported"):
        to_onnx(subclassed)

    stateful = nl.Sequential([L.Input((4, 2)), L.LSTM(3, stateful=True)], seed=0)
    stateful.build((4, 2))
    with pytest.raises(NotImplementedError, match="stateful LSTM"):
        to_onnx(stateful)

    elu_rnn = nl.Sequential([L.Input((4, 2)), L.SimpleRNN(3, activation="elu")], seed=0)
    elu_rnn.build((4, 2))
    with pytest.raises(NotImplementedError, match="SimpleRNN with the activation 'elu'"):
        to_onnx(elu_rnn)

    built = nl.Sequential([L.Input(3), L.Dense(1)], seed=0)
    built.build((3,))
    for opset in (MIN_OPSET - 1, 10 ** 6, 17.0, True, "18"):
        with pytest.raises(ValueError, match="opset must be an integer from 13"):
            to_onnx(built, opset)
    with pytest.raises(ValueError, match="format must be 'onnx'; got 'tflite'"):
        built.export(tmp_path / "m.tflite", format="tflite")
    with pytest.raises(RuntimeError, match="to_onnx: the model is not built"):
        to_onnx(nl.Sequential([L.Dense(2)]))
    with pytest.raises(TypeError, match="model must be an nnlearn Model; got str"):
        to_onnx("model.onnx")


def test_model_export_writes_a_file_onnxruntime_runs(tmp_path):
    model = nl.Sequential([L.Input(4), L.Dense(3, activation="tanh"),
                           L.Dense(2, activation="softmax")], seed=0)
    model.build((4,))
    model.metadata = {"classes": ["no", "yes"]}
    path = tmp_path / "model.onnx"
    model.export(path)
    loaded = onnx.load(str(path))
    assert loaded.opset_import[0].version == DEFAULT_OPSET
    assert '"yes"' in {p.key: p.value for p in loaded.metadata_props}["nnlearn.metadata"]
    x = normal((6, 4))
    (got,) = ort.InferenceSession(str(path)).run(None, {"input": x})
    np.testing.assert_allclose(got, model.predict(x), **TOLERANCE)
    model.export(path, opset=MIN_OPSET)
    assert onnx.load(str(path)).opset_import[0].version == MIN_OPSET
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # no temporary left


# -- the command -------------------------------------------------------------------------------
def test_the_export_command(tmp_path, capsys):
    import csv

    from nnlearn.cli import run

    X, y = nl.datasets.make_circle(120, noise=0.05, random_state=0)
    data = tmp_path / "rings.csv"
    with open(data, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x1", "x2", "ring"])
        for (a, b), label in zip(X * 5 + 2, np.array(["outer", "inner"])[y]):
            writer.writerow([f"{a:.5f}", f"{b:.5f}", label])
    model_path = tmp_path / "rings.nnlearn"
    assert run(["train", str(data), "--target", "ring", "--epochs", "3", "--verbose", "0",
                "--out", str(model_path)]) == 0
    assert run(["export", str(model_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    exported = tmp_path / "rings.onnx"
    assert run(["predict", str(model_path), str(data), "--proba", "--out",
                str(tmp_path / "p.csv")]) == 0
    with open(tmp_path / "p.csv") as f:
        predicted = np.array([[float(r[1]), float(r[2])] for r in list(csv.reader(f))[1:]])
    features = np.loadtxt(data, delimiter=",", skiprows=1, usecols=(0, 1), dtype=np.float32)
    (got,) = ort.InferenceSession(str(exported)).run(None, {"input": features})
    # the graph standardises the raw columns as nnlearn predict does (6 digits in the CSV)
    np.testing.assert_allclose(got, predicted, atol=2e-6)

    assert run(["export", str(model_path), "--opset", "13", "-o",
                str(tmp_path / "old.onnx")]) == 0
    assert onnx.load(str(tmp_path / "old.onnx")).opset_import[0].version == 13
    capsys.readouterr()
    for argv, fragment in (
            (["export", str(model_path), "--opset", "7"], "opset must be an integer from 13"),
            (["export", str(model_path), "-o", str(model_path)], "is the model file"),
            (["export", str(tmp_path / "missing.nnlearn")], "no such model file"),
            (["export", str(model_path), "-o", str(tmp_path / "no" / "m.onnx")],
             "is not a directory")):
        assert run(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("Error: ") and "\n" not in err and fragment in err, err


# -- the estimators through skl2onnx -------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")  # 40 iterations: not converged
def test_skl2onnx_converts_the_estimators():
    skl2onnx = pytest.importorskip("skl2onnx")
    import nnlearn.interop.skl2onnx  # noqa: F401  (registers the converters)
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from nnlearn.estimators import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 4)).astype(np.float32)
    two = (X[:, 0] + X[:, 1] > 0).astype(int) * 5 + 2          # classes 2 and 7
    three = np.array(["cat", "dog", "eel"])[(X[:, 0] > 0).astype(int) + (X[:, 2] > 0)]
    for y in (two, three):
        classifier = MLPClassifier(hidden_layer_sizes=(8,), max_iter=40, random_state=0)
        classifier.fit(X, y)
        onx = skl2onnx.to_onnx(classifier, X[:1], options={"zipmap": False})
        onnx.checker.check_model(onx)
        session = ort.InferenceSession(onx.SerializeToString())
        assert [o.name for o in session.get_outputs()] == ["label", "probabilities"]
        label, probabilities = session.run(None, {"X": X})
        np.testing.assert_allclose(probabilities, classifier.predict_proba(X), **TOLERANCE)
        assert (label == classifier.predict(X)).all()
        # skl2onnx's default: the probabilities as a list of {class: probability}
        label, maps = ort.InferenceSession(skl2onnx.to_onnx(
            classifier, X[:1]).SerializeToString()).run(None, {"X": X})
        np.testing.assert_allclose([[m[c] for c in classifier.classes_] for m in maps],
                                   classifier.predict_proba(X), **TOLERANCE)

    multilabel = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(
        X, np.stack([X[:, 0] > 0, X[:, 1] > 0], 1).astype(int))
    with pytest.raises(NotImplementedError, match="not a multilabel indicator matrix"):
        skl2onnx.to_onnx(multilabel, X[:1])

    regressor = MLPRegressor(hidden_layer_sizes=(8,), max_iter=40, random_state=0)
    for targets in (X[:, 0] - X[:, 1], np.stack([X[:, 0], X[:, 1] * X[:, 2]], 1)):
        regressor.fit(X, targets)
        pipeline = make_pipeline(StandardScaler(), regressor).fit(X, targets)
        for estimator in (regressor, pipeline):
            onx = skl2onnx.to_onnx(estimator, X[:1])
            (got,) = ort.InferenceSession(onx.SerializeToString()).run(None, {"X": X})
            np.testing.assert_allclose(got.reshape(estimator.predict(X).shape),
                                       estimator.predict(X), **TOLERANCE)
    # float64 input: the network runs in its float32 and the output is cast back
    onx = skl2onnx.to_onnx(regressor, X[:1].astype(np.float64))
    (got,) = ort.InferenceSession(onx.SerializeToString()).run(
        None, {"X": X.astype(np.float64)})
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, regressor.predict(X), **TOLERANCE)


def test_without_onnx_installed_the_export_says_what_to_install(tmp_path, monkeypatch, capsys):
    import sys

    from nnlearn.cli import run

    model = nl.Sequential([L.Input(2), L.Dense(1)], seed=0)
    model.build((2,))
    model.save(tmp_path / "m.nnlearn")
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx fails as if absent
    monkeypatch.delitem(sys.modules, "nnlearn.interop.onnx")
    with pytest.raises(ModuleNotFoundError, match=r"needs onnx: pip install onnx"):
        model.export(tmp_path / "m.onnx")
    assert run(["export", str(tmp_path / "m.nnlearn")]) == 2
    assert "Error: export needs onnx: pip install onnx" in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("layer", [
    L.LSTM(4, return_sequences=True, return_state=True),
    L.GRU(3, return_state=True, go_backwards=True),
    L.SimpleRNN(2, return_state=True),
    L.Bidirectional(L.LSTM(3, return_state=True, return_sequences=True))],
    ids=["LSTM", "GRU", "SimpleRNN", "Bidirectional"])
def test_return_state_gives_every_output_through_the_converter_table(layer):
    """A layer's converter returns all its outputs (the sequence and the final states), as
    a model of several outputs uses them: each equals the layer's own output."""
    from nnlearn.interop.onnx import convert_layer

    x = normal((4, 5, 3))
    layer.build((5, 3), np.random.default_rng(0), np.float32)
    expected = [out.data for out in layer(x)]
    graph = OnnxGraph(np.float32, DEFAULT_OPSET)
    graph.name("x")
    outputs = convert_layer(graph, layer, ["x"])
    names = [graph.node("Identity", [value], hint="out") for value in outputs]
    proto = onnx.helper.make_model(onnx.helper.make_graph(
        graph.nodes, "layer", [onnx.helper.make_tensor_value_info(
            "x", onnx.TensorProto.FLOAT, [None, 5, 3])],
        [onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT,
                                            [None, *reference.shape[1:]])
         for name, reference in zip(names, expected)], initializer=graph.initializers),
        opset_imports=[onnx.helper.make_opsetid("", DEFAULT_OPSET)])
    proto.ir_version = onnx.helper.find_min_ir_version_for(list(proto.opset_import))
    onnx.checker.check_model(proto, full_check=True)
    got = ort.InferenceSession(proto.SerializeToString()).run(None, {"x": x})
    assert len(got) == len(expected)
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(value, reference, **TOLERANCE)


def test_a_model_kind_registers_a_walker_and_its_signature(monkeypatch):
    """How a model of several outputs plugs in: register_model(cls, signature) with a
    walker; outputs without a declared shape get ONNX's inferred one."""
    from nnlearn.interop import onnx as exporter

    class WithFeatures(nl.Sequential):
        """A Sequential whose graph also gives its first layer's output."""

    monkeypatch.setattr(exporter, "MODEL_WALKERS", dict(exporter.MODEL_WALKERS))

    @exporter.register_model(WithFeatures, lambda model: (
        [("x", model.input_shape)], [("y", None), ("features", None)]))
    def walk(graph, model, inputs):
        hidden = exporter.convert_layer(graph, model.layers[0], inputs)
        return [*exporter.convert_layer(graph, model.layers[1], hidden), *hidden]

    model = WithFeatures([L.Dense(4, activation="tanh"), L.Dense(2)], seed=0)
    model.build((3,))
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    assert [o.name for o in proto.graph.output] == ["y", "features"]
    assert [len(o.type.tensor_type.shape.dim) for o in proto.graph.output] == [2, 2]
    x = normal((5, 3))
    y, features = ort.InferenceSession(proto.SerializeToString()).run(None, {"x": x})
    np.testing.assert_allclose(y, model.predict(x), **TOLERANCE)
    np.testing.assert_allclose(features, model.layers[0](x).data, **TOLERANCE)
