"""predict through the compiled Dense forward (nnlearn.lowering.dense_step.DenseForward, the
forward part of the compiled step) equals the engine's forward pass: property tests over
random stacks, activations (hidden ones the planner compiles, any output one, softmax
included), dtypes and batch sizes; the planner's choice and reasons; parameters replaced
in place go back through the checks."""

import numpy as np
import pytest
from hypothesis import given, settings as hypothesis_settings, strategies as st

import nnlearn as nl
from nnlearn import activations, layers
from nnlearn.lowering import planner

pytest.importorskip("numba")

CHEAP = sorted(name for name, a in activations.elementwise().items() if not a.costly)
OUTPUTS = sorted(activations.elementwise()) + ["softmax"]


@hypothesis_settings(max_examples=30, deadline=None)
@given(hidden=st.lists(st.sampled_from(CHEAP), max_size=3), output=st.sampled_from(OUTPUTS),
       widths=st.lists(st.integers(1, 9), min_size=4, max_size=4),
       dtype=st.sampled_from(["float32", "float64"]), n=st.integers(1, 70),
       batch_size=st.integers(1, 40), seed=st.integers(0, 2 ** 16))
def test_compiled_forward_equals_the_engine(hidden, output, widths, dtype, n, batch_size,
                                            seed):
    rng = np.random.default_rng(seed)
    stack = [layers.Dense(w, activation=a) for w, a in zip(widths, hidden)]
    model = nl.Sequential([layers.Input((widths[-1],)), *stack,
                           layers.Dense(widths[-2], activation=output)], seed=seed,
                          dtype=dtype)
    x = rng.standard_normal((n, widths[-1])).astype(dtype)
    ours = model.predict(x, batch_size=batch_size)  # builds the model
    assert planner.compiled_forward(model, x) is not None
    with planner.settings(compiled_step=False):
        assert planner.compiled_forward(model, x) is None
        theirs = model.predict(x, batch_size=batch_size)
    assert ours.dtype == theirs.dtype == np.dtype(dtype)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(ours, theirs, rtol=64 * eps, atol=64 * eps)


def test_planner_explains_predict():
    model = nl.Sequential([layers.Input((4,)), layers.Dense(8, activation="relu"),
                           layers.Dense(3, activation="softmax")], seed=0)
    model.compile("sgd", "categorical_crossentropy")
    assert "predict:" in model.plan().explain()
    assert "compiled Dense forward" in model.plan().explain()
    costly = nl.Sequential([layers.Input((4,)), layers.Dense(8, activation="tanh"),
                            layers.Dense(1)], seed=0)
    costly.compile("sgd", "mse")
    assert "costly activation (tanh" in costly.plan().explain()
    assert planner.compiled_forward(costly, np.zeros((2, 4), np.float32)) is None
    regularized = nl.Sequential([layers.Input((4,)), layers.Dense(
        2, kernel_regularizer=nl.regularizers.l2(0.1))], seed=0)
    assert planner.compiled_forward(regularized, np.zeros((2, 4), np.float32)) is None


def test_parameters_replaced_in_place_are_checked_again():
    rng = np.random.default_rng(1)
    model = nl.Sequential([layers.Input((3,)), layers.Dense(4, activation="relu"),
                           layers.Dense(2)], seed=0)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    model.predict(x)
    kernel = model.layers[-1].kernel
    kernel.data = np.asfortranarray(rng.standard_normal((4, 2)).astype(np.float32))
    with planner.settings(compiled_step=False):
        expected = model.predict(x)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-6)  # engine: Fortran
    kernel.data = np.ascontiguousarray(kernel.data)
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-6)  # compiled again
