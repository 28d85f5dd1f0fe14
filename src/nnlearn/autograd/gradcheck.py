"""Numerical gradient checking by central differences in float64."""

from __future__ import annotations

import numpy as np

from .tensor import Tensor, grad, no_grad

__all__ = ["gradcheck", "GradcheckError"]


class GradcheckError(AssertionError):
    """The analytic gradient of an op disagrees with its numerical estimate."""


def gradcheck(fn, inputs, eps: float = 1e-6, rtol: float = 1e-5, atol: float = 1e-7,
              seed: int = 0) -> bool:
    """Compare the gradient of ``fn`` computed by backpropagation with central differences.

    For every element x_j of every input that requires grad::

        numeric_j = (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)

    must satisfy ``|analytic_j - numeric_j| <= atol + rtol * |numeric_j|``.  The inputs
    are copied to float64 first.  A non-scalar output is reduced to the scalar
    ``sum(output * r)`` with a fixed random ``r``, which checks the full vector-Jacobian
    product.

    Parameters
    ----------
    fn : callable
        Takes the tensors of ``inputs`` (in order) and returns a Tensor.
    inputs : Tensor or sequence of Tensor
        The ones with ``requires_grad=True`` are checked; others are held constant.

    Returns
    -------
    True, or raises :class:`GradcheckError` naming the op, the input, the worst element,
    and the analytic and numeric values there.
    """
    inputs = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: inputs[{i}] must be a Tensor; got {type(t).__name__}")
    xs = [Tensor(t.data, requires_grad=t.requires_grad, dtype=np.float64) for t in inputs]
    checked = [x for x in xs if x.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input has requires_grad=True")

    out = fn(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"gradcheck: fn must return a Tensor; got {type(out).__name__}")
    projection = np.random.default_rng(seed).standard_normal(out.shape)
    analytic = grad(out, checked, gradient=projection, allow_unused=True)

    def f() -> float:
        with no_grad():
            return float(np.sum(fn(*xs).data * projection))

    worst = None  # (excess over tolerance, input number, index, analytic, numeric)
    for k, (x, a) in enumerate(zip(checked, analytic)):
        numeric = central_differences(f, x, eps)
        excess = np.abs(a - numeric) - (atol + rtol * np.abs(numeric))
        if excess.size and (worst is None or excess.max() > worst[0]):
            j = np.unravel_index(np.argmax(excess), x.shape)
            worst = (excess[j], k, j, a[j], numeric[j])

    if worst is not None and not worst[0] <= 0:  # "not <=" also catches nan
        _, k, j, a_j, n_j = worst
        name = getattr(fn, "__name__", type(fn).__name__)
        raise GradcheckError(
            f"gradcheck failed for op '{out._op}' (in {name}): gradient with respect to "
            f"checked input {k} (shape {checked[k].shape}) at index {tuple(int(i) for i in j)}: "
            f"analytic {a_j:.10g}, numeric {n_j:.10g}, |difference| {abs(a_j - n_j):.3g} > "
            f"atol + rtol * |numeric| = {atol + rtol * abs(n_j):.3g}"
        )
    return True


def central_differences(f, x: Tensor, eps: float) -> np.ndarray:
    """(f(x + eps e_j) - f(x - eps e_j)) / (2 eps) for every element j of ``x``, perturbing
    ``x`` in place (and restoring it) so that ``f`` sees the change."""
    if not x.data.flags.c_contiguous:  # e.g. a transposed (Fortran-ordered) array
        x.data = np.ascontiguousarray(x.data)
    numeric = np.empty_like(x.data)
    flat = x.data.reshape(-1)  # a view (x is C-contiguous): perturbing it perturbs x
    for j in range(flat.size):
        saved = flat[j]
        flat[j] = saved + eps
        f_plus = f()
        flat[j] = saved - eps
        f_minus = f()
        flat[j] = saved
        numeric.reshape(-1)[j] = (f_plus - f_minus) / (2 * eps)
    return numeric
