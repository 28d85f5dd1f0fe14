r"""ONNX export of functional models and of the merge layers (registered with
:mod:`nnlearn.interop.onnx` when it is imported).

A functional model (:mod:`nnlearn.models.functional`) becomes its graph as it is: its nodes in
their topological order, each layer's converter reading the ONNX values of the node's
inbound nodes (a shared layer's weights are emitted once per call, the same values).
The graph's inputs are named after the model's Input layers and its outputs after the
layers that compute them (``model.input_names``, ``model.output_names``), each with its
sample shape after a ``batch`` axis.

=========================================  ================================================
nnlearn                                    ONNX
=========================================  ================================================
Add, Average, Maximum, Minimum             ``Sum``, ``Mean``, ``Max``, ``Min`` (variadic)
Subtract, Multiply                         ``Sub``, ``Mul`` (a chain for more than two)
Concatenate                                ``Concat`` (the same axis)
Dot                                        ``MatMul`` on (batch, n, k) x (batch, k, m),
                                           ``Transpose``/``Unsqueeze``/``Reshape`` around
                                           it; ``normalize``: ``ReduceL2``, ``Max``, ``Div``
=========================================  ================================================
"""

from __future__ import annotations

from ..models.functional import Functional
from ..layers.merging import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,
                       Subtract)
from .onnx_graph import convert_layer, register_layer, register_model

__all__: list = []


def _variadic(op_type: str):
    def converter(graph, layer, inputs):
        return [graph.node(op_type, inputs, hint=layer.name or op_type.lower())]
    converter.__doc__ = f"ONNX's ``{op_type}`` of every input."
    return converter


for _cls, _op in ((Add, "Sum"), (Average, "Mean"), (Maximum, "Max"), (Minimum, "Min")):
    register_layer(_cls)(_variadic(_op))


@register_layer(Subtract)
def _subtract(graph, layer, inputs):
    """$x_1 - x_2$."""
    return [graph.node("Sub", inputs, hint=layer.name or "subtract")]


@register_layer(Multiply)
def _multiply(graph, layer, inputs):
    """$x_1 \\odot x_2 \\odot \\dots$ as a chain of ``Mul``."""
    product = inputs[0]
    for x in inputs[1:]:
        product = graph.node("Mul", [product, x], hint=layer.name or "multiply")
    return [product]


@register_layer(Concatenate)
def _concatenate(graph, layer, inputs):
    """``Concat`` along the layer's axis (batch axis included, as the layer counts)."""
    return [graph.node("Concat", inputs, hint=layer.name or "concatenate", axis=layer.axis)]


@register_layer(Dot)
def _dot(graph, layer, inputs):
    """The batched dot product as :meth:`Dot.call` computes it: the multiplied axes moved
    inside, a ``MatMul`` of (batch, n, k) and (batch, k, m), reshaped to the output."""
    a, b = inputs
    shapes = [tuple(s) for s in layer.input_shape]
    axis_a, axis_b = layer._sample_axes(shapes)
    if layer.normalize:
        a, b = (graph.node("Div", [x, graph.node("Max", [graph.reduce("ReduceL2", x, [axis + 1],
                                                                      keepdims=1),
                                                         graph.constant(1e-6)])])
                for x, axis in ((a, axis_a), (b, axis_b)))
    if len(shapes[0]) == 2 and axis_a == 0:
        a = graph.transpose(a, [0, 2, 1])
    if len(shapes[1]) == 2 and axis_b == 1:
        b = graph.transpose(b, [0, 2, 1])
    if len(shapes[0]) == 1:
        a = graph.node("Unsqueeze", [a, graph.ints([1], "axes")])   # (batch, 1, k)
    if len(shapes[1]) == 1:
        b = graph.node("Unsqueeze", [b, graph.ints([2], "axes")])   # (batch, k, 1)
    product = graph.node("MatMul", [a, b])
    return [graph.node("Reshape", [product, graph.ints([-1, *layer.output_shape])],
                       hint=layer.name or "dot")]


def _functional_signature(model):
    """The inputs named after the Input layers, the outputs after their layers."""
    return ([(t.name, t.sample_shape) for t in model.inputs],
            [(t.name, t.sample_shape) for t in model.outputs])


@register_model(Functional, _functional_signature)
def _functional(graph, model, inputs):
    """The nodes in the model's topological order, each reading its inbound values."""
    if type(model).call is not Functional.call:
        raise NotImplementedError(f"ONNX export: {type(model).__name__} overrides "
                                  "Functional.call; the exporter cannot read its code")
    values: list = [None] * len(model._steps)
    for position, value in zip(model._input_positions, inputs):
        values[position] = value
    for k, (layer, inbound, _) in enumerate(model._steps):
        if values[k] is None:
            (values[k],) = convert_layer(graph, layer, [values[j] for j in inbound])
    return [values[k] for k in model._output_positions]
