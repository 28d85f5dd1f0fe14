"""Functional models: a graph of layers, built by calling layers on symbolic tensors
(Keras's functional API; Chollet 2017, *Deep Learning with Python*, section 7.1)::

    x = nl.Input(8)                                      # (None, 8), a symbolic tensor
    h = nl.layers.Dense(8, activation="relu")(x)         # records a node
    y = nl.layers.Add()([x, h])                          # y = x + F(x), He et al. 2016
    model = nl.Model(x, nl.layers.Dense(1)(y))           # a Functional

Calling a layer on a symbolic tensor runs nothing: it records a :class:`Node` (the layer
and the tensors it was called on) and returns a :class:`SymbolicTensor` of the layer's
output shape.  ``Model(inputs, outputs)`` walks the nodes back from the outputs, orders
them (every node after those it reads: a topological order) and builds each layer once
(a layer called twice is one set of weights, shared; its gradient is the sum over its
uses, which the engine adds).  The forward pass evaluates the nodes in that order:

$$ h_v = f_v\\big(h_{u_1}, \\dots, h_{u_k}\\big), \\qquad u_1, \\dots, u_k \\text{ the
inbound nodes of } v,$$

and backpropagation is the engine's, through the same graph (Rumelhart, Hinton &
Williams 1986).  With several outputs the objective is Keras's weighted sum of the
outputs' losses, $L = \\sum_k \\lambda_k L_k(y_k, \\hat y_k)$ (``loss_weights``
$\\lambda_k$, 1 by default), plus the layers' penalties.

A graph as data (``get_config``, model files) is a list of layers and a list of nodes
``[layer index, [inbound node indices]]`` with the input and output node indices;
:func:`check_graph` refuses a hostile one (a dangling reference, a node that reads
itself, a cycle, too many nodes) with a ValueError before any layer is created.

The graph before it is a model (symbolic tensors, nodes, the checks of a stored graph) is
:mod:`nnlearn.models.graph`.  This module is long because the model is one class: a
Keras model over a graph, with several inputs and outputs in every method.
"""

from __future__ import annotations

import copy
import keyword
import math

import numpy as np

from .. import layers as layers_module
from .. import losses, metrics as metrics_module, optimizers
from .._validation import (check_array, check_fraction, check_positive_int, check_sample_weight,
                           check_verbose, checking_keywords)
from ..autograd import Tensor, as_tensor, no_grad
from ..data import adapters as data_adapters
from ..layers.merging import Merge
from .graph import (MAX_GRAPH_NODES, MAX_NODE_INPUTS, Input, Node, SymbolicTensor, check_graph,
                    input_node, keras_layer_order, label, snake_case, symbolic_list,
                    topological)
from .model import Model
from .sequential import Sequential

__all__ = ["Input", "SymbolicTensor", "Node", "Functional", "check_graph",
           "MAX_GRAPH_NODES", "MAX_NODE_INPUTS"]


class _Columns:
    """Several arrays of the same samples, indexed together (a batch of a model with
    several inputs or outputs): what the array adapter gathers rows of."""

    def __init__(self, arrays: list):
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0])

    @property
    def shape(self) -> tuple:
        return (len(self),)

    def take(self, index, axis=0):
        return _Columns([a.take(index, axis=0) for a in self.arrays])

    def __getitem__(self, index):
        return _Columns([a[index] for a in self.arrays])


