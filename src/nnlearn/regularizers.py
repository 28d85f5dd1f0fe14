r"""Weight penalties added to the loss, with Keras's names and defaults: training
minimizes $L(W) + R(W)$ with

$$
R(W) = \lambda_1 \sum_i \lvert w_i\rvert + \lambda_2 \sum_i w_i^2 ,
$$

$\lambda_1$ = ``l1``, $\lambda_2$ = ``l2``.  Applied to kernels, not biases.

* L1 (lasso, Tibshirani 1996): $\lambda_1 \sum_i \lvert w_i\rvert$, which drives weights
  to exactly 0;
* L2 (ridge, Hoerl & Kennard 1970; weight decay): $\lambda_2 \sum_i w_i^2$, gradient
  $2 \lambda_2 w$, which shrinks every weight in proportion;
* L1L2 (the elastic net, Zou & Hastie 2005): both."""

from __future__ import annotations

import numpy as np

from . import autograd as ag
from ._registry import lookup

__all__ = ["Regularizer", "L1", "L2", "L1L2", "l1", "l2", "l1_l2", "get"]


class Regularizer:
    r"""The penalty $R(w) = \lambda_1 \sum_i \lvert w_i\rvert + \lambda_2 \sum_i w_i^2$."""

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
        r"""The strengths $\lambda_1$ = ``l1`` and $\lambda_2$ = ``l2`` (saved in model files)."""
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self) -> str:
        return f"Regularizer(l1={self.l1}, l2={self.l2})"


def L1(l1: float = 0.01) -> Regularizer:  # noqa: N802 (Keras's name)
    r"""The lasso penalty $\lambda_1 \sum_i \lvert w_i\rvert$ (Tibshirani 1996)."""
    return Regularizer(l1=l1)


def L2(l2: float = 0.01) -> Regularizer:  # noqa: N802
    r"""The ridge penalty (weight decay) $\lambda_2 \sum_i w_i^2$ (Hoerl & Kennard 1970)."""
    return Regularizer(l2=l2)


def L1L2(l1: float = 0.01, l2: float = 0.01) -> Regularizer:  # noqa: N802
    r"""Both penalties: $\lambda_1 \sum_i \lvert w_i\rvert + \lambda_2 \sum_i w_i^2$ (the
    elastic net, Zou & Hastie 2005)."""
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
