"""Training callbacks (Keras's names): hooks that ``fit`` calls as training proceeds.

``fit`` calls ``set_model(model)``, then ``on_train_begin(logs)``, and for every epoch
``on_epoch_begin(epoch, logs)``, ``on_batch_end(batch, logs)`` after each update (logs
holding the batch's ``loss``) and ``on_epoch_end(epoch, logs)`` (the epoch's losses and
metrics, ``val_*`` included), finally ``on_train_end(logs)``.  A callback stops training
by calling ``model.stop(StopReason(kind, message))``; ``model.stop_reason`` then says why.
"""

from __future__ import annotations

import csv
import dataclasses
import enum
import math
import os

import numpy as np

from . import schedules

__all__ = ["StopKind", "StopReason", "Callback", "EarlyStopping", "ReduceLROnPlateau",
           "LearningRateScheduler", "ModelCheckpoint", "TerminateOnNaN", "DivergenceGuard",
           "CSVLogger"]


class StopKind(enum.Enum):
    """Why training stopped before its last epoch."""

    EARLY_STOPPING = "early stopping"        # the monitored value stopped improving
    CONVERGED = "converged"                  # a stopping criterion on the loss was met
    DIVERGED = "diverged"                    # the loss grew past a bound
    NOT_FINITE = "not finite"                # the loss became NaN or infinite
    REQUESTED = "requested"                  # any other reason given to model.stop


@dataclasses.dataclass(frozen=True)
class StopReason:
    """``kind`` (a :class:`StopKind`) and a message for people (``str()`` of it)."""

    kind: StopKind
    message: str

    def __str__(self) -> str:
        return self.message


class Callback:
    """Base class: every hook does nothing."""

    model = None

    def set_model(self, model) -> None:
        """Called by fit before training: the model the hooks act on."""
        self.model = model

    def on_train_begin(self, logs=None):
        """Before the first epoch."""

    def on_epoch_begin(self, epoch, logs=None):
        """Before each epoch (``epoch`` counts from 0)."""

    def on_batch_end(self, batch, logs=None):
        """After each update; ``logs`` holds the batch's loss."""

    def on_epoch_end(self, epoch, logs=None):
        """After each epoch; ``logs`` holds its losses and metrics (val_* too)."""

    def on_train_end(self, logs=None):
        """After the last epoch."""


