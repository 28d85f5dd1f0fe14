"""nnlearn.optimizers, second-order and sign-based trainers (issue 20): the strong Wolfe
line search, conjugate gradient, Levenberg-Marquardt and its Jacobian, Rprop, iRprop+
and Quickprop, each against its published algorithm written out here independently;
Rprop against torch.optim.Rprop; the sin regression; bad input; state round trips
through model files; and the ``second-order`` experiment."""

import json
import math
import sys

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.lowering import planner
from nnlearn import optimizers as O
from nnlearn import schedules as S
from nnlearn.datasets import make_sin
from nnlearn.experiments import second_order
from nnlearn.layers import Dense, Input

A = [1.0, 10.0]
W0 = [1.0, -2.0]


def quadratic(w):
    return 0.5 * (nl.Tensor(np.array(A)) * w * w).sum()       # g_i = a_i w_i


def quartic(w):
    a = nl.Tensor(np.array(A))
    return (a * (0.25 * w ** 4 + 0.5 * w * w)).sum()           # g_i = a_i (w_i^3 + w_i)


def trajectory(optimizer, f, steps, w0=W0):
    """nnlearn's iterates minimizing f from w0 through the one contract, in float64."""
    w = nl.Tensor(np.array(w0, dtype=np.float64), requires_grad=True)

    def closure():
        w.grad = None
        loss = f(w)
        loss.backward()
        return loss.item()

    path = []
    for _ in range(steps):
        optimizer.minimize([w], closure)
        path.append(w.data.copy())
    return np.array(path)


def sign(v):
    return (v > 0) - (v < 0)


# -- Rprop, iRprop+, Quickprop against their papers ------------------------------------------
def rprop_by_hand(gradient, steps, lr, etas=(0.5, 1.2), sizes=(1e-6, 50.0)):
    """Riedmiller & Braun (1993) without weight-backtracking, g set to 0 after a sign
    change (PyTorch's form), element by element with Python floats."""
    w, path = list(W0), []
    prev, delta = [0.0] * len(w), [lr] * len(w)
    for _ in range(steps):
        g = gradient(w)
        for i in range(len(w)):
            gi = g[i]
            if prev[i] * gi > 0:
                delta[i] = min(delta[i] * etas[1], sizes[1])
            elif prev[i] * gi < 0:
                delta[i] = max(delta[i] * etas[0], sizes[0])
                gi = 0.0
            else:
                delta[i] = min(max(delta[i], sizes[0]), sizes[1])
            w[i] -= sign(gi) * delta[i]
            prev[i] = gi
        path.append(list(w))
    return np.array(path)


def irprop_plus_by_hand(f, gradient, steps, lr, etas=(0.5, 1.2), sizes=(1e-6, 50.0)):
    """Igel & Husken (2000), iRprop+: backtrack a weight whose gradient changed sign when
    the error went up.  Returns the path and the number of backtracks."""
    w, path, backtracks = list(W0), [], 0
    prev, delta, dw = [0.0] * len(w), [lr] * len(w), [0.0] * len(w)
    e_prev = math.inf
    for _ in range(steps):
        g, e = gradient(w), f(w)
        for i in range(len(w)):
            if prev[i] * g[i] > 0:
                delta[i] = min(delta[i] * etas[1], sizes[1])
                dw[i] = -sign(g[i]) * delta[i]
                w[i] += dw[i]
                prev[i] = g[i]
            elif prev[i] * g[i] < 0:
                delta[i] = max(delta[i] * etas[0], sizes[0])
                if e > e_prev:
                    w[i] -= dw[i]
                    backtracks += 1
                dw[i] = 0.0
                prev[i] = 0.0
            else:
                dw[i] = -sign(g[i]) * delta[i]
                w[i] += dw[i]
                prev[i] = g[i]
        e_prev = e
        path.append(list(w))
    return np.array(path), backtracks


def quickprop_by_hand(gradient, steps, epsilon, mu=1.75):
    """Fahlman (1988), the update of his quickprop1.c, weight by weight.  Returns the
    path and how often each branch ran."""
    shrink = mu / (1 + mu)
    w, path = list(W0), []
    d, p = [0.0] * len(w), [0.0] * len(w)
    used = {"linear": 0, "maximum": 0, "quadratic": 0}
    for _ in range(steps):
        s = gradient(w)
        for i in range(len(w)):
            step = 0.0
            if d[i] < 0:
                if s[i] > 0:
                    step -= epsilon * s[i]
                    used["linear"] += 1
                if s[i] >= shrink * p[i]:
                    step += mu * d[i]
                    used["maximum"] += 1
                else:
                    step += d[i] * s[i] / (p[i] - s[i])
                    used["quadratic"] += 1
            elif d[i] > 0:
                if s[i] < 0:
                    step -= epsilon * s[i]
                    used["linear"] += 1
                if s[i] <= shrink * p[i]:
                    step += mu * d[i]
                    used["maximum"] += 1
                else:
                    step += d[i] * s[i] / (p[i] - s[i])
                    used["quadratic"] += 1
            else:
                step -= epsilon * s[i]
                used["linear"] += 1
            d[i], p[i] = step, s[i]
            w[i] += step
        path.append(list(w))
    return np.array(path), used


