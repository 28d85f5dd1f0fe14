"""The compiled recurrent cell (nnlearn.lowering.recurrent_cell) equals the fused ops' NumPy
steps (nnlearn.autograd.recurrent), which the engine's unrolled graph and PyTorch check in
tests/test_recurrent.py: property tests over random shapes, activations, biases,
initial states and gradient patterns (gradients to 1e-10 in float64, outputs and
gradients to float32 rounding in float32), and through the layers with
return_sequences and go_backwards; both lowerings pass float64 central-difference
gradient checks; the planner chooses and explains them, and the BLAS thread policy."""

import numpy as np
import pytest
from hypothesis import assume, given, settings as hypothesis_settings, strategies as st

import nnlearn as nl
from nnlearn import layers
from nnlearn.lowering import blas, planner
from nnlearn.autograd.recurrent import FUSED_ACTIVATIONS

pytest.importorskip("numba")

GATES = {"simple_rnn": 1, "lstm": 4, "gru": 3}
NAMES = sorted(FUSED_ACTIVATIONS)
# (activation, recurrent activation) pairs: each pair is compiled once (seconds), so the
# properties draw from these, which between them use every fused activation
PAIRS = [("tanh", "sigmoid"), ("relu", "tanh"), ("linear", "binary_step"),
         ("selu", "sigmoid"), ("exponential", "sigmoid")]
assert {name for pair in PAIRS for name in pair} == set(NAMES)


def _inputs(rng, op, n, steps, features, units, dtype, with_bias, with_state,
            recurrent_scale=0.6):
    gates = GATES[op]
    arrays = [rng.standard_normal((n, steps, features)),
              rng.standard_normal((features, gates * units)) * 0.6,
              rng.standard_normal((units, gates * units)) * recurrent_scale]
    bias_shape = (2, 3 * units) if op == "gru" else (gates * units,)
    arrays.append(rng.standard_normal(bias_shape) * 0.3 if with_bias else None)
    states = 2 if op == "lstm" else 1
    arrays += [rng.standard_normal((n, units)) * 0.5 if with_state else None
               for _ in range(states)]
    return [None if a is None else nl.Tensor(a.astype(dtype), requires_grad=True)
            for a in arrays]


def _run(op, inputs, activation, recurrent, weights, cell: bool):
    """(outputs, gradients of sum(outputs * weights)) on the chosen lowering."""
    function = getattr(nl, op)
    kwargs = {"activation": activation}
    if op != "simple_rnn":
        kwargs["recurrent_activation"] = recurrent
    with planner.settings(recurrent_cell=cell), np.errstate(all="ignore"):  # overflow
        out = function(*inputs, **kwargs)
        outs = list(out) if isinstance(out, tuple) else [out]
        loss = sum((o * nl.Tensor(w)).sum() for o, w in zip(outs, weights))
        present = [t for t in inputs if t is not None]
        grads = nl.grad(loss, present)
    return [o.data for o in outs], list(grads)


@hypothesis_settings(max_examples=40, deadline=None)
@given(op=st.sampled_from(sorted(GATES)), n=st.integers(1, 4), steps=st.integers(1, 6),
       features=st.integers(1, 3), units=st.integers(1, 5),
       pair=st.sampled_from(PAIRS), with_bias=st.booleans(), with_state=st.booleans(),
       pattern=st.sampled_from(["all", "last", "sparse"]), seed=st.integers(0, 2 ** 16))
