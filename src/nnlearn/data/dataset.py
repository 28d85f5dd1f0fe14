"""``PyDataset``: batches computed by Python code (Keras 3's ``keras.utils.PyDataset``,
formerly ``Sequence``).

Subclass it, call ``super().__init__(...)`` and define ``__len__`` (batches per epoch)
and ``__getitem__(index)`` returning one batch ``(x, y)`` or ``(x, y, sample_weight)``
(for ``predict``, ``x`` alone is enough)::

    class Images(nl.data.PyDataset):
        def __init__(self, paths, labels, batch_size, **kwargs):
            super().__init__(**kwargs)          # workers, max_queue_size
            self.paths, self.labels, self.batch_size = paths, labels, batch_size

        def __len__(self):
            return -(-len(self.paths) // self.batch_size)

        def __getitem__(self, index):
            rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
            return load(self.paths[rows]), self.labels[rows]

    model.fit(Images(paths, labels, 64, workers=4), epochs=10)

``fit`` asks for the batches of an epoch in order (or, with ``shuffle=True``, in an
order drawn from the fit's seed), up to ``max_queue_size`` of them ahead of the step,
on ``workers`` threads: ``__getitem__`` must therefore be safe to call from several
threads at once (reading files and slicing arrays is).  ``on_epoch_end`` is called
after every epoch (shuffle the samples there, say).
"""

from __future__ import annotations

from .prefetch import check_workers

__all__ = ["PyDataset"]


class PyDataset:
    """Base class of a data set read batch by batch by Python code.

    Parameters
    ----------
    workers : int
        Threads that read batches ahead of the training step (1 by default: reading
        overlaps the step); 0 reads each batch when it is needed, in the training thread.
    use_multiprocessing : bool
        Only False: batches are read in threads.  True raises a ValueError rather than
        being ignored (keras#21068 reports Keras ignoring it).
    max_queue_size : int
        The most batches read ahead and held in memory (10 by default).
    """

    def __init__(self, workers: int = 1, use_multiprocessing: bool = False,
                 max_queue_size: int = 10):
        self._workers, self._max_queue_size = check_workers(workers, max_queue_size,
                                                            use_multiprocessing)
        self._use_multiprocessing = False

    @property
    def workers(self) -> int:
        """Threads reading batches ahead (0: none)."""
        return getattr(self, "_workers", 1)

    @property
    def max_queue_size(self) -> int:
        """The most batches read ahead."""
        return getattr(self, "_max_queue_size", 10)

    @property
    def use_multiprocessing(self) -> bool:
        """Always False (see the class)."""
        return False

    def __len__(self) -> int:
        """The number of batches in an epoch."""
        raise NotImplementedError(f"{type(self).__name__} must define __len__")

    def __getitem__(self, index: int):
        """Batch ``index`` (0 <= index < len): ``(x, y)`` or ``(x, y, sample_weight)``."""
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def on_epoch_begin(self) -> None:
        """Called before every epoch."""

    def on_epoch_end(self) -> None:
        """Called after every epoch."""
