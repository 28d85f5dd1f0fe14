"""MLPClassifier / MLPRegressor as drop-in replacements for scikit-learn's (issue 17):
the same parameters, attributes, warnings and errors, and for the same random_state the
same loss curve, number of iterations and stopping epoch as scikit-learn itself."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.estimators import (ConvergenceWarning, MLPClassifier, MLPRegressor,
                                ModelClassifier, ModelRegressor)

sklearn = pytest.importorskip("sklearn")
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkClassifier  # noqa: E402
from sklearn.neural_network import MLPRegressor as SkRegressor  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

TOL = 1e-6  # the loss curves agree to ~1e-15 in practice


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400] / 16, y[:400]


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 5))
    return X, np.stack([2 * X[:, 0] + 1, np.sin(X[:, 1])], axis=1)


def _both(sk_class, nl_class, X, y, fit_kw=None, **params):
    fitted = []
    for cls in (sk_class, nl_class):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = cls(random_state=1, **params).fit(X, y, **(fit_kw or {}))
        fitted.append((model, [w.category for w in caught]))
    return fitted


def _assert_same_run(ours, theirs):
    (sk, sk_warnings), (mine, my_warnings) = theirs, ours
    assert mine.n_iter_ == sk.n_iter_ and mine.t_ == sk.t_
    assert len(mine.loss_curve_) == len(sk.loss_curve_)
    np.testing.assert_allclose(mine.loss_curve_, sk.loss_curve_, rtol=0, atol=TOL)
    assert abs(mine.loss_ - sk.loss_) <= TOL
    assert (ConvergenceWarning in my_warnings) == (ConvergenceWarning in sk_warnings)
    for name in ("n_outputs_", "out_activation_", "n_layers_", "n_features_in_"):
        assert getattr(mine, name) == getattr(sk, name), name
    assert [c.shape for c in mine.coefs_] == [c.shape for c in sk.coefs_]
    assert [b.shape for b in mine.intercepts_] == [b.shape for b in sk.intercepts_]
    for a, b in zip(mine.coefs_ + mine.intercepts_, sk.coefs_ + sk.intercepts_):
        np.testing.assert_allclose(a, b, atol=1e-8)


CLASSIFIER_RUNS = {
    "sgd, no shuffle": dict(solver="sgd", shuffle=False, learning_rate_init=0.1, max_iter=20),
    "sgd, shuffled": dict(solver="sgd", learning_rate_init=0.1, max_iter=20),
    "adam, batch 64": dict(max_iter=20, batch_size=64),
    "sgd, invscaling": dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.5,
                            max_iter=20),
    "sgd, adaptive, stops": dict(solver="sgd", learning_rate="adaptive", max_iter=300,
                                 n_iter_no_change=2, tol=1e-2),
    "sgd, early stopping": dict(solver="sgd", max_iter=300, early_stopping=True),
    "adam, converges": dict(max_iter=500, learning_rate_init=0.01, tol=1e-3),
    "logistic, no nesterov": dict(solver="sgd", activation="logistic", momentum=0.5,
                                  nesterovs_momentum=False, max_iter=15, alpha=0.1),
}


@pytest.mark.parametrize("params", CLASSIFIER_RUNS.values(), ids=CLASSIFIER_RUNS.keys())
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "sample_weight"])
def test_classifier_same_run_as_scikit_learn(digits, params, weighted):
    X, y = digits
    fit_kw = {"sample_weight": np.random.default_rng(0).uniform(0.5, 2, len(y))} \
        if weighted else None
    theirs, ours = _both(SkClassifier, MLPClassifier, X, y, fit_kw,
                         hidden_layer_sizes=(16,), **params)
    _assert_same_run(ours, theirs)
    np.testing.assert_allclose(ours[0].predict_proba(X), theirs[0].predict_proba(X),
                               atol=1e-8)
    if params.get("early_stopping"):
        np.testing.assert_allclose(ours[0].validation_scores_, theirs[0].validation_scores_)
        assert ours[0].best_validation_score_ == theirs[0].best_validation_score_
        assert ours[0].best_loss_ is None and theirs[0].best_loss_ is None
    else:
        assert ours[0].best_loss_ == pytest.approx(theirs[0].best_loss_, abs=TOL)


@pytest.mark.parametrize("target", ["binary", "multilabel", "single class"])
def test_classifier_targets_same_as_scikit_learn(digits, target):
    X, y = digits
    y = {"binary": np.where(y % 2, "odd", "even"),
         "multilabel": np.stack([y % 2, y > 4, y == 3], axis=1).astype(int),
         "single class": np.full(len(y), 7)}[target]
    theirs, ours = _both(SkClassifier, MLPClassifier, X, y, solver="sgd",
                         hidden_layer_sizes=(8,), max_iter=15, early_stopping=False)
    _assert_same_run(ours, theirs)
    np.testing.assert_array_equal(ours[0].classes_, theirs[0].classes_)
    np.testing.assert_array_equal(ours[0].predict(X), theirs[0].predict(X))
    assert ours[0].predict_proba(X).shape == theirs[0].predict_proba(X).shape


@pytest.mark.parametrize("loss", ["squared_error", "poisson"])
@pytest.mark.parametrize("outputs", [1, 2])
def test_regressor_same_run_as_scikit_learn(regression, loss, outputs):
    X, Y = regression
    y = Y[:, 0] if outputs == 1 else Y
    if loss == "poisson":
        y = np.exp(y / 4)
    theirs, ours = _both(SkRegressor, MLPRegressor, X, y, loss=loss, solver="sgd",
                         hidden_layer_sizes=(16,), learning_rate_init=0.01, alpha=0.1,
                         max_iter=40)
    _assert_same_run(ours, theirs)
    np.testing.assert_allclose(ours[0].predict(X), theirs[0].predict(X), atol=1e-8)


def test_half_squared_error_and_summed_multilabel_loss(regression, digits):
    """loss_curve_ is scikit-learn's: 1/2 mean squared error (plus the L2 term), and the
    multi-label log-loss summed over the labels."""
    X, Y = regression
    reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=1, alpha=0.0, solver="sgd",
                       learning_rate_init=1e-12, random_state=0, shuffle=False,
                       batch_size=len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        reg.fit(X, Y)
    assert reg.loss_ == pytest.approx(0.5 * np.mean((reg.predict(X) - Y) ** 2), rel=1e-6)
    Xd, y = digits
    labels = np.stack([y % 2, y > 4, y == 3], axis=1).astype(int)
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=1, alpha=0.0, solver="sgd",
                        learning_rate_init=1e-12, random_state=0, batch_size=len(Xd))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(Xd, labels)
    p = clf.predict_proba(Xd)
    summed = -np.mean(np.sum(labels * np.log(p) + (1 - labels) * np.log(1 - p), axis=1))
    assert clf.loss_ == pytest.approx(summed, rel=1e-6)


def test_injected_weights_with_warm_start_give_the_same_curve(digits):
    """A fixed initialisation set on both estimators (warm_start) trains identically."""
    X, y = digits
    settings = dict(hidden_layer_sizes=(12,), solver="sgd", shuffle=False, max_iter=1,
                    warm_start=True, learning_rate_init=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = SkClassifier(random_state=3, **settings).fit(X, y)
        mine = MLPClassifier(random_state=99, **settings).fit(X, y)
        start = np.random.default_rng(5)
        for layer, (coef, bias) in enumerate(zip(sk.coefs_, sk.intercepts_)):
            sk.coefs_[layer] = start.uniform(-0.3, 0.3, coef.shape)
            sk.intercepts_[layer] = start.uniform(-0.3, 0.3, bias.shape)
        mine.coefs_, mine.intercepts_ = sk.coefs_, sk.intercepts_
        sk.set_params(max_iter=15).fit(X, y)
        mine.set_params(max_iter=15).fit(X, y)
    np.testing.assert_allclose(mine.loss_curve_[1:], sk.loss_curve_[1:], atol=TOL)
    assert mine.n_iter_ == sk.n_iter_ == 15


def test_partial_fit_same_as_scikit_learn_and_its_errors(digits):
    X, y = digits
    sk = SkClassifier(hidden_layer_sizes=(8,), random_state=0)
    mine = MLPClassifier(hidden_layer_sizes=(8,), random_state=0)
    for model in (sk, mine):
        for start in range(0, 400, 100):
            model.partial_fit(X[start:start + 100], y[start:start + 100],
                              classes=np.arange(10))
    np.testing.assert_allclose(mine.loss_curve_, sk.loss_curve_, atol=TOL)
    assert mine.n_iter_ == sk.n_iter_ == 1 and mine.t_ == sk.t_ == 400
    for model in (sk, mine):
        with pytest.raises(ValueError, match="is not the same as on last call"):
            model.partial_fit(X, y, classes=np.arange(11))
        with pytest.raises(ValueError, match="classes must be passed on the first call"):
            type(model)().partial_fit(X, y)
        fresh = type(model)(hidden_layer_sizes=(4,), random_state=0)
        fresh.partial_fit(X[y < 5], y[y < 5], classes=np.arange(5))
        with pytest.raises(ValueError, match="`y` has classes not in `self.classes_`"):
            fresh.partial_fit(X, y)
        early = type(model)(hidden_layer_sizes=(4,), early_stopping=True, max_iter=5,
                            random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            early.fit(X, y)
        with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
            early.partial_fit(X, y)
        assert not hasattr(type(model)(solver="lbfgs"), "partial_fit")
        assert hasattr(type(model)(solver="sgd"), "partial_fit")
    assert not hasattr(MLPRegressor(solver="lbfgs"), "partial_fit")


def test_warm_start_refuses_other_classes(digits):
    X, y = digits
    for cls in (SkClassifier, MLPClassifier):
        model = cls(hidden_layer_sizes=(4,), max_iter=2, warm_start=True, random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
            with_new_class = np.where(y == 9, 10, y)
            for XX, yy in ((X[y < 5], y[y < 5]), (X, with_new_class)):
                with pytest.raises(ValueError, match="warm_start can only be used where"):
                    model.fit(XX, yy)


def test_early_stopping_is_stratified_and_refuses_a_tiny_validation_set(digits):
    X, y = digits
    binary = (y == 0).astype(int)  # 10% positives
    clf = MLPClassifier(hidden_layer_sizes=(4,), early_stopping=True, validation_fraction=0.1,
                        max_iter=3, random_state=0)
    sk = SkClassifier(hidden_layer_sizes=(4,), early_stopping=True, validation_fraction=0.1,
                      max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, binary)
        sk.fit(X, binary)
    np.testing.assert_allclose(clf.validation_scores_, sk.validation_scores_)
    for cls in (SkRegressor, MLPRegressor):
        with pytest.raises(ValueError, match="The validation set is too small"):
            cls(early_stopping=True, validation_fraction=0.1).fit(X[:10], np.arange(10.0))


@pytest.mark.parametrize("name, value", [
    ("alpha", np.int64(0)), ("alpha", np.float32(1e-3)), ("n_iter_no_change", np.inf),
    ("random_state", np.random.RandomState(0)), ("max_iter", np.int32(3)),
    ("learning_rate", "invscaling"), ("power_t", 0), ("momentum", 1),
    ("validation_fraction", 0.0), ("hidden_layer_sizes", np.int64(3)),
])
def test_parameters_scikit_learn_accepts(digits, name, value):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for cls in (SkClassifier, MLPClassifier):
            cls(**{"max_iter": 2, name: value}).fit(X, y)


@pytest.mark.parametrize("name, value", [
    ("alpha", -1), ("learning_rate", "sometimes"), ("max_iter", 0), ("max_iter", 2.5),
    ("n_iter_no_change", 0), ("random_state", "seed"), ("shuffle", 1), ("epsilon", 0),
    ("batch_size", 0), ("validation_fraction", 1), ("max_fun", 0), ("beta_1", 1),
])
def test_parameters_scikit_learn_refuses(digits, name, value):
    X, y = digits
    for cls in (SkClassifier, MLPClassifier):
        with pytest.raises(ValueError, match=f"The '{name}' parameter of MLPClassifier must"):
            cls(**{name: value}).fit(X, y)


def test_parameter_validation_without_scikit_learn():
    code = """
