"""Seeded generators for the curriculum's synthetic data sets and TensorFlow Playground's 2-D
sets.  Every generator takes ``n_samples``, ``noise`` and ``random_state`` and returns
``(X, y)`` with X of shape (n_samples, n_features).

Curriculum: ``make_line`` (y = 0.5 x + 0.5 + N(0, 0.25)), ``make_study_hours``
(pass/fail against hours studied), ``make_grades`` (4 grades from initial knowledge and
study time), ``make_sin`` (sin(pi x) + noise on [-1, 1]), ``make_logic_gate``.

Playground (its dataset.ts, with ``noise`` the fraction its slider shows in percent):
classification ``make_circle``, ``make_xor``, ``make_gaussian``, ``make_spiral`` (labels
0 / 1 for the playground's -1 / +1), regression ``make_plane``,
``make_gaussian_regression`` (targets in [-1, 1]; the plane's reach +-1.2); points lie
in [-6, 6]^2 (the circle, xor and spiral sets in [-5.3, 5.3]^2).

The generators that build one class after the other (``make_circle``, ``make_gaussian``,
``make_spiral``, ``make_study_hours``) shuffle the samples by default (``shuffle=True``, as
scikit-learn's generators do): ``validation_split`` takes the *last* samples, and on
class-sorted data it would hold out a single class.
"""

from __future__ import annotations

import numpy as np

__all__ = ["make_line", "make_study_hours", "make_grades", "make_sin", "make_logic_gate",
           "make_circle", "make_xor", "make_gaussian", "make_spiral", "make_plane",
           "make_gaussian_regression"]


def _shuffled(rng, shuffle, X, y):
    """``(X, y)`` in one random order (the same for both) when ``shuffle``."""
    if not shuffle:
        return X, y
    order = rng.permutation(len(y))
    return X[order], y[order]


def _setup(n_samples, noise, random_state, noise_max=None):
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) \
            or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
    if not isinstance(noise, (int, float)) or noise < 0 or \
            (noise_max is not None and noise > noise_max):
        bound = f" and at most {noise_max}" if noise_max is not None else ""
        raise ValueError(f"noise must be >= 0{bound}; got {noise!r}")
    return np.random.default_rng(random_state)


# -- the curriculum's data sets ------------------------------------------------------------
def make_line(n_samples=100, noise=0.25, slope=0.5, intercept=0.5, random_state=None):
    """X uniform on [0, 10), y = slope X + intercept + N(0, noise^2)."""
    rng = _setup(n_samples, noise, random_state)
    x = 10.0 * rng.random(n_samples)
    return x.reshape(-1, 1), slope * x + intercept + rng.normal(0, noise, n_samples)


def make_study_hours(n_samples=100, noise=0.0, random_state=None, shuffle=True):
    """Half the students fail after U(0, 35) hours, half pass after
    30 + U(0, 25) hours (the groups overlap at 30-35 h); ``noise`` adds N(0, noise^2)
    hours.  ``shuffle=False`` returns the failing students first."""
    rng = _setup(n_samples, noise, random_state)
    fail = n_samples // 2
    hours = np.concatenate([rng.random(fail) * 35, 30 + rng.random(n_samples - fail) * 25])
    hours = hours + rng.normal(0, noise, n_samples) if noise else hours
    return _shuffled(rng, shuffle, hours.reshape(-1, 1),
                     np.repeat([0, 1], [fail, n_samples - fail]))


def make_grades(n_samples=1000, noise=5.0, random_state=None):
    """Initial knowledge U(0, 100) and study time U(0, 50) hours; the score
    N(knowledge + 2 time, noise^2) gives grade 0 (<= 50), 1 (<= 70), 2 (<= 90) or 3."""
    rng = _setup(n_samples, noise, random_state)
    X = rng.random((n_samples, 2)) * [100, 50]
    score = rng.normal(X[:, 0] + 2 * X[:, 1], noise) if noise else X[:, 0] + 2 * X[:, 1]
    return X, np.digitize(score, [50, 70, 90], right=True)


def make_sin(n_samples=20, noise=0.1, random_state=None):
    """x uniform on [-1, 1), y = sin(pi x) + N(0, noise^2)."""
    rng = _setup(n_samples, noise, random_state)
    x = 2 * rng.random(n_samples) - 1
    return x.reshape(-1, 1), np.sin(np.pi * x) + rng.normal(0, noise, n_samples)


_GATES = {"and": lambda a, b: a & b, "or": lambda a, b: a | b, "xor": lambda a, b: a ^ b,
          "nand": lambda a, b: 1 - (a & b), "nor": lambda a, b: 1 - (a | b)}


