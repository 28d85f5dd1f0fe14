"""nnlearn.utils: to_categorical."""

import numpy as np
import pytest

import nnlearn as nl


def test_to_categorical():
    np.testing.assert_array_equal(nl.utils.to_categorical([0, 2, 1]),
                                  [[1, 0, 0], [0, 0, 1], [0, 1, 0]])
    assert nl.utils.to_categorical([1], num_classes=4).shape == (1, 4)
    with pytest.raises(ValueError, match="num_classes=2"):
        nl.utils.to_categorical([3], num_classes=2)
    with pytest.raises(ValueError, match="integer class labels"):
        nl.utils.to_categorical([0.5])
