"""nnlearn.optimizers.transforms: the optax-style contract (init/update, chain), the
element-wise rules fused into one kernel, decoupled weight decay (AdamW, SGDW) against
PyTorch's optimizers and against the formula worked by hand, clipping as transforms, the
explicit Objective of the full-batch methods, and the per-step Python call count."""

import cProfile
import math
import pstats

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import kernels
from nnlearn import optimizers as O
from nnlearn import schedules as S
from nnlearn.layers import Dense

A = np.array([[1.0, 3.0, -2.0], [0.5, 10.0, 4.0]])
W0 = np.array([[1.0, -2.0, 0.5], [3.0, 0.25, -1.5]])


def gradient(w):
    """The gradient of f(w) = sum(a w^2 / 2 + sin(w)): curvature differs per element."""
    return A * w + np.cos(w)


def run_optimizer(optimizer, steps=20, shapes=None):
    """nnlearn's iterates (float64) of an Optimizer on f."""
    w = nl.Tensor(W0.copy(), requires_grad=True)
    path = []
    for _ in range(steps):
        w.grad = gradient(w.data)
        optimizer.apply([w])
        path.append(w.data.copy())
    return np.array(path)


def run_transform(transform, steps=20):
    """The iterates of a bare transform through init / update / apply_updates."""
    w = W0.copy()
    state = transform.init([w])
    path = []
    for _ in range(steps):
        (u,) = transform.update([gradient(w)], state, [w])
        O.apply_updates([w], [u])
        path.append(w.copy())
    return np.array(path)


def run_torch(make, steps=20):
    torch = pytest.importorskip("torch")
    w = torch.tensor(W0.copy(), dtype=torch.float64, requires_grad=True)
    optimizer = make(torch, [w])
    path = []
    for _ in range(steps):
        optimizer.zero_grad()
        w.grad = torch.tensor(gradient(w.detach().numpy()), dtype=torch.float64)
        optimizer.step()
        path.append(w.detach().numpy().copy())
    return np.array(path)


# -- decoupled weight decay against PyTorch and the hand-worked formula -----------------------
@pytest.mark.parametrize("amsgrad", [False, True])
@pytest.mark.parametrize("backend", kernels.available_backends())
def test_adamw_follows_torch_adamw(amsgrad, backend):
    expected = run_torch(lambda torch, p: torch.optim.AdamW(
        p, lr=0.05, betas=(0.9, 0.99), eps=1e-8, weight_decay=0.1, amsgrad=amsgrad))
    with kernels.use(backend):
        ours = run_optimizer(O.AdamW(0.05, weight_decay=0.1, beta_1=0.9, beta_2=0.99,
                                     epsilon=1e-8, amsgrad=amsgrad))
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-6)
    np.testing.assert_allclose(ours, expected, rtol=1e-12)  # the same formula to rounding
    plain = run_optimizer(O.Adam(0.05, beta_1=0.9, beta_2=0.99, epsilon=1e-8,
                                 amsgrad=amsgrad))
    assert np.abs(plain - ours).max() > 1e-3  # the decay does something


