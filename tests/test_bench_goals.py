"""The benchmark table's goal column says "met" only when every goal of the row is met
(the figures themselves are measured by ``python -m bench``; nothing here is timed)."""

import pytest

bench = pytest.importorskip("bench.__main__")


def row(ours=1.0, floor=None, goals=None, **bounds_and_peers):
    return bench._row("w", "s", ours, floor, goals, **bounds_and_peers)


def test_ratio_goals_against_peers_and_the_matmul_floor():
    goals = {"torch": 0.7, "matmul": 1.4}
    assert bench._goal_cell(row(ours=0.7, floor=0.5, goals=goals, torch=1.0)) == \
        "torch<=0.7 matmul<=1.4 met"
    assert bench._goal_cell(row(ours=0.71, floor=0.6, goals=goals, torch=1.0)).endswith("MISSED")
    # met against PyTorch but not against the floor
    assert bench._goal_cell(row(ours=0.7, floor=0.4, goals=goals, torch=1.0)).endswith("MISSED")


def test_a_peer_that_was_not_measured_gives_no_verdict():
    assert bench._goal_cell(row(goals={"sklearn": 0.5}, sklearn=None)) == "sklearn<=0.5"
    assert bench._goal_cell(row()) == ""


def test_absolute_goals():
    assert bench._goal_cell(row(ours=120.0, at_most=250)) == "<=250 met"
    assert bench._goal_cell(row(ours=601.0, at_most=600)) == "<=600 MISSED"
    assert bench._goal_cell(row(ours=0.9785, at_least=0.978)) == ">=0.978 met"
    assert bench._goal_cell(row(ours=0.97, at_least=0.978)).endswith("MISSED")
    assert bench._goal_cell(bench._accuracy_row(5, 0.9785)) == ">=0.978 met"
    # one epoch (--quick) is not the main job: no accuracy goal
    assert bench._goal_cell(bench._accuracy_row(1, 0.96)) == ""
    # a bound and a ratio goal in one row: both must hold
    assert bench._goal_cell(row(ours=0.5, at_most=1, goals={"torch": 0.7}, torch=0.6)) == \
        "torch<=0.7 <=1 MISSED"


def test_the_engine_benchmarks_numpy_floor_does_the_engines_arithmetic():
    """bench/engine_overhead.py's NumPy step (the floor of an eager engine) is the engine
    step's computation: the same losses, step after step, from the same start."""
    import numpy as np

    import bench.engine_overhead as overhead

    engine, floor = overhead.engine_step(), overhead.numpy_step()
    for _ in range(30):
        expected = float(engine().data)
        assert float(floor()) == pytest.approx(expected, rel=1e-5), \
            "numpy_step's loss differs from engine_step's"
    assert np.isfinite(expected)
