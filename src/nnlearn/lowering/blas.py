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

**Threads.**  OpenBLAS splits a product over its threads when it has more than
:data:`OPENBLAS_ONE_THREAD` multiply-adds.  For small products the split costs about
what it saves (measured on 2 cores, float32: (128, 64) x (64, 64) and (128, 128) x (128,
128) take the same time on one thread as on two; from about 4 million multiply-adds two
threads win: (256, 128) x (128, 128) 0.75x, (128, 784) x (784, 512) 0.57x), and an
idle BLAS thread spins on a core for a while after each product, where other work
(Python, the threads reading a memory-mapped file) would run.  So loops of small
products run with the BLAS on one thread: :func:`blas_threads` sets the count around
them, through NumPy's bundled OpenBLAS directly, else threadpoolctl when installed (the
``fast`` extra), else it leaves the threads alone.  The planner says where
(:func:`nnlearn.lowering.planner.step_threads`, ``recurrent_threads``).  Changing the
count can change the last bits of a product (OpenBLAS rounds a split product
differently), so a choice depends only on the shapes, never on where the data come
from.
"""

from __future__ import annotations

import functools
import os

import numpy as np

__all__ = ["numpy_openblas", "numpy_gemm", "gemm_call", "openblas_threads",
           "thread_control", "thread_count", "blas_threads", "step_threads",
           "OPENBLAS_ONE_THREAD", "SMALL_PRODUCT", "SMALL_STEP_PRODUCT"]

ROW_MAJOR = 101  # CBLAS's enumeration (the loops pass 111 / 112: as it is / transposed)


@functools.lru_cache(maxsize=1)
def numpy_openblas():
    """The OpenBLAS bundled in NumPy's wheel (``numpy.libs/libscipy_openblas64_*``, its
    symbols prefixed ``scipy_`` and suffixed ``64_``) as a ctypes library, or None for
    other builds of NumPy."""
    import ctypes
    import glob

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


#: OpenBLAS runs a gemm of at most this many multiply-adds on one thread by itself
#: (``interface/gemm.c``: SMP_THRESHOLD_MIN x GEMM_MULTITHREAD_THRESHOLD, 65536 x 4)
OPENBLAS_ONE_THREAD = 1 << 18
#: a recurrent loop whose per-step product h_{t-1} U has at most this many multiply-adds
#: runs on one BLAS thread (measured on the LSTM's loop: planner.recurrent_threads)
SMALL_PRODUCT = 1 << 22
#: a float32 training step whose largest product has at most this many multiply-adds
#: runs on one BLAS thread (two threads gain nothing up to about 2 million: module
#: docstring); a float64 one, at most half as many (each costs twice as much)
SMALL_STEP_PRODUCT = 1 << 21


def step_threads(multiply_adds: int, itemsize: int = 4) -> int | None:
    """The BLAS threads for a step whose largest product has ``multiply_adds`` of
    ``itemsize``-byte numbers: 1 between :data:`OPENBLAS_ONE_THREAD` (below it OpenBLAS
    takes one thread itself: nothing to set) and :data:`SMALL_STEP_PRODUCT` (scaled to
    float32's cost), else None (the BLAS's own count)."""
    work = multiply_adds * itemsize // 4
    return 1 if OPENBLAS_ONE_THREAD < multiply_adds and work <= SMALL_STEP_PRODUCT else None


@functools.lru_cache(maxsize=1)
def openblas_threads():
    """(get, set) of NumPy's bundled OpenBLAS's thread count as ctypes functions, or
    None for other builds of NumPy.  Loaded as a ``PyDLL``, whose calls keep the GIL:
    a plain ``CDLL`` call releases it, and taking it back from threads running Python
    (a memory-mapped file's readers) cost ~30 us a training step."""
    import ctypes

    library = numpy_openblas()
    library = None if library is None else ctypes.PyDLL(library._name)
    get = getattr(library, "scipy_openblas_get_num_threads64_", None)
    set_ = getattr(library, "scipy_openblas_set_num_threads64_", None)
    if get is None or set_ is None:
        return None
    get.restype, get.argtypes = ctypes.c_int, []
    set_.restype, set_.argtypes = None, [ctypes.c_int]
    return get, set_


@functools.lru_cache(maxsize=1)
def _threadpool_controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return None
    return ThreadpoolController()


def thread_count() -> int:
    """The BLAS's thread count now (NumPy's OpenBLAS, else as threadpoolctl sees it),
    else the cores."""
    direct = openblas_threads()
    if direct is not None:
        return int(direct[0]())
    controller = _threadpool_controller()
    if controller is not None:
        counts = [info["num_threads"] for info in controller.info()
                  if info.get("user_api") == "blas"]
        if counts:
            return int(min(counts))
    return os.cpu_count() or 1


def thread_control() -> str | None:
    """How :func:`blas_threads` sets the BLAS's threads here: "NumPy's OpenBLAS",
    "threadpoolctl", or None (it cannot)."""
    if openblas_threads() is not None:
        return "NumPy's OpenBLAS"
    return "threadpoolctl" if _threadpool_controller() is not None else None


class blas_threads:  # noqa: N801  (a context manager used as a function)
    """``with blas_threads(1):`` runs the block with the BLAS on ``limit`` threads
    (None: as it is), restoring the count after.  A class rather than a generator: it
    runs around every small training step, and costs a third as much."""

    __slots__ = ("limit", "before", "_limit")

    def __init__(self, limit: int | None):
        self.limit, self.before, self._limit = limit, None, None

    def __enter__(self):
        if self.limit is None:
            return self
        direct = openblas_threads()
        if direct is not None:
            before = direct[0]()
            if before != self.limit:
                self.before = before
                direct[1](self.limit)
            return self
        controller = _threadpool_controller()
        if controller is not None:
            self._limit = controller.limit(limits=self.limit, user_api="blas")
        return self

    def __exit__(self, *exc):
        if self.before is not None:
            openblas_threads()[1](self.before)
            self.before = None
        elif self._limit is not None:
            self._limit.restore_original_limits()
            self._limit = None
        return False
