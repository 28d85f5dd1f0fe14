"""nnlearn.numerics: the stable array functions, against closed forms and float64 values."""

import math

import numpy as np
import pytest

from nnlearn import numerics


def test_logsumexp_is_exact_where_the_naive_form_overflows():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [0.0, math.log(3.0)]])
    np.testing.assert_allclose(numerics.logsumexp(x, (1,))[:, 0],
                               [1000 + math.log(2), -1000 + math.log(2), math.log(4)])
    assert numerics.logsumexp(np.array([-np.inf, -np.inf]), (0,))[0] == -np.inf


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_in_both_tails_without_overflow(dtype):
    x = np.array([-1e4, -10, 0, 10, 1e4], dtype=dtype)
    with np.errstate(over="raise"):
        s = numerics.sigmoid(x)
    assert s.dtype == dtype and s[2] == 0.5 and s[-1] == 1
    assert 0 <= s[0] < np.finfo(dtype).tiny  # e^-1e4: below the smallest normal number
    np.testing.assert_allclose(s[1:4].astype(np.float64),
                               [1 / (1 + math.exp(10)), 0.5, 1 / (1 + math.exp(-10))],
                               rtol=1e-3 if dtype == np.float16 else 1e-6)


def test_softplus_equals_log1p_exp_and_stays_finite():
    x = np.array([-800.0, -2.0, 0.0, 2.0, 800.0])
    np.testing.assert_allclose(numerics.softplus(x)[1:4], np.log1p(np.exp(x[1:4])))
    assert numerics.softplus(x)[0] == pytest.approx(0.0, abs=1e-300)
    assert numerics.softplus(x)[-1] == 800.0
