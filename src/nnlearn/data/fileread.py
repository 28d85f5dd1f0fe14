"""Rows of a read-only ``np.memmap`` read from its file with ``pread``: the loop that
issues the calls, compiled (numba, run without the GIL) or in Python.  :func:`reader`
is the one place that chooses; :data:`READER` = "python" forces the Python loop.

Why from the file and not through the mapping: pages touched through a mapping count in
the process's resident set, and on Linux a read fault maps a whole page-cache folio (up
to 2 MiB), so shuffled batches over a file map the file into the process.

Why the loop is compiled.  A shuffled batch of 256 rows out of millions is 256 rows
apart from each other, hence 256 reads.  Measured on the 2-core Xeon this was written on
(Linux 6.18, ext4; a 2 GiB file of 8,259,552 rows of 65 float32 in the page cache, read
as the column view ``x[:, :64]``; batches of 256 random rows; ``bench/data.py``'s
layout), per batch of 256 rows:

=======================================================  ===============  =============
how                                                      time a batch     peak VmRSS
=======================================================  ===============  =============
(a) ``x[rows]`` through the mapping, then                940 us           554 MB
``madvise(MADV_DONTNEED)`` every batch
(a) the same, ``madvise`` every 16 / 64 batches          323 / 119 us     2.05 / 2.13 GB
(b) ``os.preadv`` per row, a Python loop (the fallback)  360-640 us       the batch
(b) ``pread`` per row, this module's numba loop          150-200 us       the batch
=======================================================  ===============  =============

(a) is ruled out: one batch maps up to 256 folios of 2 MiB (MADV_RANDOM and
MADV_NOHUGEPAGE did not change that: 40 batches mapped the whole 2 GiB), a
``madvise(MADV_DONTNEED)`` costs 0.2-1.6 ms, and NumPy's gather holds the GIL through
its page faults (beside a spinning Python thread it took 5.6 ms a batch).  (b) in
Python costs 1.4-2.5 us a row and releases and retakes the GIL around every call; the
compiled loop costs 0.6-0.8 us a row (sorted or not) and releases the GIL once a read.
(c) a second reader thread (``LAZY_WORKERS`` in :mod:`nnlearn.data.adapters`) with the
BLAS held to one thread beside them took the memmap epoch of ``python -m bench.data
--gigabytes 0.5`` from 1.28-1.41x the in-memory epoch (one reader) to 1.12-1.16x (two),
1.4-1.7x with the BLAS on its own two threads: the hold changed the weights' last bits
for some networks (see the adapters module).  What runs now: a step of small products
runs on one BLAS thread wherever its data come from (the planner's ``step_threads``),
and one reader per core that leaves (one on 2 cores).
"""

from __future__ import annotations

import functools
import os

import numpy as np

__all__ = ["READER", "reader", "read_runs"]

READER = "auto"  # "auto": the compiled loop when numba is importable; "python": always Python

_SOURCE = '''
def read_runs(descriptor, out, out_stride, rows, first, stride, span):
    base = out.ctypes.data
    n = rows.shape[0]
    i = 0
    while i < n:
        j = i
        while out_stride == stride and j + 1 < n and rows[j + 1] == rows[j] + 1:
            j += 1
        size = (j - i) * stride + span
        done = 0
        while done < size:
            got = pread(descriptor, base + i * out_stride + done, size - done,
                        first + rows[i] * stride + done)
            if got <= 0:
                return i
            done += got
        i = j + 1
    return -1
'''


@functools.lru_cache(maxsize=1)
def _compiled():
    """The compiled loop (``read_runs(descriptor, out, rows, first, stride, span)`` ->
    the first row it could not read, or -1), cached on disk with nnlearn's kernels
    (:func:`nnlearn.lowering.loops.compiled_module`); None without numba or ``pread``."""
    from ..lowering import loops

    if "numba" not in loops.available_backends() or not hasattr(os, "pread"):
        return None
    from numba import types

    pread = types.ExternalFunction(  # libc's pread(int, void *, size_t, off_t)
        "pread", types.intp(types.intc, types.voidptr, types.uintp, types.int64))
    return loops.compiled_module("nnlearn.data.fileread.read_runs", _SOURCE,
                                 {"pread": pread}, [_compiled.__wrapped__], ("read_runs",),
                                 nogil=True)[0]


def reader() -> str:
    """The loop that reads the runs: "numba" (compiled, run without the GIL) when
    :data:`READER` allows it and numba is installed, else "python"."""
    if READER not in ("auto", "python"):
        raise ValueError(f"nnlearn.data.fileread.READER must be 'auto' or 'python'; got "
                         f"{READER!r}")
    return "numba" if READER == "auto" and _compiled() is not None else "python"


def read_runs(path: str, out: np.ndarray, out_stride: int, rows: np.ndarray, first: int,
              stride: int, span: int) -> None:
    """Read rows ``rows`` (in any order, repeats allowed) of the file ``path`` into
    ``out`` (C-contiguous), row i at byte ``i * out_stride``: file row r is the ``span``
    bytes at ``first + r * stride``.  When ``out_stride == stride`` each run of
    consecutive rows is one ``pread``, else each row is one.  OSError on a short read
    (a file shorter than its array)."""
    flat = out.reshape(-1).view(np.uint8)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    descriptor = os.open(path, os.O_RDONLY)
    try:
        if reader() == "numba":
            failed = _compiled()(descriptor, flat, out_stride, rows, first, stride, span)
            if failed >= 0:
                raise OSError(f"{path}: short read at {first + int(rows[failed]) * stride}")
            return
        breaks = np.flatnonzero(np.diff(rows) != 1) + 1 if out_stride == stride \
            else np.arange(1, len(rows))
        for begin, end in zip([0, *breaks.tolist()], [*breaks.tolist(), len(rows)]):
            size = (end - begin - 1) * stride + span
            where, at = first + int(rows[begin]) * stride, begin * out_stride
            if os.preadv(descriptor, [flat[at:at + size]], where) != size:
                raise OSError(f"{path}: short read of {size} bytes at {where}")
    finally:
        os.close(descriptor)
