"""nnlearn.planner: one plan per step, every part with its reason, and the switches."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import kernels, planner
from nnlearn.layers import Dense, Input

NUMBA = "numba" in kernels.available_backends()


def _mlp(activation="relu", loss="categorical_crossentropy", optimizer="rmsprop"):
    model = nl.Sequential([Input(4), Dense(8, activation=activation),
                           Dense(3, activation="softmax")], seed=0)
    model.compile(optimizer=optimizer, loss=loss)
    return model


@pytest.fixture
def fast_paths():
    """The fast paths switched on, whatever the environment says."""
    with planner.settings(kernels="numba", compiled_step=True, conv_loops=True):
        yield


def _parts(plan):
    return {part.part: (part.choice, part.reason) for part in plan.parts}


@pytest.mark.skipif(not NUMBA, reason="the compiled step needs numba")
def test_the_main_jobs_plan_names_every_part_and_why(fast_paths):
    plan = _mlp().plan()
    parts = _parts(plan)
    assert plan.compiled and parts["gradients"][0] == "compiled Dense step"
    assert "softmax link" in parts["gradients"][1]
    assert parts["loss"][0] == "categorical_crossentropy" and "fused" in parts["loss"][1]
    assert parts["updates"][0] == "RMSprop's rule, numba loops"
    lines = plan.explain().splitlines()
    assert len(lines) == len(plan.parts) and all("(" in line for line in lines)


@pytest.mark.skipif(not NUMBA, reason="the fast paths need numba")
def test_each_switch_moves_only_its_own_part(fast_paths):
    model = _mlp()
    with planner.settings(compiled_step=False, kernels="numpy"):
        parts = _parts(model.plan())
        assert parts["gradients"][0] == "engine" and "switched off" in parts["gradients"][1]
        assert parts["updates"][0] == "RMSprop's rule, NumPy"
    with planner.settings(kernels="numpy"):  # the kernels alone: still compiled
        parts = _parts(model.plan())
        assert parts["gradients"][0] == "compiled Dense step"
        assert parts["updates"][0] == "RMSprop's rule, NumPy"
    with planner.settings(compiled_step=False):
        assert _parts(model.plan())["updates"][0] == "RMSprop's rule, numba loops"


def test_the_engine_parts_say_why(fast_paths):
    conv = nl.Sequential([Input((6, 6, 1)), nl.layers.Conv2D(2, 3), nl.layers.Flatten(),
                          Dense(2, activation="softmax")])
    conv.compile("sgd", "categorical_crossentropy")
    parts = _parts(conv.plan())
    assert parts["gradients"][0] == "engine"
    assert "not a stack of Dense layers" in parts["gradients"][1] and "Conv2D" in \
        parts["gradients"][1]
    assert "convolution" in parts
    with planner.settings(conv_loops=False):
        assert _parts(conv.plan())["convolution"][0] == "NumPy strided passes"
    lstm = nl.Sequential([Input((5, 2)), nl.layers.LSTM(3), Dense(1)])
    lstm.compile("adam", "mse")
    assert _parts(lstm.plan())["recurrent LSTM"][0].startswith("fused op")
    lbfgs = _mlp(optimizer="lbfgs")
    assert _parts(lbfgs.plan())["updates"][0] == "LBFGS's own method"
    mse = _mlp(loss="mse")
    assert "no canonical link" in _parts(mse.plan())["gradients"][1]


@pytest.mark.skipif(not NUMBA, reason="the compiled step needs numba")
def test_a_large_batch_of_costly_activations_goes_to_the_engine(fast_paths):
    model = _mlp(activation="tanh")
    model.build((4,))
    limit = model.plan().gradients.largest_batch
    assert model.plan(limit).compiled
    large = model.plan(limit + 1)
    assert not large.compiled and f"batches of {limit + 1}" in large.explain()


def test_fit_verbose_2_prints_the_plan(capsys):
    model = _mlp()
    model.fit(np.zeros((6, 4)), np.eye(3)[[0, 1, 2, 0, 1, 2]], epochs=1, verbose=2)
    out = capsys.readouterr().out
    assert out.startswith("Training step plan:\ngradients:")
    assert "updates:" in out


def test_switches_are_checked():
    with pytest.raises(TypeError, match="compiled_step must be True, False or None"):
        with planner.settings(compiled_step="off"):
            pass
    with pytest.raises(ValueError, match="name must be one of"):
        with planner.settings(kernels="fortran"):
            pass


def test_the_environment_variable_switches_the_compiled_step_off(monkeypatch):
    monkeypatch.setenv("NNLEARN_COMPILED_STEP", "off")
    assert not planner.compiled_step_enabled()
    assert _parts(_mlp().plan())["gradients"][0] == "engine"
    monkeypatch.setenv("NNLEARN_COMPILED_STEP", "maybe")
    with pytest.raises(ValueError, match="NNLEARN_COMPILED_STEP must be 'auto' or 'off'"):
        planner.compiled_step_enabled()


def test_plan_needs_a_compiled_model():
    model = nl.Sequential([Input(2), Dense(1)])
    with pytest.raises(RuntimeError, match="compile"):
        model.plan()


def test_nnlearn_info_prints_the_plan(tmp_path):
    click = pytest.importorskip("click")
    from click.testing import CliRunner

    from nnlearn.cli import main

    assert click
    model = _mlp()
    model.build((4,))
    model.save(tmp_path / "m.nnl")
    result = CliRunner().invoke(main, ["info", str(tmp_path / "m.nnl")])
    assert result.exit_code == 0, result.output
    assert "training step plan:" in result.output
    assert "  gradients:" in result.output and "  updates:" in result.output
