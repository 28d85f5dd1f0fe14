r"""ONNX export: a trained model as an ONNX graph (needs the ``onnx`` extra).

``to_onnx(model)`` gives an ``onnx.ModelProto``; ``save_onnx(model, path)``,
``model.export(path)`` and ``nnlearn export MODEL`` write it.  The graph takes one
float input ``"input"`` of shape ``(batch, *model.input_shape)`` in the model's dtype
(an :class:`~nnlearn.layers.Embedding` casts its float indices to integers, as
``predict`` does) and gives ``"output"``, what ``model.predict`` gives::

    import onnxruntime
    session = onnxruntime.InferenceSession("model.onnx")
    (probabilities,) = session.run(None, {"input": x.astype("float32")})

How it is built: a *graph walker* (:data:`MODEL_WALKERS`) visits the model's layers (a
Sequential: its list, in order) and asks the converter table :data:`LAYER_CONVERTERS`
(layer class -> ``converter(graph, layer, inputs) -> outputs``, names of ONNX values)
to emit each layer's nodes into an :class:`OnnxGraph`.  Adding a layer is one
registered function (:func:`register_layer`); a kind of model is one walker and its
signature, the named inputs and outputs (:func:`register_model`).

What each layer becomes (channels-last layers are transposed to ONNX's channels-first
``Conv``/pooling and back; the runtime's optimizer removes the transposes that cancel):

=========================================  ================================================
nnlearn                                    ONNX
=========================================  ================================================
Dense                                      ``Gemm`` (``MatMul`` + ``Add`` on sequences)
Conv1D, Conv2D (valid, same, causal)       ``Transpose``, ``Conv`` (explicit pads), back
Max/AveragePooling1D/2D                    ``MaxPool`` / ``AveragePool`` (padding excluded)
Global pooling                             ``ReduceMean`` / ``ReduceMax``
ZeroPadding2D, Flatten, Reshape            ``Pad``, ``Flatten``, ``Reshape``
BatchNormalization                         its inference form (moving statistics)
Dropout, Gaussian noise, Random*           nothing: the identity at inference
Embedding                                  ``Cast`` to int64, ``Gather``
SimpleRNN, LSTM, GRU                       ``RNN``, ``LSTM`` (gates i, f, c, o reordered to
                                           ONNX's i, o, f, c), ``GRU`` (z, r, h;
                                           ``reset_after`` is ``linear_before_reset``)
Bidirectional, TimeDistributed             the wrapped layers' nodes, merged / reshaped
PReLU, Activation                          ``PRelu``; the activation below
=========================================  ================================================

Activations are *lowered from their declaration*: the element rule of
:mod:`nnlearn.activations` (``function(z, one)``) is run once on a symbolic value whose
arithmetic and NumPy functions emit ONNX nodes (``np.exp`` -> ``Exp``, ``np.maximum``
-> ``Max``, ``erfc`` -> $1 - \operatorname{erf}$, a comparison -> a boolean cast
to the dtype), so that GELU, SELU, softplus, SiLU... need no second hand-written copy.
relu, sigmoid and tanh, which ONNX has as operators of the same definition, use them
(the graph reads better); softmax is ONNX's ``Softmax`` over the last axis.  The
recurrent operators take their activations by name: sigmoid, tanh or relu.

The format: Bai, Lu, Zhang et al., *ONNX: Open Neural Network Exchange* (2017-), the
operator set chosen by ``opset`` (default :data:`DEFAULT_OPSET`).

This module is long because it is the table of converters, one short function per
layer and activation, with the graph builder they share.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import types

import numpy as np

try:
    import onnx
    from onnx import TensorProto, helper
except ModuleNotFoundError as err:  # pragma: no cover - the extra is missing
    raise ModuleNotFoundError(
        "nnlearn.interop.onnx needs onnx: pip install onnx (nnlearn's onnx extra: pip "
        "install \".[onnx]\" in nnlearn's folder)", name=err.name) from None

from .. import activations, layers, numerics
from ..autograd.conv import same_pads
from ..layers.recurrent import GRU, LSTM, Bidirectional, Embedding, SimpleRNN, TimeDistributed
from . import onnx_functional  # noqa: F401  (registers functional models and merge layers)
from .onnx_graph import (DEFAULT_OPSET, LAYER_CONVERTERS, MIN_OPSET, MODEL_WALKERS, ModelWalker,
                         OnnxGraph, check_opset, convert_layer, model_graph, register_layer,
                         register_model, walker_of)

__all__ = ["to_onnx", "save_onnx", "OnnxGraph", "LAYER_CONVERTERS", "register_layer",
           "convert_layer", "MODEL_WALKERS", "ModelWalker", "register_model", "model_graph",
           "lower_activation", "check_opset", "DEFAULT_OPSET", "MIN_OPSET"]


# -- activations: the element rules lowered ------------------------------------------------
_NATIVE = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}


class _Symbol:
    """A value of the graph standing for ``z`` while an element rule runs: arithmetic
    and comparisons emit nodes (a comparison gives a boolean, cast to the dtype where it
    meets a number, as NumPy does)."""

    def __init__(self, graph: OnnxGraph, name: str, boolean: bool = False):
        self.graph, self.name, self.boolean = graph, name, boolean

    def value(self) -> str:
        """The name of the value, a boolean cast to the graph's dtype."""
        return self.graph.node("Cast", [self.name], to=self.graph.elem_type) \
            if self.boolean else self.name

    def _binary(self, op_type, other, reflected=False, boolean=False):
        a, b = _input(self.graph, self), _input(self.graph, other)
        if reflected:
            a, b = b, a
        return _Symbol(self.graph, self.graph.node(op_type, [a, b]), boolean)

    def __add__(self, other):
        return self._binary("Add", other)

    def __radd__(self, other):
        return self._binary("Add", other, True)

    def __sub__(self, other):
        return self._binary("Sub", other)

    def __rsub__(self, other):
        return self._binary("Sub", other, True)

    def __mul__(self, other):
        return self._binary("Mul", other)

    def __rmul__(self, other):
        return self._binary("Mul", other, True)

    def __truediv__(self, other):
        return self._binary("Div", other)

    def __rtruediv__(self, other):
        return self._binary("Div", other, True)

    def __pow__(self, other):
        return self._binary("Pow", other)

    def __neg__(self):
        return _Symbol(self.graph, self.graph.node("Neg", [self.value()]))

    def __abs__(self):
        return _Symbol(self.graph, self.graph.node("Abs", [self.value()]))

    def __gt__(self, other):
        return self._binary("Greater", other, boolean=True)

    def __ge__(self, other):
        return self._binary("GreaterOrEqual", other, boolean=True)

    def __lt__(self, other):
        return self._binary("Less", other, boolean=True)

    def __le__(self, other):
        return self._binary("LessOrEqual", other, boolean=True)


