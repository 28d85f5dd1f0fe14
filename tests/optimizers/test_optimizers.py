"""nnlearn.optimizers: first steps against the published formulas worked by hand,
minimization of Rosenbrock's function and an ill-conditioned quadratic, L-BFGS on the
sin regression, clipping, a schedule driving the rate, state round trips and argument
errors."""

import math

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import optimizers as O
from nnlearn import schedules as S
from nnlearn.layers import Dense


A = [1.0, 10.0]          # f(w) = 1/2 sum a_i w_i^2, so g_i = a_i w_i


W0 = [1.0, -2.0]


def run(optimizer, steps=3):
    """nnlearn's iterates on the quadratic, in float64."""
    w = nl.Tensor(np.array(W0), requires_grad=True)
    trajectory = []
    for _ in range(steps):
        w.grad = None
        (0.5 * (nl.Tensor(np.array(A)) * w * w).sum()).backward()
        optimizer.apply([w])
        trajectory.append(w.data.copy())
    return np.array(trajectory)


def by_hand(update, steps=3, **state):
    """Apply ``update(i, w_i, g_i, t, state)`` element by element with Python floats."""
    w, trajectory = list(W0), []
    states = [dict(state) for _ in W0]
    for t in range(1, steps + 1):
        w = [update(w[i], A[i] * w[i], t, states[i]) for i in range(len(w))]
        trajectory.append(list(w))
    return np.array(trajectory)


def sgd(lr):
    return lambda w, g, t, s: w - lr * g


def momentum(lr, mu):
    def update(w, g, t, s):  # momentum: v_t = gamma v_{t-1} + alpha g;  W -= v_t
        s["v"] = mu * s.get("v", 0.0) + lr * g
        return w - s["v"]
    return update


def adagrad(lr, g0, eps):
    def update(w, g, t, s):  # Adagrad: G += g^2;  W -= alpha g / sqrt(G + eps)
        s["G"] = s.get("G", g0) + g * g
        return w - lr * g / math.sqrt(s["G"] + eps)
    return update


def adadelta(lr, rho, eps):
    def update(w, g, t, s):  # Zeiler (2012), Algorithm 1
        s["Eg2"] = rho * s.get("Eg2", 0.0) + (1 - rho) * g * g
        dx = -math.sqrt(s.get("Edx2", 0.0) + eps) / math.sqrt(s["Eg2"] + eps) * g
        s["Edx2"] = rho * s.get("Edx2", 0.0) + (1 - rho) * dx * dx
        return w + lr * dx
    return update


def rmsprop(lr, rho, eps):
    def update(w, g, t, s):
        s["Eg2"] = rho * s.get("Eg2", 0.0) + (1 - rho) * g * g
        return w - lr * g / math.sqrt(s["Eg2"] + eps)
    return update


def adam(lr, b1, b2, eps, amsgrad=False):
    def update(w, g, t, s):  # Kingma & Ba (2015), Algorithm 1 (+ Reddi et al.'s max)
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        v = s["v"]
        if amsgrad:
            s["vmax"] = max(s.get("vmax", 0.0), s["v"])
            v = s["vmax"]
        m_hat, v_hat = s["m"] / (1 - b1 ** t), v / (1 - b2 ** t)
        return w - lr * m_hat / (math.sqrt(v_hat) + eps)
    return update


def nadam(lr, b1, b2, eps):
    def mu(t):
        return b1 * (1 - 0.5 * 0.96 ** (0.004 * t))

    def update(w, g, t, s):  # Dozat (2016) with the momentum schedule mu_t
        s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
        s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        product_t = math.prod(mu(i) for i in range(1, t + 1))
        m_hat = (mu(t + 1) * s["m"] / (1 - product_t * mu(t + 1))
                 + (1 - mu(t)) * g / (1 - product_t))
        v_hat = s["v"] / (1 - b2 ** t)
        return w - lr * m_hat / (math.sqrt(v_hat) + eps)
    return update


