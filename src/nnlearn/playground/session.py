"""One playground session: settings, data, an nnlearn model, training and the frames the
page draws.  Plain synchronous Python; the server (``server.py``) runs it off the event
loop.

The settings follow TensorFlow Playground (playground.tensorflow.org): its
six 2-D data sets, its seven input features, up to 6 hidden layers of up to 8 neurons,
noise and the training ratio in percent.  Beyond it: three- to five-class data sets
(``spiral_arms``, ``blobs``, :mod:`.data`), a CSV uploaded or points drawn in the page
(``custom``), and a choice of loss.  Two-class classification ends in one sigmoid unit
trained on binary cross-entropy (fused from logits) or squared error; more classes in a
softmax trained on (sparse) categorical cross-entropy; regression in one linear unit on
mean squared error, mean absolute error or log-cosh.

This module is long because a session is one state machine (settings, data, model,
training, frames, run history, the step mode) whose parts read each other's state.
"""

from __future__ import annotations

import contextlib
import functools
import io
import math
import time

import numpy as np

from .. import activations, datasets, layers, optimizers, regularizers, schedules
from ..models import Sequential, mlp, python_source
from ..model_selection import train_test_split
from . import data as playground_data

DATASETS = {"circle": datasets.make_circle, "xor": datasets.make_xor,
            "gaussian": datasets.make_gaussian, "spiral": datasets.make_spiral,
            "plane": datasets.make_plane, "gaussian_regression": datasets.make_gaussian_regression,
            "spiral_arms": playground_data.make_spiral_arms, "blobs": playground_data.make_blobs,
            "custom": None}
REGRESSION = ("plane", "gaussian_regression")
MULTICLASS = ("spiral_arms", "blobs")   # these take the "classes" setting
CUSTOM = "custom"                       # the session's uploaded or drawn points
LOSSES = {"classification": ["auto", "crossentropy", "mse"],
          "regression": ["auto", "mse", "mae", "log_cosh"]}
LOSS_NAMES = {"crossentropy": "binary_crossentropy", "mse": "mse", "mae": "mae",
              "log_cosh": "log_cosh"}
MAX_WEIGHT = 100.0

FEATURES = {  # TensorFlow Playground's inputs, as functions of (x1, x2)
    "x1": lambda x1, x2: x1, "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 ** 2, "x2^2": lambda x1, x2: x2 ** 2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1), "sin(x2)": lambda x1, x2: np.sin(x2),
}
FEATURE_CODE = {"x1": "x1", "x2": "x2", "x1^2": "x1 ** 2", "x2^2": "x2 ** 2",
                "x1*x2": "x1 * x2", "sin(x1)": "np.sin(x1)", "sin(x2)": "np.sin(x2)"}
HIDDEN_ACTIVATIONS = sorted(set(activations.ACTIVATIONS) - {"softmax"})
OPTIMIZERS = sorted(optimizers.OPTIMIZERS)
MAX_LAYERS, MAX_NEURONS = 6, 8
EXTENT = 6.0            # the plane shown: [-6, 6]^2
OUTPUT_GRID, NEURON_GRID = 50, 20

DEFAULTS = {"dataset": "circle", "noise": 0, "train_ratio": 50, "batch_size": 10,
            "samples": 500, "features": ["x1", "x2"], "hidden": [4, 2],
            "activation": "tanh", "learning_rate": 0.03, "optimizer": "sgd",
            "regularization": "none", "regularization_rate": 0.0, "dropout": 0.0, "seed": 0,
            "classes": 3, "loss": "auto", "layer_activations": [], "schedule": "none"}
# learning-rate schedules (tensorflow/playground#158), in epochs of the playground's data:
# the rate halves every 100 epochs; falls tenfold over 500; a0 / (1 + epochs / 100);
# cosine cycles of 200 epochs (SGDR, Loshchilov & Hutter 2017)
SCHEDULES = ["none", "step", "exponential", "inverse_time", "cosine"]
URL_LIMIT = 4096        # characters of a URL state (a page's address, a challenge)
MAX_URL_ERRORS = 12     # messages about one URL state, at most


def choices() -> dict:
    """What the page may choose from."""
    return {"datasets": [d for d in DATASETS if d != CUSTOM], "features": list(FEATURES),
            "activations": HIDDEN_ACTIVATIONS, "optimizers": OPTIMIZERS,
            "max_layers": MAX_LAYERS, "max_neurons": MAX_NEURONS,
            "regression": list(REGRESSION), "multiclass": list(MULTICLASS),
            "max_classes": playground_data.MAX_CLASSES, "losses": LOSSES,
            "max_points": playground_data.MAX_POINTS,
            "max_upload_bytes": playground_data.MAX_UPLOAD_BYTES,
            "schedules": SCHEDULES,
            "scheduled_optimizers": [o for o in OPTIMIZERS if _takes_a_schedule(o)]}


