"""nnlearn.model_selection: splitting, folds, cross-validation and searches, on one
process, on joblib workers and on a real Dask LocalCluster."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import datasets
from nnlearn import model_selection as ms
from nnlearn.layers import Dense


# -- splitting -------------------------------------------------------------------------
def test_train_test_split_and_stratify():
    X = np.arange(100).reshape(-1, 1)
    y = np.repeat([0, 1, 2, 3], [10, 20, 30, 40])
    X_train, X_test, y_train, y_test = ms.train_test_split(X, y, test_size=0.2, stratify=y,
                                                           random_state=0)
    assert len(X_test) == 20 and len(X_train) == 80
    np.testing.assert_array_equal(np.bincount(y_test), [2, 4, 6, 8])
    assert sorted(np.concatenate([X_train, X_test])[:, 0]) == list(range(100))
    np.testing.assert_array_equal(y[X_test[:, 0]], y_test)


@pytest.mark.parametrize("kwargs, message", [
    ({"test_size": 1.5}, r"test_size must be in \(0, 1\)"),
    ({"test_size": 0.0}, r"test_size must be in \(0, 1\)"),
    ({"test_size": 10}, "both parts must be non-empty"),
    ({"stratify": [0, 0, 0, 0, 0, 0, 0, 0, 0, 1]}, "has only 1 member"),
])
def test_train_test_split_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ms.train_test_split(np.zeros((10, 1)), **kwargs)


def test_folds_cover_every_sample_once():
    y = np.repeat([0, 1], [30, 20])
    for splitter in (ms.KFold(5, shuffle=True, random_state=0), ms.StratifiedKFold(5)):
        tests = [test for _, test in splitter.split(np.zeros((50, 1)), y)]
        assert sorted(np.concatenate(tests)) == list(range(50))
        if isinstance(splitter, ms.StratifiedKFold):
            assert all(np.bincount(y[t]).tolist() == [6, 4] for t in tests)
    with pytest.raises(ValueError, match="more folds than the 3 samples"):
        list(ms.KFold(5).split(np.zeros((3, 1))))
    with pytest.raises(ValueError, match="fewer than n_splits"):
        list(ms.StratifiedKFold(5).split(np.zeros((12, 1)), [0] * 10 + [1] * 2))


# -- cross-validation and searches on every backend ------------------------------------------
def build_mlp(learning_rate=0.01, l2=0.0, hidden=16):
    model = nl.Sequential([Dense(hidden, activation="relu",
                                 kernel_regularizer=nl.regularizers.L2(l2) if l2 else None),
                           Dense(2, activation="softmax")], seed=0)
    model.compile(optimizer=nl.optimizers.Adam(learning_rate),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_cross_validation_is_the_same_on_every_backend(dask_client):
    pytest.importorskip("joblib")
    X, y = datasets.make_circle(200, noise=0.1, random_state=0)
    fit_params = {"epochs": 20, "batch_size": 16, "seed": 0}
    serial = ms.cross_val_score(build_mlp, X, y, cv=5, fit_params=fit_params)
    processes = ms.cross_val_score(build_mlp, X, y, cv=5, fit_params=fit_params, n_jobs=2)
    cluster = ms.cross_val_score(build_mlp, X, y, cv=5, fit_params=fit_params,
                                 client=dask_client)
    assert len(serial) == 5 and serial.mean() > 0.8
    np.testing.assert_array_equal(serial, processes)
    np.testing.assert_array_equal(serial, cluster)


def test_search_results_do_not_depend_on_the_backend(dask_client):
    def trial(params):
        return -(np.log10(params["lr"]) + 2) ** 2 - params["depth"]

    space = {"lr": ms.log_uniform(1e-5, 1.0), "depth": ms.choice([1, 2, 3])}
    runs = [ms.RandomSearch(trial, space, n_iter=12, random_state=4, **backend).run()
            for backend in ({}, {"n_jobs": 2}, {"client": dask_client})]
    for results in runs[1:]:
        assert [(r["params"], r["score"]) for r in results] == \
            [(r["params"], r["score"]) for r in runs[0]]
    assert runs[0].best_params_["depth"] == 1


def test_random_search_on_the_spiral_finds_a_good_configuration():
    X, y = datasets.make_spiral(400, random_state=0)
    X_train, X_val, y_train, y_val = ms.train_test_split(X, y, test_size=0.25, stratify=y,
                                                         random_state=0)

    def build(learning_rate, l2):
        model = nl.Sequential([Dense(32, activation="relu",
                                     kernel_regularizer=nl.regularizers.L2(l2)),
                               Dense(32, activation="relu",
                                     kernel_regularizer=nl.regularizers.L2(l2)),
                               Dense(2, activation="softmax")])
        model.compile(optimizer=nl.optimizers.SGD(learning_rate, momentum=0.9),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    trial = ms.ModelTrial(build, X_train, y_train, validation_data=(X_val, y_val),
                          epochs=150, batch_size=32)
    results = ms.RandomSearch(trial, {"learning_rate": ms.log_uniform(1e-6, 1e-1),
                                      "l2": ms.log_uniform(1e-5, 1e1)},
                              n_iter=24, random_state=0, n_jobs=2).run()
    assert results.best_score_ >= 0.95
    assert all(r["status"] in ("ok", "diverged") for r in results)
    # learning rates far too high explode: stopped early and recorded, not crashed
    grid = ms.GridSearch(trial, {"learning_rate": [0.01, 10.0, 100.0], "l2": [1e-4]},
                         random_state=0).run()
    status = {r["params"]["learning_rate"]: r["status"] for r in grid}
    assert status == {0.01: "ok", 10.0: "diverged", 100.0: "diverged"}
    assert "(more than 3x its value before the first update)" in grid.diverged[0]["message"]


def test_coarse_to_fine_narrows_around_the_best():
    def trial(params):
        return -abs(np.log10(params["lr"]) + 3)  # best at 1e-3

    results = ms.coarse_to_fine(trial, {"lr": ms.log_uniform(1e-6, 1.0)}, n_coarse=20,
                                n_fine=20, top=3, random_state=0)
    fine = results.fine_space["lr"]
    assert 1e-6 < fine.low <= 1e-3 <= fine.high < 1.0 and fine.high / fine.low < 1e3
    assert {r["stage"] for r in results} == {"coarse", "fine"} and len(results) == 40
    assert abs(np.log10(results.best_params_["lr"]) + 3) < 0.1


def test_results_table_and_dataframe():
    results = ms.GridSearch(lambda p: p["a"] * 10 + p["b"], {"a": [1, 2], "b": [0, 5]}).run()
    assert [r["score"] for r in results] == [25, 20, 15, 10]
    assert results.best_params_ == {"a": 2, "b": 5} and results.best_score_ == 25
    pd = pytest.importorskip("pandas")
    frame = results.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and list(frame["score"]) == [25, 20, 15, 10]


def test_failed_and_nan_trials_are_recorded_not_raised():
    def trial(params):
        if params["x"] == 1:
            raise RuntimeError("boom")
        return float("nan") if params["x"] == 2 else params["x"]

    results = ms.GridSearch(trial, {"x": [0, 1, 2, 3]}).run()
    assert [(r["params"]["x"], r["status"]) for r in results] == \
        [(3, "ok"), (0, "ok"), (1, "error"), (2, "diverged")]
    assert "boom" in results[2]["message"]


@pytest.mark.parametrize("make, message", [
    (lambda: ms.RandomSearch(lambda p: 0, {}), "space must be a non-empty dict"),
    (lambda: ms.GridSearch(lambda p: 0, {"a": []}), r"grid\['a'\] must be a non-empty"),
    (lambda: ms.log_uniform(0, 1), "0 < low < high"),
    (lambda: ms.uniform(2, 1), "low must be < high"),
    (lambda: ms.choice([]), "options must not be empty"),
    (lambda: ms.RandomSearch(lambda p: 0, {"a": 1}, n_iter=0), "n_iter"),
])
def test_search_argument_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()