def _input(graph: OnnxGraph, value) -> str:
    if isinstance(value, _Symbol):
        return value.value()
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return graph.constant(value)
    raise NotImplementedError(f"an element rule combined a value of type "
                              f"{type(value).__name__}, which has no ONNX lowering")


class _Functions:
    """The NumPy functions element rules may call (and :func:`nnlearn.numerics.erfc`),
    each emitting its ONNX node(s); any other is a NotImplementedError naming it."""

    _UNARY = {"exp": "Exp", "log": "Log", "tanh": "Tanh", "arctan": "Atan", "abs": "Abs",
              "absolute": "Abs", "sqrt": "Sqrt", "sin": "Sin", "cos": "Cos", "sign": "Sign",
              "floor": "Floor", "ceil": "Ceil", "negative": "Neg", "sinh": "Sinh",
              "cosh": "Cosh", "arcsinh": "Asinh", "reciprocal": "Reciprocal", "erf": "Erf"}

    def __init__(self, graph: OnnxGraph, activation: str):
        self.graph, self.activation = graph, activation

    def _symbol(self, op_type, *values):
        return _Symbol(self.graph, self.graph.node(op_type, [_input(self.graph, v)
                                                             for v in values]))

    def __getattr__(self, function):
        if function in _Functions._UNARY:
            return lambda x: self._symbol(_Functions._UNARY[function], x)
        raise NotImplementedError(f"activation {self.activation!r}: its element rule calls "
                                  f"{function}, which has no ONNX lowering in "
                                  "nnlearn.interop.onnx")

    def maximum(self, a, b):
        return self._symbol("Max", a, b)

    def minimum(self, a, b):
        return self._symbol("Min", a, b)

    def expm1(self, x):  # e^x - 1
        return self._symbol("Exp", x) - 1.0

    def log1p(self, x):  # ln(1 + x)
        return self._symbol("Log", 1.0 + x)

    def square(self, x):
        return x * x

    def erfc(self, x):  # 1 - erf x
        return 1.0 - self._symbol("Erf", x)

    def where(self, condition, a, b):
        if not isinstance(condition, _Symbol) or not condition.boolean:
            raise NotImplementedError(f"activation {self.activation!r}: where() needs a "
                                      "comparison of z as its condition")
        return _Symbol(self.graph, self.graph.node(
            "Where", [condition.name, _input(self.graph, a), _input(self.graph, b)]))


