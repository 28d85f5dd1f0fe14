"""The Keras-style model: ``Sequential`` with compile / fit / evaluate / predict
(seed 004's MNIST network), History, summary, weights and model files.

Training is mini-batch gradient descent (seed 000): for each batch, the forward pass
builds a graph, the engine backpropagates the loss (plus the layers' regularization
penalties), and the optimizer updates the parameters in place.  When the last layer is a
softmax (sigmoid) and the loss a cross-entropy, the loss is computed from the logits in
one fused node (gradient ``p - y``, seed 001).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
import time
import zipfile

import numpy as np

from . import layers as layers_module, losses, metrics as metrics_module, optimizers
from ._validation import check_array
from .autograd import as_tensor, no_grad

__all__ = ["Sequential", "History", "load_model"]

FORMAT = "nnlearn-model"
FORMAT_VERSION = 1


class History:
    """Per-epoch values: ``history["loss"]``, ``history["val_accuracy"]``, ..."""

    def __init__(self):
        self.history: dict = {}
        self.epoch: list = []

    def _record(self, epoch: int, logs: dict) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _as_samples(x, name: str, dtype) -> np.ndarray:
    """x as a finite float array of samples (n_samples, ...) in the model's dtype."""
    return check_array(x, name, dtype=dtype, allow_nd=True)


