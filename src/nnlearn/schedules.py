r"""Learning-rate schedules ("start with a large step size, then cool down"), usable
as ``learning_rate=`` of any optimizer (the optimizers' :func:`scale_by_learning_rate`
transform evaluates it once per step).  A schedule maps the step count t (0 for the
first update) to a learning rate $\alpha_t$.

==========================  ==============================================================
StepDecay                   a0 * drop^floor(t / every)
ExponentialDecay            a0 * exp(-k t)
InverseTimeDecay            a0 / (1 + k t)
CosineDecayRestarts         SGDR (Loshchilov & Hutter 2017): within a cycle of length T_i,
                            a_min + (a0 - a_min) (1 + cos(pi t_cur / T_i)) / 2;
                            cycles T_0, T_0 T_mult, T_0 T_mult^2, ...
PiecewiseConstantDecay      values[i] while boundaries[i-1] <= t < boundaries[i]
==========================  ==============================================================
"""

from __future__ import annotations

import math

from ._registry import lookup

__all__ = ["Schedule", "StepDecay", "ExponentialDecay", "InverseTimeDecay",
           "CosineDecayRestarts", "PiecewiseConstantDecay", "get", "serialize"]


def _positive(value, name, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be a {'non-negative' if allow_zero else 'positive'} "
                         f"number; got {value!r}")
    return value


class Schedule:
    """Base class: ``schedule(t) -> learning rate``; ``get_config`` gives the arguments."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    def get_config(self) -> dict:
        """The constructor arguments (saved in model files)."""
        return dict(self.__dict__)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class StepDecay(Schedule):
    r"""$\alpha_t = \alpha_0 \, \mathrm{drop}^{\lfloor t / \mathrm{every} \rfloor}$: the
    rate cut by ``drop`` every ``every`` steps (step decay)."""
    def __init__(self, initial_learning_rate: float, drop: float = 0.5, every: int = 1000):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.drop = _positive(drop, "drop")
        self.every = int(_positive(every, "every"))

    def __call__(self, step):
        return self.initial_learning_rate * self.drop ** (step // self.every)


class ExponentialDecay(Schedule):
    r"""$\alpha_t = \alpha_0 e^{-k t}$ (exponential decay)."""
    def __init__(self, initial_learning_rate: float, k: float):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.k = _positive(k, "k", allow_zero=True)

    def __call__(self, step):
        return self.initial_learning_rate * math.exp(-self.k * step)


class InverseTimeDecay(Schedule):
    r"""$\alpha_t = \alpha_0 / (1 + k t)$: the 1/t decay of stochastic approximation
    (Robbins & Monro 1951), whose steps sum to infinity while their squares do not."""
    def __init__(self, initial_learning_rate: float, k: float):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.k = _positive(k, "k", allow_zero=True)

    def __call__(self, step):
        return self.initial_learning_rate / (1 + self.k * step)


class CosineDecayRestarts(Schedule):
    r"""SGDR (Loshchilov & Hutter 2017): within a cycle of length $T_i$,

    $$\alpha_t = \alpha_{\min} + \frac{\alpha_0 - \alpha_{\min}}{2}
      \left(1 + \cos\frac{\pi t_{cur}}{T_i}\right),$$

    the cycle length starting at $T_0$ and multiplied by $T_{mult}$ at each restart.

    Parameters
    ----------
    initial_learning_rate : float
        a_0, the rate at the start of each cycle.
    T_0 : int
        The first cycle's length in steps.
    T_mult : int
        The factor by which each cycle is longer than the one before.
    min_learning_rate : float
        a_min, the rate at the end of each cycle.
    """
    def __init__(self, initial_learning_rate: float, T_0: int, T_mult: int = 1,  # noqa: N803
                 min_learning_rate: float = 0.0):
        self.initial_learning_rate = _positive(initial_learning_rate, "initial_learning_rate")
        self.T_0 = int(_positive(T_0, "T_0"))
        if not isinstance(T_mult, int) or T_mult < 1:
            raise ValueError(f"T_mult must be an integer >= 1; got {T_mult!r}")
        self.T_mult = T_mult
        self.min_learning_rate = _positive(min_learning_rate, "min_learning_rate",
                                           allow_zero=True)

    def __call__(self, step):
        t_cur, t_i = step, self.T_0
        while t_cur >= t_i:  # find the current cycle
            t_cur -= t_i
            t_i *= self.T_mult
        cosine = (1 + math.cos(math.pi * t_cur / t_i)) / 2
        return self.min_learning_rate + (self.initial_learning_rate
                                         - self.min_learning_rate) * cosine


class PiecewiseConstantDecay(Schedule):
    r"""$\alpha_t$ = ``values[i]`` while ``boundaries[i-1]`` $\le t <$ ``boundaries[i]``;
    the last value after the last boundary (piecewise constant, Keras's name)."""
    def __init__(self, boundaries, values):
        boundaries, values = list(boundaries), list(values)
        if len(values) != len(boundaries) + 1:
            raise ValueError(f"values must have one more entry than boundaries; got "
                             f"{len(values)} values and {len(boundaries)} boundaries")
        if boundaries != sorted(boundaries):
            raise ValueError(f"boundaries must be increasing; got {boundaries}")
        for v in values:
            _positive(v, "values", allow_zero=True)
        self.boundaries, self.values = boundaries, values

    def __call__(self, step):
        for boundary, value in zip(self.boundaries, self.values):
            if step < boundary:
                return value
        return self.values[-1]


SCHEDULES = {cls.__name__: cls for cls in (StepDecay, ExponentialDecay, InverseTimeDecay,
                                           CosineDecayRestarts, PiecewiseConstantDecay)}


def serialize(schedule: Schedule) -> dict:
    """``{"class_name": ..., "config": ...}`` of a schedule (model files)."""
    return {"class_name": type(schedule).__name__, "config": schedule.get_config()}


def get(identifier) -> Schedule:
    """A schedule from an instance or a ``{"class_name": ..., "config": ...}`` dict."""
    if isinstance(identifier, Schedule):
        return identifier
    if isinstance(identifier, dict):
        lookup_table = {k.lower(): v for k, v in SCHEDULES.items()}
        cls = lookup("schedule", lookup_table, identifier.get("class_name", ""), "learning_rate")
        return cls(**identifier.get("config", {}))
    raise TypeError(f"learning_rate schedule must be a Schedule or a config dict; "
                    f"got {type(identifier).__name__}")
