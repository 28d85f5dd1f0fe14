"""Functional models (nl.Input, layers called on symbolic tensors, nl.Model(inputs,
outputs)) and the merge layers: against Keras 3 (outputs, gradients and one training
step, same weights; skipped without Keras), losses computed by hand, gradient checks,
save/load, configs and generated code, and the errors at the public boundary."""

from __future__ import annotations

import io
import os

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import layers
from nnlearn.models.functional import Functional, SymbolicTensor, check_graph

from functional_graphs import (MODELS, as_list, build_nnlearn, data_for,  # noqa: F401
                               random_graph, residual_mlp, shared_siamese, two_in_two_out)

RNG = np.random.default_rng(34)


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "torch":
        pytest.skip(f"Keras runs on {keras.backend.backend()}, not torch (gradients read "
                    "from torch)")
    before = keras.config.floatx()
    keras.config.set_floatx("float64")
    yield keras
    keras.config.set_floatx(before)


def keras_twin(keras, name, model):
    """The same model in Keras, with the nnlearn model's weights, layer by layer."""
    make, loss, weights = MODELS[name]
    inputs, outputs = make(keras)
    theirs = keras.Model(inputs, outputs)
    for layer in model.layers:
        if layer.params:
            theirs.get_layer(layer.name).set_weights([p.data for p in layer.params])
    theirs.compile(optimizer=keras.optimizers.SGD(0.1),
                   loss=[loss[t.name] for t in model.outputs],
                   loss_weights=None if weights is None else
                   [weights[t.name] for t in model.outputs])
    return theirs


@pytest.mark.parametrize("name", list(MODELS))
def test_outputs_and_gradients_equal_keras(keras, name):
    import torch

    model, inputs, outputs = build_nnlearn(name)
    theirs = keras_twin(keras, name, model)
    xs, ys = data_for(inputs, outputs)
    ours = model.predict(xs if len(xs) > 1 else xs[0])
    ours = ours if isinstance(ours, list) else [ours]
    expected = theirs([torch.tensor(x) for x in xs])
    expected = expected if isinstance(expected, (list, tuple)) else [expected]
    for got, want in zip(ours, expected):
        np.testing.assert_allclose(got, keras.ops.convert_to_numpy(want), atol=1e-6)

    # the gradient of the compiled objective sum_k lambda_k L_k, by each framework
    _, loss, weights = MODELS[name]
    predictions = theirs([torch.tensor(x) for x in xs])
    predictions = predictions if isinstance(predictions, (list, tuple)) else [predictions]
    total = 0
    for t, y, p in zip(model.outputs, ys, predictions):
        term = keras.losses.get(loss[t.name])(torch.tensor(y), p).mean()  # over the batch
        total = total + (1.0 if weights is None else weights[t.name]) * term
    total.backward()
    objective, _ = model.compute_loss(xs if len(xs) > 1 else xs[0],
                                      ys if len(ys) > 1 else ys[0])
    assert float(objective.data) == pytest.approx(float(total.detach()), abs=1e-6)
    objective.backward()
    for layer in model.layers:
        keras_layer = theirs.get_layer(layer.name)
        for param, variable in zip(layer.params, keras_layer.trainable_weights):
            np.testing.assert_allclose(param.grad, variable.value.grad.numpy(), atol=1e-6,
                                       err_msg=f"{name}: {layer.name}")


@pytest.mark.parametrize("name", ["two_in_two_out", "shared"])
def test_one_sgd_step_through_fit_equals_keras(keras, name):
    model, inputs, outputs = build_nnlearn(name)
    theirs = keras_twin(keras, name, model)
    xs, ys = data_for(inputs, outputs, n=8, seed=1)
    model.fit(xs, ys if len(ys) > 1 else ys[0], epochs=1, batch_size=8, verbose=0,
              shuffle=False)
    theirs.fit(xs, ys if len(ys) > 1 else ys[0], epochs=1, batch_size=8, verbose=0,
               shuffle=False)
    for layer in model.layers:
        for param, w in zip(layer.params, theirs.get_layer(layer.name).get_weights()):
            np.testing.assert_allclose(param.data, w, atol=1e-6)


