"""The estimators in skl2onnx: importing this module registers
:class:`nnlearn.estimators.MLPClassifier` and :class:`~nnlearn.estimators.MLPRegressor`
with skl2onnx (a shape calculator and a converter each), so that they convert alone or
inside a scikit-learn pipeline::

    import nnlearn.interop.skl2onnx  # noqa: F401  (registers the converters)
    import skl2onnx

    onx = skl2onnx.to_onnx(classifier, X[:1].astype(np.float32))

The registration is explicit (this import), not done by ``import nnlearn``, which needs
NumPy only.  The fitted network ``model_`` is emitted by :mod:`nnlearn.interop.onnx`'s
converters; around it, the outputs of skl2onnx's converter for scikit-learn's own
MLPClassifier: ``label`` (int64 for integer classes, string for text ones: the class of
the largest probability) and ``probabilities`` (n, classes), ``[1 - p, p]`` for two
classes as ``predict_proba`` gives them, followed by skl2onnx's ZipMap unless
``options={"zipmap": False}``; the regressor's one output ``variable`` is (n, outputs).
A multilabel classifier (an indicator matrix of labels) has no converter here.
"""

from __future__ import annotations

import numpy as np

try:
    from skl2onnx import update_registered_converter
    from skl2onnx.common.data_types import guess_proto_type
    from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
except ModuleNotFoundError as err:  # pragma: no cover - skl2onnx is missing
    raise ModuleNotFoundError(
        "nnlearn.interop.skl2onnx needs skl2onnx: pip install skl2onnx onnx",
        name=err.name) from None
from onnx import TensorProto, numpy_helper

from ..estimators import MLPClassifier, MLPRegressor
from .onnx import MIN_OPSET, OnnxGraph, model_graph

__all__ = ["register"]


class _ContainerGraph(OnnxGraph):
    """An :class:`~nnlearn.interop.onnx.OnnxGraph` that emits into skl2onnx's scope and
    container (names unique in the whole pipeline's graph)."""

    def __init__(self, scope, container, dtype):
        opset = container.target_opset
        if opset is None or opset < MIN_OPSET:
            raise ValueError(f"skl2onnx: target_opset must be at least {MIN_OPSET} for an "
                             f"nnlearn network; got {opset!r}")
        super().__init__(dtype, opset)
        self.scope, self.container = scope, container

    def name(self, hint):
        return self.scope.get_unique_variable_name(hint)

    def _add_node(self, op_type, inputs, outputs, name, domain, attributes):
        self.container.add_node(op_type, inputs, outputs, op_domain=domain,
                                name=self.scope.get_unique_operator_name(op_type),
                                **attributes)

    def _add_initializer(self, name, array):
        tensor = numpy_helper.from_array(array, name)
        self.container.add_initializer(name, tensor.data_type, list(array.shape), tensor)


def _network_output(scope, operator, container, estimator):
    """The graph emitting into skl2onnx's container, and the name of the network's
    output on the operator's input (cast to the network's dtype first if needed)."""
    graph = _ContainerGraph(scope, container, estimator.model_.dtype)
    x = operator.inputs[0].full_name
    if guess_proto_type(operator.inputs[0].type) != graph.elem_type:
        x = graph.node("Cast", [x], hint="network_input", to=graph.elem_type)
    (out,) = model_graph(graph, estimator.model_, [x])
    return graph, out


def _to_type(graph, value, proto_type, output):
    """``output`` = ``value`` in the ONNX type ``proto_type``."""
    if proto_type == graph.elem_type:
        graph._add_node("Identity", [value], [output], None, "", {})
    else:
        graph._add_node("Cast", [value], [output], None, "", {"to": proto_type})


def _convert_classifier(scope, operator, container):
    estimator = operator.raw_operator
    if estimator._kind == "multilabel" or len(estimator.classes_) < 2:
        raise NotImplementedError("skl2onnx: nnlearn's MLPClassifier converts with two or "
                                  "more classes (not a multilabel indicator matrix or a "
                                  "single class)")
    graph, out = _network_output(scope, operator, container, estimator)
    if estimator.n_outputs_ == 1:  # predict_proba's [1 - p, p]
        out = graph.node("Concat", [graph.node("Sub", [graph.constant(1.0), out]), out],
                         hint="probabilities", axis=1)
    label_output, probability_output = operator.outputs[0], operator.outputs[1]
    _to_type(graph, out, guess_proto_type(probability_output.type),
             probability_output.full_name)
    index = graph.node("ArgMax", [out], hint="class_index", axis=1, keepdims=0)
    classes = estimator.classes_
    if classes.dtype.kind in "OUS":
        labels = np.array([str(c).encode("utf-8") for c in classes], dtype=object)
        table = graph.name("classes")
        container.add_initializer(table, TensorProto.STRING, [len(labels)], list(labels))
    else:  # int64 labels, as skl2onnx's shape calculator declares them
        if not np.array_equal(classes.astype(np.int64), classes):
            raise NotImplementedError(f"skl2onnx: the classes {classes.tolist()[:5]} are "
                                      "not integers; skl2onnx's label output is int64 or "
                                      "string: fit with integer or string labels")
        table = graph.initializer(classes.astype(np.int64), "classes")
    graph._add_node("Gather", [table, index], [label_output.full_name], None, "",
                    {"axis": 0})


def _regressor_shapes(operator):
    from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType

    x_type = operator.inputs[0].type
    cls = type(x_type) if isinstance(x_type, (FloatTensorType, DoubleTensorType)) \
        else FloatTensorType
    n = operator.inputs[0].get_first_dimension()
    operator.outputs[0].set_type(cls([n, operator.raw_operator.n_outputs_]))


def _convert_regressor(scope, operator, container):
    estimator = operator.raw_operator
    graph, out = _network_output(scope, operator, container, estimator)
    output = operator.outputs[0]
    _to_type(graph, out, guess_proto_type(output.type), output.full_name)


def register() -> None:
    """Register the two estimators with skl2onnx (done when this module is imported;
    calling it again is harmless)."""
    update_registered_converter(MLPClassifier, "NnlearnMLPClassifier",
                                calculate_linear_classifier_output_shapes,
                                _convert_classifier,
                                options={"zipmap": [True, False, "columns"],
                                         "nocl": [False]})
    update_registered_converter(MLPRegressor, "NnlearnMLPRegressor", _regressor_shapes,
                                _convert_regressor)


register()