def quadratic_gradient(w):
    return [A[i] * w[i] for i in range(2)]


def quadratic_value(w):
    return sum(0.5 * A[i] * w[i] ** 2 for i in range(2))


def quartic_gradient(w):
    return [A[i] * (w[i] ** 3 + w[i]) for i in range(2)]


@pytest.mark.parametrize("lr, etas, sizes", [(0.01, (0.5, 1.2), (1e-6, 50.0)),
                                             (0.5, (0.5, 1.2), (1e-6, 50.0)),
                                             (0.3, (0.3, 1.5), (0.01, 0.8))])
def test_rprop_is_riedmiller_and_braun_without_backtracking(lr, etas, sizes):
    optimizer = O.Rprop(lr, etas=etas, step_sizes=sizes)
    np.testing.assert_allclose(trajectory(optimizer, quadratic, 40),
                               rprop_by_hand(quadratic_gradient, 40, lr, etas, sizes),
                               rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("lr", [0.5, 0.9])
def test_irprop_plus_is_igel_and_husken_with_backtracking(lr):
    expected, backtracks = irprop_plus_by_hand(quadratic_value, quadratic_gradient, 40, lr)
    assert backtracks > 0  # the rule that sets iRprop+ apart ran
    np.testing.assert_allclose(trajectory(O.IRpropPlus(lr), quadratic, 40), expected,
                               rtol=1e-13, atol=1e-15)
    # without backtracking it is a different method (Rprop, PyTorch's form)
    assert not np.allclose(trajectory(O.Rprop(lr), quadratic, 40), expected)


@pytest.mark.parametrize("f, gradient, epsilon", [(quadratic, quadratic_gradient, 0.01),
                                                  (quartic, quartic_gradient, 0.01),
                                                  (quartic, quartic_gradient, 0.05)])
def test_quickprop_is_fahlmans_update(f, gradient, epsilon):
    expected, used = quickprop_by_hand(gradient, 12, epsilon)
    assert used["maximum"] and used["quadratic"] and used["linear"]
    np.testing.assert_allclose(trajectory(O.Quickprop(epsilon), f, 12), expected,
                               rtol=1e-12, atol=1e-15)


def test_quickprop_takes_the_gradient_step_where_the_secant_is_flat():
    w = nl.Tensor(np.array([0.0]), requires_grad=True)
    optimizer = O.Quickprop(0.1)
    w.grad = np.array([-1.0])
    optimizer.apply([w])                   # first step: -epsilon g
    np.testing.assert_allclose(w.data, [0.1])
    w.grad = np.array([-1.0])              # same slope again: g_{t-1} - g_t = 0
    optimizer.apply([w])                   # still downhill: linear term + maximum step
    np.testing.assert_allclose(w.data, [0.1 + 0.1 + 1.75 * 0.1])
    assert np.all(np.isfinite(w.data))


def test_rprop_follows_torch_optim_rprop():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 1))
    init = [rng.standard_normal((3, 5)), rng.standard_normal(5), rng.standard_normal((5, 1)),
            rng.standard_normal(1)]

    def net(p, xs, ys, tanh):
        return (((tanh(xs @ p[0] + p[1]) @ p[2] + p[3]) - ys) ** 2).mean()

    for settings in [{}, {"lr": 0.05, "etas": (0.4, 1.3), "step_sizes": (1e-3, 0.2)}]:
        ours = [nl.Tensor(a.copy(), requires_grad=True) for a in init]
        theirs = [torch.tensor(a.copy(), requires_grad=True) for a in init]
        mine = O.Rprop(**{("learning_rate" if k == "lr" else k): v
                          for k, v in settings.items()})
        reference = torch.optim.Rprop(theirs, **settings)
        for step in range(60):
            for p in ours:
                p.grad = None
            net(ours, nl.Tensor(x), y, lambda t: t.tanh()).backward()
            mine.apply(ours)
            reference.zero_grad()
            net(theirs, torch.tensor(x), torch.tensor(y), torch.tanh).backward()
            reference.step()
            for a, b in zip(ours, theirs):
                np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10,
                                           atol=1e-12, err_msg=f"{settings} step {step}")


