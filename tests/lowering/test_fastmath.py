"""nnlearn.lowering.fastmath: the float32 exp and tanh approximations are within their stated
ulps of the C library's float64 functions (rounded to float32) over the float32 range
(a strided sweep of every bit pattern, plus every float32 near the places where the
formulas switch: the clamps, the small-argument branch, gradual underflow, overflow),
keep NaN, infinities and signed zeros, and leave float64 to the C library; an element
rule lowered onto them is the same rule (float64 results equal NumPy's to the last
place).  ``bench/fastmath.py --exhaustive`` checks every float32."""

import math

import numpy as np
import pytest

pytest.importorskip("numba")

import numba  # noqa: E402

from nnlearn import activations    # noqa: E402
from nnlearn.lowering import fastmath    # noqa: E402

FUNCTIONS = fastmath.numba_functions()
BITS32 = FUNCTIONS["bits32"]


@numba.njit(error_model="numpy")
def _ulps(a, b):
    if a != a or b != b:
        return 0 if (a != a) == (b != b) else 1 << 40
    ia, ib = np.int64(BITS32(a)), np.int64(BITS32(b))
    ia = -2147483648 - ia if ia < 0 else ia
    ib = -2147483648 - ib if ib < 0 else ib
    return abs(ia - ib)


def _exp_loop(x):
    out = np.empty(x.size, np.int64)
    for i in range(x.size):
        out[i] = _ulps(fastmath.exp(x[i]), np.float32(math.exp(np.float64(x[i]))))
    return out


def _tanh_loop(x):
    out = np.empty(x.size, np.int64)
    for i in range(x.size):
        out[i] = _ulps(fastmath.tanh(x[i]), np.float32(math.tanh(np.float64(x[i]))))
    return out


_exp_errors = numba.njit(error_model="numpy")(_exp_loop)
_tanh_errors = numba.njit(error_model="numpy")(_tanh_loop)
# compiled as the recurrent cells are: a * b + c contracted into an FMA where the CPU has
# one (nnlearn.lowering.loops.compiled_module(contract=True)), a different rounding
_CONTRACTED = {"exp": numba.njit(error_model="numpy", fastmath={"contract"})(_exp_loop),
               "tanh": numba.njit(error_model="numpy", fastmath={"contract"})(_tanh_loop)}


def _float32_range(stride: int = 2039) -> np.ndarray:
    """Every ``stride``-th float32 bit pattern (all signs and exponents, mantissas spread
    by the odd stride) and every float32 within 4096 steps of the switch points."""
    patterns = np.arange(-2 ** 31, 2 ** 31, stride, dtype=np.int64).astype(np.int32)
    swept = patterns.view(np.float32)
    near = []
    for point in (0.0004, 7.90531110763549805, 87.3, 88.72, 89.0, 103.9, 104.0,
                  np.finfo(np.float32).tiny, 1.0, 0.5 * math.log(2),
                  5.740292549133301,  # tanh's worst case, found by the exhaustive check
                  3.7372891902923584):  # and its worst case contracted (FMA)
        centre = np.array([point], np.float32).view(np.int32)[0]
        steps = np.arange(centre - 4096, centre + 4096, dtype=np.int32).view(np.float32)
        near += [steps, -steps]
    return np.concatenate([swept, *near])


@pytest.mark.parametrize("name, errors, bound", [
    ("exp", _exp_errors, fastmath.EXP_MAX_ULPS),
    ("tanh", _tanh_errors, fastmath.TANH_MAX_ULPS)])
def test_float32_error_within_the_stated_ulps(name, errors, bound):
    x = _float32_range()
    found = errors(x)
    assert found.max() <= bound, (name, x[found.argmax()], found.max())
    assert found.max() == bound  # tight: the sweep includes the exhaustive check's worst
    assert f"{bound} ulp" in fastmath.__doc__  # the docstring states the bound tested


@pytest.mark.parametrize("name, bound", [("exp", fastmath.EXP_MAX_ULPS),
                                         ("tanh", fastmath.TANH_MAX_ULPS)])
def test_float32_error_contracted_within_the_stated_ulps(name, bound):
    # the recurrent cells compile the approximations with FMA contraction: the same bound
    x = _float32_range()
    found = _CONTRACTED[name](x)
    assert found.max() <= bound, (name, x[found.argmax()], found.max())


def test_special_values():
    f32 = np.float32
    exp, tanh = FUNCTIONS["exp32"], FUNCTIONS["tanh32"]
    assert exp(f32(np.inf)) == np.inf and exp(f32(-np.inf)) == 0
    assert np.isnan(exp(f32(np.nan))) and np.isnan(tanh(f32(np.nan)))
    assert tanh(f32(np.inf)) == 1 and tanh(f32(-np.inf)) == -1
    assert exp(f32(0)) == 1 and exp(f32(-0.0)) == 1
    assert tanh(f32(0)) == 0 and math.copysign(1, tanh(f32(-0.0))) == -1
    tiny = np.array([1], np.int32).view(np.float32)[0]  # the smallest subnormal: tanh x = x
    assert tanh(tiny) == tiny and tanh(-tiny) == -tiny
    for x in (f32(-103.0), f32(-88.0), f32(88.7)):  # gradual underflow; the largest
        assert 0 < exp(x) < np.inf and _ulps(f32(exp(x)), f32(math.exp(float(x)))) <= 1
    assert exp(f32(88.8)) == np.inf