def _traced(rule, functions: _Functions):
    """``rule`` with NumPy (and nnlearn.numerics' functions) replaced by ``functions``
    in its global names: the same code, run on symbols."""
    namespace = dict(rule.__globals__)
    for key, value in rule.__globals__.items():
        if value is np:
            namespace[key] = functions
        elif getattr(value, "__module__", None) == numerics.__name__ and callable(value):
            namespace[key] = getattr(functions, value.__name__, None) or value
    return types.FunctionType(rule.__code__, namespace, rule.__name__, rule.__defaults__,
                              rule.__closure__)


def lower_activation(graph: OnnxGraph, activation, x: str, native: bool = True) -> str:
    """The nodes of ``activation`` applied to the value ``x``; the output's name.

    An element-wise :class:`nnlearn.activations.Activation` is lowered from its element
    rule (see the module); ``native`` uses ONNX's Relu, Sigmoid and Tanh for those three.
    A plain Python function is a NotImplementedError naming it."""
    name = activations.registered_name(activation)
    if activation is activations.linear:
        return x
    if isinstance(activation, activations.Softmax):
        return graph.node("Softmax", [x], hint="softmax", axis=-1)
    if native and name in _NATIVE:
        return graph.node(_NATIVE[name], [x], hint=name)
    if isinstance(activation, activations.Activation):
        label = name or activation.name
        result = _traced(activation.function, _Functions(graph, label))(
            _Symbol(graph, x), 1.0)
        if not isinstance(result, _Symbol):
            raise NotImplementedError(f"activation {label!r}: its element rule does not "
                                      "depend on z; no ONNX lowering")
        return graph.node("Identity", [result.value()], hint=label)
    raise NotImplementedError(f"activation {activation!r} has no ONNX export: only the "
                              "activations of nnlearn.activations (an Activation with "
                              "element rules) can be exported")


def _one(converter):
    """A converter of one input and one output written as ``f(graph, layer, x) -> y``."""
    def table_entry(graph, layer, inputs):
        if len(inputs) != 1:
            raise ValueError(f"{type(layer).__name__} takes one input; got {len(inputs)}")
        return [converter(graph, layer, inputs[0])]
    table_entry.__doc__ = converter.__doc__
    return table_entry


@register_layer(layers.Input, layers.Dropout, layers.GaussianNoise, layers.GaussianDropout,
                layers.RandomFlip, layers.RandomTranslation, layers.RandomRotation,
                layers.RandomZoom)
@_one
def _identity(graph, layer, x):
    """Nothing to compute at inference (dropout, noise and augmentation are off)."""
    return x


@register_layer(layers.Dense)
@_one
def _dense(graph, layer, x):
    """g(x W + b): Gemm on rows, MatMul + Add along the last axis of longer samples."""
    kernel = graph.weight(layer.kernel.data, "kernel")
    bias = [graph.weight(layer.bias.data, "bias")] if layer.bias is not None else []
    if len(layer.input_shape) == 1:
        z = graph.node("Gemm", [x, kernel, *bias], hint="dense")
    else:
        z = graph.node("MatMul", [x, kernel], hint="dense")
        if bias:
            z = graph.node("Add", [z, *bias], hint="dense")
    return lower_activation(graph, layer.activation, z)