# -- the strong Wolfe line search ------------------------------------------------------------
def test_line_search_brackets_then_zooms_to_the_minimum_of_a_parabola():
    calls = []

    def phi(a):  # (a - 3)^2: phi(0) = 9, phi'(0) = -6
        calls.append(a)
        return (a - 3) ** 2, 2 * (a - 3), None

    a, f, _ = O.strong_wolfe_line_search(phi, 9.0, -6.0, 1.0, c1=1e-4, c2=0.9)
    assert (a, f, calls) == (1.0, 4.0, [1.0])        # the first trial already satisfies both
    calls.clear()
    a, f, _ = O.strong_wolfe_line_search(phi, 9.0, -6.0, 1.0, c1=1e-4, c2=0.1)
    assert calls == [1.0, 2.0, 4.0, 3.0]             # doubling, then the cubic's minimizer
    assert a == pytest.approx(3.0, abs=1e-12) and f == pytest.approx(0.0, abs=1e-20)


@pytest.mark.parametrize("step", [1e-4, 0.1, 1.0, 30.0])
@pytest.mark.parametrize("c2", [0.1, 0.9])
def test_line_search_satisfies_the_strong_wolfe_conditions(step, c2):
    def phi(a):  # a non-convex profile with its minimum near a = 0.7
        return -a * math.exp(-a * a) + 0.1 * math.sin(5 * a), \
            (2 * a * a - 1) * math.exp(-a * a) + 0.5 * math.cos(5 * a), None

    f0, slope0 = phi(0.0)[:2]
    c1 = 1e-4
    a, f, _ = O.strong_wolfe_line_search(phi, f0, slope0, step, c1=c1, c2=c2)
    assert a > 0 and f == phi(a)[0]
    assert f <= f0 + c1 * a * slope0                  # sufficient decrease
    assert abs(phi(a)[1]) <= c2 * abs(slope0)         # curvature


def test_line_search_without_decrease_returns_no_step():
    a, f, g = O.strong_wolfe_line_search(lambda a: (a, 1.0, "g"), 0.0, -1.0, 1.0)
    assert (a, f, g) == (0.0, 0.0, None)


@pytest.mark.parametrize("kwargs, message", [
    ({"slope0": 0.5}, r"slope0 must be negative \(d a descent direction\); got 0.5"),
    ({"step": 0.0}, "step must be a positive number; got 0.0"),
    ({"c1": 0.9, "c2": 0.1}, "c1 must be smaller than c2"),
    ({"max_evaluations": 0}, "max_evaluations must be a positive integer; got 0"),
])
def test_line_search_arguments_are_checked(kwargs, message):
    arguments = {"phi": lambda a: (a, 1.0, None), "f0": 0.0, "slope0": -1.0, "step": 1.0,
                 **kwargs}
    with pytest.raises(ValueError, match=message):
        O.strong_wolfe_line_search(**arguments)


# -- conjugate gradient -----------------------------------------------------------------------
def spd_problem(seed=0):
    """A 4 x 4 positive definite A with eigenvalues 1, 10, 100, 1000, and b."""
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((4, 4)))
    return U @ np.diag([1.0, 10.0, 100.0, 1000.0]) @ U.T, rng.standard_normal(4)


@pytest.mark.parametrize("method", O.ConjugateGradient.METHODS)
def test_cg_with_exact_line_searches_solves_a_quadratic_in_n_iterations(method):
    """On 1/2 w'Aw - b'w with exact line searches every beta equals Fletcher-Reeves's and
    CG ends at A^-1 b after n iterations (Nocedal & Wright 2006, Theorem 5.3)."""
    Q, b = spd_problem()

    def f(w):
        return 0.5 * (w * (nl.Tensor(Q) @ w)).sum() - (nl.Tensor(b) * w).sum()

    optimizer = O.ConjugateGradient(method=method, c1=1e-10, c2=1e-8)
    path = trajectory(optimizer, f, 4, w0=np.zeros(4))
    solution = np.linalg.solve(Q, b)
    assert np.linalg.norm(path[-1] - solution) < 1e-8 * np.linalg.norm(solution)
    assert np.linalg.norm(path[2] - solution) > 1e-3 * np.linalg.norm(solution)  # not before


def flat(params, attribute):
    return np.concatenate([getattr(p, attribute).ravel() for p in params]).astype(np.float64)


def assign(params, values):
    start = 0
    for p in params:
        p.data[...] = values[start:start + p.size].reshape(p.shape)
        start += p.size


