"""Tables from files: a CSV with a header row, or an ``.npz`` of arrays, read into
numeric features and a target (what ``nnlearn train``/``evaluate``/``predict`` read).

Only the standard library's ``csv`` module and NumPy are used.  Feature columns must be
numeric and finite; the target column may hold strings (class labels).  Column names
must be unique.  An .npz is read without unpickling, each array's header checked against
its size in the file before anything is allocated (see :mod:`nnlearn.models`); anything
wrong is a ValueError naming the file (and the column, line or array).
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import math
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


MAX_NPZ_BYTES = 8 * 2**30  # the arrays x and y of an .npz together, uncompressed
MAX_LINE_CHARS = 8 * 2**20  # one line of a CSV: its cells are parsed only within it


def load_table(path, target: str | None = None, features=None,
               require_target: bool = True) -> Table:
    """Read ``path`` (.csv with a header, or .npz) into a :class:`Table`.

    CSV: ``target`` names the target column; every other column (or only ``features``)
    is a feature and must be numeric (empty cells are refused).  With
    ``require_target=False`` a missing target column is allowed (files to predict on).
    NPZ: arrays ``x`` (or ``X``) and ``y``; ``target`` is not needed.

    Raises FileNotFoundError for a missing file and ValueError naming the column, row and
    value for anything else (an unknown column, with the closest names; a non-numeric,
    NaN or infinite feature; ragged rows; a column name given twice; a cell over the csv
    module's field limit; a line over MAX_LINE_CHARS characters; text that is not UTF-8).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    if path.suffix.lower() == ".npz":
        return _load_npz(path, features)
    if path.suffix.lower() not in (".csv", ".txt", ".tsv"):
        raise ValueError(f"{path}: expected a .csv or .npz file; got {path.suffix or 'no suffix'}")
    header, body, lines = _read_csv_rows(path)
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
                                 f"{lines[i]}: {_shown(cell)}); encode it as numbers or "
                                 "drop the column")
            if not math.isfinite(value):
                raise ValueError(f"{path}: feature column {name!r} holds {cell!r} (line "
                                 f"{lines[i]}); features must be finite numbers")
            X[i, j] = value
    y = None if target is None else _target_values(path, target, columns[target])
    return Table(X, y, list(features), target)


def _shown(cell: str) -> str:
    return repr(cell) if len(cell) <= 40 else repr(cell[:37]) + "..."


