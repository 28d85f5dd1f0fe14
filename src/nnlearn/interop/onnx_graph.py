"""The ONNX graph an export builds, and its registries: :class:`OnnxGraph` (nodes,
initializers, unique value names), the table of layer converters (:func:`register_layer`,
:func:`convert_layer`) and of model walkers (:func:`register_model`,
:func:`model_graph`). The converters of the layers (:mod:`.onnx`) and of functional
graphs and merge layers (:mod:`.onnx_functional`) register themselves here.
"""

from __future__ import annotations

import numpy as np

try:
    import onnx
    from onnx import helper, numpy_helper
except ModuleNotFoundError as err:  # pragma: no cover - the extra is missing
    raise ModuleNotFoundError(
        "nnlearn.interop.onnx needs onnx: pip install onnx (nnlearn's onnx extra: pip "
        "install \".[onnx]\" in nnlearn's folder)", name=err.name) from None


#: The operator set used when ``opset`` is None (onnxruntime 1.16 and later run it).
DEFAULT_OPSET = 18
#: The oldest operator set supported (Softmax over one axis, Squeeze's axes as an input).
MIN_OPSET = 13


def check_opset(opset) -> int:
    """``opset`` checked: an integer from :data:`MIN_OPSET` to the newest that the
    installed onnx knows; None gives :data:`DEFAULT_OPSET`."""
    if opset is None:
        return DEFAULT_OPSET
    newest = onnx.defs.onnx_opset_version()
    if not isinstance(opset, (int, np.integer)) or isinstance(opset, bool) \
            or not MIN_OPSET <= opset <= newest:
        raise ValueError(f"opset must be an integer from {MIN_OPSET} to {newest} (the "
                         f"newest the installed onnx knows); got {opset!r}")
    return int(opset)


# -- the graph being built ------------------------------------------------------------------
class OnnxGraph:
    """The nodes and initializers (weights) of a graph being emitted, in one dtype.

    Converters call :meth:`node`, :meth:`initializer`, :meth:`constant` and
    :meth:`ints`; each returns the name of the value it made.  The skl2onnx converter
    (:mod:`nnlearn.interop.skl2onnx`) subclasses it to emit into skl2onnx's container
    instead (:meth:`name`, :meth:`_add_node`, :meth:`_add_initializer`).

    Parameters
    ----------
    dtype : the floating dtype of the values (the model's).
    opset : int, the operator set of the default domain.
    """

    def __init__(self, dtype, opset: int):
        self.dtype = np.dtype(dtype)
        self.opset = int(opset)
        self.elem_type = helper.np_dtype_to_tensor_dtype(self.dtype)
        self.nodes: list = []
        self.initializers: list = []
        self._names: set = set()
        self._constants: dict = {}

    # the three methods a subclass emitting elsewhere overrides
    def name(self, hint: str) -> str:
        """A value or node name not used before in this graph."""
        candidate, k = hint, 0
        while candidate in self._names:
            k += 1
            candidate = f"{hint}_{k}"
        self._names.add(candidate)
        return candidate

    def _add_node(self, op_type, inputs, outputs, name, domain, attributes) -> None:
        self.nodes.append(helper.make_node(op_type, inputs, outputs, name=name,
                                           domain=domain, **attributes))

    def _add_initializer(self, name: str, array: np.ndarray) -> None:
        self.initializers.append(numpy_helper.from_array(array, name))

    # what converters call
    def node(self, op_type: str, inputs, hint: str | None = None, outputs: int = 1,
             domain: str = "", **attributes):
        """Emit one node; its output name (a list of ``outputs`` names when > 1)."""
        names = [self.name(hint or op_type.lower()) for _ in range(outputs)]
        self._add_node(op_type, list(inputs), names, self.name(f"{op_type}_node"), domain,
                       attributes)
        return names[0] if outputs == 1 else names

    def initializer(self, array, hint: str) -> str:
        """A weight of the graph (in its own dtype: cast floats to the graph's first)."""
        array = np.ascontiguousarray(array)
        name = self.name(hint)
        self._add_initializer(name, array)
        return name

    def constant(self, value) -> str:
        """A float constant (a number or array) in the graph's dtype, made once."""
        array = np.asarray(value, dtype=self.dtype)
        key = (array.shape, array.tobytes())
        if key not in self._constants:
            self._constants[key] = self.initializer(array, "const")
        return self._constants[key]

    def ints(self, values, hint: str = "shape") -> str:
        """A 1-D int64 constant (shapes, axes, pads)."""
        array = np.asarray(values, dtype=np.int64).reshape(-1)
        key = ("int64", array.shape, array.tobytes())
        if key not in self._constants:
            self._constants[key] = self.initializer(array, hint)
        return self._constants[key]

    def weight(self, array, hint: str) -> str:
        """A weight array in the graph's dtype."""
        return self.initializer(np.asarray(array, dtype=self.dtype), hint)

    # small patterns shared by converters
    def transpose(self, x: str, perm) -> str:
        """``x`` with its axes permuted (``perm``, as NumPy's transpose)."""
        return self.node("Transpose", [x], perm=list(perm))

    def squeeze(self, x: str, axes) -> str:
        """``x`` without its ``axes`` of length 1."""
        return self.node("Squeeze", [x, self.ints(axes, "axes")])

    def reduce(self, op_type: str, x: str, axes, keepdims: int = 0) -> str:
        """ReduceMean/ReduceMax over ``axes``: an attribute before opset 18, an input
        from 18 on."""
        if self.opset >= 18:
            return self.node(op_type, [x, self.ints(axes, "axes")], keepdims=keepdims)
        return self.node(op_type, [x], axes=list(axes), keepdims=keepdims)

    def reverse(self, x: str, axis: int) -> str:
        """``x`` read backwards along ``axis`` (a Slice with step -1)."""
        return self.node("Slice", [x, self.ints([-1], "starts"),
                                   self.ints([np.iinfo(np.int64).min], "ends"),
                                   self.ints([axis], "axes"), self.ints([-1], "steps")])


