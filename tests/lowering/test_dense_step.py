"""The compiled forward and backward pass of Dense stacks (nnlearn.lowering.dense_step) against the
engine and against finite differences."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import activations
from nnlearn.lowering import dense_step as compiled, loops, planner

pytestmark = pytest.mark.skipif(
    "numba" not in loops.available_backends() or not compiled.scipy_importable(),
    reason="the compiled step needs numba and SciPy (the fast extra)")



@pytest.fixture(autouse=True)
def _numba_kernels():
    """The compiled step switched on and the numba kernels, whatever the environment
    says (the engine's reference runs switch both off inside)."""
    with planner.settings(kernels="numba", compiled_step=True):
        yield


def engine_if(engine: bool):
    """The engine with NumPy's kernels, or the compiled step with numba's."""
    return planner.settings(kernels="numpy" if engine else "numba", compiled_step=not engine)


def reason_not_compiled(model):
    """The plan's reason for the engine, or None when the gradients run compiled."""
    plan = planner.plan(model)
    return None if plan.compiled else plan.parts[0].reason


HEADS = {  # output activation, loss, targets of n samples for k outputs
    "softmax-ce": ("softmax", "categorical_crossentropy",
                   lambda rng, n, k: np.eye(k)[rng.integers(0, k, n)]),
    "softmax-soft": ("softmax", "categorical_crossentropy",
                     lambda rng, n, k: rng.dirichlet(np.ones(k), n)),
    "softmax-sparse": ("softmax", "sparse_categorical_crossentropy",
                       lambda rng, n, k: rng.integers(0, k, n)),
    "sigmoid-bce": ("sigmoid", "binary_crossentropy",
                    lambda rng, n, k: (rng.random((n, k)) > 0.5).astype(float)),
    "linear-mse": ("linear", "mse", lambda rng, n, k: rng.normal(size=(n, k))),
}


def _model(hidden, activation, head, k, dtype, optimizer, seed=0):
    output, loss, _ = HEADS[head]
    layers = [nl.layers.Dense(h, activation=activation) for h in hidden]
    model = nl.Sequential([nl.layers.Input((3,)), *layers,
                           nl.layers.Dense(k, activation=output)], seed=seed, dtype=dtype)
    model.compile(optimizer=optimizer, loss=loss,
                  metrics=["mae" if output == "linear" else "accuracy"])
    return model


def _data(head, k, n=7, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)) * 2, HEADS[head][2](rng, n, k)


def _train(model, x, y, steps, engine: bool):
    """(losses, outputs of the first step, gradients of the first step): steps of
    train_step, on the engine (the NumPy kernels) or compiled."""
    losses, first = [], None
    if not model.built:
        model.build(x.shape[1:])
    with engine_if(engine):
        assert (planner.compiled_gradients(model, x) is None) == engine
        for _ in range(steps):
            losses.append(model.train_step(x, y)["loss"])
            if first is None:
                first = [p.grad.copy() for p in model.params]
    return losses, first


@pytest.mark.parametrize("head", sorted(HEADS))
@pytest.mark.parametrize("activation", list(activations.elementwise()))
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_equals_the_engine(head, activation, dtype):
    """Every element-wise activation of the table, every head: the compiled step is the
    engine's, to rounding (1e-10 in float64)."""
    one_output = activation in ("tanh", "linear") and head in ("sigmoid-bce", "linear-mse")
    k = 1 if one_output else 3
    hidden = {"relu": (5, 4), "tanh": (4,), "sigmoid": (6, 3, 2), "linear": ()}.get(
        activation, (5, 4))
    x, y = _data(head, k)
    if one_output and activation == "linear":
        y = y[:, 0]  # targets of shape (n,) for the one output
    tolerance = dict(rtol=1e-10, atol=1e-12) if dtype == "float64" else dict(rtol=2e-4,
                                                                             atol=2e-5)
    results = []
    for engine in (True, False):
        model = _model(hidden, activation, head, k, dtype, nl.optimizers.Adam(0.05))
        losses, grads = _train(model, x, y, 6, engine)
        results.append((losses, grads, model.get_weights(), model.optimizer.get_state(),
                        list(model.metric_results().values())))
    (l0, g0, w0, s0, m0), (l1, g1, w1, s1, m1) = results
    np.testing.assert_allclose(l1, l0, **tolerance)
    for a, b in zip(g1 + w1 + s1, g0 + w0 + s0):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_allclose(a, b, **tolerance)
    np.testing.assert_allclose(m1, m0, **tolerance)  # the metrics saw the same outputs


