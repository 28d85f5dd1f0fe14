r"""Least squares: the Jacobian of the residuals from the engine, the residuals of a model,
and Levenberg-Marquardt (Levenberg 1944; Marquardt 1963), which needs them through its
:class:`~.objective.Objective`.
"""

from __future__ import annotations

import math

import numpy as np

from ._arguments import nonnegative, open_unit, positive, positive_int
from .full_batch import FullBatchMethod
from .objective import Objective

__all__ = ["jacobian", "least_squares_residuals", "LevenbergMarquardt"]


def jacobian(residual_fn, params, max_entries: int | None = None):
    """The residuals and their Jacobian, from the engine: (r, J) with r the values of
    ``residual_fn()`` (a Tensor of any shape, flattened) and J[i, j] = dr_i / dW_j, W
    being every value of ``params`` in order (each parameter flattened), both float64.

    One forward pass, then one reverse pass per residual: row i of J is the gradient of
    r_i (``grad(r, params, gradient=e_i)``).  ``max_entries`` (an int) refuses, with a
    ValueError giving the numbers, a J of more entries, before any reverse pass.
    """
    from ..autograd import Tensor, grad

    if max_entries is not None:
        max_entries = positive_int(max_entries, "max_entries")
    params = list(params)
    out = residual_fn()
    if not isinstance(out, Tensor):
        raise TypeError(f"jacobian: residual_fn must return a Tensor; got "
                        f"{type(out).__name__}")
    m, n = out.data.size, sum(p.size for p in params)
    if max_entries is not None and m * n > max_entries:
        raise ValueError(
            f"the Jacobian would have {m:,} residuals x {n:,} parameters = {m * n:,} entries "
            f"({m * n * 8 / 1e6:,.0f} MB in float64), over max_jacobian_entries="
            f"{max_entries:,}: train on fewer samples or a smaller network, or raise "
            "max_jacobian_entries")
    J = np.zeros((m, n))
    if m and n and out.requires_grad:
        seed = np.zeros(out.shape, out.dtype)
        flat = seed.reshape(-1)
        for i in range(m):
            flat[i] = 1
            rows = grad(out, params, gradient=seed, allow_unused=True)
            J[i] = np.concatenate([row.ravel() for row in rows])  # copies before the reset
            flat[i] = 0
    return np.asarray(out.data, np.float64).ravel(), J


def least_squares_residuals(model, x, y, max_entries: int | None = None):
    """The ``residuals`` of an :class:`~.objective.Objective` for ``model`` on the batch
    (x, y): a callable returning (r, J), r = outputs - targets at the current weights
    (n x outputs values, sample by sample) and J = dr/dW by :func:`jacobian`.

    The model's loss must be the mean squared error, mean(r^2): anything else raises a
    ValueError naming it.  Layer penalties are not residuals: the Levenberg-Marquardt
    step models the squared error alone (they still count when a step is accepted).
    """
    from .. import losses
    from ..autograd import Tensor

    if max_entries is not None:
        max_entries = positive_int(max_entries, "max_entries")
    loss = model.loss
    if not (isinstance(loss, losses.MeanSquaredError)
            or getattr(loss, "fn", None) is losses.mean_squared_error):
        name = "none (compile the model first)" if loss is None else \
            repr(getattr(loss, "name", None) or type(loss).__name__)
        raise ValueError(f"Levenberg-Marquardt minimizes a sum of squares: the model's loss "
                         f"must be the mean squared error (loss='mse'); got loss {name}")
    targets = np.asarray(y)

    def residual_fn():
        out = model(x, training=True)
        if targets.size != out.data.size:
            raise ValueError(f"y: {targets.size} target values for {out.data.size} outputs")
        return out - Tensor(targets.reshape(out.shape).astype(out.dtype))

    def residuals():
        return jacobian(residual_fn, model.params, max_entries)
    return residuals


