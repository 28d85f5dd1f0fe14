r"""The full-batch methods that search along a direction: L-BFGS (Liu & Nocedal 1989) and
nonlinear conjugate gradient (Fletcher & Reeves 1964; Polak & Ribiere 1969; Hestenes &
Stiefel 1952).  Each ``minimize(params, objective)`` is one iteration on an explicit
:class:`~.objective.Objective` (a closure computing the full-batch loss and setting
``.grad`` is made one); in ``fit`` one epoch is one iteration (``full_batch``).
"""

from __future__ import annotations

import numpy as np

from ._arguments import (fraction, nonnegative, open_unit, positive, positive_int,
                         wolfe_constants)
from .first_order import Optimizer
from .line_search import LINE_SEARCHES, strong_wolfe_line_search
from .objective import Objective

__all__ = ["FullBatchMethod", "LBFGS", "ConjugateGradient"]


class LBFGS(Optimizer):
    r"""Limited-memory BFGS (Liu & Nocedal 1989), full batch.

    Each ``minimize(params, objective)`` is one iteration: the search direction
    $d = -H g$ comes from the two-loop recursion over the last ``history_size`` pairs
    $s = W_{k+1} - W_k$, $y = g_{k+1} - g_k$ ($H_0 = s^\top y / y^\top y$), then a line
    search along $d$ from step 1 (``learning_rate``):

    * ``line_search="armijo"`` (the default): backtracking, halving the step until the
      Armijo condition $f(W + a d) \le f(W) + c_1 a \, g^\top d$ holds;
    * ``line_search="strong_wolfe"``: :func:`~.line_search.strong_wolfe_line_search`
      (Nocedal & Wright 2006, Algorithms 3.5 and 3.6), which also asks
      $|g(W + a d)^\top d| \le c_2 |g^\top d|$, so that $s^\top y > 0$ always holds
      ($c_2 = 0.9$, their value for quasi-Newton methods).

    A pair is kept only when $s^\top y > 0$, so $H$ stays positive definite; with every
    $|g| \le$ ``tolerance_grad`` the step does nothing.  The objective (an
    :class:`~.objective.Objective`, or a closure) must compute the loss over the full
    data set and set every ``.grad`` (``full_batch``: in ``fit`` one epoch is one L-BFGS
    iteration).
    """

    full_batch = True

    def __init__(self, learning_rate=1.0, history_size: int = 10, c1: float = 1e-4,
                 max_line_search: int = 25, tolerance_grad: float = 1e-12, c2: float = 0.9,
                 line_search: str = "armijo"):
        super().__init__(learning_rate)
        self.tolerance_grad = nonnegative(tolerance_grad, "tolerance_grad")
        if not isinstance(history_size, int) or history_size < 1:
            raise ValueError(f"history_size must be a positive integer; got {history_size!r}")
        self.history_size = history_size
        if line_search not in LINE_SEARCHES:
            raise ValueError(f"line_search must be one of {', '.join(map(repr, LINE_SEARCHES))}"
                             f"; got {line_search!r}")
        self.line_search = line_search
        if line_search == "strong_wolfe":
            self.c1, self.c2 = wolfe_constants(c1, c2)
        else:
            self.c1, self.c2 = fraction(c1, "c1"), open_unit(c2, "c2")
        self.max_line_search = positive_int(max_line_search, "max_line_search")
        self._s, self._y = [], []
        self.last_loss = None

    def build(self, params):
        self._state = []
        self._params = list(params)
        self._s, self._y = [], []

    def _direction(self, g: np.ndarray) -> np.ndarray:
        q = -g.copy()
        alphas = []
        for s, y in zip(reversed(self._s), reversed(self._y)):
            rho = 1.0 / y.dot(s)
            a = rho * s.dot(q)
            q -= a * y
            alphas.append((a, rho, s, y))
        if self._s:
            q *= self._s[-1].dot(self._y[-1]) / self._y[-1].dot(self._y[-1])
        for a, rho, s, y in reversed(alphas):
            b = rho * y.dot(q)
            q += (a - b) * s
        return q

    def apply(self, params):
        raise TypeError("LBFGS cannot update from gradients alone: call "
                        "minimize(params, closure), closure() computing the full-batch loss "
                        "and setting .grad")

    def minimize(self, params, closure):
        """One iteration on ``closure``, a closure or an :class:`~.objective.Objective`."""
        if self._state is None:
            self.build(params)
        objective = Objective.of(params, closure)
        loss, g = objective.value_and_grad()
        w = objective.weights()
        if np.max(np.abs(g), initial=0.0) <= self.tolerance_grad:  # converged: stay
            self.iterations += 1
            self.last_loss = loss
            return loss
        d = self._direction(g)
        slope = g.dot(d)
        if slope >= 0:  # not a descent direction: restart from steepest descent
            self._s, self._y = [], []
            d, slope = -g, -g.dot(g)
        a = self.current_learning_rate
        if self.line_search == "strong_wolfe":
            a, new_loss, g_new = strong_wolfe_line_search(
                objective.along(w, d), loss, slope, a, self.c1, self.c2,
                self.max_line_search)
            objective.assign(w + a * d)
            if g_new is None:  # no decrease found: stay where we were
                new_loss, g_new = loss, g
        else:
            for _ in range(self.max_line_search):
                new_loss = objective.value(w + a * d)
                if np.isfinite(new_loss) and new_loss <= loss + self.c1 * a * slope:
                    break
                a *= 0.5
            else:  # no decrease found: stay where we were
                objective.value(w)
                new_loss = loss
            g_new = objective.gradient()
        s, y = a * d, g_new - g
        if y.dot(s) > max(1e-10 * y.dot(y), 1e-300):  # keep H positive definite
            self._s.append(s)
            self._y.append(y)
            if len(self._s) > self.history_size:
                del self._s[0], self._y[0]
        self.iterations += 1
        self.last_loss = new_loss  # the loss where the iteration ended
        return loss

    def get_state(self):
        """The curvature pairs: S and Y, one row per kept pair (float64)."""
        n = sum(p.size for p in self._params) if self._s else 0
        return [np.array(self._s).reshape(-1, n), np.array(self._y).reshape(-1, n)]

    def set_state(self, params, arrays, iterations):
        self.build(params)
        arrays = list(arrays)
        if arrays:
            if len(arrays) != 2 or arrays[0].shape != arrays[1].shape:
                raise ValueError("LBFGS state: expected the arrays S and Y of one shape")
            size = sum(p.size for p in params)
            if len(arrays[0]) and arrays[0].shape[1] != size:
                raise ValueError(f"LBFGS state: pairs of {arrays[0].shape[1]} values for "
                                 f"{size} parameters")
            self._s = [row.astype(np.float64) for row in arrays[0]]
            self._y = [row.astype(np.float64) for row in arrays[1]]
        self.iterations = int(iterations)

    def get_config(self):
        return {**super().get_config(), "history_size": self.history_size, "c1": self.c1,
                "max_line_search": self.max_line_search, "tolerance_grad": self.tolerance_grad,
                "c2": self.c2, "line_search": self.line_search}


