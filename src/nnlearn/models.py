"""Models: ``Model`` (subclass it and write ``call``), ``Sequential`` (a stack of layers),
and the training step everything else is built on.

One training step (Rumelhart, Hinton & Williams 1986; mini-batch gradient descent,
Robbins & Monro 1951): the forward pass builds a graph, the engine backpropagates the
loss plus the layers' penalties, the optimizer updates the parameters in place::

    logs = model.train_step(x_batch, y_batch)     # forward, backward, update, metrics
    logs = model.test_step(x_batch, y_batch)      # loss and metrics, no update
    y    = model.predict_step(x_batch)            # outputs, no graph

``fit``, ``evaluate`` and ``predict`` are loops over these steps; callbacks, the progress
bar and the History live in the loops, never in a step.  Override ``train_step`` to
change what one step does (an extra loss term, say) and ``fit`` keeps working.

When a Sequential's output layer is a softmax (sigmoid) and the loss a categorical
(binary) cross-entropy, the loss is computed from the logits in one fused node (gradient
``p - y``; see :mod:`nnlearn.losses`).  A subclassed model fuses by returning logits and
compiling with ``from_logits=True``.  The main job, the MNIST network of Chollet
(2017), ch. 2, is a ``Sequential``.
"""

from __future__ import annotations

import contextlib
import copy
import errno
import hashlib
import inspect
import json
import math
import os
import re
import stat
import struct
import sys
import tempfile
import time
import warnings
import zipfile
import zlib

import numpy as np

from . import activations, losses, metrics as metrics_module, optimizers
from . import layers as layers_module
from ._validation import check_array
from .autograd import Tensor, as_tensor, no_grad
from .callbacks import StopKind, StopReason

__all__ = ["Model", "Sequential", "History", "load_model", "mlp", "python_source"]

FORMAT = "nnlearn-model"
WEIGHTS_FORMAT = "nnlearn-weights"
FORMAT_VERSION = 1


