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


@dataclasses.dataclass(frozen=True)
class Experiment:
    name: str
    function: object
    description: str
    source: str

    def __call__(self, seed: int = 0, quick: bool = False, plots: bool = True):
        return self.function(seed=seed, quick=quick, plots=plots)


EXPERIMENTS: dict = {}


def register(name: str, description: str, source: str):
    """Decorator: add ``fn`` to :data:`EXPERIMENTS` under ``name``."""
    def decorate(function):
        EXPERIMENTS[name] = Experiment(name, function, description, source)
        return function
    return decorate


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
    """Run the experiment ``name`` (see :data:`EXPERIMENTS`)."""
    if plots:
        from ..plot import require_matplotlib

        require_matplotlib()
    return get(name)(seed=seed, quick=quick, plots=plots)
