r"""Canonical links: the output activations whose loss has the gradient
$\partial L/\partial z = f(z) - t$ at the logits (McCullagh & Nelder 1989; Bridle
1990 for the softmax), declared once.

A loss paired with its canonical link is computed from the logits $z$ in one step,
exact for any logit, and a compiled step needs nothing else to start backpropagation
(:class:`nnlearn.losses.Head`).  The element-wise links are two element rules each
(as the activations of :mod:`nnlearn.activations`): the output $f(z)$, which *is*
the activation's rule, and the per-element loss $l(z, t)$:

| link | $f(z)$ | $l(z, t)$ |
|------|--------|-----------|
| sigmoid | $\sigma(z)$ | $\max(z, 0) - z t + \ln(1 + e^{-\lvert z\rvert})$ |
| identity | $z$ | $(z - t)^2$ (squared error) |

The sigmoid's loss is the binary cross-entropy written so that the large terms cancel
before the small one is added: finite for any $z$.

The softmax link is not element-wise: its loss $-\sum_k t_k \log
\operatorname{softmax}(z)_k$ is a row's, computed as $(z_k - m) - \ln\sum_j
e^{z_j - m}$ with $m = \max z$; NumPy's lowering is
:func:`nnlearn.autograd.softmax_cross_entropy` (vectorized over the rows), the compiled
step's is a loop over each row (:mod:`nnlearn.lowering._dense_template`); the tests compare them.
"""

from __future__ import annotations

import numpy as np

from . import activations

__all__ = ["ELEMENTWISE_LINKS", "logistic_loss", "squared_error", "CODES"]


def logistic_loss(z, t, one):
    r"""$-t \ln \sigma(z) - (1 - t) \ln(1 - \sigma(z)) = (\max(z, 0) - z t) + \ln(1 + e^{-|z|})$,
    the binary cross-entropy on the logit (Bridle 1990)."""
    return (np.maximum(z, one - one) - z * t) + np.log1p(np.exp(-np.abs(z)))


def squared_error(z, t, one):
    r"""$(z - t)^2$, the squared error (Gauss 1809)."""
    return (z - t) * (z - t)


#: link -> (its output activation, its per-element loss rule)
ELEMENTWISE_LINKS = {
    "sigmoid": (activations.sigmoid, logistic_loss),
    "identity": (activations.linear, squared_error),
}

#: the links' codes in compiled loops (losses.Head.LINKS's order)
CODES = {"softmax": 0, "sigmoid": 1, "identity": 2}
