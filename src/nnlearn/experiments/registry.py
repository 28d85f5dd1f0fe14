"""The experiment registry: every experiment of the curriculum is a function
``fn(seed=0, quick=False, plots=True) -> ExperimentResult`` registered under a name.

``quick`` runs reduced sizes (fewer samples, epochs or units: the test suite's setting);
``plots`` builds the figures (needs matplotlib).  Given a seed, the numbers are
deterministic.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from pathlib import Path

import numpy as np


@dataclasses.dataclass
class ExperimentResult:
    """An experiment's numbers (JSON-serialisable dict) and figures (name -> Figure)."""

    name: str
    numbers: dict
    figures: dict = dataclasses.field(default_factory=dict)
    summary_lines: list = dataclasses.field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the terminal: the headline numbers."""
        return "\n".join([f"{self.name}:", *(f"  {line}" for line in self.summary_lines)])

    def save(self, directory) -> list:
        """Write ``numbers.json`` and one PNG per figure into ``directory`` (created if
        needed); returns the paths written."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        path = directory / "numbers.json"
        path.write_text(json.dumps(_jsonable(self.numbers), indent=2, allow_nan=False) + "\n")
        written.append(path)
        for name, figure in self.figures.items():
            path = directory / f"{name}.png"
            figure.savefig(path, dpi=110)
            written.append(path)
        return written


def _jsonable(value):
    """Numbers as plain floats/ints/lists; nan and inf become None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


#: The lesson path: number -> topic.  Every experiment belongs to one lesson;
#: :data:`EXPERIMENTS` is ordered by lesson, and :func:`by_lesson` groups it.
LESSONS: dict = {
    1: "Neurons and logic gates",
    2: "Hebb and the perceptron",
    3: "Linear models and gradient descent",
    4: "Logistic and softmax regression",
    5: "Multilayer networks and backpropagation",
    6: "Optimization",
    7: "Initialization and normalization",
    8: "Regularization",
    9: "Model selection",
    10: "MNIST",
    11: "Recurrent networks",
}


@dataclasses.dataclass(frozen=True)
class Experiment:
    """A registered experiment: its name, function, one-line description, primary
    sources, lesson number (a key of :data:`LESSONS`) and what to notice in its output."""

    name: str
    function: object
    description: str
    source: str
    lesson: int = 0
    notice: str = ""

    @property
    def lesson_title(self) -> str:
        """The lesson's topic, e.g. ``"Hebb and the perceptron"``."""
        return LESSONS.get(self.lesson, "")

    def __call__(self, seed: int = 0, quick: bool = False, plots: bool = True):
        return self.function(seed=seed, quick=quick, plots=plots)


EXPERIMENTS: dict = {}


def register(name: str, description: str, source: str, lesson: int = 0, notice: str = ""):
    """Decorator: add ``fn`` to :data:`EXPERIMENTS` under ``name``, in lesson ``lesson``
    (see :data:`LESSONS`) with a short ``notice`` ("what to notice") text.

    :data:`EXPERIMENTS` stays ordered by lesson (registration order within a lesson)."""
    if lesson and lesson not in LESSONS:
        raise ValueError(f"unknown lesson {lesson!r}; expected one of {sorted(LESSONS)}")

    def decorate(function):
        EXPERIMENTS[name] = Experiment(name, function, description, source, lesson, notice)
        ordered = sorted(EXPERIMENTS.items(), key=lambda item: item[1].lesson or len(LESSONS) + 1)
        EXPERIMENTS.clear()
        EXPERIMENTS.update(ordered)
        return function
    return decorate


def by_lesson() -> list:
    """The experiments grouped by lesson, in lesson order: a list of
    ``(number, title, [Experiment, ...])``; lessons without an experiment are left out.

        >>> from nnlearn import experiments
        >>> [(n, [e.name for e in group]) for n, _, group in experiments.by_lesson()][:2]
        [(1, ['mcp-gates']), (2, ['hebb-and', 'perceptron'])]
    """
    groups = []
    for number, title in LESSONS.items():
        members = [e for e in EXPERIMENTS.values() if e.lesson == number]
        if members:
            groups.append((number, title, members))
    others = [e for e in EXPERIMENTS.values() if e.lesson not in LESSONS]
    if others:
        groups.append((0, "Other", others))
    return groups


def get(name: str) -> Experiment:
    """The experiment called ``name``; an unknown name raises ValueError with the closest
    names."""
    if name in EXPERIMENTS:
        return EXPERIMENTS[name]
    close = difflib.get_close_matches(name, EXPERIMENTS, n=3, cutoff=0.5)
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    raise ValueError(f"unknown experiment {name!r}.{hint} "
                     "See `nnlearn experiments list`.")


def run(name: str, seed: int = 0, quick: bool = False, plots: bool = True) -> ExperimentResult:
    """Run the experiment ``name`` (see :data:`EXPERIMENTS`).

    Parameters
    ----------
    name : str
        A registered experiment, e.g. ``"perceptron"`` (``nnlearn experiments list``).
    seed : int
        The random seed of its data, initial weights and shuffling: the same seed gives
        the same numbers and figures.
    quick : bool
        Smaller data and fewer epochs (what the test suite runs).
    plots : bool
        Draw the figures (needs matplotlib); False returns the numbers only.

    Returns
    -------
    ExperimentResult
        Its numbers (``numbers``), figures (``figures``) and summary lines.
    """
    if plots:
        from ..plot import require_matplotlib

        require_matplotlib()
    return get(name)(seed=seed, quick=quick, plots=plots)