@register_layer(layers.Activation)
@_one
def _activation(graph, layer, x):
    return lower_activation(graph, layer.activation, x)


@register_layer(layers.PReLU)
@_one
def _prelu(graph, layer, x):
    """relu(x) - alpha relu(-x) is ONNX's PRelu with slope alpha."""
    return graph.node("PRelu", [x, graph.weight(layer.alpha.data, "alpha")], hint="prelu")


def _channels_first(rank: int) -> list:
    return [0, rank + 1, *range(1, rank + 1)]


def _channels_last(rank: int) -> list:
    return [0, *range(2, rank + 2), 1]


def _pads(spatial, kernel, strides, dilation, padding) -> list:
    """ONNX's pads [begin..., end...] for nnlearn's padding ("same": TensorFlow's, the
    extra one after; "causal": dilation (k - 1) before)."""
    if padding == "valid":
        before = after = [0] * len(spatial)
    elif padding == "causal":
        before, after = [d * (k - 1) for k, d in zip(kernel, dilation)], [0] * len(spatial)
    else:
        pairs = [same_pads(n, k, s, d) for n, k, s, d in zip(spatial, kernel, strides,
                                                              dilation)]
        before, after = [p[0] for p in pairs], [p[1] for p in pairs]
    return [*before, *after]


@register_layer(layers.Conv1D, layers.Conv2D)
@_one
def _conv(graph, layer, x):
    """Channels-last to ONNX's channels-first, Conv (kernel (*k, c/groups, filters) ->
    (filters, c/groups, *k)), back to channels-last, then the activation."""
    rank = layer.rank
    kernel = np.transpose(layer.kernel.data, (rank + 1, rank, *range(rank)))
    inputs = [graph.transpose(x, _channels_first(rank)), graph.weight(kernel, "kernel")]
    if layer.bias is not None:
        inputs.append(graph.weight(layer.bias.data, "bias"))
    z = graph.node("Conv", inputs, hint="conv", kernel_shape=list(layer.kernel_size),
                   strides=list(layer.strides), dilations=list(layer.dilation_rate),
                   group=layer.groups,
                   pads=_pads(layer.input_shape[:-1], layer.kernel_size, layer.strides,
                              layer.dilation_rate, layer.padding))
    return lower_activation(graph, layer.activation,
                            graph.transpose(z, _channels_last(rank)))


@register_layer(layers.MaxPooling1D, layers.MaxPooling2D, layers.AveragePooling1D,
                layers.AveragePooling2D)
@_one
def _pooling(graph, layer, x):
    """MaxPool / AveragePool (padded positions never count: count_include_pad=0)."""
    rank = layer.rank
    op_type = "MaxPool" if "Max" in type(layer).__name__ else "AveragePool"
    pooled = graph.node(op_type, [graph.transpose(x, _channels_first(rank))],
                        hint=op_type.lower(), kernel_shape=list(layer.pool_size),
                        strides=list(layer.strides),
                        pads=_pads(layer.input_shape[:-1], layer.pool_size, layer.strides,
                                   (1,) * rank, layer.padding))
    return graph.transpose(pooled, _channels_last(rank))


@register_layer(layers.GlobalAveragePooling1D, layers.GlobalAveragePooling2D,
                layers.GlobalMaxPooling1D, layers.GlobalMaxPooling2D)
@_one
def _global_pooling(graph, layer, x):
    """The mean or maximum over the spatial axes (channels-last: axes 1..rank)."""
    op_type = "ReduceMax" if "Max" in type(layer).__name__ else "ReduceMean"
    return graph.reduce(op_type, x, list(range(1, layer.rank + 1)))


@register_layer(layers.ZeroPadding2D)
@_one
def _zero_padding(graph, layer, x):
    (top, bottom), (left, right) = layer.pads
    return graph.node("Pad", [x, graph.ints([0, top, left, 0, 0, bottom, right, 0], "pads")],
                      hint="zero_padding")


@register_layer(layers.Flatten)
@_one
def _flatten(graph, layer, x):
    return graph.node("Flatten", [x], hint="flatten", axis=1)


