"""The strong Wolfe line search (Nocedal & Wright 2006, Algorithms 3.5 and 3.6), shared by
L-BFGS and conjugate gradient (:mod:`.full_batch`).  It takes its objective explicitly: a
function phi(a) of the step along a direction, returning the loss, its slope and the
gradient there.

Bracketing tries ``step``, 2 ``step``, 4 ``step``, ... until a trial breaks sufficient
decrease, does not improve on the previous one, or has phi' >= 0; zoom then shrinks the
bracket [a_lo, a_hi] around a point that satisfies both conditions, each trial the
minimizer of the cubic through phi and phi' at its ends (eq. 3.59), kept 10% of the
bracket away from either end (bisection when the cubic has no minimizer).
"""

from __future__ import annotations

import math

from ._arguments import is_number, positive, positive_int, wolfe_constants

__all__ = ["LINE_SEARCHES", "strong_wolfe_line_search"]

LINE_SEARCHES = ("armijo", "strong_wolfe")


def _cubic_minimizer(a, fa, da, b, fb, db):
    """The minimizer of the cubic interpolating phi and phi' at a and b (Nocedal & Wright
    2006, eq. 3.59), or None when it has none or a value is not finite."""
    if not all(map(math.isfinite, (a, fa, da, b, fb, db))) or a == b:
        return None
    d1 = da + db - 3 * (fa - fb) / (a - b)
    discriminant = d1 * d1 - da * db
    if not math.isfinite(discriminant) or discriminant < 0:
        return None
    d2 = math.copysign(math.sqrt(discriminant), b - a)
    denominator = db - da + 2 * d2
    if denominator == 0:
        return None
    x = b - (b - a) * (db + d2 - d1) / denominator
    return x if math.isfinite(x) else None


def _interpolate(lo, hi):
    """zoom's trial step between the points lo and hi (each (a, phi, phi', ...)): the
    cubic's minimizer kept 10% of the interval away from either end, else bisection."""
    width = abs(hi[0] - lo[0])
    low, high = min(lo[0], hi[0]) + 0.1 * width, max(lo[0], hi[0]) - 0.1 * width
    x = _cubic_minimizer(lo[0], lo[1], lo[2], hi[0], hi[1], hi[2])
    if x is None:
        return 0.5 * (lo[0] + hi[0])
    return min(max(x, low), high)


def strong_wolfe_line_search(phi, f0: float, slope0: float, step: float, c1: float = 1e-4,
                             c2: float = 0.9, max_evaluations: int = 25,
                             max_step: float = 1e10):
    r"""A step $a > 0$ along a descent direction $d$ satisfying the strong Wolfe conditions,
    sufficient decrease and curvature (Nocedal & Wright 2006, Algorithms 3.5 and 3.6; the
    module says how):

    $$f(W + a d) \le f(W) + c_1 a \, g^\top d, \qquad
      |g(W + a d)^\top d| \le c_2 |g^\top d|$$

    Parameters
    ----------
    phi : callable a -> (f, slope, g)
        The loss at W + a d, its derivative g(W + a d).d along d and the flat gradient
        (returned as it is with the accepted step).
    f0, slope0 : the loss at a = 0 and its slope g.d (< 0).
    step : the first trial step.
    max_evaluations : int
        At most this many calls of ``phi``; when they run out, the trial with the lowest
        loss among those satisfying sufficient decrease is returned.

    Returns
    -------
    (a, f, g): the step, the loss and gradient there; (0.0, f0, None) when no trial
    decreased the loss enough.
    """
    c1, c2 = wolfe_constants(c1, c2)
    if not is_number(slope0) or slope0 >= 0:
        raise ValueError(f"slope0 must be negative (d a descent direction); got {slope0!r}")
    step, max_step = positive(step, "step"), positive(max_step, "max_step")
    max_evaluations = positive_int(max_evaluations, "max_evaluations")
    best = [0.0, f0, None]
    evaluations = 0

    def evaluate(a):
        nonlocal evaluations
        evaluations += 1
        f, slope, g = phi(a)
        f, slope = float(f), float(slope)
        armijo = math.isfinite(f) and f <= f0 + c1 * a * slope0
        if armijo and f < best[1]:
            best[:] = [a, f, g]
        return (a, f, slope, g), armijo

    def curvature(point):
        return math.isfinite(point[2]) and abs(point[2]) <= -c2 * slope0

    def zoom(lo, hi):
        while evaluations < max_evaluations and abs(hi[0] - lo[0]) > 1e-12 * max(lo[0], 1):
            point, armijo = evaluate(_interpolate(lo, hi))
            if not armijo or point[1] >= lo[1]:
                hi = point
            else:
                if curvature(point):
                    return point
                if point[2] * (hi[0] - lo[0]) >= 0:
                    hi = lo
                lo = point
        return None

    previous = (0.0, f0, slope0, None)
    a, found = step, None
    while evaluations < max_evaluations:
        point, armijo = evaluate(a)
        if not armijo or (evaluations > 1 and point[1] >= previous[1]):
            found = zoom(previous, point)
            break
        if curvature(point):
            found = point
            break
        if point[2] >= 0:
            found = zoom(point, previous)
            break
        if a >= max_step:
            break
        previous, a = point, min(2 * a, max_step)
    if found is not None:
        return found[0], found[1], found[3]
    return best[0], best[1], best[2]
