r"""What a full-batch method minimizes, handed to it explicitly: an :class:`Objective`.

L-BFGS and conjugate gradient need the loss and its gradient at trial weights (their line
searches); Levenberg-Marquardt needs more, the residuals $r$ of a sum of squares and their
Jacobian $J = \partial r / \partial W$ (or the two sides of its normal equations,
$J^\top J$ and $J^\top r$, when they are summed elsewhere, e.g. over the chunks of a Dask
array).  The objective carries each as a method, over the flat vector $w$ of every
parameter value (each parameter flattened, in ``params`` order, float64).
"""

from __future__ import annotations

import numpy as np

__all__ = ["Objective"]


class Objective:
    r"""The objective of a full-batch method.

    Parameters
    ----------
    params : the parameters (Tensors) the method changes.
    closure : callable () -> loss
        Computes the loss at the parameters' current values over the full data set and
        sets every parameter's ``.grad`` (what :meth:`Model.train_step` builds).
    residuals : callable () -> (r, J), optional
        The residuals $r$ (outputs - targets, flattened) at the current values and their
        Jacobian $J$ (one row per residual, one column per parameter value):
        :func:`~.least_squares.least_squares_residuals` builds it for a model.
    normal_equations : callable () -> (J^T J, J^T r), optional
        The same information summed elsewhere (:mod:`nnlearn.data.dask`).

    Notes
    -----
    An Objective is itself a closure (calling it evaluates the loss), so the first-order
    optimizers take it as they take a closure.
    """

    def __init__(self, params, closure, residuals=None, normal_equations=None):
        if not callable(closure):
            raise TypeError(f"Objective: closure must be callable; got "
                            f"{type(closure).__name__}")
        for name, value in (("residuals", residuals), ("normal_equations", normal_equations)):
            if value is not None and not callable(value):
                raise TypeError(f"Objective: {name} must be callable or None; got "
                                f"{type(value).__name__}")
        self.params = list(params)
        self.closure = closure
        self._residuals, self._normal_equations = residuals, normal_equations

    @classmethod
    def of(cls, params, objective) -> "Objective":
        """``objective`` itself, or a closure made an Objective over ``params``."""
        if isinstance(objective, Objective):
            return objective
        return cls(params, objective)

    def __call__(self) -> float:
        """The loss at the current weights (setting every ``.grad``)."""
        return self.closure()

    @property
    def has_residuals(self) -> bool:
        """Whether it gives the residuals of a sum of squares (or its normal equations)."""
        return self._residuals is not None or self._normal_equations is not None

    # -- the flat vector of weights ------------------------------------------------------------
    def weights(self) -> np.ndarray:
        """w: every parameter value, flattened, float64 (a copy)."""
        return np.concatenate([np.asarray(p.data, np.float64).ravel() for p in self.params])

    def gradient(self) -> np.ndarray:
        """The flat gradient left in the parameters' ``.grad`` by the last evaluation."""
        return np.concatenate([np.asarray(p.grad, np.float64).ravel() for p in self.params])

    def assign(self, w: np.ndarray) -> None:
        """Set the parameters to the flat vector ``w``."""
        i = 0
        for p in self.params:
            p.data[...] = w[i:i + p.size].reshape(p.shape)
            i += p.size

    # -- evaluations ----------------------------------------------------------------------------
    def value(self, w: np.ndarray | None = None) -> float:
        """f(w) (at the current weights when ``w`` is None); sets the ``.grad``."""
        if w is not None:
            self.assign(w)
        return float(self.closure())

    def value_and_grad(self, w: np.ndarray | None = None) -> tuple:
        """(f(w), the flat gradient at w), one evaluation."""
        f = self.value(w)
        return f, self.gradient()

    def along(self, w: np.ndarray, d: np.ndarray):
        """phi(a) = (f(w + a d), its slope g.d, the flat gradient g): what a line search
        (:func:`~.line_search.strong_wolfe_line_search`) evaluates."""
        def phi(a):
            f, g = self.value_and_grad(w + a * d)
            return f, g.dot(d), g
        return phi

    def least_squares(self, n: int) -> tuple:
        """(J^T J, J^T r) at the current weights, ``n`` the number of parameter values:
        from ``normal_equations`` when given, else from ``residuals``; each shape
        checked."""
        if self._normal_equations is not None:
            JtJ, Jtr = (np.asarray(a, np.float64) for a in self._normal_equations())
            if JtJ.shape != (n, n) or Jtr.shape != (n,):
                raise ValueError(f"Objective: normal_equations() must return J^T J of shape "
                                 f"({n}, {n}) and J^T r of shape ({n},); got {JtJ.shape} "
                                 f"and {Jtr.shape}")
            return JtJ, Jtr
        if self._residuals is None:
            raise TypeError(
                "this method needs the residuals and their Jacobian: pass "
                "Objective(params, closure, residuals=...) with residuals() -> (r, J) "
                "(optimizers.least_squares_residuals builds it for a model compiled with "
                "loss='mse'; Model.train_step does when the optimizer's needs_residuals is "
                "True)")
        r, J = self._residuals()
        r, J = np.asarray(r, np.float64).ravel(), np.asarray(J, np.float64)
        if J.shape != (r.size, n):
            raise ValueError(f"Objective: residuals() must return r and J of shape (len(r), "
                             f"number of parameter values) = ({r.size}, {n}); got J of "
                             f"shape {J.shape}")
        return J.T @ J, J.T @ r
