"""nnlearn.initializers: the uniform ones' bounds and spread, the normal ones' standard
deviation (and truncation), and the constants."""

import math

import numpy as np
import pytest

from nnlearn import initializers


@pytest.mark.parametrize("name, limit", [
    ("glorot_uniform", math.sqrt(6 / (300 + 200))),
    ("he_uniform", math.sqrt(6 / 300)),
    ("lecun_uniform", math.sqrt(3 / 300)),
    ("glorot_uniform_sigmoid", 4 * math.sqrt(6 / (300 + 200))),  # x4 for sigmoid
    ("glorot_uniform_relu", math.sqrt(2) * math.sqrt(6 / (300 + 200))),
    ("random_uniform", 0.05),
])
def test_uniform_initializer_bounds(name, limit):
    w = initializers.get(name)((300, 200), np.random.default_rng(0))
    assert w.shape == (300, 200)
    assert np.abs(w).max() <= limit and np.abs(w).max() > 0.99 * limit
    assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)  # U(-r, r) has std r/sqrt3


@pytest.mark.parametrize("name, std", [
    ("glorot_normal", math.sqrt(2 / (300 + 200))),
    ("he_normal", math.sqrt(2 / 300)),
    ("lecun_normal", math.sqrt(1 / 300)),
    ("glorot_normal_sigmoid", 4 * math.sqrt(2 / (300 + 200))),
    ("glorot_normal_relu", math.sqrt(2) * math.sqrt(2 / (300 + 200))),
    ("random_normal", 0.05),
])
def test_normal_initializer_std(name, std):
    w = initializers.get(name)((300, 200), np.random.default_rng(0))
    assert w.std() == pytest.approx(std, rel=0.02)
    if name in ("glorot_normal", "he_normal", "lecun_normal"):  # truncated at 2 sigma
        assert np.abs(w).max() <= 2 * std / 0.87962566103423978 + 1e-12


def test_constant_initializers():
    assert np.all(initializers.get("zeros")((2, 3)) == 0)
    assert np.all(initializers.get("ones")((2, 3)) == 1)
    assert np.all(initializers.constant((2,), value=0.7) == 0.7)