@pytest.mark.parametrize("head", sorted(HEADS))
def test_gradients_match_finite_differences(head):
    """The compiled gradients against central differences of the compiled loss (float64),
    independent of the engine."""
    k = 2
    model = _model((4, 3), "tanh", head, k, "float64", "sgd")
    x, y = _data(head, k, n=5)
    model.build(x.shape[1:])
    gradients = planner.compiled_gradients(model, x)
    gradients(x, y)
    analytic = [p.grad.copy() for p in model.params]
    for p, grad in zip(model.params, analytic):
        numeric = np.zeros_like(p.data)
        for index in np.ndindex(p.shape):
            original = p.data[index]
            p.data[index] = original + 1e-6
            plus = gradients(x, y)[0]
            p.data[index] = original - 1e-6
            minus = gradients(x, y)[0]
            p.data[index] = original
            numeric[index] = (plus - minus) / 2e-6
        np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_every_optimizer_through_fit_matches_the_engine():
    """fit with each first-order optimizer, and a full-batch one: the same weights."""
    x, y = _data("softmax-sparse", 3, n=40)
    for optimizer in ["sgd", {"class_name": "SGD", "config": {"momentum": 0.9,
                                                              "nesterov": True}},
                      "adagrad", "adadelta", "rmsprop", "adam", "nadam", "rprop",
                      {"class_name": "Adam", "config": {"amsgrad": True, "clipnorm": 0.1}}]:
        weights = []
        for backend in ("numpy", "numba"):
            model = _model((6,), "relu", "softmax-sparse", 3, "float64", optimizer)
            with loops.use(backend):
                model.fit(x, y, epochs=4, batch_size=8, verbose=0, seed=3)
            weights.append(model.get_weights())
        for a, b in zip(*weights):
            np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12, err_msg=str(optimizer))


@pytest.mark.filterwarnings("ignore:Stochastic Optimizer")
def test_the_estimators_objective_with_alpha_matches_the_engine():
    from nnlearn.estimators import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    cases = [(MLPClassifier, rng.integers(0, 3, 60)),                       # softmax
             (MLPClassifier, rng.integers(0, 2, 60)),                       # logistic
             (MLPClassifier, (rng.random((60, 3)) > 0.5).astype(int)),      # multi-label
             (MLPRegressor, rng.normal(size=(60, 2)))]                      # identity
    for cls, y in cases:
        curves = []
        for backend in ("numpy", "numba"):
            with engine_if(backend == "numpy"):
                estimator = cls(hidden_layer_sizes=(7,), alpha=0.3, max_iter=15,
                                random_state=0, tol=0).fit(X, y)
                assert (planner._cache[estimator.model_][1] is None) == (backend == "numpy")
            curves.append(estimator.loss_curve_)
        np.testing.assert_allclose(curves[1], curves[0], rtol=1e-10)


