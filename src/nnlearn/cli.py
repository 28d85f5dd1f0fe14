"""The ``nnlearn`` command (needs the ``cli`` extra: ``pip install "nnlearn[cli]"``).

    nnlearn demo                               the main job: Chollet's (2017) MNIST network
    nnlearn experiments list                   the curriculum's experiments
    nnlearn experiments run NAME --out DIR     their figures (PNG) and numbers (JSON)
    nnlearn train DATA --target COL            train an MLP on a CSV/NPZ; writes a model
    nnlearn evaluate MODEL DATA                loss and metrics on labelled data
    nnlearn predict MODEL DATA [--out FILE]    predictions with the original labels
                                               (to standard output without --out)
    nnlearn export MODEL [--opset N] [-o OUT]  the model as an ONNX graph (onnx extra)
    nnlearn info [MODEL]                       architecture, training settings, data;
                                               without MODEL: versions, CPU, BLAS, kernels
    nnlearn playground [--port N]              the browser playground on 127.0.0.1

User mistakes (a missing file, an unknown column or option value, non-numeric data, a
hostile or damaged model file, an output path that cannot be written or that is one of
the inputs, a full or closed standard output, sizes over the bounds below, training
that diverged) end with one line ``Error: ...`` naming the file or the argument, and exit
status 2, never a traceback; a bug in nnlearn still shows its traceback.  Text taken
from a model or data file is printed with its control characters escaped (no terminal
escape sequences), and predicted labels that a spreadsheet would run as formulas
(``=cmd|...``) are written with a leading ``'``.

This module is long because it is the whole command line: one function per command, each
with the checks of its own inputs (a user's file is untrusted until checked), sharing the
output and error helpers at the top.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import json
import math
import os
import sys
import textwrap
import unicodedata
from pathlib import Path

import click
import numpy as np

USER_ERRORS = (ValueError, TypeError, FileNotFoundError, IsADirectoryError, PermissionError)


class UserError(click.ClickException):
    """A mistake in the command's input: one line on stderr, exit status 2."""

    exit_code = 2


def printable(text) -> str:
    """``text`` safe to show on a terminal: every control or format character (escape
    sequences, carriage returns, bells, newlines, right-to-left overrides) written as
    its Python escape (``\\x1b``, ``\\r``, ``\\u202e``), so that a name taken from a model
    file or a data file can neither move the cursor, clear the screen nor fake a line."""
    return "".join(ch if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp")
                   else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


class StandardOutputFailed(Exception):
    """Standard output could not be written (a full device, a closed pipe): ``run`` says
    so in one line, exit status 2."""

    def __init__(self, error: OSError):
        super().__init__(str(error))
        self.error = error


class _GuardedStdout:
    """Standard output as every command sees it (``run`` puts it in place): a write or
    flush that fails (a full device, a closed pipe), be it from nnlearn's text or from a
    progress bar, raises :class:`StandardOutputFailed`; everything else is the stream's."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except OSError as err:
            raise StandardOutputFailed(err) from None

    def flush(self):
        try:
            self._stream.flush()
        except OSError as err:
            raise StandardOutputFailed(err) from None

    def __getattr__(self, name):  # isatty, fileno, encoding, ...
        return getattr(self._stream, name)


def say(text="", **kwargs) -> None:
    """click.echo of nnlearn's own text; a failed write to standard output (a full
    device, a closed pipe) raises :class:`StandardOutputFailed`."""
    try:
        click.echo(text, **kwargs)
    except OSError as err:
        if kwargs.get("err"):
            raise
        raise StandardOutputFailed(err) from None


def echo(text="") -> None:
    """One line holding text from a model or data file: :func:`say` of its
    :func:`printable` form (control characters escaped, newlines included)."""
    say(printable(text))


def user_errors(function):
    """Turn the library's input errors into :class:`UserError` (one line, printable)."""
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except USER_ERRORS as err:
            raise UserError(printable(" ".join(str(err).split()))) from None
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]},
             invoke_without_command=True)
@click.version_option(package_name="nnlearn")
@click.pass_context
def main(ctx):
    """nnlearn: the classic neural-network curriculum on NumPy."""
    if ctx.invoked_subcommand is None:  # plain `nnlearn`: the help, not an error
        say(ctx.get_help())


