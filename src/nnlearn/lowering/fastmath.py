r"""Vectorizable float32 exp and tanh for compiled loops, and the lowering of an element
rule onto them.

numba compiles ``np.exp`` and ``np.tanh`` of a number into a call of the C library's
function, one element at a time (about 5 ns each, where NumPy's vectorized float32 tanh
takes about 0.3 ns), and numba's builds cannot use Intel's SVML.  A loop that calls them
cannot vectorize.  This module gives compiled loops two float32 functions made only of
arithmetic, comparisons and a bit cast, which LLVM vectorizes:

* :func:`exp`: Cody & Waite's range reduction :math:`x = n \ln 2 + r`,
  :math:`|r| \le \tfrac12 \ln 2` (Cody & Waite 1980), :math:`e^r` by the degree-7
  polynomial of Cephes' ``expf`` (Moshier 1989), and :math:`2^n` built from its exponent
  bits, as two factors :math:`2^{\lfloor n/2 \rfloor} 2^{\lceil n/2 \rceil}` so that
  the results below the smallest normal number (gradual underflow) and above the largest
  (infinity) come out right.  **Max error: 1 ulp** over every float32 (exhaustive check
  against the C library's float64 ``exp`` rounded to float32).
* :func:`tanh`: the odd rational minimax approximation :math:`p_{13}(x) / q_6(x)` on
  :math:`|x| \le 7.9053` of the Eigen library (its ``ptanh_float``; Guennebaud, Jacob et
  al. 2010), clamped outside (tanh rounds to :math:`\pm 1` there) and :math:`\tanh x = x`
  for :math:`|x| < 0.0004`.  **Max error: 7 ulp** over every float32 (same check;
  reached at :math:`x = \pm 5.7402925`).

Compiled with contraction (``a * b + c`` as one fused multiply-add where the CPU has it,
as the recurrent cells are: :func:`nnlearn.lowering.loops.compiled_module`'s
``contract``), the same exhaustive check gives 1 ulp for :func:`exp` and 5 ulp for
:func:`tanh` (at :math:`x = \pm 3.7372892`): within the same bounds.

NaN stays NaN; :math:`\pm\infty` give :math:`\infty, 0` (exp) and :math:`\pm 1` (tanh).
In float64 both are NumPy's own functions (the C library's, correctly rounded to about
half an ulp): the approximations are float32-only, and a float64 computation (the
gradient checks) is exact to float64 rounding.

:func:`lowered` compiles an activation's element rule (:mod:`nnlearn.activations`)
with ``np.exp`` and ``np.tanh`` replaced by these: the rule's own code, not a copy of
it.  It also replaces ``np.maximum`` and ``np.minimum`` of two numbers, exactly: numba
lowers them with three comparisons and three selects (NaN checks on both sides), which
made the relu of a 200 x 100 float64 batch take 5.5 us against 3.1 us for one comparison
and one select; :func:`maximum` and :func:`minimum` give what numba's own lowering gives
(``a >= b or a is NaN ? a : b``, NaN from either side, ``a`` on a tie of signed zeros),
bit for bit, with the check of ``b`` for NaN left for the compiler to drop when ``b``
is a constant (relu's 0).  ``approximate=False`` keeps NumPy's exp and tanh (the
compiled Dense step, whose float32 results match the engine's to rounding).

``tests/lowering/test_fastmath.py`` sweeps the float32 range and checks the bounds
above; ``bench/fastmath.py --exhaustive`` checks every float32.
"""

from __future__ import annotations

import functools
import types as _types

import numpy as np

__all__ = ["exp", "tanh", "maximum", "minimum", "lowered", "lowering_sources",
           "EXP_MAX_ULPS", "TANH_MAX_ULPS", "numba_functions"]

#: the largest error of :func:`exp` on float32, in units in the last place
EXP_MAX_ULPS = 1
#: the largest error of :func:`tanh` on float32, in units in the last place
TANH_MAX_ULPS = 7