def test_the_reasons_it_runs_on_the_engine(monkeypatch):
    def reason(*layers, loss="categorical_crossentropy", dtype="float32"):
        model = nl.Sequential([nl.layers.Input((3,)), *layers], dtype=dtype)
        model.compile("sgd", loss)
        model.build((3,))
        return reason_not_compiled(model)

    assert reason(nl.layers.Dense(4, "relu"), nl.layers.Dense(2, "softmax")) is None
    assert reason(nl.layers.Dense(4, "gelu"), nl.layers.Dense(2, "softmax")) is None
    assert "Dense" in reason(nl.layers.Dense(4), nl.layers.Dropout(0.5),
                             nl.layers.Dense(2, "softmax"))
    assert "activation" in reason(nl.layers.Dense(4, lambda z: z * z),
                                  nl.layers.Dense(2, "softmax"))
    assert "loss" in reason(nl.layers.Dense(2, "softmax"), loss="mse")
    assert "loss" in reason(nl.layers.Dense(2, "sigmoid"), loss="categorical_crossentropy")
    assert "regularizer" in reason(nl.layers.Dense(2, "softmax", kernel_regularizer="l2"))
    assert "no bias" in reason(nl.layers.Dense(2, "softmax", use_bias=False))
    assert "float16" in reason(nl.layers.Dense(2, "softmax"), dtype="float16")
    with loops.use("numpy"):  # the kernels' backend is a switch of its own
        assert reason(nl.layers.Dense(2, "softmax")) is None
    with planner.settings(compiled_step=False):
        assert "switched off" in reason(nl.layers.Dense(2, "softmax"))
    monkeypatch.setattr(compiled, "scipy_importable", lambda: False)
    assert reason(nl.layers.Dense(2, "softmax")) is None  # NumPy's own BLAS is enough
    monkeypatch.setattr(compiled, "numpy_gemm", lambda dtype: None)
    assert "SciPy" in reason(nl.layers.Dense(2, "softmax"))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_numpy_blas_and_numbas_np_dot_give_the_same_step(dtype, monkeypatch):
    """The products by NumPy's own gemm (when its wheel bundles OpenBLAS) and by numba's
    np.dot (SciPy's BLAS, the fallback) agree."""
    if compiled.numpy_gemm(np.dtype(dtype)) is None:
        pytest.skip("this NumPy does not bundle an ILP64 OpenBLAS")
    x, y = _data("softmax-sparse", 3, n=80)  # 80 x (3 x 300) multiply-adds: BLAS's size
    results = []
    for gemm in ("numpy", None):
        if gemm is None:
            monkeypatch.setattr(compiled, "numpy_gemm", lambda d: None)
        model = _model((300, 20), "relu", "softmax-sparse", 3, dtype, "adam")
        losses, grads = _train(model, x, y, 3, engine=False)
        results.append((losses, grads, model.get_weights()))
    tolerance = 1e-12 if dtype == "float64" else 1e-5
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=tolerance)
    for a, b in zip(results[0][1] + results[0][2], results[1][1] + results[1][2]):
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)


def test_samples_of_more_than_one_axis_run_on_the_engine():
    model = nl.Sequential([nl.layers.Input((2, 3)), nl.layers.Dense(2, "softmax")])
    model.compile("sgd", "categorical_crossentropy")
    model.build((2, 3))
    x = np.ones((4, 2, 3), np.float32)
    assert reason_not_compiled(model) is None
    assert planner.compiled_gradients(model, x) is None
    assert planner.compiled_gradients(model, x[:, 0]) is not None


def test_a_recompiled_model_gets_a_new_step():
    model = _model((4,), "relu", "softmax-ce", 3, "float64", "sgd")
    x, y = _data("softmax-ce", 3)
    model.build(x.shape[1:])
    first = planner.compiled_gradients(model, x)
    assert planner.compiled_gradients(model, x) is first
    model.compile("sgd", "mse")  # softmax + mse: no head
    assert planner.compiled_gradients(model, x) is None
    model.compile("adam", "categorical_crossentropy")
    assert planner.compiled_gradients(model, x) is not None


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the engine's overflow in np.dot
def test_a_diverging_step_gives_nan_as_the_engine():
    x, y = _data("linear-mse", 2)
    for engine in (True, False):
        model = _model((4,), "relu", "linear-mse", 2, "float64", "sgd")
        model.build(x.shape[1:])
        model.set_weights([w * 1e200 for w in model.get_weights()])
        losses, _ = _train(model, x, y, 2, engine)
        assert not np.isfinite(losses[-1])
        assert not np.all(np.isfinite(model.get_weights()[0]))


