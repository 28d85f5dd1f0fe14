"""Data sets: MNIST (seed 004) and, later, the seeds' synthetic sets."""

from . import mnist

__all__ = ["mnist"]
