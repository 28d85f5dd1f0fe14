"""The error of nnlearn's float32 exp and tanh approximations (:mod:`nnlearn.lowering.fastmath`)
in units in the last place, against the C library's float64 functions rounded to
float32, over every float32 (``--exhaustive``: 2^32 values, minutes) or every
``--stride``-th bit pattern (``--contract``: compiled with FMA contraction); and their
speed per element against NumPy's vectorized functions (a rough figure: time it on a
quiet machine).

    python bench/fastmath.py [--exhaustive | --stride 97] [--contract]
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np


def sweep(stride: int, contract: bool = False) -> dict:
    """name -> (max ulps, where) over every ``stride``-th float32 bit pattern (compiled
    with FMA contraction, as the recurrent cells are, with ``contract``)."""
    import numba

    from nnlearn.lowering import fastmath

    functions = fastmath.numba_functions()
    exp32, tanh32 = functions["exp32"], functions["tanh32"]
    bits32, float32_of_bits = functions["bits32"], functions["float32_of_bits"]

    @numba.njit(error_model="numpy")
    def ulps(a, b):
        """The distance of two float32 in representable steps (NaN: 0 if both are)."""
        if a != a or b != b:
            return 0 if (a != a) == (b != b) else 1 << 40
        ia, ib = np.int64(bits32(a)), np.int64(bits32(b))
        ia = -2147483648 - ia if ia < 0 else ia
        ib = -2147483648 - ib if ib < 0 else ib
        return abs(ia - ib)

    @numba.njit(error_model="numpy", fastmath={"contract"} if contract else False)
    def worst(which, stride):
        most, where = 0, np.float32(0)
        for pattern in range(-2 ** 31, 2 ** 31, stride):
            x = float32_of_bits(pattern)
            if which == 0:
                got, want = exp32(x), np.float32(math.exp(np.float64(x)))
            else:
                got, want = tanh32(x), np.float32(math.tanh(np.float64(x)))
            error = ulps(got, want)
            if error > most:
                most, where = error, x
        return most, where

    return {"exp": worst(0, stride), "tanh": worst(1, stride)}


def speed() -> None:
    import numba

    from nnlearn.lowering import fastmath

    functions = fastmath.numba_functions()
    exp32, tanh32 = functions["exp32"], functions["tanh32"]

    @numba.njit(error_model="numpy")
    def exp_loop(x, out):
        for i in range(x.size):
            out[i] = exp32(x[i])

    @numba.njit(error_model="numpy")
    def tanh_loop(x, out):
        for i in range(x.size):
            out[i] = tanh32(x[i])

    x = np.random.default_rng(0).normal(0, 3, 1 << 18).astype(np.float32)
    out = np.empty_like(x)
    for name, ours, numpy in (("exp", exp_loop, np.exp), ("tanh", tanh_loop, np.tanh)):
        rows = []
        for run in (lambda f=ours: f(x, out), lambda f=numpy: f(x, out=out)):
            run()
            start = time.process_time()
            for _ in range(20):
                run()
            rows.append((time.process_time() - start) / 20 / x.size * 1e9)
        print(f"{name}: nnlearn.lowering.fastmath {rows[0]:.2f} ns per element, "
              f"NumPy {rows[1]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exhaustive", action="store_true")
    parser.add_argument("--stride", type=int, default=97)
    parser.add_argument("--contract", action="store_true",
                        help="compile with FMA contraction, as the recurrent cells are")
    args = parser.parse_args()
    stride = 1 if args.exhaustive else args.stride
    from nnlearn.lowering import fastmath

    for name, (most, where) in sweep(stride, args.contract).items():
        bound = {"exp": fastmath.EXP_MAX_ULPS, "tanh": fastmath.TANH_MAX_ULPS}[name]
        print(f"{name}: max error {most} ulp (at x = {where!r}) over every {stride}-th "
              f"float32; stated bound {bound} ulp")
    speed()


if __name__ == "__main__":
    main()