class SettingsError(ValueError):
    """A setting from the page that cannot be used; the message is shown on the page."""


def _shown(value) -> str:
    """A value for a one-line message (a huge integer or a long string shortened)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**15:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _number(settings, name, low, high, integer=False, low_open=False):
    value = settings[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            isinstance(value, float) and not math.isfinite(value):
        raise SettingsError(f"{name} must be a number; got {_shown(value)}")
    if integer and isinstance(value, float) and not value.is_integer():
        raise SettingsError(f"{name} must be a whole number; got {_shown(value)}")
    if value < low or value > high or (low_open and value == low):
        bracket = "(" if low_open else "["
        raise SettingsError(f"{name} must be in {bracket}{low}, {high}]; got {_shown(value)}")
    return int(value) if integer else float(value)


def _choice(settings, name, options):
    value = settings[name]
    if not isinstance(value, str) or value not in options:
        raise SettingsError(f"{name} must be one of {', '.join(map(str, options))}; "
                            f"got {_shown(value)}")
    return value


def validate(settings, custom_task: str | None = None) -> dict:
    """The complete, checked settings (missing keys take their defaults); raises
    SettingsError naming the first bad setting.  ``custom_task`` is the task of the
    session's uploaded or drawn points (None: it has none, "custom" is refused)."""
    if not isinstance(settings, dict):
        raise SettingsError(f"settings must be an object; got {type(settings).__name__}")
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise SettingsError(f"unknown setting(s): {', '.join(_shown(k) for k in unknown[:5])}")
    s = {**DEFAULTS, **settings}
    checked = {
        "dataset": _choice(s, "dataset", list(DATASETS)),
        "noise": _number(s, "noise", 0, 50),
        "train_ratio": _number(s, "train_ratio", 10, 90),
        "batch_size": _number(s, "batch_size", 1, 100, integer=True),
        "samples": _number(s, "samples", 50, 2000, integer=True),
        "activation": _choice(s, "activation", HIDDEN_ACTIVATIONS),
        "learning_rate": _number(s, "learning_rate", 0, 10, low_open=True),
        "optimizer": _choice(s, "optimizer", OPTIMIZERS),
        "regularization": _choice(s, "regularization", ["none", "L1", "L2"]),
        "regularization_rate": _number(s, "regularization_rate", 0, 10),
        "dropout": _number(s, "dropout", 0, 0.9),
        "seed": _number(s, "seed", 0, 2 ** 31 - 1, integer=True),
        "classes": _number(s, "classes", 2, playground_data.MAX_CLASSES, integer=True),
        "loss": _choice(s, "loss", sorted(set(LOSSES["classification"] + LOSSES["regression"]))),
    }
    if checked["dataset"] == CUSTOM and custom_task is None:
        raise SettingsError("dataset custom needs points: upload a CSV or click on the "
                            "output map to add points")
    task = custom_task if checked["dataset"] == CUSTOM else \
        "regression" if checked["dataset"] in REGRESSION else "classification"
    if checked["loss"] not in LOSSES[task]:
        raise SettingsError(f"loss {checked['loss']} does not fit {task}; choose one of "
                            f"{', '.join(LOSSES[task])}")
    features = s["features"]
    if not isinstance(features, list) or not features or \
            not all(isinstance(f, str) for f in features):
        raise SettingsError("features must be a non-empty list of feature names")
    bad = [f for f in features if f not in FEATURES]
    if bad:
        raise SettingsError(f"unknown feature(s) {', '.join(_shown(f) for f in bad[:5])}; "
                            f"choose from {', '.join(FEATURES)}")
    checked["features"] = [f for f in FEATURES if f in features]  # canonical order
    hidden = s["hidden"]
    if not isinstance(hidden, list) or not 1 <= len(hidden) <= MAX_LAYERS:
        raise SettingsError(f"hidden must list 1 to {MAX_LAYERS} layer sizes; got "
                            f"{_shown(hidden)}")
    for n in hidden:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_NEURONS:
            raise SettingsError(f"each hidden layer has 1 to {MAX_NEURONS} neurons; got "
                                f"{_shown(n)}")
    checked["hidden"] = list(hidden)
    per_layer = s["layer_activations"]
    if not isinstance(per_layer, list) or per_layer and len(per_layer) != len(hidden):
        raise SettingsError(f"layer_activations must list one activation per hidden layer "
                            f"({len(hidden)}), or none; got {_shown(per_layer)}")
    for name in per_layer:
        if not isinstance(name, str) or name not in HIDDEN_ACTIVATIONS:
            raise SettingsError(f"layer_activations must be among "
                                f"{', '.join(HIDDEN_ACTIVATIONS)}; got {_shown(name)}")
    checked["layer_activations"] = list(per_layer)
    checked["schedule"] = _choice(s, "schedule", SCHEDULES)
    if checked["schedule"] != "none" and not _takes_a_schedule(checked["optimizer"]):
        raise SettingsError(f"optimizer {checked['optimizer']} takes no learning-rate "
                            "schedule; choose schedule none")
    if optimizers.get(checked["optimizer"]).needs_residuals and task != "regression":
        raise SettingsError(f"{checked['optimizer']} fits a sum of squares: choose a "
                            "regression data set (plane, gaussian_regression)")
    return checked


