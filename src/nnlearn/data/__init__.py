"""Data for ``Model.fit``, ``evaluate`` and ``predict`` beyond in-memory arrays.

``fit`` takes, in place of the arrays ``x, y``:

* a :class:`PyDataset` (Keras's), read batch by batch by ``workers`` threads;
* a generator or other iterable of batches ``(x, y)`` / ``(x, y, sample_weight)``,
  with ``steps_per_epoch``;
* a lazily indexed array: ``np.memmap``, ``h5py.Dataset``, a Zarr array, read a batch
  of rows at a time (the same batches, hence the same weights, as the array in memory);
* a Dask array (:mod:`nnlearn.data.dask`).

:mod:`nnlearn.data.adapters` turns each into an epoch's batches; every batch is read
ahead of the training step by a bounded pool of threads (:mod:`nnlearn.data.prefetch`)
and checked before it is used; a bad batch raises a :class:`BatchError` naming it.
See docs/data.md.
"""

from .adapters import is_lazy_array, kind_of, read_rows
from .dataset import PyDataset
from .prefetch import BatchError

__all__ = ["PyDataset", "BatchError", "is_lazy_array", "kind_of", "read_rows"]
