"""nnlearn.numerics: the stable array functions, against closed forms and float64 values."""

import math

import numpy as np
import pytest

from nnlearn import numerics


def test_logsumexp_is_exact_where_the_naive_form_overflows():
    x = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [0.0, math.log(3.0)]])
    np.testing.assert_allclose(numerics.logsumexp(x, (1,))[:, 0],
                               [1000 + math.log(2), -1000 + math.log(2), math.log(4)])
    assert numerics.logsumexp(np.array([-np.inf, -np.inf]), (0,))[0] == -np.inf


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_sigmoid_in_both_tails_without_overflow(dtype):
    x = np.array([-1e4, -10, 0, 10, 1e4], dtype=dtype)
    with np.errstate(over="raise"):
        s = numerics.sigmoid(x)
    assert s.dtype == dtype and s[2] == 0.5 and s[-1] == 1
    assert 0 <= s[0] < np.finfo(dtype).tiny  # e^-1e4: below the smallest normal number
    np.testing.assert_allclose(s[1:4].astype(np.float64),
                               [1 / (1 + math.exp(10)), 0.5, 1 / (1 + math.exp(-10))],
                               rtol=1e-3 if dtype == np.float16 else 1e-6)


def test_softplus_equals_log1p_exp_and_stays_finite():
    x = np.array([-800.0, -2.0, 0.0, 2.0, 800.0])
    np.testing.assert_allclose(numerics.softplus(x)[1:4], np.log1p(np.exp(x[1:4])))
    assert numerics.softplus(x)[0] == pytest.approx(0.0, abs=1e-300)
    assert numerics.softplus(x)[-1] == 800.0


# -- every activation and loss against a float64 reference, in float16/32/64 ----------------
# Inputs cover each dtype's whole finite range, with rows of equal huge values (where a
# log-sum-exp rounded before a subtraction gave 0 instead of ln 2).  A result must lie
# within RTOL * |reference| + ATOL of the float64 reference rounded to the dtype (the
# reference overflowing there means the result must be the same infinity).
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402

import nnlearn as nl  # noqa: E402
from nnlearn import autograd as ag  # noqa: E402

DTYPES = (np.float16, np.float32, np.float64)
ULPS = 8  # tolerance in units of the dtype's epsilon (relative, plus as much absolute)


def close(got, reference, dtype, ulps=ULPS, what=""):
    got = np.asarray(got, dtype=np.float64)
    eps = float(np.finfo(dtype).eps)
    with np.errstate(over="ignore"):
        rounded = np.asarray(reference, np.float64).astype(dtype).astype(np.float64)
    infinite = np.isinf(rounded)
    assert np.array_equal(got[infinite], rounded[infinite]), (what, got, reference)
    finite = ~infinite
    error = np.abs(got[finite] - rounded[finite])
    bound = ulps * eps * (np.abs(rounded[finite]) + 1)
    assert np.all(error <= bound), (what, dtype.__name__, got, reference)


def whole_range(dtype, shape, equal_rows=False):
    """Arrays of ``dtype`` over its whole finite range; with ``equal_rows`` each row
    repeats one value (huge equal logits)."""
    width = np.finfo(dtype).bits
    big = float(np.finfo(dtype).max)
    values = st.one_of(st.floats(width=width, allow_nan=False, allow_infinity=False),
                       st.sampled_from([big, -big, big / 2, 1e4, -1e4, 1e3, 88.0, 0.0]))
    if equal_rows:
        return st.builds(lambda v, n: np.full((n, shape[1]), v, dtype), values,
                         st.integers(1, shape[0]))
    return hnp.arrays(dtype, st.tuples(st.integers(1, shape[0]), st.just(shape[1])),
                      elements=values)


def moderate(dtype, shape, low=-50.0, high=50.0):
    """Values where a loss's terms (squares) stay representable (float16: |v| <= 15)."""
    if dtype == np.float16:
        low, high = max(low, -15.0), min(high, 15.0)
    return hnp.arrays(dtype, st.just(shape), elements=st.floats(
        low, high, width=np.finfo(dtype).bits, allow_nan=False))


def _expit(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))),
                    np.exp(-np.abs(x)) / (1 + np.exp(-np.abs(x))))


def _log_softmax(x):
    with np.errstate(over="ignore"):  # below -max: -inf
        shifted = x - x.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


