"""The curriculum's experiments, each a function returning its numbers and figures.

    >>> from nnlearn import experiments
    >>> sorted(experiments.EXPERIMENTS)[:3]
    ['dropout-early-stopping', 'hebb-and', 'initialization']
    >>> result = experiments.run("hebb-and", plots=False)
    >>> result.numbers["predictions"]
    [1, -1, -1, -1]

``EXPERIMENTS`` is ordered by lesson (``LESSONS``: 1 Neurons and logic gates ... 11
Recurrent networks) and ``by_lesson()`` groups it.  From the shell: ``nnlearn experiments list`` and
``nnlearn experiments run NAME --out DIR`` (PNGs and a ``numbers.json``).
"""

from . import neurons, linear_models, training, second_order, mnist  # noqa: F401  (register, in order)
from . import cnn  # noqa: F401  (registers mnist-cnn, lesson 10)
from . import recurrent  # noqa: F401  (registers rnn-sine and vanishing-gradients, lesson 11)
from .registry import (EXPERIMENTS, LESSONS, Experiment, ExperimentResult, by_lesson, get,
                       register, run)

__all__ = ["EXPERIMENTS", "LESSONS", "Experiment", "ExperimentResult", "by_lesson", "get",
           "register", "run"]