class FullBatchMethod(Optimizer):
    """A full-batch method that updates from its objective alone (an
    :class:`~.objective.Objective`, or a closure made one), and the check that the
    objective stays the same between calls."""

    full_batch = True

    def build(self, params):
        self._state = []
        self._end = None  # (flat weights, loss) where the last minimize left them

    def apply(self, params):
        raise TypeError(f"{type(self).__name__} cannot update from gradients alone: call "
                        "minimize(params, closure), closure() computing the full-batch loss "
                        "and setting .grad")

    def _evaluate(self, objective) -> tuple:
        """(loss, flat weights) at the start of a step, after checking that the objective
        is the one the last step left (see _check_same_objective)."""
        if self._state is None:
            self.build(objective.params)
        loss = objective.value()
        w = objective.weights()
        self._check_same_objective(w, loss)
        return loss, w

    def _check_same_objective(self, w: np.ndarray, loss: float) -> None:
        """Refuse an objective whose loss changed at unchanged weights: its data changed
        between calls (mini-batches), or it is random (dropout)."""
        if self._end is None or not np.array_equal(w, self._end[0]):
            return
        before = self._end[1]
        if abs(loss - before) > 1e-6 * max(abs(loss), abs(before)) + 1e-12:
            raise ValueError(
                f"{type(self).__name__} needs the same objective at every call (the full "
                f"batch, no dropout): at unchanged weights the loss went from {before:.7g} "
                f"to {loss:.7g}, so the closure's data changed between calls (mini-batches?)."
                " fit gives it one batch of all samples per epoch; with minimize, let the "
                "closure compute the loss over the whole data set")

    def _remember_end(self, objective, loss: float) -> None:
        self._end = (objective.weights(), float(loss))
        self.last_loss = float(loss)