class History:
    """Per-epoch values: ``history["loss"]``, ``history["val_accuracy"]``, ..."""

    def __init__(self):
        self.history: dict = {}
        self.epoch: list = []

    def record(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _positive_int(value, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


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


class Model:
    """A network: subclass it, create layers in ``__init__`` and write
    ``call(x, training)`` (Keras's subclassing style)::

        class TwoLayers(nl.Model):
            def __init__(self):
                super().__init__(seed=0)
                self.hidden = nl.layers.Dense(32, activation="relu")
                self.out = nl.layers.Dense(2, activation="softmax")

            def call(self, x, training=False):
                return self.out(self.hidden(x))

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
        self._input_shape = self._output_shape = None

    def __setattr__(self, name, value):
        """Track the layers assigned as attributes (Keras's subclassing style): a Layer,
        a list, tuple or dict of them, or a nested Model (its layers); an attribute
        assigned again stops tracking what it held."""
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
        return self._layers

    @property
    def params(self) -> list:
        """The trainable Tensors, layer by layer."""
        return [p for layer in self.layers for p in layer.params]

    @property
    def input_shape(self):
        return self._input_shape

    @property
    def output_units(self) -> int:
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

    # -- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        """Choose the optimizer (name, config or instance), the loss (Keras name, Loss
        object or function ``loss(y_true, y_pred)``) and the metrics (names, Metric
        objects or functions)."""
        if loss is None:
            raise ValueError("compile: loss is required, e.g. loss='categorical_crossentropy'")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self.metrics = [metrics_module.get(m, self.loss) for m in (metrics or [])]
        self.loss_tracker = metrics_module.Mean("loss")
        if self.loss.from_logits and self.layers and self.output_activation in ("softmax",
                                                                               "sigmoid"):
            warnings.warn(f"the loss takes logits (from_logits=True) but the output layer "
                          f"applies {self.output_activation}: remove the output activation "
                          "or use from_logits=False", UserWarning, stacklevel=2)

    @property
    def fused_loss(self):
        """The loss as a function of the logits when it fuses with the output activation
        (see :mod:`nnlearn.losses`), else None: the loss is then computed on the outputs."""
        return self._output_head()[0]

    def _output_head(self):
        """(fused loss or None, output activation function): looked up once per loss and
        output layer, not at every step."""
        key = (self.loss, self.layers[-1] if self.layers else None)
        if getattr(self, "_head_key", None) != key:
            name = self.output_activation if self.loss is not None and self.layers else None
            fused = self.loss.from_logits_of(name) if name else None
            self._head_key, self._head = key, (fused, name and activations.get(name))
        return self._head

    def _check_compiled(self, where: str) -> None:
        if self.loss is None:
            raise RuntimeError(f"{where}: call compile(optimizer, loss) first")

    def check_targets(self, y, n: int, argument: str = "y") -> np.ndarray:
        """``y`` as an array, checked against n samples and the loss's kind of target."""
        y = np.asarray(y)
        if y.dtype.kind not in "iubf":
            raise ValueError(f"{argument} must be numeric; got dtype {y.dtype}")
        if len(y) != n:
            raise ValueError(f"x and {argument} must have the same number of samples; got "
                             f"{n} and {len(y)}")
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError(f"{argument} contains NaN or infinity")
        self.loss.check_targets(y, self.output_units, argument)
        return y

    # -- the steps -----------------------------------------------------------------------
    def regularization(self) -> Tensor:
        """The sum of the layers' penalties (a constant 0 when none has one)."""
        penalties = [p for p in (layer.regularization() for layer in self.layers)
                     if p is not None]
        if not penalties:
            return Tensor(np.zeros((), self.dtype))
        total = penalties[0]
        for penalty in penalties[1:]:
            total = total + penalty
        return total

    def compute_loss(self, x, y, training: bool = False):
        """(objective, predictions): the loss of the batch plus the penalty, as a Tensor,
        and the model's outputs as an array."""
        fused, activation = self._output_head()
        if fused is not None:
            logits = self.logits(as_tensor(x), training)
            loss = fused(y, logits)
            with no_grad():
                predictions = activation(logits.detach()).data
        else:
            output = self(x, training)
            loss = self.loss(y, output)
            predictions = output.data
        return loss + self.regularization(), predictions

    def update_metrics(self, y, predictions, loss: float) -> None:
        """Add one batch to the loss tracker and every metric."""
        self.loss_tracker.update_state(loss, len(predictions))
        for metric in self.metrics:
            metric.update_state(y, predictions)

    def reset_metrics(self) -> None:
        for metric in (self.loss_tracker, *self.metrics):
            metric.reset_state()

    def metric_results(self) -> dict:
        """The tracked loss and metrics over the batches seen since the last reset."""
        return {m.name: m.result() for m in (self.loss_tracker, *self.metrics)}

    def train_step(self, x, y) -> dict:
        """One update on a batch: the optimizer calls the closure (forward, loss plus
        penalty, backward) as its method needs, then updates the parameters.  Updates the
        metrics with the outputs of the first evaluation; returns this batch's logs
        (``{"loss": ...}``; an override may add more, which ``fit`` averages)."""
        params = self.params
        predictions = None

        def closure() -> float:
            nonlocal predictions
            objective, outputs = self.compute_loss(x, y, training=True)
            for p in params:
                p.grad = None
            objective.backward()
            if predictions is None:
                predictions = outputs
            return float(objective.data)

        if self.optimizer.needs_residuals:  # Levenberg-Marquardt: r and dr/dw of the batch
            closure.residuals = optimizers.least_squares_residuals(
                self, x, y, self.optimizer.max_jacobian_entries)
        loss = self.optimizer.minimize(params, closure)
        self.update_metrics(y, predictions, loss)
        return {"loss": loss}

    def test_step(self, x, y) -> dict:
        """Loss and metrics on a batch, no update; returns this batch's logs."""
        with no_grad():
            objective, predictions = self.compute_loss(x, y, training=False)
        loss = float(objective.data)
        self.update_metrics(y, predictions, loss)
        return {"loss": loss}

    def predict_step(self, x) -> np.ndarray:
        """The outputs for a batch, without building a graph."""
        with no_grad():
            return self(x, training=False).data

    # -- the loops -----------------------------------------------------------------------
    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_split: float = 0.0,
            validation_data=None, shuffle: bool = True, callbacks=None, verbose: int = 1,
            seed: int | None = None, initial_epoch: int = 0) -> History:
        """Train by mini-batch gradient descent, one ``train_step`` per batch; returns the
        History.

        Parameters
        ----------
        x : array of shape (n_samples, ...)
        y : array of n_samples targets (one-hot rows, integer labels, values)
        epochs, batch_size : int
            With an optimizer that needs the full batch (L-BFGS), every epoch is one
            step on all samples and ``batch_size`` is not used.
        validation_split : float in [0, 1)
            Fraction of the data, taken from the end before shuffling, held out.
        validation_data : (x_val, y_val), optional
        shuffle : bool
            Reshuffle the training samples each epoch.
        callbacks : list of nnlearn.callbacks.Callback, optional
        verbose : 0 silent, 1 progress bar, 2 one line per epoch.
        seed : int, optional
            Seed of the shuffling and of the dropout masks.
        initial_epoch : int
            Epoch to start from, to resume a model loaded from a checkpoint: with the
            same ``seed``, the result equals an uninterrupted run.
        """
        x, y, validation = self._training_data(x, y, epochs, batch_size, initial_epoch,
                                               validation_split, validation_data)
        callbacks = list(callbacks or [])
        for callback in callbacks:
            callback.set_model(self)
        history = History()
        self.stop_training, self.stop_reason = False, None
        entropy = np.random.SeedSequence(seed).entropy  # fixed per fit when seed is None
        for callback in callbacks:
            callback.on_train_begin({})
        for epoch in range(initial_epoch, epochs):
            # Every epoch's randomness derives from (seed, epoch): training resumed at
            # initial_epoch=k replays epochs k.. exactly as an uninterrupted run would.
            epoch_seed = np.random.SeedSequence([entropy, epoch])
            for callback in callbacks:
                callback.on_epoch_begin(epoch, {})
            batches = self.batch_indices(len(x), batch_size, shuffle, epoch_seed)
            bar = _ProgressBar(len(batches), epoch, epochs, verbose)
            logs = self._train_epoch(x, y, batches, epoch_seed, callbacks, bar)
            if validation is not None and not self.stop_training:
                values = self.evaluate(*validation, batch_size=max(batch_size, 1024),
                                       return_dict=True)
                logs.update({f"val_{k}": v for k, v in values.items()})
            bar.close(logs)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            history.record(epoch, logs)
            if self.stop_training:
                if verbose and self.stop_reason:
                    print(f"Stopped after epoch {epoch + 1}: {self.stop_reason}")
                break
        for callback in callbacks:
            callback.on_train_end({})
        self.history = history
        return history

    def _training_data(self, x, y, epochs, batch_size, initial_epoch, validation_split,
                       validation_data):
        """fit's arguments checked: (x, y, (x_val, y_val) or None)."""
        self._check_compiled("fit")
        _positive_int(epochs, "epochs")
        _positive_int(batch_size, "batch_size")
        if not isinstance(initial_epoch, (int, np.integer)) or not 0 <= initial_epoch < epochs:
            raise ValueError(f"initial_epoch must be an integer in [0, epochs={epochs}); "
                             f"got {initial_epoch!r}")
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1); got {validation_split!r}")
        x = check_array(x, "x", dtype=self.dtype, allow_nd=True)
        self.check_input(x)
        y = self.check_targets(y, len(x))
        if validation_data is None and validation_split:
            n_val = int(round(len(x) * validation_split))
            if not 0 < n_val < len(x):
                raise ValueError(f"validation_split={validation_split!r} of {len(x)} samples "
                                 f"holds out {n_val}: training and validation each need at "
                                 "least one sample")
            x, y, validation_data = x[:-n_val], y[:-n_val], (x[-n_val:], y[-n_val:])
        if validation_data is not None:
            x_val = check_array(validation_data[0], "validation_data[0]", dtype=self.dtype,
                                allow_nd=True)
            self.check_input(x_val)
            validation_data = (x_val, self.check_targets(validation_data[1], len(x_val),
                                                         "validation_data[1]"))
        return x, y, validation_data

    def batch_indices(self, n: int, batch_size: int, shuffle: bool, epoch_seed) -> list:
        """The epoch's batches as index arrays (or slices) into the n training samples;
        ``[None]`` (all samples, in order) for an optimizer that needs the full batch.
        Override to draw batches another way (the estimators replay scikit-learn's
        shuffling)."""
        if self.optimizer.full_batch:
            return [None]
        order = np.random.default_rng(epoch_seed).permutation(n) if shuffle else np.arange(n)
        return [order[start:start + batch_size] for start in range(0, n, batch_size)]

    def _train_epoch(self, x, y, batches, epoch_seed, callbacks, bar) -> dict:
        """One ``train_step`` per batch; the epoch's logs: the loss and metrics tracked
        with ``update_metrics``, and the sample-weighted mean over the batches of anything
        else the steps returned (the step's own ``loss`` when it tracked none)."""
        self._reseed_layers(epoch_seed)
        self.reset_metrics()
        extras: dict = {}
        for step, index in enumerate(batches):
            xb, yb = (x, y) if index is None else (x[index], y[index])
            logs = self.train_step(xb, yb)
            for key, value in logs.items():
                extras.setdefault(key, metrics_module.Mean(key)).update_state(value, len(xb))
            if bar.active:
                bar.update(step + 1, self._epoch_logs(extras))
            for callback in callbacks:
                callback.on_batch_end(step, logs)
            if self.stop_training:
                break
        return self._epoch_logs(extras)

    def _epoch_logs(self, extras: dict) -> dict:
        tracked = {m.name: m.result() for m in (self.loss_tracker, *self.metrics) if m.count}
        return {**{k: m.result() for k, m in extras.items()}, **tracked}

    def stop(self, reason: StopReason | str | None = None) -> None:
        """Ask ``fit`` to stop at the end of the current epoch (used by callbacks); a
        plain string is a StopReason of kind REQUESTED."""
        if isinstance(reason, str):
            reason = StopReason(StopKind.REQUESTED, reason)
        self.stop_training, self.stop_reason = True, reason

    def _reseed_layers(self, seed_sequence) -> None:
        for i, layer in enumerate(self.layers):
            layer.reseed(np.random.SeedSequence([seed_sequence.entropy,
                                                 *seed_sequence.spawn_key, i]))

    def predict(self, x, batch_size: int = 1024, verbose: int = 0) -> np.ndarray:
        """The outputs for x, one ``predict_step`` per batch (1024 samples by default:
        larger batches spend less time in Python per sample); verbose=1 shows progress."""
        _positive_int(batch_size, "batch_size")
        x = check_array(x, "x", dtype=self.dtype, allow_nd=True)
        self.check_input(x)
        starts = range(0, len(x), batch_size)
        bar = _ProgressBar(len(starts), None, None, verbose)
        parts = []
        for step, start in enumerate(starts):
            parts.append(self.predict_step(x[start:start + batch_size]))
            bar.update(step + 1, {})
        bar.close({})
        return np.concatenate(parts) if parts else np.empty((0, self.output_units), self.dtype)

    def evaluate(self, x, y, batch_size: int = 1024, verbose: int = 0, return_dict=False):
        """The loss and the metrics on (x, y), one ``test_step`` per batch: a float when
        there are no metrics, else a list ``[loss, metric...]`` (or a dict with
        ``return_dict=True``).  verbose=1 shows progress."""
        self._check_compiled("evaluate")
        _positive_int(batch_size, "batch_size")
        x = check_array(x, "x", dtype=self.dtype, allow_nd=True)
        self.check_input(x)
        y = self.check_targets(y, len(x))
        starts = range(0, len(x), batch_size)
        bar = _ProgressBar(len(starts), None, None, verbose)
        self.reset_metrics()
        for step, start in enumerate(starts):
            self.test_step(x[start:start + batch_size], y[start:start + batch_size])
            if bar.active:
                bar.update(step + 1, self.metric_results())
        values = self.metric_results()
        bar.close(values)
        if return_dict:
            return values
        return values["loss"] if len(values) == 1 else list(values.values())

    # -- weights -------------------------------------------------------------------------
    def _weight_arrays(self) -> list:
        """The arrays behind the weights, in get_weights' order (not copies)."""
        self._build_if_shape_known()
        arrays = []
        for layer in self.layers:
            arrays += [p.data for p in layer.params]
            arrays += layer.state_arrays()
        return arrays

    def get_weights(self) -> list:
        """Copies of the weights: layer by layer, kernel before bias (Keras's order);
        BatchNormalization gives gamma, beta, moving mean, moving variance."""
        return [w.copy() for w in self._weight_arrays()]

    def set_weights(self, weights) -> None:
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
        return sum(w.size for w in self._weight_arrays())

    def summary(self, print_fn=print) -> None:
        """Print the layer table with output shapes and parameter counts, and how the
        loss is computed."""
        self._build_if_shape_known()
        rows = [("Layer (type)", "Output Shape", "Param #")]
        trainable = 0
        for i, layer in enumerate(self.layers):
            if isinstance(layer, layers_module.Input):
                continue
            name = layer.name or f"{type(layer).__name__.lower()}_{i}"
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
        _write_archive(file, {"format": WEIGHTS_FORMAT, "version": FORMAT_VERSION}, arrays)

    def load_weights(self, file) -> None:
        """Read weights written by :meth:`save_weights` (or a model file's weights); the
        file's declared shapes are checked against this model's before anything is read
        (see :func:`load_model` for the checks)."""
        self._check_built("load_weights")
        expected = [a.shape for a in self._weight_arrays()]
        _, arrays, _ = _read_archive(file, (WEIGHTS_FORMAT, FORMAT), lambda manifest, where:
                                     _check_weight_shapes(expected, manifest, where))
        self.set_weights(_numbered(arrays, "weight_"))

    def save(self, file) -> None:
        raise TypeError(f"{type(self).__name__}.save: only a Sequential model can be saved "
                        "with its architecture; save_weights(path) saves the weights")


class Sequential(Model):
    """A stack of layers, each feeding the next (the Keras model of the main job).

    ``layers`` (a list of Layer) come first; ``seed``, ``dtype``, ``name`` and the
    attributes are :class:`Model`'s.  ``nnlearn train`` keeps the feature names, the
    scaling and the class labels in ``metadata``, saved with the model file.
    """

    def __init__(self, layers=None, seed: int | None = None, dtype="float32",
                 name: str = "sequential"):
        super().__init__(seed=seed, dtype=dtype, name=name)
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"add: expected a Layer; got {type(layer).__name__}")
        if self.built:
            raise RuntimeError("add: the model is already built; create a new Sequential")
        self._layers.append(layer)

    @property
    def input_shape(self):
        first = self.layers[0] if self.layers else None
        if isinstance(first, layers_module.Input):
            return first.shape
        if isinstance(first, layers_module.Dense) and first.input_dim:
            return (first.input_dim,)
        return self.layers[0].input_shape if self.built else None

    @property
    def output_units(self) -> int:
        return int(np.prod(self.layers[-1].output_shape))

    def build(self, input_shape) -> None:
        """Create every layer's weights for samples of ``input_shape`` (no batch axis)."""
        if not self.layers:
            raise ValueError("the model has no layers")
        rng = np.random.default_rng(self.seed)
        shape = tuple(input_shape)
        for layer in self.layers:
            layer.build(shape, rng, self.dtype)
            shape = layer.output_shape
        self.built = True

    def call(self, x, training=False):
        if not self.built:  # a Sequential nested in another model builds on first use
            self.build(x.shape[1:])
        out = x
        for layer in self.layers:
            out = layer.call(out, training)
        return out

    @property
    def output_activation(self):
        last = self.layers[-1] if self.layers else None
        if isinstance(last, (layers_module.Dense, layers_module.Activation)):
            return activations.registered_name(last.activation)
        return None

    def logits(self, x, training=False):
        out = x
        for layer in self.layers[:-1]:
            out = layer.call(out, training)
        last = self.layers[-1]
        if isinstance(last, layers_module.Dense):
            return last.pre_activation(out)
        return out  # an Activation layer: its input is the logits

    # -- model files ---------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name, "seed": self.seed, "dtype": self.dtype.name,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    def save(self, file) -> None:
        """Write one file (a path or a binary file object): a JSON manifest
        (architecture, compile settings, SHA-256 of every array) and the weights and
        optimizer state as .npy arrays in a zip.  No pickle.  A path is written to a
        temporary file, fsynced and renamed, so a crash never leaves a half-written model;
        a symlink is written through, the file's mode is kept and a read-only file is
        refused (PermissionError).  ``metadata`` must be a JSON-serialisable dict."""
        if not isinstance(self.metadata, dict):
            raise TypeError(f"model.metadata must be a dict; got {type(self.metadata).__name__}")
        arrays = {f"weight_{i}": w for i, w in enumerate(self.get_weights())}
        manifest = {"format": FORMAT, "version": FORMAT_VERSION, "model": self.get_config(),
                    "compile": None, "metadata": self.metadata}
        if self.loss is not None:
            manifest["compile"] = {
                "loss": losses.serialize(self.loss),
                "metrics": [metrics_module.serialize(m) for m in self.metrics],
                "optimizer": optimizers.serialize(self.optimizer),
                "iterations": self.optimizer.iterations,
            }
            for i, s in enumerate(self.optimizer.get_state()):
                arrays[f"optimizer_{i}"] = s
        _write_archive(file, manifest, arrays)