class LevenbergMarquardt(FullBatchMethod):
    r"""Levenberg-Marquardt for a sum of squares (Levenberg 1944; Marquardt 1963), as
    applied to networks by Hagan & Menhaj (1994) and MATLAB's ``trainlm``; full batch.

    With $r$ the residuals (outputs - targets, all n x outputs of them) and
    $J = \partial r / \partial W$, each ``minimize(params, objective)`` is one iteration:

    $$(J^\top J + \mu I) \, \delta = -J^\top r \quad \text{(Cholesky)}, \qquad
      W_{try} = W + \alpha \delta$$

    if $f(W_{try}) < f(W)$: $W \leftarrow W_{try}$, $\mu \leftarrow \mu \mu_{dec}$
    (towards Gauss-Newton); otherwise $\mu \leftarrow \mu \mu_{inc}$ and solve again
    (towards gradient descent), until a step is accepted or $\mu$ would exceed
    ``mu_max`` (the weights then stay, $\mu$ stays at its last value $\le$ ``mu_max``).
    A factorization that fails counts as a rejected step.  Defaults are ``trainlm``'s:
    $\mu$ = 1e-3, ``mu_dec`` = 0.1, ``mu_inc`` = 10, ``mu_max`` = 1e10; ``learning_rate``
    $\alpha$ = 1 takes the full step.  With every $|J^\top r| \le$ ``tolerance_grad`` the
    iteration does nothing.

    Needs the residuals, not only the loss (``needs_residuals``): the objective must be an
    :class:`~.objective.Objective` whose ``residuals()`` returns (r, J) (see
    :func:`least_squares_residuals`, which requires the mean squared error loss, and
    :func:`jacobian`), or whose ``normal_equations()`` returns $(J^\top J, J^\top r)$.
    J has n x outputs x parameters entries and $J^\top J$ parameters x parameters:
    either over ``max_jacobian_entries`` (50 million: 400 MB in float64) is refused with
    a ValueError before it is computed (a network of more than 7,071 parameters,
    whatever the data).  The objective must compute the loss over the full data set
    (``full_batch``); one whose loss changes at unchanged weights is refused.  The current
    $\mu$ is the state saved with a model.
    """

    needs_residuals = True
    scalars = ("current_mu",)

    def __init__(self, learning_rate=1.0, mu: float = 1e-3, mu_dec: float = 0.1,
                 mu_inc: float = 10.0, mu_max: float = 1e10,
                 max_jacobian_entries: int = 50_000_000, tolerance_grad: float = 1e-12):
        super().__init__(positive(learning_rate, "learning_rate"))
        self.mu = positive(mu, "mu")
        self.mu_dec = open_unit(mu_dec, "mu_dec")
        self.mu_inc = positive(mu_inc, "mu_inc")
        if self.mu_inc <= 1:
            raise ValueError(f"mu_inc must be greater than 1; got {mu_inc!r}")
        self.mu_max = positive(mu_max, "mu_max")
        if self.mu_max < self.mu:
            raise ValueError(f"mu_max must be at least mu={self.mu!r}; got {mu_max!r}")
        self.max_jacobian_entries = positive_int(max_jacobian_entries,
                                                  "max_jacobian_entries")
        self.tolerance_grad = nonnegative(tolerance_grad, "tolerance_grad")
        self.current_mu = self.mu
        self.last_loss = None

    @staticmethod
    def step(J: np.ndarray, r: np.ndarray, mu: float) -> np.ndarray | None:
        """delta solving (J^T J + mu I) delta = -J^T r by Cholesky; None when the matrix is
        not numerically positive definite."""
        return LevenbergMarquardt.solve(J.T @ J, J.T @ r, mu)

    @staticmethod
    def solve(JtJ: np.ndarray, Jtr: np.ndarray, mu: float) -> np.ndarray | None:
        """delta solving (J^T J + mu I) delta = -J^T r from the normal equations' two
        sides (what a map-reduce over the samples sums); None as :meth:`step`."""
        A = JtJ.copy()
        A[np.diag_indices_from(A)] += mu
        try:
            L = np.linalg.cholesky(A)
        except np.linalg.LinAlgError:
            return None
        delta = np.linalg.solve(L.T, np.linalg.solve(L, -Jtr))
        return delta if np.all(np.isfinite(delta)) else None

    def check_size(self, params) -> None:
        """Refuse, before anything is computed, a model whose normal matrix J^T J (n x n
        for n parameters, with its Cholesky factor beside it) has more than
        ``max_jacobian_entries`` entries: J is bounded when it is computed
        (:func:`jacobian`), J^T J here."""
        n = sum(int(np.size(p.data if hasattr(p, "data") else p)) for p in params)
        if n * n > self.max_jacobian_entries:
            raise ValueError(
                f"Levenberg-Marquardt solves with J^T J, {n:,} x {n:,} = {n * n:,} entries "
                f"({n * n * 8 / 1e6:,.0f} MB in float64, twice that with its factor) for the "
                f"model's {n:,} parameters, over max_jacobian_entries="
                f"{self.max_jacobian_entries:,}: use a network of at most "
                f"{math.isqrt(self.max_jacobian_entries):,} parameters or another optimizer "
                "(L-BFGS: optimizer='lbfgs'), or raise max_jacobian_entries")

    def minimize(self, params, closure):
        """One iteration on ``closure``, an :class:`~.objective.Objective` with residuals
        (or normal equations)."""
        params = list(params)
        self.check_size(params)
        objective = Objective.of(params, closure)
        loss, w = self._evaluate(objective)
        JtJ, Jtr = objective.least_squares(w.size)
        self.iterations += 1
        new_loss = loss
        if np.max(np.abs(Jtr), initial=0.0) > self.tolerance_grad:
            mu = self.current_mu
            while True:
                delta = self.solve(JtJ, Jtr, mu)
                if delta is not None:
                    trial = objective.value(w + self.learning_rate * delta)
                    if math.isfinite(trial) and trial < loss:
                        new_loss, mu = trial, mu * self.mu_dec
                        break
                if mu * self.mu_inc > self.mu_max:  # give up: stay where we were
                    objective.assign(w)
                    break
                mu *= self.mu_inc
            self.current_mu = mu
        self._remember_end(objective, new_loss)
        return loss

    def get_config(self):
        return {**super().get_config(), "mu": self.mu, "mu_dec": self.mu_dec,
                "mu_inc": self.mu_inc, "mu_max": self.mu_max,
                "max_jacobian_entries": self.max_jacobian_entries,
                "tolerance_grad": self.tolerance_grad}