@functools.lru_cache(maxsize=None)
def _takes_a_schedule(optimizer: str) -> bool:
    """Whether the optimizer named accepts a learning-rate schedule (a few, such as
    Levenberg-Marquardt, take a plain number only)."""
    try:
        optimizers.get({"class_name": optimizer,
                        "config": {"learning_rate": schedules.StepDecay(0.01, 0.5, 10)}})
    except (TypeError, ValueError):
        return False
    return True


def _finite_or_none(value):
    """A float for JSON (None for NaN or infinity)."""
    value = float(value)
    return value if math.isfinite(value) else None


LIST_SETTINGS = {"hidden": int, "features": str, "layer_activations": str}
TEXT_SETTINGS = ("dataset", "activation", "optimizer", "regularization", "loss", "schedule")
PAGE_PARAMETERS = ("token", "teacher", "watch", "discretize", "show_test", "show_train",
                   "show_batch")  # the page's own (view options, credentials)


def parse_query(query) -> tuple:
    """(settings, errors) of a URL state: a query string such as the page's address
    holds (``dataset=xor&hidden=4,2&learning_rate=0.03``).  Each value is converted to
    its setting's type; every parameter that cannot be gives one error (unknown names,
    numbers that are not), and is left out.  The settings are not yet checked against
    their ranges (see :meth:`PlaygroundSession.apply_url`)."""
    from urllib.parse import parse_qsl

    if not isinstance(query, str):
        raise SettingsError(f"a URL state must be a query string; got {_shown(query)}")
    if len(query) > URL_LIMIT:
        raise SettingsError(f"the URL state is too long ({len(query):,} characters; at most "
                            f"{URL_LIMIT:,})")
    found, errors = {}, []
    for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        if key in PAGE_PARAMETERS:
            continue
        if key not in DEFAULTS:
            errors.append(f"unknown setting {_shown(key)} (in the address)")
            continue
        if key in LIST_SETTINGS:
            parts = [p.strip() for p in value.split(",")] if value.strip() else []
            if LIST_SETTINGS[key] is int:
                try:
                    parts = [int(p) for p in parts]
                except ValueError:
                    errors.append(f"{key} must list whole numbers separated by commas; got "
                                  f"{_shown(value)}")
                    continue
            found[key] = parts
        elif key in TEXT_SETTINGS:
            found[key] = value
        else:
            try:
                number = float(value)
            except ValueError:
                errors.append(f"{key} must be a number; got {_shown(value)}")
                continue
            found[key] = int(number) if number.is_integer() and abs(number) < 2 ** 53 \
                else number
    return found, errors


DATA_KEYS = ("dataset", "noise", "train_ratio", "samples", "seed", "classes")


def settings_from_url(query, base=None, custom_task=None) -> tuple:
    """(settings, errors): ``base`` (default: the defaults) changed by a URL state's
    settings, each checked on its own against the settings so far (the data set first);
    the bad ones are left out and each gives one message.  A URL never selects the
    uploaded points ("custom")."""
    found, errors = parse_query(query)
    if found.get("dataset") == CUSTOM:
        errors.append("dataset custom cannot come from an address: upload the file "
                      "or draw the points")
        found.pop("dataset")
    settings = dict(base) if base is not None else validate({})
    if "dataset" in found and "loss" not in found:
        settings["loss"] = "auto"  # the current loss may not fit the new data set
    order = ["dataset", "classes", "hidden"]
    for key in sorted(found, key=lambda k: (order.index(k) if k in order else 9, k)):
        trial = {**settings, key: found[key]}
        if key == "hidden" and len(settings["layer_activations"]) != len(found[key]) \
                and "layer_activations" not in found:
            trial["layer_activations"] = []
        try:
            trial = validate(trial, custom_task)
        except SettingsError as err:
            errors.append(str(err))
            continue
        settings = trial
    if len(errors) > MAX_URL_ERRORS:   # a page of errors says no more than this
        errors = errors[:MAX_URL_ERRORS] + [f"... and {len(errors) - MAX_URL_ERRORS} more"]
    return settings, errors


