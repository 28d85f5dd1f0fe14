"""The step-by-step figures of lesson 2: what they draw is what the learning rules do."""

import numpy as np
import pytest

from nnlearn import experiments
from nnlearn.classic import Perceptron
from nnlearn.experiments.neurons import GATE_INPUTS, GATE_TARGETS, _perceptron_corrections


def test_the_perceptron_steps_replay_the_perceptrons_own_training():
    """Each recorded correction is Rosenblatt's (1958) w <- w + t x on a sample on the
    wrong side, and the last one gives the weights Perceptron.fit finds."""
    X, targets = GATE_INPUTS, GATE_TARGETS["AND"]
    corrections = _perceptron_corrections(X, targets, 100)
    Xa = np.hstack([X, np.ones((4, 1))])
    t = np.where(np.asarray(targets) > 0, 1.0, -1.0)
    for step in corrections:
        i, before = step["sample"], np.array(step["before"])
        assert t[i] * (before @ Xa[i]) <= 0
        np.testing.assert_array_equal(step["weights"], before + t[i] * Xa[i])
    model = Perceptron(max_epochs=100).fit(X, targets)
    np.testing.assert_array_equal(corrections[-1]["weights"],
                                  [*model.coef_[0], model.intercept_[0]])
    assert len(corrections) == model.n_updates_


def test_the_step_figures_have_a_panel_per_step():
    pytest.importorskip("matplotlib")
    result = experiments.run("perceptron", quick=True)
    corrections = result.numbers["AND"]["corrections"]
    panels = [ax for ax in result.figures["perceptron-steps"].axes if ax.axison]
    assert len(panels) == len(corrections)
    for ax, step in zip(panels, corrections):  # the ringed sample is the one presented
        ring = ax.collections[-1]
        np.testing.assert_array_equal(ring.get_offsets()[0], GATE_INPUTS[step["sample"]])
    hebb = experiments.run("hebb-and", quick=True)
    assert len(hebb.figures["lines"].axes) == 4