def test_large_batches_through_tanh_run_on_the_engine():
    """numba's tanh is a scalar call: past ~2,000 per layer NumPy's vectorized one wins."""
    model = _model((64, 64), "tanh", "softmax-ce", 3, "float32", "sgd")
    model.build((3,))
    small, large = np.ones((10, 3)), np.ones((1000, 3))
    assert planner.compiled_gradients(model, small) is not None
    assert planner.compiled_gradients(model, large) is None
    relu = _model((64, 64), "relu", "linear-mse", 3, "float32", "sgd")
    relu.build((3,))
    assert planner.compiled_gradients(relu, large) is not None  # no tanh, no exp


def test_bad_targets_are_an_error_not_a_read_out_of_bounds():
    model = _model((4,), "relu", "softmax-sparse", 3, "float64", "sgd")
    x, y = _data("softmax-sparse", 3)
    model.build(x.shape[1:])
    assert planner.compiled_gradients(model, x) is not None
    before = model.get_weights()
    for labels in (np.array([0, 1, 2, 3, 0, 1, 2]), np.array([0, -1, 2, 0, 0, 1, 2]),
                   np.array([0, 1, 2])):
        with pytest.raises(ValueError, match="labels|samples"):
            model.train_step(x, labels)
    rows = _model((4,), "relu", "linear-mse", 2, "float64", "sgd")
    rows.build(x.shape[1:])
    with pytest.raises(ValueError):
        rows.train_step(x, np.zeros((3, 2)))
    with pytest.raises(ValueError):
        rows.train_step(x[:, :2], np.zeros((7, 2)))  # 2 features for a 3-input layer
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)  # nothing was updated


def test_a_model_built_again_trains_its_new_weights():
    model = _model((4,), "relu", "softmax-sparse", 3, "float64", "sgd")
    x, y = _data("softmax-sparse", 3)
    model.build(x.shape[1:])
    model.train_step(x, y)
    model.build(x.shape[1:])  # new parameters
    before = model.get_weights()
    model.train_step(x, y)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_gradient_arrays_are_reused_only_by_one_evaluation_optimizers():
    x, y = _data("softmax-sparse", 3)
    for optimizer, reused in (("adam", True), ("lbfgs", False),
                              (nl.optimizers.ConjugateGradient(), False)):
        model = _model((4,), "relu", "softmax-sparse", 3, "float64", optimizer)
        model.build(x.shape[1:])
        model.train_step(x, y)
        first = model.params[0].grad
        model.train_step(x, y)
        assert (model.params[0].grad is first) == reused, optimizer


def test_train_step_builds_the_model_and_checks_its_batch_as_the_engine():
    """train_step called directly (no fit): the first batch builds the model; wrong
    features, fractional or out-of-range labels are errors naming the problem."""
    def fresh():
        model = nl.Sequential([nl.layers.Input((4,)), nl.layers.Dense(8, "tanh"),
                               nl.layers.Dense(3, "softmax")], seed=0)
        model.compile("adam", "sparse_categorical_crossentropy")
        return model

    x, y = np.zeros((8, 4), np.float32), np.zeros(8, int)
    model = fresh()
    assert np.isfinite(model.train_step(x, y)["loss"])
    assert planner.compiled_gradients(model, x) is not None
    for engine in (False, True):
        model = fresh()
        model.train_step(x, y)
        with engine_if(engine):
            with pytest.raises(ValueError, match=r"shape \(4,\)|not aligned"):
                model.train_step(np.zeros((8, 5), np.float32), y)
            with pytest.raises(ValueError, match="integer"):
                model.train_step(x, np.array([0, 1, 1.5, 0, 0, 0, 0, 0]))
            with pytest.raises(ValueError, match=r"\[0, 3\).*0 to 5|lie in \[0, 3\)"):
                model.train_step(x, np.array([0, 1, 5, 0, 0, 0, 0, 0]))