def check_callbacks(callbacks, name: str = "callbacks") -> list:
    """``callbacks`` (None or a list or tuple of :class:`Callback`) as a list;
    TypeError naming the argument, the position and what was given otherwise."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"{name} must be a list of nnlearn.callbacks.Callback; got "
                        f"{type(callbacks).__name__}")
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(f"{name}[{i}] must be a nnlearn.callbacks.Callback (an instance, "
                            f"e.g. EarlyStopping()); got {callback!r} "
                            f"({type(callback).__name__})")
    return list(callbacks)


class _Monitor(Callback):
    """Tracks the best value of a logged quantity ("min" for losses, "max" otherwise)."""

    def _monitored(self, logs: dict):
        """The monitored value, or None when an epoch cut short by another callback's
        stop has no such value (no validation ran); a value never logged is an error."""
        if self.monitor in logs:
            return float(logs[self.monitor])
        if self.model is not None and self.model.stop_training:
            return None
        raise ValueError(f"{type(self).__name__}: monitor={self.monitor!r} is not among the "
                         f"logged values {sorted(logs)} (val_* needs validation data)")

    def __init__(self, monitor: str, min_delta: float, mode: str):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'; got {mode!r}")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or "accuracy" in monitor) else "min"
        self.monitor, self.min_delta, self.mode = monitor, abs(float(min_delta)), mode
        self.best = math.inf if mode == "min" else -math.inf

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(_Monitor):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs (early stopping: Morgan & Bourlard 1990; Prechelt 1998);
    ``restore_best_weights`` puts back the best epoch's weights.

    Keras's semantics: ``patience=3`` stops at the end of the third epoch in a row
    without improvement (``patience=0`` at the first one).

    Parameters
    ----------
    monitor : str
        The logged value watched, e.g. ``"val_loss"`` (needs validation data) or ``"loss"``.
    patience : int
        Epochs in a row without improvement before stopping.
    min_delta : float
        The smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}
        Whether smaller or larger is better; "auto": larger for accuracies, else smaller.
    restore_best_weights : bool
        When stopping, put back the weights of the best epoch.
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 0, min_delta: float = 0.0,
                 mode: str = "auto", restore_best_weights: bool = False):
        super().__init__(monitor, min_delta, mode)
        self.patience, self.restore_best_weights = int(patience), restore_best_weights

    def on_train_begin(self, logs=None):
        """Reset the wait count, the best value and the saved weights."""
        self.wait, self.best_weights, self.stopped_epoch, self.best_epoch = 0, None, None, None
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        """Compare ``logs[monitor]`` with the best so far; stop training (and restore the
        best weights if asked) after ``patience`` epochs without improvement."""
        value = self._monitored(logs)
        if value is None:
            return
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)
            self.model.stop(StopReason(
                StopKind.EARLY_STOPPING, f"early stopping: {self.monitor} has not improved "
                f"for {self.wait} epochs (best {self.best:.4g} at epoch {self.best_epoch + 1})"))


class ReduceLROnPlateau(_Monitor):
    r"""Multiply the learning rate by ``factor`` when ``monitor`` stops improving for
    ``patience`` epochs ("only decrease when successive iterations do not
    decrease cost"), not below ``min_lr``, then wait ``cooldown`` epochs:

    $$
    \eta \leftarrow \max(\gamma\, \eta,\ \eta_\text{min}),
    $$

    $\gamma$ = ``factor``, $\eta_\text{min}$ = ``min_lr``.

    Parameters
    ----------
    monitor : str
        The logged value watched.
    factor : float
        In (0, 1): the new rate is ``factor`` times the old one.
    patience : int
        Epochs without improvement before a reduction.
    min_delta : float
        The smallest change that counts as an improvement.
    mode : {"auto", "min", "max"}
        Whether smaller or larger is better.
    cooldown : int
        Epochs to wait after a reduction before counting again.
    min_lr : float
        The rate is never reduced below this.
    verbose : int
        1: print each reduction.
    """

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 min_delta: float = 1e-4, mode: str = "auto", cooldown: int = 0,
                 min_lr: float = 0.0, verbose: int = 0):
        if not 0 < factor < 1:
            raise ValueError(f"factor must be in (0, 1); got {factor!r}")
        super().__init__(monitor, min_delta, mode)
        self.factor, self.patience, self.cooldown = factor, int(patience), int(cooldown)
        self.min_lr, self.verbose = float(min_lr), verbose

    def on_train_begin(self, logs=None):
        """Reset the wait and cooldown counts and the best value."""
        self.wait, self.cooldown_left = 0, 0
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, epoch, logs=None):
        """Log the learning rate; after more than ``patience`` epochs without improvement
        multiply it by ``factor`` (not below ``min_lr``) and start the cooldown."""
        value = self._monitored(logs)
        if value is None:
            return
        optimizer = self.model.optimizer
        logs["learning_rate"] = optimizer.current_learning_rate
        if self.cooldown_left:
            self.cooldown_left -= 1
            self.wait = 0
        if self._improved(value):
            self.best, self.wait = value, 0
            return
        if self.cooldown_left:
            return
        self.wait += 1
        if self.wait > self.patience:
            if isinstance(optimizer.learning_rate, schedules.Schedule):
                raise ValueError("ReduceLROnPlateau cannot change a scheduled learning rate")
            new = max(optimizer.learning_rate * self.factor, self.min_lr)
            if new < optimizer.learning_rate:
                optimizer.learning_rate = new
                if self.verbose:
                    print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                          f"to {new:.4g}.")
            self.wait, self.cooldown_left = 0, self.cooldown


class LearningRateScheduler(Callback):
    """Set the learning rate at the start of each epoch to ``schedule(epoch, lr)``."""

    def __init__(self, schedule, verbose: int = 0):
        if not callable(schedule):
            raise TypeError("schedule must be callable as schedule(epoch, lr)")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        """Set the optimizer's learning rate to ``schedule(epoch, lr)`` (a finite value >= 0)."""
        optimizer = self.model.optimizer
        lr = float(self.schedule(epoch, optimizer.current_learning_rate))
        if not math.isfinite(lr) or lr < 0:
            raise ValueError(f"LearningRateScheduler: schedule returned {lr!r} for epoch "
                             f"{epoch}")
        optimizer.learning_rate = lr
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr:.4g}.")