class Functional(Model):
    """A model whose layers form a graph: ``nl.Model(inputs, outputs)`` (see the module's
    introduction).  Several inputs and outputs, shared layers and merge layers; trains
    with ``compile``/``fit`` as any model, with per-output losses.

    Parameters
    ----------
    inputs : a symbolic tensor from :func:`Input`, or a list of them
    outputs : a symbolic tensor computed from ``inputs``, or a list of them
    seed, dtype, name : as :class:`nnlearn.Model`.
    """

    def __init__(self, inputs, outputs, seed: int | None = None, dtype="float32",
                 name: str | None = None):
        super().__init__(seed=seed, dtype=dtype, name=name or "functional")
        inputs, outputs = symbolic_list(inputs, "inputs"), symbolic_list(outputs, "outputs")
        for i, t in enumerate(inputs):
            if not isinstance(t.node.layer, layers_module.Input):
                raise ValueError(f"Model: inputs[{i}] must come from nl.Input; got the output "
                                 f"of {label(t.node.layer)}")
        for argument, tensors in (("inputs", inputs), ("outputs", outputs)):
            if len({id(t.node) for t in tensors}) < len(tensors):
                raise ValueError(f"Model: a tensor is listed twice in {argument} (each "
                                 f"is named by its layer: the names must differ)")
        nodes = topological(outputs)
        given = {id(t.node) for t in inputs}
        for node in nodes:
            if isinstance(node.layer, layers_module.Input) and id(node) not in given:
                raise ValueError(f"Model: the outputs depend on an nl.Input that is not in "
                                 f"inputs (shape {node.output.shape}): the graph is "
                                 "disconnected")
        reached = {id(n) for n in nodes}
        nodes = [t.node for t in inputs if id(t.node) not in reached] + nodes
        if len(nodes) > MAX_GRAPH_NODES:
            raise ValueError(f"Model: {len(nodes):,} nodes; at most {MAX_GRAPH_NODES:,}")
        position = {id(node): k for k, node in enumerate(nodes)}
        unique = keras_layer_order(nodes, outputs)
        self._name_layers(unique)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "outputs", outputs)
        object.__setattr__(self, "_nodes", nodes)
        # the evaluation plan: (layer, inbound node positions, called on a list)
        object.__setattr__(self, "_steps", [(n.layer, [position[id(t.node)] for t in n.inbound],
                                             n.multiple) for n in nodes])
        object.__setattr__(self, "_input_positions", [position[id(t.node)] for t in inputs])
        object.__setattr__(self, "_output_positions",
                           [position[id(t.node)] for t in outputs])
        self._layers.extend(unique)
        self.output_losses: list = []
        self.loss_weights: list = []
        self.output_metrics: list = []
        self._last_output_losses: list = []
        self.build()

    @staticmethod
    def _name_layers(layer_list: list) -> None:
        """Give each unnamed layer Keras's name (``dense``, ``dense_1``, ...,
        ``input_layer``); two layers of one name are refused (outputs are named by their
        layers)."""
        taken = {layer.name for layer in layer_list if layer.name}
        named = [layer.name for layer in layer_list if layer.name]
        if len(set(named)) < len(named):
            twice = next(n for n in named if named.count(n) > 1)
            raise ValueError(f"Model: two layers are named {twice!r}; layer names must be "
                             "unique in a model")
        for layer in layer_list:
            if layer.name:
                continue
            base = "input_layer" if isinstance(layer, layers_module.Input) else \
                snake_case(type(layer).__name__)
            name, k = base, 0
            while name in taken:
                k += 1
                name = f"{base}_{k}"
            layer.name = name
            taken.add(name)

    # -- structure ------------------------------------------------------------------------
    @property
    def input_names(self) -> list:
        """The names of the inputs (their Input layers')."""
        return [t.name for t in self.inputs]

    @property
    def output_names(self) -> list:
        """The names of the outputs (the layers that compute them): the keys of the
        dicts ``compile``, ``fit`` and ``evaluate`` take."""
        return [t.name for t in self.outputs]

    @property
    def input_shape(self):
        """The sample shape of the single input (a list of them with several)."""
        shapes = [t.sample_shape for t in self.inputs]
        return shapes[0] if len(shapes) == 1 else shapes

    @property
    def output_units(self) -> int:
        """The values per sample of the single output (of the first with several)."""
        return int(np.prod(self.outputs[0].sample_shape))

    @property
    def single(self) -> bool:
        """One input and one output: x and y are plain arrays."""
        return len(self.inputs) == 1 and len(self.outputs) == 1

    def get_layer(self, name: str):
        """The layer called ``name`` (Keras's ``get_layer``)."""
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ValueError(f"get_layer: no layer is named {name!r}; the layers are "
                         f"{[layer.name for layer in self.layers]}")

    def inbound_layers(self, node_index: int) -> list:
        """The layers whose outputs node ``node_index`` reads."""
        return [self._steps[j][0] for j in self._steps[node_index][1]]

    def chain_reason(self) -> str | None:
        """None when the graph is a plain chain (one input, one output, each node reading
        the one before, no layer twice): the compiled Dense step may take it (as a
        Sequential); else why not."""
        if not self.single:
            def count(n: int, what: str) -> str:
                return f"{n} {what}" + ("s" if n != 1 else "")

            return (f"a functional model with {count(len(self.inputs), 'input')} and "
                    f"{count(len(self.outputs), 'output')}")
        for k, (layer, inbound, multiple) in enumerate(self._steps[1:], 1):
            if multiple or inbound != [k - 1]:
                return (f"a functional graph, not a chain ({label(layer)} reads "
                        f"{'several tensors' if multiple else 'a tensor other than the previous'})")
        if len({id(step[0]) for step in self._steps}) < len(self._steps):
            return "a functional graph with a shared layer"
        return None

    def build(self, input_shape=None) -> None:
        """Create every layer's weights (once for a shared layer), in the graph's order,
        from the model's seed."""
        rng = np.random.default_rng(self.seed)
        for node in self._nodes:
            if not node.layer.built:
                node.layer.build(node.input_shape, rng, self.dtype)
        self.built = True

    def check_input(self, x) -> None:
        """Raise a clear ValueError when the samples of the single input do not fit."""
        expected = self.inputs[0].sample_shape
        if tuple(x.shape[1:]) != expected:
            raise ValueError(f"x: expected samples of shape {expected} "
                             f"({int(np.prod(expected))} features); got {x.shape[1:]}")

    # -- forward --------------------------------------------------------------------------
    def _evaluate(self, inputs: list, training: bool, logits_of=()) -> list:
        """Every node's value in order; the output nodes in ``logits_of`` give their
        pre-activation (a fused loss reads the logits)."""
        values: list = [None] * len(self._steps)
        for k, x in zip(self._input_positions, inputs):
            values[k] = x
        for k, (layer, inbound, multiple) in enumerate(self._steps):
            if values[k] is not None:
                continue
            args = [values[j] for j in inbound]
            arg = args if multiple else args[0]
            if k in logits_of:
                values[k] = layer.pre_activation(arg) if isinstance(
                    layer, layers_module.Dense) else arg
            else:
                values[k] = layer.call(arg, training)
        return values

    def call(self, inputs, training: bool = False):
        """The outputs for a batch: ``inputs`` a Tensor (one input) or a list of them in
        ``inputs`` order; a Tensor for one output, else a list in ``outputs`` order."""
        xs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        if len(xs) != len(self.inputs):
            raise ValueError(f"the model has {len(self.inputs)} inputs; got {len(xs)} arrays")
        values = self._evaluate([as_tensor(x) for x in xs], training)
        outs = [values[k] for k in self._output_positions]
        return outs[0] if len(outs) == 1 else outs

    def __call__(self, x, training: bool = False):
        if isinstance(x, dict):
            x = self._structure(x, self.input_names, "x")
        return self.call(x, training)

    def _output_activation_of(self, k: int) -> str | None:
        """The registered activation of output k's layer when its logits may be read
        instead (a Dense or Activation layer whose output nothing else reads)."""
        from .. import activations

        position = self._output_positions[k]
        layer = self._steps[position][0]
        read_elsewhere = any(position in inbound for _, inbound, _ in self._steps) or \
            self._output_positions.count(position) > 1
        if read_elsewhere or not isinstance(layer, (layers_module.Dense,
                                                    layers_module.Activation)):
            return None
        return activations.registered_name(layer.activation)

    @property
    def output_activation(self) -> str | None:
        """The single output's activation when the loss may read its logits."""
        return self._output_activation_of(0) if len(self.outputs) == 1 else None

    def logits(self, x, training=False):
        """The single output before its activation (see ``output_activation``)."""
        return self._evaluate([as_tensor(x)], training, {self._output_positions[0]})[
            self._output_positions[0]]

    # -- data -----------------------------------------------------------------------------
    @staticmethod
    def _structure(value, names: list, argument: str) -> list:
        """A list (in ``names`` order) from a dict keyed by those names, a list or tuple
        of len(names) items, or one item when there is one name."""
        if isinstance(value, dict):
            unknown = [k for k in value if k not in names]
            if unknown:
                raise ValueError(f"{argument}: unknown name {unknown[0]!r}; the model's are "
                                 f"{names}")
            missing = [n for n in names if n not in value]
            if missing:
                raise ValueError(f"{argument}: misses {missing[0]!r} (the model's are "
                                 f"{names})")
            return [value[n] for n in names]
        # with one name, a list is one array per name only as [array] (a list of rows,
        # [[1, 2], [3, 4]], is the data itself, as Sequential reads it)
        if isinstance(value, (list, tuple)) and (len(names) > 1 or (
                len(value) == 1 and isinstance(value[0], (np.ndarray, Tensor)))):
            if len(value) != len(names):
                raise ValueError(f"{argument}: the model has {len(names)} "
                                 f"{'inputs' if argument.startswith('x') else 'outputs'} "
                                 f"({', '.join(names)}); got {len(value)} arrays")
            return list(value)
        if len(names) != 1:
            raise ValueError(f"{argument}: the model has {len(names)} "
                             f"{'inputs' if argument.startswith('x') else 'outputs'} "
                             f"({', '.join(names)}); give a list or a dict of arrays")
        return [value]

    def _x_columns(self, x, argument: str = "x") -> _Columns:
        if isinstance(x, _Columns):
            return x
        arrays = []
        for name, t, value in zip(self.input_names, self.inputs,
                                  self._structure(x, self.input_names, argument)):
            where = f"{argument}[{name!r}]"
            if data_adapters.kind_of(value) != "array":
                raise ValueError(f"{where}: a model with several inputs or outputs takes "
                                 f"in-memory arrays; got {type(value).__name__}")
            a = check_array(value, where, dtype=self.dtype, allow_nd=True)
            if tuple(a.shape[1:]) != t.sample_shape:
                raise ValueError(f"{where}: expected samples of shape {t.sample_shape}; got "
                                 f"{a.shape[1:]}")
            arrays.append(a)
        n = {len(a) for a in arrays}
        if len(n) > 1:
            raise ValueError(f"{argument}: the arrays must have the same number of samples; "
                             f"got {[len(a) for a in arrays]}")
        return _Columns(arrays)

    def _y_columns(self, y, n: int, argument: str = "y") -> _Columns:
        if isinstance(y, _Columns):
            return y
        if y is None:
            raise ValueError(f"{argument}: targets are required (one array per output)")
        arrays = []
        for k, (name, value) in enumerate(zip(self.output_names,
                                              self._structure(y, self.output_names,
                                                              argument))):
            loss = self.output_losses[k]
            where = f"{argument}[{name!r}]"
            if loss is None:  # an output without a loss: its targets are not used
                arrays.append(np.zeros((n, 0), self.dtype) if value is None
                              else np.asarray(value))
                continue
            arrays.append(self._check_output_targets(k, value, n, where))
        return _Columns(arrays)

    def _check_output_targets(self, k: int, y, n: int, argument: str) -> np.ndarray:
        """As :meth:`Model.check_targets`, against output k's loss and size."""
        return Model.check_targets(self, y, n, argument, self.output_losses[k],
                                   int(np.prod(self.outputs[k].sample_shape)))

    def check_targets(self, y, n: int, argument: str = "y", loss=None, units=None):
        """The targets checked against each output's loss (a list or dict of arrays with
        several outputs)."""
        if self.single:
            return self._check_output_targets(0, y, n, argument)
        return self._y_columns(y, n, argument)

    # -- compile --------------------------------------------------------------------------
    @checking_keywords
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, loss_weights=None) -> None:
        """As :meth:`Model.compile`, per output: ``loss`` one loss for every output, a
        list (one per output, None for an output not trained) or a dict by output name
        (an output left out is not trained); ``loss_weights`` the $\\lambda_k$ of
        $L = \\sum_k \\lambda_k L_k$ (a list or a dict; 1 for each by default);
        ``metrics`` a list (for every output), a list of lists (one per output) or a dict
        by output name.  The logs hold ``loss``, and with several outputs
        ``<output>_loss`` and ``<output>_<metric>``."""
        names = self.output_names
        if loss is None:
            raise ValueError("compile: loss is required, e.g. loss='mse' or a dict "
                             "{output name: loss}")
        if isinstance(loss, (dict, list, tuple)):
            per_output = self._per_output(loss, "loss", None)
        else:
            per_output = [loss] * len(names)
        output_losses = [None if item is None else losses.get(item, f"loss[{name!r}]")
                         for name, item in zip(names, per_output)]
        if all(item is None for item in output_losses):
            raise ValueError("compile: loss gives no output a loss")
        for name, item in zip(names, output_losses):
            if item is not None and item.reduction == "none":
                raise ValueError(f"compile: loss[{name!r}] ({item.name}) has reduction='none'; "
                                 "training needs one number per output")
            if item is not None and item.kernel_penalty:
                raise ValueError(f"compile: loss[{name!r}] ({item.name}) adds a penalty on "
                                 "every kernel; a functional model takes it as a "
                                 "kernel_regularizer of its layers")
        weights = [1.0] * len(names) if loss_weights is None else \
            self._per_output(loss_weights, "loss_weights", 1.0)
        for name, w in zip(names, weights):
            if isinstance(w, bool) or not isinstance(w, (int, float, np.number)) or \
                    not math.isfinite(w):
                raise ValueError(f"compile: loss_weights[{name!r}] must be a finite number; "
                                 f"got {w!r}")
        if metrics is None:
            per_metrics = [[] for _ in names]
        elif isinstance(metrics, dict):
            per_metrics = self._per_output(metrics, "metrics", [])
        elif isinstance(metrics, (list, tuple)) and metrics and all(
                isinstance(m, (list, tuple)) for m in metrics):
            per_metrics = self._per_output(list(metrics), "metrics", [])
        else:
            per_metrics = [list(metrics)] * len(names)
        per_metrics = [[m] if isinstance(m, str) or not isinstance(m, (list, tuple)) else
                       list(m) for m in per_metrics]
        self.optimizer = optimizers.get(optimizer)
        self.output_losses = output_losses
        self.loss_weights = [float(w) for w in weights]
        seen: set = set()  # a Metric object given for two outputs: a copy for the second

        def fresh(metric, k):
            metric = metrics_module.get(metric, output_losses[k])
            if id(metric) in seen:
                metric = copy.deepcopy(metric)
                metric.reset_state()
            seen.add(id(metric))
            return metric

        self.output_metrics = [[fresh(m, k) for m in items]
                               for k, items in enumerate(per_metrics)]
        self.loss = next(item for item in output_losses if item is not None)
        self.metrics = [m for items in self.output_metrics for m in items]
        self.loss_tracker = metrics_module.Mean("loss")
        self.output_loss_trackers = [metrics_module.Mean(f"{name}_loss") for name in names]
        self._output_head_cache = None

    def _per_output(self, value, argument: str, default) -> list:
        names = self.output_names
        if isinstance(value, dict):
            unknown = [k for k in value if k not in names]
            if unknown:
                raise ValueError(f"compile: {argument}: unknown output name {unknown[0]!r}; "
                                 f"the outputs are {names}")
            return [value.get(name, default) for name in names]
        value = list(value)
        if len(value) != len(names):
            raise ValueError(f"compile: {argument}: the model has {len(names)} outputs "
                             f"({', '.join(names)}); got a list of {len(value)}")
        return value

    @property
    def fused_loss(self):
        """The single output's loss as a function of its logits when they fuse."""
        return self._heads()[0][0] if len(self.outputs) == 1 else None

    def _heads(self) -> list:
        """(fused loss or None, activation function or None) of each output."""
        from .. import activations

        key = (tuple(map(id, self.output_losses)),)
        if getattr(self, "_output_head_cache", None) is None or \
                self._output_head_cache[0] != key:
            heads = []
            for k, loss in enumerate(self.output_losses):
                name = self._output_activation_of(k) if loss is not None else None
                fused = loss.from_logits_of(name) if name else None
                heads.append((fused, activations.get(name) if fused else None))
            self._output_head_cache = (key, heads)
        return self._output_head_cache[1]

    def output_head(self):
        """(fused loss or None, output activation) of the one output (none with several)."""
        return self._heads()[0] if len(self.outputs) == 1 else (None, None)

    def own_step_methods(self, names: tuple = Model.STEP_METHODS) -> list:
        """The methods among ``names`` a subclass of Functional writes itself."""
        return self._differing_from(Functional, names)

    def python_source(self, variable: str = "model", imports: bool = True) -> str:
        """Python code that rebuilds this model (:func:`python_source`)."""
        return python_source(self, variable, imports)

    # -- the steps ------------------------------------------------------------------------
    def compute_loss(self, x, y, training: bool = False, sample_weight=None):
        """(objective, predictions): $\\sum_k \\lambda_k L_k(y_k, \\hat y_k)$ over the
        outputs with a loss (each from its logits when it fuses with the output's
        activation), plus the layers' penalties; the predictions are an array (one
        output) or a list of arrays."""
        xs = x.arrays if isinstance(x, _Columns) else self._structure(x, self.input_names, "x")
        ys = y.arrays if isinstance(y, _Columns) else \
            self._structure(y, self.output_names, "y")
        heads = self._heads()
        fused_positions = {self._output_positions[k] for k, (fused, _) in enumerate(heads)
                           if fused is not None}
        values = self._evaluate([as_tensor(a) for a in xs], training, fused_positions)
        total, predictions, per_output = None, [], []
        for k, position in enumerate(self._output_positions):
            out = values[position]
            loss, (fused, activation) = self.output_losses[k], heads[k]
            if fused is not None:
                term = fused(ys[k], out, sample_weight)
                with no_grad():
                    predictions.append(activation(out.detach()).data)
            else:
                term = None if loss is None else loss(ys[k], out, sample_weight)
                predictions.append(out.data)
            if term is None:
                per_output.append(None)
                continue
            per_output.append(float(term.data))
            weighted = term if self.loss_weights[k] == 1.0 else term * self.loss_weights[k]
            total = weighted if total is None else total + weighted
        self._last_output_losses = per_output
        penalty = self.regularization()
        objective = total if penalty is None else total + penalty
        return objective, (predictions[0] if len(predictions) == 1 else predictions)

    def penalty(self, normalizer: float):
        """The layers' penalties (a functional model's losses add none of their own)."""
        return self.regularization()

    def predict_step(self, x):
        """The outputs for a batch: an array, or a list of arrays with several outputs."""
        xs = x.arrays if isinstance(x, _Columns) else x
        with no_grad():
            out = self(xs, training=False)
        return [o.data for o in out] if isinstance(out, list) else out.data

    def update_metrics(self, y, predictions, loss: float) -> None:
        """Add one batch to the loss trackers (the total and each output's) and the
        metrics of each output."""
        ys = y.arrays if isinstance(y, _Columns) else [y]
        preds = predictions if isinstance(predictions, list) else [predictions]
        n = len(preds[0])
        self.loss_tracker.update_state(loss, n)
        per_output = self._last_output_losses if len(self.outputs) > 1 else []
        for tracker, value in zip(self.output_loss_trackers, per_output):
            if value is not None:
                tracker.update_state(value, n)
        for k, items in enumerate(self.output_metrics):
            for metric in items:
                metric.update_state(ys[k], preds[k])

    def reset_metrics(self) -> None:
        for metric in (self.loss_tracker, *self.output_loss_trackers, *self.metrics):
            metric.reset_state()

    def _logged(self) -> list:
        """(log key, metric) of everything tracked: Keras's names."""
        if len(self.outputs) == 1:
            return [("loss", self.loss_tracker)] + [(m.name, m) for m in self.metrics]
        pairs = [("loss", self.loss_tracker)]
        pairs += [(t.name, t) for t, loss in zip(self.output_loss_trackers,
                                                 self.output_losses) if loss is not None]
        pairs += [(f"{name}_{m.name}", m) for name, items in
                  zip(self.output_names, self.output_metrics) for m in items]
        return pairs

    def metric_results(self) -> dict:
        return {key: m.result() for key, m in self._logged()}

    def _epoch_logs(self, extras: dict) -> dict:
        tracked = {key: m.result() for key, m in self._logged() if m.count}
        return {**{k: m.result() for k, m in extras.items()}, **tracked}

    # -- the loops ------------------------------------------------------------------------
    def _training_source(self, x, y, epochs, batch_size, initial_epoch, validation_split,
                         validation_data, sample_weight, class_weight, shuffle,
                         steps_per_epoch):
        """As :meth:`Model._training_source`; with several inputs or outputs, in-memory
        arrays only (lists or dicts by name), checked whole."""
        if self.single:
            x = self._structure(x, self.input_names, "x")[0]
            y = y if y is None else self._structure(y, self.output_names, "y")[0]
            if validation_data is not None and isinstance(validation_data, (list, tuple)):
                validation_data = (self._structure(validation_data[0], self.input_names,
                                                   "validation_data[0]")[0],
                                   self._structure(validation_data[1], self.output_names,
                                                   "validation_data[1]")[0],
                                   *validation_data[2:])
            return super()._training_source(x, y, epochs, batch_size, initial_epoch,
                                            validation_split, validation_data,
                                            sample_weight, class_weight, shuffle,
                                            steps_per_epoch)
        self._check_compiled("fit")
        check_positive_int(epochs, "epochs")
        batch_size = check_positive_int(32 if batch_size is None else batch_size, "batch_size")
        if steps_per_epoch is not None:
            raise ValueError("fit: steps_per_epoch is for generators; a model with several "
                             "inputs or outputs trains on arrays")
        if class_weight is not None:
            raise ValueError("fit: class_weight is for a single output; give sample_weight")
        if not isinstance(initial_epoch, (int, np.integer)) or not 0 <= initial_epoch < epochs:
            raise ValueError(f"initial_epoch must be an integer in [0, epochs={epochs}); "
                             f"got {initial_epoch!r}")
        if self.optimizer.needs_residuals:
            raise ValueError(f"fit: {type(self.optimizer).__name__} fits the residuals of one "
                             "output; a model with several trains with a gradient optimizer")
        validation_split = check_fraction(validation_split, "validation_split")
        xs = self._x_columns(x)
        ys = self._y_columns(y, len(xs))
        weights = check_sample_weight(sample_weight, len(xs), "sample_weight")
        if validation_data is None and validation_split:
            n_val = int(round(len(xs) * validation_split))
            if not 0 < n_val < len(xs):
                raise ValueError(f"validation_split={validation_split!r} of {len(xs)} samples "
                                 f"holds out {n_val}: training and validation each need at "
                                 "least one sample")
            held = slice(len(xs) - n_val, None)
            validation = (xs[held], ys[held], None if weights is None else weights[held])
            kept = slice(0, len(xs) - n_val)
            xs, ys = xs[kept], ys[kept]
            weights = None if weights is None else weights[kept]
        elif validation_data is not None:
            if not isinstance(validation_data, (list, tuple)) or \
                    len(validation_data) not in (2, 3):
                raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, "
                                 "y_val, sample_weight_val)")
            x_val = self._x_columns(validation_data[0], "validation_data[0]")
            validation = (x_val, self._y_columns(validation_data[1], len(x_val),
                                                 "validation_data[1]"),
                          check_sample_weight(validation_data[2] if len(validation_data) == 3
                                              else None, len(x_val), "validation_data[2]"))
        else:
            validation = None
        return data_adapters.ArrayAdapter(self, xs, ys, weights, batch_size, shuffle), \
            validation

    @checking_keywords
    def evaluate(self, x, y=None, batch_size: int | None = None, verbose: int = 0,
                 return_dict=False, sample_weight=None, steps=None):
        """As :meth:`Model.evaluate`; with several inputs or outputs ``x`` and ``y`` are
        lists or dicts (by name) of arrays, and the result holds ``loss``,
        ``<output>_loss`` and ``<output>_<metric>`` (a list in that order, or a dict).
        ``sample_weight`` (one weight per sample) weights every output's loss."""
        self._check_compiled("evaluate")
        if self.single:   # (Model.evaluate checks verbose)
            x = self._structure(x, self.input_names, "x")[0]
            y = y if y is None else self._structure(y, self.output_names, "y")[0]
            return super().evaluate(x, y, batch_size, verbose, return_dict, sample_weight,
                                    steps)
        verbose = check_verbose(verbose)
        batch_size = check_positive_int(1024 if batch_size is None else batch_size, "batch_size")
        xs = self._x_columns(x)
        ys = self._y_columns(y, len(xs))
        weights = check_sample_weight(sample_weight, len(xs), "sample_weight")
        values = self._evaluate_source(data_adapters.ArrayAdapter(
            self, xs, ys, weights, self._bounded_batch(batch_size), sequential=True),
            verbose)
        if return_dict:
            return values
        return list(values.values())

    def _bounded_batch(self, batch_size: int) -> int:
        from .files import predict_batch_size

        return predict_batch_size(self, batch_size)

    @checking_keywords
    def predict(self, x, batch_size: int | None = None, verbose: int = 0, steps=None):
        """As :meth:`Model.predict`; with several inputs ``x`` is a list or dict (by
        name) of arrays, and with several outputs the result is a list of arrays."""
        if self.single:   # (Model.predict checks verbose)
            return super().predict(self._structure(x, self.input_names, "x")[0], batch_size,
                                   verbose, steps)
        check_verbose(verbose)
        batch_size = check_positive_int(1024 if batch_size is None else batch_size, "batch_size")
        xs = self._x_columns(x)
        adapter = data_adapters.ArrayAdapter(self, xs, None, None,
                                             self._bounded_batch(batch_size), sequential=True)
        _, batches = adapter.epoch(None)
        parts = [self.predict_step(xb) for xb, _, _ in batches]
        parts = [p if isinstance(p, list) else [p] for p in parts]
        outs = [np.concatenate([p[k] for p in parts]) if parts else
                np.empty((0, *t.sample_shape), self.dtype)
                for k, t in enumerate(self.outputs)]
        return outs[0] if len(outs) == 1 else outs

    # -- summary --------------------------------------------------------------------------
    def summary(self, print_fn=print) -> None:
        """The layer table (Keras's for functional models): each node's layer, output
        shape, parameters (counted at a layer's first node) and the layers it reads
        ("Connected to"; ``name[k]`` is the k-th call of a shared layer)."""
        rows = [("Layer (type)", "Output Shape", "Param #", "Connected to")]
        counted: set = set()
        calls: dict = {}  # node position -> the how-manieth call of its layer it is
        uses: dict = {}
        for k, (layer, _, _) in enumerate(self._steps):
            calls[k] = uses.get(id(layer), 0)
            uses[id(layer)] = calls[k] + 1

        def source(j: int) -> str:  # a shared layer's inbound node: name[call]
            layer = self._steps[j][0]
            return layer.name + (f"[{calls[j]}]" if uses[id(layer)] > 1 else "")

        for k, node in enumerate(self._nodes):
            layer = node.layer
            n = 0
            if id(layer) not in counted:
                counted.add(id(layer))
                n = layer.count_params() + sum(a.size for a in layer.state_arrays())
            shape = "(None, " + ", ".join(map(str, node.output.sample_shape)) + ")"
            connected = ", ".join(source(j) for j in self._steps[k][1]) or "-"
            rows.append((f"{layer.name} ({type(layer).__name__})", shape, f"{n:,}",
                         connected))
        widths = [max(len(r[c]) for r in rows) + 3 for c in range(4)]
        line = "=" * sum(widths)
        print_fn(f'Model: "{self.name}"')
        print_fn(line)
        for j, row in enumerate(rows):
            print_fn("".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
            print_fn(line if j == 0 else "-" * sum(widths))
        trainable = sum(layer.count_params() for layer in self.layers)
        total = self.count_params()
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")
        print_fn(f"Inputs: {', '.join(self.input_names)}; outputs: "
                 f"{', '.join(self.output_names)}")
        if self.loss is not None:
            for name, loss, w in zip(self.output_names, self.output_losses,
                                     self.loss_weights):
                if loss is not None:
                    print_fn(f"Loss of {name}: {loss.name} (weight {w:g})")

    # -- configs and files ----------------------------------------------------------------
    def get_config(self) -> dict:
        """The architecture as JSON-serialisable data: the layers (each once) and the
        graph of nodes ``[layer index, [inbound node indices]]`` (see
        :func:`check_graph`)."""
        layer_index = {id(layer): i for i, layer in enumerate(self.layers)}
        nodes = [[layer_index[id(layer)], list(inbound)] for layer, inbound, _ in self._steps]
        return {"name": self.name, "seed": self.seed, "dtype": self.dtype.name,
                "input_shape": None,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers],
                "graph": {"nodes": nodes, "inputs": list(self._input_positions),
                          "outputs": list(self._output_positions)}}

    @classmethod
    def from_config(cls, config: dict) -> "Functional":
        """The model ``get_config`` describes (new weights: load them with
        ``set_weights``); the graph is checked first (:func:`check_graph`)."""
        if not isinstance(config, dict) or not isinstance(config.get("layers"), list):
            raise ValueError("from_config: config must be a dict with a list of layers")
        order = check_graph(config.get("graph"), len(config["layers"]))
        layer_list = []
        for i, spec in enumerate(config["layers"]):
            if not isinstance(spec, dict) or not isinstance(spec.get("config"), dict):
                raise ValueError(f"from_config: layers[{i}] must be {{class_name, config}}")
            layer_list.append(layers_module.get(spec.get("class_name"), spec["config"]))
        return cls.replay(config, layer_list, order)

    @classmethod
    def replay(cls, config: dict, layer_list: list, order: list) -> "Functional":
        """Call the layers on symbolic tensors in the graph's order (a checked graph)."""
        graph = config["graph"]
        nodes = graph["nodes"]
        inputs = set(graph["inputs"])
        tensors: dict = {}
        used_inputs: set = set()
        for i in order:
            layer_index, inbound = nodes[i]
            layer = layer_list[layer_index]
            if isinstance(layer, layers_module.Input):
                if inbound or i not in inputs:
                    raise ValueError(f"graph.nodes[{i}]: an Input layer is a node of "
                                     "graph.inputs and reads nothing")
                if layer_index in used_inputs:
                    raise ValueError(f"graph.nodes[{i}]: the Input layer {layer_index} is "
                                     "used by two nodes")
                used_inputs.add(layer_index)
                tensors[i] = input_node(layer).output
                continue
            if i in inputs:
                raise ValueError(f"graph.inputs lists node {i}, which is not an Input")
            if not inbound:
                raise ValueError(f"graph.nodes[{i}] ({type(layer).__name__}) reads nothing")
            args = [tensors[j] for j in inbound]
            if not isinstance(layer, Merge) and len(args) != 1:
                raise ValueError(f"graph.nodes[{i}] ({type(layer).__name__}) takes one input; "
                                 f"got {len(args)}")
            tensors[i] = layer(args if isinstance(layer, Merge) else args[0])
        model = cls([tensors[j] for j in graph["inputs"]],
                    [tensors[j] for j in graph["outputs"]], seed=config.get("seed"),
                    dtype=config.get("dtype", "float32"), name=config.get("name"))
        if len(model.layers) != len(layer_list):
            raise ValueError(f"graph: {len(layer_list) - len(model.layers)} of the layers "
                             "take no part in the outputs")
        model._layers[:] = layer_list  # the file's order: the weights' order
        return model

    def save(self, file) -> None:
        """Write a model file (as :meth:`Sequential.save`): the graph in the model
        config and, with several outputs, the per-output compile settings."""
        Sequential.save(self, file)

    def _compile_config(self) -> dict:
        """The compile section of a model file for this model's outputs."""
        return {"losses": [None if loss is None else losses.serialize(loss)
                           for loss in self.output_losses],
                "loss_weights": list(self.loss_weights),
                "metrics": [[metrics_module.serialize(m) for m in items]
                            for items in self.output_metrics]}


