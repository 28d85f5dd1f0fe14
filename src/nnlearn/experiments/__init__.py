"""The curriculum's experiments, each a function returning its numbers and figures.

    >>> from nnlearn import experiments
    >>> sorted(experiments.EXPERIMENTS)[:3]
    ['dropout-early-stopping', 'hebb-and', 'initialization']
    >>> result = experiments.run("hebb-and", plots=False)
    >>> result.numbers["predictions"]
    [1, -1, -1, -1]

From the shell: ``nnlearn experiments list`` and
``nnlearn experiments run NAME --out DIR`` (PNGs and a ``numbers.json``).
"""

from . import linear_models, mnist, neurons, second_order, training  # noqa: F401  (register)
from .registry import EXPERIMENTS, Experiment, ExperimentResult, get, register, run

__all__ = ["EXPERIMENTS", "Experiment", "ExperimentResult", "get", "register", "run"]
