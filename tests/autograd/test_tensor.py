"""The Tensor: construction and dtype policy, attributes, operators, backward and grad,
no_grad, and the errors a user meets at the boundary."""

import operator

import numpy as np
import pytest

import nnlearn as nl


# -- construction and dtype policy -------------------------------------------------------
@pytest.mark.parametrize("value, dtype", [
    (np.zeros(3, dtype=np.float64), np.float64),
    (np.zeros(3, dtype=np.float32), np.float32),
    (np.float64(1.5), np.float64),
    (1.5, np.float32),
    (3, np.float32),
    (True, np.float32),
    ([1.0, 2.0], np.float32),
    ([[1, 2], [3, 4]], np.float32),
    (np.arange(4), np.float32),
    (np.array([True, False]), np.float32),
])
def test_dtype_policy(value, dtype):
    t = nl.Tensor(value)
    assert t.dtype == dtype
    np.testing.assert_array_equal(t.data, np.asarray(value, dtype=dtype))


def test_explicit_dtype_and_copy():
    source = np.arange(3.0)
    t = nl.Tensor(source, dtype="float32")
    assert t.dtype == np.float32
    t = nl.Tensor(source)
    t.data[0] = 99  # .data is writable and does not alias the caller's array
    assert source[0] == 0 and t.data[0] == 99


@pytest.mark.parametrize("bad, type_name", [
    ("abc", "str"), (b"abc", "bytes"), (object(), "object"), ({"a": 1}, "dict"),
    (None, "NoneType"),
])
def test_non_numeric_data_is_a_type_error_naming_the_type(bad, type_name):
    with pytest.raises(TypeError, match=type_name):
        nl.Tensor(bad)


def test_non_numeric_arrays_and_lists_are_type_errors():
    with pytest.raises(TypeError, match="dtype"):
        nl.Tensor(["a", "b"])
    with pytest.raises(TypeError, match="object"):
        nl.Tensor(np.array([object()]))
    with pytest.raises(TypeError, match="complex"):
        nl.Tensor(np.array([1 + 2j]))
    with pytest.raises(ValueError, match="rectangular"):
        nl.Tensor([[1, 2], [3]])


def test_attributes():
    t = nl.Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and len(t) == 2
    assert t.dtype == np.float64 and t.is_leaf and t.grad is None
    assert t.T.shape == (3, 2) and t.transpose().shape == (3, 2)
    assert t.reshape(3, 2).shape == (3, 2) and t.reshape((6,)).shape == (6,)
    assert t.transpose(1, 0).shape == (3, 2)
    assert t.numpy() is t.data
    assert nl.Tensor(2.5).item() == 2.5
    assert np.asarray(t) is t.data
    assert "requires_grad=True" in repr(t) and "float64" in repr(t)
    with pytest.raises(ValueError, match="one element"):
        t.item()


def test_operators_match_numpy_and_keep_dtype():
    a = np.array([[1.0, -2.0], [3.0, 0.5]], dtype=np.float32)
    b = np.array([0.5, 4.0], dtype=np.float32)
    ta, tb = nl.Tensor(a), nl.Tensor(b)
    cases = {
        "+": (ta + tb, a + b), "-": (ta - tb, a - b), "*": (ta * tb, a * b),
        "/": (ta / tb, a / b), "**": (ta ** 2, a ** 2), "@": (ta @ tb, a @ b),
        "neg": (-ta, -a), "abs": (abs(ta), np.abs(a)),
        "radd": (1 + ta, 1 + a), "rsub": (1 - ta, 1 - a), "rmul": (2 * ta, 2 * a),
        "rdiv": (1 / tb, 1 / b), "rpow": (2 ** ta, 2 ** a),
        "ndarray+tensor": (b + ta, b + a), "ndarray@tensor": (a @ ta, a @ a),
    }
    for name, (got, want) in cases.items():
        assert isinstance(got, nl.Tensor), name
        assert got.dtype == np.float32, name
        np.testing.assert_allclose(got.data, want, rtol=1e-6, err_msg=name)


def test_mixed_float_dtypes_promote_like_numpy():
    out = nl.Tensor(np.ones(2, np.float32)) + nl.Tensor(np.ones(2, np.float64))
    assert out.dtype == np.float64


