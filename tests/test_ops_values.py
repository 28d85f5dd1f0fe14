"""Forward values of the ops against independent references, and numerical stability.

References are written from the textbook formulas (seed 000) in float64 on inputs
where those formulas are safe, or taken from SciPy when it is installed.
"""

import warnings

import numpy as np
import pytest

import nnlearn as nl

RNG = np.random.default_rng(0)
X = RNG.uniform(-5, 5, (4, 6))


@pytest.mark.parametrize("op, reference", [
    (nl.sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    (nl.tanh, lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))),
    (nl.relu, lambda x: np.where(x > 0, x, 0)),
    (nl.softplus, lambda x: np.log(1 + np.exp(x))),
    (nl.softmax, lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)),
    (nl.log_softmax, lambda x: np.log(np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True))),
    (lambda t: nl.logsumexp(t, axis=1), lambda x: np.log(np.exp(x).sum(axis=1))),
    (nl.exp, np.exp), (nl.abs, np.abs), (nl.sign, np.sign),
    (lambda t: nl.clip(t, -1, 2), lambda x: np.minimum(np.maximum(x, -1), 2)),
    (lambda t: t.max(axis=0), lambda x: x.max(axis=0)),
    (lambda t: t.min(axis=1, keepdims=True), lambda x: x.min(axis=1, keepdims=True)),
    (lambda t: t.mean(axis=(0, 1)), lambda x: x.sum() / x.size),
])
def test_forward_matches_formula(op, reference):
    np.testing.assert_allclose(op(nl.Tensor(X)).data, reference(X), rtol=1e-12, atol=1e-12)


def test_against_scipy_when_installed():
    special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(nl.sigmoid(nl.Tensor(X)).data, special.expit(X), rtol=1e-14)
    np.testing.assert_allclose(nl.logsumexp(nl.Tensor(X), axis=0).data,
                               special.logsumexp(X, axis=0), rtol=1e-14)
    np.testing.assert_allclose(nl.log_softmax(nl.Tensor(X)).data,
                               special.log_softmax(X, axis=-1), rtol=1e-13)


def test_softmax_cross_entropy_equals_negative_log_likelihood():
    # seed 000: L = -1/N sum_i ln softmax(z_i)[y_i]
    z, y = RNG.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(5), y]))
    assert nl.softmax_cross_entropy(nl.Tensor(z), y).item() == pytest.approx(expected, rel=1e-12)
    assert nl.softmax_cross_entropy(nl.Tensor(z), np.eye(3)[y]).item() == pytest.approx(
        expected, rel=1e-12)
    # its gradient is (softmax - onehot) / N (seed 001)
    t = nl.Tensor(z, requires_grad=True)
    nl.softmax_cross_entropy(t, y).backward()
    np.testing.assert_allclose(t.grad, (p - np.eye(3)[y]) / 5, rtol=1e-12)


def test_sigmoid_binary_cross_entropy_equals_formula():
    # seed 000: xent = -y ln h - (1 - y) ln(1 - h)
    z, y = RNG.standard_normal((6, 1)), RNG.integers(0, 2, (6, 1)).astype(float)
    h = 1 / (1 + np.exp(-z))
    xent = -y * np.log(h) - (1 - y) * np.log(1 - h)
    got = nl.sigmoid_binary_cross_entropy(nl.Tensor(z), y, reduction="none").data
    np.testing.assert_allclose(got, xent, rtol=1e-12)
    t = nl.Tensor(z, requires_grad=True)
    nl.sigmoid_binary_cross_entropy(t, y, reduction="sum").backward()
    np.testing.assert_allclose(t.grad, h - y, rtol=1e-12)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_logits_stay_finite_without_warnings(dtype):
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [1e4, 1e4, -1e4]], dtype=dtype)
    y = np.array([1, 0, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        results = []
        for fn in (nl.sigmoid, nl.softplus, nl.softmax, nl.log_softmax, nl.logsumexp, nl.tanh):
            t = nl.Tensor(z, requires_grad=True)
            out = fn(t)
            out.sum().backward()
            results += [out.data, t.grad]
        t = nl.Tensor(z, requires_grad=True)
        loss = nl.softmax_cross_entropy(t, y)
        loss.backward()
        results += [loss.data, t.grad]
        assert loss.item() == pytest.approx((2e4 + np.log(3) + 2e4 + np.log(2)) / 3, rel=1e-6)
        t = nl.Tensor(z, requires_grad=True)
        loss = nl.sigmoid_binary_cross_entropy(t, (z > 0).astype(dtype))
        loss.backward()
        results += [loss.data, t.grad]
        assert loss.item() == pytest.approx(np.log(2) / 9, rel=1e-5)  # only the 0 logit errs
    for r in results:
        assert np.all(np.isfinite(r))


def test_sigmoid_tails_are_accurate():
    # 1 + tanh(x/2) would lose all digits here; e^x / (1 + e^x) does not.
    x = nl.Tensor(np.float64(-40.0))
    assert nl.sigmoid(x).item() == pytest.approx(np.exp(-40.0), rel=1e-12)
    assert nl.softplus(x).item() == pytest.approx(np.exp(-40.0), rel=1e-12)


def test_logsumexp_of_all_minus_infinity():
    out = nl.logsumexp(nl.Tensor(np.full((2, 3), -np.inf)), axis=1)
    assert np.all(out.data == -np.inf)


def test_max_ties_share_the_gradient():
    t = nl.Tensor([1.0, 3.0, 3.0], requires_grad=True)
    t.max().backward()
    np.testing.assert_allclose(t.grad, [0, 0.5, 0.5])
    a, b = nl.Tensor([2.0], requires_grad=True), nl.Tensor([2.0], requires_grad=True)
    nl.maximum(a, b).sum().backward()
    assert a.grad[0] == 0.5 and b.grad[0] == 0.5


def test_loss_argument_errors():
    z = nl.Tensor(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        nl.softmax_cross_entropy(z, [0, 1, 4])
    with pytest.raises(ValueError, match=r"shape \(3,\).*\(3, 4\).*got \(2,\)"):
        nl.softmax_cross_entropy(z, [0, 1])
    with pytest.raises(ValueError, match="reduction"):
        nl.softmax_cross_entropy(z, [0, 1, 2], reduction="avg")
    with pytest.raises(ValueError, match=r"targets of shape \(3,\).*\(3, 1\)"):
        nl.sigmoid_binary_cross_entropy(nl.Tensor(np.zeros((3, 1))), np.zeros(3))
    with pytest.raises(ValueError, match="min, max"):
        nl.clip(z)