def _read_csv_rows(path: Path):
    """(header, rows, line number of each row) of a CSV with a header row; the
    delimiter is sniffed (, ; tab)."""
    rows, lines = [], []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            sample = f.read(4096)
            f.seek(0)
            try:
                dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
            except csv.Error:
                dialect = csv.excel
            reader = csv.reader(_bounded_lines(f, path), dialect)
            start = 1
            for row in reader:
                if any(cell.strip() for cell in row):
                    rows.append(row)
                    lines.append(start)
                start = reader.line_num + 1
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text (byte {err.object[err.start]:#04x} at "
                         f"offset {err.start} of a block); save it as UTF-8") from None
    except csv.Error as err:  # a field over the limit (128 KB), a NUL byte, ...
        raise ValueError(f"{path}, line {reader.line_num}: {err}") from None
    if len(rows) < 2:
        raise ValueError(f"{path}: expected a header row and at least one data row")
    header = [name.strip() for name in rows[0]]
    if all(_number(h) is not None for h in header):
        raise ValueError(f"{path}: the first row must be a header of column names; got "
                         f"numbers {header[:4]}")
    seen = {}
    for i, name in enumerate(header):
        if name in seen:
            raise ValueError(f"{path}: column {name!r} appears twice in the header (columns "
                             f"{seen[name] + 1} and {i + 1}); column names must be unique")
        seen[name] = i
    for row, line in zip(rows[1:], lines[1:]):
        if len(row) != len(header):
            raise ValueError(f"{path}, line {line}: {len(row)} values for {len(header)} "
                             "columns")
    return header, rows[1:], lines[1:]


def _bounded_lines(f, path: Path, piece: int = 65_536):
    """The lines of ``f``, each read with at most MAX_LINE_CHARS characters: a longer
    one (a file of a single 500 MB line) is refused before the csv module splits it
    into millions of cells.  A line is read in pieces of ``piece`` characters (a text
    file's ``readline(limit)`` with a limit of megabytes takes 20 times the limit)."""
    number = 0
    while True:
        pieces, size = [], 0
        while size <= MAX_LINE_CHARS:
            part = f.readline(piece)
            pieces.append(part)
            size += len(part)
            if not part or part.endswith("\n") or (part.endswith("\r") and len(part) < piece):
                break
        if not size:
            return
        number += 1
        if size > MAX_LINE_CHARS:
            raise ValueError(f"{path}, line {number}: longer than {MAX_LINE_CHARS:,} "
                             "characters, the most a line may hold; is it a CSV with one "
                             "row per line?")
        yield "".join(pieces)


def _target_values(path: Path, target: str, values: list) -> np.ndarray:
    """The target column as numbers when every cell is one, else as text labels."""
    if any(v == "" for v in values):
        raise ValueError(f"{path}: target column {target!r} has empty cells")
    numbers = [_number(v) for v in values]
    if all(n is not None for n in numbers):
        bad = next((v for v, n in zip(values, numbers) if not math.isfinite(n)), None)
        if bad is not None:
            raise ValueError(f"{path}: target column {target!r} holds {bad!r}; a numeric "
                             "target must be finite")
        return np.array(numbers, dtype=float)
    return np.array(values, dtype=str)


_PLAIN = (lambda s: True, "a plain dtype (no objects, no fields)")


def _load_npz(path: Path, features) -> Table:
    """x (or X) and y of an .npz, read without unpickling; every header is checked
    against its entry's size before anything is allocated."""
    from ..models.files import check_entry, npy_data, npy_header, open_zip

    kind = "NumPy .npz file"
    with open_zip(path, kind) as (archive, _, where):
        entries = {info.filename[:-4]: info for info in archive.infolist()
                   if info.filename.endswith(".npy")}
        key = "x" if "x" in entries else "X" if "X" in entries else None
        if key is None:
            raise ValueError(f"{path}: expected an array named 'x' (or 'X'); found "
                             f"{sorted(entries)[:10]}")
        headers = {}
        for name, kinds in ((key, "biuf"), ("y", "biufU")):
            info = entries.get(name)
            if info is None:
                continue
            check_entry(info, where)
            headers[name] = npy_header(archive, info, where, _PLAIN)
            dtype = headers[name].dtype
            if dtype.kind not in kinds or dtype.kind == "f" and dtype.itemsize > 8:
                raise ValueError(f"{path}: array {name!r} must be "
                                 f"{'numeric' if name == key else 'numbers or text'}; got "
                                 f"dtype {dtype}")
        total = sum(h.nbytes for h in headers.values())
        if total > MAX_NPZ_BYTES:
            raise ValueError(f"{path}: the arrays take {total:,} bytes; at most "
                             f"{MAX_NPZ_BYTES:,} are read")
        X, y = (npy_data(archive, headers[k], where, kind) if k in headers else None
                for k in (key, "y"))
    if X.ndim == 0 or len(X) == 0:
        raise ValueError(f"{path}: array {key!r} must hold at least one row; got shape "
                         f"{X.shape}")
    X = X.reshape(len(X), -1).astype(float)
    if X.shape[1] == 0:
        raise ValueError(f"{path}: array {key!r} has no features (shape {X.shape})")
    if not np.isfinite(X).all():
        raise ValueError(f"{path}: array {key!r} contains NaN or infinity")
    if y is not None:
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise ValueError(f"{path}: array 'y' must be one value per row; got shape "
                             f"{y.shape}")
        if len(y) != len(X):
            raise ValueError(f"{path}: 'x' has {len(X)} rows but 'y' has {len(y)}")
        if y.dtype.kind == "f" and not np.isfinite(y).all():
            raise ValueError(f"{path}: array 'y' contains NaN or infinity")
    names = list(features) if features is not None else [f"x{i}" for i in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise ValueError(f"{path}: array {key!r} has {X.shape[1]} features per row; "
                         f"expected {len(names)} ({', '.join(map(str, names[:5]))}...)")
    return Table(X, y, names, "y" if y is not None else None)
