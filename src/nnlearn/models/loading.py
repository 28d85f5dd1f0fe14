"""Reading a model file back into a model: :func:`load_model`. Every layer's config is
checked against the layer's own schema, every weight's shape against the architecture and
every layer's memory per sample against a cap, before anything is built or allocated (the
file format and its checks are in :mod:`nnlearn.models.files`).
"""

from __future__ import annotations

import copy

import numpy as np

from .. import config_schema
from .. import layers as layers_module
from ..config_schema import one_of
from ..layers.merging import Merge
from .files import (FORMAT, check_sample_values, check_weight_shapes, numbered, read_archive,
                    where_of)
from .functional import Functional
from .graph import check_graph
from .sequential import Sequential


def _expected_weights(layer_list: list, input_shape, walk: list | None = None) -> list:
    """The weight shapes a Sequential of ``layer_list`` gets when built on ``input_shape``
    (a layer of an unknown class is built, on its own, to find out); ``walk``, when
    given, receives ``(layer, input shape, output shape)`` of each layer."""
    shapes, shape = [], tuple(input_shape)
    for layer in layer_list:
        weights, out = _layer_weights(layer, shape)
        if walk is not None:
            walk.append((layer, shape, tuple(out)))
        shapes += weights
        shape = tuple(out)
    return shapes


def _layer_weights(layer, shape) -> tuple:
    """(weight shapes, output shape) of ``layer`` on samples of ``shape``: as the layer
    declares them, or from a copy built on its own (a layer that does not declare them)."""
    known = layer.weight_shapes(shape)  # each layer declares its own
    if known is None:
        probe = copy.deepcopy(layer)
        probe.build(shape, np.random.default_rng(0), np.float32)
        known = ([p.data.shape for p in probe.params]
                 + [a.shape for a in probe.state_arrays()], probe.output_shape)
    return known


def _graph_weights(layer_list: list, nodes: list, order: list, walk: list) -> list:
    """The weight shapes of a functional model's layers (in ``layer_list`` order, each at
    its first node) along a checked graph in topological ``order``; ``walk`` receives
    ``(layer, input shape, output shape)`` of each node.  A layer called on two shapes, a
    layer of one input given several, a layer no node calls: ValueError."""
    outputs: dict = {}
    first: dict = {}
    for i in order:
        layer_index, inbound = nodes[i]
        layer = layer_list[layer_index]
        if isinstance(layer, layers_module.Input):
            if inbound:
                raise ValueError(f"graph.nodes[{i}]: an Input layer reads nothing")
            outputs[i] = tuple(layer.shape)
            first.setdefault(layer_index, ([], tuple(layer.shape)))
            continue
        if not isinstance(layer, Merge) and len(inbound) != 1:
            raise ValueError(f"graph.nodes[{i}] ({type(layer).__name__}) takes one input; "
                             f"got {len(inbound)}")
        shape = tuple(outputs[j] for j in inbound) if isinstance(layer, Merge) \
            else outputs[inbound[0]]
        if layer_index in first and first[layer_index][1] != shape:
            raise ValueError(f"graph.nodes[{i}]: layer {layer_index} is called on samples of "
                             f"shape {first[layer_index][1]} and of {shape}")
        weights, out = _layer_weights(layer, shape)
        first.setdefault(layer_index, (weights, shape))
        walk.append((layer, shape, tuple(out)))
        outputs[i] = tuple(out)
    unused = [k for k in range(len(layer_list)) if k not in first]
    if unused:
        raise ValueError(f"model.layers[{unused[0]}] is not called by any node of the graph")
    return [shape for k in range(len(layer_list)) for shape in first[k][0]]


def _functional_from(manifest: dict, where: str):
    """The functional model a manifest with a graph describes: the graph checked
    (:func:`nnlearn.models.functional.check_graph`: bounded, every reference resolved, no
    node reading itself, no cycle) before any layer is created, the weights' shapes along
    the graph checked against the declared arrays before any is allocated."""
    config = manifest["model"]
    try:
        order = check_graph(config["graph"], len(config["layers"]), "model.graph")
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    layer_list = _layers_from(manifest, where)
    walk: list = []
    try:
        expected = _graph_weights(layer_list, config["graph"]["nodes"], order, walk)
    except (TypeError, ValueError, OverflowError, IndexError) as err:
        raise ValueError(f"{where}: model: {err}") from None
    check_weight_shapes(expected, manifest, where)
    for index, (layer, layer_input, layer_output) in enumerate(walk):
        try:
            check_sample_values(layer, index, layer_input, layer_output)
        except ValueError as err:
            raise ValueError(f"{where}: model: {err}") from None
    try:
        model = Functional.replay(config, layer_list, order)
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{where}: model: {err}") from None
    return model, None


