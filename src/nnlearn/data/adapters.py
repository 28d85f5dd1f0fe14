"""Data adapters: what ``Model.fit``, ``evaluate`` and ``predict`` ask for an epoch's
batches.  One adapter per kind of input (the design of Keras 3's
``keras/src/trainers/data_adapters``, written anew here):

=====================  ===================================================================
input                  batches
=====================  ===================================================================
NumPy arrays           ``model.batch_indices`` (shuffled from the epoch's seed), gathered
                       in memory: the behaviour ``fit`` always had, bit for bit
lazily indexed array   the same batch indices, each batch's rows read from the array
(``np.memmap``,        (a memmap's from its file in the batch's order; others' sorted
h5py, Zarr)            and deduplicated, as h5py requires, then put back in order),
                       several batches a read, read ahead by ``LAZY_WORKERS`` threads
PyDataset              ``dataset[i]`` for i in order (or a seeded permutation of the
                       batches with ``shuffle``), read ahead by ``workers`` threads
generator / iterable   ``steps_per_epoch`` items per epoch (or until it ends), read
                       ahead by one thread, ``max_queue_size`` batches at most
Dask array             see :mod:`nnlearn.data.dask`
=====================  ===================================================================

Every batch read from something other than an in-memory array is checked where it is
read (a tuple ``(x, y)`` or ``(x, y, sample_weight)``, samples of the model's shape,
finite values, targets the loss takes); a bad batch is a :class:`BatchError` naming its
index, raised in the training thread before that batch is used.
"""

from __future__ import annotations

import os
import typing

import numpy as np

from .._validation import all_finite, check_in_range, check_sample_weight
from . import fileread
from .dataset import PyDataset
from .prefetch import BatchError, ReadAhead, prefetch_indexed

__all__ = ["kind_of", "is_lazy_array", "n_rows", "read_rows", "check_batch", "DataAdapter",
           "ArrayAdapter", "LazyArrayAdapter", "PyDatasetAdapter", "IterableAdapter"]

# Lazily indexed arrays: LAZY_WORKERS reader threads (one per core the step leaves,
# at most two); at most LAZY_QUEUE_SIZE batches read ahead of the step; consecutive
# batches read together, as many as hold at most LAZY_READ_BYTES of x (at least one),
# one read per thread and one more under way: see LazyArrayAdapter.
LAZY_WORKERS = max(1, min(2, (os.cpu_count() or 2) - 1))
LAZY_QUEUE_SIZE, LAZY_READ_BYTES = 64, 2 << 20
LAZY_HELP_ROWS = 128  # rows the training thread reads between looks at its next batch


def is_dask_array(x) -> bool:
    """Whether x is a ``dask.array.Array`` (told without importing Dask)."""
    return any(cls.__module__.startswith("dask.array") and cls.__name__ == "Array"
               for cls in type(x).__mro__)


def is_lazy_array(x) -> bool:
    """Whether x is an array read from storage as it is indexed: an ``np.memmap``, or an
    object with ``shape``, ``dtype`` and ``__getitem__`` that is not an in-memory array
    (an ``h5py.Dataset``, a Zarr array)."""
    if isinstance(x, np.memmap):
        return True
    if isinstance(x, np.ndarray) or is_dask_array(x) or hasattr(x, "to_numpy"):
        return False
    return all(hasattr(x, name) for name in ("shape", "dtype", "__getitem__")) and \
        len(getattr(x, "shape", ())) >= 1


def kind_of(x) -> str:
    """"array", "lazy", "pydataset", "dask" or "iterable" (a generator, or any iterable
    that is not array-like)."""
    if isinstance(x, PyDataset):
        return "pydataset"
    if is_dask_array(x):
        return "dask"
    if is_lazy_array(x):
        return "lazy"
    if isinstance(x, (np.ndarray, list, tuple)) or hasattr(x, "__array__") or \
            hasattr(x, "to_numpy") or not hasattr(x, "__iter__") or isinstance(x, (str, bytes)):
        return "array"
    return "iterable"


def n_rows(values) -> int:
    """The number of rows (samples) of an array, a lazily indexed one included: its
    ``shape[0]`` (a Zarr 3 array has no ``len``), else its ``len``."""
    shape = getattr(values, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) >= 1 else len(values)