# -- model files ------------------------------------------------------------------------------
# A model file is a zip of .npy arrays (np.savez; nnlearn never compresses them) and a JSON
# manifest.  Reading checks, before anything large is read or allocated: the zip's central
# directory (its size), every entry (name, compression, sizes against the file), the
# manifest (its size, then a declared schema), every .npy header (dtype, and shape against
# the entry's size), the declared shapes against the architecture; only then are the
# arrays read, each into a buffer of exactly its checked size, and checksummed.  Whatever
# does not match is refused with a ValueError naming the file and the field (what the
# safetensors format does, with a cap on the header and sizes checked before reading).
MAX_MANIFEST_BYTES = 4 * 2**20      # the JSON manifest
MAX_MODEL_BYTES = 4 * 2**30         # all arrays of one file together, uncompressed
MAX_DIRECTORY_BYTES = 2**20         # the zip's central directory (some 20,000 entries)
MAX_EXPANSION = 16                  # a compressed entry may expand at most this much
_NPY_HEADER_BYTES = 4096
_ARRAY_KEY = r"(weight|optimizer)_(0|[1-9][0-9]{0,5})"
_ENTRY = re.compile(rf"(manifest|{_ARRAY_KEY})\.npy")
_FLOAT_DTYPES = {np.dtype(t).newbyteorder(o).str for t in ("f2", "f4", "f8") for o in "<>"}
_TEMP_PREFIX = ".nnlearn-"
_STARTED = time.time()              # temporary files older than this process are stale


