"""The graph of a functional model, before it is a model: symbolic tensors (``nl.Input`` and
every layer's output on one, Keras's ``KerasTensor``), the nodes that record each layer
call, the graph's order (topological, and Keras's order of the layers), and the checks a
stored graph passes before anything is built from it (:func:`check_graph`: bounded, every
reference resolved, no node reading itself, no cycle).
"""

from __future__ import annotations

import copy
import re

import numpy as np

from .. import layers as layers_module
from ..layers.merging import Merge

MAX_GRAPH_NODES = 10_000   # nodes of one graph read from data (a file, a config)
MAX_NODE_INPUTS = 1_000    # tensors one merge node may read


class SymbolicTensor:
    """The output of a node: a shape with a None batch axis, no values (Keras's
    ``KerasTensor``).  Call a layer on it to add a node; give it to ``nl.Model``."""

    is_symbolic = True

    def called_by(self, layer, x, training, call_arguments) -> "SymbolicTensor":
        """``layer(x)`` with this tensor among ``x``: the node it adds to the graph
        (:func:`call_symbolic`; what :meth:`nnlearn.layers.Layer.__call__` asks of a
        symbolic input)."""
        return call_symbolic(layer, x, training, call_arguments)

    def __init__(self, sample_shape: tuple, node: "Node"):
        self.sample_shape = tuple(int(n) for n in sample_shape)
        self.node = node

    @property
    def shape(self) -> tuple:
        """(None, *sample shape): None is the batch axis."""
        return (None, *self.sample_shape)

    @property
    def name(self) -> str | None:
        """The name of the layer that computes it."""
        return self.node.layer.name

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape} from {type(self.node.layer).__name__}>"

    def __array__(self, *args, **kwargs):
        raise TypeError("a symbolic tensor (nl.Input) has no values: call layers on it and "
                        "give it to nl.Model(inputs, outputs), then call the model on arrays")


class Node:
    """One call of ``layer`` on ``inbound`` (symbolic tensors; ``multiple``: called on a
    list, as a merge layer is); ``output`` is its symbolic result."""

    def __init__(self, layer, inbound: list, multiple: bool, output_shape: tuple):
        self.layer, self.inbound, self.multiple = layer, list(inbound), multiple
        self.output = SymbolicTensor(output_shape, self)

    @property
    def input_shape(self):
        """The sample shape the layer is called on (a tuple of them for a list)."""
        if not self.inbound:  # an input node
            return self.output.sample_shape
        shapes = [t.sample_shape for t in self.inbound]
        return tuple(shapes) if self.multiple else shapes[0]


def Input(shape, name: str | None = None) -> SymbolicTensor:  # noqa: N802 (Keras's name)
    """A symbolic input of samples of ``shape`` (an int or a tuple, no batch axis): the
    start of a functional model (``nl.Input(784)`` has shape (None, 784))."""
    layer = layers_module.Input(shape, name=name)
    return input_node(layer).output


def input_node(layer) -> Node:
    layer.input_shape = layer.output_shape = layer.shape
    return Node(layer, [], False, layer.shape)


def label(layer) -> str:
    return f"{type(layer).__name__}" + (f" {layer.name!r}" if layer.name else "")


def _output_shape(layer, input_shape) -> tuple:
    """The sample shape ``layer`` gives for inputs of ``input_shape`` (checked by the
    layer), without building it; a layer already built or already called takes that
    shape again (a shared layer: one set of weights)."""
    known = layer.input_shape if layer.built else getattr(layer, "_symbolic_input_shape", None)
    if known is not None and _as_tuples(known) != _as_tuples(input_shape):
        raise ValueError(f"{label(layer)} was called on samples of shape {known}; called "
                         f"again on {input_shape} (a shared layer takes one shape: one set "
                         "of weights)")
    if layer.built:
        return tuple(layer.output_shape)
    try:
        declared = layer.weight_shapes(input_shape)
        if declared is None:  # a layer that does not declare its shapes: build a copy
            probe = copy.deepcopy(layer)
            probe.build(input_shape, np.random.default_rng(0), np.float64)
            out = probe.output_shape
        else:
            out = declared[1]
    except (ValueError, TypeError, IndexError) as err:
        raise ValueError(f"{label(layer)}: cannot take inputs of shape {input_shape}: "
                         f"{err}") from None
    layer._symbolic_input_shape = input_shape
    return tuple(out)


