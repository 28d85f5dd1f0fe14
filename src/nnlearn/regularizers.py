"""Weight penalties added to the loss (regularization: L(W) + alpha R(W)),
with Keras's names and defaults.  Applied to kernels, not biases.

* L1 (lasso):  l1 * sum |w|
* L2 (ridge):  l2 * sum w^2
* L1L2:        both
"""

from __future__ import annotations

import numpy as np

from . import autograd as ag
from ._registry import lookup

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get"]


class Regularizer:
    """penalty(w) = l1 * sum |w| + l2 * sum w^2."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0):
        for name, value in (("l1", l1), ("l2", l2)):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a non-negative number; got {value!r}")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, w) -> ag.Tensor:
        """The penalty as a Tensor (a constant 0 when both strengths are 0)."""
        terms = []
        if self.l1:
            terms.append(self.l1 * ag.abs(w).sum())
        if self.l2:
            terms.append(self.l2 * ag.sum_of_squares(w))
        if not terms:
            return ag.Tensor(np.zeros((), dtype=w.dtype))
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def get_config(self) -> dict:
        """The strengths l1 and l2 (saved in model files)."""
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self) -> str:
        return f"Regularizer(l1={self.l1}, l2={self.l2})"


def L1(l1: float = 0.01) -> Regularizer:  # noqa: N802 (Keras's name)
    """The lasso penalty l1 * sum |w| (Tibshirani 1996)."""
    return Regularizer(l1=l1)


def L2(l2: float = 0.01) -> Regularizer:  # noqa: N802
    """The ridge penalty (weight decay) l2 * sum w^2 (Hoerl & Kennard 1970)."""
    return Regularizer(l2=l2)


def L1L2(l1: float = 0.01, l2: float = 0.01) -> Regularizer:  # noqa: N802
    """Both penalties: l1 * sum |w| + l2 * sum w^2 (the elastic net, Zou & Hastie 2005)."""
    return Regularizer(l1=l1, l2=l2)


l1, l2, l1_l2 = L1, L2, L1L2

REGULARIZERS = {"l1": L1, "l2": L2, "l1_l2": L1L2}


def get(identifier, argument: str = "kernel_regularizer"):
    """None, a Regularizer, a name (Keras defaults: 0.01) or a config dict."""
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, dict):
        return Regularizer(**identifier)
    return lookup("regularizer", REGULARIZERS, identifier, argument)()