@pytest.mark.parametrize("optimizer, update", [
    (O.SGD(0.1), sgd(0.1)),
    (O.SGD(0.05, momentum=0.9), momentum(0.05, 0.9)),
    (O.Adagrad(0.1), adagrad(0.1, 0.1, 1e-7)),
    (O.Adagrad(0.3, initial_accumulator_value=0.0, epsilon=1e-3), adagrad(0.3, 0.0, 1e-3)),
    (O.Adadelta(), adadelta(1.0, 0.95, 1e-6)),
    (O.Adadelta(0.5, rho=0.9, epsilon=1e-4), adadelta(0.5, 0.9, 1e-4)),
    (O.RMSprop(0.01), rmsprop(0.01, 0.9, 1e-7)),
    (O.Adam(0.1), adam(0.1, 0.9, 0.999, 1e-7)),
    (O.Adam(0.1, beta_1=0.5, beta_2=0.9, epsilon=1e-3), adam(0.1, 0.5, 0.9, 1e-3)),
    (O.Adam(0.1, amsgrad=True), adam(0.1, 0.9, 0.999, 1e-7, amsgrad=True)),
    (O.Nadam(0.1), nadam(0.1, 0.9, 0.999, 1e-7)),
], ids=lambda v: repr(v) if isinstance(v, O.Optimizer) else "")
def test_first_steps_equal_the_published_formula(optimizer, update):
    np.testing.assert_allclose(run(optimizer, steps=4), by_hand(update, steps=4),
                               rtol=1e-13, atol=1e-15)


def test_amsgrad_differs_from_adam_once_v_decreases():
    # gradients that shrink make v fall, where the running max takes over
    assert not np.allclose(run(O.Adam(0.5, amsgrad=True), 30), run(O.Adam(0.5), 30))


@pytest.mark.parametrize("mu", [0.5, 0.9])
def test_nesterov_is_sutskevers_momentum(mu):
    """Sutskever et al. (2013): v <- mu v - lr grad(theta + mu v); theta <- theta + v.
    nnlearn keeps W = theta + mu v (the look-ahead point), so W_t must equal that."""
    lr, theta, v = 0.02, list(W0), [0.0, 0.0]
    expected = []
    for _ in range(5):
        g = [A[i] * (theta[i] + mu * v[i]) for i in range(2)]
        v = [mu * v[i] - lr * g[i] for i in range(2)]
        theta = [theta[i] + v[i] for i in range(2)]
        expected.append([theta[i] + mu * v[i] for i in range(2)])
    np.testing.assert_allclose(run(O.SGD(lr, momentum=mu, nesterov=True), 5), expected,
                               rtol=1e-13)


# -- minimization ----------------------------------------------------------------------
def rosenbrock(w):
    return (1 - w[0]) ** 2 + 100 * (w[1] - w[0] ** 2) ** 2


def ill_conditioned(w):
    return 0.5 * (w[0] ** 2 + 100 * w[1] ** 2)  # condition number 100


def minimize(optimizer, f, w0, steps):
    w = nl.Tensor(np.array(w0, dtype=np.float64), requires_grad=True)

    def closure():
        w.grad = None
        loss = f(w)
        loss.backward()
        return loss.item()

    for _ in range(steps):  # the one contract: every optimizer minimizes a closure
        optimizer.minimize([w], closure)
    return f(w).item(), w.data


@pytest.mark.parametrize("make, steps, rosenbrock_tol, quadratic_tol", [
    (lambda: O.SGD(0.001), 10_000, 1e-3, 1e-7),
    (lambda: O.SGD(0.001, momentum=0.9), 10_000, 1e-10, 1e-10),
    (lambda: O.SGD(0.001, momentum=0.9, nesterov=True), 10_000, 1e-10, 1e-10),
    (lambda: O.Adagrad(0.5), 10_000, 1e-3, 1e-10),
    (lambda: O.Adadelta(0.01), 20_000, 1e-2, 1e-10),
    (lambda: O.RMSprop(0.001), 10_000, 1e-2, 1e-3),   # constant steps of ~lr at the end
    (lambda: O.Adam(0.01), 10_000, 1e-4, 1e-10),
    (lambda: O.Adam(0.01, amsgrad=True), 10_000, 1e-4, 1e-10),
    (lambda: O.Nadam(0.01), 10_000, 1e-2, 1e-10),
    (lambda: O.LBFGS(), 100, 1e-12, 1e-12),
], ids=["sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "amsgrad",
        "nadam", "lbfgs"])
