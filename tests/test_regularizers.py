"""nnlearn.regularizers: the L1, L2 and L1L2 penalties, their gradient and their
argument checks."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import regularizers


def test_regularizer_penalties():
    w = nl.Tensor(np.array([[1.0, -2.0], [0.5, 0.0]]), requires_grad=True)
    assert regularizers.get("l1")(w).item() == pytest.approx(0.01 * 3.5)
    assert regularizers.get("l2")(w).item() == pytest.approx(0.01 * 5.25)
    assert regularizers.L1L2(0.1, 0.2)(w).item() == pytest.approx(0.35 + 1.05)
    assert nl.gradcheck(regularizers.L1L2(0.1, 0.2), [w * 1.0 + 0.01])
    with pytest.raises(ValueError, match="l2 must be a non-negative"):
        regularizers.L2(-1.0)
