"""gradcheck itself: it passes correct gradients and catches wrong ones, saying where."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.autograd.tensor import Tensor


def wrong_square(t):
    """t^2 with the derivative 2t off by 1% at one element."""
    def vjp(g):
        d = 2 * t.data
        d.reshape(-1)[-1] *= 1.01
        return (g * d,)
    return Tensor._make(t.data ** 2, (t,), vjp, "wrong_square")


def test_passes_a_correct_gradient_and_converts_to_float64():
    x = nl.Tensor(np.array([[0.5, -1.0], [2.0, 3.0]], dtype=np.float32), requires_grad=True)
    assert nl.gradcheck(lambda t: (t * t).sum(), [x])
    assert x.dtype == np.float32  # the caller's tensor is left alone


def test_reports_the_op_the_worst_element_and_both_values():
    def reported(x11):
        x = nl.Tensor(np.array([[0.5, -1.0], [2.0, x11]]), requires_grad=True)
        with pytest.raises(nl.GradcheckError) as info:
            nl.gradcheck(lambda t: wrong_square(t).sum(), [x])
        message = str(info.value)
        assert "op 'sum' (in <lambda>)" in message  # the output's op, and the function
        assert "index (1, 1)" in message
        return [float(message.split(f"{k} ")[1].split(",")[0])
                for k in ("analytic", "numeric")]

    analytic, numeric = reported(3.0)
    assert analytic == pytest.approx(numeric * 1.01, rel=1e-6)
    # the numeric value is the derivative 2 x at that element (times a fixed factor):
    # halving x there halves it
    analytic_half, numeric_half = reported(1.5)
    assert numeric_half == pytest.approx(numeric / 2, rel=1e-6)
    assert analytic_half == pytest.approx(numeric_half * 1.01, rel=1e-6)


def test_names_the_failing_op_when_it_is_the_output():
    x = nl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    with pytest.raises(nl.GradcheckError, match="op 'wrong_square'"):
        nl.gradcheck(wrong_square, [x])


def test_checks_only_inputs_that_require_grad():
    x = nl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    c = nl.Tensor(np.array([3.0, 4.0]))
    assert nl.gradcheck(lambda a, b: wrong_square(b) * a, [x, c])
    with pytest.raises(ValueError, match="requires_grad"):
        nl.gradcheck(lambda a: a * 2, [c])
    with pytest.raises(TypeError, match="Tensor"):
        nl.gradcheck(lambda a: a * 2, [np.ones(2)])
