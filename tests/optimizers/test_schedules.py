"""nnlearn.schedules: each learning-rate schedule's values, its serialization round trip
and its argument errors."""

import math

import numpy as np
import pytest

from nnlearn import schedules as S


@pytest.mark.parametrize("schedule, values", [
    (S.StepDecay(1.0, drop=0.5, every=2), [1.0, 1.0, 0.5, 0.5, 0.25]),
    (S.ExponentialDecay(2.0, k=0.1), [2.0 * math.exp(-0.1 * t) for t in range(5)]),
    (S.InverseTimeDecay(2.0, k=0.5), [2.0 / (1 + 0.5 * t) for t in range(5)]),
    (S.PiecewiseConstantDecay([2, 4], [1.0, 0.5, 0.1]), [1.0, 1.0, 0.5, 0.5, 0.1]),
    (S.CosineDecayRestarts(1.0, T_0=2, T_mult=2),   # cycles [0, 2), [2, 6), [6, 14)
     [1.0, 0.5, 1.0, (1 + math.cos(math.pi / 4)) / 2, 0.5]),
])
def test_schedules(schedule, values):
    np.testing.assert_allclose([schedule(t) for t in range(5)], values, rtol=1e-12)
    assert S.get(S.serialize(schedule))(3) == schedule(3)


@pytest.mark.parametrize("make, message", [
    (lambda: S.get({"class_name": "CosineDecay", "config": {}}), "Did you mean"),
    (lambda: S.ExponentialDecay(-1.0, k=0.1), "initial_learning_rate must be a positive"),
    (lambda: S.PiecewiseConstantDecay([1, 2], [0.1]), "one more entry"),
])
def test_bad_arguments_raise_value_error_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()
