"""Data sets: MNIST (LeCun et al. 1998) and seeded generators for the curriculum's
synthetic sets and TensorFlow Playground's 2-D sets; sequence tasks for recurrent networks
(nnlearn.datasets.sequences)."""

from .sequences import make_adding_problem, make_copy_memory, make_sine_forecast
from .synthetic import (make_circle, make_gaussian, make_gaussian_regression, make_grades,
                        make_line, make_logic_gate, make_plane, make_sin, make_spiral,
                        make_study_hours, make_xor)

__all__ = ["mnist", "make_line", "make_study_hours", "make_grades", "make_sin",
           "make_logic_gate", "make_circle", "make_xor", "make_gaussian", "make_spiral",
           "make_plane", "make_gaussian_regression", "make_sine_forecast",
           "make_adding_problem", "make_copy_memory"]


def __getattr__(name):
    """``nnlearn.datasets.mnist`` imported on first use (its file, zip and hash modules
    are several milliseconds of ``import nnlearn``)."""
    if name == "mnist":
        import importlib

        return importlib.import_module(f"{__name__}.mnist")
    raise AttributeError(f"module 'nnlearn.datasets' has no attribute {name!r}")
