"""nnlearn.datasets.sequences: the sequence generators for recurrent networks, checked
against the rules that define them (the next value of the clean wave; the sum of the two
marked numbers, Hochreiter & Schmidhuber 1997, section 5.4; the symbols copied back after
the delay, Arjovsky, Shah & Bengio 2016, section 4.1)."""

import numpy as np
import pytest

from nnlearn import datasets


def test_sine_forecast_shapes_dtypes_and_seed():
    X, y = datasets.make_sine_forecast(30, steps=12, horizon=3, random_state=4)
    assert X.shape == (30, 12, 1) and y.shape == (30, 3)
    assert X.dtype == np.float64 and y.dtype == np.float64
    X2, y2 = datasets.make_sine_forecast(30, steps=12, horizon=3, random_state=4)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = datasets.make_sine_forecast(30, steps=12, horizon=3, random_state=5)
    assert not np.array_equal(X, X3)


def test_sine_forecast_targets_are_the_next_values_of_the_wave():
    # noise=0 and a single period: the inputs are the clean wave, so the targets must be
    # the values the same sinusoid takes at the next steps.  Recover the phase of each
    # window from its first two values and extrapolate independently.
    p = 20.0
    X, y = datasets.make_sine_forecast(50, steps=10, horizon=2, noise=0, period=(p, p),
                                       random_state=1)
    w = 2 * np.pi / p
    x = X[..., 0]
    # sin(w t + phi): x0 = sin(phi), x1 = sin(w + phi) => cos(phi) = (x1 - x0 cos w) / sin w
    phi = np.arctan2(x[:, 0], (x[:, 1] - x[:, 0] * np.cos(w)) / np.sin(w))
    t = np.arange(12)
    wave = np.sin(w * t[None, :] + phi[:, None])
    np.testing.assert_allclose(x, wave[:, :10], atol=1e-12)
    np.testing.assert_allclose(y, wave[:, 10:], atol=1e-12)


def test_sine_forecast_noise_is_added_to_the_inputs_only():
    clean, y0 = datasets.make_sine_forecast(400, steps=30, noise=0, random_state=2)
    noisy, y1 = datasets.make_sine_forecast(400, steps=30, noise=0.1, random_state=2)
    np.testing.assert_array_equal(y0, y1)
    residual = noisy - clean
    assert 0.09 < residual.std() < 0.11 and abs(residual.mean()) < 0.01


def test_adding_problem_target_is_the_sum_of_the_two_marked_values():
    X, y = datasets.make_adding_problem(200, steps=16, random_state=0)
    assert X.shape == (200, 16, 2) and y.shape == (200,)
    assert X.dtype == np.float64 and y.dtype == np.float64
    numbers, markers = X[..., 0], X[..., 1]
    assert np.all((numbers >= 0) & (numbers < 1))
    assert set(np.unique(markers)) == {0.0, 1.0}
    np.testing.assert_array_equal(markers.sum(axis=1), 2)
    # one mark in each half of the sequence
    np.testing.assert_array_equal(markers[:, :8].sum(axis=1), 1)
    np.testing.assert_array_equal(markers[:, 8:].sum(axis=1), 1)
    for row in range(200):
        marked = np.flatnonzero(markers[row])
        assert y[row] == pytest.approx(numbers[row, marked[0]] + numbers[row, marked[1]])
    X2, y2 = datasets.make_adding_problem(200, steps=16, random_state=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_copy_memory_target_is_the_input_symbols_after_the_delay():
    delay, length, n_symbols = 7, 4, 5
    X, y = datasets.make_copy_memory(100, delay=delay, length=length, n_symbols=n_symbols,
                                     random_state=3)
    steps = 2 * length + delay
    assert X.shape == y.shape == (100, steps)
    assert np.issubdtype(X.dtype, np.integer) and np.issubdtype(y.dtype, np.integer)
    symbols = X[:, :length]
    assert symbols.min() >= 1 and symbols.max() <= n_symbols
    # blanks during the delay, the "go" marker on its last step, blanks while copying
    np.testing.assert_array_equal(X[:, length:length + delay - 1], 0)
    np.testing.assert_array_equal(X[:, length + delay - 1], n_symbols + 1)
    np.testing.assert_array_equal(X[:, length + delay:], 0)
    # the output: nothing until the last `length` steps, then the input symbols in order
    np.testing.assert_array_equal(y[:, :length + delay], 0)
    np.testing.assert_array_equal(y[:, length + delay:], symbols)
    X2, y2 = datasets.make_copy_memory(100, delay=delay, length=length, n_symbols=n_symbols,
                                       random_state=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize("make, kwargs, name", [
    (datasets.make_sine_forecast, {"n_samples": 0}, "n_samples"),
    (datasets.make_sine_forecast, {"steps": 1}, "steps"),
    (datasets.make_sine_forecast, {"steps": 2.5}, "steps"),
    (datasets.make_sine_forecast, {"horizon": 0}, "horizon"),
    (datasets.make_sine_forecast, {"noise": -0.1}, "noise"),
    (datasets.make_sine_forecast, {"noise": float("nan")}, "noise"),
    (datasets.make_sine_forecast, {"noise": "low"}, "noise"),
    (datasets.make_sine_forecast, {"period": (30.0, 15.0)}, "period"),
    (datasets.make_sine_forecast, {"period": (0.0, 15.0)}, "period"),
    (datasets.make_sine_forecast, {"period": 20.0}, "period"),
    (datasets.make_adding_problem, {"n_samples": -1}, "n_samples"),
    (datasets.make_adding_problem, {"steps": 1}, "steps"),
    (datasets.make_adding_problem, {"steps": True}, "steps"),
    (datasets.make_copy_memory, {"n_samples": 0}, "n_samples"),
    (datasets.make_copy_memory, {"delay": 0}, "delay"),
    (datasets.make_copy_memory, {"length": 0}, "length"),
    (datasets.make_copy_memory, {"n_symbols": "8"}, "n_symbols"),
])
def test_bad_arguments_raise_value_error_naming_them(make, kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} must be .*got"):
        make(**kwargs)