ELEMENTWISE = {
    "linear": lambda x: x, "binary_step": lambda x: (x >= 0).astype(float),
    "sigmoid": _expit, "tanh": np.tanh, "arctan": np.arctan,
    "relu": lambda x: np.maximum(x, 0), "leaky_relu": lambda x: np.where(x > 0, x, 0.3 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
    "softplus": lambda x: np.logaddexp(0, x), "silu": lambda x: x * _expit(x),
    "swish": lambda x: x * _expit(x),
    "gelu": lambda x: x * 0.5 * np.vectorize(math.erfc, otypes=[float])(-x / math.sqrt(2)),
    "selu": lambda x: _selu(x),
    "exponential": lambda x: _exp(x),
}


def _selu(x):
    with np.errstate(over="ignore"):  # lambda x beyond the range: inf, the rounded value
        return 1.0507009873554805 * np.where(
            x > 0, x, 1.6732632423543772 * np.expm1(np.minimum(x, 0)))


def _exp(x):
    with np.errstate(over="ignore"):  # beyond the dtype's range: inf, the rounded value
        return np.exp(x)
ROWWISE = {"softmax": lambda x: np.exp(_log_softmax(x)), "log_softmax": _log_softmax}


def test_every_registered_activation_is_checked():
    assert set(nl.activations.ACTIVATIONS) == set(ELEMENTWISE) | {"softmax"}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_activations_over_the_whole_range(name, dtype, data):
    x = data.draw(whole_range(dtype, (4, 3)))
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # none on the way
        got = nl.activations.get(name)(ag.Tensor(x)).data
    assert got.dtype == dtype
    close(got, ELEMENTWISE[name](x.astype(np.float64)), dtype, what=name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ROWWISE))
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_softmax_and_log_softmax_over_the_whole_range(name, dtype, data):
    x = data.draw(st.one_of(whole_range(dtype, (3, 4)), whole_range(dtype, (3, 4), True)))
    function = ag.log_softmax if name == "log_softmax" else nl.activations.softmax
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = function(ag.Tensor(x)).data
    close(got, ROWWISE[name](x.astype(np.float64)), dtype, what=name)


def _mean(a):
    """The mean without overflowing near float64's max."""
    a = np.asarray(a, np.float64)
    largest = float(np.abs(a).max())
    return largest * (float(np.sum(a / largest)) / a.size) if largest else 0.0


def fused_reference(z, labels, dtype):
    """(mean loss, gradient of the mean) of softmax cross-entropy in float64; the loss
    is inf when a sample's own loss exceeds what ``dtype`` holds (no dtype can hold that
    sample, whatever the mean)."""
    log_p = _log_softmax(z)
    n = len(z)
    onehot = np.eye(z.shape[1])[labels]
    per_sample = -np.sum(np.where(onehot > 0, log_p, 0), axis=1)
    with np.errstate(over="ignore"):
        overflows = np.isinf(per_sample.astype(dtype)).any()
    loss = np.inf if overflows else _mean(per_sample)
    return loss, (np.exp(log_p) - onehot) / n


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("form", ["sparse", "categorical"])
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fused_softmax_cross_entropy_and_its_gradient_over_the_whole_range(form, dtype, data):
    z = data.draw(st.one_of(whole_range(dtype, (3, 4)), whole_range(dtype, (3, 4), True)))
    labels = data.draw(hnp.arrays(np.int64, len(z), elements=st.integers(0, 3)))
    logits = ag.Tensor(z, requires_grad=True)
    target = labels if form == "sparse" else np.eye(4, dtype=dtype)[labels]
    loss = nl.losses.get({"class_name": f"{form.capitalize()}CategoricalCrossentropy"
                          if form == "sparse" else "CategoricalCrossentropy",
                          "config": {"from_logits": True}})
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss(target, logits)
        value.backward()
    reference, gradient = fused_reference(z.astype(np.float64), labels, dtype)
    # the mean over samples adds rounding of its own: a few more ulps
    close(value.data, reference, dtype, ulps=4 * ULPS, what="loss")
    close(logits.grad * len(z), gradient * len(z), dtype, ulps=4 * ULPS, what="gradient")


def test_the_equal_huge_logits_of_the_issue():
    for dtype, big in ((np.float32, 1e8), (np.float16, 1e3), (np.float64, 1e300)):
        z = ag.Tensor(np.array([[big, big]], dtype), requires_grad=True)
        loss = ag.softmax_cross_entropy(z, np.array([0]))
        loss.backward()
        assert float(loss.data) == pytest.approx(math.log(2), rel=2e-3)
        np.testing.assert_allclose(z.grad, [[-0.5, 0.5]], rtol=1e-3)
        np.testing.assert_allclose(ag.log_softmax(ag.Tensor(z.data)).data, [[-math.log(2)] * 2],
                                   rtol=2e-3)
        assert numerics.log_softmax(z.data, (1,)).dtype == dtype