def url_of(settings: dict, changed_only: bool = False) -> str:
    """The URL state (query string) of complete settings, as the page writes it (only
    those that differ from the defaults when ``changed_only``)."""
    from urllib.parse import urlencode

    defaults = validate({})
    pairs = [(k, ",".join(map(str, v)) if isinstance(v, list) else
              (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)))
             for k, v in settings.items() if not (k == "dataset" and v == CUSTOM)
             and not (changed_only and defaults.get(k) == v)]
    return urlencode(pairs, safe=",()^*")


def _schedule_as_code(source: str) -> str:
    """An optimizer's repr writes a learning-rate schedule as its serialized dict;
    wrap it in ``nl.schedules.get(...)`` so that the exported code runs."""
    import re

    return re.sub(r"learning_rate=(\{'class_name': '\w+', 'config': \{[^{}]*\}\})",
                  r"learning_rate=nl.schedules.get(\1)", source)


def feature_matrix(X: np.ndarray, features) -> np.ndarray:
    """The chosen input features of the points X (n, 2), as float32 columns."""
    return np.column_stack([FEATURES[f](X[:, 0], X[:, 1]) for f in features]).astype(np.float32)


def _grid(n: int) -> np.ndarray:
    """n x n points covering [-EXTENT, EXTENT]^2, row by row from the top (y = +6)."""
    axis = np.linspace(-EXTENT, EXTENT, n)
    gx, gy = np.meshgrid(axis, axis[::-1])
    return np.column_stack([gx.ravel(), gy.ravel()])


def _quantize(values: np.ndarray) -> dict:
    """A heat map as bytes 0-255 between its min and max (what a canvas needs), hex
    encoded, with the range to read it back."""
    low, high = float(values.min()), float(values.max())
    scaled = np.zeros(values.shape) if high - low < 1e-12 else (values - low) / (high - low)
    return {"min": low, "max": high, "data": np.round(scaled * 255).astype(np.uint8).tobytes()
            .hex()}


class _BatchRecordingNetwork(Sequential):
    """A Sequential that remembers which training points its last mini-batch held (the
    page rings them: "show the current batch")."""

    last_batch: list = []

    def batch_indices(self, n, batch_size, shuffle, epoch_seed):
        batches = super().batch_indices(n, batch_size, shuffle, epoch_seed)
        last = batches[-1]
        self.last_batch = list(range(n)) if last is None else np.asarray(last).tolist()
        return batches