# -- demo -------------------------------------------------------------------------------------
@main.command()
@click.option("--epochs", default=5, show_default=True, type=click.IntRange(min=1))
@click.option("--batch-size", default=128, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--verbose", default=1, show_default=True, type=click.IntRange(0, 2))
@user_errors
def demo(epochs, batch_size, seed, verbose):
    """Train Chollet's (2017) MNIST network (784-512-10, RMSprop); print its test accuracy."""
    from .demo import main as demo_main

    demo_main(epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose)


# -- experiments ------------------------------------------------------------------------------
@main.group()
def experiments():
    """The curriculum's experiments: list them, run one."""


@experiments.command("list")
def experiments_list():
    """Every experiment, grouped by lesson: what it shows, what to notice, its sources."""
    import shutil

    from .experiments import by_lesson

    groups = by_lesson()
    width = max(len(e.name) for _, _, group in groups for e in group)
    columns = min(shutil.get_terminal_size((100, 24)).columns, 100)
    indent = " " * (width + 4)

    def fill(text, first=indent):
        say(textwrap.fill(text, columns, initial_indent=first,
                          subsequent_indent=indent))

    for number, title, group in groups:
        click.secho(f"Lesson {number}: {title}" if number else title, bold=True)
        for e in group:
            fill(e.description, first=f"  {e.name:<{width}}  ")
            if e.notice:
                fill(f"What to notice: {e.notice}")
            fill(f"[{e.source}]")
        say()


@experiments.command("run")
@click.argument("name")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Directory for the PNGs and numbers.json [default: ./experiments/NAME].")
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--quick", is_flag=True, help="Reduced sizes (seconds instead of minutes).")
@click.option("--no-plots", is_flag=True, help="Numbers only (no matplotlib needed).")
@user_errors
def experiments_run(name, out_dir, seed, quick, no_plots):
    """Run experiment NAME; write its figures and numbers and print a summary."""
    from . import experiments as registry

    registry.get(name)  # an unknown name fails before anything runs
    plots = not no_plots
    if plots:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            click.echo('matplotlib is not installed: writing numbers only (pip install '
                       'matplotlib, nnlearn\'s plot extra, for the figures)', err=True)
            plots = False
    result = registry.run(name, seed=seed, quick=quick, plots=plots)
    paths = result.save(out_dir or Path("experiments") / name)
    say(result.summary())
    say(textwrap.fill(f"What to notice: {registry.get(name).notice}", 100))
    say(f"wrote {len(paths)} file{'' if len(paths) == 1 else 's'} to {paths[0].parent}: "
        + ", ".join(p.name for p in paths))


# -- train / evaluate / predict / info ---------------------------------------------------------
TRAIN_DEFAULTS = {"hidden": [32, 32], "activation": "relu", "optimizer": "adam",
                  "learning_rate": None, "epochs": 50, "batch_size": 32, "task": "auto",
                  "validation_split": 0.1, "l2": 0.0, "dropout": 0.0, "seed": 0}


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        math.isfinite(value)


def _is_int(value, low=None) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and \
        (low is None or value >= low)


# what each option of a --config file may hold: (test, what it expects in words)
CONFIG_TYPES = {
    "hidden": (lambda v: isinstance(v, str) or (isinstance(v, list) and v and
                                               all(_is_int(n, 1) for n in v)),
               "a list of positive integers (or a string like \"64,32\")"),
    "activation": (lambda v: isinstance(v, str), "a name"),
    "optimizer": (lambda v: isinstance(v, str), "a name"),
    "learning_rate": (lambda v: v is None or (_is_number(v) and v > 0), "a positive number"),
    "epochs": (lambda v: _is_int(v, 1), "a positive integer"),
    "batch_size": (lambda v: _is_int(v, 1), "a positive integer"),
    "task": (lambda v: v in ("auto", "classification", "regression"),
             "auto, classification or regression"),
    "validation_split": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "l2": (lambda v: _is_number(v) and v >= 0, "a non-negative number"),
    "dropout": (lambda v: _is_number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "seed": (lambda v: _is_int(v, 0), "a non-negative integer"),
}


def _read_config(path) -> dict:
    """A JSON (or, on Python >= 3.11, TOML) file of train options, e.g.
    ``{"hidden": [64, 32], "activation": "tanh", "epochs": 100}``; each option is
    checked (ValueError naming the file and the option)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValueError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except FileNotFoundError:
        raise FileNotFoundError(f"--config: no such file: {path}") from None
    except OSError as err:
        raise ValueError(f"--config {path}: cannot read it ({err.strerror or err})") from None
    try:
        if str(path).endswith(".toml"):
            import tomllib

            config = tomllib.loads(text)
        else:
            config = json.loads(text)
    except RecursionError:
        raise ValueError(f"{path}: nested too deeply") from None
    except ValueError as err:  # JSONDecodeError, TOMLDecodeError, too many digits
        kind = "TOML" if str(path).endswith(".toml") else "JSON"
        raise ValueError(f"{path}: not valid {kind} ({err})") from None
    if not isinstance(config, dict):
        raise ValueError(f"{path}: expected an object of options like {{\"epochs\": 100}}; "
                         f"got {'null' if config is None else type(config).__name__}")
    config = {str(key).replace("-", "_"): value for key, value in config.items()}
    unknown = sorted(set(config) - set(TRAIN_DEFAULTS))
    if unknown:
        raise ValueError(f"{path}: unknown option(s) {unknown}; known: "
                         f"{sorted(TRAIN_DEFAULTS)}")
    for key, value in config.items():
        test, expected = CONFIG_TYPES[key]
        if not test(value):
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise ValueError(f"{path}: option {key!r} must be {expected}; got {shown}")
    return config


# Sizes a command line can ask for, bounded before anything is allocated: a layer of
# 10**12 units would otherwise end in a MemoryError traceback.
MAX_UNITS = 1_000_000           # units in one hidden layer
MAX_WEIGHTS = 50_000_000        # weights of the whole network (200 MB in float32)


def _hidden_sizes(value) -> list:
    """The hidden layer sizes of ``--hidden`` (a string like "64,32" or a list): at
    least one, each a positive integer of at most MAX_UNITS."""
    given = value
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", "").split(",") if p]
        try:
            value = [int(p) for p in parts]
        except ValueError:
            raise ValueError(f"--hidden: expected comma-separated layer sizes like 64,32; got "
                             f"{value!r}") from None
    if not value:
        raise ValueError(f"--hidden: expected at least one layer size, like 64 or 64,32; got "
                         f"{given!r}")
    if not all(isinstance(n, int) and n >= 1 for n in value):
        raise ValueError(f"--hidden: layer sizes must be positive integers; got {value!r}")
    if max(value) > MAX_UNITS:
        raise ValueError(f"--hidden: a layer may have at most {MAX_UNITS:,} units; got "
                         f"{max(value):,}")
    return list(value)


def _check_weights(n_inputs: int, hidden: list, n_outputs: int) -> None:
    """Refuse a network of more than MAX_WEIGHTS weights before building it."""
    sizes = [n_inputs, *hidden, n_outputs]
    weights = sum((a + 1) * b for a, b in zip(sizes, sizes[1:]))
    if weights > MAX_WEIGHTS:
        raise ValueError(f"--hidden {','.join(map(str, hidden))}: the network "
                         f"{'-'.join(map(str, sizes))} would have {weights:,} weights; at "
                         f"most {MAX_WEIGHTS:,} are allowed")


def _check_manifest_size(path, metadata: dict, n_features: int) -> None:
    """Refuse, before training, data whose feature names and scaling would not fit in a
    model file's manifest (``nnlearn.models.files.MAX_MANIFEST_BYTES``): the model could be
    trained but never saved."""
    from .models.files import MAX_MANIFEST_BYTES

    size = len(json.dumps(metadata).encode()) + 64 * 1024  # + the architecture, arrays
    if size > MAX_MANIFEST_BYTES:
        raise ValueError(f"{path}: {n_features:,} feature columns: their names and scaling "
                         f"take {size:,} bytes of the model file's manifest, which holds at "
                         f"most {MAX_MANIFEST_BYTES:,}; select fewer columns")


def _infer_task(y) -> str:
    if y.dtype.kind in "US":
        return "classification"
    integral = np.all(np.mod(y, 1) == 0)
    return "classification" if integral and len(np.unique(y)) <= 20 else "regression"


MAX_SCAN_BYTES = 32 * 2**20  # rows of a .npy read at once to compute the scaling


class NpyFeatures:
    """The feature columns of a 2-D ``.npy`` file opened memory-mapped (every column but
    the target), read a batch of rows at a time: a lazily indexed array
    (:func:`nnlearn.data.is_lazy_array`), so ``fit`` never holds the whole file.
    ``scaled(mean, scale)`` is the same, standardised, in float32."""

    def __init__(self, array, columns, mean=None, scale=None, dtype=np.float32):
        self.array, self.columns = array, np.asarray(columns)
        self.mean, self.scale = mean, scale
        self.shape = (array.shape[0], len(self.columns))
        self.dtype = np.dtype(dtype) if mean is not None else np.dtype(np.float64)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows):
        from .data import read_rows  # from the file, not through the mapping (no RSS)

        block = np.asarray(read_rows(self.array, rows), np.float64)[:, self.columns]
        if self.mean is None:
            return block
        return ((block - self.mean) / self.scale).astype(self.dtype)

    def scaled(self, mean, scale, dtype=np.float32) -> "NpyFeatures":
        """The same columns, standardised: ``(x - mean) / scale`` in ``dtype``."""
        return NpyFeatures(self.array, self.columns, mean, scale, dtype)

    def chunks(self):
        """(first row, block) over the whole file, MAX_SCAN_BYTES at a time."""
        step = max(1, MAX_SCAN_BYTES // max(1, self.array.shape[1] * 8))
        for start in range(0, len(self), step):
            yield start, self[start:start + step]

    def _check_finite(self, start, block) -> None:
        if not np.isfinite(block).all():
            row, column = (int(i) for i in np.argwhere(~np.isfinite(block))[0])
            raise ValueError(f"feature column {self.columns[column]} holds "
                             f"{block[row, column]} at row {start + row}; features "
                             "must be finite numbers")

    def check_scaled(self, path, dtype) -> None:
        """One pass over the file, MAX_SCAN_BYTES at a time: every feature finite and,
        standardised, within the range of ``dtype``; ValueError naming the column and
        the row otherwise (as for a CSV file)."""
        largest = np.finfo(dtype).max
        for start, block in NpyFeatures(self.array, self.columns).chunks():
            self._check_finite(start, block)
            with np.errstate(over="ignore"):
                scaled = (block - self.mean) / self.scale
            beyond = ~(np.abs(scaled) <= largest)
            if beyond.any():
                row, column = (int(i) for i in np.argwhere(beyond)[0])
                raise ValueError(f"{path}: column column_{self.columns[column]}, row "
                                 f"{start + row}: {block[row, column]:g} is "
                                 f"{scaled[row, column]:g} (standardised as the model was "
                                 f"trained), beyond the range of the model's "
                                 f"{np.dtype(dtype).name} (largest {largest:.3g})")

    def standardisation(self):
        """(mean, scale) of each column (StandardScaler's: the standard deviation, 1
        where it is 0), in one pass merging the chunks' means and sums of squared
        deviations (Chan, Golub & LeVeque 1983); ValueError naming the row and column of
        a value that is not finite."""
        n, mean, m2 = 0, np.zeros(self.shape[1]), np.zeros(self.shape[1])
        for start, block in self.chunks():
            self._check_finite(start, block)
            b = len(block)
            block_mean = block.mean(axis=0)
            block_m2 = ((block - block_mean) ** 2).sum(axis=0)
            delta = block_mean - mean
            mean = mean + delta * b / (n + b)
            m2 = m2 + block_m2 + delta ** 2 * n * b / (n + b)
            n += b
        std = np.sqrt(m2 / n)
        return mean, np.where(std > 0, std, 1.0)


def load_npy(path, target=None):
    """A :class:`nnlearn.datasets.tabular.Table` of a 2-D numeric ``.npy`` file (no
    pickles), opened memory-mapped: the target is column ``target`` (an integer, negative
    from the end; the last column when None), read into memory; the features
    (:class:`NpyFeatures`) stay in the file and are named ``column_<i>``."""
    from .datasets.tabular import Table

    array = _open_npy(path, 2, " (features and the target)")
    d = array.shape[1]
    try:
        column = -1 if target is None else int(target)
    except ValueError:
        raise ValueError(f"--target: a .npy file has no column names; give the target's "
                         f"column number (0 to {d - 1}, or -1 for the last); got "
                         f"{target!r}") from None
    if not -d <= column < d:
        raise ValueError(f"--target {target}: {path} has {d} columns (0 to {d - 1})")
    column %= d
    y = _npy_column(array, column)
    if not np.isfinite(y).all():
        raise ValueError(f"{path}: the target column {column} holds "
                         f"{y[~np.isfinite(y)][0]} at row {int(np.argmin(np.isfinite(y)))}")
    columns = [j for j in range(d) if j != column]
    return Table(NpyFeatures(array, columns), y, [f"column_{j}" for j in columns],
                 f"column_{column}")


def _open_npy(path, at_least: int = 1, what: str = ""):
    """A 2-D numeric ``.npy`` file of ``at_least`` rows and columns, opened
    memory-mapped (no pickles); ValueError naming the file otherwise."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no such file: {path}")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as err:
        raise ValueError(f"{path}: not a readable .npy array ({err})") from None
    if array.ndim != 2 or min(array.shape) < at_least:
        raise ValueError(f"{path}: expected a 2-D array of at least {at_least} rows and "
                         f"{at_least} columns{what}; got shape {array.shape}")
    if array.dtype.kind not in "iuf":
        raise ValueError(f"{path}: expected numbers; got dtype {array.dtype}")
    return array


def _npy_column(array, column: int) -> np.ndarray:
    """One column of a memory-mapped 2-D array, in float64, read from the file
    MAX_SCAN_BYTES of rows at a time (:func:`nnlearn.data.read_rows`: a column read
    through the mapping would map every page of the file into the process)."""
    from .data import read_rows

    step = max(1, MAX_SCAN_BYTES // max(1, array.shape[1] * array.itemsize))
    return np.concatenate([np.asarray(read_rows(array, slice(start, start + step))[:, column],
                                      np.float64) for start in range(0, len(array), step)])


def _column_number(name):
    """j for a column named ``column_<j>`` (a .npy file's), else None."""
    prefix, _, number = str(name).partition("_")
    return int(number) if prefix == "column" and number.isdigit() else None


def load_npy_for(model, path, require_target: bool):
    """The :class:`~nnlearn.datasets.tabular.Table` of a ``.npy`` file to evaluate or
    predict with ``model``, opened memory-mapped: its features (:class:`NpyFeatures`,
    read a batch at a time) and, when the file has it, its target column.  A model
    trained on a ``.npy`` file (features ``column_<j>``) takes a file of the same
    layout; any other model takes its features in its order, then the target (last).
    For predict, a file of the feature columns only is taken too."""
    from .datasets.tabular import Table

    array = _open_npy(path)
    meta = model.metadata
    n_inputs = int(np.prod(model.input_shape))
    features = meta.get("features") or [f"column_{j}" for j in range(n_inputs)]
    target = meta.get("target")
    columns = [_column_number(f) for f in features]
    target_column = _column_number(target) if target is not None else \
        max((c for c in columns if c is not None), default=-1) + 1  # after the features
    if None in columns or target_column is None:
        columns, target_column = list(range(len(features))), len(features)
        layout = f"the model's {len(features)} features in its order, then the target"
    else:
        layout = f"features at columns {columns}, the target at {target_column}"
    d = array.shape[1]
    if d > max(columns + [target_column]):
        y = _npy_column(array, target_column)
        if not np.isfinite(y).all():
            raise ValueError(f"{path}: the target column {target_column} holds "
                             f"{y[~np.isfinite(y)][0]} at row "
                             f"{int(np.argmin(np.isfinite(y)))}")
        return Table(NpyFeatures(array, columns), y, list(features), target)
    if d > max(columns) and not require_target:  # the training layout, no target column
        return Table(NpyFeatures(array, columns), None, list(features), None)
    if d == len(features) and not require_target:  # the features only, in order
        return Table(NpyFeatures(array, range(d)), None, list(features), None)
    needs = "" if require_target else f" (or only the {len(features)} feature columns)"
    raise ValueError(f"{path}: {d} columns; the model takes {layout}{needs}")


def train_model(table, hidden=(32, 32), activation="relu", optimizer="adam",
                learning_rate=None, epochs=50, batch_size=32, task="auto",
                validation_split=0.1, l2=0.0, dropout=0.0, seed=0, verbose=0, path="data"):
    """An MLP for ``table`` (a :class:`nnlearn.datasets.tabular.Table`): standardised
    inputs, ``hidden`` layers of ``activation``, softmax over the classes (classification)
    or a linear output (regression).  The scaling, feature names and class labels go in
    ``model.metadata``.  Sizes are checked before anything is built (at most MAX_UNITS
    units a layer, MAX_WEIGHTS weights, a manifest that fits a model file; ``path``
    names the data in the message).  Training stops when the loss grows past 3 times
    its value before the first update (:class:`nnlearn.callbacks.DivergenceGuard`);
    ValueError then.  Returns (model, history)."""
    from . import optimizers, regularizers
    from .callbacks import DivergenceGuard
    from .models import mlp
    from .preprocessing import StandardScaler

    if table.y is None:
        raise ValueError("the data has no target column (name it with --target)")
    task = _infer_task(table.y) if task == "auto" else task
    if task not in ("classification", "regression"):
        raise ValueError(f"--task must be auto, classification or regression; got {task!r}")
    if task == "regression" and table.y.dtype.kind in "US":
        raise ValueError(f"target column {table.target_name!r} holds text; it cannot be a "
                         "regression target")
    if isinstance(table.X, NpyFeatures):  # read from the file a batch at a time
        mean, scale = table.X.standardisation()
        x = table.X.scaled(mean, scale)
    else:
        scaler = StandardScaler().fit(table.X)
        x = scaler.transform(table.X).astype(np.float32)
        mean, scale = scaler.mean_, scaler.scale_
    metadata = {"task": task, "features": table.feature_names, "target": table.target_name,
                "scaler": {"mean": mean.tolist(), "scale": scale.tolist()}}
    if task == "classification":
        classes, y = np.unique(table.y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(f"target column {table.target_name!r} has a single class "
                             f"{classes[0]!r}; nothing to learn")
        if classes.dtype.kind == "f" and np.all(np.abs(classes) < 2.0**53) \
                and np.array_equal(classes, np.round(classes)):   # (NaN and inf fail both)
            classes = classes.astype(np.int64)  # a CSV's 0/1 labels, read as numbers: 0, 1
        metadata["classes"] = classes.tolist()
        outputs, output_activation = len(classes), "softmax"
        loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
    else:
        y = table.y.astype(np.float32)
        outputs, output_activation = 1, None
        loss, metrics = "mse", ["mae"]
    hidden = _hidden_sizes(hidden)
    _check_weights(x.shape[1], hidden, outputs)
    _check_manifest_size(path, metadata, x.shape[1])
    model = mlp(x.shape[1], hidden, outputs, activation=activation,
                output_activation=output_activation,
                kernel_regularizer=regularizers.L2(l2) if l2 else None, dropout=dropout,
                seed=seed, name="sequential")
    config = {} if learning_rate is None else {"learning_rate": float(learning_rate)}
    opt = optimizers.get({"class_name": optimizer, "config": config}, "--optimizer")
    model.compile(optimizer=opt, loss=loss, metrics=metrics)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        history = model.fit(x, y, epochs=epochs, batch_size=batch_size,
                            validation_split=validation_split if len(x) >= 20 else 0.0,
                            seed=seed, verbose=verbose, callbacks=[DivergenceGuard(3.0)])
    metadata["epochs"] = len(history.history["loss"])
    model.metadata = metadata
    _check_converged(model, history, learning_rate)
    return model, history


def _check_converged(model, history, learning_rate) -> None:
    """ValueError when training diverged: the loss grew past 3 times its value before
    the first update (DivergenceGuard stopped it), or a loss or a weight is NaN or
    infinite."""
    from .callbacks import StopKind

    losses = [v for key, values in history.history.items() if key.endswith("loss")
              for v in values]
    finite = all(math.isfinite(v) for v in losses) and \
        all(np.isfinite(w).all() for w in model.get_weights())
    reason = model.stop_reason
    diverged = reason is not None and reason.kind is StopKind.DIVERGED
    if finite and not diverged:
        return
    if diverged:  # "the loss grew from X to Y (more than 3x ...)"
        why = str(reason).removeprefix("training diverged: ").split("; the learning")[0]
    else:
        why = "the loss or the weights became NaN or infinite"
    rate = f"{learning_rate:g}" if learning_rate is not None else "the optimizer's default"
    raise ValueError(f"training diverged: {why}; nothing was saved. Try a smaller "
                     f"--learning-rate (this run used {rate}) or standardised data")


def _model_inputs(model, table, path) -> np.ndarray:
    """The features as the model was trained on them: standardised by the scaler that
    ``train`` saved (``_table_for`` already put the columns in the model's order), in
    the model's dtype; ValueError naming the column and the row of a value that the
    dtype cannot hold (1e39 in float32)."""
    scaler = model.metadata.get("scaler")
    x = table.X
    if isinstance(x, NpyFeatures):  # standardised a batch at a time as fit reads it
        d = x.shape[1]
        x = x.scaled(np.array(scaler["mean"]) if scaler else np.zeros(d),
                     np.array(scaler["scale"]) if scaler else np.ones(d), model.dtype)
        x.check_scaled(path, model.dtype)
        return x
    if scaler is not None:
        with np.errstate(over="ignore", invalid="ignore"):
            x = (x - np.array(scaler["mean"])) / np.array(scaler["scale"])
    largest = np.finfo(model.dtype).max
    with np.errstate(invalid="ignore"):
        beyond = ~(np.abs(x) <= largest)
    if beyond.any():
        row, column = (int(i) for i in np.argwhere(beyond)[0])
        scaled = " (standardised as the model was trained)" if scaler is not None else ""
        raise ValueError(f"{path}: column {table.feature_names[column]!r}, row {row + 1}: "
                         f"{table.X[row, column]:g} is {x[row, column]:g}{scaled}, beyond "
                         f"the range of the model's {np.dtype(model.dtype).name} (largest "
                         f"{largest:.3g})")
    return x.astype(model.dtype)


def _load(model_path):
    from .models import load_model

    if not os.path.lexists(model_path):
        raise FileNotFoundError(f"no such model file: {model_path}")
    model = load_model(model_path)  # refuses a directory, a FIFO, a device
    if len(getattr(model, "inputs", "x")) != 1 or len(getattr(model, "outputs", "y")) != 1:
        raise ValueError(f"{model_path}: the model has {len(model.inputs)} inputs and "
                         f"{len(model.outputs)} outputs; the command line runs models of one "
                         "input and one output (call predict in Python)")
    if not model.built:
        raise ValueError(f"{model_path}: the model was saved before it was built (no input "
                         "shape, no weights); it cannot be used on data")
    _check_metadata(model, model_path)
    return model


def _check_metadata(model, path) -> None:
    """The metadata the commands use (written by ``nnlearn train`` or the playground),
    checked: ValueError naming the file and the field."""
    meta = model.metadata

    def refuse(field, expected):
        raise ValueError(f"{path}: metadata.{field} must be {expected}; got "
                         f"{str(meta.get(field))[:40]!r}")

    features = meta.get("features")
    if features is not None and not (isinstance(features, list)
                                     and all(isinstance(f, str) for f in features)):
        refuse("features", "a list of column names")
    n_inputs = int(np.prod(model.input_shape)) if model.input_shape else None
    if features is not None and n_inputs is not None and len(features) != n_inputs:
        refuse("features", f"{n_inputs} column names (the model's inputs)")
    if meta.get("target") is not None and not isinstance(meta["target"], str):
        refuse("target", "a column name")
    if meta.get("task") not in (None, "classification", "regression"):
        refuse("task", "classification or regression")
    if meta.get("task") == "classification":
        classes = meta.get("classes")
        if not (isinstance(classes, list) and len(classes) == model.output_units and
                all(isinstance(c, (str, int, float)) and not isinstance(c, bool)
                    for c in classes)):
            refuse("classes", f"a list of {model.output_units} labels (the model's outputs)")
    scaler = meta.get("scaler")
    if scaler is not None:
        ok = isinstance(scaler, dict) and set(scaler) == {"mean", "scale"} and all(
            isinstance(scaler[k], list) and len(scaler[k]) == n_inputs
            and all(_is_number(v) for v in scaler[k]) for k in ("mean", "scale")) and \
            all(v != 0 for v in scaler["scale"])
        if not ok:
            refuse("scaler", f"{{'mean': [...], 'scale': [...]}} of {n_inputs} numbers each "
                             "(non-zero scales)")


def _writable(option: str, path) -> None:
    """Refuse an output path that cannot be written, before any work is done."""
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ValueError(f"{option} {path}: is a directory")
    if not parent.is_dir():
        raise ValueError(f"{option} {path}: {parent} is not a directory")
    if path.exists() and not os.access(path, os.W_OK) or \
            path.exists() and not path.stat().st_mode & 0o222:
        raise ValueError(f"{option} {path}: the file is read-only")


def _not_an_input(option: str, path, inputs: dict) -> None:
    """Refuse an output path that is one of the command's inputs (``{what: path}``), also
    through a link, before any work is done: writing it would destroy the input."""
    if not os.path.exists(path):
        return
    for what, other in inputs.items():
        try:
            same = other is not None and os.path.samefile(path, other)
        except OSError:  # the input does not exist: its own check says so
            same = False
        if same:
            raise ValueError(f"{option} {path}: is {what} ({other}); writing it would "
                             "overwrite it. Name another file")


def _write_error(option: str, path, err: OSError) -> ValueError:
    return ValueError(f"{option} {path}: cannot write it ({err.strerror or err})")


def _table_for(model, data, require_target):
    from .datasets.tabular import load_table

    if str(data).lower().endswith(".npy"):
        return load_npy_for(model, data, require_target)
    meta = model.metadata
    return load_table(data, target=meta.get("target"), require_target=require_target,
                      features=meta.get("features"))


@main.command()
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--target", help="Name of the target column (CSV); its number (NPY, default "
              "the last).")
@click.option("--out", "out_path", default="model.nnlearn", show_default=True,
              type=click.Path(dir_okay=False), help="Where to write the trained model.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False),
              help="JSON/TOML file of the options below; the command line overrides it.")
@click.option("--hidden", help="Hidden layer sizes, e.g. 64,32 [default: 32,32].")
@click.option("--activation", help="Hidden activation [default: relu].")
@click.option("--optimizer", help="sgd, rmsprop, adam, ... [default: adam].")
@click.option("--learning-rate", type=float, help="[default: the optimizer's]")
@click.option("--epochs", type=click.IntRange(min=1), help="[default: 50]")
@click.option("--batch-size", type=click.IntRange(min=1), help="[default: 32]")
@click.option("--task", type=click.Choice(["auto", "classification", "regression"]),
              help="[default: auto: text or few integer labels mean classification]")
@click.option("--validation-split", type=click.FloatRange(0, 1, max_open=True),
              help="[default: 0.1]")
@click.option("--l2", type=click.FloatRange(min=0), help="L2 penalty on the kernels [0].")
@click.option("--dropout", type=click.FloatRange(0, 1, max_open=True), help="[default: 0]")
@click.option("--seed", type=int, help="[default: 0]")
@click.option("--verbose", default=1, show_default=True, type=click.IntRange(0, 2))
@user_errors
def train(data, target, out_path, config_path, verbose, **options):
    """Train an MLP on DATA and save it: a CSV with a header (--target names the column to
    predict), an NPZ with x and y, or a 2-D NPY read memory-mapped (its target column
    --target, a number, or the last)."""
    from .datasets.tabular import load_table

    settings = dict(TRAIN_DEFAULTS)
    if config_path:
        settings.update(_read_config(config_path))
    settings.update({k: v for k, v in options.items() if v is not None})
    from . import activations

    activations.get(settings["activation"], "--activation")
    npy = str(data).lower().endswith(".npy")
    if not os.path.exists(data):  # before asking for --target: the file is the first fault
        raise UserError(f"no such file: {data}")
    if target is None and not str(data).endswith(".npz") and not npy:
        raise UserError("--target is required for CSV data (the column to predict)")
    _writable("--out", out_path)
    _not_an_input("--out", out_path, {"the input data": data, "the --config file": config_path})
    table = load_npy(data, target) if npy else load_table(data, target=target)
    model, history = train_model(table, verbose=verbose, path=data, **settings)
    try:
        model.save(out_path)
    except OSError as err:  # a full disk, a path under a file, a read-only file, ...
        raise _write_error("--out", out_path, err) from None
    logs = {k: v[-1] for k, v in history.history.items()}
    say(f"trained {model.metadata['epochs']} epochs on {len(table.X)} rows "
        f"({model.metadata['task']}): " +
        ", ".join(f"{k} {v:.4f}" for k, v in logs.items()))
    say(f"saved {out_path}")


@main.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.argument("data", type=click.Path(dir_okay=False))
@user_errors
def evaluate(model_path, data):
    """Loss and metrics of MODEL on labelled DATA (a CSV, an NPZ, or a 2-D NPY read
    memory-mapped: the training file's columns, or the features then the target)."""
    model = _load(model_path)
    table = _table_for(model, data, require_target=True)
    x = _model_inputs(model, table, data)
    y = table.y
    if model.metadata.get("task") == "classification":
        classes = list(model.metadata["classes"])
        labels = y.tolist()
        known = {c: i for i, c in enumerate(classes)}
        unknown = sorted({str(v) for v in labels if v not in known})
        if unknown:
            raise UserError(f"labels {unknown[:5]} were not seen in training (classes: "
                            f"{classes})")
        y = np.array([known[v] for v in labels])
    elif y.dtype.kind in "US":
        raise UserError("this is a regression model and the target column holds text")
    if model.loss is None:
        raise UserError(f"{model_path} was saved without its loss; it cannot be evaluated")
    from .models.files import predict_batch_size

    values = model.evaluate(x, y.astype(np.float32) if y.dtype.kind == "f" else y,
                            batch_size=predict_batch_size(model, 1024),  # bounded memory
                            return_dict=True)
    say(", ".join(f"{k}: {v:.4f}" for k, v in values.items()))


@main.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.argument("data", type=click.Path(dir_okay=False))
@click.option("--out", "out_path", default="-", show_default=True,
              type=click.Path(dir_okay=False, allow_dash=True),
              help="CSV to write (one row per input row); - writes to standard output.")
@click.option("--proba", is_flag=True, help="Also write each class's probability.")
@user_errors
def predict(model_path, data, out_path, proba):
    """Predict DATA with MODEL (a CSV, an NPZ, or a 2-D NPY read memory-mapped, with
    the training file's columns or the feature columns only); classification writes
    the original class labels (to standard output unless --out names a file)."""
    to_stdout = out_path == "-"
    if to_stdout:
        if sys.stdout is None:  # started with standard output closed (>&-)
            raise UserError("--out -: standard output is closed; nothing was written "
                            "(name a file with --out)")
    else:
        _writable("--out", out_path)
        _not_an_input("--out", out_path, {"the input data": data, "the model file": model_path})
    model = _load(model_path)
    table = _table_for(model, data, require_target=False)
    outputs = model.predict(_model_inputs(model, table, data))
    meta = model.metadata
    name = _csv_text(meta.get("target") or "prediction")
    if meta.get("task") == "classification":
        classes = [_csv_text(c) for c in meta["classes"]]
        header = [name] + ([f"p_{c}" for c in meta["classes"]] if proba else [])
        rows = [[classes[k]] + ([f"{p:.6g}" for p in row] if proba else [])
                for k, row in zip(outputs.argmax(axis=1), outputs)]
    else:
        header = [name] if outputs.shape[1] == 1 else [f"{name}_{i}" for i in
                                                      range(outputs.shape[1])]
        rows = [[f"{v:.6g}" for v in row] for row in outputs]
    if to_stdout:
        _write_stdout(header, rows)
        return
    try:
        with open(out_path, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(header)
            writer.writerows(rows)
    except OSError as err:
        raise _write_error("--out", out_path, err) from None
    say(f"wrote {len(rows)} predictions to {out_path}")


def _write_stdout(header, rows) -> None:
    """The CSV on standard output, flushed here so that a full device or a closed pipe
    is a one-line error (exit status 2), not a traceback or a silent success."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    text = text.getvalue()
    if sys.stdout.isatty():  # a terminal: labels from the model file must not drive it
        text = "\n".join(printable(line) for line in text.split("\n"))
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as err:
        raise StandardOutputFailed(err) from None


def _silence_stdout() -> None:
    """After a failed write (a full device, a closed pipe), point standard output at
    os.devnull: what could not be written stays in the buffer, and the flush at exit
    must neither fail again nor print Python's "Exception ignored" warning."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value) -> str:
    """A label written into the predictions CSV: a text that a spreadsheet would run as
    a formula (``=cmd|...``, ``+SUM(...)``, ``@x``) gets a leading ``'`` (OWASP's advice
    on CSV injection); numbers, negative ones included, are written as they are."""
    text = str(value)
    if text.startswith(_FORMULA_STARTS):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text


@main.command()
@click.argument("model_path", metavar="MODEL", type=click.Path(dir_okay=False))
@click.option("--format", "export_format", type=click.Choice(["onnx"]), default="onnx",
              show_default=True, help="The file format.")
@click.option("--opset", type=int, default=None,
              help="ONNX operator set [default: 18].")
@click.option("-o", "--out", "out_path", type=click.Path(dir_okay=False), default=None,
              help="Where to write it [default: MODEL with the suffix .onnx].")
@user_errors
def export(model_path, export_format, opset, out_path):
    """Write MODEL as an ONNX graph (onnxruntime, browsers, phones, C++): input "input",
    output "output".  A model trained by `nnlearn train` takes the raw feature columns
    (its standardisation is in the graph) and gives what `nnlearn predict` computes: the
    class probabilities (labels in the file's metadata) or the predicted values."""
    out_path = out_path if out_path is not None else str(Path(model_path).with_suffix(".onnx"))
    _writable("--out", out_path)
    _not_an_input("--out", out_path, {"the model file": model_path})
    try:
        from .interop.onnx import save_onnx
    except ModuleNotFoundError as err:
        raise UserError(f"export needs {err.name}: pip install onnx (nnlearn's onnx extra: "
                        "pip install \".[onnx]\" in nnlearn's folder)") from None
    model = _load(model_path)
    scaler = model.metadata.get("scaler")
    scaling = None if scaler is None else (
        np.reshape(scaler["mean"], model.input_shape), np.reshape(scaler["scale"],
                                                                  model.input_shape))
    try:
        save_onnx(model, out_path, opset, input_scaling=scaling)
    except NotImplementedError as err:
        raise UserError(f"{model_path}: {printable(str(err))}") from None
    except OSError as err:
        raise _write_error("--out", out_path, err) from None
    from .interop.onnx import DEFAULT_OPSET

    say(f"wrote {out_path}: ONNX opset {opset or DEFAULT_OPSET}, input 'input' of shape "
        f"(batch, {', '.join(map(str, model.input_shape))}), output 'output'")


@main.command()
@click.argument("model_path", metavar="[MODEL]", type=click.Path(dir_okay=False), required=False)
@user_errors
def info(model_path):
    """The architecture of MODEL, its training settings and the data it expects; without
    MODEL, this installation: versions, CPU, BLAS and the kernels' backend."""
    if model_path is None:
        from .utils import environment

        for key, value in environment().items():
            echo(f"{key + ':':12} {value}")
        return
    model = _load(model_path)
    model.summary(print_fn=echo)
    activations = [f"{type(layer).__name__.lower()}: {layer.get_config()['activation']}"
                   for layer in model.layers if "activation" in layer.get_config()]
    if activations:
        echo("activations: " + ", ".join(activations))
    if model.loss is not None:
        echo(f"loss: {model.loss!r}; optimizer: {model.optimizer!r}; steps taken: "
             f"{model.optimizer.iterations}")
        echo("training step plan:")
        for line in model.plan().explain().splitlines():
            echo("  " + line)
    meta = model.metadata
    if meta:
        echo(f"task: {meta.get('task')}; target: {meta.get('target')}; "
             f"trained epochs: {meta.get('epochs')}")
        echo(f"features ({len(meta.get('features', []))}): "
             f"{', '.join(map(str, meta.get('features', [])))}")
        if "classes" in meta:
            echo(f"classes: {', '.join(map(str, meta['classes']))}")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. The default admits only this computer; 0.0.0.0 "
                   "admits every machine that can reach the port (no password).")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(1, 65535))
@click.option("--open", "open_browser", is_flag=True, help="Open the page in a browser.")
@click.option("--idle-timeout", default=1800, show_default=True, type=click.IntRange(min=10),
              help="Seconds without a message, training or streaming after which a tab's "
                   "session is closed.")
@click.option("--max-sessions", default=20, show_default=True, type=click.IntRange(min=1),
              help="Tabs served at once; the next one is told to close another.")
@click.option("--classroom", is_flag=True,
              help="Serve a classroom: listen on the network with a short token, at most "
                   "--per-computer tabs per computer, and print the address to project.")
@click.option("--per-computer", default=2, show_default=True, type=click.IntRange(min=1),
              help="With --classroom: tabs one computer may open.")
@click.option("--trusted-proxy", default=None, metavar="ADDRESS",
              help="IP address(es) of a reverse proxy whose X-Forwarded-For names the "
                   "computer (ignored from anyone else).")
@user_errors
def playground(host, port, open_browser, idle_timeout, max_sessions, classroom, per_computer,
               trusted_proxy):
    """Serve the browser playground (a network trained live by nnlearn).  Requests must
    name this machine (127.0.0.1, localhost, [::1] or --host) in their Host header; on
    anything but the loopback address the printed URL holds a token for this launch."""
    try:
        from .playground import serve
        import uvicorn  # noqa: F401
    except ModuleNotFoundError as err:
        raise UserError(f"the playground needs {err.name}: pip install starlette uvicorn "
                        "websockets (nnlearn's playground extra: pip install \".[playground]\" "
                        "in nnlearn's folder)") from None
    serve(host=host, port=port, open_browser=open_browser, idle_timeout=idle_timeout,
          max_sessions=max_sessions, classroom=classroom, max_per_client=per_computer,
          trusted_proxy=trusted_proxy)


def run(argv=None) -> int:
    """Run the command line with ``argv``; returns the exit status (for tests)."""
    guarded = contextlib.nullcontext() if sys.stdout is None else \
        contextlib.redirect_stdout(_GuardedStdout(sys.stdout))
    try:
        with guarded:
            main.main(args=argv, prog_name="nnlearn", standalone_mode=False)
    except click.exceptions.Exit as done:
        return done.exit_code
    except click.UsageError as err:  # one line, with where to look for help
        command = err.ctx.command_path if err.ctx else "nnlearn"
        click.echo(f"Error: {err.format_message()} (see '{command} --help')", err=True)
        return err.exit_code
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except StandardOutputFailed as failure:
        return _stdout_error(failure.error)
    try:  # what every command printed, flushed here
        if sys.stdout is not None:
            sys.stdout.flush()
    except OSError as err:
        return _stdout_error(err)
    return 0


def _stdout_error(err: OSError) -> int:
    """One line on stderr for a standard output that cannot be written (a full device),
    exit status 2; a reader that closed the pipe (``nnlearn predict M D | head``) ends
    the command quietly with status 1, as click does."""
    _silence_stdout()
    if isinstance(err, BrokenPipeError):
        return 1
    click.echo(f"Error: cannot write to standard output ({err.strerror or err})", err=True)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