# -- losses by hand -----------------------------------------------------------------------------
def test_the_loss_is_the_weighted_sum_of_the_outputs_losses_computed_by_hand():
    model, inputs, outputs = build_nnlearn("two_in_two_out")
    model.compile("adam", loss={"reg": "mse", "cls": "binary_crossentropy"},
                  loss_weights={"reg": 0.3, "cls": 1.7},
                  metrics={"cls": ["binary_accuracy"], "reg": ["mae"]})
    xs, ys = data_for(inputs, outputs, n=20)
    reg, cls = model.predict({"a": xs[0], "b": xs[1]})
    mse = np.mean((reg - ys[0]) ** 2)
    p = np.clip(cls, 1e-7, 1 - 1e-7)
    bce = np.mean(-(ys[1] * np.log(p) + (1 - ys[1]) * np.log(1 - p)))
    values = model.evaluate(xs, {"reg": ys[0], "cls": ys[1]}, return_dict=True)
    assert set(values) == {"loss", "reg_loss", "cls_loss", "reg_mae", "cls_binary_accuracy"}
    assert values["reg_loss"] == pytest.approx(mse, rel=1e-9)
    assert values["cls_loss"] == pytest.approx(bce, rel=1e-6)
    assert values["loss"] == pytest.approx(0.3 * mse + 1.7 * bce, rel=1e-6)
    assert values["reg_mae"] == pytest.approx(np.mean(np.abs(reg - ys[0])), rel=1e-9)
    assert values["cls_binary_accuracy"] == pytest.approx(np.mean((cls > 0.5) == ys[1]))
    assert model.evaluate(xs, ys) == pytest.approx(list(values.values()))
    w = np.linspace(0.0, 2.0, 20)  # Keras's semantics: sum_i w_i l_i / n, every output
    weighted = model.evaluate(xs, ys, sample_weight=w, return_dict=True)
    per_sample = np.mean((reg - ys[0]) ** 2, axis=1)
    assert weighted["reg_loss"] == pytest.approx(np.sum(w * per_sample) / 20, rel=1e-9)
    per_sample = np.mean(-(ys[1] * np.log(p) + (1 - ys[1]) * np.log(1 - p)), axis=1)
    assert weighted["cls_loss"] == pytest.approx(np.sum(w * per_sample) / 20, rel=1e-6)

    history = model.fit(xs, ys, epochs=30, batch_size=5, verbose=0, seed=0,
                        validation_data=(xs, ys))
    assert {"loss", "reg_loss", "cls_loss", "val_loss", "val_reg_loss"} <= set(history.history)
    assert history.history["loss"][-1] < history.history["loss"][0]
    last = model.evaluate(xs, ys, return_dict=True)
    assert last["loss"] == pytest.approx(0.3 * last["reg_loss"] + 1.7 * last["cls_loss"])
    assert last["loss"] == pytest.approx(history.history["val_loss"][-1])


def test_an_output_left_out_of_the_loss_dict_is_not_trained():
    model, inputs, outputs = build_nnlearn("two_in_two_out")
    model.compile("sgd", loss={"reg": "mse"})
    xs, ys = data_for(inputs, outputs)
    cls_kernel = model.get_layer("cls").kernel.data.copy()
    trunk_kernel = model.get_layer("trunk").kernel.data.copy()
    model.fit(xs, [ys[0], None], epochs=2, verbose=0)
    np.testing.assert_array_equal(model.get_layer("cls").kernel.data, cls_kernel)
    assert not np.array_equal(model.get_layer("trunk").kernel.data, trunk_kernel)
    with pytest.raises(ValueError, match="no layer is named 'nope'"):
        model.get_layer("nope")
    values = model.evaluate(xs, [ys[0], None], return_dict=True)
    assert set(values) == {"loss", "reg_loss"}


def test_a_shared_layer_is_one_set_of_weights_and_its_gradient_sums_both_uses():
    model, inputs, outputs = build_nnlearn("shared")
    shared = [layer for layer in model.layers if layer.name == "shared"]
    assert len(shared) == 1
    assert model.count_params() == 4 * 3 + 3 + (3 * 3 + 2) + 1
    # the gradient is the sum of the gradients of the two calls: a copy per call agrees
    xs, ys = data_for(inputs, outputs)
    objective, _ = model.compute_loss(xs, ys[0])
    objective.backward()
    a, b = nl.Input(4, name="a"), nl.Input(4, name="b")
    first = layers.Dense(3, activation="tanh", name="first")
    second = layers.Dense(3, activation="tanh", name="second")
    ha, hb = first(a), second(b)
    merged = [layers.Average()([ha, hb]), layers.Maximum()([ha, hb]),
              layers.Minimum()([ha, hb]), layers.Dot(1, normalize=True)([ha, hb]),
              layers.Dot(1)([ha, hb])]
    out = layers.Dense(1, activation="sigmoid", name="out")(layers.Concatenate()(merged))
    twin = nl.Model([a, b], out, dtype="float64")
    twin.compile("sgd", "binary_crossentropy")
    for target in (first, second):
        for p, q in zip(target.params, shared[0].params):
            p.data[...] = q.data
    for p, q in zip(twin.layers[-1].params, model.layers[-1].params):
        p.data[...] = q.data
    objective, _ = twin.compute_loss(xs, ys[0])
    objective.backward()
    for p, q1, q2 in zip(shared[0].params, first.params, second.params):
        np.testing.assert_allclose(p.grad, q1.grad + q2.grad, atol=1e-12)


