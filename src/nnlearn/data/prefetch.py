"""Reading batches ahead of the training step, in threads, with a bounded queue.

Two readers, both bounded by ``max_queue_size`` batches read but not yet used:

* :func:`prefetch_indexed` reads numbered batches (a PyDataset, rows of a lazily indexed
  array) with a pool of ``workers`` threads and yields them *in order*: batch k+q is
  asked for as batch k is handed to the step, so reading overlaps the step.
* :class:`ReadAhead` reads an iterator (a generator) in one thread, since a generator
  cannot be advanced from two threads at once; it lives as long as ``fit`` so that the
  batches it has read ahead at the end of an epoch are the next epoch's first ones.

Threads, not processes: NumPy, file reads and ``np.memmap`` copies release the GIL for
the bulk of their work.  Closing either reader stops it and joins its threads, so an
error, a ``KeyboardInterrupt`` or an early stop leaves no thread behind (keras#11634
and keras#20032: generator reading that leaked threads and memory).
"""

from __future__ import annotations

import collections
import queue
import threading

__all__ = ["BatchError", "prefetch_indexed", "ReadAhead", "MAX_WORKERS", "MAX_QUEUE_SIZE"]

MAX_WORKERS = 64       # threads reading batches: more only waits on the same disk
MAX_QUEUE_SIZE = 1024  # batches held ahead of the step (each one a batch of memory)


class BatchError(ValueError):
    """A batch could not be read, or is not a valid batch; ``batch`` is its index in
    the epoch (for a PyDataset, the index given to ``__getitem__``)."""

    def __init__(self, message: str, batch: int):
        super().__init__(message)
        self.batch = batch


def check_workers(workers, max_queue_size, use_multiprocessing=False) -> tuple[int, int]:
    """(workers, max_queue_size) checked: 0 <= workers <= MAX_WORKERS (0: read in the
    calling thread, nothing ahead), 1 <= max_queue_size <= MAX_QUEUE_SIZE; processes are
    refused (ValueError), never silently replaced by threads (keras#21068)."""
    for name, value, low, high in (("workers", workers, 0, MAX_WORKERS),
                                   ("max_queue_size", max_queue_size, 1, MAX_QUEUE_SIZE)):
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be an integer in [{low}, {high}]; got {value!r}")
    if use_multiprocessing:
        raise ValueError("use_multiprocessing=True is not supported: nnlearn reads batches in "
                         "threads (workers=...), which overlap file reads and NumPy with the "
                         "step; processes would have to pickle every batch back")
    return workers, max_queue_size


def prefetch_indexed(fetch, keys, workers: int, max_queue_size: int, help=None):
    """Yield ``(key, fetch(key))`` for each key in order, reading up to
    ``max_queue_size`` batches ahead on ``workers`` threads (``workers=0``: each batch is
    read when it is needed, in this thread).  An exception raised by ``fetch`` is raised
    here when its batch's turn comes; closing the generator cancels the batches not yet
    started and waits for the ones running.  ``help`` (optional): when the next batch is
    not ready, ``help(key, later, ready)`` is called before waiting for it, with the keys
    asked for after it and a function telling whether it is ready: the consuming thread
    can do some of the reading instead of waiting (:class:`nnlearn.data.fileread.SharedRows`)."""
    if workers == 0:
        for key in keys:
            yield key, fetch(key)
        return
    keys = iter(keys)
    pending: collections.deque = collections.deque()
    from concurrent.futures import ThreadPoolExecutor  # on first use: ~4 ms at import

    pool = ThreadPoolExecutor(workers, thread_name_prefix="nnlearn-data")
    try:
        for key in keys:
            pending.append((key, pool.submit(fetch, key)))
            if len(pending) >= max_queue_size:
                break
        while pending:
            key, future = pending.popleft()
            if help is not None and not future.done():
                help(key, [later for later, _ in pending], future.done)
            result = future.result()
            following = next(keys, _END)
            if following is not _END:  # keep the queue full while the step runs
                pending.append((following, pool.submit(fetch, following)))
            yield key, result
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_END = object()


class ReadAhead:
    """Items of ``iterator`` read by one thread into a queue of at most
    ``max_queue_size``; :meth:`get` returns the next one, :data:`END` when the iterator is
    exhausted, and raises what the iterator raised.  ``limit`` (optional) is the most
    items read: nothing beyond what training will use is taken from the iterator."""

    END = _END

    def __init__(self, iterator, max_queue_size: int, limit: int | None = None):
        self._queue: queue.Queue = queue.Queue(max_queue_size)
        self._stop = threading.Event()
        self._iterator, self._limit, self._ended = iterator, limit, False
        self._thread = threading.Thread(target=self._run, name="nnlearn-data-reader",
                                        daemon=True)
        self._thread.start()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        count = 0
        while not self._stop.is_set() and (self._limit is None or count < self._limit):
            try:
                item = next(self._iterator)
            except StopIteration:
                break
            except BaseException as err:  # noqa: BLE001  (handed to the consumer)
                self._put(("error", err))
                return
            count += 1
            if not self._put(("item", item)):
                return
        self._put(("end", None))

    def get(self):
        """The next item, :data:`END` at the end; what the iterator raised is raised."""
        if self._ended:
            return _END
        while True:
            try:
                kind, value = self._queue.get(timeout=0.1)
                break
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    self._ended = True  # closed
                    return _END
        if kind == "error":
            raise value
        if kind == "end":
            self._ended = True
            return _END
        return value

    def close(self) -> None:
        """Stop reading and join the thread (it finishes the item it is reading)."""
        self._stop.set()
        self._thread.join()