def python_source(model: Functional, variable: str = "model", imports: bool = True) -> str:
    """Python code that rebuilds the functional ``model`` (and compiles it the same way):
    each layer created once, then called in the graph's order."""
    config = model.get_config()
    lines = ["import nnlearn as nl", ""] if imports else []
    names, taken = {}, {variable, "nl"}
    for i, layer in enumerate(model.layers):
        base = layer.name if layer.name and layer.name.isidentifier() and \
            not keyword.iskeyword(layer.name) else f"layer_{i}"
        name, k = base, 0
        while name in taken:
            k += 1
            name = f"{base}_{k}"
        taken.add(name)
        names[id(layer)] = name
    tensor_names: dict = {}
    for position, (layer, inbound, multiple) in enumerate(model._steps):
        if isinstance(layer, layers_module.Input):
            tensor = names[id(layer)]
            lines.append(f"{tensor} = nl.Input({tuple(layer.shape)!r}, name={layer.name!r})")
            tensor_names[position] = tensor
            continue
        if not any(p < position and model._steps[p][0] is layer
                   for p in range(len(model._steps))):
            lines.append(f"{names[id(layer)]} = nl.layers.{layer!r}")
        tensor, k = f"{names[id(layer)]}_out", 0
        while tensor in taken:
            k += 1
            tensor = f"{names[id(layer)]}_out{k}"
        taken.add(tensor)
        args = [tensor_names[j] for j in inbound]
        call = f"[{', '.join(args)}]" if multiple else args[0]
        lines.append(f"{tensor} = {names[id(layer)]}({call})")
        tensor_names[position] = tensor

    def listed(positions):
        items = [tensor_names[p] for p in positions]
        return items[0] if len(items) == 1 else f"[{', '.join(items)}]"

    lines.append(f"{variable} = nl.Model({listed(model._input_positions)}, "
                 f"{listed(model._output_positions)}, seed={config['seed']!r}, "
                 f"dtype={config['dtype']!r}, name={config['name']!r})")
    if model.loss is not None:
        loss = {name: f"nl.losses.{item!r}" for name, item in
                zip(model.output_names, model.output_losses) if item is not None}
        metrics = {name: [m.name for m in items] for name, items in
                   zip(model.output_names, model.output_metrics) if items}
        weights = dict(zip(model.output_names, model.loss_weights))
        loss_text = "{" + ", ".join(f"{k!r}: {v}" for k, v in loss.items()) + "}"
        lines.append(f"{variable}.compile(optimizer=nl.optimizers.{model.optimizer!r},")
        lines.append(f"    loss={loss_text}, loss_weights={weights!r}"
                     + (f", metrics={metrics!r})" if metrics else ")"))
    return "\n".join(lines) + "\n"


Model.functional_class = Functional  # Model(inputs, outputs) makes one
