"""Rows of a read-only ``np.memmap`` read from its file with ``pread``: the loop that
issues the calls, compiled (numba, run without the GIL) or in Python.  :func:`reader`
is the one place that chooses; :data:`READER` = "python" forces the Python loop.
:class:`MemmapRows` (made by :func:`memmap_rows`) are a memmap's rows to read this way;
:class:`SharedRows` lets several threads read one set of rows together.

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

Why the rows are shared.  Each ``pread`` of a random row costs 0.6-0.8 us of kernel time
(``perf``: a third of it copying the row from a cold cache line, the rest the system
call and the page-cache lookup), more than the step of a small network spends on the
row: in ``bench/data.py`` (64 features, a 64-unit layer) one reader thread took 165-200
us to read a batch of 256 rows, the step about 120 us to train on it, and the
training thread waited for the reader 7-30% of the epoch (1.5-1.9 s of 5.8-6.5 s in
most runs).  A :class:`SharedRows` is claimed :data:`CHUNK` rows at a time by one
atomic add on a shared counter (LLVM's ``atomicrmw``, so no two threads ever read the
same rows and none is left out); the training thread, instead of waiting for a batch,
claims rows of it (and of the batches after it) until it is ready, so the reading is
shared between the two cores as it goes, whatever the two threads' speeds.  Measured
the same way, the training thread then waited 0.002-0.006 s an epoch and read rows for
1.1-1.3 s of it.
"""

from __future__ import annotations

import functools
import os
import threading

import numpy as np

__all__ = ["READER", "CHUNK", "reader", "SharedRows", "file_layout", "MemmapRows",
           "memmap_rows"]

READER = "auto"  # "auto": the compiled loop when numba is importable; "python": always Python
CHUNK = 16  # rows claimed at a time (about 10 us of reads)