# -- merge layers ---------------------------------------------------------------------------------
MERGES = [(layers.Add(), 3), (layers.Subtract(), 2), (layers.Multiply(), 3),
          (layers.Average(), 2), (layers.Maximum(), 3), (layers.Minimum(), 2),
          (layers.Concatenate(), 2), (layers.Concatenate(axis=1), 3)]


@pytest.mark.parametrize("layer, count", MERGES, ids=lambda v: repr(v))
def test_merge_layers_gradcheck_in_float64(layer, count):
    rng = np.random.default_rng(1)
    tensors = [nl.Tensor(rng.standard_normal((3, 4)), requires_grad=True)
               for _ in range(count)]
    assert nl.gradcheck(lambda *ts: layer(list(ts)), tensors)


@pytest.mark.parametrize("axes, shapes", [(1, [(4,), (4,)]), ((2, 1), [(2, 4), (4, 3)]),
                                          ((1, 1), [(4, 2), (4, 3)]), (-1, [(2, 4), (4,)]),
                                          ((1, 2), [(4,), (3, 4)])])
@pytest.mark.parametrize("normalize", [False, True])
def test_dot_gradcheck_and_value_against_numpy(axes, shapes, normalize):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, *shapes[0]))
    b = rng.standard_normal((3, *shapes[1]))
    layer = layers.Dot(axes, normalize=normalize)
    assert nl.gradcheck(lambda s, t: layer([s, t]), [nl.Tensor(a, requires_grad=True),
                                                     nl.Tensor(b, requires_grad=True)])
    pair = (axes, axes) if isinstance(axes, int) else axes
    ia, ib = [(p - 1) if p > 0 else len(s) + p for p, s in zip(pair, shapes)]
    if normalize:
        a = a / np.linalg.norm(a, axis=ia + 1, keepdims=True)
        b = b / np.linalg.norm(b, axis=ib + 1, keepdims=True)
    expected = np.stack([np.tensordot(a[k], b[k], axes=(ia, ib)) for k in range(3)])
    got = layer([a, b]).data
    np.testing.assert_allclose(got.reshape(expected.shape), expected, atol=1e-12)
    assert got.shape[1:] == layer.compute_output_shape([shapes[0], shapes[1]])


def test_merge_values_against_numpy():
    a, b, c = (RNG.standard_normal((2, 3)) for _ in range(3))
    cases = {layers.Add(): a + b + c, layers.Multiply(): a * b * c,
             layers.Average(): (a + b + c) / 3, layers.Maximum(): np.maximum(np.maximum(a, b), c),
             layers.Minimum(): np.minimum(np.minimum(a, b), c),
             layers.Concatenate(): np.concatenate([a, b, c], axis=1)}
    for layer, expected in cases.items():
        np.testing.assert_allclose(layer([a, b, c]).data, expected, atol=1e-12)
    np.testing.assert_allclose(layers.Subtract()([a, b]).data, a - b)


def test_merge_layers_declare_no_weights_and_their_output_shape():
    assert layers.Add().weight_shapes([(3,), (3,)]) == ([], (3,))
    assert layers.Concatenate(axis=1).weight_shapes([(2, 5), (1, 5)]) == ([], (3, 5))
    assert layers.Dot((2, 1)).weight_shapes([(2, 4), (4, 3)]) == ([], (2, 3))
    assert layers.Dot(1).weight_shapes([(4,), (4,)]) == ([], (1,))