def exp(x):
    """:math:`e^x`: in compiled float32 code the approximation of the module (1 ulp);
    elsewhere NumPy's."""
    return np.exp(x)


def tanh(x):
    """:math:`\\tanh x`: in compiled float32 code the approximation of the module (7 ulp);
    elsewhere NumPy's."""
    return np.tanh(x)


def maximum(a, b):
    """NumPy's ``np.maximum``; in compiled code on two numbers numba's result for it (the
    same values; on a tie of 0.0 and -0.0 the first), in one comparison and one select
    where ``b`` cannot be NaN."""
    return np.maximum(a, b)


def minimum(a, b):
    """NumPy's ``np.minimum``; in compiled code as :func:`maximum`."""
    return np.minimum(a, b)


@functools.lru_cache(maxsize=1)
def numba_functions() -> dict:
    """Teach numba :func:`exp` and :func:`tanh` (imports numba); returns the compiled
    float32 approximations and bit casts by name (``exp32``, ``tanh32``, ``bits32``,
    ``float32_of_bits``), for the tests."""
    import numba
    from numba.extending import overload

    float32_of_bits, bits32 = _bit_casts()
    exp32, tanh32 = _approximations(float32_of_bits)
    overload(exp, inline="always")(_float32_only(exp32, np.exp))
    overload(tanh, inline="always")(_float32_only(tanh32, np.tanh))

    def larger(a, b):  # a when a >= b or a is NaN; a NaN b gives b
        return b if a < b or b != b else a

    def smaller(a, b):
        return b if a > b or b != b else a

    overload(maximum, inline="always")(_numbers_only(numba.njit(larger), np.maximum))
    overload(minimum, inline="always")(_numbers_only(numba.njit(smaller), np.minimum))
    return {"exp32": exp32, "tanh32": tanh32, "bits32": bits32,
            "float32_of_bits": float32_of_bits}


def _bit_casts() -> tuple:
    """(float32_of_bits, bits32): numba intrinsics reinterpreting an integer's low 32 bits
    as a float32 and a float32 as an int32 (LLVM bitcasts, no conversion)."""
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    @intrinsic
    def float32_of_bits(typingctx, bits):
        """The float32 whose bit pattern is the low 32 bits of the integer ``bits``."""
        if not isinstance(bits, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            value = args[0]
            if bits.bitwidth != 32:
                value = builder.trunc(value, ir.IntType(32)) if bits.bitwidth > 32 \
                    else builder.sext(value, ir.IntType(32))
            return builder.bitcast(value, ir.FloatType())

        return types.float32(bits), codegen

    @intrinsic
    def bits32(typingctx, value):
        """The bit pattern of a float32, as an int32."""
        if value != types.float32:
            return None

        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], ir.IntType(32))

        return types.int32(value), codegen

    return float32_of_bits, bits32


