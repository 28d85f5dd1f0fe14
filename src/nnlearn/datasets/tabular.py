"""Tables from files: a CSV with a header row, or an ``.npz`` of arrays, read into
numeric features and a target (what ``nnlearn train``/``evaluate``/``predict`` read).

Only the standard library's ``csv`` module and NumPy are used.  Feature columns must be
numeric; the target column may hold strings (class labels).
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
from pathlib import Path

import numpy as np

__all__ = ["Table", "load_table"]


@dataclasses.dataclass
class Table:
    """``X`` (n, d) float64 features named ``feature_names``; ``y`` (n,) the target column
    (float64, or str labels) or None when the file has no target."""

    X: np.ndarray
    y: np.ndarray | None
    feature_names: list
    target_name: str | None


def _close(name, names) -> str:
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    return f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def _number(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def load_table(path, target: str | None = None, features=None,
               require_target: bool = True) -> Table:
    """Read ``path`` (.csv with a header, or .npz) into a :class:`Table`.

    CSV: ``target`` names the target column; every other column (or only ``features``)
    is a feature and must be numeric (empty cells are refused).  With
    ``require_target=False`` a missing target column is allowed (files to predict on).
    NPZ: arrays ``x`` (or ``X``) and ``y``; ``target`` is not needed.

    Raises FileNotFoundError for a missing file and ValueError naming the column, row and
    value for anything else (an unknown column, with the closest names; a non-numeric
    feature; ragged rows).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() == ".npz":
        return _load_npz(path, features)
    if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
        raise ValueError(f"{path}: expected a .csv or .npz file; got {path.suffix or 'no suffix'}")
    header, body = _read_csv_rows(path)
    if target is not None and target not in header:
        if require_target:
            raise ValueError(f"{path}: no column {target!r}.{_close(target, header)} "
                             f"Columns: {', '.join(header)}")
        target = None
    if features is None:
        features = [h for h in header if h != target]
    else:
        for name in features:
            if name not in header:
                raise ValueError(f"{path}: no feature column {name!r}.{_close(name, header)}")
    columns = {name: [row[i].strip() for row in body] for i, name in enumerate(header)}
    X = np.empty((len(body), len(features)))
    for j, name in enumerate(features):
        for i, cell in enumerate(columns[name]):
            value = _number(cell)
            if value is None:
                raise ValueError(f"{path}: feature column {name!r} is not numeric (line "
                                 f"{i + 2}: {cell!r}); encode it as numbers or drop the column")
            X[i, j] = value
    y = None if target is None else _target_values(path, target, columns[target])
    return Table(X, y, list(features), target)


def _read_csv_rows(path: Path):
    """(header, rows) of a CSV with a header row; the delimiter is sniffed (, ; tab)."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        sample = f.read(4096)
        f.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = [row for row in csv.reader(f, dialect) if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise ValueError(f"{path}: expected a header row and at least one data row")
    header = [name.strip() for name in rows[0]]
    if all(_number(h) is not None for h in header):
        raise ValueError(f"{path}: the first row must be a header of column names; got "
                         f"numbers {header[:4]}")
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {i}: {len(row)} values for {len(header)} columns")
    return header, rows[1:]


def _target_values(path: Path, target: str, values: list) -> np.ndarray:
    """The target column as numbers when every cell is one, else as text labels."""
    if any(v == "" for v in values):
        raise ValueError(f"{path}: target column {target!r} has empty cells")
    numbers = [_number(v) for v in values]
    if all(n is not None for n in numbers):
        return np.array(numbers, dtype=float)
    return np.array(values, dtype=str)


def _load_npz(path: Path, features) -> Table:
    with np.load(path, allow_pickle=False) as archive:
        keys = list(archive.keys())
        key = "x" if "x" in keys else "X" if "X" in keys else None
        if key is None:
            raise ValueError(f"{path}: expected an array named 'x' (or 'X'); found {keys}")
        X = np.asarray(archive[key])
        y = np.asarray(archive["y"]) if "y" in keys else None
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{path}: array {key!r} must be numeric; got dtype {X.dtype}")
    X = X.reshape(len(X), -1).astype(float)
    if y is not None and len(y) != len(X):
        raise ValueError(f"{path}: 'x' has {len(X)} rows but 'y' has {len(y)}")
    names = list(features) if features is not None else [f"x{i}" for i in range(X.shape[1])]
    return Table(X, y, names, "y" if y is not None else None)