import sys
sys.modules["sklearn"] = None
import numpy as np
from nnlearn.estimators import MLPClassifier, MLPRegressor, InvalidParameterError
X = np.random.default_rng(0).standard_normal((60, 3)); y = (X[:, 0] > 0).astype(int)
MLPClassifier(max_iter=2, alpha=np.int64(0), n_iter_no_change=np.inf,
              random_state=np.random.RandomState(0)).fit(X, y)
MLPRegressor(max_iter=2, early_stopping=True).fit(X, X[:, 0])
for bad in (dict(alpha=-1), dict(learning_rate="x"), dict(random_state="seed")):
    try:
        MLPClassifier(**bad).fit(X, y)
    except InvalidParameterError as err:
        assert "parameter of MLPClassifier must be" in str(err), err
    else:
        raise AssertionError(bad)
print("ok")
"""
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr


def test_lbfgs_stopping_warnings_and_max_fun(digits):
    X, y = digits
    with pytest.warns(ConvergenceWarning, match="lbfgs failed to converge after 5"):
        clf = MLPClassifier(solver="lbfgs", max_iter=5, hidden_layer_sizes=(8,),
                            random_state=0).fit(X, y)
    assert clf.n_iter_ == 5 and clf.t_ == 0 and np.isfinite(clf.loss_)
    assert not hasattr(clf, "loss_curve_") and not hasattr(clf, "best_loss_")
    with pytest.warns(ConvergenceWarning, match="EVALUATIONS EXCEEDS LIMIT"):
        limited = MLPClassifier(solver="lbfgs", max_fun=10, hidden_layer_sizes=(8,),
                                random_state=0).fit(X, y)
    assert limited.model_.loss_evaluations <= 11 and limited.n_iter_ < 10
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        done = MLPClassifier(solver="lbfgs", max_iter=500, hidden_layer_sizes=(8,),
                             random_state=0).fit(X, y)
        sk = SkClassifier(solver="lbfgs", max_iter=500, hidden_layer_sizes=(8,),
                          random_state=0).fit(X, y)
    # not the same line search as scipy's, so close rather than equal (105 vs 104 here)
    assert abs(done.n_iter_ - sk.n_iter_) <= 0.25 * sk.n_iter_
    assert done.score(X, y) == sk.score(X, y) == 1.0 and done.loss_ < 1e-3
    assert done.model_.loss_evaluations <= done.max_fun


def test_predict_dtypes_as_scikit_learn(regression):
    X, Y = regression
    X32 = X.astype(np.float32)
    for cls in (SkRegressor, MLPRegressor):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            reg32 = cls(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X32, Y)
            reg64 = cls(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, Y)
        assert reg32.predict(X32).dtype == np.float32, cls
        assert reg32.predict(X).dtype == np.float64
        assert reg64.predict(X32).dtype == np.float64
        assert reg32.coefs_[0].dtype == np.float32


def test_diverging_adaptive_run_behaves_as_scikit_learn(regression):
    X, Y = regression
    settings = dict(solver="sgd", learning_rate="adaptive", learning_rate_init=10.0,
                    hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    outcomes = []
    for cls in (SkRegressor, MLPRegressor):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                model = cls(**settings).fit(X * 100, Y * 100)
                outcomes.append(("fitted", len(model.loss_curve_)))
            except ValueError as err:
                outcomes.append(("error", str(err)))
    assert outcomes[0] == outcomes[1]


def test_poisson_uses_an_exp_link(regression):
    X, _ = regression
    rate = np.exp(0.5 * X[:, 0] + 1.5)
    y = np.random.default_rng(0).poisson(rate).astype(float)
    reg = MLPRegressor(loss="poisson", hidden_layer_sizes=(8,), learning_rate_init=0.01,
                       max_iter=300, random_state=0).fit(X, y)
    assert reg.out_activation_ == "exp" and np.all(reg.predict(X) > 0)
    assert 3 < np.median(reg.predict(X)) < 7
    with pytest.raises(ValueError, match="negative"):
        MLPRegressor(loss="poisson").fit(X, -y)


def test_nnlearn_extras_still_work(digits):
    X, y = digits
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier(hidden_layer_sizes=(32,), activation="swish", dropout=0.1,
                            batch_normalization=True, solver="rmsprop", max_iter=40,
                            learning_rate_init=0.01, batch_size=32, random_state=0,
                            dtype="float32").fit(X, y)
        reg = MLPRegressor(loss="mae", kernel_initializer="he_normal", max_iter=10,
                           random_state=0).fit(X, y.astype(float))
    assert clf.score(X, y) > 0.8 and clf.coefs_[0].dtype == np.float32
    assert np.isfinite(reg.predict(X)).all()
    # an nnlearn loss weights samples too (Keras's semantics): unit weights change
    # nothing, zero weights on half the samples do
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        runs = [MLPRegressor(loss="mae", max_iter=3, random_state=0, tol=0).fit(
            X, y.astype(float), sample_weight=w).loss_curve_
            for w in (None, np.ones(len(y)), np.arange(len(y)) % 2)]
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12)
    assert abs(runs[2][-1] - runs[0][-1]) > 1e-3


# -- the model wrappers ----------------------------------------------------------------------
def build_classifier(n_features_in, n_classes, units=16, learning_rate=0.01):
    model = nl.Sequential([nl.layers.Input(n_features_in),
                           nl.layers.Dense(units, activation="relu"),
                           nl.layers.Dense(n_classes, activation="softmax")], seed=0)
    model.compile(nl.optimizers.Adam(learning_rate), loss="sparse_categorical_crossentropy")
    return model


def build_regressor(n_features_in, n_outputs, units=16, dtype="float32"):
    model = nl.Sequential([nl.layers.Input(n_features_in),
                           nl.layers.Dense(units, activation="tanh"),
                           nl.layers.Dense(n_outputs)], seed=0, dtype=dtype)
    model.compile(nl.optimizers.Adam(0.01), loss="mse")
    return model


def build_float64_regressor(n_features_in, n_outputs):
    return build_regressor(n_features_in, n_outputs, dtype="float64")


def test_model_wrappers_in_grid_search_and_pipeline(digits):
    X, y = digits
    search = GridSearchCV(
        Pipeline([("scale", StandardScaler()),
                  ("net", ModelClassifier(build_classifier, units=8, epochs=15,
                                          random_state=0))]),
        {"net__units": [8, 32], "net__learning_rate": [0.01]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.8
    assert set(search.best_params_) == {"net__units", "net__learning_rate"}
    assert search.predict_proba(X).shape == (len(X), 10)
    labels = np.where(y % 2, "odd", "even")
    binary = ModelClassifier(build_classifier, epochs=10, random_state=0).fit(X, labels)
    assert set(binary.predict(X)) <= {"odd", "even"} and binary.score(X, labels) > 0.8
    reg = ModelRegressor(build_regressor, epochs=30, random_state=0)
    target = np.stack([X[:, 10], X[:, 20] - X[:, 30]], axis=1)
    assert reg.fit(X, target).predict(X).shape == target.shape
    with pytest.raises(ValueError, match="Invalid parameter 'depth'"):
        ModelClassifier(build_classifier).set_params(depth=3)


# scikit-learn checks that predict on a subset of the rows gives the same numbers to
# 1e-7; float32 outputs differ in their last bits with the number of rows wherever the
# BLAS's kernels sum in a different order for each (OpenBLAS's Haswell kernels on an AMD
# EPYC: 1-3 ulps of an output of 0.7 between 1 and 20 rows), so the float32 regressor
# skips that one check and the float64 one runs them all
SUBSET_IN_FLOAT32 = {"check_methods_subset_invariance": "float32 outputs depend on the "
                     "rows predicted together in their last bits (the BLAS's kernels)"}


@pytest.mark.parametrize("estimator, expected_failed", [
    (ModelClassifier(build_classifier, epochs=5, random_state=0), None),
    (ModelRegressor(build_regressor, epochs=5, random_state=0), SUBSET_IN_FLOAT32),
    (ModelRegressor(build_float64_regressor, epochs=5, random_state=0), None),
    (MLPClassifier(solver="sgd", learning_rate="adaptive"), None),
    (MLPRegressor(solver="lbfgs"), None),
], ids=["ModelClassifier", "ModelRegressor", "ModelRegressor-float64", "MLPClassifier-sgd",
        "MLPRegressor-lbfgs"])
def test_more_estimators_pass_check_estimator(estimator, expected_failed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(estimator, expected_failed_checks=expected_failed)


def build_cnn(n_features_in, n_classes, filters=8):
    """A small convolutional network on the 8 x 8 digit images, rows of 64 pixels."""
    side = int(round(n_features_in ** 0.5))
    model = nl.Sequential([nl.layers.Input(n_features_in),
                           nl.layers.Reshape((side, side, 1)),
                           nl.layers.Conv2D(filters, 3, activation="relu", padding="same"),
                           nl.layers.MaxPooling2D(2),
                           nl.layers.Flatten(),
                           nl.layers.Dense(n_classes, activation="softmax")], seed=0)
    model.compile(nl.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    return model


def test_model_classifier_takes_a_convolutional_network():
    """The builder-based estimator runs any architecture: a CNN in cross-validation on
    the 1,797 digit images."""
    from sklearn.model_selection import cross_val_score

    X, y = load_digits(return_X_y=True)
    X = X / 16
    scores = cross_val_score(ModelClassifier(build_cnn, filters=16, epochs=20, random_state=0),
                             X, y, cv=3)
    assert scores.min() > 0.9, scores  # scikit-learn's default MLP: 0.93-0.95
