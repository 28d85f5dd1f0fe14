"""fit/evaluate/predict on Dask arrays, on a LocalCluster of 2 worker processes
(nnlearn.data.dask)."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.models import mlp

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _data(n=1000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    y = nl.utils.to_categorical((x[:, 0] + x[:, 1] > 0).astype(int) + (x[:, 2] > 1), 3)
    return x, y


def _model(optimizer="adam", dtype="float32", **kwargs):
    model = mlp(6, [8], 3, output_activation="softmax", seed=1, dtype=dtype, **kwargs)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_predict_on_a_dask_array_is_a_dask_array_equal_to_the_last_bit(client):
    x, _ = _data()
    model = _model()
    model.build((6,))
    dx = da.from_array(x, chunks=(301, 4))  # blocks not aligned to predict's batches
    outputs = model.predict(dx, batch_size=128)
    assert isinstance(outputs, da.Array) and outputs.chunks[0] == dx.chunks[0]
    expected = model.predict(x, batch_size=128)
    model.set_weights([w + 1 for w in model.get_weights()])  # the copy taken is used
    assert np.array_equal(outputs.compute(), expected)


def test_minibatch_fit_streams_the_chunks_as_the_arrays_would_be_read(client):
    x, y = _data()
    on_arrays, on_dask = _model(), _model()
    on_arrays.fit(x, y, epochs=2, batch_size=50, shuffle=False, verbose=0)
    history = on_dask.fit(da.from_array(x, chunks=200), da.from_array(y, chunks=100),
                          epochs=2, batch_size=50, shuffle=False, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(on_arrays.get_weights(),
                                                    on_dask.get_weights()))
    assert len(history.history["loss"]) == 2
    assert on_arrays.evaluate(x, y, 50) == on_dask.evaluate(da.from_array(x, chunks=200), y,
                                                            batch_size=50)


def test_shuffled_minibatch_fit_on_dask_is_reproducible_from_the_seed(client):
    x, y = _data()
    dx, dy = da.from_array(x, chunks=250), da.from_array(y, chunks=250)
    first, second, other = _model(), _model(), _model()
    for model, seed in ((first, 3), (second, 3), (other, 4)):
        model.fit(dx, dy, epochs=2, batch_size=32, seed=seed, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(first.get_weights(),
                                                    second.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(first.get_weights(),
                                                        other.get_weights()))


class Iterates(nl.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = []

    def on_epoch_end(self, epoch, logs=None):
        self.weights.append(self.model.get_weights())


def _full_batch_runs(optimizer, dtype, objective, epochs):
    """The iterates and losses of a full-batch fit on the arrays and on Dask arrays
    chunked three ways (x, y and the weights not aligned)."""
    x, y = _data()
    w = np.random.default_rng(5).uniform(0.5, 2.0, len(x))
    if objective == "sklearn":  # the estimators' objective: alpha / (2 N) ||W||^2, N = sum w
        y = y.argmax(axis=1)
    runs = []
    for data in ((x, y, w), (da.from_array(x, chunks=170), da.from_array(y, chunks=300),
                             da.from_array(w, chunks=500))):
        if objective == "sklearn":
            model = mlp(6, [8], 3, output_activation="softmax", seed=1, dtype=dtype)
            model.compile(optimizer=optimizer,
                          loss=nl.losses.SklearnMLPLoss("softmax", alpha=0.1))
        else:
            model = _model(optimizer, dtype=dtype,
                           kernel_regularizer=nl.regularizers.L2(1e-3))
        iterates = Iterates()
        model.fit(data[0], data[1], sample_weight=data[2], epochs=epochs, verbose=0,
                  callbacks=[iterates])
        runs.append((iterates.weights, model.history.history["loss"]))
    return runs


@pytest.mark.parametrize("optimizer, objective", [
    ("lbfgs", "penalty"), ("conjugate_gradient", "penalty"), ("rprop", "penalty"),
    ("lbfgs", "sklearn"), ({"class_name": "conjugate_gradient",
                            "config": {"method": "fletcher_reeves"}}, "sklearn")])
def test_full_batch_iterates_on_the_cluster_equal_those_on_the_gathered_array(
        client, optimizer, objective):
    (gathered, losses), (sharded, sharded_losses) = _full_batch_runs(
        optimizer, "float64", objective, epochs=6)
    assert len(gathered) == len(sharded) == 6
    for a, b in zip(gathered, sharded):
        for u, v in zip(a, b):
            np.testing.assert_allclose(v, u, rtol=0, atol=1e-10)
    np.testing.assert_allclose(sharded_losses, losses, rtol=1e-10)
    assert not np.array_equal(gathered[0][0], gathered[-1][0])  # it did move


def test_conjugate_gradient_in_float32_drifts_from_the_gathered_run_by_rounding_only():
    """In float32 the loss is rounded to ~6e-8 of itself on both paths (in a different
    order), and near a minimum the line search's Wolfe tests compare decreases of that
    size: a rounding can flip a step's acceptance, after which the two runs follow
    different (equally valid) float32 paths (~1e-3 apart after 30 iterations).  The
    sharded objective is the same function: both float32 runs stay within float32
    rounding of the float64 run over the first iterations, and in float64 they agree
    to 1e-10 (above).  (No cluster: the local scheduler sums the chunks the same way.)"""
    (reference, _), _ = _full_batch_runs("conjugate_gradient", "float64", "penalty", 5)
    (gathered, _), (sharded, _) = _full_batch_runs("conjugate_gradient", "float32",
                                                   "penalty", 5)
    for exact, a, b in zip(reference, gathered, sharded):
        for r, u, v in zip(exact, a, b):
            assert u.dtype == v.dtype == np.float32
            np.testing.assert_allclose(u, r, rtol=0, atol=1e-5)
            np.testing.assert_allclose(v, r, rtol=0, atol=1e-5)


def test_levenberg_marquardt_sums_the_normal_equations_over_the_chunks(client):
    x, _ = _data(600)
    y = np.sin(x[:, :1]) + 0.5 * x[:, 1:2] * x[:, 2:3]
    runs = []
    for data in ((x, y), (da.from_array(x, chunks=130), da.from_array(y, chunks=200))):
        model = mlp(6, [5], 1, activation="tanh", seed=2, dtype="float64")
        model.compile(optimizer="levenberg_marquardt", loss="mse")
        iterates = Iterates()
        model.fit(*data, epochs=5, verbose=0, callbacks=[iterates])
        runs.append((iterates.weights, model.history.history["loss"]))
    (gathered, losses), (sharded, sharded_losses) = runs
    for a, b in zip(gathered, sharded):
        for u, v in zip(a, b):
            np.testing.assert_allclose(v, u, rtol=0, atol=1e-10)
    np.testing.assert_allclose(sharded_losses, losses, rtol=1e-10)
    assert losses[-1] < 0.5 * losses[0]  # it did move


def test_what_does_not_shard_is_refused(client):
    x, y = _data(100)
    dx, dy = da.from_array(x, chunks=50), da.from_array(y, chunks=50)
    with pytest.raises(ValueError, match="Dropout, BatchNormalization"):
        _model("lbfgs", dropout=0.5).fit(dx, dy, verbose=0)
    model = mlp(6, [4], 3, seed=0)
    model.compile(optimizer="levenberg_marquardt", loss="mse")
    with pytest.raises(ValueError, match="cannot weight samples"):
        model.fit(dx, dy, sample_weight=np.ones(100), verbose=0)
    model.compile(optimizer="levenberg_marquardt", loss="categorical_crossentropy")
    with pytest.raises(ValueError, match="must be the mean squared error"):
        model.fit(dx, dy, verbose=0)
    with pytest.raises(ValueError, match="x and y must have the same number of samples"):
        _model().fit(dx, dy[:-1], verbose=0)
    with pytest.raises(ValueError, match="y is required with a Dask array"):
        _model().fit(dx, verbose=0)


def test_dask_ml_incremental_fits_as_a_manual_partial_fit_loop_over_the_blocks(client):
    pytest.importorskip("dask_ml")
    from dask_ml.wrappers import Incremental
    from sklearn.base import clone

    from nnlearn.estimators import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    dX, dy = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    estimator = MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01,
                              random_state=0)
    incremental = Incremental(clone(estimator), scoring="accuracy", shuffle_blocks=False)
    incremental.fit(dX, dy, classes=[0, 1, 2])
    manual = clone(estimator)
    for start in range(0, 800, 100):
        manual.partial_fit(X[start:start + 100], y[start:start + 100], classes=[0, 1, 2])
    # the estimator travels between the worker processes pickled: the same bits
    assert all(np.array_equal(a, b) for a, b in zip(incremental.estimator_.coefs_,
                                                    manual.coefs_))
    assert incremental.score(dX, dy) == manual.score(X, y) > 0.6


def test_dask_ml_incremental_search_picks_and_refits_an_estimator(client):
    """IncrementalSearchCV (and Hyperband, built on it) call partial_fit(X, y,
    classes=...) on the blocks, clone and set_params, and score.  dask-ml 2025.1 calls
    dask.persist inside its coroutine, which dask >= 2025.3 refuses ("asynchronous Client
    in a synchronous context", dask/dask-ml#1016): then this is an expected failure of
    dask-ml's, not of the estimators (with dask 2025.2 the search runs and passes)."""
    pytest.importorskip("dask_ml")
    from dask_ml.model_selection import IncrementalSearchCV

    from nnlearn.estimators import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(800, 5))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    dX, dy = da.from_array(X, chunks=100), da.from_array(y, chunks=100)
    grid = {"learning_rate_init": [0.001, 0.01, 0.1], "alpha": [1e-4, 1e-2]}
    search = IncrementalSearchCV(MLPClassifier(hidden_layer_sizes=(16,), random_state=0),
                                 grid, n_initial_parameters=4, max_iter=5, random_state=0)
    try:
        search.fit(dX, dy, classes=[0, 1, 2])
    except RuntimeError as error:
        if "asynchronous Client in a synchronous context" not in str(error):
            raise
        pytest.xfail("dask-ml's IncrementalSearchCV with this dask (dask/dask-ml#1016)")
    best = search.best_estimator_
    assert isinstance(best, MLPClassifier)
    assert all(best.get_params()[name] == value
               for name, value in search.best_params_.items())
    assert list(best.classes_) == [0, 1, 2]
    assert len(search.cv_results_["params"]) == 4
    assert search.score(dX, dy) == best.score(X, y) > 0.6