def test_lowered_rules_keep_float64_exact_and_float32_close():
    inline = numba.njit(error_model="numpy", inline="always")
    rules = {name: (inline(fastmath.lowered(a.function)), a.function)
             for name, a in activations.elementwise().items() if not a.needs_input}

    def loop(compiled):
        @numba.njit(error_model="numpy")
        def apply(x, out, one):
            for i in range(x.size):
                out[i] = compiled(x[i], one)
        return apply

    for name, (compiled, rule) in rules.items():
        apply = loop(compiled)

        # float64: the C library's exp and tanh against NumPy's, to the last place;
        # float32: the approximations, within a few ulps (and an absolute 3e-7 where
        # sigmoid's 1 + e^-z rounds)
        for dtype, ulps, absolute in ((np.float64, 4, 0), (np.float32, 8, 3e-7)):
            x = np.linspace(-30, 30, 2001).astype(dtype)
            out = np.empty_like(x)
            apply(x, out, dtype(1))
            with np.errstate(over="ignore"):
                expected = rule(x, dtype(1))
            np.testing.assert_allclose(out, expected, rtol=ulps * np.finfo(dtype).eps,
                                       atol=absolute, err_msg=name)


def test_lowered_keeps_the_rule_and_outside_numba_is_numpy():
    rule = activations.sigmoid.function
    lowered = fastmath.lowered(rule)
    assert lowered.__code__ is rule.__code__
    x = np.linspace(-5, 5, 11, dtype=np.float32)
    np.testing.assert_array_equal(lowered(x, np.float32(1)), rule(x, np.float32(1)))
    np.testing.assert_array_equal(fastmath.tanh(x), np.tanh(x))
    np.testing.assert_array_equal(fastmath.exp(x), np.exp(x))


_EDGES = [np.nan, -np.inf, np.inf, -0.0, 0.0, -1.5, 2.5, 1e-40, -1e-40, 1e-310, -1e-310,
          3.0e38, -3.0e38]


@numba.njit(error_model="numpy")
def _pairwise(a, b, out_max, out_min, numbas_max, numbas_min):
    for i in range(a.size):
        out_max[i] = fastmath.maximum(a[i], b[i])
        out_min[i] = fastmath.minimum(a[i], b[i])
        numbas_max[i] = np.maximum(a[i], b[i])
        numbas_min[i] = np.minimum(a[i], b[i])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_maximum_and_minimum_of_numbers_are_numbas_bit_for_bit(dtype):
    """The one-comparison lowering of np.maximum/np.minimum: numba's own lowering's
    result, bit for bit, on every pair of edge values (NaN on either side, signed zeros,
    infinities, subnormals), and NumPy's values (NumPy's arrays may pick either zero of
    a tie of 0.0 and -0.0)."""
    with np.errstate(over="ignore"):
        edges = np.array(_EDGES).astype(dtype)
    a, b = (v.ravel().copy() for v in np.meshgrid(edges, edges))
    out = [np.empty_like(a) for _ in range(4)]
    _pairwise(a, b, *out)
    assert out[0].tobytes() == out[2].tobytes()
    assert out[1].tobytes() == out[3].tobytes()
    assert np.array_equal(out[0], np.maximum(a, b), equal_nan=True)
    assert np.array_equal(out[1], np.minimum(a, b), equal_nan=True)
    assert np.isnan(out[0][np.isnan(a) | np.isnan(b)]).all()   # NaN from either side


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "softplus"])
def test_exact_lowering_is_the_rule_bit_for_bit(name):
    """lowered(rule, approximate=False), as the compiled Dense step compiles the rules:
    bit for bit numba's own lowering of the unchanged rule, on edge values, both
    dtypes, forward and backward."""
    spec = activations.elementwise()[name]
    for rule, arguments in ((spec.function, lambda v, one: (v, one)),
                            (spec.backward, lambda v, one: (one, one, v, v, one))):
        fast = numba.njit(error_model="numpy")(fastmath.lowered(rule, approximate=False))
        plain = numba.njit(error_model="numpy")(rule)
        for dtype in (np.float32, np.float64):
            with np.errstate(over="ignore"):
                values = np.array(_EDGES).astype(dtype)
            one = dtype(1)
            got = np.array([fast(*arguments(v, one)) for v in values], dtype)
            want = np.array([plain(*arguments(v, one)) for v in values], dtype)
            assert got.tobytes() == want.tobytes(), (name, rule.__name__, dtype)