def test_comparisons_give_boolean_tensors_without_gradient():
    t = nl.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    for got, want in [(t > 2, [False, False, True]), (t >= 2, [False, True, True]),
                      (t < 2, [True, False, False]), (t <= 2, [True, True, False]),
                      (t == 2, [False, True, False]), (t != 2, [True, False, True])]:
        assert got.dtype == bool and not got.requires_grad
        np.testing.assert_array_equal(got.data, want)
    assert {t: 1}[t] == 1  # still hashable by identity


def test_indexing_like_theano():
    probs = nl.Tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], requires_grad=True)
    y = np.array([1, 0, 1])
    picked = probs[np.arange(3), y]
    np.testing.assert_allclose(picked.data, [0.9, 0.8, 0.7])
    (-nl.log(picked).mean()).backward()
    want = np.zeros((3, 2))
    want[np.arange(3), y] = -1 / (3 * np.array([0.9, 0.8, 0.7]))
    np.testing.assert_allclose(probs.grad, want, rtol=1e-6)


def test_tensor_valued_index():
    t = nl.Tensor(np.arange(5.0))
    np.testing.assert_array_equal(t[nl.Tensor([4, 0])].data, [4.0, 0.0])
    with pytest.raises(IndexError, match="integers"):
        t[nl.Tensor([0.5])]


# -- backward and grad ---------------------------------------------------------------------
def test_backward_accumulates_and_zero_grad_resets():
    w = nl.Tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    (w * 3).sum().backward()
    np.testing.assert_allclose(w.grad, [2 + 3, 4 + 3])
    w.zero_grad()
    assert w.grad is None


def test_a_tensor_used_twice_sums_its_gradients():
    x = nl.Tensor(3.0, requires_grad=True)
    y = x * x + x  # dy/dx = 2x + 1
    y.backward()
    assert x.grad == pytest.approx(7.0)


def test_gradients_reduce_over_broadcast_axes():
    w = nl.Tensor(np.ones((1, 3)), requires_grad=True)
    b = nl.Tensor(2.0, requires_grad=True, dtype=np.float64)
    x = nl.Tensor(np.arange(12.0).reshape(4, 3))
    (x * w + b).sum().backward()
    np.testing.assert_allclose(w.grad, x.data.sum(axis=0, keepdims=True))
    assert b.grad.shape == () and b.grad == pytest.approx(12.0)


@pytest.mark.parametrize("size", [3, 5000])   # sum's gradient: a new array; a view
def test_leaf_gradients_never_alias_each_other(size):
    # add's VJP hands the same array to both parents
    a = nl.Tensor(np.zeros(size), requires_grad=True)
    b = nl.Tensor(np.zeros(size), requires_grad=True)
    (a + b).sum().backward()
    a.grad *= 10  # an optimizer may update gradients in place
    np.testing.assert_array_equal(b.grad, np.ones(size))
    np.testing.assert_array_equal(a.grad, np.full(size, 10.0))
    ga, gb = nl.grad((a + b).sum(), [a, b])
    ga *= 10
    np.testing.assert_array_equal(gb, np.ones(size))


def test_backward_on_non_scalar_needs_a_gradient():
    x = nl.Tensor([1.0, 2.0], requires_grad=True)
    y = x * x
    with pytest.raises(RuntimeError, match=r"scalar output.*shape \(2,\)"):
        y.backward()
    y.backward(gradient=np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [2.0, 40.0])
    with pytest.raises(ValueError, match="shape"):
        y.backward(gradient=np.ones(3))


def test_backward_without_requires_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (nl.Tensor([1.0]) * 2).sum().backward()


def test_grad_returns_list_and_leaves_dot_grad_alone():
    a = nl.Tensor(2.0, requires_grad=True)
    b = nl.Tensor(5.0, requires_grad=True)
    cost = a * a * b
    ga, gb = nl.grad(cost, [a, b])
    assert ga == pytest.approx(20.0) and gb == pytest.approx(4.0)
    assert a.grad is None and b.grad is None
    (g,) = nl.grad(cost, a)
    assert g == pytest.approx(20.0)


def test_grad_with_respect_to_an_intermediate_tensor():
    x = nl.Tensor([1.0, 2.0], requires_grad=True)
    h = x * 3
    loss = (h * h).sum()
    gh, gx = nl.grad(loss, [h, x])
    np.testing.assert_allclose(gh, 2 * h.data)
    np.testing.assert_allclose(gx, 2 * h.data * 3)