class PlaygroundSession:
    """Data, model and training state of one browser tab."""

    def __init__(self, settings=None):
        self.settings = None
        self.custom = None  # uploaded or drawn points: {"X", "y", "task", "class_names",
        #                     "axes" (an upload's columns: name, value at -5 and at 5)}
        self.last_active = time.monotonic()
        self.configure(settings or {})

    # -- settings -------------------------------------------------------------------------
    def configure(self, settings) -> None:
        """Apply new settings; new data when the data settings change, a new network
        (training restarts) otherwise."""
        new = validate(settings, self.custom and self.custom["task"])
        if self._class_count(new) > 2 and new["loss"] == "mse":
            raise SettingsError("loss mse fits two classes; with more, choose crossentropy")
        new_data = self.settings is None or any(new[k] != self.settings[k] for k in DATA_KEYS)
        before = dict(self.__dict__)   # all or nothing: a failure leaves the session as it was
        try:
            self.settings = new
            if new_data:
                self._make_data()
            self.reset()
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(before)
            raise

    def change(self, changes) -> None:
        """Apply ``changes`` (some settings) on top of the settings in force: what the page
        sends, so that changes made together, or beside a drawn point or a teacher's
        challenge, each apply to the state the server has when it reaches them."""
        if not isinstance(changes, dict):
            raise SettingsError(f"changes must be an object; got {type(changes).__name__}")
        self.configure({**self.settings, **changes})

    def _class_count(self, settings) -> int:
        """Classes of the data the settings choose (1 for regression)."""
        if settings["dataset"] == CUSTOM:
            names = self.custom["class_names"]
            return len(names) if names else 1
        if settings["dataset"] in REGRESSION:
            return 1
        return settings["classes"] if settings["dataset"] in MULTICLASS else 2

    @property
    def n_classes(self) -> int:
        """The number of classes of the current data set (1 for regression)."""
        return self._class_count(self.settings)

    def upload(self, text, x1, x2, target, filename=None) -> None:
        """Points from a CSV's text (columns x1, x2, target); they become the data set
        "custom".  A bad file raises SettingsError (naming ``filename``, the file's name
        in the page, when given) and changes nothing."""
        try:
            upload = playground_data.parse_upload(text, x1, x2, target, filename)
        except playground_data.UploadError as err:
            raise SettingsError(str(err)) from None
        previous = self.custom
        self.custom = upload
        try:
            self.configure({**self.settings, "dataset": CUSTOM, "loss": "auto"})
        except SettingsError:
            self.custom = previous
            raise

    def add_point(self, x, y, label) -> None:
        """One more training point at (x, y) (the page's click); the data set becomes
        "custom" (starting from the points shown).  ``label`` is a class (an integer) or,
        for regression, a target in [-1, 1]."""
        for name, value, low, high in (("x", x, -EXTENT, EXTENT), ("y", y, -EXTENT, EXTENT)):
            _number({name: value}, name, low, high)
        if self.task == "classification":
            label = _number({"label": label}, "label", 0, self.n_classes - 1, integer=True)
        else:
            label = _number({"label": label}, "label", -1, 1)
        if self.custom is None or self.settings["dataset"] != CUSTOM:
            names = [str(k) for k in range(self.n_classes)] \
                if self.task == "classification" else None
            base = {"X": np.concatenate([self.X_train, self.X_test]),
                    "y": np.concatenate([self.y_train, self.y_test]).astype(np.float32),
                    "task": self.task, "class_names": names}
        else:
            base = self.custom
        if len(base["X"]) >= playground_data.MAX_POINTS:
            raise SettingsError(f"at most {playground_data.MAX_POINTS} points; regenerate or "
                                "choose a data set to start again")
        self.custom = {**base, "X": np.concatenate([base["X"], [[x, y]]]),
                       "y": np.concatenate([base["y"], np.float32([label])])}
        self.settings = {**self.settings, "dataset": CUSTOM}
        self._make_data()
        self.reset()

    def apply_url(self, query) -> list:
        """Apply a URL state (the page's address): each setting checked on its own, the
        good ones applied, every bad one's message returned (none: all applied); see
        :func:`settings_from_url`."""
        settings, errors = settings_from_url(query, self.settings,
                                             self.custom and self.custom["task"])
        try:
            self.configure(settings)
        except SettingsError as err:  # a combination (e.g. mse with three classes)
            errors.append(str(err))
            with contextlib.suppress(SettingsError):
                self.configure({**settings, "loss": "auto"})
        return errors

    def set_weight(self, layer, row, column, value) -> None:
        """Set one weight of the network (Dense layer ``layer``'s kernel[row, column]);
        training goes on from it."""
        dense = [d for d in self.model.layers if isinstance(d, layers.Dense)]
        layer = _number({"layer": layer}, "layer", 0, len(dense) - 1, integer=True)
        kernel = dense[layer].kernel.data
        row = _number({"row": row}, "row", 0, kernel.shape[0] - 1, integer=True)
        column = _number({"column": column}, "column", 0, kernel.shape[1] - 1, integer=True)
        value = _number({"value": value}, "value", -MAX_WEIGHT, MAX_WEIGHT)
        kernel[row, column] = value
        self._record(append=False)

    def regenerate(self) -> None:
        """New points from the next seed (the page's "regenerate")."""
        self.configure({**self.settings, "seed": (self.settings["seed"] + 1) % 2 ** 31})

    @property
    def task(self) -> str:
        """``"classification"`` or ``"regression"``, from the data set."""
        if self.settings["dataset"] == CUSTOM:
            return self.custom["task"]
        return "regression" if self.settings["dataset"] in REGRESSION else "classification"

    def _make_data(self) -> None:
        s = self.settings
        if s["dataset"] == CUSTOM:
            X, y = self.custom["X"], self.custom["y"]
        elif s["dataset"] in MULTICLASS:
            X, y = DATASETS[s["dataset"]](s["samples"], classes=s["classes"],
                                          noise=s["noise"] / 100, random_state=s["seed"])
        else:
            X, y = DATASETS[s["dataset"]](s["samples"], noise=s["noise"] / 100,
                                          random_state=s["seed"])
        self.X_train, self.X_test, self.y_train, self.y_test = train_test_split(
            X, y.astype(np.float32), test_size=1 - s["train_ratio"] / 100,
            random_state=s["seed"])

    # -- the network ------------------------------------------------------------------------
    def reset(self) -> None:
        """A freshly initialised network; epoch 0."""
        s = self.settings
        penalty = {"none": None, "L1": regularizers.L1, "L2": regularizers.L2}[
            s["regularization"]]
        classify, classes = self.task == "classification", self.n_classes
        loss = s["loss"] if s["loss"] != "auto" else "crossentropy" if classify else "mse"
        if classes > 2:
            output, loss = "softmax", "sparse_categorical_crossentropy"
        else:
            output, loss = ("sigmoid" if classify else None), LOSS_NAMES[loss]
        network = mlp(len(s["features"]), s["hidden"], max(classes, 1) if classes > 2 else 1,
                      activation=s["activation"], output_activation=output,
                      kernel_regularizer=penalty and penalty(s["regularization_rate"]),
                      dropout=s["dropout"], seed=s["seed"], name="playground")
        stack = network.layers
        if s["layer_activations"]:  # one activation per hidden layer (tensorflow/playground#50)
            chosen = iter(s["layer_activations"])
            stack = [layers.Dense(layer.units, activation=next(chosen),
                                  kernel_regularizer=layer.kernel_regularizer,
                                  kernel_initializer=layer.kernel_initializer)
                     if isinstance(layer, layers.Dense) and layer is not stack[-1] else layer
                     for layer in stack]
        self.model = _BatchRecordingNetwork(stack, seed=network.seed, name=network.name)
        self.loss_name = loss
        self.model.compile(optimizers.get({"class_name": s["optimizer"],
                                           "config": {"learning_rate": self._rate()}}),
                           loss=loss, metrics=["accuracy"] if classify else [])
        self.x_train = feature_matrix(self.X_train, s["features"])
        self.x_test = feature_matrix(self.X_test, s["features"])
        # the planes the page draws, as model inputs (fixed until the settings change)
        self.neuron_grid = feature_matrix(_grid(NEURON_GRID), s["features"])
        self.output_grid = feature_matrix(_grid(OUTPUT_GRID), s["features"])
        self.epoch = 0
        self.history = {"epoch": [], "train_loss": [], "test_loss": []}
        self._record()

    def _rate(self):
        """The learning rate, or its schedule (in updates: epochs x batches per epoch)."""
        s = self.settings
        rate, per_epoch = s["learning_rate"], max(1, math.ceil(len(self.X_train) /
                                                              s["batch_size"]))
        if s["schedule"] == "step":
            return schedules.StepDecay(rate, drop=0.5, every=100 * per_epoch)
        if s["schedule"] == "exponential":
            return schedules.ExponentialDecay(rate, math.log(10) / (500 * per_epoch))
        if s["schedule"] == "inverse_time":
            return schedules.InverseTimeDecay(rate, 1 / (100 * per_epoch))
        if s["schedule"] == "cosine":
            return schedules.CosineDecayRestarts(rate, 200 * per_epoch)
        return rate

    def train(self, epochs: int = 1) -> None:
        """``epochs`` passes over the training points in mini-batches (each epoch's
        shuffling and dropout masks derive from the seed and the epoch number)."""
        with np.errstate(all="ignore"):
            self.model.fit(self.x_train, self.y_train, epochs=self.epoch + epochs,
                           initial_epoch=self.epoch, batch_size=self.settings["batch_size"],
                           seed=self.settings["seed"], verbose=0)
        self.epoch += epochs
        self._record()

    def _evaluate(self, x, y) -> dict:
        with np.errstate(all="ignore"):
            values = self.model.evaluate(x, y, return_dict=True)
        return {k: (float(v) if math.isfinite(v) else None) for k, v in values.items()}

    def _record(self, append: bool = True) -> None:
        self.train_metrics = self._evaluate(self.x_train, self.y_train)
        self.test_metrics = self._evaluate(self.x_test, self.y_test)
        if append:
            self.history["epoch"].append(self.epoch)
            self.history["train_loss"].append(self.train_metrics["loss"])
            self.history["test_loss"].append(self.test_metrics["loss"])
            if len(self.history["epoch"]) > 20_000:  # bounded: every other entry kept
                self.history = {k: v[::2] for k, v in self.history.items()}
        else:
            self.history["train_loss"][-1] = self.train_metrics["loss"]
            self.history["test_loss"][-1] = self.test_metrics["loss"]

    # -- backpropagation, one point at a time ----------------------------------------------
    def backprop(self, index) -> dict:
        """The forward values and the gradients of the loss on one training point (its
        index in the training points), in the order backpropagation computes them, by
        nnlearn's own engine (:mod:`nnlearn.autograd`) on the network as it is now.

        Forward, layer by layer: each neuron's z = sum_i w_ij a_i + b_j and a = f(z);
        the loss.  Backward, from the output layer down: each neuron's dL/da (from the
        layer above) and dL/dz = f'(z) dL/da; each weight's dL/dw_ij = a_i dL/dz_j and
        each bias's dL/db_j = dL/dz_j (Rumelhart, Hinton & Williams 1986).  With a
        sigmoid or softmax output and cross-entropy the loss is computed from the
        output's z (fused, as in training), so the output's dL/da is not a step.
        Dropout is off (the network as it predicts) and the regularization penalty,
        whose gradient adds to the weights', is left out: the numbers are the point's
        loss alone."""
        from .. import autograd as ag

        index = _number({"index": index}, "index", 0, len(self.x_train) - 1, integer=True)
        x = self.x_train[index:index + 1]
        target = self.y_train[index:index + 1]
        dense = [layer for layer in self.model.layers if isinstance(layer, layers.Dense)]
        fused, head = self.model.output_head()
        n = len(dense)
        with np.errstate(all="ignore"):
            a, zs, outs = ag.Tensor(x), [], []
            for k, layer in enumerate(dense):  # Input and Dropout (off) change nothing
                z = layer.pre_activation(a)
                if k == n - 1 and fused is not None:
                    a = head(z.detach())  # shown; the loss reads z (fused)
                else:
                    a = layer.activation(z)
                zs.append(z)
                outs.append(a)
            loss = fused(target, zs[-1]) if fused is not None else \
                self.model.loss(target, outs[-1])
            wanted = [*zs, *(outs if fused is None else outs[:-1])] + \
                [p for layer in dense for p in (layer.kernel, layer.bias)]
            grads = ag.grad(loss, wanted, allow_unused=True)
        dz = grads[:n]
        da = list(grads[n:n + (n if fused is None else n - 1)]) + ([None] if fused else [])
        params = grads[len(grads) - 2 * n:]
        dW, db = params[0::2], params[1::2]
        number = _finite_or_none
        names = [activations.registered_name(layer.activation) or "custom" for layer in dense]
        if fused is not None:
            names[-1] = activations.registered_name(head) or names[-1]
        steps = []
        for k, layer in enumerate(dense):  # forward
            for j in range(layer.units):
                steps.append({"kind": "forward", "layer": k, "neuron": j,
                              "z": number(zs[k].data[0, j]), "a": number(outs[k].data[0, j]),
                              "activation": names[k]})
        steps.append({"kind": "loss", "value": number(loss.data), "loss": self.loss_name,
                      "target": number(target[0])})
        previous = [x] + [o.data for o in outs[:-1]]
        for k in reversed(range(n)):  # backward
            for j in range(dense[k].units):
                steps.append({"kind": "delta", "layer": k, "neuron": j,
                              "dL_da": None if da[k] is None else number(da[k][0, j]),
                              "dL_dz": number(dz[k][0, j])})
            kernel = dense[k].kernel.data
            for j in range(dense[k].units):
                for i in range(kernel.shape[0]):
                    steps.append({"kind": "weight", "layer": k, "row": i, "column": j,
                                  "value": number(kernel[i, j]),
                                  "input": number(previous[k][0, i]),
                                  "grad": number(dW[k][i, j])})
                steps.append({"kind": "bias", "layer": k, "neuron": j,
                              "value": number(dense[k].bias.data[j]),
                              "grad": number(db[k][j])})
        return {"type": "backprop", "index": index, "epoch": self.epoch,
                "point": [number(v) for v in self.X_train[index]],
                "inputs": [number(v) for v in x[0]], "target": number(target[0]),
                "loss": self.loss_name, "fused": fused is not None,
                "activations": names, "penalty": self.settings["regularization"] != "none",
                "dropout": self.settings["dropout"] > 0, "steps": steps}

    # -- what the page draws ------------------------------------------------------------------
    def data_message(self) -> dict:
        """The points and the input features' own heat maps (sent when data or
        features change)."""
        custom = self.settings["dataset"] == CUSTOM
        names = self.custom["class_names"] if custom else None
        classes = self.n_classes if self.task == "classification" else 0
        return {"type": "data", "task": self.task, "extent": EXTENT,
                "settings": self.settings, "classes": classes,
                "class_names": names or [str(k) for k in range(classes)],
                "loss": self.loss_name,
                "axes": self.custom.get("axes") if custom else None,
                "train": np.round(np.column_stack([self.X_train, self.y_train]), 3).tolist(),
                "test": np.round(np.column_stack([self.X_test, self.y_test]), 3).tolist(),
                "features": [{"name": f, "map": _quantize(self.neuron_grid[:, i])}
                             for i, f in enumerate(self.settings["features"])]}

    def frame(self) -> dict:
        """Losses, the output's heat map, each hidden neuron's heat map and the weights."""
        from ..diagnostics import activation_statistics

        with np.errstate(all="ignore"):
            stats = activation_statistics(self.model, self.neuron_grid)  # Input left out
            predicted = self.model.predict(self.output_grid)
        output = predicted[:, 0] if predicted.shape[1] == 1 else predicted.max(axis=1)
        computed = [layer for layer in self.model.layers if not isinstance(layer, layers.Input)]
        finite = functools.partial(np.nan_to_num, nan=0.0, posinf=1e6, neginf=-1e6)
        neurons = [[_quantize(values[:, j]) for j in range(values.shape[1])]
                   for values in (finite(record["values"])
                                  for layer, record in zip(computed[:-1], stats)
                                  if isinstance(layer, layers.Dense))]
        output = finite(output)
        dense = [layer for layer in self.model.layers if isinstance(layer, layers.Dense)]
        weights = [np.nan_to_num(layer.kernel.data).round(4).tolist() for layer in dense]
        message = {"type": "frame", "epoch": self.epoch,
                   "train": self.train_metrics, "test": self.test_metrics,
                   "output": _quantize(output), "neurons": neurons, "weights": weights,
                   "history": {k: v[-200:] for k, v in self.history.items()},
                   "batch": self.model.last_batch}
        if predicted.shape[1] > 1:  # the class of each pixel; "output" is its probability
            message["output_class"] = np.nan_to_num(predicted).argmax(axis=1).astype(
                np.uint8).tobytes().hex()
            # and every class's probability: the page mixes the class colours by them,
            # so the map is smooth at any class count (no staircase at the borders)
            probabilities = np.clip(np.nan_to_num(predicted), 0.0, 1.0)
            message["output_probs"] = [np.round(probabilities[:, k] * 255).astype(np.uint8)
                                       .tobytes().hex() for k in range(predicted.shape[1])]
        return message

    # -- export --------------------------------------------------------------------------------
    def python_code(self) -> str:
        """nnlearn code that builds the same data and features, and the same network
        (generated from the model's config by :func:`nnlearn.models.python_source`)."""
        s = self.settings
        if s["dataset"] == CUSTOM:  # uploaded or drawn: the points come from the data export
            data = ["import nnlearn as nl", "",
                    "with np.load('playground-data.npz') as data:  # the page's 'data' link",
                    "    X_train, X_test = data['X_train'], data['X_test']",
                    "    y_train, y_test = data['y_train'], data['y_test']", "", ""]
        else:
            generator = DATASETS[s["dataset"]]
            if s["dataset"] in MULTICLASS:
                source = ["import nnlearn as nl",
                          f"from nnlearn.playground.data import {generator.__name__}",
                          "from nnlearn.model_selection import train_test_split", "",
                          f"X, y = {generator.__name__}({s['samples']}, "
                          f"classes={s['classes']}, noise={s['noise'] / 100!r}, "
                          f"random_state={s['seed']})"]
            else:
                source = ["import nnlearn as nl",
                          "from nnlearn.model_selection import train_test_split", "",
                          f"X, y = nl.datasets.{generator.__name__}({s['samples']}, "
                          f"noise={s['noise'] / 100!r}, random_state={s['seed']})"]
            data = [*source,
                    "X_train, X_test, y_train, y_test = train_test_split(",
                    f"    X, y.astype(np.float32), test_size={1 - s['train_ratio'] / 100!r}, "
                    f"random_state={s['seed']})", "", ""]
        lines = [
            "import numpy as np", "",
            *data,
            "def features(X):",
            "    x1, x2 = X[:, 0], X[:, 1]",
            "    return np.column_stack([" + ", ".join(FEATURE_CODE[f] for f in s["features"])
            + "]).astype(np.float32)", "", "",
            *_schedule_as_code(python_source(self.model, imports=False)).splitlines(),
            f"model.fit(features(X_train), y_train, epochs={max(self.epoch, 1)}, "
            f"batch_size={s['batch_size']}, seed={s['seed']})",
            "print(model.evaluate(features(X_test), y_test, return_dict=True))",
            "",
            "# or load the model trained in the playground:",
            "# model = nl.load_model('playground.nnlearn')",
        ]
        return "\n".join(lines) + "\n"

    def model_bytes(self) -> bytes:
        """The model file (``nnlearn.load_model`` reads it), with the settings in its
        metadata."""
        self.model.metadata = {"playground": self.settings, "epoch": self.epoch,
                               "features": self.settings["features"]}
        buffer = io.BytesIO()
        self.model.save(buffer)
        return buffer.getvalue()

    def onnx_bytes(self) -> bytes:
        """The network as an ONNX graph (:func:`nnlearn.interop.onnx.to_onnx`), the
        settings in its metadata as in :meth:`model_bytes`: its input is the ticked
        features of the points (the columns of ``x_train``, in the order of
        ``settings["features"]``), its output what ``model.predict`` gives (the class
        probabilities, or the value).  ModuleNotFoundError without the ``onnx`` extra;
        NotImplementedError (naming it) for a layer or activation ONNX cannot express."""
        from ..interop.onnx import to_onnx

        self.model.metadata = {"playground": self.settings, "epoch": self.epoch,
                               "features": self.settings["features"]}
        return to_onnx(self.model).SerializeToString()

    def data_bytes(self) -> bytes:
        """The points and their features as an .npz (x_train, y_train, x_test, y_test
        are the model's inputs; X_* the raw coordinates)."""
        buffer = io.BytesIO()
        np.savez(buffer, X_train=self.X_train, X_test=self.X_test, x_train=self.x_train,
                 x_test=self.x_test, y_train=self.y_train, y_test=self.y_test)
        return buffer.getvalue()
