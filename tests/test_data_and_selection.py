"""Preprocessing, synthetic data sets, splitting, cross-validation and searches, on one
process, on joblib workers and on a real Dask LocalCluster."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import datasets
from nnlearn import model_selection as ms
from nnlearn.diagnostics import overfit_small
from nnlearn.layers import Dense
from nnlearn.preprocessing import PCA, MinMaxScaler, OneHotEncoder, StandardScaler


def correlated(n=500, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 3)) @ np.array([[2, 1, 0], [0, 1, 0], [0, 0.5, 3]]) + 5


# -- preprocessing ----------------------------------------------------------------------
def test_standard_scaler():
    X = correlated()
    scaler = StandardScaler().fit(X)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(Z.std(axis=0), 1, atol=1e-6)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, atol=1e-12)


def test_min_max_scaler():
    X = correlated()
    scaler = MinMaxScaler(feature_range=(-1, 2)).fit(X)
    Z = scaler.transform(X)
    np.testing.assert_allclose(Z.min(axis=0), -1, atol=1e-12)
    np.testing.assert_allclose(Z.max(axis=0), 2, atol=1e-12)
    np.testing.assert_allclose(scaler.inverse_transform(Z), X, atol=1e-12)
    with pytest.raises(ValueError, match="feature_range"):
        MinMaxScaler((1, 0)).fit(X)


def test_pca_whitening_gives_identity_covariance():
    X = correlated()
    pca = PCA(whiten=True).fit(X)
    Z = pca.transform(X)
    np.testing.assert_allclose(np.cov(Z.T), np.eye(3), atol=1e-6)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(pca.inverse_transform(Z), X, atol=1e-10)
    decorrelated = PCA().fit_transform(X)   # without whitening: diagonal covariance
    covariance = np.cov(decorrelated.T)
    np.testing.assert_allclose(covariance - np.diag(np.diag(covariance)), 0, atol=1e-8)
    assert np.all(np.diff(np.diag(covariance)) <= 0)
    assert PCA(2).fit(X).transform(X).shape == (500, 2)
    with pytest.raises(ValueError, match="n_components"):
        PCA(4).fit(X)


def test_one_hot_encoder():
    encoder = OneHotEncoder().fit(["cat", "dog", "cat", "bird"])
    Y = encoder.transform(["dog", "bird"])
    np.testing.assert_array_equal(Y, [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(encoder.inverse_transform(Y), ["dog", "bird"])
    with pytest.raises(ValueError, match="not seen"):
        encoder.transform(["fish"])


# -- data sets --------------------------------------------------------------------------
CLASSIFICATION = [datasets.make_circle, datasets.make_xor, datasets.make_gaussian,
                  datasets.make_spiral]
REGRESSION = [datasets.make_plane, datasets.make_gaussian_regression]


@pytest.mark.parametrize("make", CLASSIFICATION + REGRESSION, ids=lambda f: f.__name__)
def test_playground_sets_are_seeded_and_shaped(make):
    X, y = make(n_samples=300, noise=0.2, random_state=3)
    X2, y2 = make(n_samples=300, noise=0.2, random_state=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert X.shape == (300, 2) and y.shape == (300,)
    assert np.abs(X).max() <= 6 + 5 * 0.2 + 1e-9 or make is datasets.make_gaussian
    if make in CLASSIFICATION:
        assert set(np.unique(y)) == {0, 1}
        assert abs(np.mean(y) - 0.5) < 0.15
    else:
        assert np.all(np.abs(y) <= 1.2 * (1 + 0.2))  # (x1 + x2) / 10, noise moves x
    with pytest.raises(ValueError, match="n_samples"):
        make(n_samples=0)
    with pytest.raises(ValueError, match="noise"):
        make(noise=-0.1)


def test_noise_free_playground_labels_follow_their_rules():
    X, y = datasets.make_circle(500, random_state=0)
    np.testing.assert_array_equal(y, (np.hypot(X[:, 0], X[:, 1]) < 2.5).astype(int))
    X, y = datasets.make_xor(500, random_state=0)
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(int))
    X, y = datasets.make_plane(50, random_state=0)
    np.testing.assert_allclose(y, X.sum(axis=1) / 10)


def test_seed_data_sets():
    X, y = datasets.make_line(100, random_state=0)
    slope, intercept = np.polyfit(X[:, 0], y, 1)
    assert abs(slope - 0.5) < 0.05 and abs(intercept - 0.5) < 0.2
    X, y = datasets.make_study_hours(100, random_state=0)
    assert X[y == 0].max() <= 35 and X[y == 1].min() >= 30
    X, y = datasets.make_grades(1000, noise=0, random_state=0)
    score = X[:, 0] + 2 * X[:, 1]
    assert np.all(y[score > 90] == 3) and np.all(y[score <= 50] == 0)
    X, y = datasets.make_sin(50, noise=0, random_state=0)
    np.testing.assert_allclose(y, np.sin(np.pi * X[:, 0]))
    X, y = datasets.make_logic_gate("xor")
    np.testing.assert_array_equal(y, [0, 1, 1, 0])


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
    assert "3 x its first value" in grid.diverged[0]["message"]


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


def test_overfit_small():
    X, y = datasets.make_spiral(200, random_state=0)

    def build():
        model = nl.Sequential([Dense(64, activation="relu",
                                     kernel_regularizer=nl.regularizers.L2(1.0)),
                               nl.layers.Dropout(0.5), Dense(2, activation="softmax")], seed=0)
        model.compile(optimizer=nl.optimizers.Adam(0.01),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    report = overfit_small(build, X, y, n=20, epochs=300)
    assert report["passed"] and report["train_accuracy"] == 1.0
    assert report["loss_history"][-1] < report["loss_history"][0]
