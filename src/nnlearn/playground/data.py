"""The playground's own data: three- to five-class generators and points from the page
(an uploaded CSV, points drawn by clicking).

The generators follow :mod:`nnlearn.datasets`' two-class ones (same plane [-6, 6]^2, same
noise scale 0 to 0.5, same ``random_state``); labels are the integers 0 .. classes - 1.
"""

from __future__ import annotations

import math
import os
import tempfile

import numpy as np

from ..datasets.tabular import load_table

MAX_UPLOAD_BYTES = 60 * 1024   # the CSV text sent by the page (a WebSocket message)
MAX_POINTS = 2000              # uploaded or drawn points, at most
MAX_CLASSES = 5
REGRESSION_MIN_DISTINCT = 11   # a numeric target with more distinct values is regression


def _rng(n_samples, noise, random_state):
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer; got {n_samples!r}")
    if not 0 <= noise <= 1:
        raise ValueError(f"noise must be in [0, 1]; got {noise!r}")
    return np.random.default_rng(random_state)


def _check_classes(classes):
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or \
            not 2 <= classes <= MAX_CLASSES:
        raise ValueError(f"classes must be 2 to {MAX_CLASSES}; got {classes!r}")


def make_spiral_arms(n_samples=200, classes=3, noise=0.0, random_state=None):
    """``classes`` interleaved spiral arms (arm k turned by 2 pi k / classes), each
    r = 5 i / m, t = 1.75 * 2 pi i / m, points (r sin t, r cos t) + U(-1, 1) noise; labels
    0 .. classes - 1, shuffled."""
    _check_classes(classes)
    rng = _rng(n_samples, noise, random_state)
    counts = [n_samples // classes + (k < n_samples % classes) for k in range(classes)]
    parts_X, parts_y = [], []
    for label, count in enumerate(counts):
        i = np.arange(count)
        r = i / max(count, 1) * 5
        t = 1.75 * i / max(count, 1) * 2 * np.pi + 2 * np.pi * label / classes
        parts_X.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1)
                       + rng.uniform(-1, 1, (count, 2)) * noise)
        parts_y.append(np.full(count, label))
    order = rng.permutation(n_samples)
    return np.concatenate(parts_X)[order], np.concatenate(parts_y)[order]


def make_blobs(n_samples=200, classes=3, noise=0.0, random_state=None):
    """``classes`` Gaussian clouds with centres on a circle of radius 3.5, standard
    deviation from 0.5 (noise 0) to 4 (noise 0.5) as ``make_gaussian``; labels
    0 .. classes - 1, shuffled."""
    _check_classes(classes)
    rng = _rng(n_samples, noise, random_state)
    y = np.arange(n_samples) % classes
    angle = 2 * np.pi * y / classes + np.pi / 4
    centres = 3.5 * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    spread = 0.5 + noise * (4 - 0.5) / 0.5
    X = rng.normal(centres, spread)
    order = rng.permutation(n_samples)
    return X[order], y[order]


# -- uploads ---------------------------------------------------------------------------------
class UploadError(ValueError):
    """An uploaded table that cannot be used (the message is shown on the page)."""


def parse_upload(text, x1, x2, target):
    """The points (n, 2) scaled into the plane, the targets and the task of a CSV's
    text: ``x1``, ``x2`` name its feature columns and ``target`` its label or numeric
    target column.  The file is read by :func:`nnlearn.datasets.tabular.load_table`
    (same checks, same messages).  Returns (X, y, task, class names or None)."""
    if not isinstance(text, str):
        raise UploadError("csv must be the file's text")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is too large ({size:,} bytes; at most "
                          f"{MAX_UPLOAD_BYTES:,})")
    if "\x00" in text:
        raise UploadError("the file is not a text CSV (it holds NUL bytes)")
    for name, value in (("x1", x1), ("x2", x2), ("target", target)):
        if not isinstance(value, str) or not value or len(value) > 200:
            raise UploadError(f"{name} must name a column of the file")
    if len({x1, x2, target}) < 3:
        raise UploadError("choose three different columns (x1, x2 and the target)")
    handle, path = tempfile.mkstemp(suffix=".csv", prefix="playground-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        try:
            table = load_table(path, target=target, features=[x1, x2])
        except ValueError as err:
            raise UploadError(" ".join(str(err).replace(path, "the file").split())[:280]) \
                from None
    finally:
        os.unlink(path)
    X, y = table.X, table.y
    if len(X) > MAX_POINTS:
        raise UploadError(f"the file has {len(X):,} rows; at most {MAX_POINTS:,}")
    if len(X) < 10:
        raise UploadError(f"the file has {len(X)} rows; at least 10 are needed")
    low, high = X.min(axis=0), X.max(axis=0)
    span = np.where(high - low > 1e-12, high - low, 1.0)
    X = (X - low) / span * 10 - 5           # into [-5, 5]^2, inside the plane shown
    distinct = np.unique(y)
    if y.dtype.kind in "US" or len(distinct) < REGRESSION_MIN_DISTINCT and \
            np.all(distinct == np.round(distinct)):
        if len(distinct) < 2:
            raise UploadError(f"the target column {target!r} holds one class "
                              f"({_label(distinct[0])}); at least two are needed")
        if len(distinct) > MAX_CLASSES:
            raise UploadError(f"the target column {target!r} holds {len(distinct)} classes; "
                              f"at most {MAX_CLASSES}")
        labels = np.searchsorted(distinct, y)
        return X, labels.astype(np.float32), "classification", [_label(d) for d in distinct]
    low, high = float(y.min()), float(y.max())
    scaled = (y - low) / (high - low) * 2 - 1 if high - low > 1e-12 else np.zeros_like(y)
    return X, scaled.astype(np.float32), "regression", None


def _label(value) -> str:
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and \
            float(value).is_integer():
        return str(int(value))
    return str(value)[:40]
