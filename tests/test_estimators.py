"""scikit-learn compatible estimators: the MLPs, and the classic models' conventions.

The scikit-learn checks run when scikit-learn is installed (the test extra installs it);
one test imports nnlearn with scikit-learn hidden, to prove it is not required."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

from nnlearn import classic
from nnlearn.estimators import MLPClassifier, MLPRegressor

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

ESTIMATORS = [MLPClassifier(), MLPRegressor(), classic.Perceptron(), classic.Adaline(),
              classic.LinearRegression(), classic.LogisticRegression(),
              classic.SoftmaxRegression(), classic.Ridge(), classic.Lasso()]
# Not run through check_estimator, by design: HebbNeuron accepts only binary or bipolar
# inputs and HopfieldNetwork stores bipolar patterns without targets, while the checks
# feed arbitrary real-valued X and y.


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_passes_scikit_learns_estimator_checks(estimator):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(estimator)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=0, stratify=y)


def test_grid_search_over_a_pipeline_on_digits(digits):
    X_train, X_test, y_train, y_test = digits
    search = GridSearchCV(
        Pipeline([("scale", StandardScaler()),
                  ("mlp", MLPClassifier(max_iter=30, random_state=0))]),
        {"mlp__hidden_layer_sizes": [(32,), (64,)], "mlp__alpha": [1e-4, 1e-2]}, cv=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        search.fit(X_train, y_train)
    assert search.best_score_ > 0.9 and search.score(X_test, y_test) > 0.9
    assert set(search.best_params_) == {"mlp__hidden_layer_sizes", "mlp__alpha"}


def test_accuracy_within_one_point_of_scikit_learn(digits):
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    X_train, X_test, y_train, y_test = digits
    settings = dict(hidden_layer_sizes=(64,), solver="adam", max_iter=60, random_state=0,
                    n_iter_no_change=1000)
    ours, theirs = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(3):
            settings["random_state"] = seed
            ours.append(MLPClassifier(**settings).fit(X_train, y_train).score(X_test, y_test))
            theirs.append(SklearnMLP(**settings).fit(X_train, y_train).score(X_test, y_test))
    assert abs(np.mean(ours) - np.mean(theirs)) <= 0.01


def test_fitted_attributes_and_probabilities(digits):
    X_train, X_test, y_train, y_test = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(20, 10), max_iter=20, random_state=0)
        clf.fit(X_train, y_train)
    assert [c.shape for c in clf.coefs_] == [(64, 20), (20, 10), (10, 10)]
    assert [b.shape for b in clf.intercepts_] == [(20,), (10,), (10,)]
    assert clf.n_iter_ == 20 == len(clf.loss_curve_) and clf.n_layers_ == 4
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.n_features_in_ == 64
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X_test)), proba, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(X_test), clf.classes_[proba.argmax(axis=1)])


def test_string_labels_binary_and_multilabel():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3))
    labels = np.where(X[:, 0] > 0, "yes", "no")
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=200, learning_rate_init=0.01,
                        random_state=0).fit(X, labels)
    assert list(clf.classes_) == ["no", "yes"] and clf.score(X, labels) > 0.95
    assert clf.predict_proba(X).shape == (200, 2)
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0, X[:, 0] + X[:, 2] > 0], axis=1).astype(int)
    multi = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, learning_rate_init=0.01,
                          random_state=0).fit(X, Y)
    assert multi.predict(X).shape == (200, 3) and multi.score(X, Y) > 0.85


def test_regressor_multi_output_and_solvers():
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (300, 2))
    Y = np.stack([np.sin(np.pi * X[:, 0]), X[:, 0] * X[:, 1]], axis=1)
    for solver in ("adam", "lbfgs", "rmsprop", "sgd"):
        reg = MLPRegressor(hidden_layer_sizes=(32,), solver=solver, max_iter=300,
                           learning_rate_init=0.01 if solver != "lbfgs" else 1.0,
                           random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reg.fit(X, Y)
        assert reg.predict(X).shape == (300, 2)
        assert reg.score(X, Y) > 0.8, solver


def test_extras_dropout_batch_normalization_activation():
    X, y = load_digits(return_X_y=True)
    clf = MLPClassifier(hidden_layer_sizes=(64,), activation="swish", dropout=0.2,
                        batch_normalization=True, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X / 16, y)
    assert clf.score(X / 16, y) > 0.9


def test_early_stopping_partial_fit_and_warm_start(digits):
    X_train, _, y_train, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), early_stopping=True, n_iter_no_change=3,
                        max_iter=200, random_state=0).fit(X_train, y_train)
    assert clf.n_iter_ < 200 and len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    online = MLPClassifier(hidden_layer_sizes=(32,), random_state=0)
    for _ in range(30):
        online.partial_fit(X_train, y_train, classes=np.arange(10))
    # scikit-learn's semantics: n_iter_ counts the epochs of the last call, t_ all samples
    assert online.n_iter_ == 1 and online.t_ == 30 * len(X_train)
    assert online.score(X_train, y_train) > 0.9
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X_train, y_train)
    warm = MLPClassifier(hidden_layer_sizes=(32,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        warm.fit(X_train, y_train)
        first = [w.copy() for w in warm.coefs_]
        warm.fit(X_train, y_train)
    assert warm.n_iter_ == 3 and len(warm.loss_curve_) == 6
    assert not np.array_equal(first[0], warm.coefs_[0])


def test_feature_names_from_a_dataframe():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0] * 10, "b": [1.0, 0.0, 1.0, 0.0] * 10})
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reg.fit(frame, frame["a"] * 2)
    assert list(reg.feature_names_in_) == ["a", "b"]


@pytest.mark.parametrize("X, message", [
    ([[np.nan, 1.0], [0.0, 1.0]], "NaN"),
    ([[np.inf, 1.0], [0.0, 1.0]], "infinity"),
    ([0.0, 1.0], "Expected 2D array"),
])
def test_bad_input_messages(X, message):
    with pytest.raises(ValueError, match=message):
        MLPClassifier().fit(X, [0, 1])


def test_sparse_input_is_accepted_as_scikit_learn_does():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    X = np.eye(4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dense = MLPClassifier(random_state=0, max_iter=5).fit(X, [0, 1, 0, 1])
        sparse = MLPClassifier(random_state=0, max_iter=5).fit(scipy_sparse.csr_matrix(X),
                                                               [0, 1, 0, 1])
    np.testing.assert_array_equal(dense.predict_proba(X),
                                  sparse.predict_proba(scipy_sparse.csc_matrix(X)))


def test_unknown_solver_and_bad_parameters():
    X, y = np.eye(4), [0, 1, 0, 1]
    with pytest.raises(ValueError, match="The 'solver' parameter of MLPClassifier must be"):
        MLPClassifier(solver="adamm").fit(X, y)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        MLPClassifier(hidden_layer_sizes=(0,)).fit(X, y)
    with pytest.raises(ValueError, match="continuous"):
        MLPClassifier().fit(X, [0.5, 1.5, 0.1, 0.2])


def test_works_without_scikit_learn():
    """Import and use the estimators with scikit-learn hidden from the interpreter."""
    code = """
import sys
sys.modules["sklearn"] = None  # any 'import sklearn...' now fails
import numpy as np
from nnlearn.estimators import MLPClassifier
from nnlearn import classic
X = np.random.default_rng(0).standard_normal((100, 2)); y = (X[:, 0] > 0).astype(int)
clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=100, learning_rate_init=0.05,
                    random_state=0).fit(X, y)
assert clf.score(X, y) > 0.9 and clf.get_params()["max_iter"] == 100
assert classic.Ridge(alpha=0.1).fit(X, y).score(X, y) > 0.5
for bad, message in [([0.0, 1.0], "Expected 2D"), ([[np.nan, 0.0]] * 2, "NaN")]:
    try:
        MLPClassifier().fit(bad, [0, 1])
    except ValueError as err:
        assert message in str(err), err
    else:
        raise AssertionError("no error")
print("ok")
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr
