r"""The learning-rate range test (Smith 2017, "Cyclical learning rates for training neural
networks", section 3.3): train for a short while with a learning rate that grows
geometrically from tiny to huge, one mini-batch per rate, and record the loss: over
$T$ steps the rate of step $t$ is

$$
\eta_t = \eta_\text{start} \left(\frac{\eta_\text{end}}{\eta_\text{start}}\right)^{t / (T - 1)},
\qquad t = 0, \dots, T - 1 .
$$


While the rate is too small the loss stays flat; in a good range it falls, fastest
somewhere in the middle; past the largest stable rate it turns up and diverges.  The
suggested rate is where the (smoothed) loss falls fastest per decade of learning rate;
the minimum of the curve divided by ten is the other common reading (Howard & Gugger
2020, fastai).  The model's weights and optimizer are restored afterwards: the test
changes nothing.

    >>> result = nl.lr_find(model, x, y)        # doctest: +SKIP
    >>> result.suggestion                        # doctest: +SKIP
    0.0316...
    >>> result.plot()                            # doctest: +SKIP
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from .callbacks import Callback

__all__ = ["lr_find", "LRFinderResult"]


@dataclasses.dataclass
class LRFinderResult:
    """What :func:`lr_find` measured.

    Attributes
    ----------
    learning_rates : ndarray
        The rate of each step (geometric, ``start_lr`` to at most ``end_lr``).
    losses : ndarray
        Each step's mini-batch loss, at that step's rate.
    smoothed_losses : ndarray
        Their centred moving average over ``steps // 20`` steps (at least 3), which the
        suggestion reads; centred, so that the curve is not shifted towards larger rates
        as a running average would be.
    suggestion : float
        The rate where the smoothed loss falls fastest per decade, before its minimum.
    min_loss_rate : float
        The rate at the smoothed loss's minimum; ``min_loss_rate / 10`` is the other rule
        of thumb.
    diverged : bool
        True when the test stopped early because the loss blew up (more than
        ``divergence`` times its best).
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed_losses: np.ndarray
    suggestion: float
    min_loss_rate: float
    diverged: bool

    def plot(self, ax=None, title: str | None = None):
        """The loss against the learning rate (log scale), the suggestion marked; see
        :func:`nnlearn.plot.plot_lr_find`."""
        from .plot import plot_lr_find

        return plot_lr_find(self, ax=ax, title=title)


class _RangeTest(Callback):
    def __init__(self, rates, beta, divergence):
        self.rates, self.beta, self.divergence = rates, beta, divergence
        self.losses, self.smoothed = [], []
        self.average, self.best, self.diverged = 0.0, np.inf, False

    def on_train_begin(self, logs=None):
        self.model.optimizer.learning_rate = float(self.rates[0])

    def on_batch_end(self, batch, logs=None):
        loss = float(logs["loss"])
        step = len(self.losses)
        self.losses.append(loss)
        self.average = self.beta * self.average + (1 - self.beta) * loss
        smoothed = self.average / (1 - self.beta ** (step + 1))
        self.smoothed.append(smoothed)
        if not np.isfinite(loss) or (step > 0 and smoothed > self.divergence * self.best):
            self.diverged = True
            self.model.stop("the loss diverged: learning-rate range test over")
            return
        self.best = min(self.best, smoothed)
        if step + 1 >= len(self.rates):
            self.model.stop("learning-rate range test done")
            return
        self.model.optimizer.learning_rate = float(self.rates[step + 1])


def lr_find(model, x, y, start_lr: float = 1e-7, end_lr: float = 10.0, steps: int = 100,
            batch_size: int = 32, smoothing: float = 0.9, divergence: float = 4.0,
            seed: int | None = 0) -> LRFinderResult:
    r"""The learning-rate range test of Smith (2017) on a compiled model.

    One mini-batch update per rate, the rates growing geometrically from ``start_lr`` to
    ``end_lr`` over ``steps`` updates (cycling through ``x`` as often as needed: 100 steps
    of 32 are one pass over 3,200 samples); the test stops early when the smoothed loss
    exceeds ``divergence`` times its best value.  Afterwards the model's weights and its
    optimizer (with its state) are what they were before.

    Parameters
    ----------
    model : a compiled Model (its optimizer, loss and architecture are the ones tested)
    x, y : the training data, as for ``fit``
    start_lr, end_lr : float
        The range of learning rates, ``0 < start_lr < end_lr``.
    steps : int
        The number of updates (and of rates) in the range.
    batch_size : int
    smoothing : float
        The factor $\beta$ of the running (exponential, bias-corrected) average of the
        loss that watches for divergence, $a_t = \beta a_{t-1} + (1 - \beta) L_t$,
        $\bar L_t = a_t / (1 - \beta^{t+1})$ (0: none).
    divergence : float
        Stop when that running average passes this multiple of its minimum so far.
    seed : int or None
        The shuffling of the batches.

    Returns
    -------
    LRFinderResult
        The rates, the losses (raw and smoothed), the suggested rate and the rate at the
        minimum; ``result.plot()`` draws the curve.
    """
    if getattr(model, "optimizer", None) is None:
        raise ValueError("lr_find needs a compiled model: call model.compile(...) first")
    if not 0 < start_lr < end_lr:
        raise ValueError(f"lr_find: need 0 < start_lr < end_lr; got {start_lr}, {end_lr}")
    if steps < 5:
        raise ValueError(f"lr_find: steps must be at least 5; got {steps}")
    if not 0 <= smoothing < 1:
        raise ValueError(f"lr_find: smoothing must be in [0, 1); got {smoothing}")
    x_array = np.asarray(x)
    if not model.built:
        model.build(x_array.shape[1:])
    weights = [w.copy() for w in model.get_weights()]
    original = model.optimizer
    probe = copy.deepcopy(original)
    probe.iterations, probe._state = 0, None
    rates = start_lr * (end_lr / start_lr) ** (np.arange(steps) / (steps - 1))
    test = _RangeTest(rates, smoothing, divergence)
    batches_per_epoch = max(1, -(-len(x_array) // batch_size))
    model.optimizer = probe
    try:
        with np.errstate(all="ignore"):
            model.fit(x, y, epochs=-(-steps // batches_per_epoch), batch_size=batch_size,
                      verbose=0, seed=seed, callbacks=[test])
    finally:
        model.optimizer = original
        model.set_weights(weights)
        model.stop_training, model.stop_reason = False, None
    n = len(test.losses)
    losses = np.array(test.losses)
    smoothed = _centered_average(losses, max(3, steps // 20))
    used = rates[:n]
    finite = np.isfinite(smoothed)
    lowest = int(np.argmin(np.where(finite, smoothed, np.inf)))
    if lowest >= 2:
        slope = np.gradient(smoothed[:lowest + 1], np.log10(used[:lowest + 1]))
        suggestion = float(used[int(np.argmin(slope))])
    else:
        suggestion = float(used[lowest])
    return LRFinderResult(used, losses, smoothed, suggestion, float(used[lowest]),
                          test.diverged)


def _centered_average(values: np.ndarray, window: int) -> np.ndarray:
    """The mean of each value and its neighbours (``window`` in all, fewer at the ends)."""
    values = np.asarray(values, dtype=float)
    half = window // 2
    out = np.empty_like(values)
    for i in range(len(values)):
        part = values[max(0, i - half):i + half + 1]
        part = part[np.isfinite(part)]
        out[i] = part.mean() if part.size else np.nan
    return out
