"""nnlearn.autograd.ops: every differentiable op passes a float64 central-difference
gradient check on random shapes (broadcasting included) and keeps float32 inputs in
float32; forward values match independent references, and stay finite and accurate at
extreme inputs.

Each op of the gradient checks is one row of ELEMENTWISE (or FLOAT32_CASES): how many
inputs, how to draw their values away from kinks and singularities, and the function of
Tensors to check.  The value references are written from the textbook formulas in float64
on inputs where those formulas are safe, or taken from SciPy when it is installed.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import nnlearn as nl


def normal(rng, shape):
    return rng.standard_normal(shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, shape)


def away_from_zero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.2, 2.0, shape)


def distinct(rng, shape):
    """Values with no ties and gaps far wider than gradcheck's eps (for max/min)."""
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.1 + rng.uniform(0, 0.01, n)).reshape(shape)


# name -> (number of broadcast inputs, value generator, function of tensors)
ELEMENTWISE = {
    "add": (2, normal, lambda a, b: a + b),
    "sub": (2, normal, lambda a, b: a - b),
    "mul": (2, normal, lambda a, b: a * b),
    "div": (2, away_from_zero, lambda a, b: a / b),
    "pow": (2, positive, lambda a, b: a ** b),
    "pow_scalar_exponent": (1, positive, lambda a: a ** 3 + a ** 2 + a ** -1.5),
    "rpow": (1, normal, lambda a: 2.0 ** a),
    "neg": (1, normal, lambda a: -a),
    "exp": (1, normal, nl.exp),
    "log": (1, positive, nl.log),
    "sqrt": (1, positive, nl.sqrt),
    "abs": (1, away_from_zero, nl.abs),
    "sign": (1, away_from_zero, lambda a: nl.sign(a) * a),
    "clip": (1, away_from_zero, lambda a: nl.clip(a, -0.1, 0.1) + nl.clip(a, min=0.0)),
    "tanh": (1, normal, nl.tanh),
    "sigmoid": (1, normal, nl.sigmoid),
    "relu": (1, away_from_zero, nl.relu),
    "softplus": (1, normal, nl.softplus),
    "leaky_relu": (1, away_from_zero, lambda a: nl.leaky_relu(a, 0.2)),
    "elu": (1, away_from_zero, lambda a: nl.elu(a, 1.5)),
    "arctan": (1, normal, nl.arctan),
    "binary_step": (1, away_from_zero, lambda a: nl.binary_step(a) * a),
    "maximum": (2, distinct, nl.maximum),
    "minimum": (2, distinct, nl.minimum),
    "where": (2, normal, lambda a, b: nl.where(a.data > 0.3, a, b)),
    "scalar_operands": (1, away_from_zero, lambda a: 3 - (1 + a) * 2 / (0.5 + a * a)),
}


def check(fn, arrays):
    tensors = [nl.Tensor(x, requires_grad=True) for x in arrays]
    assert nl.gradcheck(fn, tensors)


@pytest.mark.parametrize("name", sorted(ELEMENTWISE))
@settings(max_examples=30, deadline=None)
@given(shapes=mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       seed=st.integers(0, 2**32 - 1))
def test_elementwise_ops_gradcheck(name, shapes, seed):
    n_inputs, values, fn = ELEMENTWISE[name]
    rng = np.random.default_rng(seed)
    if values is distinct:  # distinct across both inputs, so there are no ties
        size_a = int(np.prod(shapes.input_shapes[0]))
        both = distinct(rng, (size_a + int(np.prod(shapes.input_shapes[1])),))
        arrays = [both[:size_a].reshape(shapes.input_shapes[0]),
                  both[size_a:].reshape(shapes.input_shapes[1])]
    else:
        arrays = [values(rng, s) for s in shapes.input_shapes[:n_inputs]]
    check(fn, arrays)


REDUCTIONS = {
    "sum": nl.sum, "mean": nl.mean, "max": nl.max, "min": nl.min,
    "logsumexp": nl.logsumexp,
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@settings(max_examples=30, deadline=None)
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data(),
       keepdims=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_reductions_gradcheck(name, shape, data, keepdims, seed):
    axis = data.draw(st.one_of(
        st.none(), st.integers(-len(shape), len(shape) - 1),
        st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple)))
    x = distinct(np.random.default_rng(seed), shape)
    check(lambda t: REDUCTIONS[name](t, axis=axis, keepdims=keepdims), [x])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@settings(max_examples=30, deadline=None)