@register_layer(layers.Reshape)
@_one
def _reshape(graph, layer, x):
    """Reshape to (batch, *output_shape) (0: the batch size, copied)."""
    return graph.node("Reshape", [x, graph.ints([0, *layer.output_shape])], hint="reshape")


@register_layer(layers.BatchNormalization)
@_one
def _batch_normalization(graph, layer, x):
    r"""The inference form $\gamma (x - \mu) / \sqrt{\sigma^2 + \epsilon} + \beta$
    with the moving statistics, in the layer's order of operations."""
    centered = graph.node("Sub", [x, graph.weight(layer.moving_mean, "moving_mean")])
    scale = np.sqrt(layer.moving_variance + layer.epsilon)
    x_hat = graph.node("Div", [centered, graph.weight(scale, "moving_std")])
    scaled = graph.node("Mul", [graph.weight(layer.gamma.data, "gamma"), x_hat])
    return graph.node("Add", [scaled, graph.weight(layer.beta.data, "beta")],
                      hint="batch_normalization")


@register_layer(Embedding)
@_one
def _embedding(graph, layer, x):
    """The rows of the embedding matrix picked by the indices (floats holding integers,
    as predict takes them, cast to int64)."""
    indices = graph.node("Cast", [x], hint="indices", to=TensorProto.INT64)
    return graph.node("Gather", [graph.weight(layer.embeddings.data, "embeddings"), indices],
                      hint="embedding", axis=0)


