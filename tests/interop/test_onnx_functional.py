"""ONNX export of functional models and merge layers: onnxruntime's outputs equal
``predict`` to 1e-5 in float32, ``onnx.checker`` passes and ONNX's reference evaluator
agrees, for the models of tests/test_functional.py and for random graphs."""

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx.reference import ReferenceEvaluator  # noqa: E402

import nnlearn as nl  # noqa: E402
from nnlearn.interop.onnx import to_onnx  # noqa: E402

from functional_graphs import MODELS, data_for, random_graph  # noqa: E402

L = nl.layers
TOLERANCE = dict(rtol=1e-5, atol=1e-5)


def agree(model, xs):
    """Export, check, run in onnxruntime and the reference evaluator: every output
    equals predict's to 1e-5."""
    proto = to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    assert [i.name for i in proto.graph.input] == model.input_names
    assert [o.name for o in proto.graph.output] == model.output_names
    feed = {name: x.astype(np.float32) for name, x in zip(model.input_names, xs)}
    expected = model.predict(xs if len(xs) > 1 else xs[0])
    expected = expected if isinstance(expected, list) else [expected]
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    for got, want in zip(session.run(None, feed), expected):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, **TOLERANCE)
    for got, want in zip(ReferenceEvaluator(proto).run(None, feed), expected):
        np.testing.assert_allclose(got, want, **TOLERANCE)
    return proto


@pytest.mark.parametrize("name", list(MODELS))
def test_the_functional_models_export(name):
    make, loss, weights = MODELS[name]
    inputs, outputs = make(nl)
    model = nl.Model(inputs, outputs, seed=3)
    model.set_weights([w + np.random.default_rng(4).normal(scale=0.3, size=w.shape)
                       for w in model.get_weights()])
    xs, _ = data_for(model.inputs, model.outputs, n=9)
    proto = agree(model, xs)
    if name == "shared":  # one layer, two calls: its weights' values emitted per call
        ops = [node.op_type for node in proto.graph.node]
        assert {"Mean", "Max", "Min", "MatMul", "Concat"} <= set(ops)


def test_every_merge_layer_and_dot_axes_export():
    a, b, c = nl.Input(4, name="a"), nl.Input(4, name="b"), nl.Input((3, 4), name="c")
    d = nl.Input((4, 2), name="d")
    merged = [L.Add()([a, b, a]), L.Subtract()([a, b]), L.Multiply()([a, b, b]),
              L.Average()([a, b]), L.Maximum()([a, b, a]), L.Minimum()([b, a]),
              L.Dot(1)([a, b]), L.Dot(1, normalize=True)([a, b]),
              L.Flatten()(L.Dot((2, 1))([c, d])), L.Dot((2, 1))([c, a]),
              L.Dot((1, 1))([a, d]), L.Flatten()(L.Dot((1, 2), normalize=True)([d, c]))]
    out = L.Concatenate()(merged)
    model = nl.Model([a, b, c, d], [out, L.Concatenate(axis=1)([c, c])], seed=0)
    rng = np.random.default_rng(5)
    xs = [rng.normal(size=(6, *t.sample_shape)) for t in model.inputs]
    agree(model, xs)


@pytest.mark.parametrize("seed", range(12))
def test_random_functional_graphs_export(seed):
    model = random_graph(seed)
    rng = np.random.default_rng(seed)
    xs = [rng.normal(size=(5, *t.sample_shape)) for t in model.inputs]
    agree(model, xs)


def test_model_export_writes_the_functional_graph(tmp_path):
    make, _, _ = MODELS["two_in_two_out"]
    inputs, outputs = make(nl)
    model = nl.Model(inputs, outputs, seed=0)
    model.export(tmp_path / "two.onnx")
    xs, _ = data_for(model.inputs, model.outputs, n=4)
    session = ort.InferenceSession(str(tmp_path / "two.onnx"),
                                   providers=["CPUExecutionProvider"])
    got = session.run(None, {"a": xs[0].astype(np.float32), "b": xs[1].astype(np.float32)})
    for g, want in zip(got, model.predict(xs)):
        np.testing.assert_allclose(g, want, **TOLERANCE)