def test_fit_names_a_fractional_label():
    model = nl.Sequential([nl.layers.Input((4,)), nl.layers.Dense(3, "softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match="1.5, not an integer"):
        model.fit(np.zeros((4, 4)), [0, 1.5, 2, 0], verbose=0)


def test_the_compiled_loops_are_generated_from_the_table_of_activations():
    """One branch per element-wise activation, in the codes compiled.activation_code
    gives, and one per element-wise link, in the codes of losses.Head.LINKS."""
    from nnlearn.lowering import _dense_template as template

    table = activations.elementwise()
    source = template.source(table, nl.links.ELEMENTWISE_LINKS, nl.links.CODES)
    for code, (name, activation) in enumerate(table.items()):
        assert compiled.activation_code(activation) == code
        assert f"if code == {code}:  # {name}" in source
        assert f"function_{code}(v, one)" in source
    assert compiled.activation_code(activations.softmax) is None
    assert template.SOFTMAX == nl.losses.Head.LINKS.index("softmax") == 0
    for name in nl.links.ELEMENTWISE_LINKS:  # one loss head per element-wise link
        code = nl.losses.Head.LINKS.index(name)
        assert f"if link == {code}:  # {name}" in source


def _engine_loss(model, x, y):
    with planner.settings(compiled_step=False):
        return model.compute_loss(x, y)[0].data


def test_parameters_the_loops_cannot_take_run_on_the_engine_or_are_an_error():
    """The compiled loops do not check their indices: a Fortran-ordered or strided
    kernel runs on the engine (same loss), a bias of the wrong length is the engine's
    error, never a read or write past an array."""
    x, y = _data("linear-mse", 2, n=9)
    fortran = _model((5,), "relu", "linear-mse", 2, "float64", "sgd")
    fortran.build(x.shape[1:])
    fortran.layers[1].kernel.data = np.asfortranarray(fortran.layers[1].kernel.data)
    strided = _model((5,), "relu", "linear-mse", 2, "float64", "sgd")
    strided.build(x.shape[1:])
    wide = np.zeros((3, 10))
    wide[:, :5] = strided.layers[1].kernel.data
    strided.layers[1].kernel.data = wide[:, :5]
    for model in (fortran, strided):
        assert planner.compiled_gradients(model, x)(x, y) is None  # computes nothing
        expected = _engine_loss(model, x, y)
        assert model.train_step(x, y)["loss"] == pytest.approx(expected, rel=1e-12)
    short = _model((5,), "relu", "linear-mse", 2, "float64", "sgd")
    short.build(x.shape[1:])
    short.layers[1].bias.data = np.zeros(1)
    assert planner.compiled_gradients(short, x)(x, y) is None
    with pytest.raises(ValueError, match=r"b must have shape \(5,\); got \(1,\)"):
        short.train_step(x, y)


def test_a_layer_changed_after_the_first_step_is_seen():
    x, y = _data("softmax-sparse", 3)
    model = _model((4,), "relu", "softmax-sparse", 3, "float64", "sgd")
    model.fit(x, y, epochs=1, verbose=0)
    model.layers[1].activation = nl.activations.get("tanh")
    expected = _engine_loss(model, x, y)
    assert model.train_step(x, y)["loss"] == pytest.approx(expected, rel=1e-12)
    model.layers[1].kernel_regularizer = nl.regularizers.get("l2")
    assert planner.compiled_gradients(model, x) is None  # a regularizer: the engine
    expected = _engine_loss(model, x, y)
    assert model.train_step(x, y)["loss"] == pytest.approx(expected, rel=1e-12)


def test_an_optimizer_with_its_own_update_gets_new_gradient_arrays():
    class Averaging(nl.optimizers.SGD):
        """Keeps each gradient for the next step."""

        def update(self, w, g, state, lr, scratch):
            w -= lr * (g + state.setdefault("last", g)) / 2
            state["last"] = g

    x, y = _data("softmax-sparse", 3)
    runs = []
    for engine in (True, False):
        model = _model((4,), "relu", "softmax-sparse", 3, "float64", Averaging(0.1))
        runs.append(_train(model, x, y, 4, engine)[0])
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12)


def test_an_empty_batch_runs_on_the_engine():
    model = _model((4,), "relu", "softmax-sparse", 3, "float64", "sgd")
    x, _ = _data("softmax-sparse", 3)
    model.build(x.shape[1:])
    assert planner.compiled_gradients(model, x[:0]) is None


@pytest.mark.parametrize("head, targets, message", [
    ("linear-mse", np.zeros((7, 2, 1)), r"y_true of shape \(7, 2, 1\) does not match"),
    ("softmax-ce", np.zeros(7, int), r"y_true of shape \(7,\) does not match"),
    ("softmax-sparse", np.zeros(7, bool), "integer class labels.*got dtype bool"),
    ("softmax-sparse", np.eye(3)[[0, 1, 2, 0, 1, 2, 0]], "one integer label per sample"),
    ("softmax-sparse", np.full(7, 2**64 - 1, np.uint64), "got 18446744073709551615"),
])
def test_targets_are_read_by_the_engines_rules(head, targets, message):
    """Targets the engine refuses are refused by the compiled step too, with its message,
    before any weight changes."""
    k = 3 if head.startswith("softmax") else 2
    model = _model((4,), "relu", head, k, "float64", "sgd")
    x, _ = _data(head, k)
    model.build(x.shape[1:])
    before = model.get_weights()
    for engine in (True, False):
        with engine_if(engine), pytest.raises(ValueError, match=message):
            model.train_step(x, targets)
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.filterwarnings("ignore::nnlearn.estimators.ConvergenceWarning")
def test_the_estimators_use_this_fits_alpha_and_check_partial_fits_outputs():
    from nnlearn.estimators import MLPRegressor

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 5)), rng.normal(size=(40, 2))
    warm = MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0, tol=0,
                        warm_start=True, solver="sgd").fit(X, Y[:, 0])
    cold_loss = warm.loss_
    warm.set_params(alpha=1000.0).fit(X, Y[:, 0])
    assert warm.loss_ > 10 * cold_loss  # the penalty of alpha=1000 is in the loss
    two = MLPRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X, Y)
    with pytest.raises(ValueError, match=r"y has 1 output\(s\) per sample; the estimator "
                                         "was fitted with 2"):
        two.partial_fit(X, Y[:, 0])
    assert two.n_outputs_ == 2