def test_grad_unused_input():
    a = nl.Tensor(1.0, requires_grad=True)
    b = nl.Tensor(1.0, requires_grad=True)
    with pytest.raises(ValueError, match="does not depend on inputs\\[1\\]"):
        nl.grad(a * 2, [a, b])
    _, gb = nl.grad(a * 2, [a, b], allow_unused=True)
    assert gb == 0.0
    with pytest.raises(ValueError, match="does not require grad"):
        nl.grad(a * 2, [nl.Tensor(1.0)])
    with pytest.raises(TypeError, match="Tensor"):
        nl.grad(a * 2, [np.ones(1)])


def test_no_grad_builds_no_graph():
    w = nl.Tensor([1.0], requires_grad=True)
    with nl.no_grad():
        assert not nl.is_grad_enabled()
        y = w * 2
        with nl.enable_grad():
            z = w * 2
    assert nl.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad

    @nl.no_grad()
    def infer(t):
        return t * 3

    assert not infer(w).requires_grad


def test_deep_graph_does_not_hit_the_recursion_limit():
    x = nl.Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(5000):
        y = y * 1.0001
    y.backward()
    assert x.grad == pytest.approx(1.0001 ** 5000, rel=1e-3)


def test_detach_cuts_the_graph():
    x = nl.Tensor(2.0, requires_grad=True)
    y = x.detach() * x
    y.backward()
    assert x.grad == pytest.approx(2.0)


# -- errors at the boundary -------------------------------------------------------------
def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        nl.Tensor(np.ones((3, 4))) @ nl.Tensor(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(5, 4, 2\)"):
        nl.Tensor(np.ones((2, 3, 4))) @ nl.Tensor(np.ones((5, 4, 2)))
    with pytest.raises(ValueError, match="at least one dimension"):
        nl.matmul(nl.Tensor(1.0), nl.Tensor([1.0]))


@pytest.mark.parametrize("op, apply", [("add", operator.add), ("sub", operator.sub),
                                       ("mul", operator.mul), ("div", operator.truediv)])
def test_an_elementwise_shape_mismatch_names_the_op_and_both_shapes(op, apply):
    a, b = nl.Tensor(np.ones((2, 3)), requires_grad=True), nl.Tensor(np.ones((4, 2)))
    with pytest.raises(ValueError, match=rf"^{op}: shapes \(2, 3\) and \(4, 2\) do not "
                                         r"broadcast \(NumPy's rule"):
        apply(a, b)
    with pytest.raises(ValueError, match=rf"^{op}: shapes \(4, 2\) and \(2, 3\)"):
        apply(np.ones((4, 2)), a)   # the reflected operator, an array on the left


def test_float_of_a_one_element_tensor_and_its_error_otherwise():
    assert float((nl.Tensor([[1.5]]) * 2).sum()) == 3.0
    assert float(nl.Tensor([2.5])) == 2.5
    with pytest.raises(TypeError, match=r"^float\(\) needs a tensor with one element; got "
                                        r"shape \(2,\)$"):
        float(nl.Tensor([1.0, 2.0]))


def test_grad_of_a_non_scalar_names_grad_not_backward():
    a = nl.Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(RuntimeError, match=r"^grad\(\) without a gradient needs a scalar "
                                           r"output; got shape \(2, 3\)"):
        nl.grad(a * 2, [a])
    with pytest.raises(RuntimeError, match=r"^backward\(\) without a gradient"):
        (a * 2).backward()


def test_linear_shape_errors():
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(5, 2\)"):
        nl.linear(nl.Tensor(np.ones((3, 4))), nl.Tensor(np.ones((5, 2))))
    with pytest.raises(ValueError, match=r"b must have shape \(2,\); got \(3,\)"):
        nl.linear(nl.Tensor(np.ones((3, 4))), nl.Tensor(np.ones((4, 2))), np.ones(3))
    with pytest.raises(ValueError, match="matrices"):
        nl.linear(nl.Tensor(np.ones(4)), nl.Tensor(np.ones((4, 2))))


def test_reshape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(4,\)"):
        nl.Tensor(np.ones((2, 3))).reshape(4)


def test_operand_of_wrong_type():
    with pytest.raises(TypeError, match="str"):
        nl.Tensor([1.0]) + "a"