def _rows_in_range(index, start: int, stop: int) -> np.ndarray:
    """Positions ``index`` of rows ``start:stop`` as positions in the whole array;
    IndexError for one out of range."""
    rows = np.asarray(index, dtype=np.int64) + start
    if len(rows) and (rows.min() < start or rows.max() >= stop):
        raise IndexError(f"rows {rows.min() - start} to {rows.max() - start} asked of "
                         f"{stop - start}")
    return rows


def read_rows(source, index, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Rows ``index`` (None: all, a slice, or integer positions) of rows
    ``start:stop`` of ``source``, returned in ``index``'s order.  A read-only
    ``np.memmap``'s rows are read from its file, not through the mapping
    (:class:`~nnlearn.data.fileread.MemmapRows`: the process's memory holds the batch,
    not the pages), in the index's order; an in-memory array's are taken; any other
    source's are read in increasing order without repeats (what h5py requires and what
    reads a file front to back), then put in the index's order (IndexError for a
    memmap's row out of range)."""
    stop = n_rows(source) if stop is None else stop
    if index is None:
        index = slice(None)
    if isinstance(index, slice):
        rows = range(start, stop)[index]
        if rows.step == 1 and isinstance(source, np.memmap) and len(rows):
            reads = fileread.memmap_rows(source, np.arange(rows.start, rows.stop))
            if reads is not None:
                return reads.array()
        return np.asarray(source[rows.start:rows.stop:rows.step])
    rows = np.asarray(index, dtype=np.int64) + start
    if isinstance(source, np.memmap) and len(rows):
        reads = fileread.memmap_rows(source, _rows_in_range(index, start, stop))
        if reads is not None:
            return reads.array()
    elif isinstance(source, np.ndarray):
        return source.take(rows, axis=0)
    unique, inverse = np.unique(rows, return_inverse=True)
    reader = getattr(source, "oindex", None)  # Zarr's orthogonal indexing
    block = np.asarray(reader[unique] if reader is not None else source[unique])
    return block if np.array_equal(unique, rows) else block[inverse]


def check_batch(model, batch, index: int, where: str, targets: bool = True,
                class_weight=None):
    """``(x, y, sample_weight)`` of one batch read from a data source, checked (see the
    module); ``y`` and the weights are None when ``targets`` is False (predict).
    BatchError naming ``where`` and ``index`` otherwise."""
    def fail(message):
        raise BatchError(f"{where}: batch {index}: {message}", index)

    if isinstance(batch, (tuple, list)):
        if not 1 <= len(batch) <= 3:
            fail(f"expected (x, y) or (x, y, sample_weight); got a {type(batch).__name__} "
                 f"of {len(batch)} items")
        x, y, w = (*batch, None, None)[:3]
    elif targets:
        fail(f"expected a tuple (x, y) or (x, y, sample_weight); got {type(batch).__name__}")
    else:
        x, y, w = batch, None, None
    try:
        x = np.asarray(x)
    except ValueError as err:
        fail(f"x is not a rectangular array: {err}")
    if x.dtype.kind not in "iubf":
        fail(f"x must be numeric; got dtype {x.dtype}")
    if x.ndim < 2 or len(x) == 0:
        fail(f"x must hold at least one sample, shape (batch, ...); got shape {x.shape}")
    expected = model.input_shape
    if expected is not None and tuple(x.shape[1:]) != tuple(expected):
        fail(f"x holds samples of shape {tuple(x.shape[1:])}; the model takes "
             f"{tuple(expected)} (batch shape {x.shape})")
    with np.errstate(over="ignore"):
        converted = x.astype(model.dtype, copy=False)
    if not all_finite(converted):
        try:
            check_in_range(x, model.dtype, "x")
        except ValueError as err:
            fail(str(err))
        fail("x contains NaN or infinity")
    if not model.built:  # the first batch, read in the training thread before the others
        model.check_input(converted)
    if not targets:
        return converted, None, None
    if y is None:
        fail("no targets: the batch must be (x, y) or (x, y, sample_weight)")
    try:
        y = model.check_targets(y, len(x), "y")
        w = check_sample_weight(w, len(x), "sample_weight")
        if class_weight is not None:
            if w is not None:
                raise ValueError("the batch has sample weights and fit has class_weight: "
                                 "give one of them")
            w = model.class_sample_weights(y, class_weight)
    except (ValueError, TypeError) as err:
        fail(str(err))
    return converted, y, w