def test_adamw_follows_keras_adamw():
    """Keras 3's AdamW adds epsilon to sqrt(v), the corrections in the step (Kingma & Ba's
    "efficient" form): AdamW(epsilon_hat=True) is it to rounding, the default within
    epsilon's effect."""
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")  # the bench extra's backend
    keras = pytest.importorskip("keras")
    previous = keras.config.floatx()
    keras.config.set_floatx("float64")
    try:
        variable = keras.Variable(W0.copy(), dtype="float64")
        optimizer = keras.optimizers.AdamW(learning_rate=0.05, weight_decay=0.1, beta_1=0.9,
                                           beta_2=0.99, epsilon=1e-7)
        expected = []
        for _ in range(20):
            w = keras.ops.convert_to_numpy(variable)
            optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient(w)), variable)])
            expected.append(keras.ops.convert_to_numpy(variable).copy())
    finally:
        keras.config.set_floatx(previous)
    settings = dict(weight_decay=0.1, beta_1=0.9, beta_2=0.99, epsilon=1e-7)
    np.testing.assert_allclose(run_optimizer(O.AdamW(0.05, epsilon_hat=True, **settings)),
                               expected, rtol=1e-12)
    np.testing.assert_allclose(run_optimizer(O.AdamW(0.05, **settings)), expected,
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_with_coupled_decay_chain_follows_torch_sgd_weight_decay(nesterov):
    """PyTorch's SGD(weight_decay) adds lambda W to the gradient, momentum included:
    chain(add_decayed_weights(lambda), scale_by_learning_rate(alpha),
    scale_by_momentum(mu))."""
    expected = run_torch(lambda torch, p: torch.optim.SGD(
        p, lr=0.02, momentum=0.9, weight_decay=0.1, nesterov=nesterov))
    coupled = O.chain(O.add_decayed_weights(0.1), O.scale_by_learning_rate(0.02),
                      O.scale_by_momentum(0.9, nesterov=nesterov))
    np.testing.assert_allclose(run_transform(coupled), expected, rtol=1e-12, atol=1e-6)


def sgdw_by_hand(lr, mu, wd, nesterov, steps=20):
    """Loshchilov & Hutter (2019), Algorithm 1 with the rate on the decay (as AdamW's
    implementations): v <- mu v - lr g; W <- W + v - lr wd W (Nesterov: W - lr g + mu v
    - lr wd W), element by element in Python floats."""
    w, v, path = W0.ravel().tolist(), [0.0] * W0.size, []
    a = A.ravel().tolist()
    for _ in range(steps):
        g = [a[i] * w[i] + math.cos(w[i]) for i in range(len(w))]
        v = [mu * v[i] - lr * g[i] for i in range(len(w))]
        step = [(-lr * g[i] + mu * v[i]) if nesterov else v[i] for i in range(len(w))]
        w = [w[i] + step[i] - lr * wd * w[i] for i in range(len(w))]
        path.append(np.reshape(w, W0.shape))
    return np.array(path)


@pytest.mark.parametrize("momentum, nesterov", [(0.0, False), (0.9, False), (0.9, True)])
def test_sgdw_is_the_decoupled_formula_worked_by_hand(momentum, nesterov):
    ours = run_optimizer(O.SGDW(0.02, momentum=momentum, nesterov=nesterov,
                                weight_decay=0.1))
    np.testing.assert_allclose(ours, sgdw_by_hand(0.02, momentum, 0.1, nesterov),
                               rtol=1e-12, atol=1e-14)
    if momentum:  # decoupled differs from coupled once the momentum carries the decay
        coupled = O.chain(O.add_decayed_weights(0.1), O.scale_by_learning_rate(0.02),
                          O.scale_by_momentum(momentum, nesterov=nesterov))
        assert np.abs(run_transform(coupled) - ours).max() > 1e-4


# -- chains -----------------------------------------------------------------------------------
def test_adam_is_the_chain_of_its_direction_and_the_rate_fused_or_not():
    """The Keras class, the chain through init/update, and the two transforms run one
    after the other (each its own pass, its own state) give the same iterates."""
    adam_class = run_optimizer(O.Adam(0.05))
    chained = run_transform(O.chain(O.scale_by_adam(), O.scale_by_learning_rate(0.05)))
    direction, rate = O.scale_by_adam(), O.scale_by_learning_rate(0.05)
    w = W0.copy()
    states = direction.init([w]), rate.init([w])
    separate = []
    for _ in range(20):
        u = direction.update([gradient(w)], states[0], [w])
        O.apply_updates([w], rate.update(u, states[1], [w]))
        separate.append(w.copy())
    np.testing.assert_allclose(chained, adam_class, rtol=1e-14)
    np.testing.assert_allclose(np.array(separate), adam_class, rtol=1e-14)


CHAINS = {
    "clip-rms-decay-rate": lambda: [O.clip(0.7), O.scale_by_rms(), O.add_decayed_weights(0.05),
                                    O.scale_by_learning_rate(0.01)],
    "adagrad-rate-momentum": lambda: [O.scale_by_adagrad(), O.scale_by_learning_rate(0.1),
                                      O.scale_by_momentum(0.8, nesterov=True)],
    "adadelta-rate-stepdecay": lambda: [O.scale_by_adadelta(), O.scale_by_learning_rate(
        S.StepDecay(0.5, 0.5, 3)), O.add_decayed_weights(0.1, learning_rate=0.5)],
    "amsgrad-clipnorm-rate": lambda: [O.scale_by_adam(amsgrad=True), O.clip_by_norm(0.5),
                                      O.scale_by_learning_rate(0.05)],
}


@pytest.mark.parametrize("backend", kernels.available_backends())
@pytest.mark.parametrize("name", sorted(CHAINS))
def test_a_fused_chain_equals_its_transforms_run_one_by_one(name, backend):
    """The lowering changes nothing but the number of passes: a chain (its element-wise
    runs fused into one kernel each) gives the iterates of its transforms run one after
    the other, each a pass of its own with its own state."""
    with kernels.use(backend):
        fused = run_transform(O.chain(*CHAINS[name]()))
        members, w, path = CHAINS[name](), W0.copy(), []
        states = [t.init([w]) for t in members]
        for _ in range(20):
            u = [gradient(w)]
            for t, state in zip(members, states):
                u = t.update(u, state, [w])
            O.apply_updates([w], u)
            path.append(w.copy())
    np.testing.assert_allclose(fused, np.array(path), rtol=1e-14, atol=1e-15)


def test_clip_by_global_norm_then_adam_equals_adams_clipnorm():
    """Keras's clipnorm clips each parameter's gradient: with one parameter array that is
    the global norm, so chain(clip_by_global_norm(c), adam) equals Adam(clipnorm=c)."""
    c = 0.5
    ours = run_transform(O.chain(O.clip_by_global_norm(c), O.Adam(0.05).transform()))
    np.testing.assert_allclose(ours, run_optimizer(O.Adam(0.05, clipnorm=c)), rtol=1e-14)
    assert np.linalg.norm(gradient(W0)) > 10 * c  # so the clipping acts
    assert np.abs(ours - run_optimizer(O.Adam(0.05))).max() > 1e-3


def test_clip_by_norm_is_per_parameter_and_global_norm_is_over_all():
    g1, g2 = np.array([3.0, 4.0]), np.array([0.0, 12.0])   # norms 5 and 12, together 13
    state = O.clip_by_norm(1.0).init([g1, g2])
    per_array = O.clip_by_norm(1.0).update([g1, g2], state)
    np.testing.assert_allclose(per_array[0], [0.6, 0.8])
    np.testing.assert_allclose(per_array[1], [0.0, 1.0])
    state = O.clip_by_global_norm(1.3).init([g1, g2])
    together = O.clip_by_global_norm(1.3).update([g1, g2], state)
    np.testing.assert_allclose(together[0], g1 / 10)
    np.testing.assert_allclose(together[1], g2 / 10)
    np.testing.assert_array_equal(g1, [3.0, 4.0])          # the gradients are untouched
    np.testing.assert_allclose(O.clip(3.5).update([g1], O.clip(3.5).init([g1]))[0], [3, 3.5])


def test_several_parameters_with_clipnorm_equal_clipping_each_by_hand():
    rng = np.random.default_rng(0)
    params = [nl.Tensor(rng.standard_normal(s), requires_grad=True) for s in [(3, 4), (4,)]]
    reference = [p.data.copy() for p in params]
    grads = [rng.standard_normal(s) * 10 for s in [(3, 4), (4,)]]
    for p, g in zip(params, grads):
        p.grad = g
    O.SGD(0.1, clipnorm=1.0).apply(params)
    for p, w, g in zip(params, reference, grads):
        np.testing.assert_allclose(p.data, w - 0.1 * g / np.linalg.norm(g), rtol=1e-14)


def test_a_schedule_and_a_changed_rate_drive_the_chain():
    w = nl.Tensor(np.array([1.0]), requires_grad=True)
    optimizer = O.SGD(S.PiecewiseConstantDecay([1], [0.1, 0.01]))
    for expected in (1 - 0.1, 0.9 - 0.01 * 1):
        w.grad = np.array([1.0])
        optimizer.apply([w])
        assert w.data[0] == pytest.approx(expected, rel=1e-15)
    optimizer.learning_rate = 0.5  # as a callback sets it: the next step uses it
    w.grad = np.array([1.0])
    optimizer.apply([w])
    assert w.data[0] == pytest.approx(0.89 - 0.5, rel=1e-15)


def test_nadam_through_the_transform_contract_equals_the_class():
    np.testing.assert_allclose(run_transform(O.chain(O.scale_by_nadam(),
                                                     O.scale_by_learning_rate(0.05))),
                               run_optimizer(O.Nadam(0.05)), rtol=1e-14)


@pytest.mark.parametrize("name", ["adamw", "sgdw"])
def test_adamw_and_sgdw_state_round_trips_through_a_model_file(name, tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 3)), rng.standard_normal((64, 1))
    model = nl.Sequential([Dense(4, activation="tanh"), Dense(1)], seed=0)
    model.compile(optimizer={"class_name": name, "config": {"learning_rate": 0.01,
                                                            "weight_decay": 0.05}},
                  loss="mse")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=1)
    model.save(tmp_path / "m.nnl")
    loaded = nl.load_model(tmp_path / "m.nnl")
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.get_config()["weight_decay"] == 0.05
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=2)
    loaded.fit(x, y, epochs=2, batch_size=16, verbose=0, seed=2)
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_chain_of_element_wise_transforms_is_one_kernel():
    adamw = O.AdamW().chain()
    assert [len(run) for run in adamw.runs] == [3]           # one fused run: one loop
    assert adamw.fused_kernel.arrays == 4                     # (w, m, v, g)
    clipped = O.Adam(clipnorm=1.0, clipvalue=2.0).chain()
    assert [type(r).__name__ if not isinstance(r, tuple) else len(r)
            for r in clipped.runs] == [1, "ClipByNorm", 2]    # a norm needs its own pass
    assert O.Adam(clipnorm=1.0).describe() == \
        "ClipByNorm (its own pass), then ScaleByAdam + ScaleByLearningRate"