class ConjugateGradient(FullBatchMethod):
    r"""Nonlinear conjugate gradient (Fletcher & Reeves 1964; Polak & Ribiere 1969;
    Hestenes & Stiefel 1952), full batch, with a strong Wolfe line search.

    Each ``minimize(params, objective)`` is one iteration k:

    $$d_0 = -g_0; \qquad d_k = -g_k + \beta_k d_{k-1}; \qquad W_{k+1} = W_k + a_k d_k$$
    $$\beta^{FR}_k = \frac{g_k^\top g_k}{g_{k-1}^\top g_{k-1}}, \qquad
      \beta^{PR+}_k = \max\left(0, \frac{g_k^\top y_k}{g_{k-1}^\top g_{k-1}}\right), \qquad
      \beta^{HS}_k = \frac{g_k^\top y_k}{d_{k-1}^\top y_k}, \qquad y_k = g_k - g_{k-1}$$

    (``method="fletcher_reeves"``, ``"polak_ribiere"``, ``"hestenes_stiefel"``; Nocedal
    & Wright 2006, Algorithm 5.4 and eqs. 5.44-5.46).  PR+ (Powell 1986; Gilbert &
    Nocedal 1992) restarts by itself when $\beta^{PR} < 0$; every method also restarts
    ($d = -g$) every ``restart`` iterations (the number of parameter values when None),
    whenever $d$ is not a descent direction, and after a failed line search.  $a_k$ comes
    from :func:`~.line_search.strong_wolfe_line_search` with $c_2 = 0.1$ (Nocedal &
    Wright's value for CG; Fletcher-Reeves needs $c_2 < 1/2$); the first trial step is
    ``learning_rate`` $\cdot \min(1, 1 / \sum |g|)$ after a restart and
    $a_{k-1} g_{k-1}^\top d_{k-1} / g_k^\top d_k$ otherwise (eq. 3.60).  With every
    $|g| \le$ ``tolerance_grad`` the iteration does nothing.

    The objective must compute the loss over the full data set (``full_batch``: in
    ``fit`` one epoch is one iteration); one whose loss changes at unchanged weights
    (mini-batches, dropout) is refused with a ValueError.
    """

    METHODS = ("fletcher_reeves", "polak_ribiere", "hestenes_stiefel")
    _ALIASES = {"fr": "fletcher_reeves", "pr": "polak_ribiere", "prp": "polak_ribiere",
                "pr+": "polak_ribiere", "hs": "hestenes_stiefel"}

    def __init__(self, learning_rate=1.0, method: str = "polak_ribiere",
                 restart: int | None = None, c1: float = 1e-4, c2: float = 0.1,
                 max_line_search: int = 25, tolerance_grad: float = 1e-12):
        super().__init__(positive(learning_rate, "learning_rate"))
        key = method.lower().replace("-", "_") if isinstance(method, str) else method
        key = self._ALIASES.get(key, key)
        if key not in self.METHODS:
            raise ValueError(f"method must be one of {', '.join(map(repr, self.METHODS))} "
                             f"(or 'fr', 'pr', 'hs'); got {method!r}")
        self.method = key
        self.restart = None if restart is None else positive_int(restart, "restart")
        self.c1, self.c2 = wolfe_constants(c1, c2)
        self.max_line_search = positive_int(max_line_search, "max_line_search")
        self.tolerance_grad = nonnegative(tolerance_grad, "tolerance_grad")
        self.last_loss = None
        self._clear()

    def _clear(self):
        self._d = self._g = None  # d_{k-1}, g_{k-1}
        self._step = self._slope = 0.0  # a_{k-1}, g_{k-1}.d_{k-1}
        self._since_restart = 0

    def build(self, params):
        super().build(params)
        self._clear()

    def beta(self, g: np.ndarray) -> float | None:
        """beta_k of the chosen method from g_k and the stored g_{k-1}, d_{k-1}; None
        when it is undefined (a zero denominator: restart)."""
        g_prev, d_prev = self._g, self._d
        if self.method == "fletcher_reeves":
            numerator, denominator = g.dot(g), g_prev.dot(g_prev)
        elif self.method == "polak_ribiere":
            numerator, denominator = g.dot(g - g_prev), g_prev.dot(g_prev)
        else:
            y = g - g_prev
            numerator, denominator = g.dot(y), d_prev.dot(y)
        if denominator == 0 or not np.isfinite(denominator):
            return None
        beta = numerator / denominator
        return max(0.0, beta) if self.method == "polak_ribiere" else beta

    def minimize(self, params, closure):
        """One iteration on ``closure``, a closure or an :class:`~.objective.Objective`."""
        objective = Objective.of(params, closure)
        loss, w = self._evaluate(objective)
        g = objective.gradient()
        self.iterations += 1
        if np.max(np.abs(g), initial=0.0) <= self.tolerance_grad:  # converged: stay
            self._remember_end(objective, loss)
            return loss
        d = None
        if self._d is not None and self._d.size == g.size \
                and self._since_restart < (self.restart or g.size):
            beta = self.beta(g)
            if beta is not None:
                d = -g + beta * self._d
                if not g.dot(d) < 0:  # not a descent direction
                    d = None
        if d is None:  # (re)start from steepest descent
            d, self._since_restart = -g, 0
            step = self.learning_rate * min(1.0, 1.0 / np.abs(g).sum())
        slope = float(g.dot(d))
        if self._since_restart:
            step = self._step * self._slope / slope  # Nocedal & Wright eq. 3.60
        a, new_loss, _ = strong_wolfe_line_search(objective.along(w, d), loss, slope,
                                                  step, self.c1, self.c2,
                                                  self.max_line_search)
        objective.assign(w + a * d)
        if a == 0:  # no decrease along d: stay, and restart next time
            self._clear()
            self._remember_end(objective, loss)
            return loss
        self._d, self._g, self._step, self._slope = d, g, a, slope
        self._since_restart += 1
        self._remember_end(objective, new_loss)
        return loss

    def get_state(self):
        """d_{k-1}, g_{k-1} and [a_{k-1}, g_{k-1}.d_{k-1}, iterations since the restart]."""
        if self._d is None:
            return []
        return [self._d.copy(), self._g.copy(),
                np.array([self._step, self._slope, self._since_restart], np.float64)]

    def set_state(self, params, arrays, iterations):
        self.build(params)
        arrays = list(arrays)
        if arrays:
            size = sum(p.size for p in params)
            if len(arrays) != 3 or arrays[0].shape != (size,) or arrays[1].shape != (size,) \
                    or arrays[2].shape != (3,):
                raise ValueError(f"ConjugateGradient state: expected d and g of {size} values "
                                 f"and 3 scalars; got shapes {[a.shape for a in arrays]}")
            self._d, self._g = (a.astype(np.float64) for a in arrays[:2])
            self._step, self._slope, since = (float(v) for v in arrays[2])
            self._since_restart = int(since)
        self.iterations = int(iterations)

    def get_config(self):
        return {**super().get_config(), "method": self.method, "restart": self.restart,
                "c1": self.c1, "c2": self.c2, "max_line_search": self.max_line_search,
                "tolerance_grad": self.tolerance_grad}
