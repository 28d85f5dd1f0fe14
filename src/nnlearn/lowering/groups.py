"""A batch's samples in groups run side by side, one thread each.

The sequences of a batch are independent in a recurrent layer's steps, so a batch can be
cut into groups of consecutive rows, each group's steps run on its own core, and the
groups' weight gradients summed at the end.  Each group's work spends its time in a loop
compiled without the GIL and in BLAS products (which release it), so the groups run in
parallel, each product on one BLAS thread: no synchronisation inside the work, where a
product split over the BLAS's threads synchronises at every step.  The
planner decides the number of groups from the shapes and the BLAS's thread count only,
never from the data, so that a fit is reproducible
(:func:`nnlearn.lowering.recurrent_cell.recurrent_parts`); a different count rounds the
gradients' sums differently (to float rounding).

(The same for a convolution's images gained 8% at most: there each group is a few large
products rather than many small ones, and two single-threaded gemm calls side by side ran
only 1.04-1.47x faster than one after the other; ``docs/benchmarks.md``.)
"""

from __future__ import annotations

import functools

import numpy as np

__all__ = ["spans", "run_parts", "side_by_side", "sum_parts"]


def spans(n: int, parts: int) -> list:
    """``parts`` consecutive (start, stop) row ranges of n rows, as equal as can be."""
    parts = max(1, min(parts, n))
    bounds = [n * p // parts for p in range(parts + 1)]
    return list(zip(bounds[:-1], bounds[1:]))


def run_parts(work, row_spans, threads=None) -> None:
    """``work(p, start, stop, loop_threads)`` for each group of rows.  One group: here,
    ``loop_threads`` is ``threads`` (the BLAS's thread count for the group's own loop,
    None: as it is).  Several: side by side (:func:`side_by_side`), with the BLAS on one
    thread throughout, so that each group's products are its own thread's (after a
    product on its own threads OpenBLAS's workers spin, a third busy thread beside the
    two groups)."""
    if len(row_spans) == 1:
        work(0, *row_spans[0], threads)
        return
    from .blas import blas_threads

    with blas_threads(1):
        side_by_side([functools.partial(work, p, lo, hi, None)
                      for p, (lo, hi) in enumerate(row_spans)])


def sum_parts(sums: list) -> tuple:
    """The groups' gradients (tuples, None where there is none) summed item by item."""
    return tuple(None if items[0] is None else functools.reduce(np.add, items)
                 for items in zip(*sums))


_POOL = []  # the threads that run the other groups of rows (made on first use)


def side_by_side(calls) -> None:
    """Run the calls, the first in this thread and the others in threads beside it, and
    wait for all; an error any of them raised is raised here."""
    if not _POOL:
        import os
        from concurrent.futures import ThreadPoolExecutor

        _POOL.append(ThreadPoolExecutor(thread_name_prefix="nnlearn-groups"))
        # a forked child has none of the pool's threads: it makes a pool of its own
        os.register_at_fork(after_in_child=_POOL.clear)
    others = [_POOL[0].submit(call) for call in calls[1:]]
    try:
        calls[0]()
    finally:
        for other in others:
            other.result()