def test_a_chain_built_by_hand_trains_a_model_like_the_class():
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 3)), rng.standard_normal((64, 1))
    weights = []
    for optimizer in (O.FromTransform(O.chain(O.scale_by_adam(), O.add_decayed_weights(0.1),
                                              O.scale_by_learning_rate(0.01))),
                      O.AdamW(0.01, weight_decay=0.1)):
        model = nl.Sequential([Dense(4, activation="tanh"), Dense(1)], seed=0,
                              dtype="float64")
        model.compile(optimizer, "mse")
        model.fit(x, y, epochs=3, batch_size=16, verbose=0, seed=1)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_allclose(a, b, rtol=1e-13)
    with pytest.raises(TypeError, match="transform must be a Transform .*got Adam"):
        O.FromTransform(O.Adam())


# -- bad input ----------------------------------------------------------------------------
@pytest.mark.parametrize("make, error, message", [
    (lambda: O.chain(O.scale_by_adam(), "adam"), TypeError, "every argument must be a "
                                                            "Transform; got str"),
    (lambda: O.chain(O.scale_by_adam(), O.scale_by_nadam()), ValueError,
     "two transforms keep a state array named 'm'"),
    (lambda: O.add_decayed_weights(-0.1), ValueError, "weight_decay must be a non-negative"),
    (lambda: O.AdamW(weight_decay=float("nan")), ValueError, "weight_decay must be a non-neg"),
    (lambda: O.SGDW(momentum=1.5), ValueError, r"momentum must be in \[0, 1\)"),
    (lambda: O.clip_by_global_norm(-1), ValueError, "max_norm must be a non-negative"),
    (lambda: O.scale_by_learning_rate("fast"), ValueError, "learning_rate must be a non-neg"),
])
def test_bad_arguments_name_themselves(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_a_transform_reading_the_weights_asks_for_them():
    decay = O.add_decayed_weights(0.1)
    g = np.ones(3)
    with pytest.raises(TypeError, match="reads the weights: pass params"):
        decay.update([g], decay.init([g]))


# -- the explicit objective of the full-batch methods ----------------------------------------
def quadratic_objective(w, **extra):
    def closure():
        w.grad = None
        loss = (nl.Tensor(np.array([1.0, 10.0])) * w * w).sum() * 0.5
        loss.backward()
        return loss.item()
    return O.Objective([w], closure, **extra)


def test_objective_gives_value_and_gradient_at_flat_weights():
    w = nl.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    objective = quadratic_objective(w)
    f, g = objective.value_and_grad(np.array([2.0, -1.0]))
    assert f == pytest.approx(0.5 * (4 + 10)) and np.allclose(g, [2.0, -10.0])
    np.testing.assert_array_equal(objective.weights(), [2.0, -1.0])
    f, slope, g = objective.along(np.zeros(2), np.array([1.0, 1.0]))(0.5)
    assert f == pytest.approx(0.5 * (0.25 + 2.5)) and slope == pytest.approx(0.5 + 5.0)
    assert not objective.has_residuals
    with pytest.raises(TypeError, match="closure must be callable"):
        O.Objective([w], 3.0)


def rosenbrock_least_squares(form):
    """w and its Objective for r = (w0 - 1, 10 (w1 - w0^2)), J written out by hand and
    given as (r, J) (``form="residuals"``) or as (J^T J, J^T r)."""
    w = nl.Tensor(np.array([-1.2, 1.0]), requires_grad=True)

    def closure():
        w.grad = None
        r = (nl.Tensor(np.array([1.0, 0.0])) * (w[0] - 1)
             + nl.Tensor(np.array([0.0, 10.0])) * (w[1] - w[0] ** 2))
        loss = (r * r).sum()
        loss.backward()
        return loss.item()

    def residuals():
        w0, w1 = w.data
        return (np.array([w0 - 1, 10 * (w1 - w0 ** 2)]),
                np.array([[1.0, 0.0], [-20 * w0, 10.0]]))

    def normal_equations():
        r, J = residuals()
        return J.T @ J, J.T @ r

    given = residuals if form == "residuals" else normal_equations
    return w, O.Objective([w], closure, **{form: given})


def test_levenberg_marquardt_takes_residuals_or_their_normal_equations_alike():
    paths = []
    for form in ("residuals", "normal_equations"):
        w, objective = rosenbrock_least_squares(form)
        optimizer, path = O.LevenbergMarquardt(), []
        for _ in range(30):
            optimizer.minimize([w], objective)
            path.append(w.data.copy())
        paths.append(np.array(path))
        assert objective.has_residuals
    np.testing.assert_allclose(paths[0], paths[1], rtol=1e-12)
    np.testing.assert_allclose(paths[0][-1], [1.0, 1.0], atol=1e-8)


# -- the per-step cost of a tiny network ----------------------------------------------------
def python_calls_per_apply(optimizer, steps=20):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((8, 2)), rng.standard_normal((8, 1))
    model = nl.Sequential([Dense(4, activation="tanh"), Dense(1)], seed=0)
    model.compile(optimizer, "mse")
    model.train_step(x, y)  # builds, compiles the kernel
    params = model.params
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(steps):
        optimizer.apply(params)
    profile.disable()
    return pstats.Stats(profile).total_calls / steps


@pytest.mark.parametrize("make, release_0_1", [
    (lambda: O.SGD(0.1), 18.05), (lambda: O.SGD(0.1, momentum=0.9), 18.05),
    (lambda: O.RMSprop(), 18.05), (lambda: O.Adam(), 19.05), (lambda: O.Nadam(), 22.05),
    (lambda: O.Adam(clipnorm=1.0), 27.05),
], ids=["sgd", "momentum", "rmsprop", "adam", "nadam", "adam-clipnorm"])
def test_a_step_makes_no_more_python_calls_than_release_0_1(make, release_0_1):
    """Counted by cProfile (not timed): the per-step overhead of a tiny network is its
    Python calls; release 0.1 made the counts given (measured with this function)."""
    assert python_calls_per_apply(make()) <= release_0_1