def beta_by_hand(method, g, g_prev, d_prev):
    """Nocedal & Wright (2006), eqs. 5.41a (FR), 5.44 with Powell's max(0, .) (PR+), 5.46
    (HS)."""
    y = g - g_prev
    if method == "fletcher_reeves":
        return g @ g / (g_prev @ g_prev)
    if method == "polak_ribiere":
        return max(0.0, g @ y / (g_prev @ g_prev))
    return g @ y / (d_prev @ y)


@pytest.mark.parametrize("method", O.ConjugateGradient.METHODS)
def test_cg_directions_and_steps_follow_the_published_algorithm(method):
    x, y = make_sin(30, noise=0.25, random_state=1)
    model = sin_network(dtype="float64")
    model.compile(optimizer=O.ConjugateGradient(method=method), loss="mse")
    optimizer, params = model.optimizer, model.params

    def loss_and_gradient(w):
        assign(params, w)
        objective, _ = model.compute_loss(x, y)
        for p in params:
            p.grad = None
        objective.backward()
        return float(objective.data), flat(params, "grad")

    d_prev = g_prev = None
    restarts = 0
    for _ in range(25):
        w = flat(params, "data")
        f, g = loss_and_gradient(w)
        assign(params, w)
        with planner.settings(compiled_step=False):  # the engine's, as loss_and_gradient's
            model.train_step(x, y)
        d, g_stored, (a, slope, since) = optimizer.get_state()
        np.testing.assert_allclose(g_stored, g, rtol=1e-12)
        if since == 1:                                 # a restart: steepest descent
            restarts += 1
            np.testing.assert_allclose(d, -g, rtol=1e-12)
        else:
            beta = beta_by_hand(method, g, g_prev, d_prev)
            np.testing.assert_allclose(d, -g + beta * d_prev, rtol=1e-10, atol=1e-14)
        w_new = flat(params, "data")
        np.testing.assert_allclose(w_new, w + a * d, rtol=1e-12, atol=1e-15)
        f_new, g_new = loss_and_gradient(w_new)
        assert slope == pytest.approx(g @ d, rel=1e-12) and slope < 0
        assert f_new <= f + 1e-4 * a * slope                      # sufficient decrease
        assert abs(g_new @ d) <= 0.1 * abs(slope)                 # strong Wolfe curvature
        d_prev, g_prev = d, g
    assert restarts >= 2  # the first iteration and the restart every n = 10 iterations


# -- Levenberg-Marquardt ------------------------------------------------------------------------
T = np.linspace(0, 1, 8)
Y_EXP = 2.0 * np.exp(-1.5 * T) + 0.05 * np.cos(7 * T)


def exponential_closure(w):
    """r_i = w0 exp(w1 t_i) - y_i, loss mean(r^2): an Objective with the residuals and
    their Jacobian from the engine."""
    def residual_fn():
        return w[0] * (w[1] * nl.Tensor(T)).exp() - nl.Tensor(Y_EXP)

    def closure():
        w.grad = None
        r = residual_fn()
        loss = (r * r).mean()
        loss.backward()
        return loss.item()

    return O.Objective([w], closure, residuals=lambda: O.jacobian(residual_fn, [w]))


def lm_by_hand(w, steps, mu=1e-3, dec=0.1, inc=10.0, mu_max=1e10):
    """Marquardt (1963) with trainlm's schedule; J written out by hand, the damped normal
    equations solved by np.linalg.solve."""
    path, mus, rejected = [], [], 0
    for _ in range(steps):
        e = np.exp(w[1] * T)
        r = w[0] * e - Y_EXP
        J = np.stack([e, w[0] * T * e], axis=1)
        loss = np.mean(r ** 2)
        while True:
            delta = np.linalg.solve(J.T @ J + mu * np.eye(2), -J.T @ r)
            trial = w + delta
            if np.mean((trial[0] * np.exp(trial[1] * T) - Y_EXP) ** 2) < loss:
                w, mu = trial, mu * dec
                break
            rejected += 1
            if mu * inc > mu_max:
                break
            mu *= inc
        path.append(w.copy())
        mus.append(mu)
    return np.array(path), mus, rejected


def test_levenberg_marquardt_is_marquardts_damped_gauss_newton_step():
    """The steps and the damping's schedule of Marquardt's rule written out by hand, for
    the first 7 steps: by then the loss has come within 1e-11 of its minimum (relative),
    and whether a later trial step lowers it is decided by the last bits of the loss, which
    differ with the order of the sums (the BLAS's kernels on this CPU)."""
    start = np.array([10.0, -5.0])
    expected, mus, rejected = lm_by_hand(start, 7)
    assert rejected > 0  # the damping went up as well as down
    losses = [np.mean((w[0] * np.exp(w[1] * T) - Y_EXP) ** 2) for w in expected]
    assert losses[-2] - losses[-1] > 1e-12 * losses[-1]   # still decided by more than rounding
    w = nl.Tensor(start.copy(), requires_grad=True)
    optimizer = O.LevenbergMarquardt()
    closure = exponential_closure(w)
    for k in range(7):
        optimizer.minimize([w], closure)
        np.testing.assert_allclose(w.data, expected[k], rtol=1e-10, atol=1e-13)
        assert optimizer.current_mu == pytest.approx(mus[k], rel=1e-12)