def test_minimizes_rosenbrock_and_an_ill_conditioned_quadratic(make, steps, rosenbrock_tol,
                                                               quadratic_tol):
    value, w = minimize(make(), rosenbrock, [-1.5, 2.0], steps)   # starts at 12.5
    assert value < rosenbrock_tol and np.allclose(w, [1, 1], atol=0.2)
    value, _ = minimize(make(), ill_conditioned, [1.0, 1.0], steps)  # starts at 50.5
    assert value < quadratic_tol


def sin_data(n=100, sigma=0.25, seed=0):
    """The course's noisy sin(pi x) on [-1, 1]."""
    rng = np.random.default_rng(seed)
    x = 2 * rng.random(n) - 1
    return x.reshape(-1, 1), (np.sin(np.pi * x) + rng.normal(0, sigma, n)).reshape(-1, 1)


def sin_network():
    return nl.Sequential([Dense(3, activation="sigmoid", kernel_initializer="random_normal"),
                          Dense(1)], seed=0, dtype="float64")


def test_lbfgs_beats_10000_gradient_descent_steps_on_sin_regression():
    x, y = sin_data()
    gd, lbfgs = sin_network(), sin_network()
    gd.compile(optimizer=O.SGD(0.25), loss="mse")
    lbfgs.compile(optimizer=O.LBFGS(), loss="mse")
    gd_history = gd.fit(x, y, epochs=10_000, batch_size=len(x), verbose=0)
    lbfgs_history = lbfgs.fit(x, y, epochs=300, verbose=0)
    assert lbfgs_history.history["loss"][-1] < gd_history.history["loss"][-1]
    assert lbfgs_history.history["loss"][-1] < 0.075   # the noise variance is 0.0625
    # L-BFGS's own loss never goes up (its line search guarantees decrease)
    losses = lbfgs_history.history["loss"]
    assert all(b <= a + 1e-12 for a, b in zip(losses, losses[1:]))


# -- clipping, schedules, state --------------------------------------------------------
def test_gradient_clipping():
    w = nl.Tensor(np.array([0.0, 0.0]), requires_grad=True)
    w.grad = np.array([3.0, 4.0])                  # norm 5
    O.SGD(1.0, clipnorm=1.0).apply([w])
    np.testing.assert_allclose(w.data, [-0.6, -0.8])
    w.data[:] = 0
    O.SGD(1.0, clipvalue=3.5).apply([w])
    np.testing.assert_allclose(w.data, [-3.0, -3.5])
    np.testing.assert_array_equal(w.grad, [3.0, 4.0])  # the gradient itself is untouched


def test_schedule_drives_the_optimizer_per_step():
    optimizer = O.SGD(S.PiecewiseConstantDecay([1], [0.1, 0.01]))
    trajectory = run(optimizer, steps=2)
    np.testing.assert_allclose(trajectory[0], [1 - 0.1 * 1, -2 + 0.1 * 20])
    np.testing.assert_allclose(trajectory[1], trajectory[0] - 0.01 * np.array(A) * trajectory[0])


@pytest.mark.parametrize("name", ["sgd", "adagrad", "adadelta", "rmsprop", "adam", "nadam"])
def test_state_round_trips_through_a_model_file(name, tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 3)), rng.standard_normal((64, 1))
    config = {"class_name": name, "config": {"learning_rate": 0.01}}
    if name == "sgd":
        config["config"].update(momentum=0.9, nesterov=True)
    model = nl.Sequential([Dense(4, activation="tanh"), Dense(1)], seed=0)
    model.compile(optimizer=config, loss="mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=1)
    model.save(tmp_path / "m.nnl")
    loaded = nl.load_model(tmp_path / "m.nnl")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=2)
    loaded.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=2)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_compare_starts_every_optimizer_from_the_same_weights():
    x, y = sin_data(40)
    curves = O.compare(sin_network, {"gd": O.SGD(0.25), "momentum": O.SGD(0.25, momentum=0.9),
                                     "adam": "adam", "lbfgs": "lbfgs"},
                       x, y, epochs=20, batch_size=40, loss="mse")
    assert set(curves) == {"gd", "momentum", "adam", "lbfgs"}
    assert all(len(c) == 20 for c in curves.values())
    assert curves["lbfgs"][-1] < curves["gd"][-1]


