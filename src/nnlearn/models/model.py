"""The model: ``Model`` (subclass it and write ``call``), its layers, weights and files;
the training loop it inherits is :class:`nnlearn.models.trainer.Trainer`.

This module is long because ``Model`` is one class: Keras's model API (layers, build, call,
weights, summary, save) on one object, each method short.
"""

from __future__ import annotations

import importlib

import numpy as np

from .. import layers as layers_module
from ..autograd import Tensor, as_tensor, no_grad
from .files import (FORMAT, FORMAT_VERSION, WEIGHTS_FORMAT, check_weight_shapes, numbered,
                    read_archive, write_archive)
from .trainer import Trainer


_PLAIN = (int, float, bool, str, type(None))  # values that hold no layer


def _layers_in(value) -> list:
    """The layers an attribute holds: itself, its items, or a nested model's layers."""
    if isinstance(value, layers_module.Layer):
        return [value]
    if isinstance(value, Model):
        return list(value.layers)
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return [layer for item in value for layer in _layers_in(item)]
    return []


# Export formats: the module (above the models, it imports them) and its function. The
# models name it here rather than import it, so the dependency points one way only.
EXPORT_FORMATS = {"onnx": ("nnlearn.interop.onnx", "save_onnx")}


class Model(Trainer):
    """A network: subclass it, create layers in ``__init__`` and write
    ``call(x, training)`` (Keras's subclassing style)::

        class TwoLayers(nl.Model):
            def __init__(self):
                super().__init__(seed=0)
                self.hidden = nl.layers.Dense(32, activation="relu")
                self.out = nl.layers.Dense(2, activation="softmax")

            def call(self, x, training=False):
                return self.out(self.hidden(x))

    ``nl.Model(inputs, outputs)`` on symbolic tensors (``nl.Input``) is a functional
    model instead: a graph of layers (:class:`nnlearn.models.functional.Functional`).

    Layers assigned as attributes (or in lists) are tracked: their parameters are the
    model's, built on the first batch.  ``compile``, ``fit``, ``evaluate``, ``predict``,
    ``get_weights``/``set_weights`` and ``save_weights``/``load_weights`` then work as
    for ``Sequential``.

    Parameters
    ----------
    seed : int, optional
        Seed of the weight initializers (and of Dropout layers without their own seed).
    dtype : str
        Floating dtype of parameters and computation (float32 by default).
    name : str

    Attributes
    ----------
    stop_training : bool, stop_reason : StopReason or None
        Set by :meth:`stop` (callbacks use it); ``fit`` resets them.
    metadata : dict
        Free JSON-serialisable information saved with the model.
    """

    #: The class ``Model(inputs, outputs)`` makes: set by :mod:`nnlearn.models.functional`,
    #: which builds on this one (so this module need not import it).
    functional_class = None

    def __new__(cls, *args, **kwargs):
        """``Model(inputs, outputs)`` on symbolic tensors (``nl.Input``) is a functional
        model (:class:`nnlearn.models.functional.Functional`, as Keras's ``Model`` does);
        ``Model()`` and subclasses are the subclassing style."""
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            return super().__new__(Model.functional_class)
        return super().__new__(cls)

    def __init__(self, seed: int | None = None, dtype="float32", name: str | None = None):
        object.__setattr__(self, "_layers", [])
        self.seed = seed
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a floating dtype; got {dtype!r}")
        self.name = name or type(self).__name__.lower()
        self.built = False
        self.optimizer = None
        self.loss = None
        self.metrics: list = []
        self.metadata: dict = {}
        self.stop_training, self.stop_reason = False, None
        self.loss_evaluations = 0  # times the training loss was evaluated (closure calls)
        self._input_shape = self._output_shape = None

    def __setattr__(self, name, value):
        """Track the layers assigned as attributes (Keras's subclassing style): a Layer,
        a list, tuple or dict of them, or a nested Model (its layers); an attribute
        assigned again stops tracking what it held."""
        if type(value) in _PLAIN and type(self.__dict__.get(name)) in _PLAIN:
            return object.__setattr__(self, name, value)  # a number or a flag: no layers
        if "_layers" not in self.__dict__:
            if _layers_in(value):
                raise RuntimeError(f"{type(self).__name__}: call super().__init__() before "
                                   "assigning layers")
            return object.__setattr__(self, name, value)
        for layer in _layers_in(self.__dict__.get(name)):
            if not any(layer is other for key, held in self.__dict__.items()
                       if key not in (name, "_layers") for other in _layers_in(held)):
                self._layers[:] = [known for known in self._layers if known is not layer]
        self._layers.extend(layer for layer in _layers_in(value)
                            if not any(layer is known for known in self._layers))
        object.__setattr__(self, name, value)

    # -- structure -----------------------------------------------------------------------
    @property
    def layers(self) -> list:
        """The layers, in the order they were added or assigned."""
        return self._layers

    @property
    def params(self) -> list:
        """The trainable Tensors, layer by layer."""
        return [p for layer in self.layers for p in layer.params]

    @property
    def input_shape(self):
        """The shape of one sample (no batch axis), once known."""
        return self._input_shape

    @property
    def output_units(self) -> int:
        """The number of output values per sample."""
        return int(np.prod(self._output_shape))

    def build(self, input_shape) -> None:
        """Create every layer's weights by running one zero sample of ``input_shape`` (no
        batch axis) through ``call``."""
        shape = tuple(int(n) for n in input_shape)
        with layers_module.building(np.random.default_rng(self.seed), self.dtype), no_grad():
            out = self.call(Tensor(np.zeros((1, *shape), self.dtype)), training=False)
        self._input_shape, self._output_shape = shape, tuple(out.shape[1:])
        self.built = True

    def _build_if_shape_known(self) -> None:
        if not self.built and self.input_shape is not None:
            self.build(self.input_shape)

    def check_input(self, x: np.ndarray) -> None:
        """Raise a clear ValueError when samples ``x`` do not fit the model; build it
        for them when it is not built yet."""
        expected = self.input_shape
        if expected is not None and tuple(x.shape[1:]) != tuple(expected):
            raise ValueError(f"x: expected samples of shape {tuple(expected)} "
                             f"({int(np.prod(expected))} features); got {x.shape[1:]}")
        if not self.built:
            self.build(x.shape[1:])

    # -- forward -------------------------------------------------------------------------
    def call(self, x: Tensor, training: bool = False) -> Tensor:
        """The output for a batch (rows are samples).  Subclasses define it."""
        raise NotImplementedError(f"{type(self).__name__} must define call(x, training)")

    def __call__(self, x, training: bool = False) -> Tensor:
        return self.call(as_tensor(x), training)

    @property
    def output_activation(self) -> str | None:
        """The registered name of the output layer's activation when ``logits`` can
        leave it out (used to fuse it with the loss); None otherwise."""
        return None

    def logits(self, x: Tensor, training: bool = False) -> Tensor:
        """The output before ``output_activation`` (only when that is not None)."""
        raise NotImplementedError

    # -- the steps -----------------------------------------------------------------------
    def regularization(self) -> Tensor | None:
        """The sum of the layers' penalties, added to the loss; None when no layer has
        one (as :meth:`Layer.regularization`), so no node is added to the graph."""
        penalties = [p for p in (layer.regularization() for layer in self.layers)
                     if p is not None]
        if not penalties:
            return None
        total = penalties[0]
        for penalty in penalties[1:]:
            total = total + penalty
        return total

    # -- weights -------------------------------------------------------------------------
    def _weight_arrays(self) -> list:
        """The arrays behind the weights, in get_weights' order (not copies)."""
        self._build_if_shape_known()
        arrays = []
        for layer in self.layers:
            arrays += [p.data for p in layer.params]
            arrays += layer.state_arrays()
        return arrays

    STEP_METHODS = ("compute_loss", "call", "logits", "train_step", "regularization")

    def own_step_methods(self, names: tuple = STEP_METHODS) -> list:
        """The methods among ``names`` (the parts of the training step by default) that
        this model's class writes itself, differing from this base class's: the planner
        leaves such a model to the engine, which runs whatever they do."""
        return self._differing_from(Model, names)

    def _differing_from(self, base, names: tuple) -> list:
        kind = type(self)
        return [name for name in names if getattr(kind, name) is not getattr(base, name, None)]

    def get_weights(self) -> list:
        """Copies of the weights: layer by layer, kernel before bias (Keras's order);
        BatchNormalization gives gamma, beta, moving mean, moving variance."""
        return [w.copy() for w in self._weight_arrays()]

    def set_weights(self, weights) -> None:
        """Copy ``weights`` (get_weights' order and shapes) into the model."""
        targets = self._weight_arrays()
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(f"set_weights: the model has {len(targets)} weight arrays; "
                             f"got {len(weights)}")
        for i, (target, w) in enumerate(zip(targets, weights)):
            w = np.asarray(w)
            if w.shape != target.shape:
                raise ValueError(f"set_weights: weights[{i}] must have shape {target.shape}; "
                                 f"got {w.shape}")
        for target, w in zip(targets, weights):
            target[...] = w

    def count_params(self) -> int:
        """The number of weights, trainable and not."""
        return sum(w.size for w in self._weight_arrays())

    def summary(self, print_fn=print) -> None:
        """Print the layer table with output shapes and parameter counts, and how the
        loss is computed."""
        self._build_if_shape_known()
        rows = [("Layer (type)", "Output Shape", "Param #")]
        trainable, seen = 0, {}
        for layer in self.layers:
            if isinstance(layer, layers_module.Input):
                continue
            kind = type(layer).__name__.lower()
            seen[kind] = seen.get(kind, 0) + 1  # dense_1, dense_2, dropout_1, ...
            name = layer.name or f"{kind}_{seen[kind]}"
            shape = ("(None, " + ", ".join(map(str, layer.output_shape)) + ")"
                     if layer.built else "(unbuilt)")
            n = layer.count_params() + sum(a.size for a in layer.state_arrays())
            trainable += layer.count_params()
            rows.append((f"{name} ({type(layer).__name__})", shape, f"{n:,}"))
        widths = [max(len(r[k]) for r in rows) + 3 for k in range(3)]
        line = "=" * sum(widths)
        print_fn(f'Model: "{self.name}"')
        print_fn(line)
        for j, row in enumerate(rows):
            print_fn("".join(cell.ljust(w) for cell, w in zip(row, widths)))
            print_fn(line if j == 0 else "-" * sum(widths))
        total = self.count_params() if self.built else 0
        print_fn(f"Total params: {total:,}")
        print_fn(f"Trainable params: {trainable:,}")
        print_fn(f"Non-trainable params: {total - trainable:,}")
        if self.loss is not None:
            if self.fused_loss is not None:
                how = f"from the logits of the {self.output_activation} output (fused)"
            elif self.loss.from_logits:
                how = "from the outputs, taken as logits (from_logits=True)"
            else:
                how = "on the outputs (not fused)"
            print_fn(f"Loss: {self.loss.name}, computed {how}")

    def _check_built(self, where: str) -> None:
        self._build_if_shape_known()
        if not self.built:
            raise RuntimeError(f"{where}: the model is not built yet; call "
                               "model.build(sample_shape) or run it on data first")

    def save_weights(self, file) -> None:
        """Write the weights alone (a path or a binary file object), with a checksum per
        array; :meth:`load_weights` reads them into a model of the same architecture."""
        self._check_built("save_weights")
        arrays = {f"weight_{i}": w for i, w in enumerate(self.get_weights())}
        write_archive(file, {"format": WEIGHTS_FORMAT, "version": FORMAT_VERSION}, arrays)

    def load_weights(self, file) -> None:
        """Read weights written by :meth:`save_weights` (or a model file's weights); the
        file's declared shapes are checked against this model's before anything is read
        (see :func:`load_model` for the checks)."""
        self._check_built("load_weights")
        expected = [a.shape for a in self._weight_arrays()]
        _, arrays, _ = read_archive(file, (WEIGHTS_FORMAT, FORMAT), lambda manifest, where:
                                     check_weight_shapes(expected, manifest, where))
        self.set_weights(numbered(arrays, "weight_"))

    def export(self, path, format: str = "onnx", opset: int | None = None) -> None:
        """Write the model for another runtime: ``format="onnx"`` writes an ONNX graph
        (onnxruntime, browsers, phones, C++; needs the ``onnx`` extra) with input
        ``"input"`` and output ``"output"``, what :meth:`predict` gives; ``opset`` the
        ONNX operator set (see :func:`nnlearn.interop.onnx.to_onnx`)."""
        if format not in EXPORT_FORMATS:
            raise ValueError(f"export: format must be one of {sorted(EXPORT_FORMATS)}; got "
                             f"{format!r}")
        module, function = EXPORT_FORMATS[format]
        getattr(importlib.import_module(module), function)(self, path, opset)

    def save(self, file) -> None:
        """Only a Sequential saves its architecture; use save_weights here."""
        raise TypeError(f"{type(self).__name__}.save: only a Sequential model can be saved "
                        "with its architecture; save_weights(path) saves the weights")
