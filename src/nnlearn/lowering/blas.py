r"""NumPy's own BLAS, called from the compiled loops.

The compiled loops (the Dense step, the recurrent cells) multiply matrices by BLAS's
``gemm``, :math:`C \leftarrow \alpha\, \mathrm{op}(A)\, \mathrm{op}(B) + \beta C`
(Dongarra, Du Croz, Hammarling & Duff 1990).  They call the OpenBLAS bundled in
NumPy's wheel, so that their products run on the same BLAS threads as NumPy's own:
numba's ``np.dot`` would use SciPy's copy, a second pool whose spinning threads and
NumPy's take the cores from each other.

The loops receive gemm as its *address*, a plain integer, and call it through
:func:`gemm_call`, an intrinsic that casts the address to the CBLAS signature.  Passing
the ctypes function itself, as numba allows, costs a Python-level typing of that
argument at every call (about 3 us), and once numba holds a second compiled version of
any function taking a ctypes function (``predict``'s float32 forward beside a float64
step, say), each call of the step fell back to numba's slowest dispatch, typing every
argument in Python (about 1 ms a step: an MLPClassifier fit on the digits ran 3x
slower after a ``predict``).  An integer is typed by numba's C dispatcher.
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["numpy_openblas", "numpy_gemm", "gemm_call"]

ROW_MAJOR = 101  # CBLAS's enumeration (the loops pass 111 / 112: as it is / transposed)


@functools.lru_cache(maxsize=1)
def numpy_openblas():
    """The OpenBLAS bundled in NumPy's wheel (``numpy.libs/libscipy_openblas64_*``, its
    symbols prefixed ``scipy_`` and suffixed ``64_``) as a ctypes library, or None for
    other builds of NumPy."""
    import ctypes
    import glob
    import os

    folder = os.path.join(os.path.dirname(os.path.dirname(np.__file__)), "numpy.libs")
    libraries = sorted(glob.glob(os.path.join(folder, "libscipy_openblas64_*")))
    try:
        return ctypes.CDLL(libraries[0]) if libraries else None
    except OSError:
        return None


@functools.lru_cache(maxsize=None)
def numpy_gemm(dtype) -> int | None:
    """The address of NumPy's own CBLAS gemm for ``dtype`` (float32: ``sgemm``, float64:
    ``dgemm``; 64-bit integers: ``scipy_cblas_[sd]gemm64_`` of :func:`numpy_openblas`),
    for :func:`gemm_call`; None for other builds of NumPy (the loops then use numba's
    ``np.dot``)."""
    import ctypes

    library = numpy_openblas()
    letter = {"float32": "s", "float64": "d"}[np.dtype(dtype).name]
    function = getattr(library, f"scipy_cblas_{letter}gemm64_", None)
    if function is None:
        return None
    return ctypes.cast(function, ctypes.c_void_p).value


@functools.lru_cache(maxsize=1)
def gemm_call():
    """The numba intrinsic ``gemm_call(address, transpose_a, transpose_b, m, n, k, a, lda,
    b, ldb, out, ldc)``: out (m x n) <- op(a) op(b) for float32 or float64 arrays whose
    rows are contiguous, ``lda``, ``ldb``, ``ldc`` their row strides in elements (their
    leading dimensions), by the row-major CBLAS gemm at ``address`` (:func:`numpy_gemm`),
    alpha = 1 and beta = 0; ``transpose_a``/``transpose_b`` are CBLAS's codes (111: as it
    is, 112: transposed).  The caller checks the shapes and strides."""
    from llvmlite import ir
    from numba import types
    from numba.extending import intrinsic

    names = ("address", "ta", "tb", "m", "n", "k", "a", "lda", "b", "ldb", "out", "ldc")

    @intrinsic
    def gemm_call(typingctx, address, transpose_a, transpose_b, m, n, k, a, lda, b, ldb,
                  out, ldc):
        arrays = (a, b, out)
        if not all(isinstance(array, types.Array) and array.ndim == 2 for array in arrays) \
                or len({array.dtype for array in arrays}) != 1 \
                or a.dtype not in (types.float32, types.float64):
            return None
        signature = types.void(address, transpose_a, transpose_b, m, n, k, a, lda, b, ldb,
                               out, ldc)

        def codegen(context, builder, signature, args):
            real = context.get_value_type(a.dtype)
            i32, i64 = ir.IntType(32), ir.IntType(64)
            pointer = ir.IntType(8).as_pointer()
            cblas = ir.FunctionType(ir.VoidType(), [i32, i32, i32, i64, i64, i64, real,
                                                    pointer, i64, pointer, i64, real,
                                                    pointer, i64])
            values, kinds = dict(zip(names, args)), dict(zip(names, signature.args))

            def integer(name, numba_type):
                return context.cast(builder, values[name], kinds[name], numba_type)

            def data(name):
                array = context.make_array(kinds[name])(context, builder, values[name])
                return builder.bitcast(array.data, pointer)

            function = builder.inttoptr(integer("address", types.intp), cblas.as_pointer())
            builder.call(function, [
                ir.Constant(i32, ROW_MAJOR), integer("ta", types.int32),
                integer("tb", types.int32), integer("m", types.int64),
                integer("n", types.int64), integer("k", types.int64),
                ir.Constant(real, 1.0), data("a"), integer("lda", types.int64), data("b"),
                integer("ldb", types.int64), ir.Constant(real, 0.0), data("out"),
                integer("ldc", types.int64)])
            return context.get_dummy_value()

        return signature, codegen

    return gemm_call