# -- the converter table ---------------------------------------------------------------------
#: layer class -> ``converter(graph, layer, inputs) -> outputs`` (lists of value names).
LAYER_CONVERTERS: dict = {}


def register_layer(*classes):
    """Decorator: the converter of these layer classes (exactly these: a subclass, which
    may compute something else, needs its own)."""
    def register(converter):
        for cls in classes:
            LAYER_CONVERTERS[cls] = converter
        return converter
    return register


def convert_layer(graph: OnnxGraph, layer, inputs: list) -> list:
    """Emit ``layer``'s nodes reading the values ``inputs``; the names of its outputs.
    A layer without a converter is a NotImplementedError naming it."""
    converter = LAYER_CONVERTERS.get(type(layer))
    if converter is None:
        supported = ", ".join(sorted(cls.__name__ for cls in LAYER_CONVERTERS))
        raise NotImplementedError(f"ONNX export: no converter for the layer "
                                  f"{type(layer).__name__} ({layer.name or 'unnamed'}); "
                                  f"supported: {supported}")
    if not layer.built:
        raise ValueError(f"ONNX export: the layer {type(layer).__name__} is not built")
    outputs = converter(graph, layer, list(inputs))
    return list(outputs)


# -- models: the graph walkers -----------------------------------------------------------------
class ModelWalker:
    """How one kind of model becomes a graph.

    Parameters
    ----------
    walk : ``walk(graph, model, inputs) -> outputs``
        Emits the model's nodes reading the values ``inputs`` (names); the names of its
        outputs.
    signature : ``signature(model) -> (inputs, outputs)``
        The graph's inputs and outputs, each a list of ``(name, sample shape or None)``
        (the batch axis is added in front).
    """

    def __init__(self, walk, signature):
        self.walk, self.signature = walk, signature


#: model class -> :class:`ModelWalker` (the first class in the model's method resolution
#: order that has one).
MODEL_WALKERS: dict = {}


def register_model(cls, signature):
    """Decorator: ``walk(graph, model, inputs) -> outputs`` is how a ``cls`` model becomes a
    graph, ``signature(model) -> (inputs, outputs)`` its named inputs and outputs (see
    :class:`ModelWalker`)."""
    def register(walk):
        MODEL_WALKERS[cls] = ModelWalker(walk, signature)
        return walk
    return register


def walker_of(model) -> ModelWalker:
    for cls in type(model).__mro__:
        if cls in MODEL_WALKERS:
            return MODEL_WALKERS[cls]
    raise NotImplementedError(
        f"ONNX export: a {type(model).__name__} model cannot be exported: its call() is "
        "Python code the exporter cannot read; build it as a Sequential or a functional model")


def model_graph(graph: OnnxGraph, model, inputs: list) -> list:
    """Emit ``model``'s nodes reading ``inputs``; the names of its outputs (a model inside
    another graph: the skl2onnx converter, a functional model's nested Sequential)."""
    return walker_of(model).walk(graph, model, inputs)
