"""nnlearn.lowering.planner: one plan per step, every part with its reason, and the switches."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.lowering import loops, planner, switches
from nnlearn.layers import Dense, Input

NUMBA = "numba" in loops.available_backends()


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


@pytest.mark.skipif(not NUMBA, reason="the fast paths need numba")
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
    assert "no compiled head" in _parts(mse.plan())["gradients"][1]


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
    monkeypatch.setattr(switches, "_environment", {})  # read again, and forgotten after
    monkeypatch.setenv("NNLEARN_COMPILED_STEP", "off")
    assert not planner.compiled_step_enabled()
    assert _parts(_mlp().plan())["gradients"][0] == "engine"
    monkeypatch.setenv("NNLEARN_COMPILED_STEP", "maybe")
    switches._environment.clear()
    with pytest.raises(ValueError, match="NNLEARN_COMPILED_STEP must be 'auto', 'on' or 'off'"):
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


@pytest.mark.skipif(not NUMBA, reason="the compiled step needs numba")
def test_a_layer_used_twice_runs_on_the_engine_with_summed_gradients(fast_paths):
    shared = Dense(3, activation="tanh")
    model = nl.Sequential([Input(3), shared, shared, Dense(3, activation="softmax")], seed=0,
                          dtype="float64")
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.build((3,))
    plan = model.plan()
    assert not plan.compiled and "appears twice" in plan.parts[0].reason
    x, y = np.random.default_rng(0).normal(size=(5, 3)), np.array([0, 1, 2, 0, 1])
    expected = nl.grad(model.compute_loss(x, y)[0], [shared.kernel])[0]  # both uses summed
    model.train_step(x, y)
    np.testing.assert_allclose(shared.kernel.grad, expected, rtol=1e-12)


@pytest.mark.skipif(not NUMBA, reason="the compiled step needs numba")
def test_a_loss_subclass_that_changes_call_is_neither_fused_nor_compiled(fast_paths):
    class DoubledMSE(nl.losses.MeanSquaredError):
        def call(self, y_true, y_pred, sample_weight=None):
            return super().call(y_true, y_pred, sample_weight) * 2

    class Renamed(nl.losses.MeanSquaredError):
        name = "renamed_mse"

    model = nl.Sequential([Input(2), Dense(4, activation="relu"), Dense(1)], seed=0)
    model.compile("sgd", DoubledMSE())
    model.build((2,))
    assert not model.plan().compiled and "no compiled head" in model.plan().parts[0].reason
    model.compile("sgd", Renamed())
    assert model.plan().compiled  # the same computation: the declared head holds
    model.compile("sgd", nl.losses.CategoricalCrossentropy())
    assert nl.losses.CategoricalCrossentropy().from_logits_of("softmax") is not None

    class Smoothed(nl.losses.CategoricalCrossentropy):
        def call(self, y_true, y_pred, sample_weight=None):
            return super().call(0.9 * np.asarray(y_true) + 0.05, y_pred, sample_weight)

    assert Smoothed().from_logits_of("softmax") is None  # its own call: computed as it says


def test_a_loss_without_reduction_is_refused_at_compile():
    model = nl.Sequential([Input(2), Dense(1)])
    with pytest.raises(ValueError, match="reduction='none'.*one number"):
        model.compile("sgd", nl.losses.MeanSquaredError(reduction="none"))


def test_a_step_of_small_products_runs_on_one_blas_thread():
    """The BLAS threads follow the step's largest product, batch x largest kernel: one
    thread from OpenBLAS's own one-thread bound up to blas.SMALL_STEP_PRODUCT, its own
    count above (and below, where OpenBLAS takes one thread itself: nothing to set)."""
    from nnlearn.lowering import blas

    def stack(*units, first=64):
        model = nl.Sequential([Input(first)] + [Dense(u, activation="relu") for u in units],
                              seed=0)
        model.compile(optimizer="sgd", loss="mse")
        model.build((first,))
        return model

    small = stack(64, 2)                     # largest kernel 64 x 64
    assert planner.step_threads(small, 256) == 1   # 1,048,576 multiply-adds
    assert planner.step_threads(small, 32) is None  # 131,072: OpenBLAS's one thread
    assert planner.step_threads(small, 1024) is None  # 4,194,304: two threads pay
    assert 256 * 64 * 64 <= blas.SMALL_STEP_PRODUCT < 1024 * 64 * 64
    assert planner.step_threads(stack(512, 10, first=784), 128) is None  # the main job
    assert _parts(small.plan(batch_size=256))["BLAS threads"][0] == "1 thread for the step"
    assert _parts(small.plan(batch_size=1024))["BLAS threads"][0] == "BLAS's own threads"
    assert "BLAS threads" in _parts(small.plan())
    conv = nl.Sequential([Input((8, 8, 1)), nl.layers.Conv2D(4, 3), nl.layers.Flatten(),
                          Dense(2)], seed=0)
    conv.compile(optimizer="sgd", loss="mse")
    conv.build((8, 8, 1))
    assert planner.step_threads(conv, 256) is None  # its products are not batch x kernel
    assert "BLAS threads" not in _parts(conv.plan(batch_size=256))