# -- errors at the boundary ----------------------------------------------------------------------
def test_incompatible_shapes_in_add_are_refused_when_the_graph_is_built():
    a, b = nl.Input(3), nl.Input(4)
    with pytest.raises(ValueError, match=r"Add.*inputs must all have the same sample shape"):
        layers.Add()([a, b])
    with pytest.raises(ValueError, match=r"Subtract: inputs must be a list of exactly 2"):
        layers.Subtract()([a, a, a])
    with pytest.raises(ValueError, match=r"Concatenate: inputs must agree on every axis"):
        layers.Concatenate(axis=1)([nl.Input((2, 3)), nl.Input((2, 4))])
    with pytest.raises(ValueError, match=r"Dot: the axes to multiply must have the same"):
        layers.Dot(1)([a, b])
    with pytest.raises(ValueError, match="takes one tensor; got a list of 2"):
        layers.Dense(2)([a, a])
    with pytest.raises(ValueError, match="axis must be a non-zero integer"):
        layers.Concatenate(axis=0)
    with pytest.raises(ValueError, match="axes must be a non-zero integer or a pair"):
        layers.Dot(axes="x")


def test_wrong_number_of_arrays_and_unknown_names_are_refused_naming_the_argument():
    model, inputs, outputs = build_nnlearn("two_in_two_out")
    xs, ys = data_for(inputs, outputs)
    with pytest.raises(ValueError, match=r"x: the model has 2 inputs \(a, b\); got 1 arrays"):
        model.fit([xs[0]], ys, verbose=0)
    with pytest.raises(ValueError, match=r"x: the model has 2 inputs"):
        model.predict(xs[0])
    with pytest.raises(ValueError, match=r"y: the model has 2 outputs \(reg, cls\); got 3"):
        model.evaluate(xs, ys + ys[:1])
    with pytest.raises(ValueError, match=r"x: unknown name 'c'"):
        model.predict({"a": xs[0], "c": xs[1]})
    with pytest.raises(ValueError, match=r"x\['b'\]: expected samples of shape \(4,\)"):
        model.predict([xs[0], xs[0]])
    with pytest.raises(ValueError, match=r"compile: loss: unknown output name 'nope'; the "
                                         r"outputs are \['reg', 'cls'\]"):
        model.compile("sgd", loss={"nope": "mse"})
    with pytest.raises(ValueError, match=r"compile: loss_weights: the model has 2 outputs"):
        model.compile("sgd", loss="mse", loss_weights=[1.0])
    with pytest.raises(ValueError, match=r"loss_weights\['cls'\] must be a finite number"):
        model.compile("sgd", loss="mse", loss_weights={"cls": float("nan")})
    with pytest.raises(ValueError, match=r"compile: metrics: unknown output name 'x'"):
        model.compile("sgd", loss="mse", metrics={"x": ["mae"]})
    with pytest.raises(ValueError, match=r"x: the arrays must have the same number of samples"):
        model.predict([xs[0], xs[1][:3]])


def test_graph_construction_errors():
    a = nl.Input(3)
    stray = nl.Input(3)
    out = layers.Add()([a, stray])
    with pytest.raises(ValueError, match="disconnected"):
        nl.Model(a, out)
    with pytest.raises(TypeError, match=r"outputs\[0\] must be a symbolic tensor"):
        nl.Model(a, np.zeros(3))
    with pytest.raises(ValueError, match=r"inputs\[0\] must come from nl.Input"):
        nl.Model(layers.Dense(2)(a), out)
    dense = layers.Dense(2)
    dense(a)
    with pytest.raises(ValueError, match="a shared layer takes one shape"):
        dense(nl.Input(5))
    with pytest.raises(ValueError, match="two layers are named 'same'"):
        nl.Model(a, layers.Dense(2, name="same")(layers.Dense(2, name="same")(a)))
    with pytest.raises(ValueError, match="listed twice in outputs"):
        nl.Model(a, [out, out])
    with pytest.raises(ValueError, match="listed twice in inputs"):
        nl.Model([a, a], layers.Dense(1)(a))
    with pytest.raises(TypeError, match="has no values"):
        np.asarray(a)
    assert isinstance(a, SymbolicTensor) and a.shape == (None, 3)


