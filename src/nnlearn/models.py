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

import sys
import time
import warnings

import numpy as np

from . import activations, losses, metrics as metrics_module, optimizers, planner
from . import layers as layers_module
from ._validation import (all_finite, check_array, check_fraction, check_in_range,
                          check_sample_weight)
from .autograd import Tensor, as_tensor, no_grad, sum_of_squares
from .callbacks import StopKind, StopReason, check_callbacks
from .data import adapters as data_adapters
from .model_files import (FORMAT, FORMAT_VERSION, WEIGHTS_FORMAT, check_weight_shapes,
                          load_model, numbered, predict_batch_size, read_archive,
                          write_archive)

__all__ = ["Model", "Sequential", "History", "load_model", "mlp", "python_source"]



class History:
    """Per-epoch values: ``history["loss"]``, ``history["val_accuracy"]``, ..."""

    def __init__(self):
        self.history: dict = {}
        self.epoch: list = []

    def record(self, epoch: int, logs: dict) -> None:
        """Append one epoch's logs."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __repr__(self):
        return f"History(epochs={len(self.epoch)}, keys={list(self.history)})"


def _positive_int(value, name: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def _warn_if_one_class(loss, y_tail: np.ndarray, n_val: int) -> None:
    """validation_split holds out the last samples, unshuffled (as Keras does): warn when
    they are all of one class (data sorted by class), which makes validation meaningless."""
    if loss.targets == "class_index" or loss.accuracy in ("binary", "categorical"):
        labels = y_tail.argmax(axis=-1) if y_tail.ndim == 2 and y_tail.shape[1] > 1 \
            else y_tail.reshape(len(y_tail), -1)[:, 0]
        if n_val > 1 and len(np.unique(labels)) == 1:
            warnings.warn(f"validation_split holds out the last {n_val} samples and they are "
                          f"all of class {labels[0].item()!r}: shuffle the data first (validation "
                          "then measures something)", UserWarning, stacklevel=4)


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

    ``nl.Model(inputs, outputs)`` on symbolic tensors (``nl.Input``) is a functional
    model instead: a graph of layers (:class:`nnlearn.functional.Functional`).

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

    def __new__(cls, *args, **kwargs):
        """``Model(inputs, outputs)`` on symbolic tensors (``nl.Input``) is a functional
        model (:class:`nnlearn.functional.Functional`, as Keras's ``Model`` does);
        ``Model()`` and subclasses are the subclassing style."""
        if cls is Model and (args or "inputs" in kwargs or "outputs" in kwargs):
            from .functional import Functional

            return super().__new__(Functional)
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

    # -- compile -------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, metrics=None) -> None:
        """Choose the optimizer (name, config or instance), the loss (Keras name, Loss
        object or function ``loss(y_true, y_pred)``) and the metrics (names, Metric
        objects or functions)."""
        if loss is None:
            raise ValueError("compile: loss is required, e.g. loss='categorical_crossentropy'")
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)
        if self.loss.reduction == "none":
            raise ValueError(f"compile: the loss {self.loss.name} has reduction='none', one "
                             "value per sample; training needs one number (use "
                             "'sum_over_batch_size', 'mean_with_sample_weight' or 'sum')")
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

    def check_targets(self, y, n: int, argument: str = "y", loss=None,
                      units: int | None = None) -> np.ndarray:
        """``y`` as an array, checked against n samples and the kind of target of
        ``loss`` (the model's by default) for ``units`` outputs (the model's)."""
        y = np.asarray(y)
        if y.dtype.kind not in "iubf":
            raise ValueError(f"{argument} must be numeric; got dtype {y.dtype}")
        if len(y) != n:
            raise ValueError(f"x and {argument} must have the same number of samples; got "
                             f"{n} and {len(y)}")
        if not all_finite(y):
            raise ValueError(f"{argument} contains NaN or infinity")
        check_in_range(y, self.dtype, argument)
        (loss or self.loss).check_targets(y, self.output_units if units is None else units,
                                          argument)
        return y

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

    def compute_loss(self, x, y, training: bool = False, sample_weight=None):
        """(objective, predictions): the loss of the batch (its samples weighted by
        ``sample_weight``, see :class:`nnlearn.losses.Loss`) plus the penalties, as a
        Tensor, and the model's outputs as an array.  The penalties are the layers' own
        (:meth:`regularization`) and, for a loss that declares one (scikit-learn's
        objective), ``kernel_penalty / N * sum ||W||^2`` over every kernel, N the loss's
        normalizer of the batch."""
        fused, activation = self._output_head()
        if fused is not None:
            logits = self.logits(as_tensor(x), training)
            loss = fused(y, logits, sample_weight)
            with no_grad():
                predictions = activation(logits.detach()).data
        else:
            output = self(x, training)
            loss = self.loss(y, output, sample_weight)
            predictions = output.data
        penalty = self.penalty(self.loss.normalizer(len(predictions), sample_weight))
        return (loss if penalty is None else loss + penalty), predictions

    def penalty(self, normalizer: float):
        """What :meth:`compute_loss` adds to a batch's loss, or None: the layers' penalties
        (:meth:`regularization`) and, for a loss that declares one (scikit-learn's
        objective), ``kernel_penalty / N * sum ||W||^2`` over every kernel, N the loss's
        ``normalizer`` of the batch."""
        penalty = self.regularization()
        if self.loss.kernel_penalty:
            kernels = [layer.kernel for layer in self.layers if hasattr(layer, "kernel")]
            squares = sum_of_squares(kernels[0])
            for kernel in kernels[1:]:
                squares = squares + sum_of_squares(kernel)
            scaled = squares * (self.loss.kernel_penalty / normalizer if normalizer else 0.0)
            penalty = scaled if penalty is None else penalty + scaled
        return penalty

    def update_metrics(self, y, predictions, loss: float) -> None:
        """Add one batch to the loss tracker and every metric."""
        self.loss_tracker.update_state(loss, len(predictions))
        for metric in self.metrics:
            metric.update_state(y, predictions)

    def reset_metrics(self) -> None:
        """Reset the loss tracker and every metric (at each epoch and evaluate)."""
        for metric in (self.loss_tracker, *self.metrics):
            metric.reset_state()

    def metric_results(self) -> dict:
        """The tracked loss and metrics over the batches seen since the last reset."""
        return {m.name: m.result() for m in (self.loss_tracker, *self.metrics)}

    def plan(self, batch_size: int | None = None):
        """How this model's training step runs, part by part, and why
        (:func:`nnlearn.planner.plan`; ``print(model.plan().explain())``)."""
        self._check_compiled("plan")
        self._build_if_shape_known()
        return planner.plan(self, batch_size)

    def train_step(self, x, y, sample_weight=None) -> dict:
        """One update on a batch: the optimizer calls the closure (forward, loss plus
        penalty, backward) as its method needs, then updates the parameters.  Updates the
        metrics with the outputs of the first evaluation; returns this batch's logs
        (``{"loss": ...}``; an override may add more, which ``fit`` averages).
        ``sample_weight``: one weight per sample of the batch, or None.

        The gradients come from the engine or, for a stack of Dense layers with numba
        installed, from one compiled function (the same to rounding): the model's plan
        decides (:mod:`nnlearn.planner`; :meth:`plan` says which and why)."""
        if not self.built:  # the first batch builds the model, as a first call would
            self.check_input(np.asarray(x))
        params = self.params
        predictions = None
        gradients = planner.compiled_gradients(self, x)

        def closure() -> float:
            nonlocal predictions
            self.__dict__["loss_evaluations"] += 1  # (no layer tracking: a counter)
            computed = gradients(x, y, sample_weight) if gradients is not None else None
            if computed is not None:
                loss, outputs = computed
            else:
                objective, outputs = self.compute_loss(x, y, training=True,
                                                       sample_weight=sample_weight)
                for p in params:
                    p.grad = None
                objective.backward()
                loss = float(objective.data)
            if predictions is None:
                predictions = outputs
            return loss

        if self.optimizer.needs_residuals:  # Levenberg-Marquardt: r and dr/dw of the batch
            if sample_weight is not None:
                raise ValueError(f"{type(self.optimizer).__name__} fits residuals: it cannot "
                                 "weight samples (sample_weight, class_weight)")
            closure.residuals = optimizers.least_squares_residuals(
                self, x, y, self.optimizer.max_jacobian_entries)
        loss = self.optimizer.minimize(params, closure)
        self.update_metrics(y, predictions, loss)
        return {"loss": loss}

    def test_step(self, x, y, sample_weight=None) -> dict:
        """Loss and metrics on a batch (its samples weighted by ``sample_weight``), no
        update; returns this batch's logs."""
        with no_grad():
            objective, predictions = self.compute_loss(x, y, training=False,
                                                       sample_weight=sample_weight)
        loss = float(objective.data)
        self.update_metrics(y, predictions, loss)
        return {"loss": loss}

    def predict_step(self, x) -> np.ndarray:
        """The outputs for a batch, without building a graph."""
        with no_grad():
            return self(x, training=False).data

    # -- the loops -----------------------------------------------------------------------
    def fit(self, x, y=None, epochs: int = 1, batch_size: int | None = None,
            validation_split: float = 0.0, validation_data=None, shuffle: bool = True,
            callbacks=None, verbose: int = 1, seed: int | None = None, initial_epoch: int = 0,
            sample_weight=None, class_weight=None, steps_per_epoch: int | None = None
            ) -> History:
        """Train by mini-batch gradient descent, one ``train_step`` per batch; returns the
        History.

        Parameters
        ----------
        x : array of shape (n_samples, ...), or a data source (:mod:`nnlearn.data`)
            Besides arrays: a lazily indexed array (``np.memmap``, ``h5py.Dataset``, a
            Zarr array: read a batch of rows at a time, the same batches as in memory), a
            :class:`nnlearn.data.PyDataset`, a generator or iterable of batches ``(x, y)``
            or ``(x, y, sample_weight)``, or a Dask array.
        y : array of n_samples targets (one-hot rows, integer labels, values)
            With arrays (lazily indexed too); left out when ``x`` yields whole batches.
        epochs, batch_size : int
            ``batch_size`` is 32 when not given (arrays only: a PyDataset or generator
            makes its own batches).  With an optimizer that needs the full batch
            (L-BFGS), every epoch is one step on all samples and ``batch_size`` is not
            used.
        steps_per_epoch : int, optional
            Batches per epoch taken from a generator or iterable (each epoch continues
            where the previous one stopped) or the first batches of a PyDataset's epoch;
            without it an epoch is the whole PyDataset or the iterable to its end.
        validation_split : float in [0, 1)
            Fraction of the data, taken from the end before shuffling, held out.
        validation_data : (x_val, y_val) or (x_val, y_val, sample_weight_val), optional
        shuffle : bool
            Reshuffle the training samples each epoch.
        callbacks : list of nnlearn.callbacks.Callback, optional
        verbose : 0 silent, 1 progress bar, 2 one line per epoch (and the step's plan,
            :meth:`plan`, before the first).
        seed : int, optional
            Seed of the shuffling and of the dropout masks.
        initial_epoch : int
            Epoch to start from, to resume a model loaded from a checkpoint: with the
            same ``seed``, the result equals an uninterrupted run.
        sample_weight : array of shape (n_samples,), optional
            Each sample's weight in the loss (non-negative): Keras's semantics, the
            batch's loss is ``sum_i w_i l_i / n`` (the loss's ``reduction``; see
            :class:`nnlearn.losses.Loss`).  An integer weight counts a sample that many
            times.  The metrics are not weighted (Keras's ``metrics``).
        class_weight : dict {class index: weight} or "balanced", optional
            Each sample weighted by its class's weight (classes not listed: 1);
            "balanced" is scikit-learn's ``n_samples / (n_classes * count(class))``.
            Not together with ``sample_weight``.
        """
        train, validation = self._training_source(
            x, y, epochs, batch_size, initial_epoch, validation_split, validation_data,
            sample_weight, class_weight, shuffle, steps_per_epoch)
        batch_size = 32 if batch_size is None else batch_size
        callbacks = check_callbacks(callbacks)
        for callback in callbacks:
            callback.set_model(self)
        history = History()
        self.stop_training, self.stop_reason = False, None
        entropy = np.random.SeedSequence(seed).entropy  # fixed per fit when seed is None
        try:
            for callback in callbacks:
                callback.on_train_begin({})
            draws = train.draws_random_numbers()
            step_function = getattr(train, "train_step", self.train_step)
            if verbose == 2:
                print(f"Training step plan:\n{self.plan(batch_size).explain()}", flush=True)
            for epoch in range(initial_epoch, epochs):
                # Every epoch's randomness derives from (seed, epoch): training resumed at
                # initial_epoch=k replays epochs k.. exactly as an uninterrupted run would.
                epoch_seed = np.random.SeedSequence([entropy, epoch]) if draws else None
                for callback in callbacks:
                    callback.on_epoch_begin(epoch, {})
                train.on_epoch_begin()
                steps, batches = train.epoch(epoch_seed)
                bar = _ProgressBar(steps, epoch, epochs, verbose)
                try:  # a bad batch raises here, before the epoch's end (no checkpoint)
                    logs = self._train_epoch(batches, epoch_seed, callbacks, bar,
                                             step_function)
                finally:
                    batches.close()  # stops and joins the threads reading ahead
                train.on_epoch_end()
                if validation is not None and not self.stop_training:
                    values = self._validate(validation, batch_size)
                    logs.update({f"val_{k}": v for k, v in values.items()})
                bar.close(logs)
                for callback in callbacks:
                    callback.on_epoch_end(epoch, logs)
                history.record(epoch, logs)
                if self.stop_training:
                    if verbose and self.stop_reason:
                        print(f"Stopped after epoch {epoch + 1}: {self.stop_reason}")
                    break
        finally:
            train.close()
        for callback in callbacks:
            callback.on_train_end({})
        self.history = history
        return history

    def _validate(self, validation, batch_size: int) -> dict:
        """The validation losses and metrics: ``validation`` is (x, y, weights) arrays or
        an adapter of another source (:mod:`nnlearn.data.adapters`)."""
        if isinstance(validation, tuple):
            return self.evaluate(*validation[:2], batch_size=max(batch_size, 1024),
                                 return_dict=True, sample_weight=validation[2])
        return self._evaluate_source(validation, 0)

    def _training_source(self, x, y, epochs, batch_size, initial_epoch, validation_split,
                         validation_data, sample_weight, class_weight, shuffle,
                         steps_per_epoch):
        """fit's data as (adapter of the training batches, validation: (x, y, weights)
        arrays, an adapter, or None); arrays are checked whole, other sources batch by
        batch as they are read (:mod:`nnlearn.data.adapters`)."""
        kind = data_adapters.kind_of(x)
        if kind == "array":
            if y is None:
                raise ValueError("fit: y is required with arrays x (targets, one per sample)")
            if steps_per_epoch is not None:
                raise ValueError("fit: steps_per_epoch is for generators and PyDatasets; "
                                 "with arrays an epoch is every sample (use batch_size)")
            batch_size = 32 if batch_size is None else batch_size
            streamed = isinstance(validation_data, data_adapters.PyDataset) or (
                isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3)
                and data_adapters.kind_of(validation_data[0]) in ("lazy", "dask"))
            x, y, weights, validation = self._training_data(
                x, y, epochs, batch_size, initial_epoch, 0.0 if streamed else validation_split,
                None if streamed else validation_data, sample_weight, class_weight)
            if streamed:
                validation = self._validation_source(validation_data, batch_size)
            return data_adapters.ArrayAdapter(self, x, y, weights, batch_size, shuffle), \
                validation
        self._check_compiled("fit")
        _positive_int(epochs, "epochs")
        if not isinstance(initial_epoch, (int, np.integer)) or not 0 <= initial_epoch < epochs:
            raise ValueError(f"initial_epoch must be an integer in [0, epochs={epochs}); "
                             f"got {initial_epoch!r}")
        validation_split = check_fraction(validation_split, "validation_split")
        if class_weight == "balanced" and kind != "lazy":
            raise ValueError("fit: class_weight='balanced' needs the class counts of every "
                             "sample; with batches read one at a time give a dict "
                             "{class: weight}")
        train = self._source_adapter(x, y, sample_weight, batch_size, shuffle,
                                     steps_per_epoch, "fit", class_weight,
                                     epochs - initial_epoch)
        validation = None
        if validation_split:
            if kind != "lazy":
                raise ValueError("fit: validation_split needs arrays (it holds out the last "
                                 f"samples); give validation_data with a {type(x).__name__}")
            if validation_data is not None:
                raise ValueError("fit: give validation_split or validation_data, not both")
            n_val = int(round(len(train) * validation_split))
            if not 0 < n_val < len(train):
                raise ValueError(f"validation_split={validation_split!r} of {len(train)} "
                                 f"samples holds out {n_val}: training and validation each "
                                 "need at least one sample")
            validation = data_adapters.LazyArrayAdapter(
                self, train.x, train.y, train.weights, max(train.batch_size, 1024),
                sequential=True, start=train.stop - n_val)
            train.stop -= n_val
        elif validation_data is not None:
            validation = self._validation_source(validation_data, batch_size)
        if not self.built:
            self.check_input(train.first_x())
        return train, validation

    def _validation_source(self, validation_data, batch_size):
        """validation_data as (x, y, weights) checked arrays or an adapter."""
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3) \
                and data_adapters.kind_of(validation_data[0]) == "array":
            x_val = check_array(validation_data[0], "validation_data[0]", dtype=self.dtype,
                                allow_nd=True)
            self.check_input(x_val)
            w_val = check_sample_weight(
                validation_data[2] if len(validation_data) == 3 else None, len(x_val),
                "validation_data[2]")
            return (x_val, self.check_targets(validation_data[1], len(x_val),
                                              "validation_data[1]"), w_val)
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
            return self._source_adapter(validation_data[0], validation_data[1],
                                        validation_data[2] if len(validation_data) == 3
                                        else None, max(batch_size or 32, 1024), False, None,
                                        "validation_data", sequential=True)
        if isinstance(validation_data, data_adapters.PyDataset):
            return self._source_adapter(validation_data, None, None, None, False, None,
                                        "validation_data")
        raise ValueError("validation_data must be a tuple (x_val, y_val) or (x_val, y_val, "
                         f"sample_weight_val), or a PyDataset; got "
                         f"{type(validation_data).__name__}")

    def _source_adapter(self, x, y, sample_weight, batch_size, shuffle, steps, where,
                        class_weight=None, epochs=1, sequential=False, targets=True):
        """The adapter of a data source that is not an in-memory array, its arguments
        checked (ValueError naming the argument otherwise)."""
        kind = data_adapters.kind_of(x)
        if steps is not None:
            _positive_int(steps, "steps_per_epoch" if where == "fit" else "steps")
        if kind == "dask":
            from .data import dask as dask_data

            return dask_data.adapter(self, x, y, sample_weight, batch_size, shuffle,
                                     where, class_weight, sequential, targets)
        if kind == "lazy":
            if targets and y is None:
                raise ValueError(f"{where}: y is required with an array x "
                                 f"({type(x).__name__})")
            if steps is not None:
                raise ValueError(f"{where}: steps is for generators and PyDatasets; an "
                                 "epoch of an array is every sample")
            batch_size = _positive_int(32 if batch_size is None else batch_size,
                                       "batch_size")
            if len(x.shape) < 2:
                raise ValueError(f"{where}: x must have shape (n_samples, ...); got shape "
                                 f"{tuple(x.shape)}")
            n = len(x)
            # targets and weights given as lists or other sequences: in memory, as arrays
            y = y if y is None or data_adapters.is_lazy_array(y) else np.asarray(y)
            if sample_weight is not None and not data_adapters.is_lazy_array(sample_weight):
                sample_weight = np.asarray(sample_weight)
            for name, values in (("y", y), ("sample_weight", sample_weight)):
                if values is not None and len(values) != n:
                    raise ValueError(f"{where}: x and {name} must have the same number of "
                                     f"samples; got {n} and {len(values)}")
            if n == 0:
                raise ValueError(f"{where}: x has no samples (shape {x.shape})")
            if class_weight is not None and sample_weight is not None:
                raise ValueError(f"{where}: give sample_weight or class_weight, not both "
                                 "(multiply the class weights into sample_weight)")
            if isinstance(class_weight, str):  # "balanced": the counts of every label
                sample_weight = self.class_sample_weights(
                    self.check_targets(data_adapters.read_rows(y, None), n), class_weight)
                class_weight = None
            if self.built or self.input_shape is not None:
                self.check_input(np.empty((0, *x.shape[1:])))
            return data_adapters.LazyArrayAdapter(self, x, y if targets else None,
                                                  sample_weight, batch_size, shuffle,
                                                  sequential, class_weight=class_weight)
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                raise ValueError(f"{where}: {name} must be left out when x is a "
                                 f"{type(x).__name__}: its batches are (x, y) or (x, y, "
                                 "sample_weight)")
        if batch_size is not None:
            raise ValueError(f"{where}: batch_size must be left out when x is a "
                             f"{type(x).__name__}: it makes its own batches")
        if kind == "pydataset":
            return data_adapters.PyDatasetAdapter(self, x, shuffle, steps, targets,
                                                  class_weight)
        if kind == "iterable":
            return data_adapters.IterableAdapter(self, x, steps, targets, class_weight,
                                                 epochs=epochs)
        raise TypeError(f"{where}: x must be an array or a data source; got "
                        f"{type(x).__name__}")

    def _training_data(self, x, y, epochs, batch_size, initial_epoch, validation_split,
                       validation_data, sample_weight=None, class_weight=None):
        """fit's arguments checked: (x, y, sample weights or None, (x_val, y_val,
        sample weights or None) or None)."""
        self._check_compiled("fit")
        _positive_int(epochs, "epochs")
        _positive_int(batch_size, "batch_size")
        if not isinstance(initial_epoch, (int, np.integer)) or not 0 <= initial_epoch < epochs:
            raise ValueError(f"initial_epoch must be an integer in [0, epochs={epochs}); "
                             f"got {initial_epoch!r}")
        validation_split = check_fraction(validation_split, "validation_split")
        x = check_array(x, "x", dtype=self.dtype, allow_nd=True)
        self.check_input(x)
        y = self.check_targets(y, len(x))
        if class_weight is not None and sample_weight is not None:
            raise ValueError("fit: give sample_weight or class_weight, not both (multiply "
                             "the class weights into sample_weight)")
        weights = check_sample_weight(sample_weight, len(x), "sample_weight")
        if (weights is not None or class_weight is not None) and \
                self.optimizer.needs_residuals:
            raise ValueError(f"fit: {type(self.optimizer).__name__} fits residuals and cannot "
                             "weight samples (sample_weight, class_weight)")
        if validation_data is None and validation_split:
            n_val = int(round(len(x) * validation_split))
            if not 0 < n_val < len(x):
                raise ValueError(f"validation_split={validation_split!r} of {len(x)} samples "
                                 f"holds out {n_val}: training and validation each need at "
                                 "least one sample")
            validation_data = (x[-n_val:], y[-n_val:]) + \
                (() if weights is None else (weights[-n_val:],))
            x, y = x[:-n_val], y[:-n_val]
            weights = None if weights is None else weights[:-n_val]
            _warn_if_one_class(self.loss, validation_data[1], n_val)
        if class_weight is not None:  # the training samples' only (as Keras): after the split
            weights = self.class_sample_weights(y, class_weight)
        if validation_data is not None:
            validation_data = self._validation_source(validation_data, batch_size)
        return x, y, weights, validation_data

    def class_sample_weights(self, y, class_weight) -> np.ndarray:
        """The sample weights of ``class_weight`` for targets ``y`` (one-hot rows, integer
        labels or 0/1 labels of a single output): each sample gets its class's weight
        (1 for a class not in the dict); ``"balanced"`` gives class c the weight
        ``n_samples / (n_classes * n_c)`` over the classes present (scikit-learn's
        ``compute_sample_weight("balanced", y)``)."""
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            labels = y.argmax(axis=1)
        else:
            labels = y.reshape(len(y), -1)[:, 0]
            labels = np.round(labels).astype(np.int64)
        if isinstance(class_weight, str):
            if class_weight != "balanced":
                raise ValueError(f"class_weight must be a dict or 'balanced'; got "
                                 f"{class_weight!r}")
            classes, index, counts = np.unique(labels, return_inverse=True,
                                               return_counts=True)
            return (len(labels) / (len(classes) * counts))[index].astype(np.float64)
        if not isinstance(class_weight, dict):
            raise TypeError(f"class_weight must be a dict {{class: weight}} or 'balanced'; "
                            f"got {type(class_weight).__name__}")
        table = {}
        for key, value in class_weight.items():
            if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
                raise ValueError(f"class_weight: keys must be integer class indices; got "
                                 f"{key!r}")
            if not isinstance(value, (int, float, np.number)) or not np.isfinite(value) \
                    or value < 0:
                raise ValueError(f"class_weight[{key}] must be a finite number >= 0; got "
                                 f"{value!r}")
            table[int(key)] = float(value)
        return np.array([table.get(int(label), 1.0) for label in labels], np.float64)

    def _draws_random_numbers(self, n: int, batch_size: int, shuffle: bool) -> bool:
        """Whether an epoch draws random numbers (shuffling, a layer's masks or noise, an
        overridden batch_indices): otherwise fit makes no per-epoch SeedSequence."""
        shuffles = shuffle and n > batch_size and not self.optimizer.full_batch
        return (shuffles or type(self).batch_indices is not Model.batch_indices
                or bool(self._random_layers()))

    def batch_indices(self, n: int, batch_size: int, shuffle: bool, epoch_seed) -> list:
        """The epoch's batches as index arrays (or slices) into the n training samples;
        ``[None]`` (all samples, in order) for an optimizer that needs the full batch and
        when one batch holds every sample.
        Override to draw batches another way (the estimators replay scikit-learn's
        shuffling)."""
        if self.optimizer.full_batch or n <= batch_size:
            return [None]  # one batch of every sample: shuffling would only reorder its sum
        order = np.random.default_rng(epoch_seed).permutation(n) if shuffle else np.arange(n)
        return [order[start:start + batch_size] for start in range(0, n, batch_size)]

    def _train_epoch(self, batches, epoch_seed, callbacks, bar, step_function) -> dict:
        """One ``step_function`` (``train_step``, or the data source's own step: the
        map-reduce of a Dask array) per batch ``(x, y, sample weights or None)`` of
        ``batches``; the epoch's logs: the loss and metrics tracked with
        ``update_metrics``, and the sample-weighted mean over the batches of anything else
        the steps returned (the step's own ``loss`` when it tracked none)."""
        if epoch_seed is not None:
            self._reseed_layers(epoch_seed)
        self.reset_metrics()
        extras: dict = {}
        for step, (xb, yb, wb) in enumerate(batches):
            logs = step_function(xb, yb) if wb is None else step_function(xb, yb, wb)
            for key, value in logs.items():
                extras.setdefault(key, metrics_module.Mean(key)).update_state(value, len(xb))
            bar.done = step + 1
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

    def _random_layers(self) -> list:
        """``(position, layer)`` of each layer that draws random numbers (those that
        override :meth:`Layer.reseed`)."""
        return [(i, layer) for i, layer in enumerate(self.layers)
                if type(layer).reseed is not layers_module.Layer.reseed]

    def _reseed_layers(self, seed_sequence) -> None:
        """Each layer that draws random numbers gets the epoch's stream for its
        position."""
        for i, layer in self._random_layers():
            layer.reseed(np.random.SeedSequence([seed_sequence.entropy,
                                                 *seed_sequence.spawn_key, i]))

    def predict(self, x, batch_size: int | None = None, verbose: int = 0, steps=None):
        """The outputs for x, one ``predict_step`` per batch (1024 samples by default:
        larger batches spend less time in Python per sample); verbose=1 shows progress.
        A batch is made smaller where its largest layer would take more than
        ``model_files.MAX_PREDICT_BATCH_BYTES`` (32 MiB): the outputs are the same.

        ``x`` may also be a data source (see :meth:`fit`): a lazily indexed array is
        read a batch at a time, a PyDataset or iterable gives batches ``x`` or ``(x,
        ...)`` (``steps``: the first ``steps`` of them), and a Dask array gives a Dask
        array of the outputs, computed block by block where the blocks are
        (:mod:`nnlearn.data.dask`)."""
        kind = data_adapters.kind_of(x)
        if kind == "dask":
            from .data import dask as dask_data

            return dask_data.predict(self, x, 1024 if batch_size is None else batch_size)
        if kind != "array":
            source = self._source_adapter(x, None, None, self._inference_batch(batch_size, x),
                                          False, steps, "predict", sequential=True,
                                          targets=False)
            try:
                if not self.built:
                    self.check_input(source.first_x())
                return self._predict_source(source, verbose)
            finally:
                source.close()
        batch_size = 1024 if batch_size is None else batch_size
        _positive_int(batch_size, "batch_size")
        x = check_array(x, "x", dtype=self.dtype, allow_nd=True)
        self.check_input(x)
        batch_size = predict_batch_size(self, batch_size)  # bounded memory (model_files)
        return self._predict_source(
            data_adapters.ArrayAdapter(self, x, None, None, batch_size, sequential=True),
            verbose)

    def _inference_batch(self, batch_size, x):
        """evaluate's and predict's batch size for source x: 1024 by default for arrays
        (bounded like predict's), None (the source's batches) otherwise."""
        if data_adapters.kind_of(x) not in ("lazy", "dask"):
            return batch_size
        batch_size = _positive_int(1024 if batch_size is None else batch_size, "batch_size")
        if self.built or self.input_shape is not None:
            self._build_if_shape_known()
            batch_size = predict_batch_size(self, batch_size)
        return batch_size

    def _predict_source(self, source, verbose: int) -> np.ndarray:
        steps, batches = source.epoch(None)
        bar = _ProgressBar(steps, None, None, verbose)
        parts = []
        try:
            for step, (xb, _, _) in enumerate(batches):
                parts.append(self.predict_step(xb))
                bar.done = step + 1
                bar.update(step + 1, {})
        finally:
            batches.close()
        bar.close({})
        return np.concatenate(parts) if parts else np.empty((0, self.output_units), self.dtype)

    def evaluate(self, x, y=None, batch_size: int | None = None, verbose: int = 0,
                 return_dict=False, sample_weight=None, steps=None):
        """The loss and the metrics on (x, y), one ``test_step`` per batch: a float when
        there are no metrics, else a list ``[loss, metric...]`` (or a dict with
        ``return_dict=True``).  ``sample_weight`` weights the samples in the loss (as
        in :meth:`fit`); verbose=1 shows progress.  ``x`` may be a data source, as in
        :meth:`fit` (``steps``: the first ``steps`` batches of a PyDataset or iterable);
        ``batch_size`` is 1024 by default for arrays."""
        self._check_compiled("evaluate")
        kind = data_adapters.kind_of(x)
        if kind != "array":
            source = self._source_adapter(x, y, sample_weight,
                                          self._inference_batch(batch_size, x), False, steps,
                                          "evaluate", sequential=True)
            try:
                if not self.built:
                    self.check_input(source.first_x())
                values = self._evaluate_source(source, verbose)
            finally:
                source.close()  # a generator's reading thread
        else:
            if y is None:
                raise ValueError("evaluate: y is required with arrays x")
            batch_size = 1024 if batch_size is None else batch_size
            _positive_int(batch_size, "batch_size")
            x = check_array(x, "x", dtype=self.dtype, allow_nd=True)
            self.check_input(x)
            y = self.check_targets(y, len(x))
            weights = check_sample_weight(sample_weight, len(x), "sample_weight")
            batch_size = predict_batch_size(self, batch_size)  # bounded memory, as predict
            values = self._evaluate_source(data_adapters.ArrayAdapter(
                self, x, y, weights, batch_size, sequential=True), verbose)
        if return_dict:
            return values
        return values["loss"] if len(values) == 1 else list(values.values())

    def _evaluate_source(self, source, verbose: int) -> dict:
        """The loss and metrics over every batch of an adapter."""
        steps, batches = source.epoch(None)
        bar = _ProgressBar(steps, None, None, verbose)
        self.reset_metrics()
        try:
            for step, (xb, yb, wb) in enumerate(batches):
                if wb is None:
                    self.test_step(xb, yb)
                else:
                    self.test_step(xb, yb, wb)
                bar.done = step + 1
                if bar.active:
                    bar.update(step + 1, self.metric_results())
        finally:
            batches.close()
        values = self.metric_results()
        bar.close(values)
        return values

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
        if format != "onnx":
            raise ValueError(f"export: format must be 'onnx'; got {format!r}")
        from .interop.onnx import save_onnx

        save_onnx(self, path, opset)

    def save(self, file) -> None:
        """Only a Sequential saves its architecture; use save_weights here."""
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
        """Append a layer (before the model is built)."""
        if not isinstance(layer, layers_module.Layer):
            raise TypeError(f"add: expected a Layer; got {type(layer).__name__}")
        if self.built:
            raise RuntimeError("add: the model is already built; create a new Sequential")
        self._layers.append(layer)

    @property
    def input_shape(self):
        """The sample shape from an Input layer or input_dim, or once built."""
        first = self.layers[0] if self.layers else None
        if isinstance(first, layers_module.Input):
            return first.shape
        if isinstance(first, layers_module.Dense) and first.input_dim:
            return (first.input_dim,)
        return self.layers[0].input_shape if self.built else None

    @property
    def output_units(self) -> int:
        """The number of values the last layer gives per sample."""
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
        """The layers applied in order."""
        if not self.built:  # a Sequential nested in another model builds on first use
            self.build(x.shape[1:])
        out = x
        for layer in self.layers:
            out = layer.call(out, training)
        return out

    @property
    def output_activation(self):
        """The last Dense or Activation layer's registered activation name."""
        last = self.layers[-1] if self.layers else None
        if isinstance(last, (layers_module.Dense, layers_module.Activation)):
            return activations.registered_name(last.activation)
        return None

    def logits(self, x, training=False):
        """The output with the last layer's activation left out."""
        out = x
        for layer in self.layers[:-1]:
            out = layer.call(out, training)
        last = self.layers[-1]
        if isinstance(last, layers_module.Dense):
            return last.pre_activation(out)
        return out  # an Activation layer: its input is the logits

    # -- model files ---------------------------------------------------------------------
    def get_config(self) -> dict:
        """The architecture as JSON-serialisable data (model files)."""
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
                **({"outputs": self._compile_config()} if "graph" in manifest["model"]
                   else {}),
                "loss": losses.serialize(self.loss),
                "metrics": [metrics_module.serialize(m) for m in self.metrics],
                "optimizer": optimizers.serialize(self.optimizer),
                "iterations": self.optimizer.iterations,
            }
            for i, s in enumerate(self.optimizer.get_state()):
                arrays[f"optimizer_{i}"] = s
        write_archive(file, manifest, arrays)


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
    its config: the playground's export, and a readable record of any Sequential (and
    of a functional model: :func:`nnlearn.functional.python_source`)."""
    if "graph" in getattr(model, "get_config", dict)():
        from .functional import python_source as functional_source

        return functional_source(model, variable, imports)
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
    terminal or a notebook; otherwise (and with verbose=2) one line per epoch is printed.
    ``epoch`` is None for evaluate and predict.  ``steps`` is None when the number of
    batches is not known (a generator without steps_per_epoch): the steps taken are shown.

    The live bar is only for the epoch in progress (tqdm cuts it at the terminal's
    width); when the epoch ends it is removed (``leave=False``) and the epoch's final
    line is printed as plain text, with every metric: a narrow terminal wraps it, as
    Keras's does, and a saved notebook keeps it (the widget's state is not saved)."""

    WIDTH = 30  # characters of the bar

    def __init__(self, steps: int | None, epoch, epochs, verbose: int):
        self.steps, self.verbose, self.start = steps, verbose, time.perf_counter()
        self.bar, self.done = None, 0  # done: the steps taken (a count when steps is None)
        if verbose and epoch is not None:
            print(f"Epoch {epoch + 1}/{epochs}", flush=True)
        if verbose == 1:
            try:
                from tqdm.auto import tqdm  # a live widget in Jupyter, text elsewhere
            except ImportError:
                return
            self.bar = tqdm(total=steps, file=sys.stdout, ascii=".>=", dynamic_ncols=True,
                            bar_format="{n_fmt}/{total_fmt} [{bar:30}] - {elapsed_s:.0f}s - "
                                       "{desc}", disable=None, leave=False)

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
        """Remove the live bar and print the final line, every metric in it."""
        if not self.verbose:
            return
        seconds = time.perf_counter() - self.start
        line = f"{self.done}" if self.steps is None else f"{self.steps}/{self.steps}"
        if self.active:
            self.bar.close()
            line += f" [{'=' * self.WIDTH}]"
        line += f" - {seconds:.0f}s"
        print(f"{line} - {self._format(logs)}" if logs else line, flush=True)