def test_compiled_cell_equals_numpy_steps_in_float64(op, n, steps, features, units, pair,
                                                      with_bias, with_state, pattern, seed):
    activation, recurrent = pair
    rng = np.random.default_rng(seed)
    inputs = _inputs(rng, op, n, steps, features, units, np.float64, with_bias, with_state)
    weights = []
    for _ in range(2 if op == "lstm" else 1):
        w = rng.standard_normal((n, steps, units))
        if pattern == "last":  # a many-to-one model: only the last step's output
            w[:, :-1] = 0
        elif pattern == "sparse":
            w *= rng.random((n, steps, units)) < 0.3
        weights.append(w)
    ours = _run(op, inputs, activation, recurrent, weights, cell=True)
    theirs = _run(op, inputs, activation, recurrent, weights, cell=False)
    # exponential states can overflow, where inf and NaN depend on the order of the sums
    assume(all(np.isfinite(b).all() for b in theirs[0] + theirs[1]))
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        scale = max(1.0, float(np.abs(b[np.isfinite(b)]).max(initial=0)))  # exponential
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10 * scale)


@hypothesis_settings(max_examples=60, deadline=None)
@given(op=st.sampled_from(sorted(GATES)), n=st.integers(1, 6), steps=st.integers(1, 12),
       features=st.integers(1, 4), units=st.integers(1, 17),
       pair=st.sampled_from(PAIRS[:3]), with_bias=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_compiled_cell_equals_numpy_steps_in_float32(op, n, steps, features, units, pair,
                                                      with_bias, seed):
    """float32, with the approximations of exp and tanh: about as accurate as NumPy's
    float32 steps, both measured against the float64 steps on the same (float32)
    numbers, for recurrent kernels scaled as an initializer scales them (entries of
    standard deviation 0.6 / sqrt(units): the float64 test above also draws exploding
    ones, where a relu GRU's gradient reached 183,000 and any two float32 lowerings
    differ by percents).  The compiled cell's largest error is within 256 ulps of the
    array's largest value per step squared, or within 16 times the NumPy steps' own
    error (its tanh is within 7 ulps, NumPy's within 1).  A wrong equation is off by
    the values' own size."""
    rng = np.random.default_rng(seed)
    activation, recurrent = pair
    inputs = _inputs(rng, op, n, steps, features, units, np.float32, with_bias, True,
                     recurrent_scale=0.6 / np.sqrt(units))
    exact = [None if t is None else nl.Tensor(t.data.astype(np.float64), requires_grad=True)
             for t in inputs]
    weights = [rng.standard_normal((n, steps, units)).astype(np.float32)
               for _ in range(2 if op == "lstm" else 1)]
    ours = _run(op, inputs, activation, recurrent, weights, cell=True)
    theirs = _run(op, inputs, activation, recurrent, weights, cell=False)
    truth = _run(op, exact, activation, recurrent, [w.astype(np.float64) for w in weights],
                 cell=False)
    for a, b, t in zip(ours[0] + ours[1], theirs[0] + theirs[1], truth[0] + truth[1]):
        assert a.dtype == b.dtype == np.float32
        scale = max(1.0, float(np.abs(t).max()))
        ours_error = float(np.abs(a - t).max())
        numpy_error = float(np.abs(b - t).max())
        bound = max(256 * 2 ** -23 * steps ** 2 * scale, 16 * numpy_error)
        assert ours_error <= bound, (ours_error, numpy_error, scale)


@pytest.mark.parametrize("cell", [True, False])
@pytest.mark.parametrize("op", sorted(GATES))
def test_gradcheck_on_both_lowerings(op, cell):
    rng = np.random.default_rng(3)
    inputs = [t for t in _inputs(rng, op, 2, 4, 3, 3, np.float64, True, True)]
    kwargs = {} if op == "simple_rnn" else {"recurrent_activation": "sigmoid"}

    def fn(*args):
        out = getattr(nl, op)(*args, activation="tanh", **kwargs)
        return out[0] * 2 + out[1] if isinstance(out, tuple) else out

    with planner.settings(recurrent_cell=cell):
        assert nl.gradcheck(fn, inputs)


@hypothesis_settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from(["SimpleRNN", "LSTM", "GRU"]), return_sequences=st.booleans(),
       go_backwards=st.booleans(), steps=st.integers(1, 5), seed=st.integers(0, 2 ** 16))
