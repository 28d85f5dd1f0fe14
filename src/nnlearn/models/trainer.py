"""The training loop every model inherits (as Keras 3's ``Trainer``): ``compile``, the
training step everything else is built on, and ``fit``, ``evaluate`` and ``predict``.

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

This module is long because the loop is one class's methods (Keras's ``Trainer`` is one
class for the same reason): the steps, the three loops over them, and the data sources
they accept (arrays, lazily indexed arrays, datasets, generators, Dask arrays:
:mod:`nnlearn.data`).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import activations, losses, optimizers
from ..lowering import planner
from ..lowering.blas import blas_threads
from ..lowering.heap import keep_freed_blocks
from .. import layers as layers_module
from .. import metrics as metrics_module
from .._validation import (all_finite, check_array, check_fraction, check_in_range,
                           check_positive_int, check_sample_weight, check_verbose,
                           checking_keywords)
from ..autograd import as_tensor, no_grad, sum_of_squares
from ..callbacks import StopKind, StopReason, check_callbacks
from ..data import adapters as data_adapters
from .files import predict_batch_size
from .progress import ProgressBar


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


class Trainer:
    """What a model does with data: compile, train, evaluate, predict (see the module)."""

    # -- compile -------------------------------------------------------------------------
    @checking_keywords
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
        return self.output_head()[0]

    def output_head(self):
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
        try:
            (loss or self.loss).check_targets(y, self.output_units if units is None else units,
                                              argument)
        except ValueError as err:
            shape = self._sample_output_shape() if units is None else None
            if shape is not None and len(shape) > 1 and y.shape[1:] != tuple(shape) \
                    and y.shape[1:] in ((), (1,), (shape[-1],)):
                # one target per sample, a prediction per position: say why
                raise ValueError(f"{err} {losses.per_position_hint((n, *shape))}") from None
            raise
        return y

    def _sample_output_shape(self):
        """The shape of the model's output for one sample, once known (None here: a model
        that knows it says so)."""
        return None

    def compute_loss(self, x, y, training: bool = False, sample_weight=None):
        """(objective, predictions): the loss of the batch (its samples weighted by
        ``sample_weight``, see :class:`nnlearn.losses.Loss`) plus the penalties, as a
        Tensor, and the model's outputs as an array.  The penalties are the layers' own
        (:meth:`regularization`) and, for a loss that declares one (scikit-learn's
        objective), ``kernel_penalty / N * sum ||W||^2`` over every kernel, N the loss's
        normalizer of the batch."""
        fused, activation = self.output_head()
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
        (:func:`nnlearn.lowering.planner.plan`; ``print(model.plan().explain())``)."""
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
        decides (:mod:`nnlearn.lowering.planner`; :meth:`plan` says which and why), as
        it decides the BLAS's threads for a step of small products (one) and the C
        heap's thresholds (:mod:`nnlearn.lowering.heap`, set once per process)."""
        if not self.built:  # the first batch builds the model, as a first call would
            self.check_input(np.asarray(x))
        keep_freed_blocks()  # once per process: the heap keeps the step's arrays mapped
        threads = planner.step_threads(self, len(x)) if type(x) is np.ndarray else None
        if threads is None:
            return self._train_step(x, y, sample_weight)
        with blas_threads(threads):
            return self._train_step(x, y, sample_weight)

    def _train_step(self, x, y, sample_weight) -> dict:
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

        objective = closure
        if self.optimizer.needs_residuals:  # Levenberg-Marquardt: r and dr/dw of the batch
            if sample_weight is not None:
                raise ValueError(f"{type(self.optimizer).__name__} fits residuals: it cannot "
                                 "weight samples (sample_weight, class_weight)")
            residuals = optimizers.least_squares_residuals(
                self, x, y, self.optimizer.max_jacobian_entries)
            objective = optimizers.Objective(params, closure, residuals=residuals)
        loss = self.optimizer.minimize(params, objective)
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
        """The outputs for a batch, without building a graph (a Dense stack's by the
        compiled forward where the planner chooses it:
        :func:`nnlearn.lowering.planner.compiled_forward`)."""
        forward = planner.compiled_forward(self, x)
        if forward is not None:
            outputs = forward(x)
            if outputs is not None:
                return outputs
        with no_grad():
            return self(x, training=False).data

    # -- the loops -----------------------------------------------------------------------
    @checking_keywords
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
        verbose, callbacks = check_verbose(verbose), check_callbacks(callbacks)
        train, validation = self._training_source(
            x, y, epochs, batch_size, initial_epoch, validation_split, validation_data,
            sample_weight, class_weight, shuffle, steps_per_epoch)
        batch_size = 32 if batch_size is None else batch_size
        for callback in callbacks:
            callback.set_model(self)
        history = self.history = History()
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
                logs = self._fit_epoch(train, validation, epoch, epochs, entropy if draws
                                       else None, callbacks, step_function, batch_size,
                                       verbose)
                history.record(epoch, logs)
                if self.stop_training:
                    if verbose and self.stop_reason:
                        print(f"Stopped after epoch {epoch + 1}: {self.stop_reason}")
                    break
        finally:
            train.close()
        for callback in callbacks:
            callback.on_train_end({})
        return history

    def _fit_epoch(self, train, validation, epoch: int, epochs: int, entropy, callbacks,
                   step_function, batch_size: int, verbose: int) -> dict:
        """One epoch of fit: its batches (``train``, an adapter of :mod:`nnlearn.data`),
        the validation, the progress bar and the callbacks around them; its logs.  Every
        epoch's randomness derives from (seed, epoch) (``entropy`` None: none is drawn),
        so training resumed at ``initial_epoch=k`` replays epochs k.. exactly as an
        uninterrupted run would."""
        keep_freed_blocks()  # once per process (nnlearn.lowering.heap), whatever the step
        epoch_seed = None if entropy is None else np.random.SeedSequence([entropy, epoch])
        for callback in callbacks:
            callback.on_epoch_begin(epoch, {})
        train.on_epoch_begin()
        steps, batches = train.epoch(epoch_seed)
        bar = ProgressBar(steps, epoch, epochs, verbose)
        try:  # a bad batch raises here, before the epoch's end (no checkpoint)
            logs = self._train_epoch(batches, epoch_seed, callbacks, bar, step_function)
        finally:
            batches.close()  # stops and joins the threads reading ahead
        train.on_epoch_end()
        if validation is not None and not self.stop_training:
            values = self._validate(validation, batch_size)
            logs.update({f"val_{k}": v for k, v in values.items()})
        bar.close(logs)
        for callback in callbacks:
            callback.on_epoch_end(epoch, logs)
        return logs

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
        check_positive_int(epochs, "epochs")
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
            check_positive_int(steps, "steps_per_epoch" if where == "fit" else "steps")
        if kind == "dask":
            from ..data import dask as dask_data

            return dask_data.adapter(self, x, y, sample_weight, batch_size, shuffle,
                                     where, class_weight, sequential, targets)
        if kind == "lazy":
            if targets and y is None:
                raise ValueError(f"{where}: y is required with an array x "
                                 f"({type(x).__name__})")
            if steps is not None:
                raise ValueError(f"{where}: steps is for generators and PyDatasets; an "
                                 "epoch of an array is every sample")
            batch_size = check_positive_int(32 if batch_size is None else batch_size,
                                       "batch_size")
            if len(x.shape) < 2:
                raise ValueError(f"{where}: x must have shape (n_samples, ...); got shape "
                                 f"{tuple(x.shape)}")
            n = data_adapters.n_rows(x)
            # targets and weights given as lists or other sequences: in memory, as arrays
            y = y if y is None or data_adapters.is_lazy_array(y) else np.asarray(y)
            if sample_weight is not None and not data_adapters.is_lazy_array(sample_weight):
                sample_weight = np.asarray(sample_weight)
            for name, values in (("y", y), ("sample_weight", sample_weight)):
                if values is not None and data_adapters.n_rows(values) != n:
                    raise ValueError(f"{where}: x and {name} must have the same number of "
                                     f"samples; got {n} and {data_adapters.n_rows(values)}")
            if n == 0:
                raise ValueError(f"{where}: x has no samples (shape {x.shape})")
            if class_weight is not None and sample_weight is not None:
                raise ValueError(f"{where}: give sample_weight or class_weight, not both "
                                 "(multiply the class weights into sample_weight)")
            if self.built or self.input_shape is not None or isinstance(class_weight, str):
                self.check_input(np.empty((0, *x.shape[1:])))  # "balanced" needs the outputs
            if isinstance(class_weight, str):  # "balanced": the counts of every label
                sample_weight = self.class_sample_weights(
                    self.check_targets(data_adapters.read_rows(y, None), n), class_weight)
                class_weight = None
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
        check_positive_int(epochs, "epochs")
        check_positive_int(batch_size, "batch_size")
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
        return (shuffles or type(self).batch_indices is not Trainer.batch_indices
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

    @checking_keywords
    def predict(self, x, batch_size: int | None = None, verbose: int = 0, steps=None):
        """The outputs for x, one ``predict_step`` per batch (1024 samples by default:
        larger batches spend less time in Python per sample); verbose=1 shows progress.
        A batch is made smaller where its largest layer would take more than
        ``nnlearn.models.files.MAX_PREDICT_BATCH_BYTES`` (32 MiB): the outputs are the same.
        Like ``fit`` and ``evaluate``, it sets glibc's heap thresholds for the process
        once (:mod:`nnlearn.lowering.heap`; ``NNLEARN_HEAP=off`` keeps the defaults).

        ``x`` may also be a data source (see :meth:`fit`): a lazily indexed array is
        read a batch at a time, a PyDataset or iterable gives batches ``x`` or ``(x,
        ...)`` (``steps``: the first ``steps`` of them), and a Dask array gives a Dask
        array of the outputs, computed block by block where the blocks are
        (:mod:`nnlearn.data.dask`)."""
        verbose = check_verbose(verbose)
        keep_freed_blocks()  # once per process (nnlearn.lowering.heap)
        kind = data_adapters.kind_of(x)
        if kind == "dask":
            from ..data import dask as dask_data

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
        check_positive_int(batch_size, "batch_size")
        x = check_array(x, "x", dtype=self.dtype, allow_nd=True)
        self.check_input(x)
        batch_size = predict_batch_size(self, batch_size)  # bounded memory (files)
        return self._predict_source(
            data_adapters.ArrayAdapter(self, x, None, None, batch_size, sequential=True),
            verbose)

    def _inference_batch(self, batch_size, x):
        """evaluate's and predict's batch size for source x: 1024 by default for arrays
        (bounded like predict's), None (the source's batches) otherwise."""
        if data_adapters.kind_of(x) not in ("lazy", "dask"):
            return batch_size
        batch_size = check_positive_int(1024 if batch_size is None else batch_size, "batch_size")
        if self.built or self.input_shape is not None:
            self._build_if_shape_known()
            batch_size = predict_batch_size(self, batch_size)
        return batch_size

    def _predict_source(self, source, verbose: int) -> np.ndarray:
        steps, batches = source.epoch(None)
        bar = ProgressBar(steps, None, None, verbose)
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

    @checking_keywords
    def evaluate(self, x, y=None, batch_size: int | None = None, verbose: int = 0,
                 return_dict=False, sample_weight=None, steps=None):
        """The loss and the metrics on (x, y), one ``test_step`` per batch: a float when
        there are no metrics, else a list ``[loss, metric...]`` (or a dict with
        ``return_dict=True``).  ``sample_weight`` weights the samples in the loss (as
        in :meth:`fit`); verbose=1 shows progress.  ``x`` may be a data source, as in
        :meth:`fit` (``steps``: the first ``steps`` batches of a PyDataset or iterable);
        ``batch_size`` is 1024 by default for arrays.  Like ``fit`` and ``predict``, it sets
        glibc's heap thresholds for the process once (:mod:`nnlearn.lowering.heap`)."""
        self._check_compiled("evaluate")
        verbose = check_verbose(verbose)
        keep_freed_blocks()  # once per process (nnlearn.lowering.heap)
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
            check_positive_int(batch_size, "batch_size")
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
        bar = ProgressBar(steps, None, None, verbose)
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
