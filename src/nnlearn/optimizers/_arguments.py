"""The argument checks of the optimizers and transforms: each raises a ValueError naming
the argument, what it must be and what it got."""

from __future__ import annotations

import functools
import math

import numpy as np


def is_number(value) -> bool:
    """A finite real number (not a bool)."""
    return not isinstance(value, bool) and isinstance(value, (int, float, np.integer,
                                                               np.floating)) \
        and math.isfinite(value)


def nonnegative(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a non-negative number; got {value!r}")
    return float(value)


def fraction(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1); got {value!r}")
    return float(value)


def positive(value, name):
    if not is_number(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number; got {value!r}")
    return float(value)


def open_unit(value, name):
    if not is_number(value) or not 0 < value < 1:
        raise ValueError(f"{name} must be in (0, 1); got {value!r}")
    return float(value)


def positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


def wolfe_constants(c1, c2):
    c1, c2 = open_unit(c1, "c1"), open_unit(c2, "c2")
    if not c1 < c2:
        raise ValueError(f"c1 must be smaller than c2 (0 < c1 < c2 < 1); got c1={c1!r}, "
                         f"c2={c2!r}")
    return c1, c2


def pair(value, name, check):
    if not isinstance(value, (tuple, list)) or len(value) != 2 \
            or not all(is_number(v) for v in value) or not check(*value):
        raise ValueError(f"{name} must be a pair of numbers {check.__doc__}; got {value!r}")
    return (float(value[0]), float(value[1]))


@functools.lru_cache(maxsize=8)
def smallest_normal(dtype: np.dtype) -> float:
    """The smallest normal number of the dtype: decaying states below it are flushed to
    zero (denormals cost about 100 times more per operation)."""
    return float(np.finfo(dtype).tiny)