@given(shape=array_shapes(min_dims=1, max_dims=3, max_side=4), data=st.data(),
       seed=st.integers(0, 2**32 - 1))
def test_softmax_family_gradcheck(name, shape, data, seed):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = normal(np.random.default_rng(seed), shape)
    check(lambda t: getattr(nl, name)(t, axis=axis), [x])


@pytest.mark.parametrize("shape_a, shape_b", [
    ((3, 4), (4, 2)), ((4,), (4, 3)), ((3, 4), (4,)), ((4,), (4,)),
    ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((5,), (2, 5, 3)),
])
def test_matmul_gradcheck(shape_a, shape_b):
    rng = np.random.default_rng(0)
    check(lambda a, b: a @ b, [normal(rng, shape_a), normal(rng, shape_b)])


@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("shapes", [((5, 3), (3, 4)), ((1, 1), (1, 1)), ((2, 6), (6, 1))])
def test_linear_gradcheck(shapes, with_bias):
    rng = np.random.default_rng(7)
    arrays = [normal(rng, shapes[0]), normal(rng, shapes[1])]
    if with_bias:
        arrays.append(normal(rng, shapes[1][1:]))
    check(nl.linear, arrays)
    x, w = (nl.Tensor(a) for a in arrays[:2])
    want = arrays[0] @ arrays[1] + (arrays[2] if with_bias else 0)
    np.testing.assert_allclose(nl.linear(x, w, *arrays[2:]).data, want, rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(shape=array_shapes(min_dims=1, max_dims=4, max_side=3), data=st.data(),
       seed=st.integers(0, 2**32 - 1))
def test_shape_ops_gradcheck(shape, data, seed):
    rng = np.random.default_rng(seed)
    x = normal(rng, shape)
    perm = tuple(data.draw(st.permutations(range(len(shape)))))
    ramp = nl.Tensor(np.arange(x.size) + 1.0)
    check(lambda t: t.transpose(perm).reshape(-1) * ramp, [x])
    weights = nl.Tensor(rng.standard_normal(x.shape[::-1]), dtype=np.float64)
    check(lambda t: t.T * weights, [x])


@pytest.mark.parametrize("index", [
    (slice(1, 3),),
    (1,),
    (slice(None), 2),
    (Ellipsis, slice(None, None, -1)),
    (np.array([0, 2, 2, 1]), np.array([1, 1, 1, 0])),  # repeated picks accumulate
    (np.array([3, 0, 3]),),
    (np.array([True, False, True, True]),),
    (None, slice(0, 2)),
], ids=str)
def test_getitem_gradcheck(index):
    x = normal(np.random.default_rng(1), (4, 3))
    check(lambda t: t[index if len(index) > 1 else index[0]], [x])


def test_getitem_picks_class_probability_like_seed_000():
    # Theano's cost = -T.mean(T.log(hypo)[T.arange(n), y])
    rng = np.random.default_rng(2)
    logits, y = normal(rng, (5, 4)), np.array([0, 3, 3, 1, 2])
    check(lambda z: -nl.log(nl.softmax(z))[np.arange(5), y].mean(), [logits])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate_and_stack_gradcheck(axis):
    rng = np.random.default_rng(3)
    a, b = normal(rng, (2, 3)), normal(rng, (2, 3))
    check(lambda s, t: nl.concatenate([s, t * 2, s], axis=axis), [a, b])
    check(lambda s, t: nl.stack([s, t * 2, s], axis=axis), [a, b])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("labels", ["int", "onehot", "probabilities"])
def test_softmax_cross_entropy_gradcheck(reduction, labels):
    rng = np.random.default_rng(4)
    z = normal(rng, (6, 4)) * 3
    y = rng.integers(0, 4, 6)
    target = {"int": y, "onehot": np.eye(4)[y],
              "probabilities": rng.dirichlet(np.ones(4), 6)}[labels]
    check(lambda t: nl.softmax_cross_entropy(t, target, reduction=reduction), [z])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_sigmoid_binary_cross_entropy_gradcheck(reduction):
    rng = np.random.default_rng(5)
    z, t = normal(rng, (5, 2)) * 3, rng.uniform(0, 1, (5, 2))
    check(lambda s: nl.sigmoid_binary_cross_entropy(s, t, reduction=reduction), [z])


@pytest.mark.parametrize("shape", [(), (5, 2), (7,), (3, 2, 2)])
def test_sum_of_squares_gradcheck_and_value(shape):
    x = normal(np.random.default_rng(10), shape)
    check(nl.sum_of_squares, [x])
    assert nl.sum_of_squares(nl.Tensor(x)).item() == pytest.approx(np.sum(x ** 2), rel=1e-12)
    # through a non-contiguous view too
    t = nl.Tensor(normal(np.random.default_rng(11), (4, 3)), requires_grad=True)
    nl.sum_of_squares(t.T[::2]).backward()
    want = np.zeros((4, 3))
    want.T[::2] = 2 * t.data.T[::2]
    np.testing.assert_allclose(t.grad, want)


@pytest.mark.parametrize("shape", [(5, 2), (7,), (1, 1), (3, 2, 2)])
def test_mean_squared_error_gradcheck_and_value(shape):
    rng = np.random.default_rng(8)
    a, b = normal(rng, shape), normal(rng, shape)
    check(nl.mean_squared_error, [a, b])
    value = nl.mean_squared_error(nl.Tensor(a), b).item()
    assert value == pytest.approx(np.mean((a - b) ** 2), rel=1e-12)
    # Keras's form: the mean over the last axis, then over the samples
    keras = ((nl.Tensor(a) - b) ** 2).mean(axis=-1).mean().item()
    assert value == pytest.approx(keras, rel=1e-12)
    assert nl.mean_squared_error(b, nl.Tensor(a)).item() == pytest.approx(value, rel=1e-12)


def test_mean_squared_error_refuses_broadcasting():
    with pytest.raises(ValueError, match=r"shapes must be equal; got \(4, 1\) and \(4,\)"):
        nl.mean_squared_error(nl.Tensor(np.ones((4, 1))), np.ones(4))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bias_gradient_is_the_column_sum(dtype):
    # linear and a broadcast add compute it as 1^T g; compare with a float64 sum
    rng = np.random.default_rng(9)
    x, w, b = (rng.standard_normal(s).astype(dtype) for s in ((50, 3), (3, 4), (4,)))
    g = rng.standard_normal((50, 4)).astype(dtype)
    want = g.astype(np.float64).sum(axis=0)
    for out in (nl.linear(x, w, nl.Tensor(b, requires_grad=True)),
                nl.Tensor(x @ w) + nl.Tensor(b, requires_grad=True)):
        bias = out._parents[-1]
        out.backward(g)
        assert bias.grad.dtype == dtype
        np.testing.assert_allclose(bias.grad, want, rtol=1e-5 if dtype == np.float32 else 1e-12)


# A float32 input stays float32 through each op, forward and backward.
FLOAT32_CASES = [(name, n, values, fn) for name, (n, values, fn) in ELEMENTWISE.items()] + [
    ("matmul", 2, normal, lambda a, b: a @ b.T),
    ("linear", 2, normal, lambda a, b: nl.linear(a, b.T, b[:, 0])),
    ("softmax", 1, normal, nl.softmax),
    ("log_softmax", 1, normal, nl.log_softmax),
    ("logsumexp", 1, normal, lambda a: nl.logsumexp(a, axis=1)),
    ("max", 1, distinct, lambda a: a.max(axis=0)),
    ("mean", 1, normal, lambda a: a.mean(axis=0)),
    ("getitem", 1, normal, lambda a: a[np.array([0, 0, 1]), np.array([1, 2, 0])]),
    ("softmax_cross_entropy", 1, normal, lambda a: nl.softmax_cross_entropy(a, [0, 2])),
    ("sigmoid_bce", 1, normal, lambda a: nl.sigmoid_binary_cross_entropy(a, np.ones((2, 3)))),
    ("mean_squared_error", 2, normal, nl.mean_squared_error),
    ("sum_of_squares", 1, normal, nl.sum_of_squares),
]


@pytest.mark.parametrize("name, n_inputs, values, fn", FLOAT32_CASES,
                         ids=[c[0] for c in FLOAT32_CASES])
def test_float32_stays_float32(name, n_inputs, values, fn):
    rng = np.random.default_rng(6)
    xs = [nl.Tensor(values(rng, (2, 3)).astype(np.float32) + i, requires_grad=True)
          for i in range(n_inputs)]
    out = fn(*xs)
    assert out.dtype == np.float32
    out.sum().backward()
    for x in xs:
        assert x.grad.dtype == np.float32 and x.grad.shape == x.shape


# -- forward values against references, and numerical stability --------------------------
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
    # L = -1/N sum_i ln softmax(z_i)[y_i]
    z, y = RNG.standard_normal((5, 3)), np.array([0, 2, 1, 1, 0])
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    expected = -np.mean(np.log(p[np.arange(5), y]))
    assert nl.softmax_cross_entropy(nl.Tensor(z), y).item() == pytest.approx(expected, rel=1e-12)
    assert nl.softmax_cross_entropy(nl.Tensor(z), np.eye(3)[y]).item() == pytest.approx(
        expected, rel=1e-12)
    # its gradient is (softmax - onehot) / N
    t = nl.Tensor(z, requires_grad=True)
    nl.softmax_cross_entropy(t, y).backward()
    np.testing.assert_allclose(t.grad, (p - np.eye(3)[y]) / 5, rtol=1e-12)


def test_sigmoid_binary_cross_entropy_equals_formula():
    # xent = -y ln h - (1 - y) ln(1 - h)
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


@pytest.mark.parametrize("activation", ["linear", "relu", "sigmoid", "tanh"])
@pytest.mark.parametrize("with_bias", [True, False])
def test_dense_gradcheck_and_equals_linear_then_activation(activation, with_bias,
                                                          kernel_backend):
    """The fused node: gradchecked in float64, and the same bits (values and gradients)
    as linear followed by the activation's own op, on both kernel backends."""
    rng = np.random.default_rng(3)
    arrays = [away_from_zero(rng, (6, 4)), normal(rng, (4, 5))]
    if with_bias:
        arrays.append(normal(rng, (5,)))
    check(lambda *t: nl.dense(*t[:2], t[2] if with_bias else None, activation), arrays)
    for dtype in (np.float32, np.float64):
        grads, values = [], []
        for fused in (True, False):
            tensors = [nl.Tensor(a, requires_grad=True, dtype=dtype) for a in arrays]
            bias = tensors[2] if with_bias else None
            if fused:
                out = nl.dense(tensors[0], tensors[1], bias, activation)
            else:
                out = nl.activations.get(activation)(nl.linear(tensors[0], tensors[1], bias))
            (out * out).sum().backward()
            values.append(out.data)
            grads.append([t.grad for t in tensors])
        np.testing.assert_array_equal(values[0], values[1])
        for a, b in zip(*grads):
            np.testing.assert_array_equal(a, b)


def test_dense_refuses_an_activation_it_does_not_fuse():
    with pytest.raises(ValueError, match="dense: activation must be an element-wise"):
        nl.dense(np.ones((2, 3)), np.ones((3, 1)), None, "softmax")


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "relu", "softplus", "gelu", "elu",
                                  "swish", "leaky_relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_an_activation_s_gradient_is_its_rule_on_small_and_large_arrays(name, dtype):
    """The activation's gradient is its backward rule of nnlearn.activations (the kernel
    pass, numba where installed), to rounding, on either side of ops.SMALL (where a sum's
    gradient becomes a broadcast view)."""
    from nnlearn import activations
    from nnlearn.autograd import ops

    spec = activations.get(name)
    rng = np.random.default_rng(0)
    for size in (ops.SMALL, ops.SMALL + 1):
        x = nl.Tensor((3 * rng.standard_normal(size)).astype(dtype), requires_grad=True)
        g = rng.standard_normal(size).astype(dtype)
        (dx,) = nl.grad(ops.activation(x, spec), [x], gradient=g)
        h = spec.function(x.data, dtype(1))
        with np.errstate(all="ignore"):
            expected = spec.backward(g, g, x.data, h, dtype(1))
        assert dx.dtype == dtype
        np.testing.assert_allclose(dx, expected, rtol=1e-5 if dtype == np.float32 else 1e-12,
                                   atol=1e-6 if dtype == np.float32 else 1e-12)