class ModelCheckpoint(_Monitor):
    """Save the model after every epoch (``filepath`` may contain ``{epoch}`` and any
    logged value, e.g. ``"model-{epoch:02d}-{val_loss:.2f}.nnl"``); with
    ``save_best_only`` only when ``monitor`` improved.  Each file is written atomically
    (temporary file + rename) by ``model.save``, or ``model.save_weights`` with
    ``save_weights_only`` (a subclassed Model has no architecture file).

    Parameters
    ----------
    filepath : str or path-like
        The file name, a format string over ``epoch`` (from 1) and the logged values.
    monitor : str
        The logged value watched with ``save_best_only``.
    save_best_only : bool
        Save only when ``monitor`` improved on the best so far.
    mode : {"auto", "min", "max"}
        Whether smaller or larger is better.
    verbose : int
        1: print each save.
    save_weights_only : bool
        Save only the weights (``model.save_weights``).
    """

    def __init__(self, filepath, monitor: str = "val_loss", save_best_only: bool = False,
                 mode: str = "auto", verbose: int = 0, save_weights_only: bool = False):
        super().__init__(monitor, 0.0, mode)
        self.filepath, self.save_best_only, self.verbose = os.fspath(filepath), \
            save_best_only, verbose
        self.save_weights_only = bool(save_weights_only)

    def on_epoch_end(self, epoch, logs=None):
        """Save the model (or its weights) to ``filepath`` formatted with the epoch (from 1)
        and the logs; with ``save_best_only`` only when ``monitor`` improved."""
        if self.save_best_only:
            value = self._monitored(logs)
            if value is None or not self._improved(value):
                return
            self.best = value
        path = self.filepath.format(epoch=epoch + 1, **logs)
        (self.model.save_weights if self.save_weights_only else self.model.save)(path)
        if self.verbose:
            print(f"Epoch {epoch + 1}: saved model to {path}")


class TerminateOnNaN(Callback):
    """Stop as soon as a batch's loss is NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        """Stop training when the batch's loss is NaN or infinite."""
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            self.model.stop(StopReason(StopKind.NOT_FINITE, f"batch {batch}: invalid loss "
                                       f"{loss}, terminating training"))


class DivergenceGuard(Callback):
    r"""Stop when a batch's loss $L_t$ exceeds ``factor`` $c$ times the loss before the
    first update, $L_t > c\, L_0$, or is not finite (Karpathy's CS231n tip: "if the cost
    is ever > 3 * original cost, break out early"), with a message that says what to try.

    The loss before the first update is the first batch's: ``train_step`` computes a
    batch's loss before it updates the weights.  After a stop, ``first`` and ``last``
    hold the two losses compared and ``diverged`` is True."""

    def __init__(self, factor: float = 3.0):
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or \
                not factor > 1:
            raise ValueError(f"factor must be a number > 1; got {factor!r}")
        self.factor = float(factor)
        self.first = self.last = None
        self.diverged = False

    def on_train_begin(self, logs=None):
        """Forget the losses of an earlier fit."""
        self.first = self.last = None
        self.diverged = False

    def on_batch_end(self, batch, logs=None):
        """Remember the first finite loss; stop training when a later one exceeds ``factor``
        times it or is not finite."""
        loss = logs.get("loss")
        if loss is None:
            return
        if self.first is None and math.isfinite(loss):
            self.first = loss
            return
        if not math.isfinite(loss) or (self.first is not None
                                       and loss > self.factor * self.first):
            self.last, self.diverged = loss, True
            lr = self.model.optimizer.current_learning_rate
            grew = f"the loss reached {loss:.4g}" if self.first is None else \
                f"the loss grew from {self.first:.4g} to {loss:.4g}"
            self.model.stop(StopReason(
                StopKind.DIVERGED, f"training diverged: {grew} (more than {self.factor:g}x "
                f"its value before the first update); the learning rate {lr:.4g} is "
                "probably too high"))


class CSVLogger(Callback):
    """Append each epoch's logs as a row of a CSV file (header written once).

    Parameters
    ----------
    filename : str or path-like
        The CSV file.
    separator : str
        The field delimiter.
    append : bool
        Add to an existing file (no second header) instead of overwriting it.
    """

    def __init__(self, filename, separator: str = ",", append: bool = False):
        self.filename, self.separator, self.append = os.fspath(filename), separator, append

    def on_train_begin(self, logs=None):
        """Open the file (appending or truncating)."""
        exists = self.append and os.path.exists(self.filename) \
            and os.path.getsize(self.filename) > 0
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.writer, self.header_written = None, exists

    def on_epoch_end(self, epoch, logs=None):
        """Write the epoch's logs as one row (the header before the first row of a new file)."""
        row = {"epoch": epoch, **{k: (float(v) if isinstance(v, (float, np.floating)) else v)
                                  for k, v in logs.items()}}
        if self.writer is None:
            self.writer = csv.DictWriter(self.file, fieldnames=list(row),
                                         delimiter=self.separator, extrasaction="ignore")
            if not self.header_written:
                self.writer.writeheader()
        self.writer.writerow(row)
        self.file.flush()

    def on_train_end(self, logs=None):
        """Close the file."""
        self.file.close()