from hypothesis import HealthCheck, given, settings as hypothesis_settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ELEMENTWISE = [name for name in activations.elementwise() if name != "exponential"]


@hypothesis_settings(max_examples=25, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(hidden=st.lists(st.tuples(st.integers(1, 6), st.sampled_from(_ELEMENTWISE)),
                       max_size=3),
       head=st.sampled_from(sorted(HEADS)), dtype=st.sampled_from(["float64", "float32"]),
       optimizer=st.sampled_from(["sgd", "adam", "rmsprop", "adagrad", "nadam"]),
       weighted=st.booleans(), batch_size=st.integers(1, 9), seed=st.integers(0, 1000),
       reduction=st.sampled_from(["sum_over_batch_size", "mean_with_sample_weight", "sum"]))
def test_random_dense_stacks_compiled_equal_the_engine(hidden, head, dtype, optimizer,
                                                       weighted, batch_size, seed, reduction):
    """Random stacks (activations x heads x dtypes x optimizers x sample weights x
    reductions x batch sizes): the compiled step trains to the engine's weights, to
    rounding."""
    k = 3
    x, y = _data(head, k, n=9, seed=seed)
    w = np.random.default_rng(seed).uniform(0, 2, 9) if weighted else None
    output, loss, _ = HEADS[head]
    results = []
    for engine in (True, False):
        model = nl.Sequential([nl.layers.Input((3,)),
                               *[nl.layers.Dense(units, activation=name)
                                 for units, name in hidden],
                               nl.layers.Dense(k, activation=output)], seed=seed, dtype=dtype)
        cls = type(nl.losses.get(loss))
        model.compile(optimizer=optimizer, loss=nl.losses.get(
            {"class_name": cls.__name__, "config": {"reduction": reduction}}))
        with engine_if(engine):
            history = model.fit(x, y, epochs=2, batch_size=batch_size, sample_weight=w,
                                seed=seed, verbose=0)
            assert model.plan(batch_size).compiled == (not engine)
        results.append((history.history["loss"], model.get_weights()))
    tolerance = dict(rtol=1e-9, atol=1e-11) if dtype == "float64" else dict(rtol=2e-3,
                                                                            atol=2e-4)
    np.testing.assert_allclose(results[1][0], results[0][0], **tolerance)
    for a, b in zip(results[1][1], results[0][1]):
        np.testing.assert_allclose(a, b, **tolerance)


def test_a_gelu_stack_is_compiled_and_equals_the_engine_in_float64():
    x, y = _data("softmax-sparse", 3, n=20)
    results = []
    for engine in (True, False):
        model = _model((6, 5), "gelu", "softmax-sparse", 3, "float64", "adam")
        model.build((3,))
        with engine_if(engine):
            assert model.plan().compiled == (not engine)
        losses, grads = _train(model, x, y, 5, engine)
        results.append((losses, grads, model.get_weights()))
    plan = _model((6, 5), "gelu", "softmax-sparse", 3, "float64", "adam")
    plan.build((3,))
    assert plan.plan().parts[0].choice == "compiled Dense step"
    for a, b in zip(results[0][0] + results[0][1] + results[0][2],
                    results[1][0] + results[1][1] + results[1][2]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_a_parameter_resized_in_place_is_checked_again_not_read_past():
    """A bias resized in place keeps its array object: the loops check the shapes they
    read on every call and the step goes to the engine, whose error names the bias."""
    x, y = _data("linear-mse", 2, n=9)
    model = _model((5,), "relu", "linear-mse", 2, "float64", "sgd")
    model.build(x.shape[1:])
    model.train_step(x, y)
    model.layers[1].bias.data.resize(2, refcheck=False)
    assert planner.compiled_gradients(model, x)(x, y) is None
    with pytest.raises(ValueError, match=r"b must have shape \(5,\); got \(2,\)"):
        model.train_step(x, y)


def test_complex_or_object_inputs_are_refused_as_on_the_engine():
    x, y = _data("softmax-sparse", 3)
    model = _model((4,), "relu", "softmax-sparse", 3, "float64", "sgd")
    model.build(x.shape[1:])
    for bad in (x + 1j, x.astype(object)):
        for engine in (True, False):
            with engine_if(engine), pytest.raises(TypeError, match="numeric"):
                model.train_step(bad, y)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_takes_rows_of_any_spacing_and_free_strides_of_single_rows(dtype):
    """NumPy leaves the stride of an axis of length 1 free (a one-sample batch, a one-unit
    layer's (1, 1) kernel): the leading dimension given to BLAS must not be read from it;
    a block of rows of a larger array is taken with its row stride."""
    from nnlearn.lowering.dense_step import numpy_gemm, step_functions

    gemm = numpy_gemm(dtype)
    if gemm is None:
        pytest.skip("NumPy's BLAS is not its bundled OpenBLAS")
    matmul = step_functions()["matmul"]
    rng = np.random.default_rng(0)
    one_row = rng.random((1, 3)).astype(dtype)
    free = np.lib.stride_tricks.as_strided(one_row, (1, 3), (999 * one_row.itemsize,
                                                               one_row.itemsize))
    b = rng.random((3, 2)).astype(dtype)
    out = np.empty((1, 2), dtype)
    matmul(gemm, free, b, out, False, False)
    np.testing.assert_allclose(out, one_row @ b, rtol=1e-6)
    big = rng.random((6, 5)).astype(dtype)
    block = big[:, 1:4]  # rows 5 apart, each contiguous
    out = np.empty((6, 2), dtype)
    matmul(gemm, block, b, out, False, False)
    np.testing.assert_allclose(out, block @ b, rtol=1e-6)
    with pytest.raises(ValueError, match="rows must be contiguous"):
        matmul(gemm, big[:, ::2], rng.random((3, 2)).astype(dtype), out, False, False)