def make_logic_gate(gate="xor", n_samples=4, noise=0.0, random_state=None):
    """The truth table of a two-input gate; more than 4 samples repeat
    it, and ``noise`` jitters the inputs with N(0, noise^2)."""
    if gate not in _GATES:
        raise ValueError(f"gate must be one of {sorted(_GATES)}; got {gate!r}")
    rng = _setup(n_samples, noise, random_state)
    table = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    X = table[np.arange(n_samples) % 4]
    y = _GATES[gate](X[:, 0], X[:, 1])
    X = X + rng.normal(0, noise, X.shape) if noise else X.astype(float)
    return X, y


# -- TensorFlow Playground -------------------------------------------------------------------
def make_circle(n_samples=200, noise=0.0, random_state=None, shuffle=True):
    """Half the points at radius U(0, 2.5) (class 1), half at U(3.5, 5) (class 0);
    the label is decided after noise U(-5, 5) noise is added to the coordinates.
    ``shuffle=False`` returns the inner points first."""
    rng = _setup(n_samples, noise, random_state, noise_max=1.0)
    radius = 5.0
    half = n_samples // 2
    r = np.concatenate([rng.uniform(0, radius * 0.5, half),
                        rng.uniform(radius * 0.7, radius, n_samples - half)])
    angle = rng.uniform(0, 2 * np.pi, n_samples)
    X = np.stack([r * np.sin(angle), r * np.cos(angle)], axis=1)
    jitter = rng.uniform(-radius, radius, X.shape) * noise
    y = (np.hypot(*(X + jitter).T) < radius * 0.5).astype(int)
    return _shuffled(rng, shuffle, X, y)


def make_xor(n_samples=200, noise=0.0, random_state=None):
    """Points in the four quadrants (kept 0.3 away from the axes); class 1 where
    x1 x2 >= 0 after noise U(-5, 5) noise."""
    rng = _setup(n_samples, noise, random_state, noise_max=1.0)
    X = rng.uniform(-5, 5, (n_samples, 2))
    X += np.where(X > 0, 0.3, -0.3)
    jitter = rng.uniform(-5, 5, X.shape) * noise
    noisy = X + jitter
    return X, (noisy[:, 0] * noisy[:, 1] >= 0).astype(int)


def make_gaussian(n_samples=200, noise=0.0, random_state=None, shuffle=True):
    """Two Gaussian clouds at (2, 2) (class 1) and (-2, -2) (class 0), with standard
    deviation growing from 0.5 (noise 0) to 4 (noise 0.5).  ``shuffle=False`` returns
    class 1 first."""
    rng = _setup(n_samples, noise, random_state, noise_max=1.0)
    spread = 0.5 + noise * (4 - 0.5) / 0.5
    half = n_samples // 2
    y = np.repeat([1, 0], [half, n_samples - half])
    centres = np.where(y[:, None] == 1, 2.0, -2.0)
    return _shuffled(rng, shuffle, rng.normal(centres, spread, (n_samples, 2)), y)


def make_spiral(n_samples=200, noise=0.0, random_state=None, shuffle=True):
    """Two interleaved spirals: r = 5 i / n, t = 1.75 * 2 pi i / n (+ pi for class 0),
    points (r sin t, r cos t) + U(-1, 1) noise.  ``shuffle=False`` returns class 1
    first, each spiral from its centre outwards."""
    rng = _setup(n_samples, noise, random_state, noise_max=1.0)
    half = n_samples // 2
    parts_X, parts_y = [], []
    for label, delta, count in ((1, 0.0, half), (0, np.pi, n_samples - half)):
        i = np.arange(count)
        r = i / count * 5
        t = 1.75 * i / count * 2 * np.pi + delta
        parts_X.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
                       + rng.uniform(-1, 1, (count, 2)) * noise)
        parts_y.append(np.full(count, label))
    return _shuffled(rng, shuffle, np.concatenate(parts_X), np.concatenate(parts_y))


def make_plane(n_samples=200, noise=0.0, random_state=None):
    """Points uniform in [-6, 6]^2, target (x1 + x2) / 10 computed at coordinates moved
    by U(-6, 6) noise."""
    rng = _setup(n_samples, noise, random_state, noise_max=1.0)
    X = rng.uniform(-6, 6, (n_samples, 2))
    noisy = X + rng.uniform(-6, 6, X.shape) * noise
    return X, (noisy[:, 0] + noisy[:, 1]) / 10


_BUMPS = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]


def make_gaussian_regression(n_samples=200, noise=0.0, random_state=None):
    """Six bumps of alternating sign; the target is the strongest bump's
    sign * max(1 - distance / 2, 0), computed at coordinates moved by U(-6, 6) noise."""
    rng = _setup(n_samples, noise, random_state, noise_max=1.0)
    X = rng.uniform(-6, 6, (n_samples, 2))
    noisy = X + rng.uniform(-6, 6, X.shape) * noise
    values = np.stack([sign * np.clip(1 - np.hypot(noisy[:, 0] - cx, noisy[:, 1] - cy) / 2,
                                      0, 1) for cx, cy, sign in _BUMPS], axis=1)
    strongest = np.argmax(np.abs(values), axis=1)
    return X, values[np.arange(n_samples), strongest]