def test_check_graph_refuses_hostile_graphs_before_building():
    good = {"nodes": [[0, []], [1, [0]]], "inputs": [0], "outputs": [1]}
    assert check_graph(good, 2) == [0, 1]
    for graph, message in [
            ({"nodes": [[0, []], [1, [1]]], "inputs": [0], "outputs": [1]}, "its own input"),
            ({"nodes": [[0, []], [1, [2]], [1, [1]]], "inputs": [0], "outputs": [2]},
             "has a cycle"),
            ({"nodes": [[0, []], [1, [5]]], "inputs": [0], "outputs": [1]}, "does not exist"),
            ({"nodes": [[0, []], [9, [0]]], "inputs": [0], "outputs": [1]}, "does not exist"),
            ({"nodes": [0] * 10**6, "inputs": [0], "outputs": [0]}, "at most 10,000"),
            ({"nodes": [[0, []]], "inputs": [], "outputs": [0]}, "must list 1 to")]:
        with pytest.raises(ValueError, match=message):
            check_graph(graph, 2)
    config = build_nnlearn("residual")[0].get_config()
    config["graph"]["nodes"][1][1] = [len(config["graph"]["nodes"]) - 1]
    with pytest.raises(ValueError, match="cycle"):
        Functional.from_config(config)


# -- files, configs, code, summary, plan -----------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_save_load_config_and_python_source_round_trips(name, tmp_path):
    model, inputs, outputs = build_nnlearn(name)
    xs, ys = data_for(inputs, outputs)
    model.fit(xs, ys if len(ys) > 1 else ys[0], epochs=2, batch_size=4, verbose=0, seed=0)
    x = xs if len(xs) > 1 else xs[0]
    expected = model.predict(x)
    path = tmp_path / "m.nnlearn"
    model.save(path)
    loaded = nl.load_model(path)
    assert isinstance(loaded, Functional)
    assert loaded.output_names == model.output_names
    assert loaded.loss_weights == model.loss_weights
    for got, want in zip(as_list(loaded.predict(x)), as_list(expected)):
        np.testing.assert_array_equal(got, want)
    assert loaded.evaluate(x, ys if len(ys) > 1 else ys[0]) == \
        model.evaluate(x, ys if len(ys) > 1 else ys[0])
    # training resumes where it stopped: the optimizer state came with the file
    for m in (model, loaded):
        m.fit(xs, ys if len(ys) > 1 else ys[0], epochs=1, batch_size=4, verbose=0, seed=3)
    for got, want in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_allclose(got, want, atol=1e-12)

    rebuilt = Functional.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    assert rebuilt.get_config() == model.get_config()
    namespace: dict = {}
    exec(nl.models.python_source(model), namespace)  # noqa: S102 (code we generated)
    coded = namespace["model"]
    assert coded.get_config() == model.get_config()
    assert coded.output_losses == model.output_losses or \
        [type(x) for x in coded.output_losses] == [type(x) for x in model.output_losses]
    coded.set_weights(model.get_weights())
    for got, want in zip(as_list(coded.predict(x)), as_list(model.predict(x))):
        np.testing.assert_array_equal(got, want)


def test_summary_lists_each_layers_inbound_layers():
    model = build_nnlearn("shared")[0]
    lines: list = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "Connected to" in text
    row = next(line for line in lines if line.startswith("cosine (Dot)"))
    assert row.split()[-2:] == ["shared[0],", "shared[1]"]
    row = next(line for line in lines if line.startswith("shared (Dense)"))
    assert "15" in row and row.split()[-1] == "a"  # parameters at the first call only
    assert f"Total params: {model.count_params():,}" in text


def test_the_planner_compiles_a_plain_chain_and_states_why_not_otherwise():
    x = nl.Input(4)
    out = layers.Dense(3, activation="softmax")(layers.Dense(5, activation="relu")(x))
    chain = nl.Model(x, out, seed=0)
    chain.compile("sgd", "sparse_categorical_crossentropy")
    stack = nl.Sequential([layers.Input(4), layers.Dense(5, activation="relu"),
                           layers.Dense(3, activation="softmax")], seed=0)
    stack.compile("sgd", "sparse_categorical_crossentropy")
    assert chain.plan().explain().splitlines()[0] == stack.plan().explain().splitlines()[0]
    X, y = RNG.standard_normal((40, 4)).astype(np.float32), RNG.integers(0, 3, 40)
    stack.set_weights(chain.get_weights())
    h1 = chain.fit(X, y, epochs=2, verbose=0, seed=0).history["loss"]
    h2 = stack.fit(X, y, epochs=2, verbose=0, seed=0).history["loss"]
    assert h1 == h2
    residual = build_nnlearn("residual")[0]
    gradients = residual.plan().explain().splitlines()[0]
    assert gradients.split()[:2] == ["gradients:", "engine"] and "not a chain" in gradients
    two = build_nnlearn("two_in_two_out")[0].plan().explain()
    assert "2 inputs and 2 outputs" in two and "0.3 * mean_squared_error(reg)" in two


