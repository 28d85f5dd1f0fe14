"""Classic worked examples written with nnlearn Tensors and nl.grad, the way they are
written in Theano with T.grad: linear regression by gradient descent, logistic and softmax
regression, a single neuron on logic gates and a small XOR network reach the expected
results, and the hand-written costs agree with nnlearn's fused ops."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.experiments.xor import train_xor


def noisy_line(n=100, a=0.5, b=0.5, sigma=0.25, seed=0):
    """A noisy line: X = 10 * random, Y = a X + b + N(0, sigma)."""
    rng = np.random.default_rng(seed)
    x = 10.0 * rng.random(n)
    return x, a * x + b + rng.normal(0, sigma, n)


def test_linear_regression_by_gradient_descent():
    x, y = noisy_line()
    n = len(x)
    a = nl.Tensor(np.float64(-0.5), requires_grad=True)  # "initial weights by hand"
    b = nl.Tensor(np.float64(1.0), requires_grad=True)
    alpha = 0.005
    costs, kept = [], {}
    for epoch in range(5001):
        if epoch in (0, 10, 100, 500, 1000):
            kept[epoch] = (a.item(), b.item())
        pred = a * x + b                                  # hypothesis
        cost = ((pred - y) ** 2).sum() / n                # T.sum(T.pow(pred - y, 2)) / N
        grad_a, grad_b = nl.grad(cost, [a, b])            # T.grad(cost, [a, b])
        a.data -= alpha * grad_a
        b.data -= alpha * grad_b
        costs.append(cost.item())
    # The example's plots: near the truth after 1000 epochs ...
    a_1000, b_1000 = kept[1000]
    assert abs(a_1000 - 0.5) < 0.05 and abs(b_1000 - 0.5) < 0.15
    # ... and the cost falls monotonically to the least-squares minimum.
    assert all(c1 <= c0 + 1e-12 for c0, c1 in zip(costs, costs[1:]))
    slope, intercept = np.polyfit(x, y, 1)
    assert a.item() == pytest.approx(slope, abs=1e-3)
    assert b.item() == pytest.approx(intercept, abs=5e-3)
    assert abs(a.item() - 0.5) < 0.05 and abs(b.item() - 0.5) < 0.1


def test_logistic_regression_on_study_hours():
    rng = np.random.default_rng(1)
    n = 50
    hours = np.concatenate((rng.random(n) * 35, 30 + rng.random(n) * 25))
    passed = np.concatenate((np.zeros(n), np.ones(n)))
    x = (hours - hours.min()) / (hours.max() - hours.min())   # scale to [0, 1]
    a = nl.Tensor(rng.standard_normal(), requires_grad=True, dtype=np.float64)
    b = nl.Tensor(rng.standard_normal(), requires_grad=True, dtype=np.float64)
    for _ in range(1000):
        hypo = 1 / (1 + nl.exp(-x * a - b))
        cost = (-passed * nl.log(hypo) - (1 - passed) * nl.log(1 - hypo)).sum()
        grad_a, grad_b = nl.grad(cost, [a, b])
        a.data -= 0.01 * grad_a
        b.data -= 0.01 * grad_b
    # the fused op gives the hand-written cost for the final weights
    hypo = 1 / (1 + nl.exp(-x * a - b))
    cost = (-passed * nl.log(hypo) - (1 - passed) * nl.log(1 - hypo)).sum()
    fused = nl.sigmoid_binary_cross_entropy(x * a + b, passed, reduction="sum")
    assert fused.item() == pytest.approx(cost.item(), rel=1e-10)
    predicted = (1 / (1 + np.exp(-(x * a.item() + b.item()))) > 0.5)
    assert np.mean(predicted == passed) >= 0.9
    # the 0.5 cut lies where the classes overlap (30-35 hours)
    cut_hours = hours.min() + (-b.item() / a.item()) * (hours.max() - hours.min())
    assert 25 < cut_hours < 40


def test_softmax_regression_on_grades():
    rng = np.random.default_rng(2)

    def grades(n):
        x = rng.random((n, 2)) * [100, 50]
        score = rng.normal(x[:, 0] + 2 * x[:, 1], 5)
        y = np.digitize(score, [50, 70, 90])               # 0: ndst ... 3: bdb
        features = np.hstack((np.ones((n, 1)), x / [100, 50]))  # bias + scaled
        return features, y

    x_train, y_train = grades(1000)
    x_test, y_test = grades(1000)
    W = nl.Tensor(rng.standard_normal((3, 4)), requires_grad=True, dtype=np.float64)
    for _ in range(3000):
        hypo = nl.softmax(nl.Tensor(x_train) @ W)
        cost = -nl.log(hypo)[np.arange(len(y_train)), y_train].mean()
        (grad_W,) = nl.grad(cost, [W])
        W.data -= 0.5 * grad_W
    # the hand-written cost and the fused op agree, value and gradient
    logits = nl.Tensor(x_train) @ W
    cost = -nl.log(nl.softmax(logits))[np.arange(len(y_train)), y_train].mean()
    fused = nl.softmax_cross_entropy(logits, y_train)
    assert fused.item() == pytest.approx(cost.item(), rel=1e-12)
    np.testing.assert_allclose(nl.grad(fused, [W])[0], nl.grad(cost, [W])[0], rtol=1e-9)
    with nl.no_grad():
        predicted = np.argmax((nl.Tensor(x_test) @ W).data, axis=1)
    assert np.mean(predicted == y_test) > 0.8


def test_single_neuron_learns_and_or_but_not_xor():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    results = {}
    for gate, y in {"AND": [0, 0, 0, 1], "OR": [0, 1, 1, 1], "XOR": [0, 1, 1, 0]}.items():
        rng = np.random.default_rng(3)
        w = nl.Tensor(rng.standard_normal(2), requires_grad=True, dtype=np.float64)
        b = nl.Tensor(rng.standard_normal(), requires_grad=True, dtype=np.float64)
        for _ in range(1000):
            cost = nl.sigmoid_binary_cross_entropy(x @ w + b, np.array(y, float), reduction="sum")
            gw, gb = nl.grad(cost, [w, b])
            w.data -= 0.1 * gw
            b.data -= 0.1 * gb
        results[gate] = nl.sigmoid(x @ w + b).data
    assert np.all(np.round(results["AND"]) == [0, 0, 0, 1])
    assert np.all(np.round(results["OR"]) == [0, 1, 1, 1])
    np.testing.assert_allclose(results["XOR"], 0.5, atol=0.01)  # a line cannot do XOR


def test_xor_network_separates_the_four_points():
    _, predictions = train_xor()
    assert predictions[0] < 0.1 and predictions[3] < 0.1
    assert predictions[1] > 0.9 and predictions[2] > 0.9


def test_xor_with_the_unfused_cross_entropy_matches_fused():
    # the example's network: h = sigmoid(x w1[:2] + w1[2]); o = sigmoid(h w2[:2] + w2[2]);
    # xent = -y log o - (1 - y) log(1 - o); grads by T.grad
    rng = np.random.default_rng(4)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0], dtype=np.float64)
    w1 = nl.Tensor(rng.standard_normal((3, 2)), requires_grad=True, dtype=np.float64)
    w2 = nl.Tensor(rng.standard_normal(3), requires_grad=True, dtype=np.float64)
    h = nl.sigmoid(x @ w1[:2] + w1[2])
    o_in = h @ w2[:2] + w2[2]
    o = nl.sigmoid(o_in)
    xent = (-y * nl.log(o) - (1 - y) * nl.log(1 - o)).sum()
    fused = nl.sigmoid_binary_cross_entropy(o_in, y, reduction="sum")
    g_plain = nl.grad(xent, [w1, w2])
    g_fused = nl.grad(fused, [w1, w2])
    assert fused.item() == pytest.approx(xent.item(), rel=1e-12)
    for gp, gf in zip(g_plain, g_fused):
        np.testing.assert_allclose(gp, gf, rtol=1e-10)
