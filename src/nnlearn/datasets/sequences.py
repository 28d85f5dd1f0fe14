"""Seeded sequence data sets for recurrent networks: samples are ``(steps, features)``
(Keras's layout); every generator takes ``n_samples`` and ``random_state``.

``make_sine_forecast``   a noisy sine wave; predict its next clean value(s)
``make_adding_problem``  the long-range dependency test of Hochreiter & Schmidhuber
                         (1997, experiment 4): add the two marked numbers of a sequence
``make_copy_memory``     remember symbols over a delay and copy them back (Hochreiter &
                         Schmidhuber 1997, experiment 2's long time lags; the copy-memory
                         form of Arjovsky, Shah & Bengio 2016)
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_sine_forecast", "make_adding_problem", "make_copy_memory"]


def _count(value, name: str, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def make_sine_forecast(n_samples=1000, steps=40, horizon=1, noise=0.05,
                       period=(15.0, 30.0), random_state=None):
    """Windows of ``steps`` values of ``sin(2 pi t / p + phase) + N(0, noise^2)`` (random
    phase, period p uniform in ``period``) and, as targets, the next ``horizon`` values
    of the clean wave.

    Returns X (n_samples, steps, 1) and y (n_samples, horizon) (float64).  Predicting the
    last seen value scores about ``(2 pi / p)^2 / 2`` MSE (the wave moves), a network that
    has learnt the wave much less."""
    n_samples, steps = _count(n_samples, "n_samples"), _count(steps, "steps", 2)
    horizon = _count(horizon, "horizon")
    if (isinstance(noise, bool) or not isinstance(noise, (int, float, np.integer, np.floating))
            or not np.isfinite(noise) or noise < 0):
        raise ValueError(f"noise must be a finite number >= 0; got {noise!r}")
    try:
        low, high = (float(v) for v in period)
    except (TypeError, ValueError):
        low = high = float("nan")
    if not 0 < low <= high < np.inf:
        raise ValueError(f"period must be (low, high) with 0 < low <= high; got {period!r}")
    rng = np.random.default_rng(random_state)
    p = rng.uniform(low, high, (n_samples, 1))
    phase = rng.uniform(0, 2 * np.pi, (n_samples, 1))
    t = np.arange(steps + horizon)[None, :]
    clean = np.sin(2 * np.pi * t / p + phase)
    x = clean[:, :steps] + rng.normal(0, noise, (n_samples, steps))
    return x[..., None], clean[:, steps:]


def make_adding_problem(n_samples=1000, steps=50, random_state=None):
    """The adding problem (Hochreiter & Schmidhuber 1997, section 5.4): each step holds
    a number uniform in [0, 1] and a marker; two steps are marked, one in each half of
    the sequence, and the target is the sum of their numbers.  Between the first mark
    and the end lie at least ``steps / 2`` steps: the delay a network must bridge.

    Returns X (n_samples, steps, 2) (number, marker) and y (n_samples,).  Always
    answering 1, the mean, scores the variance of the sum, 2 / 12 = 0.167 MSE."""
    n_samples, steps = _count(n_samples, "n_samples"), _count(steps, "steps", 2)
    rng = np.random.default_rng(random_state)
    x = np.zeros((n_samples, steps, 2))
    x[:, :, 0] = rng.random((n_samples, steps))
    half = steps // 2
    first = rng.integers(0, half, n_samples)
    second = rng.integers(half, steps, n_samples)
    rows = np.arange(n_samples)
    x[rows, first, 1] = 1.0
    x[rows, second, 1] = 1.0
    return x, x[rows, first, 0] + x[rows, second, 0]


def make_copy_memory(n_samples=1000, delay=20, length=5, n_symbols=8, random_state=None):
    """The copy-memory task: ``length`` random symbols (1..n_symbols), ``delay`` blanks
    (0) whose last is replaced by a "go" marker (n_symbols + 1), then ``length`` blanks
    during which the symbols must be output in order.

    Returns X and y, integer arrays (n_samples, length + delay + length): y is blank (0)
    everywhere but the last ``length`` steps, which hold the symbols.  For an Embedding
    and a TimeDistributed softmax over n_symbols + 2 classes; guessing a symbol at
    random is right 1 / n_symbols of the time on the copied steps."""
    n_samples, delay = _count(n_samples, "n_samples"), _count(delay, "delay")
    length, n_symbols = _count(length, "length"), _count(n_symbols, "n_symbols")
    rng = np.random.default_rng(random_state)
    steps = 2 * length + delay
    symbols = rng.integers(1, n_symbols + 1, (n_samples, length))
    x = np.zeros((n_samples, steps), np.int64)
    x[:, :length] = symbols
    x[:, length + delay - 1] = n_symbols + 1
    y = np.zeros_like(x)
    y[:, -length:] = symbols
    return x, y