def test_subclassed_models_keep_working():
    class TwoLayers(nl.Model):
        def __init__(self):
            super().__init__(seed=0)
            self.hidden = layers.Dense(4, activation="relu")
            self.out = layers.Dense(1)

        def call(self, x, training=False):
            return self.out(self.hidden(x))

    model = TwoLayers()
    assert type(model) is TwoLayers
    model.compile("sgd", "mse")
    model.fit(RNG.standard_normal((8, 3)), RNG.standard_normal((8, 1)), verbose=0)
    assert type(nl.Model()) is nl.Model


def test_functional_model_called_on_arrays_and_tensors():
    model = build_nnlearn("two_in_two_out")[0]
    xs, _ = data_for(model.inputs, model.outputs)
    reg, cls = model(xs)
    again = model({"b": xs[1], "a": xs[0]})
    np.testing.assert_array_equal(reg.data, again[0].data)
    np.testing.assert_array_equal(cls.data, model.predict(xs)[1])


def test_a_model_file_of_a_functional_model_is_small_and_refused_when_altered():
    import json

    import hostile

    data = hostile.valid_functional_bytes()
    manifest = hostile.manifest_of(data)
    assert manifest["model"]["graph"]["inputs"] == [0, 2]
    model = nl.load_model(io.BytesIO(data))
    assert [t.name for t in model.inputs] == ["a", "b"]
    manifest["model"]["graph"]["nodes"][1][1] = [1]
    with pytest.raises(ValueError, match="its own input"):
        nl.load_model(io.BytesIO(hostile.with_manifest(data, json.loads(
            json.dumps(manifest)))))


def test_draw_network_draws_a_box_per_node_and_an_arrow_per_edge():
    pytest.importorskip("matplotlib")
    from matplotlib.patches import FancyBboxPatch

    model = build_nnlearn("shared")[0]
    fig = nl.plot.draw_network(model)
    ax = fig.axes[0]
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == len(model._steps) == 11  # 2 inputs, shared twice, 5 merges, 2
    edges = sum(len(inbound) for _, inbound, _ in model._steps)
    assert len([t for t in ax.texts if getattr(t, "arrow_patch", None)]) == edges == 18
    labels = " ".join(t.get_text() for t in ax.texts)
    assert "shared[0]" in labels and "shared[1]" in labels and "(None, 11)" in labels
    residual = build_nnlearn("residual")[0]
    columns = [p.get_x() for p in nl.plot.draw_network(residual).axes[0].patches
               if isinstance(p, FancyBboxPatch)]
    assert len(set(columns)) == 6  # x, hidden, residual, add, relu, out: one column each
    with pytest.raises(ValueError, match="weights=True"):
        nl.plot.draw_network(model, weights=True)


def test_the_command_line_refuses_a_model_of_several_inputs_clearly(tmp_path):
    from nnlearn.cli import _load

    model = build_nnlearn("two_in_two_out")[0]
    model.save(tmp_path / "two.nnlearn")
    with pytest.raises(ValueError, match="has 2 inputs and 2 outputs; the command line runs"):
        _load(tmp_path / "two.nnlearn")
    single = build_nnlearn("residual")[0]
    single.save(tmp_path / "one.nnlearn")
    assert isinstance(_load(tmp_path / "one.nnlearn"), Functional)


def test_convolutional_recurrent_and_random_layers_in_a_graph_train_save_and_load(tmp_path):
    img, tokens = nl.Input((8, 8, 1), name="img"), nl.Input((5,), name="tokens")
    h = layers.Flatten()(layers.MaxPooling2D()(layers.Conv2D(4, 3, activation="relu")(img)))
    h = layers.Dropout(0.3)(layers.BatchNormalization()(h))
    r = layers.LSTM(4)(layers.Embedding(10, 3)(tokens))
    out = layers.Dense(2, activation="softmax", name="label")(
        layers.Concatenate()([layers.Dense(4)(h), r]))
    model = nl.Model([img, tokens], out, seed=0)
    assert [layer.name for layer in model.layers] == [  # Keras's names, in Keras's order
        "img", "conv2d", "max_pooling2d", "flatten", "batch_normalization", "tokens",
        "dropout", "embedding", "dense", "lstm", "concatenate", "label"]
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    xs = [rng.random((16, 8, 8, 1)), rng.integers(0, 10, (16, 5)).astype(float)]
    y = (xs[1][:, 0] >= 5).astype(int)  # learnable: the first token's half
    before = model.evaluate(xs, y)[0]
    model.fit(xs, y, epochs=10, batch_size=8, verbose=0, seed=0)
    assert model.evaluate(xs, y)[0] < before
    model.save(tmp_path / "m.nnlearn")
    loaded = nl.load_model(tmp_path / "m.nnlearn")
    np.testing.assert_array_equal(loaded.predict(xs), model.predict(xs))