def test_jacobian_rows_are_the_residual_gradients_by_central_differences():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    params = [nl.Tensor(rng.standard_normal(s), requires_grad=True)
              for s in [(3, 4), (4,), (4, 2)]]

    def residual_fn():
        return (nl.Tensor(x) @ params[0] + params[1]).tanh() @ params[2] - nl.Tensor(y)

    r, J = O.jacobian(residual_fn, params)
    assert r.shape == (10,) and J.shape == (10, 12 + 4 + 8) and J.dtype == np.float64
    numeric, eps = np.empty_like(J), 1e-6
    column = 0
    for p in params:
        for j in range(p.size):
            original = p.data.flat[j]
            p.data.flat[j] = original + eps
            plus = residual_fn().data.ravel()
            p.data.flat[j] = original - eps
            minus = residual_fn().data.ravel()
            p.data.flat[j] = original
            numeric[:, column] = (plus - minus) / (2 * eps)
            column += 1
    np.testing.assert_allclose(J, numeric, rtol=1e-6, atol=1e-9)
    # J^T r is half the gradient of sum(r^2)
    total = (residual_fn() ** 2).sum()
    gradient = np.concatenate([g.ravel() for g in nl.grad(total, params)])
    np.testing.assert_allclose(2 * J.T @ r, gradient, rtol=1e-12)
    with pytest.raises(ValueError, match=r"10 residuals x 24 parameters = 240 entries"):
        O.jacobian(residual_fn, params, max_entries=239)
    with pytest.raises(ValueError, match="max_entries must be a positive integer; got -1"):
        O.jacobian(residual_fn, params, max_entries=-1)


def sin_network(seed=0, dtype="float64"):
    """The course's 1-3-1 sigmoid net, weights and biases from N(0, 1)."""
    normal = {"class_name": "random_normal", "config": {"stddev": 1.0}}
    model = nl.Sequential([
        Input(1), Dense(3, activation="sigmoid", kernel_initializer=normal,
                        bias_initializer=normal),
        Dense(1, kernel_initializer=normal, bias_initializer=normal)], seed=seed, dtype=dtype)
    model.build((1,))
    return model


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_levenberg_marquardt_reaches_the_noise_floor_of_the_sin_regression(dtype):
    x, y = make_sin(100, noise=0.25, random_state=0)
    model = sin_network(dtype=dtype)
    model.compile(optimizer="levenberg_marquardt", loss="mse")
    history = model.fit(x, y, epochs=50, verbose=0)
    losses = history.history["loss"] + [model.evaluate(x, y)]
    reached = next(k for k, loss in enumerate(losses) if loss <= 1.1 * 0.25 ** 2)
    assert reached <= 50
    assert losses[-1] <= 1.1 * 0.25 ** 2
    assert all(b <= a for a, b in zip(losses, losses[1:]))  # every accepted step decreases


def test_every_method_trains_the_sin_net_through_fit_and_compare():
    x, y = make_sin(100, noise=0.25, random_state=0)
    names = ["conjugate_gradient", "levenberg_marquardt", "rprop", "irprop_plus",
             "quickprop", O.LBFGS(line_search="strong_wolfe"), "sgd"]
    curves = O.compare(sin_network, {str(n): n for n in names}, x, y, epochs=30,
                       batch_size=100, loss="mse")
    for name, curve in curves.items():
        assert len(curve) == 30 and curve[-1] < curve[0], name
    assert min(curves["levenberg_marquardt"][-1], curves["conjugate_gradient"][-1]) \
        < curves["sgd"][-1]


