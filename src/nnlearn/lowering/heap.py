r"""The C heap's policy for a training loop's large temporary arrays.

A training step allocates and frees the same large arrays every batch: a convolution's
patch matrix and its gradient (megabytes each at batch 64), the activations, their
gradients.  NumPy takes them from the C library's ``malloc``, and glibc's ``malloc``
serves a block above its *mmap threshold* with a fresh ``mmap`` that ``free`` gives back
to the kernel, and gives the heap's free top back above its *trim threshold*.  Both
thresholds adapt: the mmap threshold rises to the largest block freed (up to 32 MiB on
a 64-bit machine) and the trim threshold to twice it, but only once a block that large
has been freed.  Until then a step whose temporaries add up to more than the trim
threshold returns its memory every batch, and the next batch faults it in again, each
page zeroed by the kernel: in a process that had freed no large block, LeNet at batch 64
took about 1,700 page faults a step (7 MB), 6.5-7.7 ms a step against 4.4-4.9 ms with
the thresholds set (``python bench/cnn.py --heap --rounds 4``, which prints the faults
and the time both ways).  Whether a fit paid this depended on what the process had
freed before (the CNN benchmark's fit, after loading MNIST, did not); with the
thresholds set it never does.

:func:`keep_freed_blocks` sets the two thresholds once, for the process, to the values
the adaptive rule tops out at: blocks up to 32 MiB come from the heap (glibc's
``DEFAULT_MMAP_THRESHOLD_MAX`` on 64-bit machines) and up to 64 MiB of freed heap stays
mapped for the next batch.  The blocks are the same, served from memory the process
already has: the CNN benchmark's peak resident memory is the same (370 MB), but after
a fit up to 64 MiB of freed memory can stay resident in each of glibc's arenas (one per
thread that allocates), and blocks up to 32 MiB share the heap with the rest instead of
being unmapped, which a long-running server may notice.  A model's ``fit`` (whatever
its ``train_step``), built-in ``train_step``, ``evaluate`` and ``predict`` call it; it
cannot be undone in a process (glibc has no call that restores the adaptive
thresholds), so it is never applied before a model runs, and it is not applied (the
plan's "heap" line says why) with ``NNLEARN_HEAP=off``, where the C library is not
glibc, where the process has its own malloc settings (``MALLOC_MMAP_THRESHOLD_``,
``MALLOC_TRIM_THRESHOLD_``, ``GLIBC_TUNABLES``) or where another allocator is preloaded
(jemalloc, tcmalloc, mimalloc: ``LD_PRELOAD``).
"""

from __future__ import annotations

import ctypes
import os
import threading

__all__ = ["keep_freed_blocks", "heap_policy", "MMAP_THRESHOLD", "TRIM_THRESHOLD"]

#: Blocks up to this size come from the heap (glibc's largest adaptive mmap threshold).
MMAP_THRESHOLD = 32 * 1024 * 1024
#: Freed memory at the heap's top kept mapped up to this size (twice the mmap threshold,
#: glibc's adaptive rule).
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3   # glibc's <malloc.h>
_OWN_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")
_OTHER_ALLOCATORS = ("jemalloc", "tcmalloc", "mimalloc")
_lock = threading.Lock()
_state: dict = {}   # "reason": why not applied, or None once applied


def _unavailable() -> str | None:
    """Why the policy cannot or may not be applied here, or None."""
    from .switches import heap_policy_enabled

    if not heap_policy_enabled():
        return "NNLEARN_HEAP=off"
    try:
        glibc = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):   # not a POSIX system, or not glibc's
        glibc = None
    if not glibc:
        return "the C library is not glibc (mallopt is glibc's)"
    own = [name for name in _OWN_SETTINGS if os.environ.get(name)]
    if own:
        return f"the process has its own malloc settings ({', '.join(own)})"
    preloaded = os.environ.get("LD_PRELOAD", "")
    other = [name for name in _OTHER_ALLOCATORS if name in preloaded]
    if other:
        return f"another allocator is preloaded ({other[0]})"
    return None


def _apply() -> str | None:
    """Set the thresholds; None, or why they were not set."""
    reason = _unavailable()
    if reason is not None:
        return reason
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError) as error:
        return f"glibc's mallopt could not be found ({error})"
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if not (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)
            and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)):
        return "glibc's mallopt refused the thresholds"
    return None


def keep_freed_blocks() -> str | None:
    """Set glibc's mmap threshold to :data:`MMAP_THRESHOLD` and its trim threshold to
    :data:`TRIM_THRESHOLD` for this process, once (later calls cost a dictionary
    lookup); returns None when they are set, else why not (see the module docstring).
    Only a bad ``NNLEARN_HEAP`` value raises: the policy is a speed-up, and a training
    step goes on without it."""
    if "reason" in _state:
        return _state["reason"]
    with _lock:
        if "reason" not in _state:
            _state["reason"] = _apply()
    return _state["reason"]


def heap_policy() -> tuple:
    """(choice, reason) for the plan's "heap" line (:mod:`nnlearn.lowering.planner`)."""
    reason = _state["reason"] if "reason" in _state else _unavailable()
    if reason is not None:
        return "the C library's defaults", reason
    mib = 1024 * 1024
    return (f"freed blocks kept (mmap threshold {MMAP_THRESHOLD // mib} MiB, trim threshold "
            f"{TRIM_THRESHOLD // mib} MiB)",
            "a step frees and allocates the same large arrays every batch: kept mapped, "
            "they are not faulted in and zeroed again")