def _as_tuples(shape):
    if shape and isinstance(shape[0], (list, tuple)):
        return tuple(tuple(s) for s in shape)
    return tuple(shape)


def call_symbolic(layer, x, training, call_arguments) -> SymbolicTensor:
    """``layer(x)`` on symbolic tensors (:meth:`Layer.__call__`): the node's output."""
    if call_arguments or training:
        raise ValueError(f"{label(layer)}: a layer in a functional model takes only its "
                         f"inputs (got {', '.join(call_arguments) or 'training=True'}); "
                         "fit, evaluate and predict set training")
    multiple = isinstance(x, (list, tuple))
    inbound = list(x) if multiple else [x]
    if not all(isinstance(t, SymbolicTensor) for t in inbound):
        raise TypeError(f"{label(layer)}: inputs mix symbolic tensors (nl.Input) and "
                        "values; a functional model's inputs are all nl.Input tensors")
    if isinstance(layer, layers_module.Input):
        raise ValueError("an Input layer is not called: nl.Input(shape) is the input")
    if multiple and not isinstance(layer, Merge):
        raise ValueError(f"{label(layer)} takes one tensor; got a list of {len(inbound)} "
                         "(merge them first: nl.layers.Concatenate, Add, ...)")
    shapes = [t.sample_shape for t in inbound]
    input_shape = tuple(shapes) if multiple else shapes[0]
    return Node(layer, inbound, multiple, _output_shape(layer, input_shape)).output


# -- the graph ------------------------------------------------------------------------------
def symbolic_list(value, argument: str) -> list:
    """``inputs`` or ``outputs`` of nl.Model as a list of symbolic tensors."""
    items = list(value) if isinstance(value, (list, tuple)) else [value]
    if not items:
        raise ValueError(f"Model: {argument} must hold at least one symbolic tensor")
    for i, item in enumerate(items):
        if not isinstance(item, SymbolicTensor):
            raise TypeError(f"Model: {argument}[{i}] must be a symbolic tensor (from nl.Input "
                            f"or a layer called on one); got {type(item).__name__}")
    return items


