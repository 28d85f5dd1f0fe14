"""nnlearn.classic.neurons: McCulloch-Pitts gates, Hebb's rule (against hand-worked
tables), the perceptron, Adaline and the Hopfield network, their estimator conventions
and bad input."""

import numpy as np
import pytest

from nnlearn.classic import (AND, BLUEBERRY_BIRD, NAND, NOT, OR, XOR, Adaline, HebbNeuron,
                             HopfieldNetwork, MCPNeuron, Perceptron)


GATE_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])


# -- McCulloch-Pitts ---------------------------------------------------------------------
def test_mcp_gates_reproduce_their_truth_tables():
    np.testing.assert_array_equal(AND(GATE_INPUTS), [0, 0, 0, 1])
    np.testing.assert_array_equal(OR(GATE_INPUTS), [0, 1, 1, 1])
    np.testing.assert_array_equal(NAND(GATE_INPUTS), [1, 1, 1, 0])
    np.testing.assert_array_equal(NOT([[0], [1]]), [1, 0])
    np.testing.assert_array_equal(XOR(GATE_INPUTS), [0, 1, 1, 0])  # two layers
    assert XOR([1, 0]) == 1


def test_blueberry_bird_eats_only_blueberries():
    objects = {"blueberry": [1, 1], "golf ball": [0, 1], "violet": [1, 0], "hot dog": [0, 0]}
    eats = {name: int(BLUEBERRY_BIRD(x)) for name, x in objects.items()}  # (purple, round)
    assert eats == {"blueberry": 1, "golf ball": 0, "violet": 0, "hot dog": 0}


def test_mcp_rejects_non_binary_input():
    with pytest.raises(ValueError, match=r"x must contain only \(0, 1\); got 2"):
        AND([[2, 0]])
    with pytest.raises(ValueError, match="2 inputs"):
        MCPNeuron([1, 1], 1)([[1, 0, 1]])


# -- Hebb -------------------------------------------------------------------------------
def test_hebb_bipolar_and_reproduces_fausetts_tables():
    X = [[1, 1], [1, -1], [-1, 1], [-1, -1]]
    neuron = HebbNeuron("bipolar").fit(X, [1, -1, -1, -1])
    assert [r["weights"] for r in neuron.history_] == [[1, 1, 1], [0, 2, 0], [1, 1, -1],
                                                       [2, 2, -2]]
    assert [r["delta"] for r in neuron.history_] == [[1, 1, 1], [-1, 1, -1], [1, -1, -1],
                                                     [1, 1, -1]]
    assert [r["line"] for r in neuron.history_] == ["x2 = -x1 - 1", "x2 = 0", "x2 = -x1 + 1",
                                                    "x2 = -x1 + 1"]
    np.testing.assert_array_equal(neuron.predict(X), [1, -1, -1, -1])
    table = neuron.table().splitlines()
    assert table[0].split(" | ")[-1] == "SEPARATING LINE"
    assert [cell.strip() for cell in table[2].split("|")] == ["(1 -1 1)", "-1", "(-1 1 -1)",
                                                                "(0 2 0)", "x2 = 0"]
    assert len({line.index("|") for line in table}) == 1  # the columns line up


def test_hebb_binary_and_stops_learning_after_the_first_pair():
    with pytest.warns(UserWarning, match="misclassified"):
        neuron = HebbNeuron("binary").fit(GATE_INPUTS[::-1], [1, 0, 0, 0])
    assert [r["weights"] for r in neuron.history_] == [[1, 1, 1]] * 4
    assert [r["delta"] for r in neuron.history_][1:] == [[0, 0, 0]] * 3


def test_hebb_three_input_failure_case():
    X = [[1, 1, 1], [1, 1, -1], [1, -1, 1], [-1, 1, 1]]
    with pytest.warns(UserWarning, match=r"pairs \[0\] are misclassified"):
        neuron = HebbNeuron("bipolar").fit(X, [1, -1, -1, -1])
    assert neuron.history_[-1]["weights"] == [0, 0, 0, -2]
    assert neuron.misclassified_.tolist() == [0]