def test_layers_equal_on_both_lowerings(kind, return_sequences, go_backwards, steps, seed):
    rng = np.random.default_rng(seed)
    layer = getattr(layers, kind)(4, return_sequences=return_sequences,
                                  go_backwards=go_backwards)
    model = nl.Sequential([layers.Input((steps, 3)), layer, layers.Dense(2)], seed=seed,
                          dtype="float64")
    x = rng.standard_normal((3, steps, 3))
    results = []
    for cell in (True, False):
        with planner.settings(recurrent_cell=cell):
            xt = nl.Tensor(x, requires_grad=True)
            out = model(xt)
            grads = nl.grad((out * out).sum(), [xt, *model.params])
        results.append([out.data, *grads])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_planner_chooses_and_explains_the_cell():
    model = nl.Sequential([layers.Input((5, 2)), layers.LSTM(8), layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    text = model.plan(batch_size=128).explain() if hasattr(model, "plan") else \
        planner.plan(model, batch_size=128).explain()
    assert "compiled cell (numba)" in text
    assert "BLAS on 1 thread around the steps" in text
    assert planner.recurrent_cell_reason(np.float32) is None
    with planner.settings(recurrent_cell=False):
        text = planner.plan(model).explain()
        assert "NumPy passes per step" in text and "NNLEARN_RECURRENT_CELL=off" in text
        assert planner.recurrent_cell_reason(np.float32) is not None
    assert "float16 has no compiled cell" in planner.recurrent_cell_reason(np.float16)
    with pytest.raises(TypeError, match="recurrent_cell"):
        with planner.settings(recurrent_cell="yes"):
            pass


def test_thread_policy_and_its_restoration():
    from nnlearn.lowering import recurrent_cell as compiled_recurrent

    assert planner.recurrent_threads(128, 64, 4) == 1  # 2.1 million multiply-adds
    assert planner.recurrent_threads(1024, 512, 4) is None
    if compiled_recurrent.thread_control() != "NumPy's OpenBLAS":
        pytest.skip("NumPy's BLAS is not its bundled OpenBLAS")
    get, _ = blas.openblas_threads()
    before = get()
    with compiled_recurrent.blas_threads(1):
        assert get() == 1
    assert get() == before
    with compiled_recurrent.blas_threads(None):
        assert get() == before


def test_thread_policy_through_threadpoolctl(monkeypatch):
    """Where NumPy's BLAS is not its bundled OpenBLAS, threadpoolctl sets the threads."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    from nnlearn.lowering import recurrent_cell as compiled_recurrent

    monkeypatch.setattr(blas, "openblas_threads", lambda: None)
    assert compiled_recurrent.thread_control() == "threadpoolctl"
    pools = [info for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"]
    if not pools:
        pytest.skip("no BLAS that threadpoolctl knows is loaded")
    before = [info["num_threads"] for info in pools]
    with compiled_recurrent.blas_threads(1):
        assert all(info["num_threads"] == 1 for info in threadpoolctl.threadpool_info()
                   if info["user_api"] == "blas")
    assert [info["num_threads"] for info in threadpoolctl.threadpool_info()
            if info["user_api"] == "blas"] == before


# -- groups of sequences side by side (recurrent_parts) ------------------------------------
def _with_parts(parts, call):
    from nnlearn.lowering import recurrent_cell

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(recurrent_cell, "recurrent_parts", lambda *shape: parts)
        return call()


@hypothesis_settings(max_examples=40, deadline=None)
@given(op=st.sampled_from(sorted(GATES)), parts=st.integers(2, 3), extra=st.integers(0, 5),
       steps=st.integers(1, 6), features=st.integers(1, 3), units=st.integers(1, 5),
       pair=st.sampled_from(PAIRS[:3]), with_bias=st.booleans(), with_state=st.booleans(),
       seed=st.integers(0, 2 ** 16))
def test_groups_of_sequences_side_by_side_equal_the_numpy_steps_in_float64(
        op, parts, extra, steps, features, units, pair, with_bias, with_state, seed):
    """The compiled cell on 2 or 3 groups of rows, each in its own thread, equals the
    NumPy steps on the whole batch: outputs and every gradient (the weights' summed over
    the groups) to 1e-10."""
    activation, recurrent = pair
    n = parts + extra
    rng = np.random.default_rng(seed)
    inputs = _inputs(rng, op, n, steps, features, units, np.float64, with_bias, with_state)
    weights = [rng.standard_normal((n, steps, units)) for _ in range(2 if op == "lstm" else 1)]
    ours = _with_parts(parts, lambda: _run(op, inputs, activation, recurrent, weights, True))
    theirs = _run(op, inputs, activation, recurrent, weights, cell=False)
    for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("op", sorted(GATES))
def test_groups_of_sequences_in_float32_equal_one_group_to_rounding(op):
    """float32, a batch of 128 in 2 groups against 1: the outputs and the state and
    input gradients are the same rows computed by the same loop (equal up to the
    products' rounding), the weights' gradients the same sums grouped differently."""
    rng = np.random.default_rng(5)
    inputs = _inputs(rng, op, 128, 20, 3, 16, np.float32, True, True,
                     recurrent_scale=0.6 / 4)
    weights = [rng.standard_normal((128, 20, 16)).astype(np.float32)
               for _ in range(2 if op == "lstm" else 1)]
    one = _with_parts(1, lambda: _run(op, inputs, "tanh", "sigmoid", weights, True))
    two = _with_parts(2, lambda: _run(op, inputs, "tanh", "sigmoid", weights, True))
    for a, b in zip(one[0] + one[1], two[0] + two[1]):
        scale = float(np.abs(a).max())
        np.testing.assert_allclose(b, a, rtol=0, atol=2e-5 * scale)


def test_the_planner_runs_groups_of_small_products_side_by_side():
    from nnlearn.lowering import recurrent_cell

    with blas.blas_threads(2):
        if blas.thread_control() is not None:
            assert recurrent_cell.recurrent_parts(128, 64, 4) == 2  # LSTM(64), batch 128
            assert recurrent_cell.recurrent_parts(63, 64, 4) == 1  # fewer than 2 x 32 rows
        assert recurrent_cell.recurrent_parts(512, 256, 4) == 1  # products for the BLAS
    with blas.blas_threads(1):
        if blas.thread_control() is not None:
            assert recurrent_cell.recurrent_parts(128, 64, 4) == 1  # one thread allowed
    model = nl.Sequential([layers.Input((10, 2)), layers.LSTM(64), layers.Dense(1)], seed=0)
    model.compile("adam", "mse")
    with blas.blas_threads(2):
        text = planner.plan(model, batch_size=128).explain()
    if blas.thread_control() is not None:
        assert "2 groups of rows side by side" in text


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="fork is POSIX")
def test_a_forked_child_runs_groups_of_sequences_in_threads_of_its_own():
    """The threads that run the groups do not survive a fork: the child makes its own
    pool instead of queueing work for threads it does not have (which would hang)."""
    import multiprocessing

    rng = np.random.default_rng(0)
    inputs = _inputs(rng, "lstm", 8, 5, 2, 3, np.float64, True, False)
    weights = [rng.standard_normal((8, 5, 3)) for _ in range(2)]
    expected = _with_parts(2, lambda: _run("lstm", inputs, "tanh", "sigmoid", weights, True))

    def child(queue):
        got = _with_parts(2, lambda: _run("lstm", inputs, "tanh", "sigmoid", weights, True))
        queue.put(all(np.array_equal(a, b) for a, b in zip(got[0] + got[1],
                                                            expected[0] + expected[1])))

    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=child, args=(queue,))
    process.start()
    process.join(timeout=120)
    hung = process.is_alive()
    if hung:
        process.kill()
    assert not hung, "the forked child hung on the recurrent op"
    assert process.exitcode == 0 and queue.get(timeout=5) is True