def test_plain_sequential_trains_with_levenberg_marquardt():
    """Model.train_step hands LM the residuals and their Jacobian (an Objective)."""
    x, y = make_sin(100, noise=0.25, random_state=0)
    model = nl.Sequential([Input(1), Dense(3, activation="sigmoid"), Dense(1)], seed=0)
    model.compile(optimizer="levenberg_marquardt", loss="mse")
    history = model.fit(x, y, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


# -- L-BFGS's strong Wolfe option ----------------------------------------------------------------
def test_lbfgs_keeps_armijo_by_default_and_offers_strong_wolfe():
    assert O.LBFGS().line_search == "armijo" and repr(O.LBFGS()) == "LBFGS()"
    x, y = make_sin(100, noise=0.25, random_state=0)
    model = sin_network()
    model.compile(optimizer=O.LBFGS(line_search="strong_wolfe"), loss="mse")
    losses = model.fit(x, y, epochs=60, verbose=0).history["loss"]
    assert losses[-1] < 1.1 * 0.25 ** 2
    assert all(b <= a for a, b in zip(losses, losses[1:]))
    S_, Y_ = model.optimizer.get_state()
    assert len(S_) == 10 and np.all(np.einsum("ij,ij->i", S_, Y_) > 0)  # curvature: s.y > 0
    assert repr(model.optimizer) == "LBFGS(line_search='strong_wolfe')"


def rosenbrock(w):
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


def rosenbrock_closure_with_residuals(w):
    def residual_fn():  # rosenbrock = r0^2 + r1^2, r = (1 - w0, 10 (w1 - w0^2))
        return (nl.Tensor(np.array([1.0, 0.0])) * (1 - w[0])
                + nl.Tensor(np.array([0.0, 10.0])) * (w[1] - w[0] ** 2))

    def closure():
        w.grad = None
        loss = rosenbrock(w)
        loss.backward()
        return loss.item()

    return O.Objective([w], closure, residuals=lambda: O.jacobian(residual_fn, [w]))


@pytest.mark.parametrize("make, steps, tolerance", [
    (lambda: O.ConjugateGradient(method="fletcher_reeves"), 2000, 1e-8),
    (lambda: O.ConjugateGradient(method="polak_ribiere"), 300, 1e-12),
    (lambda: O.ConjugateGradient(method="hestenes_stiefel"), 300, 1e-12),
    (lambda: O.LBFGS(line_search="strong_wolfe"), 100, 1e-12),
    (lambda: O.LevenbergMarquardt(), 100, 1e-12),
    (lambda: O.Rprop(), 3000, 1e-4),           # sign steps crawl along the curved valley
    (lambda: O.IRpropPlus(), 3000, 1e-4),
    (lambda: O.Quickprop(0.001), 5000, 1e-3),
], ids=["cg-fr", "cg-pr+", "cg-hs", "lbfgs-wolfe", "lm", "rprop", "irprop+", "quickprop"])
def test_minimizes_rosenbrocks_function(make, steps, tolerance):
    w = nl.Tensor(np.array([-1.5, 2.0]), requires_grad=True)      # f = 12.5
    optimizer, closure = make(), rosenbrock_closure_with_residuals(w)
    for _ in range(steps):
        optimizer.minimize([w], closure)
    assert rosenbrock(w).item() < tolerance


# -- bad input ----------------------------------------------------------------------------------
@pytest.mark.parametrize("make, message", [
    (lambda: O.ConjugateGradient(method="steepest"), "method must be one of 'fletcher_reeves'"),
    (lambda: O.ConjugateGradient(c1=0.5, c2=0.1), r"c1 must be smaller than c2 .*got c1=0.5"),
    (lambda: O.ConjugateGradient(c2=1.0), r"c2 must be in \(0, 1\); got 1.0"),
    (lambda: O.ConjugateGradient(restart=0), "restart must be a positive integer; got 0"),
    (lambda: O.ConjugateGradient(learning_rate=0), "learning_rate must be a positive number"),
    (lambda: O.ConjugateGradient(max_line_search=0), "max_line_search must be a positive"),
    (lambda: O.LBFGS(line_search="wolfe"), "line_search must be one of 'armijo', "
                                           "'strong_wolfe'; got 'wolfe'"),
    (lambda: O.LBFGS(line_search="strong_wolfe", c2=1e-5), "c1 must be smaller than c2"),
    (lambda: O.LBFGS(max_line_search=0), "max_line_search must be a positive integer"),
    (lambda: O.LevenbergMarquardt(mu=0), "mu must be a positive number; got 0"),
    (lambda: O.LevenbergMarquardt(mu_dec=1.5), r"mu_dec must be in \(0, 1\); got 1.5"),
    (lambda: O.LevenbergMarquardt(mu_inc=0.5), "mu_inc must be greater than 1; got 0.5"),
    (lambda: O.LevenbergMarquardt(mu_max=1e-6), "mu_max must be at least mu=0.001"),
    (lambda: O.LevenbergMarquardt(max_jacobian_entries=0), "max_jacobian_entries must be"),
    (lambda: O.LevenbergMarquardt(learning_rate=-1), "learning_rate must be a positive"),
    (lambda: O.Rprop(etas=(1.2, 0.5)), r"etas must be a pair of numbers \(eta_minus, "
                                       r"eta_plus\) with 0 < eta_minus < 1 < eta_plus; got"),
    (lambda: O.Rprop(step_sizes=(1.0, 0.1)), r"step_sizes must be a pair .*got \(1.0, 0.1\)"),
    (lambda: O.Rprop(learning_rate=-0.1), "learning_rate must be a positive number"),
    (lambda: O.Rprop(learning_rate=S.ExponentialDecay(0.1, 0.01)),
     "learning_rate must be a positive number"),
    (lambda: O.IRpropPlus(etas=(0.5,)), "etas must be a pair"),
    (lambda: O.Quickprop(mu=0), "mu must be a positive number; got 0"),
    (lambda: O.Quickprop(learning_rate=-0.1), "learning_rate must be a non-negative"),
])
def test_bad_hyperparameters_raise_value_errors_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_levenberg_marquardt_refuses_a_loss_that_is_not_a_sum_of_squares():
    x, y = make_sin(20, random_state=0)
    model = sin_network()
    model.compile(optimizer="levenberg_marquardt", loss="mae")
    with pytest.raises(ValueError, match="mean squared error .*got loss 'mean_absolute_error'"):
        model.fit(x, y, epochs=1, verbose=0)
    xor = nl.Sequential([Input(2), Dense(2, activation="sigmoid"),
                                  Dense(1, activation="sigmoid")], seed=0)
    xor.compile(optimizer="levenberg_marquardt", loss="binary_crossentropy")
    with pytest.raises(ValueError, match="got loss 'binary_crossentropy'"):
        xor.fit(np.eye(2), [0, 1], epochs=1, verbose=0)


def test_levenberg_marquardt_refuses_a_jacobian_over_its_limit_and_a_bare_closure():
    x, y = make_sin(100, random_state=0)
    model = sin_network()
    model.compile(optimizer=O.LevenbergMarquardt(max_jacobian_entries=999), loss="mse")
    with pytest.raises(ValueError, match=r"100 residuals x 10 parameters = 1,000 entries .*"
                                         r"over max_jacobian_entries=999"):
        model.fit(x, y, epochs=1, verbose=0)
    w = nl.Tensor(np.array([1.0]), requires_grad=True)

    def closure():
        w.grad = None
        loss = (w * w).sum()
        loss.backward()
        return loss.item()

    with pytest.raises(TypeError, match=r"needs the residuals .*residuals\(\) -> \(r, J\)"):
        O.LevenbergMarquardt().minimize([w], closure)
    for optimizer in (O.LevenbergMarquardt(), O.ConjugateGradient(), O.IRpropPlus()):
        with pytest.raises(TypeError, match=r"minimize\(params, closure\)"):
            optimizer.apply([w])


def test_levenberg_marquardt_bounds_j_transpose_j_before_computing_anything():
    x, y = make_sin(5, random_state=0)
    model = sin_network()  # 10 parameters: J is 5 x 10 = 50 entries, J^T J 10 x 10 = 100
    model.compile(optimizer=O.LevenbergMarquardt(max_jacobian_entries=60), loss="mse")
    before = model.get_weights()
    with pytest.raises(ValueError, match=r"J\^T J, 10 x 10 = 100 entries .* for the model's "
                                         r"10 parameters, over max_jacobian_entries=60"):
        model.fit(x, y, epochs=1, verbose=0)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


PEAK_RSS_MB = """
import resource
def peak_rss_mb():
    try:  # VmHWM: counted from this process's exec (ru_maxrss may keep the parent's peak)
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) // 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
"""


def test_levenberg_marquardt_on_a_100_200_1_net_refuses_in_little_memory():
    """Issue 32: J^T J of a 100-200-1 net (20,401 parameters) is 416 million entries,
    3.3 GB; it is refused, with the bound in the message, before anything is allocated."""
    import subprocess

    code = PEAK_RSS_MB + """
import numpy as np
import nnlearn as nl
from nnlearn.layers import Dense, Input
model = nl.Sequential([Input(100), Dense(200, activation="tanh"), Dense(1)], seed=0)
model.compile(optimizer="levenberg_marquardt", loss="mse")
x = np.random.default_rng(0).standard_normal((200, 100)).astype(np.float32)
try:
    model.fit(x, x[:, 0], epochs=1, verbose=0)
except ValueError as err:
    print(err)
print(peak_rss_mb())
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    message, peak = result.stdout.strip().rsplit("\n", 1)
    assert "20,401 x 20,401 = 416,200,801 entries" in message, result
    assert "max_jacobian_entries=50,000,000" in message
    assert int(peak) < 200, f"peak RSS {peak} MB"


@pytest.mark.parametrize("optimizer", ["conjugate_gradient", "levenberg_marquardt"])
def test_full_batch_methods_refuse_mini_batches(optimizer):
    x, y = make_sin(100, random_state=0)
    model = sin_network()
    model.compile(optimizer=optimizer, loss="mse")
    assert model.optimizer.full_batch
    model.train_step(x[:50], y[:50])
    model.train_step(x[:50], y[:50])          # the same batch again is fine
    with pytest.raises(ValueError, match="needs the same objective at every call .*"
                                         "mini-batches"):
        model.train_step(x[50:], y[50:])


def test_full_batch_flags():
    for cls in (O.ConjugateGradient, O.LevenbergMarquardt, O.Rprop, O.IRpropPlus,
                O.Quickprop, O.LBFGS):
        assert cls.full_batch, cls
    assert O.LevenbergMarquardt.needs_residuals
    assert not getattr(O.ConjugateGradient, "needs_residuals", False)


# -- names, configs and state ------------------------------------------------------------------
NEW = {"conjugate_gradient": O.ConjugateGradient, "levenberg_marquardt": O.LevenbergMarquardt,
       "rprop": O.Rprop, "irprop_plus": O.IRpropPlus, "quickprop": O.Quickprop}


@pytest.mark.parametrize("name", sorted(NEW))
def test_registered_by_name_with_configs_that_round_trip(name):
    optimizer = O.get(name)
    assert type(optimizer) is NEW[name] and name in O.OPTIMIZERS
    assert repr(optimizer) == f"{NEW[name].__name__}()"
    config = O.serialize(optimizer)
    assert config["class_name"] == name
    again = O.get(json.loads(json.dumps(config)))
    assert again.get_config() == optimizer.get_config()
    # the playground builds every optimizer from {"learning_rate": ...}
    assert O.get({"class_name": name, "config": {"learning_rate": 0.5}}).learning_rate == 0.5


@pytest.mark.parametrize("make", [
    lambda: O.ConjugateGradient(method="fletcher_reeves"),
    lambda: O.ConjugateGradient(method="polak_ribiere", restart=4),
    lambda: O.ConjugateGradient(method="hestenes_stiefel"),
    lambda: O.LevenbergMarquardt(mu=0.01),
    lambda: O.Rprop(0.05),
    lambda: O.IRpropPlus(0.5),
    lambda: O.Quickprop(0.5),
    lambda: O.LBFGS(line_search="strong_wolfe"),
], ids=["cg-fr", "cg-pr+", "cg-hs", "lm", "rprop", "irprop+", "quickprop", "lbfgs-wolfe"])
def test_state_round_trips_through_a_model_file(make, tmp_path):
    x, y = make_sin(100, noise=0.25, random_state=0)
    straight = sin_network(dtype="float32")
    straight.compile(optimizer=make(), loss="mse")
    straight.fit(x, y, epochs=8, verbose=0)
    first = sin_network(dtype="float32")
    first.compile(optimizer=make(), loss="mse")
    first.fit(x, y, epochs=4, verbose=0)
    first.save(tmp_path / "half.nnl")
    loaded = nl.load_model(tmp_path / "half.nnl")
    assert type(loaded.optimizer) is type(first.optimizer)
    assert loaded.optimizer.get_config() == first.optimizer.get_config()
    assert loaded.optimizer.iterations == 4
    saved, restored = first.optimizer.get_state(), loaded.optimizer.get_state()
    assert len(saved) == len(restored) > 0
    for a, b in zip(saved, restored):
        np.testing.assert_array_equal(a, b)
    loaded.fit(x, y, epochs=8, initial_epoch=4, verbose=0)  # continue from the file
    for a, b in zip(straight.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


# -- the experiment ----------------------------------------------------------------------------
def test_second_order_experiment_runs_without_matplotlib(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    result = nl.experiments.run("second-order", seed=0, quick=True, plots=False)
    assert not result.figures
    sin = result.numbers["sin"]["methods"]
    assert set(sin) == {"GD", "momentum", "Adam", "L-BFGS", "CG (PR+)", "LM", "Rprop",
                        "iRprop+", "Quickprop"}
    assert sin["LM"]["iterations"] is not None and sin["LM"]["iterations"] <= 50
    assert sin["CG (PR+)"]["iterations"] is not None
    assert sin["L-BFGS"]["iterations"] is not None
    for method in sin.values():
        assert method["total_seconds"] > 0
    assert result.numbers["xor"]["initial_weights"] == 2
    result.save(tmp_path)
    assert json.loads((tmp_path / "numbers.json").read_text())["sin"]["target_mse"] == \
        pytest.approx(1.1 * 0.0625)
    assert second_order.SIN_TARGET == pytest.approx(1.1 * 0.0625)