class DataAdapter:
    """What every adapter gives ``fit``, ``evaluate`` and ``predict``."""

    def first_x(self) -> np.ndarray:
        """Samples of the source's shape (possibly none), read before training to build
        an unbuilt model."""
        raise NotImplementedError

    def draws_random_numbers(self) -> bool:
        """Whether an epoch needs a seed (shuffling, or layers drawing random numbers)."""
        return bool(self.model._random_layers())

    def epoch(self, epoch_seed):
        """(number of batches or None when unknown, iterator of the epoch's batches
        ``(x, y, sample_weight or None)``); close the iterator when done with it (that
        stops the threads reading ahead)."""
        raise NotImplementedError

    def on_epoch_begin(self) -> None:
        """Before each epoch of fit."""

    def on_epoch_end(self) -> None:
        """After each epoch of fit (not after an epoch cut short by an error)."""

    def close(self) -> None:
        """Release what the adapter holds for the whole of fit (a reading thread)."""


class ArrayAdapter(DataAdapter):
    """In-memory arrays (already checked by the model): the batches of
    ``model.batch_indices`` (``sequential``: consecutive slices, for evaluate/predict)."""

    def __init__(self, model, x, y, weights, batch_size: int, shuffle: bool = False,
                 sequential: bool = False):
        self.model, self.x, self.y, self.weights = model, x, y, weights
        self.batch_size, self.shuffle, self.sequential = batch_size, shuffle, sequential
        self.sample_shape = tuple(x.shape[1:])

    def __len__(self) -> int:
        return len(self.x)

    def first_x(self) -> np.ndarray:
        return np.empty((0, *self.x.shape[1:]), self.model.dtype)

    def indices(self, epoch_seed) -> list:
        """The epoch's batches as indices into the rows."""
        if self.sequential:
            return [slice(s, s + self.batch_size) for s in range(0, len(self), self.batch_size)]
        return self.model.batch_indices(len(self), self.batch_size, self.shuffle, epoch_seed)

    def draws_random_numbers(self) -> bool:
        return self.model._draws_random_numbers(len(self), self.batch_size, self.shuffle)

    def epoch(self, epoch_seed):
        """(number of batches, iterator of (x, y, sample_weight or None))."""
        batches = self.indices(epoch_seed)
        return len(batches), self._batches(batches)

    def _batches(self, batches):
        x, y, w = self.x, self.y, self.weights
        if len(batches) == 1 and batches[0] is None:  # every row in one batch
            yield x, y, w
            return
        for index in batches:
            yield (_gather(x, index), None if y is None else _gather(y, index),
                   None if w is None else _gather(w, index))


def _gather(values, index):
    """As ``models._gather``: every row for None, ``take`` for integer indices (the
    copy NumPy makes fastest), else ``values[index]``."""
    if index is None:
        return values
    if isinstance(index, np.ndarray) and index.dtype.kind in "iu":
        return values.take(index, axis=0)
    return values[index]


