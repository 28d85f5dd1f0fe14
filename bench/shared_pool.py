"""An experiment: one thread pool for the products and the update (not what nnlearn ships).

On 2 cores the main job's epoch (784-512-10, RMSprop, batch 128, float32) is ~1.5x its
matrix products.  Most of the rest is the optimizer's update of 407,050 weights, ~0.2 ms
per step on one core: its square roots and divisions are bound by the core's divider
(0.36 ns per weight even when the arrays sit in the cache).  The second core cannot take
half of it, because OpenBLAS's worker thread spins on that core between products: a
numba ``parallel=True`` update interleaved with the products takes ~13 ms instead of
0.2 ms, the two pools fighting over the two cores.

OpenBLAS 0.3.28+ (the one in NumPy's wheels) can hand its parallel jobs to a caller's
pool instead (``openblas_set_threads_callback_function``, OpenBLAS pull request 4577).
This script installs a numba ``@cfunc`` that runs OpenBLAS's jobs on numba's OpenMP
threads, so that the products and a two-way split of the RMSprop update share one pool,
and times, for the main job's shapes, one step's forward product, its first-layer weight
gradient and the update of those weights:

* OpenBLAS's own pool, the update on one core (what nnlearn's compiled step does);
* OpenBLAS's jobs on numba's pool, the update split in two on the same pool.

Why nnlearn does not ship it: the callback is process-wide (every NumPy product of every
thread runs on numba's pool while it is set); OpenBLAS's own workers keep spinning for a
while after the switch (the script sleeps a second before timing); the OpenBLAS jobs of
one product busy-wait on each other, so a pool with fewer threads than jobs, or a nested
parallel region, deadlocks; GNU OpenMP is not fork-safe; and it needs numba's OpenMP
threading layer (libgomp), which not every machine has.

    python bench/shared_pool.py [--steps 300]
"""

from __future__ import annotations

import argparse
import ctypes
import time

import numpy as np

from nnlearn.lowering.blas import numpy_openblas

ROWS, FEATURES, UNITS = 128, 784, 512


def shared_pool_functions():
    """(callback, split_update): the cfunc that runs OpenBLAS's jobs on numba's pool and
    an RMSprop update split in two halves on that pool (nnlearn's own RMSprop loop on
    each half)."""
    import numba
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    from nnlearn.optimizers import RMSprop

    @intrinsic
    def call_job(typingctx, dojob, job, data, extra):
        """dojob(job, data, extra) for a C function at address dojob."""
        def codegen(context, builder, signature, args):
            pointer = ir.IntType(8).as_pointer()
            kind = ir.FunctionType(ir.VoidType(), [ir.IntType(32), pointer, ir.IntType(32)])
            function = builder.inttoptr(args[0], kind.as_pointer())
            builder.call(function, [args[1], builder.inttoptr(args[2], pointer), args[3]])
            return context.get_dummy_value()
        return types.void(types.intp, types.int32, types.intp, types.int32), codegen

    @numba.njit(parallel=True)
    def run_jobs(dojob, jobs, size, data, extra):
        for job in numba.prange(jobs):  # every job on its own thread, all at once
            call_job(dojob, np.int32(job), data + job * size, extra)

    @numba.cfunc(types.void(types.int32, types.intp, types.int32, types.intp, types.intp,
                            types.int32))
    def callback(sync, dojob, jobs, size, data, extra):
        run_jobs(dojob, jobs, size, data, extra)

    loop = RMSprop.rule.compiled()

    @numba.njit(parallel=True, error_model="numpy")
    def split_update(w, s, g, lr, rho, one_minus_rho, eps, tiny):
        half = w.size // 2
        for part in numba.prange(2):
            start, stop = (0, half) if part == 0 else (half, w.size)
            loop(w[start:stop], s[start:stop], g[start:stop], lr, rho, one_minus_rho, eps,
                 tiny)

    return callback, loop, split_update


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    library = numpy_openblas()
    setter = library and getattr(library, "scipy_openblas_set_threads_callback_function64_",
                                 None)
    if setter is None:
        raise SystemExit("needs NumPy's bundled OpenBLAS 0.3.28 or later")
    try:
        import numba
    except ImportError:
        raise SystemExit("needs numba: pip install numba") from None
    numba.config.THREADING_LAYER = "omp"
    setter.argtypes = [ctypes.c_void_p]
    callback, loop, split_update = shared_pool_functions()

    rng = np.random.default_rng(0)
    x = rng.random((ROWS, FEATURES), dtype=np.float32)
    delta = rng.standard_normal((ROWS, UNITS)).astype(np.float32)
    w = rng.standard_normal(FEATURES * UNITS).astype(np.float32) * 0.05
    s = np.zeros_like(w)
    g = rng.standard_normal(w.size).astype(np.float32) * 1e-3
    numbers = [np.float32(v) for v in (1e-3, 0.9, 0.1, 1e-7, np.finfo(np.float32).tiny)]
    kernel = w.reshape(FEATURES, UNITS)

    def timed(step) -> float:
        for _ in range(30):
            step()
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            for _ in range(args.steps):
                step()
            best = min(best, (time.perf_counter() - start) / args.steps)
        return best * 1e6

    def own_pool():
        x @ kernel, x.T @ delta
        loop(w, s, g, *numbers)

    def shared_pool():
        x @ kernel, x.T @ delta
        split_update(w, s, g, *numbers)

    print(f"products 128x784 @ 784x512 and 784x128 @ 128x512, RMSprop on {w.size:,} "
          f"float32 weights; best of 5 x {args.steps} steps")
    results = {"OpenBLAS's pool, update on one core": timed(own_pool)}
    reference = x @ kernel
    setter(callback.address)
    try:
        time.sleep(1)  # OpenBLAS's own workers stop spinning
        same = np.array_equal(x @ kernel, reference)
        results["numba's OpenMP pool for both"] = timed(shared_pool)
        results["  of which the split update"] = timed(lambda: split_update(w, s, g, *numbers))
    finally:
        setter(None)
    results["  the update on one core, alone"] = timed(lambda: loop(w, s, g, *numbers))
    for name, us in results.items():
        print(f"  {name:38s} {us:7.0f} us")
    print(f"  products equal on both pools: {same}; threading layer "
          f"{numba.threading_layer()}")


if __name__ == "__main__":
    main()
