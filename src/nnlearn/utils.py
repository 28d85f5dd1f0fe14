"""Small helpers shared by users and the library."""

from __future__ import annotations

import numpy as np

__all__ = ["to_categorical"]


def to_categorical(y, num_classes: int | None = None, dtype="float32") -> np.ndarray:
    """One-hot rows for integer class labels (Keras's ``to_categorical``):
    label k becomes a row of zeros with a 1 at position k."""
    y = np.asarray(y)
    if y.ndim > 1 and y.shape[-1] == 1:
        y = y[..., 0]
    labels = y.astype(np.intp)
    if y.dtype.kind not in "iuf" or not np.array_equal(labels, y):
        raise ValueError(f"y must hold integer class labels; got dtype {y.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError(f"y: class labels must be >= 0; got {labels.min()}")
    n = int(labels.max()) + 1 if num_classes is None else int(num_classes)
    if labels.size and labels.max() >= n:
        raise ValueError(f"y: label {labels.max()} does not fit num_classes={n}")
    return np.eye(n, dtype=dtype)[labels]