class LazyArrayAdapter(ArrayAdapter):
    """Arrays read row by row from storage (``x`` lazily indexed; ``y`` and the weights
    lazily indexed or in memory): the same batch indices as :class:`ArrayAdapter`, so
    the same training bit for bit, the batches read (:func:`read_rows`) and checked
    (:func:`check_batch`) by ``LAZY_WORKERS`` reader threads, at most
    ``LAZY_QUEUE_SIZE`` batches ahead.  Rows ``start:stop`` only (validation_split
    holds out the last rows).

    fit's batches (index arrays) are read :meth:`group_size` at a time: one
    :func:`read_rows` per array and one check for the group, then cut into its batches.
    The step holds the GIL for its Python, and the readers' Python (indexing, checks,
    0.3-0.4 ms a read whatever its size) waits for it: read a batch at a time, the
    reader fell behind the step (``bench/data.py --gigabytes 0.5``, 2 cores: the memmap
    epoch 1.9-3.4x the in-memory one; 16 batches a read, 1.7-1.9x).  When the group the
    step needs next is not read yet, the training thread reads rows of it (and of the
    groups after it) beside the reader instead of waiting (:meth:`_help`,
    :class:`~nnlearn.data.fileread.SharedRows`).  The BLAS's threads are the plan's
    choice for the step's shapes (:func:`nnlearn.lowering.planner.step_threads`), never
    a choice made for the file: OpenBLAS rounds a product split over two threads
    differently, and holding it to one thread only beside the readers changed lesson
    10's weights' last bits.  A step of small products runs on one BLAS thread in memory
    and from a file alike, which leaves the other core to one reader (two readers beside
    it made the epoch of ``bench.data --gigabytes 1`` 3.3 s against 2.9-3.0 s with
    one)."""

    def __init__(self, model, x, y, weights, batch_size, shuffle=False, sequential=False,
                 start: int = 0, stop: int | None = None, class_weight=None):
        super().__init__(model, x, y, weights, batch_size, shuffle, sequential)
        self.start, self.stop = start, n_rows(x) if stop is None else stop
        self.class_weight = class_weight

    def __len__(self) -> int:
        return self.stop - self.start

    def _fetch(self, index, k: int, class_weight=None, x_rows=None):
        """Rows ``index`` of x, y and the weights, read and checked as batch k (its
        sample weights from ``class_weight`` when given); x's from ``x_rows`` when given
        (a :class:`~nnlearn.data.fileread.MemmapRows` of them)."""
        targets = self.y is not None
        try:
            x = x_rows.array() if x_rows is not None else \
                read_rows(self.x, index, self.start, self.stop)
            y = read_rows(self.y, index, self.start, self.stop) if targets else None
            w = None if self.weights is None else \
                read_rows(self.weights, index, self.start, self.stop)
        except Exception as err:  # noqa: BLE001  (any reader's error, with the batch)
            raise BatchError(f"{type(self.x).__name__}: batch {k}: reading rows failed: "
                             f"{type(err).__name__}: {err}", k) from err
        return check_batch(self.model, (x, y, w) if targets else x, k,
                           type(self.x).__name__, targets, class_weight)

    def group_size(self, batches) -> int:
        """How many consecutive batches one read gathers: as many as hold at most
        ``LAZY_READ_BYTES`` of x, at least 1, at most ``LAZY_QUEUE_SIZE`` shared by
        ``LAZY_WORKERS + 1`` reads (one per thread, one more ready); 1 for slices
        (evaluate and predict read consecutive rows, a few calls a batch) and for a
        single batch of every row."""
        if len(batches) <= 1 or not isinstance(batches[0], np.ndarray):
            return 1
        row = int(np.prod(self.x.shape[1:], dtype=np.int64)) * np.dtype(self.x.dtype).itemsize
        return int(max(1, min(LAZY_READ_BYTES // max(1, row * self.batch_size),
                              LAZY_QUEUE_SIZE // (LAZY_WORKERS + 1))))

    def _plan(self, batches, group: range) -> _Group:
        """Group ``group`` of ``batches`` ready to be read: its rows, and for x a
        :class:`~nnlearn.data.fileread.MemmapRows` other threads can help read when x's
        rows come from its file (the training thread, instead of waiting: :meth:`_help`)."""
        if len(group) == 1:
            return _Group(group, batches[group[0]], None)
        index = np.concatenate([np.asarray(batches[k], dtype=np.int64) for k in group])
        x_rows = None
        if isinstance(self.x, np.memmap):
            rows = _rows_in_range(index, self.start, self.stop)
            x_rows = fileread.memmap_rows(self.x, rows)
        return _Group(group, index, x_rows)

    def _fetch_group(self, batches, planned: _Group) -> list:
        """Batches ``planned.group`` read as one: their rows read together (one
        :func:`read_rows` per array) and checked together, then cut into the batches,
        so that the per-read work in Python (with the GIL, beside the training step) is
        paid once for the group.  Any error: the group again batch by batch, up to the
        first bad batch, which is in the list as its BatchError naming it."""
        group = planned.group
        if len(group) > 1:
            try:
                return self._read_together(batches, planned)
            except Exception:  # noqa: BLE001  (told batch by batch below, with its index)
                pass
        results = []
        for k in group:
            try:
                results.append(self._fetch(batches[k], k, self.class_weight))
            except BatchError as err:
                results.append(err)
                break
        return results

    def _read_together(self, batches, planned: _Group) -> list:
        group = planned.group
        cuts = np.cumsum([0, *(len(batches[k]) for k in group)]).tolist()
        # class weights: below, batch by batch
        x, y, w = self._fetch(planned.index, group[0], None, planned.x_rows)
        if self.class_weight is not None and w is not None:
            raise ValueError("sample weights and class_weight")  # the error, per batch
        results = []
        for begin, end in zip(cuts[:-1], cuts[1:]):
            yk = None if y is None else y[begin:end]
            wk = None if w is None else w[begin:end]
            if self.class_weight is not None and yk is not None:
                wk = self.model.class_sample_weights(yk, self.class_weight)
            results.append((x[begin:end], yk, wk))
        return results

    @staticmethod
    def _help(planned: _Group, later: list, ready) -> None:
        """While group ``planned`` is not ready, read rows of x for it and then for the
        groups after it, :data:`LAZY_HELP_ROWS` at a time (the training thread helping
        the reader: see :class:`~nnlearn.data.fileread.SharedRows`)."""
        for next_group in (planned, *later):
            if next_group.x_rows is None:
                continue
            while not ready():
                if not next_group.x_rows.reads.help(LAZY_HELP_ROWS):
                    break
            if ready():
                return

    def _batches(self, batches):
        size = self.group_size(batches)
        groups = (self._plan(batches, range(k, min(k + size, len(batches))))
                  for k in range(0, len(batches), size))
        ahead = max(1, min(LAZY_WORKERS + 2, LAZY_QUEUE_SIZE // size))  # reads
        reader = prefetch_indexed(lambda planned: self._fetch_group(batches, planned),
                                  groups, LAZY_WORKERS, ahead, self._help)
        try:
            for _, results in reader:
                for batch in results:
                    if isinstance(batch, BatchError):
                        raise batch
                    yield batch
        finally:
            reader.close()


class _Group(typing.NamedTuple):
    """Consecutive batches read together by :class:`LazyArrayAdapter`: their numbers,
    their rows, and x's rows to read from its file (or None)."""
    group: range
    index: object
    x_rows: fileread.MemmapRows | None


class PyDatasetAdapter(DataAdapter):
    """A :class:`PyDataset`: batches ``dataset[i]``, in order or (``shuffle``) in a
    permutation drawn from the epoch's seed, the first ``steps`` of them when given;
    read ahead by the dataset's ``workers`` threads, at most ``max_queue_size``."""

    def __init__(self, model, dataset, shuffle: bool, steps=None, targets: bool = True,
                 class_weight=None):
        try:
            count = len(dataset)
        except NotImplementedError:
            raise
        except Exception as err:  # noqa: BLE001
            raise TypeError(f"{type(dataset).__name__}.__len__ raised {type(err).__name__}: "
                            f"{err}") from err
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"{type(dataset).__name__}: len() must be a positive number of "
                             f"batches; got {count!r}")
        if steps is not None and steps > count:
            raise ValueError(f"steps={steps} is more than the {count} batches of the "
                             f"{type(dataset).__name__}")
        self.model, self.dataset, self.shuffle, self.targets = model, dataset, shuffle, targets
        self.count = int(count) if steps is None else steps
        self.size, self.class_weight = int(count), class_weight
        self.where = f"{type(dataset).__name__}"
        self.sample_shape = None

    def draws_random_numbers(self) -> bool:
        return self.shuffle or bool(self.model._random_layers())

    def fetch(self, k: int):
        """Batch k, read and checked (BatchError naming k otherwise)."""
        try:
            batch = self.dataset[k]
        except Exception as err:  # noqa: BLE001  (the user's code: any error, with its batch)
            raise BatchError(f"{self.where}: batch {k}: __getitem__ raised "
                             f"{type(err).__name__}: {err}", k) from err
        return check_batch(self.model, batch, k, self.where, self.targets, self.class_weight)

    def first_x(self) -> np.ndarray:
        # batch 0, read again in the epoch (Keras also reads a batch to build the model)
        return self.fetch(0)[0]

    def epoch(self, epoch_seed):
        order = np.random.default_rng(epoch_seed).permutation(self.size) if self.shuffle \
            else np.arange(self.size)
        keys = [int(k) for k in order[:self.count]]
        return self.count, self._batches(keys)

    def _batches(self, keys):
        reader = prefetch_indexed(self.fetch, keys, self.dataset.workers,
                                  self.dataset.max_queue_size)
        try:
            for _, batch in reader:
                yield batch
        finally:
            reader.close()

    def on_epoch_begin(self) -> None:
        self.dataset.on_epoch_begin()

    def on_epoch_end(self) -> None:
        self.dataset.on_epoch_end()


class IterableAdapter(DataAdapter):
    """A generator (any iterator) or a re-iterable object yielding batches.

    An iterator is read by one thread for the whole of ``fit`` (its items are used in
    order across epochs, ``steps`` per epoch; without ``steps`` the first epoch reads it
    to its end and a second one finds it exhausted: an error).  A re-iterable (a list,
    an object whose ``__iter__`` starts again) is iterated afresh each epoch, the first
    ``steps`` items or all of them.  An epoch that ends before ``steps`` batches is a
    :class:`BatchError` naming the batch that never came."""

    def __init__(self, model, source, steps=None, targets: bool = True, class_weight=None,
                 max_queue_size: int = 10, epochs: int = 1):
        self.model, self.source, self.steps, self.targets = model, source, steps, targets
        self.class_weight, self.max_queue_size = class_weight, max_queue_size
        self.shared = iter(source) is source  # an iterator: one reader for every epoch
        self.limit = None if steps is None else steps * (epochs if self.shared else 1)
        self.where = type(source).__name__
        self.reader = self.pending = None
        self.epochs_done, self.sample_shape = 0, None

    def _reader(self):
        if self.reader is None:
            iterator = self.source if self.shared else iter(self.source)
            self.reader = ReadAhead(iterator, self.max_queue_size, self.limit)
        return self.reader

    def _next(self, k: int):
        if self.pending is not None:
            item, self.pending = self.pending, None
            return item
        try:
            return self._reader().get()
        except Exception as err:  # noqa: BLE001  (the generator's own error, with its batch)
            raise BatchError(f"{self.where}: batch {k}: the generator raised "
                             f"{type(err).__name__}: {err}", k) from err

    def first_x(self) -> np.ndarray:
        # the first batch: kept, and given again as the epoch's first
        item = self._next(0)
        if item is ReadAhead.END:
            raise BatchError(f"{self.where}: batch 0: the generator yielded no batch", 0)
        self.pending = item
        return check_batch(self.model, item, 0, self.where, self.targets,
                           self.class_weight)[0]

    def epoch(self, epoch_seed):
        if self.count is None and self.shared and self.epochs_done:
            raise BatchError(f"{self.where}: batch 0 of epoch {self.epochs_done + 1}: the "
                             "generator was read to its end by the first epoch; give "
                             "steps_per_epoch, or an iterable that starts again (an object "
                             "whose __iter__ returns a new iterator)", 0)
        return self.count, self._batches()

    @property
    def count(self):
        """Batches per epoch: steps, a re-iterable's len, or None (unknown)."""
        if self.steps is not None:
            return self.steps
        if not self.shared and hasattr(self.source, "__len__"):
            return len(self.source)
        return None

    def _batches(self):
        k = 0
        try:
            while self.steps is None or k < self.steps:
                item = self._next(k)
                if item is ReadAhead.END:
                    if self.steps is not None:
                        raise BatchError(
                            f"{self.where}: batch {k}: the generator stopped after {k} "
                            f"batches of this epoch; steps_per_epoch={self.steps}", k)
                    if k == 0:
                        raise BatchError(f"{self.where}: batch 0: the iterable yielded no "
                                         "batch", 0)
                    break
                yield check_batch(self.model, item, k, self.where, self.targets,
                                  self.class_weight)
                k += 1
        finally:
            if not self.shared:
                self.close()

    def on_epoch_end(self) -> None:
        self.epochs_done += 1

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
            self.reader = None