_RNN_ACTIVATIONS = {"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}
_RNN_DEFAULTS = {"SimpleRNN": ["Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"],
                 "GRU": ["Sigmoid", "Tanh"]}


def _rnn_activation(layer, activation) -> str:
    name = activations.registered_name(activation)
    if name not in _RNN_ACTIVATIONS:
        raise NotImplementedError(
            f"ONNX export: {type(layer).__name__} with the activation {name or activation!r}: "
            f"ONNX's recurrent operators take {', '.join(_RNN_ACTIVATIONS)} only")
    return _RNN_ACTIVATIONS[name]


def _gate_blocks(array: np.ndarray, order, units: int) -> np.ndarray:
    """The gate blocks of the last axis of ``array`` taken in ``order``."""
    return np.concatenate([array[..., g * units:(g + 1) * units] for g in order], axis=-1)


@register_layer(SimpleRNN, LSTM, GRU)
def _recurrent(graph, layer, inputs):
    """ONNX's RNN, LSTM or GRU on (steps, batch, features) (layout 0, the one every
    runtime takes): W = kernel^T and R = recurrent_kernel^T with the gates in ONNX's
    order, B = [input bias, recurrent bias] (nnlearn has one bias but for GRU's
    reset_after, so the recurrent half is 0).  go_backwards reverses the steps first, so
    the outputs are in the layer's order; the initial states are zeros."""
    (x,) = inputs
    kind = type(layer).__name__
    if layer.stateful:
        raise NotImplementedError(f"ONNX export: a stateful {kind} carries its state from "
                                  "one batch to the next, which the graph cannot; export "
                                  "the same layer with stateful=False")
    units = layer.units
    order = {"LSTM": (0, 3, 1, 2)}.get(kind, tuple(range(layer.gates)))  # i f c o -> i o f c
    kernel = _gate_blocks(layer.kernel.data, order, units).T[None]
    recurrent = _gate_blocks(layer.recurrent_kernel.data, order, units).T[None]
    operands = [None, graph.weight(kernel, "W"), graph.weight(recurrent, "R")]
    if layer.bias is not None:
        bias = layer.bias.data
        if bias.ndim == 2:  # GRU reset_after: [input bias, recurrent bias]
            both = np.concatenate([bias[0], bias[1]])
        else:
            both = np.concatenate([_gate_blocks(bias, order, units), np.zeros_like(bias)])
        operands.append(graph.weight(both[None], "B"))
    if layer.go_backwards:
        x = graph.reverse(x, 1)
    operands[0] = graph.transpose(x, [1, 0, 2])
    names = [_rnn_activation(layer, layer.activation)]
    attributes = {}
    if kind == "LSTM":
        names = [_rnn_activation(layer, layer.recurrent_activation), names[0], names[0]]
    elif kind == "GRU":
        names = [_rnn_activation(layer, layer.recurrent_activation), names[0]]
        attributes["linear_before_reset"] = int(layer.reset_after)
    if names != _RNN_DEFAULTS[kind]:  # written only when not ONNX's default
        attributes["activations"] = names
    outputs = graph.node({"SimpleRNN": "RNN"}.get(kind, kind), operands, hint=kind.lower(),
                         outputs=3 if kind == "LSTM" else 2, hidden_size=units, **attributes)
    sequence, states = outputs[0], [graph.squeeze(state, [0]) for state in outputs[1:]]
    if layer.return_sequences:  # Y (steps, 1, batch, units) -> (batch, steps, units)
        out = graph.transpose(graph.squeeze(sequence, [1]), [1, 0, 2])
    else:
        out = states[0]
    return [out, *states] if layer.return_state else [out]


@register_layer(Bidirectional)
def _bidirectional(graph, layer, inputs):
    """The forward and backward layers' nodes; with return_sequences the backward output
    put back in time order; merged by concatenation, sum, product or mean."""
    forward = convert_layer(graph, layer.forward_layer, inputs)
    backward = convert_layer(graph, layer.backward_layer, inputs)
    f, b = forward[0], backward[0]
    if layer.forward_layer.return_sequences:
        b = graph.reverse(b, 1)
    if layer.merge_mode == "concat":
        out = graph.node("Concat", [f, b], hint="bidirectional", axis=-1)
    elif layer.merge_mode == "sum":
        out = graph.node("Add", [f, b], hint="bidirectional")
    elif layer.merge_mode == "mul":
        out = graph.node("Mul", [f, b], hint="bidirectional")
    else:
        out = graph.node("Mul", [graph.node("Add", [f, b]), graph.constant(0.5)],
                         hint="bidirectional")
    return [out, *forward[1:], *backward[1:]]


@register_layer(TimeDistributed)
@_one
def _time_distributed(graph, layer, x):
    """The wrapped layer on (batch * steps, ...) and the steps put back."""
    steps, sample = layer.input_shape[0], layer.input_shape[1:]
    rows = graph.node("Reshape", [x, graph.ints([-1, *sample])])
    (out,) = convert_layer(graph, layer.layer, [rows])
    return graph.node("Reshape", [out, graph.ints([-1, steps, *layer.layer.output_shape])],
                      hint="time_distributed")


def _sequential(graph, model, inputs):
    """Each layer reading the previous one's outputs."""
    from ..models import Sequential

    if type(model).call is not Sequential.call:
        raise NotImplementedError(f"ONNX export: {type(model).__name__} overrides "
                                  "Sequential.call; the exporter cannot read its code")
    values = list(inputs)
    for layer in model.layers:
        values = convert_layer(graph, layer, values)
    return values


def _sequential_signature(model):
    """One input ``"input"`` (the sample shape), one output ``"output"`` (the last
    layer's)."""
    return [("input", tuple(model.input_shape))], [("output", model.layers[-1].output_shape)]


def _register_sequential():
    from ..models import Sequential

    register_model(Sequential, _sequential_signature)(_sequential)


_register_sequential()


def _standardised(graph: OnnxGraph, model, inputs: list, input_scaling) -> str:
    """The nodes of $(x - \\mu) / s$ on the model's one input (``input_scaling`` =
    (mean, scale), checked: finite arrays of the sample shape, non-zero scales)."""
    if len(inputs) != 1:
        raise ValueError("input_scaling: the model has several inputs")
    mean, scale = (np.asarray(a, dtype=np.float64) for a in input_scaling)
    if mean.shape != tuple(model.input_shape) or scale.shape != mean.shape \
            or not np.all(np.isfinite(mean)) or not np.all(np.isfinite(scale)) \
            or not np.all(scale != 0):
        raise ValueError(f"input_scaling must be (mean, scale), finite arrays of the "
                         f"sample shape {tuple(model.input_shape)} with non-zero "
                         f"scales; got shapes {mean.shape} and {scale.shape}")
    return graph.node("Div", [graph.node("Sub", [inputs[0], graph.weight(mean, "mean")]),
                              graph.weight(scale, "scale")], hint="standardised")


def to_onnx(model, opset=None, *, input_scaling=None):
    r"""The model as an ``onnx.ModelProto`` (see the module for what each layer becomes).

    Parameters
    ----------
    model : a built nnlearn Sequential or functional model (``nl.Model(inputs, outputs)``:
        :mod:`nnlearn.interop.onnx_functional`).
    opset : int, optional
        The ONNX operator set (from :data:`MIN_OPSET` to the newest that the installed
        onnx knows); :data:`DEFAULT_OPSET` by default.
    input_scaling : (mean, scale), optional
        Standardise the input first, $(x - \mu) / s$ with these per-feature arrays
        (the scaler ``nnlearn train`` keeps in the metadata; ``nnlearn export`` passes
        it, so that the graph takes the raw feature columns as ``nnlearn predict`` does).

    Returns
    -------
    onnx.ModelProto named after the model, in the model's dtype, with the inputs and
    outputs its walker names (a Sequential: one input ``"input"`` (batch,
    *input_shape) and one output ``"output"``); its metadata holds the
    model's ``metadata`` (the class labels, features and scaling of ``nnlearn train``)
    as JSON under ``"nnlearn.metadata"``.

    Raises
    ------
    NotImplementedError
        A layer or activation without an ONNX form (the message names it), a subclassed
        Model (Python code), a stateful recurrent layer.
    ValueError
        ``opset`` out of range; RuntimeError: the model is not built.
    """
    import json

    from .._version import __version__
    from ..models import Model

    opset = check_opset(opset)
    if not isinstance(model, Model):
        raise TypeError(f"to_onnx: model must be an nnlearn Model; got "
                        f"{type(model).__name__}")
    model._check_built("to_onnx")
    walker = walker_of(model)
    graph = OnnxGraph(model.dtype, opset)
    input_specs, output_specs = walker.signature(model)
    for name, _ in input_specs + output_specs:
        graph.name(name)  # reserved: nothing else is given these names
    first = [name for name, _ in input_specs]
    if input_scaling is not None:
        first = [_standardised(graph, model, first, input_scaling)]
    outputs = walker.walk(graph, model, first)
    if len(outputs) != len(output_specs):
        raise ValueError(f"ONNX export: the model gave {len(outputs)} outputs where its "
                         f"signature names {len(output_specs)}")
    for value, (name, _) in zip(outputs, output_specs):
        graph._add_node("Identity", [value], [name], graph.name("output_node"), "", {})

    def value_info(name, shape):
        return helper.make_tensor_value_info(name, graph.elem_type,
                                             None if shape is None else ["batch", *shape])

    proto_graph = helper.make_graph(
        graph.nodes, model.name or "nnlearn", [value_info(*spec) for spec in input_specs],
        [value_info(*spec) for spec in output_specs], initializer=graph.initializers)
    opsets = [helper.make_opsetid("", opset)]
    proto = helper.make_model(proto_graph, opset_imports=opsets, producer_name="nnlearn",
                              producer_version=__version__,
                              doc_string=f"{type(model).__name__} exported by nnlearn")
    proto.ir_version = helper.find_min_ir_version_for(opsets)
    if any(shape is None for _, shape in output_specs):  # ONNX's shape inference says
        inferred = onnx.shape_inference.infer_shapes(proto)
        for output, found in zip(proto.graph.output, inferred.graph.output):
            if not output.type.tensor_type.HasField("shape"):
                output.type.CopyFrom(found.type)
    if isinstance(model.metadata, dict) and model.metadata:
        helper.set_model_props(proto, {"nnlearn.metadata": json.dumps(model.metadata,
                                                                      default=str)})
    return proto


def save_onnx(model, path, opset=None, *, input_scaling=None) -> None:
    """Write :func:`to_onnx`'s graph to ``path`` (a temporary file in the same folder
    renamed over it when complete, so a failure never leaves half a file)."""
    data = to_onnx(model, opset, input_scaling=input_scaling).SerializeToString()
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".nnlearn-onnx-")
    try:
        with os.fdopen(handle, "wb") as f:
            f.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