@pytest.mark.parametrize("dtype", DTYPES)
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fused_sigmoid_cross_entropy_and_its_gradient_over_the_whole_range(dtype, data):
    z = data.draw(whole_range(dtype, (4, 1)))
    t = data.draw(hnp.arrays(dtype, z.shape, elements=st.sampled_from([0.0, 1.0, 0.5])))
    logits = ag.Tensor(z, requires_grad=True)
    loss = nl.losses.BinaryCrossentropy(from_logits=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = loss(t, logits)
        value.backward()
    z64, t64 = z.astype(np.float64), t.astype(np.float64)
    elementwise = np.logaddexp(0, z64) - z64 * t64  # exact in float64 for these inputs
    scale = _mean(np.maximum(np.abs(z64), 1))  # a sum of terms as large as |z| each
    close(value.data / scale, _mean(elementwise) / scale, dtype, ulps=4 * ULPS, what="loss")
    close(logits.grad * z.size, _expit(z64) - t64, dtype, ulps=4 * ULPS, what="gradient")


def _signed(y):
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


def _log_cosh(x):
    a = np.abs(x)
    return np.where(a < 1, np.log1p(2 * np.sinh(x / 2) ** 2),
                    a + np.log1p(np.exp(-2 * a)) - math.log(2))


EPS = nl.losses.EPSILON
def _eps(dtype):
    """EPSILON as the dtype holds it (in float16 1e-7 is the subnormal 1.19e-7)."""
    return float(np.asarray(EPS, dtype))


VALUE_LOSSES = {  # name -> reference(y, p, dtype) in float64 (Keras's definitions)
    "mean_squared_error": lambda y, p, d: np.mean((p - y) ** 2),
    "mean_absolute_error": lambda y, p, d: np.mean(np.abs(p - y)),
    "mean_absolute_percentage_error":
        lambda y, p, d: 100 * np.mean(np.abs((y - p) / np.maximum(np.abs(y), _eps(d)))),
    "mean_squared_logarithmic_error":
        lambda y, p, d: np.mean((np.log(np.maximum(p, _eps(d)) + 1)
                                 - np.log(np.maximum(y, _eps(d)) + 1)) ** 2),
    "hinge": lambda y, p, d: np.mean(np.maximum(1 - _signed(y) * p, 0)),
    "squared_hinge": lambda y, p, d: np.mean(np.maximum(1 - _signed(y) * p, 0) ** 2),
    "log_cosh": lambda y, p, d: np.mean(_log_cosh(p - y)),
    "poisson": lambda y, p, d: np.mean(p - y * np.log(p + _eps(d))),
}


def _clipped(p, dtype):
    """p clipped to [eps, 1 - eps] as the dtype holds those bounds (Keras clips in the
    dtype: in float32 1 - 1e-7 is 1 - 2**-23), eps = max(EPSILON, the dtype's spacing
    below 1) so that float16's 1 - eps is not 1."""
    eps = max(EPS, float(np.finfo(dtype).epsneg))
    return np.clip(p, float(np.asarray(eps, dtype)), float(np.asarray(1 - eps, dtype)))


def _floor(dtype):
    """The cosine similarity's floor of |v|^2: 1e-12, or float16's smallest normal."""
    return max(1e-12, float(np.finfo(dtype).tiny))


PROBABILITY_LOSSES = {  # name -> reference(y, p, dtype)
    "binary_crossentropy": lambda y, p, d: np.mean(-(y * np.log(_clipped(p, d)) + (1 - y)
                                                     * np.log(1 - _clipped(p, d)))),
    "kl_divergence": lambda y, p, d: np.mean(np.sum(np.clip(y, EPS, 1) * (
        np.log(np.clip(y, EPS, 1)) - np.log(np.clip(p, EPS, 1))), axis=-1)),
    "categorical_crossentropy": lambda y, p, d: np.mean(-np.sum(y * np.log(_clipped(
        p / p.sum(axis=-1, keepdims=True), d)), axis=-1)),
    "cosine_similarity": lambda y, p, d: np.mean(-np.sum(
        y / np.sqrt(np.maximum((y * y).sum(-1, keepdims=True), _floor(d)))
        * p / np.sqrt(np.maximum((p * p).sum(-1, keepdims=True), _floor(d))), axis=-1)),
    "categorical_hinge": lambda y, p, d: np.mean(np.maximum(
        ((1 - y) * p).max(axis=-1) - (y * p).sum(axis=-1) + 1, 0)),
}


def test_every_registered_loss_is_checked():
    checked = set(VALUE_LOSSES) | set(PROBABILITY_LOSSES) | {"sparse_categorical_crossentropy",
                                                             "sklearn_mlp"}
    names = {type(nl.losses.get(name)).__name__ for name in checked}
    assert names == {type(loss()).__name__ for loss in nl.losses.LOSSES.values()}


def _scale(*arrays):
    """The size of the terms a loss adds up (its rounding is relative to them)."""
    return max(1.0, *(float(np.abs(a).max()) for a in arrays)) ** 2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(VALUE_LOSSES))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_value_losses_against_the_reference(name, dtype, data):
    low = 0.0 if name in ("poisson", "mean_squared_logarithmic_error") else -50.0
    p = data.draw(moderate(dtype, (3, 2), low))
    y = data.draw(st.one_of(moderate(dtype, (3, 2), low),
                            hnp.arrays(dtype, (3, 2), elements=st.sampled_from([0.0, 1.0]))))
    with np.errstate(over="ignore", invalid="raise"):  # inf where the true value is (checked)
        got = nl.losses.get(name)(y, ag.Tensor(p)).data.astype(np.float64)
    reference = VALUE_LOSSES[name](y.astype(np.float64), p.astype(np.float64), dtype)
    # rounding is relative to the terms added up; a percentage error's terms are its size
    scale = _scale(y, p) if name != "mean_absolute_percentage_error" else 1.0
    close(got / scale, reference / scale, dtype, ulps=4 * ULPS, what=name)


