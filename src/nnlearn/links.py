r"""Canonical links: the output activations whose loss has the gradient
:math:`\partial L/\partial z = f(z) - t` at the logits (McCullagh & Nelder 1989; Bridle
1990 for the softmax), declared once.

A loss paired with its canonical link is computed from the logits :math:`z` in one step,
exact for any logit, and a compiled step needs nothing else to start backpropagation
(:class:`nnlearn.losses.Head`).  The element-wise links are two element rules each
(as the activations of :mod:`nnlearn.activations`): the output :math:`f(z)`, which *is*
the activation's rule, and the per-element loss :math:`l(z, t)`:

==========  =================  =====================================================
link        :math:`f(z)`       :math:`l(z, t)`
==========  =================  =====================================================
sigmoid     :math:`\sigma(z)`  :math:`\max(z, 0) - z t + \ln(1 + e^{-|z|})` (binary
                               cross-entropy: the large terms cancel before the
                               small one is added, finite for any z)
identity    :math:`z`          :math:`(z - t)^2` (squared error)
==========  =================  =====================================================

The softmax link is not element-wise: its loss :math:`-\sum_k t_k \log
\operatorname{softmax}(z)_k` is a row's, computed as :math:`(z_k - m) - \ln\sum_j
e^{z_j - m}` with :math:`m = \max z`; NumPy's lowering is
:func:`nnlearn.autograd.softmax_cross_entropy` (vectorized over the rows), the compiled
step's is a loop over each row (:mod:`nnlearn.lowering._dense_template`); the tests compare them.
"""

from __future__ import annotations

import numpy as np

from . import activations

__all__ = ["ELEMENTWISE_LINKS", "logistic_loss", "squared_error", "CODES"]


def logistic_loss(z, t, one):
    """-t ln sigma(z) - (1 - t) ln(1 - sigma(z)) = (max(z, 0) - z t) + ln(1 + e^-|z|)."""
    return (np.maximum(z, one - one) - z * t) + np.log1p(np.exp(-np.abs(z)))


def squared_error(z, t, one):
    """(z - t)^2."""
    return (z - t) * (z - t)


#: link -> (its output activation, its per-element loss rule)
ELEMENTWISE_LINKS = {
    "sigmoid": (activations.sigmoid, logistic_loss),
    "identity": (activations.linear, squared_error),
}

#: the links' codes in compiled loops (losses.Head.LINKS's order)
CODES = {"softmax": 0, "sigmoid": 1, "identity": 2}
