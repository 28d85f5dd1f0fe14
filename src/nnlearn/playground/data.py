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


def parse_upload(text, x1, x2, target, filename=None) -> dict:
    """The points of a CSV's text, ready for a session: ``x1``, ``x2`` name its feature
    columns and ``target`` its label or numeric target column; ``filename`` (the name
    the page read it from) names the file in the error messages.  The file is read by
    :func:`nnlearn.datasets.tabular.load_table` (same checks, same messages).

    Returns a dict: ``X`` (n, 2) scaled into [-5, 5]^2, ``y`` (class indices or targets
    scaled into [-1, 1]), ``task``, ``class_names`` (None for regression) and ``axes``
    (each feature column's name and the values at -5 and 5: the page labels its axes in
    the column's own units)."""
    shown = _file_name(filename)
    try:
        return _parse(text, x1, x2, target)
    except UploadError as err:
        raise UploadError(str(err).replace("the file", shown, 1)) from None


def _file_name(filename) -> str:
    """How messages name the uploaded file: its name quoted and shortened (control
    characters dropped), or "the file"."""
    if not isinstance(filename, str) or not filename.strip():
        return "the file"
    name = "".join(c for c in filename if c.isprintable() and not "\ud800" <= c <= "\udfff")
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if not name:
        return "the file"
    return repr(name if len(name) <= 60 else name[:57] + "...")


def _parse(text, x1, x2, target) -> dict:
    if not isinstance(text, str):
        raise UploadError("csv must be the file's text")
    bad = next((i for i, c in enumerate(text) if "\ud800" <= c <= "\udfff"), None) \
        if not text.isascii() else None
    if bad is not None:  # a lone surrogate (JSON can carry one; no UTF-8 file can)
        raise UploadError(f"the file is not valid text: character {bad + 1:,} is a lone "
                          "UTF-16 surrogate; save it as UTF-8 and upload it again")
    size = len(text.encode("utf-8"))
    if size > MAX_UPLOAD_BYTES:
        raise UploadError(f"the file is too large ({size:,} bytes; at most "
                          f"{MAX_UPLOAD_BYTES:,})")
    if "\x00" in text:
        raise UploadError("the file is not a text CSV (it holds NUL bytes)")
    for name, value in (("x1", x1), ("x2", x2), ("target", target)):
        if not isinstance(value, str) or not value or len(value) > 200:
            raise UploadError(f"{name} must name a column of the file")
        if any("\ud800" <= c <= "\udfff" for c in value):
            raise UploadError(f"{name} must name a column of the file (it holds a lone "
                              "surrogate)")
    if len({x1, x2, target}) < 3:
        raise UploadError("choose three different columns (x1, x2 and the target)")
    handle, path = tempfile.mkstemp(suffix=".csv", prefix="playground-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        try:
            table = load_table(path, target=target, features=[x1, x2])
        except ValueError as err:
            message = " ".join(str(err).replace(path, "the file").split())[:280]
            if "the file" not in message:
                message = f"the file: {message}"
            raise UploadError(message) from None
    finally:
        os.unlink(path)
    X, y = table.X, table.y
    if len(X) > MAX_POINTS:
        raise UploadError(f"the file has {len(X):,} rows; at most {MAX_POINTS:,}")
    if len(X) < 10:
        raise UploadError(f"the file has {len(X)} rows; at least 10 are needed")
    raw = np.asarray(X, dtype=np.float64)
    if not np.all(np.isfinite(raw)):
        raise UploadError(f"the file's feature columns {x1!r} and {x2!r} must hold finite "
                          "numbers")
    X = _into(raw, -5.0, 5.0)                 # into [-5, 5]^2, inside the plane shown
    axes = []
    for column, name in enumerate((x1, x2)):  # the column's values at -5 and at 5
        low, high = float(raw[:, column].min()), float(raw[:, column].max())
        if not high > low:
            low, high = low - 1.0, low + 1.0  # a constant column sits in the middle
        axes.append({"name": name, "low": low, "high": high})
    distinct = np.unique(y)
    if y.dtype.kind in "US" or len(distinct) < REGRESSION_MIN_DISTINCT and \
            np.all(distinct == np.round(distinct)):
        if len(distinct) < 2:
            raise UploadError(f"the file's target column {target!r} holds one class "
                              f"({_label(distinct[0])}); at least two are needed")
        if len(distinct) > MAX_CLASSES:
            raise UploadError(f"the file's target column {target!r} holds {len(distinct)} "
                              f"classes; at most {MAX_CLASSES}")
        labels = np.searchsorted(distinct, y)
        return {"X": X, "y": labels.astype(np.float32), "task": "classification",
                "class_names": [_label(d) for d in distinct], "axes": axes}
    y = np.asarray(y, dtype=np.float64)
    if not np.all(np.isfinite(y)):
        raise UploadError(f"the file's target column {target!r} must hold finite numbers")
    return {"X": X, "y": _into(y[:, None], -1.0, 1.0)[:, 0].astype(np.float32),
            "task": "regression", "class_names": None, "axes": axes}


def _into(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """Each column of ``values`` (finite) mapped linearly onto [low, high] (a constant
    column onto the middle).  Halved first, so that columns spanning -1e308 .. 1e308
    do not overflow to infinity (issue 32: such a file gave NaN points)."""
    half = values / 2
    lo, hi = half.min(axis=0), half.max(axis=0)
    span = hi - lo                      # at most max float: both halves are finite
    flat = ~(span > 1e-300)
    unit = (half - lo) / np.where(flat, 1.0, span)
    unit[:, flat] = 0.5
    return low + unit * (high - low)


def _label(value) -> str:
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and \
            float(value).is_integer():
        return str(int(value))
    return str(value)[:40]
