r"""The full-batch rules that update each weight from its own gradients: Rprop (Riedmiller &
Braun 1993) and iRprop+ (Igel & Husken 2000), which use only the sign of g, and Quickprop
(Fahlman 1988), a secant step per weight.  Each has its own ``update`` per parameter
(their masks and branches are not one formula of element values).
"""

from __future__ import annotations

import math

import numpy as np

from ._arguments import pair, positive
from .first_order import Optimizer

__all__ = ["Rprop", "IRpropPlus", "Quickprop"]


def _etas(minus, plus):
    """(eta_minus, eta_plus) with 0 < eta_minus < 1 < eta_plus"""
    return 0 < minus < 1 < plus


def _step_sizes(low, high):
    """(minimum, maximum) with 0 <= minimum <= maximum"""
    return 0 <= low <= high


class Rprop(Optimizer):
    r"""Resilient backpropagation (Riedmiller & Braun 1993) in the form PyTorch's
    ``torch.optim.Rprop`` implements, with its defaults: Rprop without weight-backtracking
    where a sign change sets g to 0 for that step (iRprop- in Igel & Husken 2000's
    naming).  Element by element, with step sizes $\Delta$ starting at ``learning_rate``:

    $$\Delta_t = \begin{cases}
        \min(\eta^+ \Delta_{t-1}, \Delta_{\max}) & g_{t-1} g_t > 0 \\
        \max(\eta^- \Delta_{t-1}, \Delta_{\min}), \text{ and } g_t \leftarrow 0
            & g_{t-1} g_t < 0 \\
        \Delta_{t-1} & \text{otherwise}
      \end{cases} \qquad W \leftarrow W - \operatorname{sign}(g_t) \, \Delta_t$$

    Defaults (PyTorch's): learning_rate 0.01, etas (eta-, eta+) = (0.5, 1.2), step_sizes
    (Delta_min, Delta_max) = (1e-6, 50); Riedmiller & Braun used Delta_0 = 0.1.

    Only the sign of g is used, so its scale (and gradient clipping) does not matter.
    Rprop was made for batch learning: a sign change is read as having jumped over a
    minimum, which on mini-batches is as often sampling noise, and the step sizes then
    shrink to nothing (the reason RMSprop exists; Hinton 2012).  So ``full_batch`` is
    True: in ``fit`` one epoch is one step on all samples.  ``minimize``/``apply`` with a
    mini-batch closure still work, noisily.
    """

    slots = ("prev_gradient", "step_size")
    full_batch = True
    uses_scratch = True

    def __init__(self, learning_rate=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
        super().__init__(positive(learning_rate, "learning_rate"))
        self.etas = pair(etas, "etas", _etas)
        self.step_sizes = pair(step_sizes, "step_sizes", _step_sizes)

    def build(self, params):
        super().build(params)
        for state in self._state:
            state["step_size"][...] = self.learning_rate

    def _adapt(self, g, state, scratch):
        """Adapt the step sizes in place; returns the mask of the sign changes."""
        np.multiply(g, state["prev_gradient"], out=scratch)
        changed = scratch < 0
        step = state["step_size"]
        factor = np.where(scratch > 0, self.etas[1], np.where(changed, self.etas[0], 1.0))
        step *= factor.astype(step.dtype, copy=False)
        np.clip(step, *self.step_sizes, out=step)
        return changed

    def update(self, w, g, state, lr, scratch):
        changed = self._adapt(g, state, scratch)
        prev = state["prev_gradient"]
        np.copyto(prev, g)
        prev[changed] = 0                                     # g_t <- 0 where it flipped
        np.sign(prev, out=scratch)
        scratch *= state["step_size"]
        w -= scratch                                          # W -= sign(g) Delta

    def get_config(self):
        return {**super().get_config(), "etas": self.etas, "step_sizes": self.step_sizes}


class IRpropPlus(Rprop):
    r"""iRprop+ (Igel & Husken 2000): Rprop with weight-backtracking only when the error
    went up.  Element by element, $E_t$ being the loss at the current weights, $\Delta_t$
    as in :class:`Rprop`:

    $$\begin{cases}
        \Delta W_t = -\operatorname{sign}(g_t) \Delta_t; \ W \leftarrow W + \Delta W_t
            & g_{t-1} g_t \ge 0 \\
        W \leftarrow W - \Delta W_{t-1} \text{ if } E_t > E_{t-1};
            \ g_t \leftarrow 0; \ \Delta W_t = 0 & g_{t-1} g_t < 0
      \end{cases}$$

    The same defaults as :class:`Rprop` (PyTorch's; Igel & Husken used eta 0.5 / 1.2,
    Delta_max 50).  The rule needs the loss, so it updates through ``minimize(params,
    closure)`` only; the previous loss is saved with the state.  Full batch, like Rprop.
    """

    slots = ("prev_gradient", "step_size", "prev_update")
    scalars = ("_prev_loss",)

    def __init__(self, learning_rate=0.01, etas=(0.5, 1.2), step_sizes=(1e-6, 50.0)):
        super().__init__(learning_rate, etas, step_sizes)
        self._prev_loss = math.nan
        self._error_increased = False

    def apply(self, params):
        raise TypeError("IRpropPlus needs the loss to decide on backtracking: call "
                        "minimize(params, closure)")

    def minimize(self, params, closure):
        loss = float(closure())
        self._error_increased = loss > self._prev_loss  # False while there is none (nan)
        Optimizer.apply(self, params)
        self._prev_loss = loss
        return loss

    def update(self, w, g, state, lr, scratch):
        changed = self._adapt(g, state, scratch)
        prev, dw = state["prev_gradient"], state["prev_update"]
        if self._error_increased:
            w[changed] -= dw[changed]                         # weight-backtracking
        np.copyto(prev, g)
        prev[changed] = 0
        np.sign(prev, out=dw)
        dw *= state["step_size"]
        np.negative(dw, out=dw)                               # dW = -sign(g) Delta (0 if flipped)
        w += dw


class Quickprop(Optimizer):
    r"""Quickprop (Fahlman 1988): each weight's error taken as a parabola in that weight
    alone, fitted through the last two slopes, and the step jumps to its minimum:

    $$\Delta W_t = \Delta W_{t-1} \frac{g_t}{g_{t-1} - g_t}$$

    bounded by the maximum growth factor $\mu$ (1.75): $|\Delta W_t| \le \mu |\Delta
    W_{t-1}|$.  The variant is Fahlman's own code (quickprop1.c), element by element, with
    $\epsilon$ = ``learning_rate`` and shrink $= \mu / (1 + \mu)$: the first step (and any
    with $\Delta W_{t-1} = 0$) is $-\epsilon g_t$; otherwise, for $\Delta W_{t-1} > 0$
    (mirrored for $< 0$), $\Delta W_t$ is the sum of

    * $-\epsilon g_t$ if $g_t < 0$ (still going downhill: the gradient-descent term);
    * $\mu \Delta W_{t-1}$ if $g_t \le$ shrink $\cdot g_{t-1}$ (the parabola's step would
      grow more than $\mu$ times, or the slope did not shrink);
    * else the parabola's step above (the gradient-descent term when
      $g_{t-1} = g_t$);

    then $W \leftarrow W + \Delta W_t$.

    Fahlman's weight decay term is left to the layers' regularizers.  Like Rprop, the
    secant between two gradients assumes one error function, so ``full_batch`` is True.
    """

    slots = ("prev_gradient", "prev_update")
    full_batch = True

    def __init__(self, learning_rate=0.1, mu: float = 1.75, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self.mu = positive(mu, "mu")

    def update(self, w, g, state, lr, scratch):
        p, d = state["prev_gradient"], state["prev_update"]
        mu, shrink = self.mu, self.mu / (1 + self.mu)
        positive, negative = d > 0, d < 0
        moved = positive | negative
        denominator = p - g
        maximum = (positive & (g <= shrink * p)) | (negative & (g >= shrink * p))
        quadratic = moved & ~maximum & (denominator != 0)
        linear = ~moved | (positive & (g < 0)) | (negative & (g > 0)) \
            | (moved & ~maximum & (denominator == 0))
        step = np.where(linear, -lr * g, 0.0)
        step += np.where(maximum, mu * d, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            step += np.where(quadratic, d * g / np.where(quadratic, denominator, 1), 0.0)
        w += step.astype(w.dtype, copy=False)
        np.copyto(d, step, casting="same_kind")
        np.copyto(p, g)

    def get_config(self):
        return {**super().get_config(), "mu": self.mu}
