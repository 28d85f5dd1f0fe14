r"""The recurrent cells' steps as compiled loops: a *lowering* of the fused recurrent ops
(:mod:`nnlearn.autograd.recurrent`) chosen by :mod:`nnlearn.lowering.planner`.

The fused ops of SimpleRNN (Elman 1990), LSTM (Hochreiter & Schmidhuber 1997; Gers,
Schmidhuber & Cummins 2000) and GRU (Cho et al. 2014) run their steps in Python, each
step a small product :math:`h_{t-1} U` and about ten NumPy passes of gate arithmetic
over a (batch, gates x units) block.  Here a whole batch of sequences goes through one
compiled call forward and one backward (:mod:`nnlearn.lowering._recurrent_template`): per step
one product (NumPy's own BLAS, called directly: :mod:`nnlearn.lowering.blas`) and
a few compiled passes over the gates, each writing one array.

The gates' functions are the activations' own element rules
(:mod:`nnlearn.activations`), compiled with ``np.exp`` and ``np.tanh`` lowered to the
vectorizable float32 approximations of :mod:`nnlearn.lowering.fastmath` (at most 1 and 7 ulp;
float64 keeps the C library's).  The loops are compiled with contraction (``a * b + c``
as one fused multiply-add where the CPU has it, rounded once): the approximations'
polynomials are mostly such steps, and the LSTM(64) forward took 4.5 ms a batch of 128
with it against 5.5 ms without (one thread); each gate loop writes one array, which
LLVM vectorizes (a loop writing four was left scalar: 7.7 ms before).  The outputs
therefore equal the NumPy path's to float32 rounding and, in float64, to float64
rounding (``tests/lowering/test_recurrent_cell.py``: property tests over shapes,
activations, initial states and gradient patterns).

**Threads.**  A step's product is small (a batch of 128 LSTM(64) states:
:math:`128 \times 64 \times 256`), and OpenBLAS splitting it over threads loses more in
synchronisation than it gains; the BLAS's thread count is process-wide but can be set
around a whole loop.  :func:`blas_threads` sets it to one for the loop when the
planner says the products are small (:func:`nnlearn.lowering.planner.recurrent_threads`), then
restores it (:mod:`nnlearn.lowering.blas`).  The batch's sequences are independent, so
the loops (compiled without the GIL) run on groups of rows side by side, one thread each
(:func:`recurrent_parts`), every product of a group on its own thread's single-threaded
BLAS: the cores are used with no synchronisation per step, where splitting each small
product would synchronise 50 times a sequence.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import activations
from . import loops
from .blas import SMALL_PRODUCT, blas_threads, thread_control
from .switches import recurrent_cell_enabled

__all__ = ["cell_functions", "blas_threads", "thread_control", "gemm",
           "recurrent_cell_reason", "recurrent_threads", "recurrent_parts", "SMALL_PRODUCT",
           "PART_ROWS"]

PART_ROWS = 32  # the fewest sequences a group of rows run side by side may hold


@functools.lru_cache(maxsize=None)
def cell_functions(activation: str, recurrent_activation: str) -> dict:
    """The compiled loops (``lstm_forward``, ..., :data:`_recurrent_template.FUNCTIONS`)
    for the activation g and the recurrent activation s (registered names whose
    derivative reads only the output), compiled into the kernel cache."""
    import numba

    from ..numerics import numba_lowerings
    from . import _recurrent_template, fastmath
    from .blas import gemm_call

    numba_lowerings()
    fastmath.numba_functions()
    inline = numba.njit(error_model="numpy", inline="always")
    namespace, rules = {"gemm_call": gemm_call()}, [gemm_call.__wrapped__]
    for prefix, name in (("activation", activation), ("recurrent", recurrent_activation)):
        spec = activations.get(name)
        namespace[prefix] = inline(fastmath.lowered(spec.function))
        namespace[f"{prefix}_backward"] = inline(fastmath.lowered(spec.backward))
        rules += [spec.function, spec.backward]
    functions = loops.compiled_module(
        f"nnlearn.lowering.recurrent_cell.{activation}.{recurrent_activation}",
        _recurrent_template.source(), namespace,
        [*rules, cell_functions.__wrapped__, *fastmath.lowering_sources()],
        _recurrent_template.FUNCTIONS, nogil=True, contract=True)
    return dict(zip(_recurrent_template.FUNCTIONS, functions))


def gemm(dtype):
    """The address of the BLAS gemm the loops call for ``dtype`` (None: numba's
    np.dot)."""
    from .blas import numpy_gemm

    return numpy_gemm(dtype)


def one(dtype):
    """1 in ``dtype`` (the loops' ``one``)."""
    return np.dtype(dtype).type(1)


_COMPILED_CELL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def recurrent_cell_reason(dtype) -> str | None:
    """Why the fused recurrent ops of ``dtype`` run their steps as NumPy passes rather
    than the compiled cell (:mod:`nnlearn.lowering.recurrent_cell`), or None when the cell
    runs them (``NNLEARN_RECURRENT_CELL`` or :func:`settings`; numba installed; float32
    or float64)."""
    if not recurrent_cell_enabled():
        return "NNLEARN_RECURRENT_CELL=off or settings(recurrent_cell=False)"
    if "numba" not in loops.available_backends():
        return "numba is not installed (the fast extra)"
    if np.dtype(dtype) not in _COMPILED_CELL_DTYPES:
        return f"{np.dtype(dtype)} has no compiled cell (float32 and float64 compile)"
    from .blas import numpy_gemm
    from .dense_step import scipy_importable

    if numpy_gemm(dtype) is None and not scipy_importable():
        return ("SciPy is not installed (numba's matrix product needs it with this build "
                "of NumPy)")
    return None


def recurrent_threads(batch: int, units: int, gates: int) -> int | None:
    """The BLAS threads for a recurrent loop whose every step multiplies (batch, units) by
    (units, gates x units): 1 when that is at most :data:`SMALL_PRODUCT` multiply-adds
    (an LSTM(64) on a batch of 128: 2.1 million), where splitting one product over
    threads costs more in synchronisation than it saves; None (the BLAS's own count)
    for larger ones."""
    return 1 if batch * units * gates * units <= SMALL_PRODUCT else None


def recurrent_parts(batch: int, units: int, gates: int) -> int:
    """How many groups of the batch's rows the compiled cell runs side by side, one
    thread each: the sequences of a batch are independent, so each group runs all its
    steps forward and back on its own core with no synchronisation per step, its
    products on one BLAS thread, and the groups' weight gradients are summed at the end.
    1 (the whole batch in this thread) when the step's products are large enough for
    the BLAS's own threads (:func:`recurrent_threads`); else as many groups as the BLAS
    may use threads (its thread count: ``OPENBLAS_NUM_THREADS=1`` keeps one group), each
    of at least :data:`PART_ROWS` sequences.  Measured (``bench/rnn.py --child nnlearn
    --cell lstm``, LSTM(64), batch 128, 2 cores, alternating with the code before the
    groups): the epoch 0.77-1.46 s (median 0.91) with two groups against 1.26-1.34 s
    (median 1.32) with one.  The count depends on the shapes and the BLAS's thread
    setting only, never on the data, so a fit is reproducible; a different count rounds
    the weight gradients' sums differently (to float rounding)."""
    if recurrent_threads(batch, units, gates) != 1:
        return 1
    from .blas import thread_count

    return max(1, min(thread_count(), batch // PART_ROWS))