def _approximations(float32_of_bits) -> tuple:
    """(exp32, tanh32): the float32 approximations of $e^x$ (Cody & Waite 1980 argument
    reduction, the Cephes polynomial, Moshier 1989) and $\\tanh x$ (Eigen's rational
    minimax form), compiled by numba to be inlined."""
    import numba

    # inlined into the loops at numba's level (a call would keep LLVM from vectorizing
    # them): written without conditional expressions, NaN carried by np.minimum and
    # np.maximum (which propagate it) and the integer part taken from a NaN-free value
    inline = numba.njit(error_model="numpy", inline="always")
    f = np.float32

    @inline
    def exp32(x):
        # e^x = 2^n e^r, n = round(x / ln 2), r = x - n ln 2 in two parts (Cody & Waite)
        y = np.minimum(np.maximum(x, f(-104.0)), f(89.0))  # beyond: 0 and inf
        n = np.floor(y * f(1.44269504088896341) + f(0.5))
        r = y - n * f(0.693359375) - n * f(-2.12194440e-4)
        p = f(1.9875691500e-4) * r + f(1.3981999507e-3)  # Cephes expf (Moshier 1989)
        p = p * r + f(8.3334519073e-3)
        p = p * r + f(4.1665795894e-2)
        p = p * r + f(1.6666665459e-1)
        p = p * r + f(5.0000001201e-1)
        p = p * r * r + r + f(1.0)
        k = np.int32(np.fmax(n, f(-151.0)))  # fmax drops a NaN n (p is NaN then)
        half = k >> 1
        return p * float32_of_bits((half + 127) << 23) \
            * float32_of_bits((k - half + 127) << 23)

    @inline
    def tanh32(x):
        # the odd rational minimax form of Eigen's ptanh_float on |x| <= 7.9053
        y = np.minimum(np.maximum(x, f(-7.90531110763549805)), f(7.90531110763549805))
        y2 = y * y
        p = f(-2.76076847742355e-16) * y2 + f(2.00018790482477e-13)
        p = p * y2 + f(-8.60467152213735e-11)
        p = p * y2 + f(5.12229709037114e-08)
        p = p * y2 + f(1.48572235717979e-05)
        p = p * y2 + f(6.37261928875436e-04)
        p = p * y2 + f(4.89352455891786e-03)
        q = f(1.19825839466702e-06) * y2 + f(1.18534705686654e-04)
        q = q * y2 + f(2.26843463243900e-03)
        q = q * y2 + f(4.89352518554385e-03)
        tiny = f(np.abs(y) < f(0.0004))  # tanh x = x there, to rounding
        return tiny * y + (f(1.0) - tiny) * (p * y / q)

    return exp32, tanh32


def _float32_only(approximation, exact):
    """A numba overload choosing ``approximation`` for a float32 argument, ``exact``
    otherwise."""
    from numba import types

    def choose(x):
        if isinstance(x, types.Float) and x.bitwidth == 32:
            return lambda x: approximation(x)
        return lambda x: exact(x)
    return choose


def _numbers_only(on_numbers, exact):
    """A numba overload choosing ``on_numbers`` when both arguments are floats, ``exact``
    otherwise."""
    from numba import types

    def choose(a, b):
        if isinstance(a, types.Float) and isinstance(b, types.Float):
            return lambda a, b: on_numbers(a, b)
        return lambda a, b: exact(a, b)
    return choose


@functools.lru_cache(maxsize=2)
def _numpy_with_fast_functions(approximate: bool = True):
    """NumPy's namespace with ``maximum`` and ``minimum`` (and, when ``approximate``,
    ``exp`` and ``tanh``) replaced by this module's."""
    shim = _types.ModuleType("nnlearn.lowering.fastmath.numpy")
    shim.__dict__.update({name: getattr(np, name) for name in dir(np)
                          if not name.startswith("__")})
    shim.maximum, shim.minimum = maximum, minimum
    if approximate:
        shim.exp, shim.tanh = exp, tanh
    return shim


def lowered(rule, approximate: bool = True):
    """``rule`` (an element rule written with ``np.``) with its calls of ``np.maximum``
    and ``np.minimum`` bound to :func:`maximum` and :func:`minimum` and, when
    ``approximate``, of ``np.exp`` and ``np.tanh`` to :func:`exp` and :func:`tanh`: the
    same code object, other globals; compile it with numba (after
    :func:`numba_functions`)."""
    numba_functions()
    namespace = dict(rule.__globals__)
    namespace["np"] = _numpy_with_fast_functions(approximate)
    function = _types.FunctionType(rule.__code__, namespace, rule.__name__,
                                   rule.__defaults__, rule.__closure__)
    function.__doc__, function.__module__ = rule.__doc__, rule.__module__
    function.__qualname__ = rule.__qualname__
    return function


def lowering_sources() -> list:
    """The functions whose source decides the machine code of a rule compiled through
    :func:`lowered`: a compiled module's cache key includes them
    (:func:`nnlearn.lowering.loops.compiled_module`)."""
    return [lowered, _numpy_with_fast_functions.__wrapped__, numba_functions.__wrapped__,
            _numbers_only, _float32_only, _approximations, _bit_casts]