def test_hebb_rejects_the_wrong_encoding():
    with pytest.raises(ValueError, match=r"X must contain only \(-1, 1\)"):
        HebbNeuron("bipolar").fit([[0, 1]], [1])
    with pytest.raises(ValueError, match=r"y must contain only \(0, 1\)"):
        HebbNeuron("binary").fit([[0, 1]], [-1])
    with pytest.raises(ValueError, match="encoding"):
        HebbNeuron("ternary").fit([[0, 1]], [1])


# -- perceptron and Adaline -------------------------------------------------------------
@pytest.mark.parametrize("targets", [[0, 0, 0, 1], [0, 1, 1, 1]], ids=["AND", "OR"])
@pytest.mark.parametrize("presentation", ["cyclic", "random"])
def test_perceptron_converges_on_and_or(targets, presentation):
    p = Perceptron(presentation=presentation, initial_weights="random", random_state=0)
    p.fit(GATE_INPUTS, targets)
    assert p.converged_ and p.n_updates_ <= 50 and p.cost_history_[-1] == 0.0
    np.testing.assert_array_equal(p.predict(GATE_INPUTS), targets)


def test_perceptron_reports_non_convergence_on_xor():
    with pytest.warns(UserWarning, match="did not converge"):
        p = Perceptron(max_epochs=100).fit(GATE_INPUTS, [0, 1, 1, 0])
    assert not p.converged_ and p.n_epochs_ == 100 and p.n_updates_ >= 100
    assert p.score(GATE_INPUTS, [0, 1, 1, 0]) < 1


def test_perceptron_one_vs_all():
    rng = np.random.default_rng(0)
    centers = np.array([[0, 6], [6, 0], [-6, -6]])
    y = rng.integers(0, 3, 150)
    X = centers[y] + rng.standard_normal((150, 2))
    p = Perceptron(max_epochs=200).fit(X, np.array(["a", "b", "c"])[y])
    assert p.coef_.shape == (3, 2) and p.score(X, np.array(["a", "b", "c"])[y]) > 0.97


@pytest.mark.parametrize("mode", ["online", "batch"])
def test_adaline_fits_a_separable_problem(mode):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 2))
    y = (X[:, 0] - 2 * X[:, 1] > 0).astype(int)
    model = Adaline(max_epochs=200, mode=mode, random_state=0).fit(X, y)
    assert model.score(X, y) > 0.95
    costs = model.cost_history_
    assert costs[-1] < costs[0]
    # LMS minimises mean squared error: the weights approach the least-squares solution
    targets = np.where(y == 1, 1.0, -1.0)
    w = np.linalg.lstsq(np.hstack([X, np.ones((200, 1))]), targets, rcond=None)[0]
    np.testing.assert_allclose(model.coef_[0], w[:2], atol=0.05 if mode == "batch" else 0.1)


# -- Hopfield ----------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["asynchronous", "synchronous"])
def test_hopfield_recalls_patterns_with_ten_percent_noise(mode):
    rng = np.random.default_rng(2)
    n, patterns = 200, rng.choice([-1, 1], (10, 200))  # 10 < 0.138 * 200
    net = HopfieldNetwork(mode=mode, random_state=0).fit(patterns)
    for p in patterns:
        noisy = p.copy()
        flip = rng.choice(n, n // 10, replace=False)
        noisy[flip] *= -1
        recalled = net.recall(noisy)
        np.testing.assert_array_equal(recalled, p)
        assert net.energy(recalled) < net.energy(noisy)


def test_hopfield_capacity_warning_and_bad_patterns():
    with pytest.warns(UserWarning, match="capacity"):
        HopfieldNetwork().fit(np.random.default_rng(0).choice([-1, 1], (5, 20)))
    with pytest.raises(ValueError, match=r"patterns must contain only \(-1, 1\)"):
        HopfieldNetwork().fit([[0, 1, 1]])