def _probabilities(dtype, shape):
    return hnp.arrays(dtype, st.just(shape), elements=st.one_of(
        st.floats(0, 1, width=np.finfo(dtype).bits), st.sampled_from([0.0, 1.0, 0.5])))


FOUND_NOT_FIXED: dict = {}  # (loss, dtype) -> reason, as strict xfails


def _probability_cases():
    for name in sorted(PROBABILITY_LOSSES):
        for dtype in DTYPES:
            reason = FOUND_NOT_FIXED.get((name, dtype))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(name, dtype, marks=marks, id=f"{name}-{dtype.__name__}")


@pytest.mark.parametrize("name, dtype", list(_probability_cases()))
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_probability_losses_against_the_reference(name, dtype, data):
    p = data.draw(_probabilities(dtype, (3, 3)))
    y = data.draw(st.one_of(_probabilities(dtype, (3, 3)), hnp.arrays(
        dtype, (3, 3), elements=st.sampled_from([0.0, 1.0]))))
    if name == "categorical_crossentropy" and not np.all(p.sum(axis=-1) > 0):
        p = p + np.asarray(0.25, dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = nl.losses.get(name)(y, ag.Tensor(p)).data
    with np.errstate(divide="ignore", invalid="ignore"):  # float16: log(1 - 1) below
        reference = PROBABILITY_LOSSES[name](y.astype(np.float64), p.astype(np.float64),
                                             dtype)
    if name == "categorical_crossentropy":  # normalised in the dtype first: rounding of p/sum
        close(got / 20, reference / 20, dtype, ulps=16 * ULPS, what=name)
    else:
        close(got / 20, reference / 20, dtype, ulps=4 * ULPS, what=name)


def _sklearn_objective(link, y, z):
    """scikit-learn's MLP objective (alpha 0) in float64, from its definitions."""
    if link == "softmax":
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        return -log_p[np.arange(len(y)), y.astype(int)].mean()
    if link == "logistic":
        return (np.logaddexp(0, z) - y * z).sum(axis=1).mean()
    if link == "identity":
        return 0.5 * ((z - y) ** 2).mean()
    xlogx = np.where(y > 0, y * np.log(np.where(y > 0, y, 1)), 0.0)
    return (np.exp(z) - y * z + xlogx - y).sum(axis=1).mean()


@pytest.mark.parametrize("link", ["softmax", "logistic", "identity", "exp"])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_the_sklearn_objective_from_its_logits_against_the_reference(link, data):
    z = data.draw(moderate(np.float64, (4, 3), -30.0, 30.0 if link != "exp" else 5.0))
    rng = np.random.default_rng(data.draw(st.integers(0, 100)))
    y = {"softmax": rng.integers(0, 3, 4).astype(float), "logistic": rng.integers(0, 2, (4, 3)),
         "identity": rng.normal(size=(4, 3)), "exp": rng.poisson(2.0, (4, 3))}[link]
    loss = nl.losses.SklearnMLPLoss(link, alpha=0.0)
    fused = loss.from_logits_of(loss.LINKS[link])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        got = fused(y, ag.Tensor(z)).data
    close(np.asarray(got), np.asarray(_sklearn_objective(link, y.astype(float), z)),
          np.float64, ulps=64 * ULPS, what=f"sklearn_mlp {link}")