def _checksum(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a)).hexdigest()


def _write_archive(file, manifest: dict, arrays: dict) -> None:
    """``arrays`` and a JSON ``manifest`` (with each array's shape, dtype and SHA-256) as
    one .npz, to a path (see :func:`_save_atomically`) or a binary file object."""
    manifest = {**manifest, "arrays": {k: {"shape": list(a.shape), "dtype": a.dtype.str,
                                           "sha256": _checksum(a)} for k, a in arrays.items()}}
    try:
        text = json.dumps(manifest, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise TypeError(f"cannot write the model file: {_unserialisable(manifest)} is not "
                        f"JSON-serialisable ({err})") from None
    data = text.encode()
    if len(data) > MAX_MANIFEST_BYTES:
        raise ValueError(f"cannot write the model file: its manifest (architecture and "
                         f"metadata) takes {len(data):,} bytes; load_model reads at most "
                         f"{MAX_MANIFEST_BYTES:,}")
    total = sum(a.nbytes for a in arrays.values())
    if total > MAX_MODEL_BYTES:
        raise ValueError(f"cannot write the model file: its arrays take {total:,} bytes; "
                         f"load_model reads at most {MAX_MODEL_BYTES:,}")
    arrays = {**arrays, "manifest": np.frombuffer(data, dtype=np.uint8)}
    if hasattr(file, "write"):
        np.savez(file, **arrays)
        return
    _save_atomically(os.fspath(file), lambda f: np.savez(f, **arrays))


def _save_atomically(path: str, write) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, fsync it and rename it over
    ``path``, so that a crash leaves the old file or the new one, never half of one.

    A symlink is written through (its target is replaced); an existing file keeps its
    mode (a new one gets the umask's default, as ``open`` would give it); a read-only
    destination is refused with PermissionError.  The temporary file is removed when
    anything fails, and temporary files that killed processes left in the directory are
    removed by the next save."""
    target = os.path.realpath(path)
    directory = os.path.dirname(target)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, f"{path} is a directory", path)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError(f"{path} is not a regular file; not overwritten")
        if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
            raise PermissionError(errno.EACCES, f"{path} is read-only; not overwritten "
                                  "(make it writable or choose another path)", path)
    mode = stat.S_IMODE(st.st_mode) if st is not None else 0o666 & ~_umask()
    _remove_stale_temporaries(directory)
    fd, tmp = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{os.getpid()}-", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
                if st is not None and hasattr(os, "fchown") and \
                        (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(OSError):
                        os.fchown(f.fileno(), st.st_uid, st.st_gid)
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _umask() -> int:
    """The process's umask, read without changing it where the system says it."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: set and restore (not thread-safe, but brief)
    os.umask(mask)
    return mask


def _fsync_directory(directory: str) -> None:
    """Make the rename durable (POSIX; a no-op where directories cannot be opened)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_stale_temporaries(directory: str) -> None:
    """Remove the temporary files of saves that never finished (a process killed while
    writing): named ``.nnlearn-<pid>-*.tmp``, last written before this process started,
    and not written by a process that is still running."""
    with contextlib.suppress(OSError):
        with os.scandir(directory) as entries:
            for entry in entries:
                name = entry.name
                if not (name.startswith(_TEMP_PREFIX) and name.endswith(".tmp")):
                    continue
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    if not stat.S_ISREG(st.st_mode) or st.st_mtime >= _STARTED:
                        continue
                    writer = re.match(rf"{re.escape(_TEMP_PREFIX)}([0-9]+)-", name)
                    pid = int(writer.group(1)) if writer else None
                    if pid is not None and pid != os.getpid() and _running(pid):
                        continue
                    os.unlink(entry.path)


def _running(pid: int) -> bool:
    if os.name != "posix":  # os.kill(pid, 0) is not a probe on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (OSError, OverflowError):
        return True
    return True


def _unserialisable(manifest: dict) -> str:
    """Which part of a manifest JSON cannot hold: a layer's config entry or the metadata."""
    for spec in manifest.get("model", {}).get("layers", []):
        for key, value in spec["config"].items():
            try:
                json.dumps(value, allow_nan=False)
            except (TypeError, ValueError):
                return f"{spec['class_name']} layer's {key}={value!r}"
    return "model.metadata"


# -- reading: the zip ---------------------------------------------------------------------------
def _unreadable(where: str, why, kind: str = "nnlearn model file") -> ValueError:
    return ValueError(f"{where} is not a readable {kind} ({why})")


@contextlib.contextmanager
def _open_archive(file):
    """(zip, {entry key: ZipInfo}, where) of a model file whose directory and entries
    were checked; nothing but the directory has been read."""
    with _open_zip(file) as (archive, size, where):
        yield archive, _check_entries(archive, size, where), where


@contextlib.contextmanager
def _open_zip(file, kind: str = "nnlearn model file"):
    """(zip, file size, where) of a zip whose central directory is at most
    MAX_DIRECTORY_BYTES and whose entries lie inside the file without overlapping
    (also what :mod:`nnlearn.datasets.tabular` reads .npz data through)."""
    where = _where(file)
    if hasattr(file, "read"):
        fp, own = file, False
    else:
        if not os.path.exists(where):
            raise FileNotFoundError(f"no such {kind.replace('nnlearn ', '')}: {where}")
        if os.path.isdir(where):
            raise IsADirectoryError(f"{where} is a directory, not a {kind}")
        fp, own = open(where, "rb"), True
    try:
        try:
            size = fp.seek(0, os.SEEK_END)
            fp.seek(0)
        except (OSError, AttributeError, ValueError) as err:
            raise ValueError(f"{where}: a file object must be seekable ({err})") from None
        _check_end_record(fp, size, where, kind)
        try:
            archive = zipfile.ZipFile(fp)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError,
                NotImplementedError, struct.error) as err:
            raise _unreadable(where, f"truncated or corrupted? {err}", kind) from None
        with archive:
            _check_extents(archive, size, where, kind)
            yield archive, size, where
    finally:
        if own:
            fp.close()


def _check_end_record(fp, size: int, where: str, kind: str) -> None:
    """Find the zip's end record as zipfile does and refuse a central directory larger
    than MAX_DIRECTORY_BYTES before zipfile reads it (each entry costs memory)."""
    tail_size = min(size, 22 + 65535)
    fp.seek(size - tail_size)
    tail = fp.read(tail_size)
    fp.seek(0)
    if len(tail) >= 22 and tail[-22:-18] == b"PK\x05\x06" and tail[-2:] == b"\0\0":
        start = len(tail) - 22
    else:
        start = tail.rfind(b"PK\x05\x06")
    if start < 0 or len(tail) - start < 22:
        raise _unreadable(where, "not a zip archive: truncated, or not a model"
                          if kind == "nnlearn model file" else "not a zip archive", kind)
    *_, directory_size, _, _ = struct.unpack("<4s4H2LH", tail[start:start + 22])
    if directory_size == 0xFFFFFFFF and start >= 20 and tail[start - 20:start - 16] == \
            b"PK\x06\x07":  # zip64: the sizes are in the zip64 end record
        _, _, offset, _ = struct.unpack("<4sLQL", tail[start - 20:start])
        if offset + 56 <= size:
            fp.seek(offset)
            record = fp.read(56)
            fp.seek(0)
            if len(record) == 56 and record[:4] == b"PK\x06\x06":
                directory_size = struct.unpack("<4sQ2H2L4Q", record)[7]
    if directory_size > MAX_DIRECTORY_BYTES:
        raise ValueError(f"{where}: the zip directory declares {directory_size:,} bytes; a "
                         f"model file's takes at most {MAX_DIRECTORY_BYTES:,}")


def _check_entries(archive: zipfile.ZipFile, size: int, where: str) -> dict:
    """{key: ZipInfo} after checking each entry's name, compression and sizes (from the
    zip directory, against the file's size and the caps)."""
    entries, total = {}, 0
    for info in archive.infolist():
        name = info.filename
        if not _ENTRY.fullmatch(name):
            raise ValueError(f"{where}: unexpected entry {name[:100]!r} (a model file holds "
                             "only manifest.npy, weight_N.npy and optimizer_N.npy)")
        if name[:-4] in entries:
            raise ValueError(f"{where}: entry {name!r} appears twice")
        if info.flag_bits & 0x1:
            raise ValueError(f"{where}: entry {name!r} is encrypted")
        if info.compress_type == zipfile.ZIP_STORED:
            if info.compress_size != info.file_size:
                raise ValueError(f"{where}: entry {name!r} is stored with {info.compress_size:,}"
                                 f" bytes but declares {info.file_size:,}")
        elif info.compress_type == zipfile.ZIP_DEFLATED:
            if info.file_size > MAX_EXPANSION * info.compress_size + _NPY_HEADER_BYTES:
                raise ValueError(f"{where}: entry {name!r} declares {info.file_size:,} bytes "
                                 f"from {info.compress_size:,} compressed (more than "
                                 f"{MAX_EXPANSION}x: a zip bomb?)")
        else:
            raise ValueError(f"{where}: entry {name!r} uses an unsupported compression "
                             f"(method {info.compress_type})")
        total += info.file_size
        entries[name[:-4]] = info
    if "manifest" not in entries:
        raise _unreadable(where, "no manifest.npy: not a model file")
    if entries["manifest"].file_size > MAX_MANIFEST_BYTES + _NPY_HEADER_BYTES:
        raise ValueError(f"{where}: the manifest declares {entries['manifest'].file_size:,} "
                         f"bytes; at most {MAX_MANIFEST_BYTES:,} are read")
    if total > MAX_MODEL_BYTES + MAX_MANIFEST_BYTES:
        raise ValueError(f"{where}: the arrays declare {total:,} bytes in all; a model file "
                         f"holds at most {MAX_MODEL_BYTES:,}")
    return entries


def _check_extents(archive: zipfile.ZipFile, size: int, where: str, kind: str) -> None:
    """Every entry (local header and data) lies inside the file, before the directory,
    and no two overlap: the arrays' total size is bounded by the file's (an "overlapping
    entries" bomb makes one stored block count as thousands of arrays)."""
    end, previous = 0, None
    directory = getattr(archive, "start_dir", size)
    for info in sorted(archive.infolist(), key=lambda i: i.header_offset):
        if info.header_offset < end:
            raise ValueError(f"{where}: entries {previous!r} and {info.filename!r} overlap")
        archive.fp.seek(info.header_offset)
        header = archive.fp.read(30)
        if len(header) != 30 or header[:4] != b"PK\x03\x04":
            raise _unreadable(where, f"truncated or corrupted? no local header for entry "
                                     f"{info.filename!r}", kind)
        name_length, extra_length = struct.unpack("<HH", header[26:30])
        end = info.header_offset + 30 + name_length + extra_length + info.compress_size
        if end > min(size, directory):
            raise _unreadable(where, f"truncated: entry {info.filename!r} extends past the "
                                     "end of its data", kind)
        previous = info.filename
    archive.fp.seek(0)


class _Npy:
    """A checked .npy header: the array it announces fills its zip entry exactly."""

    def __init__(self, info, shape, fortran, dtype, offset):
        self.info, self.shape, self.fortran, self.dtype = info, shape, fortran, dtype
        self.offset = offset

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


def _npy_header(archive, info, where: str, dtypes) -> _Npy:
    """The header of one .npy entry, checked: a plain dtype among ``dtypes`` (a set of
    dtype strings, or (test, description)) and a shape whose size is exactly what the
    entry holds (nothing is allocated for it)."""
    name = info.filename
    try:
        with archive.open(info) as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                header = np.lib.format.read_array_header_1_0(f, _NPY_HEADER_BYTES)
            elif version == (2, 0):
                header = np.lib.format.read_array_header_2_0(f, _NPY_HEADER_BYTES)
            else:
                raise ValueError(f"npy format version {version} is not supported")
            offset = f.tell()
    except (ValueError, TypeError, SyntaxError, MemoryError, OSError, EOFError, RuntimeError,
            NotImplementedError, zipfile.BadZipFile, zlib.error, struct.error) as err:
        raise ValueError(f"{where}: entry {name!r} has no valid .npy header "
                         f"({' '.join(str(err).split())[:200]})") from None
    shape, fortran, dtype = header
    test, expected = dtypes if isinstance(dtypes, tuple) else \
        (dtypes.__contains__, " or ".join(sorted(dtypes)))
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or \
            not test(dtype.str):
        raise ValueError(f"{where}: entry {name!r} holds dtype {dtype.str!r}; expected "
                         f"{expected}")
    if len(shape) > 32 or any(n < 0 for n in shape):
        raise ValueError(f"{where}: entry {name!r} declares an invalid shape {shape}")
    npy = _Npy(info, tuple(shape), bool(fortran), dtype, offset)
    if offset + npy.nbytes != info.file_size:
        raise ValueError(f"{where}: entry {name!r} declares an array of shape {npy.shape} "
                         f"({npy.nbytes:,} bytes) but holds {info.file_size - offset:,} bytes")
    return npy


def _npy_data(archive, npy: _Npy, where: str, kind: str = "nnlearn model file") -> np.ndarray:
    """The array of a checked header, read in chunks into a buffer of its size."""
    flat = np.empty(math.prod(npy.shape), npy.dtype)
    raw = flat.view(np.uint8)
    try:
        with archive.open(npy.info) as f:
            f.read(npy.offset)
            done = 0
            while done < len(raw):
                chunk = f.read(min(len(raw) - done, 2**20))
                if not chunk:
                    raise EOFError("the entry ends early")
                raw[done:done + len(chunk)] = np.frombuffer(chunk, np.uint8)
                done += len(chunk)
            f.read(1)  # reach the end: zipfile checks the CRC there
    except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError) as err:
        raise _unreadable(where, f"truncated or corrupted? entry {npy.info.filename!r}: "
                                 f"{err}", kind) from None
    return flat.reshape(npy.shape, order="F" if npy.fortran else "C")