class Sequential:
    """A stack of layers, each feeding the next.

    Parameters
    ----------
    layers : list of Layer, optional
    seed : int, optional
        Seed of the weight initializers (and of Dropout layers without their own seed).
    dtype : str
        Floating dtype of parameters and computation (float32 by default).
    name : str

    Attributes
    ----------
    metadata : dict
        Free JSON-serialisable information saved with the model (``nnlearn train`` keeps
        the feature names, the scaling and the class labels there).
    """

    def __init__(self, layers=None, seed: int | None = None, dtype="float32",
                 name: str = "sequential"):
        self.layers: list = []
        self.seed = seed
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a floating dtype; got {dtype!r}")
        self.name = name
        self.built = False
        self.optimizer = None
        self.loss = None
        self.metrics: list = []
        self.metadata: dict = {}
        for layer in layers or []:
            self.add(layer)

    # -- structure -----------------------------------------------------------------------
    def add(self, layer) -> None:
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"add: expected a Layer; got {type(layer).__name__}")
        if self.built:
            raise RuntimeError("add: the model is already built; create a new Sequential")
        self.layers.append(layer)

    @property
    def input_shape(self):
        first = self.layers[0] if self.layers else None
        if isinstance(first, layers_module.Input):
            return first.shape
        if isinstance(first, layers_module.Dense) and first.input_dim:
            return (first.input_dim,)
        return self.layers[0].input_shape if self.built else None

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

    def _build_if_shape_known(self) -> None:
        if not self.built and self.input_shape is not None:
            self.build(self.input_shape)

    def _ensure_built(self, x: np.ndarray) -> None:
        expected = self.input_shape
        if expected is not None and tuple(x.shape[1:]) != tuple(expected):
            raise ValueError(f"x: expected samples of shape {tuple(expected)} "
                             f"({int(np.prod(expected))} features); got {x.shape[1:]}")
        if not self.built:
            self.build(x.shape[1:])

    @property
    def params(self) -> list:
        """The trainable Tensors, layer by layer."""
        return [p for layer in self.layers for p in layer.params]

    @property
    def output_units(self) -> int:
        return int(np.prod(self.layers[-1].output_shape))

    # -- forward -------------------------------------------------------------------------
    def _final_activation(self):
        last = self.layers[-1]
        return getattr(last, "activation", None)

    def _forward(self, x, training: bool, logits: bool = False):
        """The output for a batch; with ``logits=True``, the last layer's activation is
        left out (used with a fused loss)."""
        out = as_tensor(x)
        for layer in self.layers[:-1]:
            out = layer.call(out, training)
        last = self.layers[-1]
        if logits:
            if isinstance(last, layers_module.Dense):
                return last.pre_activation(out)
            return out  # an Activation layer: its input is the logits
        return last.call(out, training)

    def __call__(self, x, training: bool = False):
        return self._forward(x, training)

    # -- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        """Choose the optimizer (name, config or instance), the loss (Keras name or
        callable ``loss(y_true, y_pred)``) and the metrics (names)."""
        if loss is None:
            raise ValueError("compile: loss is required, e.g. loss='categorical_crossentropy'")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        self.metrics = [metrics_module.get(m, self.loss) for m in (metrics or [])]

    def _loss_from_logits(self):
        if not self.layers:
            return None
        return losses.fused(self.loss, self._final_activation())

    def _check_compiled(self, where: str) -> None:
        if self.loss is None:
            raise RuntimeError(f"{where}: call compile(optimizer, loss) first")

    def _check_targets(self, y, n: int, name: str = "y") -> np.ndarray:
        y = np.asarray(y)
        if y.dtype.kind not in "iubf":
            raise ValueError(f"{name} must be numeric; got dtype {y.dtype}")
        if len(y) != n:
            raise ValueError(f"x and {name} must have the same number of samples; got "
                             f"{n} and {len(y)}")
        if y.dtype.kind == "f" and not np.all(np.isfinite(y)):
            raise ValueError(f"{name} contains NaN or infinity")
        units = self.output_units
        if self.loss is losses.sparse_categorical_crossentropy:
            labels = y.reshape(n, -1)[:, 0] if y.ndim > 1 else y
            if labels.size and (labels.min() < 0 or labels.max() >= units
                                or np.any(labels != np.round(labels))):
                raise ValueError(f"{name}: labels must be integers in [0, {units}) for the "
                                 f"output layer of {units} units; got values from "
                                 f"{labels.min()} to {labels.max()}")
        elif self.loss is losses.categorical_crossentropy:
            if y.ndim != 2 or y.shape[1] != units:
                hint = (" (integer labels: use loss='sparse_categorical_crossentropy' or "
                        "nnlearn.utils.to_categorical)" if y.ndim == 1 else "")
                raise ValueError(f"{name} must be one-hot of shape (n, {units}) for "
                                 f"categorical_crossentropy; got {y.shape}{hint}")
        return y

    # -- training ------------------------------------------------------------------------
    def _batch_loss(self, xb, yb, training: bool):
        """(loss Tensor, predictions ndarray) for one batch."""
        fused = self._loss_from_logits()
        if fused is not None:
            logits = self._forward(xb, training, logits=True)
            loss = fused(yb, logits)
            with no_grad():
                predictions = self._final_activation()(logits.detach()).data
        else:
            output = self._forward(xb, training)
            loss = self.loss(yb, output)
            predictions = output.data
        return loss, predictions

    def _regularization(self):
        total = 0.0
        for layer in self.layers:
            penalty = layer.regularization()
            if not isinstance(penalty, float):
                total = total + penalty
        return total

    def fit(self, x, y, epochs: int = 1, batch_size: int = 32, validation_split: float = 0.0,
            validation_data=None, shuffle: bool = True, callbacks=None, verbose: int = 1,
            seed: int | None = None, initial_epoch: int = 0) -> History:
        """Train by mini-batch gradient descent; returns the History.

        Parameters
        ----------
        x : array of shape (n_samples, ...)
        y : array of n_samples targets (one-hot rows, integer labels, values)
        epochs, batch_size : int
        validation_split : float in [0, 1)
            Fraction of the data, taken from the end before shuffling, held out.
        validation_data : (x_val, y_val), optional
        shuffle : bool
            Reshuffle the training samples each epoch.
        callbacks : list of nnlearn.callbacks.Callback, optional
        initial_epoch : int
            Epoch to start from, to resume a model loaded from a checkpoint: with the
            same ``seed``, the result equals an uninterrupted run.
        verbose : 0 silent, 1 progress bar, 2 one line per epoch.
        seed : int, optional
            Seed of the shuffling and of the dropout masks.
        """
        self._check_compiled("fit")
        for name, value in (("epochs", epochs), ("batch_size", batch_size)):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer; got {value!r}")
        if not 0 <= validation_split < 1:
            raise ValueError(f"validation_split must be in [0, 1); got {validation_split!r}")
        x = _as_samples(x, "x", self.dtype)
        self._ensure_built(x)
        y = self._check_targets(y, len(x))
        if validation_data is None and validation_split:
            n_val = int(round(len(x) * validation_split))
            x, y, validation_data = x[:-n_val], y[:-n_val], (x[-n_val:], y[-n_val:])
        if validation_data is not None:
            x_val = _as_samples(validation_data[0], "validation_data[0]", self.dtype)
            self._ensure_built(x_val)
            y_val = self._check_targets(validation_data[1], len(x_val), "validation_data[1]")
        if self.optimizer._state is None:
            self.optimizer.build(self.params)
        if not isinstance(initial_epoch, (int, np.integer)) or not 0 <= initial_epoch < epochs:
            raise ValueError(f"initial_epoch must be an integer in [0, epochs={epochs}); "
                             f"got {initial_epoch!r}")

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
            self._reseed_layers(epoch_seed)
            for callback in callbacks:
                callback.on_epoch_begin(epoch, {})
            bar = _ProgressBar(-(-len(x) // batch_size), epoch, epochs, verbose)
            if isinstance(self.optimizer, optimizers.LBFGS):
                logs = self._lbfgs_epoch(x, y, callbacks, bar)
            else:
                order = (np.random.default_rng(epoch_seed).permutation(len(x)) if shuffle
                         else np.arange(len(x)))
                logs = self._minibatch_epoch(x, y, order, batch_size, callbacks, bar)
            if validation_data is not None and not self.stop_training:
                values = self.evaluate(x_val, y_val, batch_size=max(batch_size, 1024),
                                       verbose=0, return_dict=True)
                logs.update({f"val_{k}": v for k, v in values.items()})
            bar.close(logs)
            for callback in callbacks:
                callback.on_epoch_end(epoch, logs)
            history._record(epoch, logs)
            if self.stop_training:
                if verbose and self.stop_reason:
                    print(f"Stopped after epoch {epoch + 1}: {self.stop_reason}")
                break
        for callback in callbacks:
            callback.on_train_end({})
        self.history = history
        return history

    def stop(self, reason: str | None = None) -> None:
        """Ask ``fit`` to stop at the end of the current epoch (used by callbacks)."""
        self.stop_training, self.stop_reason = True, reason

    def _reseed_layers(self, seed_sequence) -> None:
        for i, layer in enumerate(self.layers):
            if hasattr(layer, "reseed"):
                layer.reseed(np.random.SeedSequence([seed_sequence.entropy,
                                                     *seed_sequence.spawn_key, i]))

    def _step_loss(self, xb, yb):
        """Forward and backward on one batch: (objective Tensor, predictions)."""
        loss, predictions = self._batch_loss(xb, yb, training=True)
        penalty = self._regularization()
        objective = loss if isinstance(penalty, float) else loss + penalty
        for p in self.params:
            p.grad = None
        objective.backward()
        return objective, predictions

    def _minibatch_epoch(self, x, y, order, batch_size, callbacks, bar) -> dict:
        params = self.params
        totals = {"loss": 0.0, **{name: 0.0 for name, _ in self.metrics}}
        seen = 0
        for step, start in enumerate(range(0, len(order), batch_size)):
            idx = order[start:start + batch_size]
            xb, yb = x[idx], y[idx]
            objective, predictions = self._step_loss(xb, yb)
            self.optimizer.step(params)
            batch_loss = float(objective.data)
            m = len(idx)
            seen += m
            totals["loss"] += batch_loss * m
            for name, fn in self.metrics:
                totals[name] += fn(yb, predictions) * m
            bar.update(step + 1, {k: v / seen for k, v in totals.items()})
            for callback in callbacks:
                callback.on_batch_end(step, {"loss": batch_loss})
            if self.stop_training:
                break
        return {k: v / seen for k, v in totals.items()}

    def _lbfgs_epoch(self, x, y, callbacks, bar) -> dict:
        """One L-BFGS iteration on the full data set (its line search re-evaluates)."""
        def closure():
            return float(self._step_loss(x, y)[0].data)

        self.optimizer.step(self.params, closure)
        with no_grad():
            objective, predictions = self._batch_loss(x, y, training=False)
        penalty = self._regularization()
        loss = float(objective.data) + (0.0 if isinstance(penalty, float)
                                        else float(penalty.data))
        logs = {"loss": loss, **{name: fn(y, predictions) for name, fn in self.metrics}}
        bar.update(bar.steps, logs)
        for callback in callbacks:
            callback.on_batch_end(0, {"loss": loss})
        return logs

    # -- inference -----------------------------------------------------------------------
    def predict(self, x, batch_size: int = 1024, verbose: int = 0) -> np.ndarray:
        """The outputs for x, computed in batches (1024 samples by default: larger
        batches spend less time in Python per sample) without building a graph."""
        x = _as_samples(x, "x", self.dtype)
        self._ensure_built(x)
        with no_grad():
            parts = [self._forward(x[i:i + batch_size], training=False).data
                     for i in range(0, len(x), batch_size)]
        return np.concatenate(parts) if parts else np.empty((0, self.output_units), self.dtype)

    def evaluate(self, x, y, batch_size: int = 1024, verbose: int = 0, return_dict=False):
        """The loss and the metrics on (x, y): a float when there are no metrics, else a
        list ``[loss, metric...]`` (or a dict with ``return_dict=True``)."""
        self._check_compiled("evaluate")
        x = _as_samples(x, "x", self.dtype)
        self._ensure_built(x)
        y = self._check_targets(y, len(x))
        total, outputs = 0.0, []
        with no_grad():
            for i in range(0, len(x), batch_size):
                loss, predictions = self._batch_loss(x[i:i + batch_size], y[i:i + batch_size],
                                                     training=False)
                total += float(loss.data) * len(predictions)
                outputs.append(predictions)
        predictions = np.concatenate(outputs)
        penalty = self._regularization()
        values = {"loss": total / len(x) + (0.0 if isinstance(penalty, float)
                                            else float(penalty.data))}
        for name, fn in self.metrics:
            values[name] = fn(y, predictions)
        if return_dict:
            return values
        return values["loss"] if len(values) == 1 else list(values.values())

    # -- weights -------------------------------------------------------------------------
    def get_weights(self) -> list:
        """Copies of the weights: layer by layer, kernel before bias (Keras's order);
        BatchNormalization gives gamma, beta, moving mean, moving variance."""
        self._build_if_shape_known()
        weights = []
        for layer in self.layers:
            weights += [p.data.copy() for p in layer.params]
            weights += [a.copy() for a in getattr(layer, "state_arrays", list)()]
        return weights

    def set_weights(self, weights) -> None:
        self._build_if_shape_known()
        targets = []
        for layer in self.layers:
            targets += [p.data for p in layer.params]
            targets += getattr(layer, "state_arrays", list)()
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(f"set_weights: the model has {len(targets)} weight arrays; "
                             f"got {len(weights)}")
        for i, (target, w) in enumerate(zip(targets, weights)):
            w = np.asarray(w)
            if w.shape != target.shape:
                raise ValueError(f"set_weights: weights[{i}] must have shape {target.shape}; "
                                 f"got {w.shape}")
            target[...] = w

    def count_params(self) -> int:
        return sum(w.size for w in self.get_weights())

    def summary(self, print_fn=print) -> None:
        """Print the layer table with output shapes and parameter counts."""
        self._build_if_shape_known()
        rows = [("Layer (type)", "Output Shape", "Param #")]
        trainable = 0
        for i, layer in enumerate(self.layers):
            if isinstance(layer, layers_module.Input):
                continue
            name = layer.name or f"{type(layer).__name__.lower()}_{i}"
            shape = ("(None, " + ", ".join(map(str, layer.output_shape)) + ")"
                     if layer.built else "(unbuilt)")
            n = layer.count_params() + sum(a.size for a in
                                           getattr(layer, "state_arrays", list)())
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

    # -- model files ---------------------------------------------------------------------
    def get_config(self) -> dict:
        return {"name": self.name, "seed": self.seed, "dtype": self.dtype.name,
                "input_shape": list(self.input_shape) if self.input_shape else None,
                "layers": [{"class_name": type(layer).__name__, "config": layer.get_config()}
                           for layer in self.layers]}

    def save(self, path) -> None:
        """Write one file: a JSON manifest (architecture, compile settings, SHA-256 of
        every array) and the weights and optimizer state as .npy arrays in a zip.  No
        pickle.  Written to a temporary file and renamed, so a crash never leaves a
        half-written model."""
        arrays = {f"weight_{i}": w for i, w in enumerate(self.get_weights())}
        manifest = {"format": FORMAT, "version": FORMAT_VERSION, "model": self.get_config(),
                    "compile": None, "metadata": self.metadata}
        if self.loss is not None:
            manifest["compile"] = {
                "loss": losses.serialize(self.loss),
                "metrics": [name for name, _ in self.metrics],
                "optimizer": optimizers.serialize(self.optimizer),
                "iterations": self.optimizer.iterations,
            }
            for i, s in enumerate(self.optimizer.get_state()):
                arrays[f"optimizer_{i}"] = s
        manifest["arrays"] = {k: {"shape": list(a.shape), "dtype": a.dtype.str,
                                  "sha256": hashlib.sha256(np.ascontiguousarray(a)).hexdigest()}
                              for k, a in arrays.items()}
        try:
            text = json.dumps(manifest, allow_nan=False)
        except (TypeError, ValueError) as err:
            raise TypeError(f"model.metadata must be JSON-serialisable: {err}") from None
        arrays["manifest"] = np.frombuffer(text.encode(), dtype=np.uint8)
        path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(prefix=".nnlearn-", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as f:
                np.savez(f, **arrays)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise


def load_model(path) -> Sequential:
    """Read a model written by :meth:`Sequential.save`.  Never unpickles anything; a
    truncated, corrupted or altered file raises ValueError."""
    path = os.fspath(path)
    if os.path.isfile(path) and not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a readable nnlearn model file (not a zip archive: "
                         "truncated, or not a model)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            manifest = json.loads(archive["manifest"].tobytes().decode())
            if manifest.get("format") != FORMAT:
                raise ValueError("not an nnlearn model (format tag missing)")
            arrays = {k: archive[k] for k in manifest["arrays"]}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, OSError, KeyError, EOFError, ValueError,
            UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{path} is not a readable nnlearn model file "
                         f"(truncated or corrupted?): {err}") from None
    for key, info in manifest["arrays"].items():
        a = arrays[key]
        if (list(a.shape) != info["shape"] or a.dtype.str != info["dtype"]
                or hashlib.sha256(np.ascontiguousarray(a)).hexdigest() != info["sha256"]):
            raise ValueError(f"{path}: array {key!r} does not match its checksum: the file "
                             "was altered or damaged")
    config = manifest["model"]
    layer_list = [layers_module.get(spec["class_name"], spec["config"])
                  for spec in config["layers"]]
    model = Sequential(layer_list, seed=config["seed"], dtype=config["dtype"],
                       name=config["name"])
    if config["input_shape"]:
        model.build(config["input_shape"])
    n_weights = sum(1 for k in arrays if k.startswith("weight_"))
    model.set_weights([arrays[f"weight_{i}"] for i in range(n_weights)])
    compiled = manifest["compile"]
    if compiled:
        model.compile(optimizer=compiled["optimizer"], loss=compiled["loss"],
                      metrics=compiled["metrics"])
        state = [arrays[f"optimizer_{i}"] for i in range(sum(1 for k in arrays
                                                              if k.startswith("optimizer_")))]
        model.optimizer.set_state(model.params, state, compiled["iterations"])
    model.metadata = manifest.get("metadata") or {}
    return model


class _ProgressBar:
    """Keras-style progress: ``469/469 [=====] - 2s - loss: 0.2524 - accuracy: 0.9273``.

    verbose=1 draws a live bar with tqdm when it is installed and the output is a
    terminal; otherwise (and with verbose=2) one line per epoch is printed."""

    def __init__(self, steps: int, epoch: int, epochs: int, verbose: int):
        self.steps, self.verbose, self.start = steps, verbose, time.perf_counter()
        self.bar = None
        if verbose:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        if verbose == 1:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            self.bar = tqdm(total=steps, file=sys.stdout, ascii=".>=", ncols=100,
                            bar_format="{n_fmt}/{total_fmt} [{bar:30}] - {elapsed_s:.0f}s - "
                                       "{desc}", disable=None, leave=True)

    @staticmethod
    def _format(logs: dict) -> str:
        return " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())

    def update(self, step: int, logs: dict) -> None:
        if self.bar is not None and not self.bar.disable:
            self.bar.set_description_str(self._format(logs), refresh=False)
            self.bar.update(1)

    def close(self, logs: dict) -> None:
        if self.bar is not None and not self.bar.disable:
            self.bar.set_description_str(self._format(logs), refresh=True)
            self.bar.close()
        elif self.verbose:
            seconds = time.perf_counter() - self.start
            print(f"{self.steps}/{self.steps} - {seconds:.0f}s - {self._format(logs)}",
                  flush=True)