def topological(outputs: list) -> list:
    """The nodes the outputs depend on, each after its inbound nodes (an iterative
    depth-first search: no recursion limit on deep graphs)."""
    order, done, stack = [], set(), [(t.node, False) for t in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in done:
            continue
        if expanded:
            done.add(id(node))
            order.append(node)
            continue
        stack.append((node, True))
        stack.extend((t.node, False) for t in reversed(node.inbound)
                     if id(t.node) not in done)
    return order


def keras_layer_order(nodes: list, outputs: list) -> list:
    """The layers (each once) in Keras's order, that of ``get_weights``: by depth, the
    longest path from a layer's nodes to an output, deepest first; at equal depth in the
    order a depth-first search from the outputs first meets them (Keras's
    ``map_graph``).  So ``set_weights(keras_model.get_weights())`` fits the same graph."""
    first_seen: dict = {}
    seen, stack = set(), [t.node for t in reversed(outputs)]
    while stack:  # pre-order, inbound tensors in order
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        first_seen.setdefault(id(node.layer), len(first_seen))
        stack.extend(t.node for t in reversed(node.inbound))
    node_depth: dict = {}
    layer_depth: dict = {}
    for node in reversed(nodes):  # outputs first
        depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        for t in node.inbound:
            node_depth[id(t.node)] = max(depth + 1, node_depth.get(id(t.node), 0))
    layers_once: dict = {}
    for node in nodes:
        layers_once.setdefault(id(node.layer), node.layer)
    return sorted(layers_once.values(), key=lambda layer: (-layer_depth.get(id(layer), 0),
                                                           first_seen.get(id(layer), -1)))


def check_graph(graph, n_layers: int, field: str = "graph") -> list:
    """Check a graph read from data and return its nodes in a topological order.

    ``graph`` is ``{"nodes": [[layer index, [inbound node indices]], ...], "inputs":
    [node indices], "outputs": [node indices]}``.  Refused with ValueError, before any
    node is looked at past the count: more than MAX_GRAPH_NODES nodes, a node of the
    wrong form, a layer index or node reference that resolves to nothing, a node listed
    as its own input, a cycle (Kahn 1962: the nodes that remain when no node without
    pending inputs does), inputs that are not input nodes."""
    if not isinstance(graph, dict) or set(graph) != {"nodes", "inputs", "outputs"}:
        raise ValueError(f"{field} must be an object with the keys nodes, inputs and outputs")
    nodes, inputs, outputs = graph["nodes"], graph["inputs"], graph["outputs"]
    for key, value in (("nodes", nodes), ("inputs", inputs), ("outputs", outputs)):
        if not isinstance(value, list):
            raise ValueError(f"{field}.{key} must be a list; got {type(value).__name__}")
    if len(nodes) > MAX_GRAPH_NODES:  # the count first: nothing is allocated per node
        raise ValueError(f"{field}.nodes: {len(nodes):,} nodes; at most {MAX_GRAPH_NODES:,} "
                         "are read")
    if not nodes:
        raise ValueError(f"{field}.nodes is empty")

    def index(value, limit: int, what: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
            raise ValueError(f"{what} refers to {value!r}, which does not exist (0 to "
                             f"{limit - 1})")
        return value

    readers: list = [[] for _ in nodes]
    pending = []
    for i, node in enumerate(nodes):
        where = f"{field}.nodes[{i}]"
        if not (isinstance(node, list) and len(node) == 2 and isinstance(node[1], list)):
            raise ValueError(f"{where} must be [layer index, [inbound node indices]]")
        index(node[0], n_layers, f"{where} layer")
        if len(node[1]) > MAX_NODE_INPUTS:
            raise ValueError(f"{where}: {len(node[1]):,} inbound nodes; at most "
                             f"{MAX_NODE_INPUTS:,}")
        for j in node[1]:
            if index(j, len(nodes), f"{where} inbound") == i:
                raise ValueError(f"{where} lists itself as its own input")
            readers[j].append(i)
        pending.append(len(node[1]))
    for key, value in (("inputs", inputs), ("outputs", outputs)):
        if not value or len(value) > MAX_GRAPH_NODES:
            raise ValueError(f"{field}.{key} must list 1 to {MAX_GRAPH_NODES:,} nodes")
        for k, j in enumerate(value):
            index(j, len(nodes), f"{field}.{key}[{k}]")
    for k, j in enumerate(inputs):
        if nodes[j][1]:
            raise ValueError(f"{field}.inputs[{k}]: node {j} has inbound nodes (an input "
                             "node reads nothing)")
    order = [i for i, n in enumerate(pending) if n == 0]
    for i in order:  # Kahn: the list grows while it is read
        for reader in readers[i]:
            pending[reader] -= 1
            if pending[reader] == 0:
                order.append(reader)
    if len(order) < len(nodes):
        stuck = next(i for i, n in enumerate(pending) if n > 0)
        raise ValueError(f"{field}.nodes: the graph has a cycle (node {stuck} depends on "
                         "itself through its inbound nodes)")
    return order


def snake_case(name: str) -> str:
    """``Conv2D`` -> ``conv2d``, ``SimpleRNN`` -> ``simple_rnn``, ``MaxPooling2D`` ->
    ``max_pooling2d`` (Keras's layer names)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