# -- reading: the manifest and its schema -------------------------------------------------------
class _Schema:
    """A check of one JSON value: ``test(value)`` and what it expects, in words."""

    def __init__(self, description: str, test):
        self.description, self.test = description, test


def _integer(low=None, high=None, description="an integer") -> _Schema:
    return _Schema(description, lambda v: isinstance(v, int) and not isinstance(v, bool)
                   and (low is None or v >= low) and (high is None or v <= high))


def _one_of(values) -> _Schema:
    return _Schema(" or ".join(map(repr, values)), lambda v: isinstance(v, str) and v in values)


class _MapOf:
    """A JSON object whose keys match ``pattern`` and whose values follow ``schema``."""

    def __init__(self, pattern: str, schema):
        self.pattern, self.schema = re.compile(pattern), schema


_NUMBER = _Schema("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
_SIZE = _integer(1, description="a positive integer")
_SHAPE = [_integer(0, description="a non-negative integer")]
_IDENTIFIED = {"class_name": str, "config": dict}   # {"class_name": ..., "config": {...}}
_ARRAYS = _MapOf(_ARRAY_KEY, {"shape": _SHAPE, "dtype": _one_of(sorted(_FLOAT_DTYPES)),
                             "sha256": _Schema("64 hexadecimal digits", lambda v: isinstance(
                                 v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None)})
_WEIGHTS_MANIFEST = {"format": str, "version": int, "arrays": _ARRAYS}
_MODEL_MANIFEST = {
    **_WEIGHTS_MANIFEST, "metadata?": dict,
    "model": {"name": str, "seed": (None, int), "dtype": _one_of(["float16", "float32",
                                                                "float64"]),
              "input_shape": (None, [_SIZE]),
              "layers": [{"class_name": _one_of(sorted(layers_module.LAYERS)),
                          "config": dict}]},
    "compile?": (None, {"loss": _IDENTIFIED, "metrics": [str], "optimizer": _IDENTIFIED,
                        "iterations": _integer(0, description="a non-negative integer")}),
}
# the types of layer constructor arguments (a layer's config is checked against its
# constructor's signature: these keys, the required ones present, nothing else)
_LAYER_ARGUMENTS = {
    "units": _SIZE, "activation": (None, str), "use_bias": bool,
    "kernel_initializer": (str, _IDENTIFIED), "bias_initializer": (str, _IDENTIFIED),
    "alpha_initializer": (str, _IDENTIFIED), "kernel_regularizer": (None, dict),
    "input_dim": (None, _SIZE), "name": (None, str), "shape": [_SIZE], "rate": _NUMBER,
    "seed": (None, int), "momentum": _NUMBER, "epsilon": _NUMBER,
}


def _describe(schema) -> str:
    if isinstance(schema, _Schema):
        return schema.description
    if isinstance(schema, tuple):
        return " or ".join(_describe(s) for s in schema)
    if isinstance(schema, list):
        return "a list"
    if isinstance(schema, (dict, _MapOf)) or schema is dict:
        return "an object"
    return {None: "null", str: "a string", int: "an integer", bool: "true or false",
            list: "a list"}.get(schema, str(schema))


def _matches(value, schema) -> bool:
    if schema is None:
        return value is None
    if schema is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(schema, type):
        return isinstance(value, schema)
    if isinstance(schema, _Schema):
        return schema.test(value)
    if isinstance(schema, tuple):
        return any(_matches(value, s) for s in schema)
    if isinstance(schema, list):
        return isinstance(value, list)
    return isinstance(value, dict)  # dict schemas and _MapOf: the keys are checked next


def _check(value, schema, field: str, where: str) -> None:
    """Raise ValueError naming ``where`` and ``field`` when ``value`` does not follow
    ``schema`` (a type, None, a _Schema, a tuple of alternatives, [item schema],
    {key: schema} with optional keys ending in "?", or a _MapOf)."""
    if isinstance(schema, tuple):  # alternatives: the one whose kind matches decides
        for alternative in schema:
            if _matches(value, alternative):
                return _check(value, alternative, field, where)
    if not _matches(value, schema):
        raise ValueError(f"{where}: {field} must be {_describe(schema)}; got "
                         f"{_short(value)}")
    if isinstance(schema, list):
        for i, item in enumerate(value):
            _check(item, schema[0], f"{field}[{i}]", where)
    elif isinstance(schema, _MapOf):
        for key, item in value.items():
            if not schema.pattern.fullmatch(key):
                raise ValueError(f"{where}: {field} has an unexpected key {key[:100]!r} "
                             f"(expected keys like {schema.pattern.pattern!r})")
            _check(item, schema.schema, f"{field}.{key}", where)
    elif isinstance(schema, dict):
        keys = {k.rstrip("?"): k.endswith("?") for k in schema}
        unknown = [k for k in value if k not in keys]
        if unknown:
            raise ValueError(f"{where}: {field or 'the manifest'} has an unexpected key "
                             f"{unknown[0][:100]!r} (expected {', '.join(keys)})")
        for key, optional in keys.items():
            if key in value:
                _check(value[key], schema[key + "?" if optional else key],
                       f"{field}.{key}" if field else key, where)
            elif not optional:
                raise ValueError(f"{where}: {field + ' ' if field else ''}misses the key "
                                 f"{key!r}")


def _short(value) -> str:
    if isinstance(value, (dict, list)):
        return f"a JSON {'object' if isinstance(value, dict) else 'list'}"
    text = repr(value) if not isinstance(value, int) or abs(value) < 10**30 else "a huge int"
    return text if len(text) <= 60 else text[:57] + "..."


def _json_object(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise ValueError(f"duplicate key {next(k for k in keys if keys.count(k) > 1)!r}")
    return dict(pairs)


def _json_constant(name):
    raise ValueError(f"{name} is not allowed")


def _read_manifest(archive, entries: dict, where: str, formats: tuple) -> dict:
    """The manifest, parsed and checked against ``schema`` (and against the entries: one
    per declared array, of the declared shape and dtype)."""
    npy = _npy_header(archive, entries["manifest"], where, {"|u1"})
    if len(npy.shape) != 1 or npy.nbytes > MAX_MANIFEST_BYTES:
        raise ValueError(f"{where}: the manifest must be at most {MAX_MANIFEST_BYTES:,} bytes "
                         f"of JSON; got an array of shape {npy.shape}")
    try:
        text = _npy_data(archive, npy, where).tobytes().decode("utf-8")
        manifest = json.loads(text, object_pairs_hook=_json_object,
                              parse_constant=_json_constant)
    except RecursionError:
        raise ValueError(f"{where}: the manifest nests too deeply") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise _unreadable(where, f"its manifest is not JSON: {str(err)[:200]}") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{where}: the manifest must be a JSON object; got {_short(manifest)}")
    if manifest.get("format") not in formats:
        raise _unreadable(where, f"not an nnlearn file of format {' or '.join(formats)}: "
                                 f"format is {_short(manifest.get('format'))}")
    _check(manifest, _MODEL_MANIFEST if manifest["format"] == FORMAT else _WEIGHTS_MANIFEST,
           "", where)
    if not 1 <= manifest["version"] <= FORMAT_VERSION:
        raise ValueError(f"{where}: format version {_short(manifest['version'])} is not "
                         f"one this nnlearn reads (1 to {FORMAT_VERSION}): a newer nnlearn "
                         "wrote it?")
    for prefix in ("weight_", "optimizer_"):
        numbers = sorted(int(k[len(prefix):]) for k in manifest["arrays"] if k.startswith(prefix))
        if numbers != list(range(len(numbers))):
            raise ValueError(f"{where}: arrays: the {prefix}N arrays must be numbered 0 to "
                             f"{len(numbers) - 1}")
    listed = set(manifest["arrays"])
    stray = sorted(set(entries) - listed - {"manifest"})
    if stray:
        raise ValueError(f"{where}: entry {stray[0]}.npy is not listed in the manifest")
    return manifest


def _array_headers(archive, entries: dict, manifest: dict, where: str) -> dict:
    """{key: checked .npy header} of every declared array, matching its declaration."""
    headers = {}
    for key, declared in manifest["arrays"].items():
        if key not in entries:
            raise ValueError(f"{where}: arrays.{key} is declared but the file has no {key}.npy")
        npy = _npy_header(archive, entries[key], where, _FLOAT_DTYPES)
        if list(npy.shape) != declared["shape"] or npy.dtype.str != declared["dtype"]:
            raise ValueError(f"{where}: arrays.{key}: the manifest declares shape "
                             f"{tuple(declared['shape'])} {declared['dtype']}; {key}.npy holds "
                             f"{npy.shape} {npy.dtype.str}")
        headers[key] = npy
    return headers


def _read_archive(file, formats: tuple, check=None):
    """(manifest, arrays, check's result) of a file written by :func:`_write_archive` of
    one of ``formats``.  ``check(manifest, where)`` runs after the manifest and every
    array header are checked and before any array is read.  Never unpickles; a damaged,
    altered or hostile file raises ValueError naming the file and the field."""
    with _open_archive(file) as (archive, entries, where):
        manifest = _read_manifest(archive, entries, where, formats)
        headers = _array_headers(archive, entries, manifest, where)
        checked = check(manifest, where) if check is not None else None
        arrays = {}
        for key, npy in headers.items():
            a = _npy_data(archive, npy, where)
            if _checksum(a) != manifest["arrays"][key]["sha256"]:
                raise ValueError(f"{where}: array {key!r} does not match its checksum: the "
                                 "file was altered or damaged")
            arrays[key] = a
    return manifest, arrays, checked


def _numbered(arrays: dict, prefix: str) -> list:
    return [arrays[f"{prefix}{i}"] for i in range(sum(1 for k in arrays
                                                      if k.startswith(prefix)))]


def _declared_weights(manifest: dict) -> list:
    count = sum(1 for k in manifest["arrays"] if k.startswith("weight_"))
    return [tuple(manifest["arrays"][f"weight_{i}"]["shape"]) for i in range(count)]


def _check_weight_shapes(expected: list, manifest: dict, where: str) -> None:
    """The declared weights must be exactly the architecture's (before any is read)."""
    declared = _declared_weights(manifest)
    if len(declared) != len(expected):
        raise ValueError(f"{where}: arrays: the architecture has {len(expected)} weight "
                         f"arrays; the file declares {len(declared)}")
    for i, (want, have) in enumerate(zip(expected, declared)):
        if tuple(want) != have:
            raise ValueError(f"{where}: arrays.weight_{i}: the architecture needs shape "
                             f"{tuple(want)}; the file declares {have}")


def _weight_shapes(layer, shape: tuple):
    """(weight shapes in get_weights' order, output shape) of ``layer`` built on samples
    of ``shape``, computed without building it; None for a class it does not know."""
    kind = type(layer)
    if kind is layers_module.Dense:
        if len(shape) != 1:
            raise ValueError(f"Dense expects flat samples; got sample shape {shape}")
        return ([(shape[0], layer.units)] + ([(layer.units,)] if layer.use_bias else []),
                (layer.units,))
    if kind is layers_module.BatchNormalization:
        return [shape] * 4, shape
    if kind is layers_module.PReLU:
        return [shape], shape
    if kind in (layers_module.Input, layers_module.Activation, layers_module.Dropout,
                layers_module.Flatten):
        return [], layer.compute_output_shape(shape)
    return None


def _expected_weights(layer_list: list, input_shape) -> list:
    """The weight shapes a Sequential of ``layer_list`` gets when built on ``input_shape``
    (a layer of an unknown class is built, on its own, to find out)."""
    shapes, shape = [], tuple(input_shape)
    for layer in layer_list:
        known = _weight_shapes(layer, shape)
        if known is None:
            probe = copy.deepcopy(layer)
            probe.build(shape, np.random.default_rng(0), np.float32)
            known = ([p.data.shape for p in probe.params]
                     + [a.shape for a in probe.state_arrays()], probe.output_shape)
        weights, shape = known
        shapes += weights
        shape = tuple(shape)
    return shapes


def _layers_from(manifest: dict, where: str) -> list:
    """The layers of a model manifest, each config checked against its class's
    constructor before the layer is created (creating one allocates nothing)."""
    layer_list = []
    for i, spec in enumerate(manifest["model"]["layers"]):
        cls, config = layers_module.LAYERS[spec["class_name"]], spec["config"]
        field = f"model.layers[{i}].config"
        schema = {}
        for name, p in inspect.signature(cls.__init__).parameters.items():
            if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                key = name if p.default is p.empty else f"{name}?"
                schema[key] = _LAYER_ARGUMENTS.get(name, _Schema("a JSON value",
                                                                 lambda v: True))
        _check(config, schema, field, where)
        try:
            layer_list.append(layers_module.get(spec["class_name"], config))
        except (TypeError, ValueError, KeyError, OverflowError) as err:
            raise ValueError(f"{where}: {field} ({spec['class_name']}): {err}") from None
    return layer_list


def _model_from(manifest: dict, where: str):
    """The unbuilt Sequential a model manifest describes, and the shape it is built on;
    its weights' shapes are checked against the declared arrays (nothing is allocated
    for a weight the file does not hold)."""
    config = manifest["model"]
    layer_list = _layers_from(manifest, where)
    try:
        model = Sequential(layer_list, seed=config["seed"], dtype=config["dtype"],
                           name=config["name"])
        shape = config["input_shape"] or model.input_shape
        expected = _expected_weights(layer_list, shape) if shape else []
    except (TypeError, ValueError, OverflowError) as err:
        raise ValueError(f"{where}: model: {err}") from None
    _check_weight_shapes(expected, manifest, where)
    return model, shape


def load_model(file) -> Sequential:
    """Read a model written by :meth:`Sequential.save` (a path or a binary file object).

    Never unpickles anything.  Everything is checked before it is used, and before
    anything large is read or allocated: a truncated, corrupted, altered or hostile file
    raises ValueError naming the file and the field (see MAX_MODEL_BYTES and the other
    caps in this module)."""
    manifest, arrays, (model, shape) = _read_archive(file, (FORMAT,), _model_from)
    where = _where(file)
    try:
        if shape:
            model.build(shape)
        model.set_weights(_numbered(arrays, "weight_"))
    except (TypeError, ValueError, KeyError, OverflowError) as err:
        raise ValueError(f"{where}: model: {err}") from None
    compiled = manifest.get("compile")
    if compiled:
        try:
            model.compile(optimizer=compiled["optimizer"], loss=compiled["loss"],
                          metrics=compiled["metrics"])
        except (TypeError, ValueError, KeyError, AttributeError, OverflowError) as err:
            raise ValueError(f"{where}: compile: {err}") from None
        try:
            model.optimizer.set_state(model.params, _numbered(arrays, "optimizer_"),
                                      compiled["iterations"])
        except (TypeError, ValueError, IndexError, KeyError, OverflowError) as err:
            raise ValueError(f"{where}: the optimizer state does not fit the model: "
                             f"{err}") from None
    elif any(k.startswith("optimizer_") for k in arrays):
        raise ValueError(f"{where}: arrays: optimizer state without a compile section")
    model.metadata = manifest.get("metadata", {})
    return model


def _where(file) -> str:
    if hasattr(file, "read"):
        return str(getattr(file, "name", None) or "the file object")
    return os.fspath(file)


# -- the multilayer perceptron, built once for everyone --------------------------------------
def mlp(n_inputs: int, hidden, n_outputs: int, activation="relu", output_activation=None,
        *, kernel_regularizer=None, dropout: float = 0.0, batch_normalization: bool = False,
        kernel_initializer="glorot_uniform", seed: int | None = None, dtype="float32",
        name: str = "mlp") -> Sequential:
    """A multilayer perceptron (Rumelhart, Hinton & Williams 1986): ``n_inputs`` ->
    Dense(h, activation) for each h in ``hidden`` (each optionally followed by
    BatchNormalization and Dropout) -> Dense(n_outputs, output_activation).

    The estimators, the ``nnlearn train`` command and the playground all build their
    networks here.  ``kernel_regularizer`` applies to every Dense layer's kernel.
    """
    hidden = [hidden] if isinstance(hidden, (int, np.integer)) else list(hidden)
    for units in [n_inputs, *hidden, n_outputs]:
        _positive_int(units, "layer sizes")
    if not 0 <= dropout < 1:
        raise ValueError(f"dropout must be in [0, 1); got {dropout!r}")
    stack = [layers_module.Input(int(n_inputs))]
    for units in hidden:
        stack.append(layers_module.Dense(int(units), activation=activation,
                                         kernel_regularizer=kernel_regularizer,
                                         kernel_initializer=kernel_initializer))
        if batch_normalization:
            stack.append(layers_module.BatchNormalization())
        if dropout:
            stack.append(layers_module.Dropout(dropout))
    stack.append(layers_module.Dense(int(n_outputs), activation=output_activation,
                                     kernel_regularizer=kernel_regularizer,
                                     kernel_initializer=kernel_initializer))
    return Sequential(stack, seed=seed, dtype=dtype, name=name)


def python_source(model: Sequential, variable: str = "model", imports: bool = True) -> str:
    """Python code that builds ``model`` (and compiles it the same way), generated from
    its config: the playground's export, and a readable record of any Sequential."""
    config = model.get_config()
    if model.loss is not None:
        losses.serialize(model.loss)  # a custom loss has no code to write: clear error
    lines = ["import nnlearn as nl", ""] if imports else []
    lines.append(f"{variable} = nl.Sequential([")
    lines += [f"    nl.layers.{layer!r}," for layer in model.layers]
    name = "" if config["name"] == "sequential" else f", name={config['name']!r}"
    lines.append(f"], seed={config['seed']!r}, dtype={config['dtype']!r}{name})")
    if model.loss is not None:
        metrics = [m.name for m in model.metrics]
        lines.append(f"{variable}.compile(optimizer=nl.optimizers.{model.optimizer!r},")
        lines.append(f"    loss=nl.losses.{model.loss!r}"
                     + (f", metrics={metrics!r})" if metrics else ")"))
    return "\n".join(lines) + "\n"


class _ProgressBar:
    """Keras-style progress: ``469/469 [=====] - 2s - loss: 0.2524 - accuracy: 0.9273``.

    verbose=1 draws a live bar with tqdm when it is installed and the output is a
    terminal; otherwise (and with verbose=2) one line per epoch is printed.  ``epoch`` is
    None for evaluate and predict."""

    def __init__(self, steps: int, epoch, epochs, verbose: int):
        self.steps, self.verbose, self.start = steps, verbose, time.perf_counter()
        self.bar = None
        if verbose and epoch is not None:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        if verbose == 1:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=steps, file=sys.stdout, ascii=".>=", ncols=100,
                            bar_format="{n_fmt}/{total_fmt} [{bar:30}] - {elapsed_s:.0f}s - "
                                       "{desc}", disable=None, leave=True)

    @property
    def active(self) -> bool:
        """Whether a live bar is drawn (the loops skip computing its logs otherwise)."""
        return self.bar is not None and not self.bar.disable

    @staticmethod
    def _format(logs: dict) -> str:
        return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())

    def update(self, step: int, logs: dict) -> None:
        if self.active:
            self.bar.set_description_str(self._format(logs), refresh=False)
            self.bar.update(1)

    def close(self, logs: dict) -> None:
        if self.active:
            self.bar.set_description_str(self._format(logs), refresh=True)
            self.bar.close()
        elif self.verbose:
            seconds = time.perf_counter() - self.start
            line = f"{self.steps}/{self.steps} - {seconds:.0f}s"
            print(f"{line} - {self._format(logs)}" if logs else line, flush=True)