# A wrapper layer (TimeDistributed, Bidirectional) holds its layer's spec in its config;
# deeper nesting than this is refused (300 levels would exhaust Python's recursion).
MAX_LAYER_NESTING = 8


def _layers_from(manifest: dict, where: str) -> list:
    """The layers of a model manifest, each config checked against its class's
    constructor before the layer is created (creating one allocates nothing)."""
    layer_list = []
    for i, spec in enumerate(manifest["model"]["layers"]):
        _check_layer_config(spec, f"model.layers[{i}]", where)
        try:
            layer_list.append(layers_module.get(spec["class_name"], spec["config"]))
        except (TypeError, ValueError, KeyError, OverflowError) as err:
            raise ValueError(f"{where}: model.layers[{i}].config ({spec['class_name']}): "
                             f"{err}") from None
    return layer_list


def _check_layer_config(spec: dict, field: str, where: str, depth: int = 0) -> None:
    """``spec['config']`` checked against the constructor of ``spec['class_name']`` (a
    known layer class), and so, recursively, the spec a wrapper holds as its ``layer``,
    at most MAX_LAYER_NESTING levels deep."""
    if depth > MAX_LAYER_NESTING:
        raise ValueError(f"{where}: {field}: layers nest more than {MAX_LAYER_NESTING} "
                         "levels deep (a wrapper in a wrapper ...); at most "
                         f"{MAX_LAYER_NESTING} are read")
    config_schema.check(spec, {"class_name": one_of(sorted(layers_module.LAYERS)),
                               "config": dict}, field, where)
    cls, config = layers_module.LAYERS[spec["class_name"]], spec["config"]
    config_schema.check(config, cls.config_schema(), f"{field}.config", where)
    inner = config.get("layer")
    if isinstance(inner, dict):
        _check_layer_config(inner, f"{field}.config.layer", where, depth + 1)


def _model_from(manifest: dict, where: str):
    """The unbuilt Sequential a model manifest describes, and the shape it is built on;
    its weights' shapes are checked against the declared arrays (nothing is allocated
    for a weight the file does not hold)."""
    if "graph" in manifest["model"]:
        return _functional_from(manifest, where)
    config = manifest["model"]
    layer_list = _layers_from(manifest, where)
    try:
        model = Sequential(layer_list, seed=config["seed"], dtype=config["dtype"],
                           name=config["name"])
        shape = config["input_shape"] or model.input_shape
        walk: list = []
        expected = _expected_weights(layer_list, shape, walk) if shape else []
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{where}: model: {err}") from None
    check_weight_shapes(expected, manifest, where)
    for index, (layer, layer_input, layer_output) in enumerate(walk):
        try:
            check_sample_values(layer, index, layer_input, layer_output)
        except ValueError as err:
            raise ValueError(f"{where}: model: {err}") from None
    return model, shape


def load_model(file):
    """The Sequential written by :meth:`Sequential.save`, or the functional model written
    by :meth:`Functional.save <nnlearn.models.functional.Functional.save>` (a path or a
    binary file object).

    Never unpickles anything.  Everything is checked before it is used, and before
    anything large is read or allocated: a truncated, corrupted, altered or hostile file
    raises ValueError naming the file and the field (see MAX_MODEL_BYTES and the other
    caps in this module)."""
    manifest, arrays, (model, shape) = read_archive(file, (FORMAT,), _model_from)
    where = where_of(file)
    try:
        if shape:
            model.build(shape)
        model.set_weights(numbered(arrays, "weight_"))
    except (TypeError, ValueError, KeyError, OverflowError) as err:
        raise ValueError(f"{where}: model: {err}") from None
    compiled = manifest.get("compile")
    if compiled:
        try:
            outputs = compiled.get("outputs")
            if outputs is not None and hasattr(model, "output_names"):
                model.compile(optimizer=compiled["optimizer"], loss=outputs["losses"],
                              loss_weights=outputs["loss_weights"],
                              metrics=outputs["metrics"])
            elif outputs is not None:
                raise ValueError("per-output settings for a model with one output")
            else:
                model.compile(optimizer=compiled["optimizer"], loss=compiled["loss"],
                              metrics=compiled["metrics"])
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as err:
            raise ValueError(f"{where}: compile: {err}") from None
        try:
            model.optimizer.set_state(model.params, numbered(arrays, "optimizer_"),
                                      compiled["iterations"])
        except (TypeError, ValueError, IndexError, KeyError, OverflowError) as err:
            raise ValueError(f"{where}: the optimizer state does not fit the model: "
                             f"{err}") from None
    elif any(k.startswith("optimizer_") for k in arrays):
        raise ValueError(f"{where}: arrays: optimizer state without a compile section")
    model.metadata = manifest.get("metadata", {})
    return model