def test_a_one_input_model_reads_a_list_of_rows_as_data_and_a_list_of_one_array_as_its_input():
    x = nl.Input(2)
    model = nl.Model(x, layers.Dense(1)(x), seed=0)
    rows = [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    expected = model.predict(np.array(rows))
    np.testing.assert_array_equal(model.predict(rows), expected)
    np.testing.assert_array_equal(model.predict([np.array(rows)]), expected)
    np.testing.assert_array_equal(model.predict({model.input_names[0]: np.array(rows)}),
                                  expected)


@pytest.mark.parametrize("seed", range(8))
def test_random_graphs_gradcheck_and_round_trip_through_files_and_code(seed, tmp_path):
    """The engine's gradient through an arbitrary graph (merges, a shared layer called
    several times) against central differences, in float64; the file and the generated
    code rebuild the same function."""
    model = random_graph(seed, dtype="float64")
    model.compile("sgd", loss=["categorical_crossentropy", "mse"][:len(model.outputs)])
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(4, *t.sample_shape)) for t in model.inputs]
    ys = [np.eye(2)[rng.integers(0, 2, 4)], rng.normal(size=(4, 1))][:len(model.outputs)]
    dense = [layer for layer in model.layers if layer.params]

    def objective(*params):
        for k, layer in enumerate(dense):
            layer.kernel, layer.bias = params[2 * k], params[2 * k + 1]
        return model.compute_loss(xs, ys if len(ys) > 1 else ys[0])[0]

    originals = [p for layer in dense for p in (layer.kernel, layer.bias)]
    try:
        assert nl.gradcheck(objective, originals)
    finally:
        objective(*originals)
    model.save(tmp_path / "g.nnlearn")
    namespace: dict = {}
    exec(nl.models.python_source(model), namespace)  # noqa: S102 (code we generated)
    namespace["model"].set_weights(model.get_weights())
    for other in (nl.load_model(tmp_path / "g.nnlearn"), namespace["model"]):
        for got, want in zip(as_list(other.predict(xs)), as_list(model.predict(xs))):
            np.testing.assert_array_equal(got, want)


def test_one_metric_object_for_every_output_counts_each_output_apart():
    model, inputs, outputs = build_nnlearn("two_in_two_out")
    model.compile("sgd", loss="mse", metrics=[nl.metrics.MeanAbsoluteError()])
    xs, ys = data_for(inputs, outputs, n=10)
    values = model.evaluate(xs, ys, return_dict=True)
    reg, cls = model.predict(xs)
    assert values["reg_mean_absolute_error"] == pytest.approx(np.mean(np.abs(reg - ys[0])))
    assert values["cls_mean_absolute_error"] == pytest.approx(np.mean(np.abs(cls - ys[1])))


@pytest.mark.parametrize("name", list(MODELS))
def test_the_weights_are_in_keras_order(keras, name):
    """get_weights lists the layers in Keras's order (by depth, then as met from the
    outputs): Keras's get_weights fit set_weights directly."""
    import torch

    model, inputs, outputs = build_nnlearn(name)
    make = MODELS[name][0]
    theirs = keras.Model(*make(keras))
    assert [layer.name for layer in model.layers] == [layer.name for layer in theirs.layers]
    model.set_weights(theirs.get_weights())
    xs, _ = data_for(inputs, outputs)
    expected = theirs([torch.tensor(x) for x in xs])
    for got, want in zip(as_list(model.predict(xs if len(xs) > 1 else xs[0])),
                         expected if isinstance(expected, (list, tuple)) else [expected]):
        np.testing.assert_allclose(got, keras.ops.convert_to_numpy(want), atol=1e-6)