_SOURCE = '''
def read_claimed(descriptor, out, out_stride, rows, first, stride, span, claimed, chunk,
                 most):
    base = out.ctypes.data
    n = rows.shape[0]
    taken = 0
    while taken < most:
        i = claim(claimed, chunk)
        if i >= n:
            return -1
        taken += chunk
        end = min(i + chunk, n)
        while i < end:
            j = i
            while out_stride == stride and j + 1 < end and rows[j + 1] == rows[j] + 1:
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


def _claim_intrinsic():
    """``claim(counter, amount)`` for compiled code: ``counter[0] += amount`` as one
    atomic instruction (LLVM's ``atomicrmw add``, sequentially consistent), returning the
    value before the add.  Threads claiming rows this way never get the same ones."""
    from numba.core import types
    from numba.core.extending import intrinsic

    @intrinsic
    def claim(typingctx, counter, amount):
        def codegen(context, builder, signature, args):
            array = context.make_array(signature.args[0])(context, builder, args[0])
            return builder.atomic_rmw("add", array.data, args[1], "seq_cst")
        return types.int64(types.Array(types.int64, 1, "C"), types.int64), codegen

    return claim


@functools.lru_cache(maxsize=1)
def _compiled():
    """The compiled loop (``read_claimed(descriptor, out, out_stride, rows, first,
    stride, span, claimed, chunk, most)``: claims ``chunk`` rows at a time from the
    counter ``claimed[0]`` and reads them, until none are left or it claimed ``most``;
    -> the first row it could not read, or -1), cached on disk with nnlearn's kernels
    (:func:`nnlearn.lowering.loops.compiled_module`); None without numba or ``pread``."""
    from ..lowering import loops

    if "numba" not in loops.available_backends() or not hasattr(os, "pread"):
        return None
    from numba import types

    pread = types.ExternalFunction(  # libc's pread(int, void *, size_t, off_t)
        "pread", types.intp(types.intc, types.voidptr, types.uintp, types.int64))
    return loops.compiled_module("nnlearn.data.fileread.read_claimed", _SOURCE,
                                 {"pread": pread, "claim": _claim_intrinsic()},
                                 [_compiled.__wrapped__, _claim_intrinsic],
                                 ("read_claimed",), nogil=True)[0]


def reader() -> str:
    """The loop that reads the runs: "numba" (compiled, run without the GIL) when
    :data:`READER` allows it and numba is installed, else "python"."""
    if READER not in ("auto", "python"):
        raise ValueError(f"nnlearn.data.fileread.READER must be 'auto' or 'python'; got "
                         f"{READER!r}")
    return "numba" if READER == "auto" and _compiled() is not None else "python"


class SharedRows:
    """Rows ``rows`` (in any order, repeats allowed) of the file ``path`` to be read into
    ``out`` (C-contiguous), row i at byte ``i * out_stride``, file row r being the
    ``span`` bytes at ``first + r * stride`` (a run of consecutive rows is one ``pread``
    when ``out_stride == stride``, else each row is one), by one thread that owns them
    and calls :meth:`finish`, helped by any others that call :meth:`help` meanwhile:
    each thread claims the next rows with one atomic add and reads them (see the
    module), so the rows are read once, whoever reads them.  Without the compiled loop
    nothing is shared: the owner reads them all."""

    def __init__(self, path: str, out: np.ndarray, out_stride: int, rows: np.ndarray,
                 first: int, stride: int, span: int):
        self.path = path
        rows = np.ascontiguousarray(rows, dtype=np.int64)
        consecutive = out_stride == stride and bool(np.all(np.diff(rows) == 1))
        # a run of rows is claimed a mebibyte at a time: one pread each
        self.chunk = max(CHUNK, (1 << 20) // stride) if consecutive else CHUNK
        self._args = (out.reshape(-1).view(np.uint8), out_stride, rows, first, stride, span)
        self._claimed = np.zeros(1, np.int64)  # rows claimed so far (may pass len(rows))
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._helpers, self._finishing, self._failed = 0, False, -1

    def _read(self, most: int) -> bool:
        """Claim and read up to ``most`` rows; whether rows were left to claim after."""
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            failed = _compiled()(descriptor, *self._args, self._claimed, self.chunk, most)
        finally:
            os.close(descriptor)
        if failed >= 0:
            self._failed = failed
        return failed < 0 and int(self._claimed[0]) < len(self._args[2])

    def help(self, most: int) -> bool:
        """Read up to ``most`` of the rows no thread has claimed yet, in this thread;
        whether rows are left to claim (False once the owner has finished, and always
        without the compiled loop)."""
        with self._lock:
            if self._finishing or reader() != "numba":
                return False
            self._helpers += 1
        try:
            return self._read(most)
        except OSError:
            return False  # the owner meets the same error and reports it
        finally:
            with self._lock:
                self._helpers -= 1
                self._idle.notify_all()

    def finish(self) -> None:
        """Read every row not yet claimed and wait for the helpers' reads: then ``out``
        holds every row.  OSError on a short read (a file shorter than its array)."""
        out, out_stride, rows, first, stride, span = self._args
        if reader() == "numba":
            try:
                self._read(len(rows))
            finally:
                with self._lock:
                    self._finishing = True
                    while self._helpers:
                        self._idle.wait()
            if self._failed >= 0:
                raise OSError(f"{self.path}: short read at "
                              f"{first + int(rows[self._failed]) * stride}")
            return
        self._finishing = True
        descriptor = os.open(self.path, os.O_RDONLY)
        try:
            breaks = np.flatnonzero(np.diff(rows) != 1) + 1 if out_stride == stride \
                else np.arange(1, len(rows))
            for begin, end in zip([0, *breaks.tolist()], [*breaks.tolist(), len(rows)]):
                size = (end - begin - 1) * stride + span
                where, at = first + int(rows[begin]) * stride, begin * out_stride
                if os.preadv(descriptor, [out[at:at + size]], where) != size:
                    raise OSError(f"{self.path}: short read of {size} bytes at {where}")
        finally:
            os.close(descriptor)


def file_layout(source):
    """(path, file position of row 0, row stride, bytes of a row) of a read-only
    ``np.memmap`` whose rows lie forward in its file, else None."""
    import mmap

    mapping = getattr(source, "_mmap", None)
    if not isinstance(source, np.memmap) or source.mode != "r" or mapping is None or \
            source.filename is None or not hasattr(os, "preadv") or source.ndim < 1 or \
            0 in source.shape or source.strides[0] <= 0 or min(source.strides[1:],
                                                                 default=0) < 0:
        return None
    span = source.itemsize + sum((d - 1) * s for d, s in zip(source.shape[1:],
                                                             source.strides[1:]))
    if span > source.strides[0]:
        return None
    address = np.frombuffer(mapping, np.uint8, count=1).ctypes.data  # where it is mapped
    mapped_from = source.offset - source.offset % mmap.ALLOCATIONGRANULARITY
    return (source.filename, mapped_from + source.ctypes.data - address, source.strides[0],
            span)


class MemmapRows:
    """Rows ``rows`` (in any order, repeats allowed, each in range) of a read-only
    ``np.memmap`` whose layout :func:`file_layout` gives, to be read from its file with
    ``pread`` by the loop :func:`reader` chooses (one call per row, or per run of
    consecutive rows where the rows lie end to end in the file).  Reading through
    the mapping would map the pages touched into the process (on Linux whole page-cache
    folios, up to 2 MiB a row), so that shuffled batches over a file larger than memory
    would grow the resident set (RSS) towards the file's size; read this way, the rows
    pass through the operating system's page cache and the process holds only the batch.
    A sample whose bytes lie together (its elements C-ordered) is read straight into the
    result.  ``reads`` (a :class:`SharedRows`) lets other threads help; :meth:`array`
    reads what is left and returns the rows."""

    def __init__(self, source, rows: np.ndarray, layout):
        path, first, stride, span = layout
        self.source, self.shape = source, (len(rows), *source.shape[1:])
        self.packed = span == source.itemsize * int(np.prod(self.shape[1:], dtype=np.int64)) \
            and source[:1].flags.c_contiguous
        self.out = np.empty(self.shape, source.dtype) if self.packed else \
            np.empty((len(rows), stride), np.uint8)
        self.reads = SharedRows(path, self.out, span if self.packed else stride, rows,
                                first, stride, span)

    def array(self) -> np.ndarray:
        """The rows, once every one is read (:meth:`SharedRows.finish`)."""
        self.reads.finish()
        if self.packed:
            return self.out
        return np.array(np.ndarray(self.shape, self.source.dtype, self.out, 0,
                                   (self.out.shape[1], *self.source.strides[1:])))


def memmap_rows(source, rows: np.ndarray) -> MemmapRows | None:
    """Rows ``rows`` of ``source`` to read from its file (:class:`MemmapRows`), or None
    when ``source`` is not a read-only ``np.memmap`` whose layout allows it."""
    layout = file_layout(source)
    return None if layout is None else MemmapRows(source, rows, layout)