@pytest.mark.parametrize("make, message", [
    (lambda: O.get("adamm"), "Did you mean 'adam'"),
    (lambda: O.SGD(-0.1), "learning_rate must be a non-negative"),
    (lambda: O.SGD(0.1, momentum=1.0), r"momentum must be in \[0, 1\)"),
    (lambda: O.Adam(beta_1=1.0), r"beta_1 must be in \[0, 1\)"),
    (lambda: O.Adam(beta_2=-0.1), r"beta_2 must be in \[0, 1\)"),
    (lambda: O.RMSprop(rho=2), r"rho must be in \[0, 1\)"),
    (lambda: O.SGD(0.1, clipnorm=-1), "clipnorm must be a non-negative"),
])
def test_bad_arguments_raise_value_error_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_one_contract_minimize_and_apply():
    w = nl.Tensor(np.array([3.0]), requires_grad=True)

    def closure():
        w.grad = None
        loss = (w * w).sum()
        loss.backward()
        return loss.item()

    sgd = O.SGD(0.25)
    assert sgd.minimize([w], closure) == 9.0       # the loss where the step started
    np.testing.assert_allclose(w.data, [1.5])      # 3 - 0.25 * 6
    assert not sgd.full_batch and O.LBFGS.full_batch
    with pytest.raises(TypeError, match="minimize\\(params, closure\\)"):
        O.LBFGS().apply([w])


def test_gradient_clipping_is_its_own_piece():
    clip = O.GradientClipping(clipnorm=1.0, clipvalue=2.0)
    g = np.array([3.0, -4.0, 0.0])
    out = np.empty_like(g)
    np.testing.assert_allclose(clip(g, out), np.array([2.0, -2.0, 0.0]) / math.sqrt(8))
    assert O.SGD(0.1).clipping is None
    assert O.SGD(0.1, clipnorm=1.0).get_config() == {"learning_rate": 0.1, "momentum": 0.0,
                                                    "nesterov": False, "clipnorm": 1.0}


def test_lbfgs_refuses_clipping_it_would_not_apply():
    with pytest.raises(TypeError, match="clipnorm"):
        O.LBFGS(clipnorm=1.0)


def test_an_unknown_argument_names_the_optimizer_and_its_arguments():
    with pytest.raises(TypeError, match=r"^Adam: unknown argument 'lr'; the learning rate is "
                                        r"learning_rate= \(its arguments: learning_rate, "
                                        r"beta_1, .*clipvalue\)$"):
        O.Adam(lr=0.01)
    with pytest.raises(TypeError, match=r"^SGD: unknown argument 'momentun'; did you mean "
                                        r"'momentum'\? \(its arguments: learning_rate, "):
        O.SGD(momentun=0.9)
    with pytest.raises(TypeError, match=r"^Adam: unknown argument 'xyz' \(its arguments"):
        O.Adam(xyz=1)


def test_an_optimizer_without_a_rule_says_so():
    class Bare(O.Optimizer):
        pass

    w = nl.Tensor(np.ones(3), requires_grad=True)
    w.grad = np.ones(3)
    with pytest.raises(NotImplementedError, match=r"Bare defines neither transform\(\) nor "):
        Bare(0.1).apply([w])
    with pytest.raises(NotImplementedError, match=r"Bare defines neither transform\(\) nor "):
        Bare(0.1).update(w.data, w.grad, {}, 0.1, None)


def test_the_repr_of_an_optimizer_with_a_schedule_is_code_that_builds_it():
    schedule = nl.schedules.StepDecay(0.1, 0.5, 10)
    optimizer = nl.optimizers.SGD(learning_rate=schedule, momentum=0.9)
    rebuilt = eval("nl.optimizers." + repr(optimizer), {"nl": nl})
    assert rebuilt.get_config() == optimizer.get_config()
    assert isinstance(rebuilt.learning_rate, nl.schedules.StepDecay)


def test_nadam_refuses_adams_efficient_form():
    with pytest.raises(ValueError, match="epsilon_hat=True is Adam's form only"):
        nl.optimizers.Nadam(epsilon_hat=True)
    assert nl.optimizers.Adam(epsilon_hat=True).get_config()["epsilon_hat"] is True
