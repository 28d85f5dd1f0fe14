"""Sample and class weights: Loss(..., sample_weight) with Keras's reductions, fit /
evaluate / train_step / test_step on the engine and the compiled step, class_weight, and
the estimators' use of them (scikit-learn's objective as a saved, loaded, exported loss)."""

import os

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import losses
from nnlearn.lowering import loops, planner
from nnlearn.layers import Dense, Input

PATHS = ["engine"] + (["compiled"] if "numba" in loops.available_backends() else [])


def _path(name):
    return planner.settings(compiled_step=name == "compiled")


def _net(head="softmax", seed=0):
    output, loss = {"softmax": ("softmax", "sparse_categorical_crossentropy"),
                    "sigmoid": ("sigmoid", "binary_crossentropy"),
                    "linear": ("linear", "mse"), "mae": ("linear", "mae")}[head]
    model = nl.Sequential([Input(3), Dense(5, activation="tanh"),
                           Dense(3 if head == "softmax" else 2, activation=output)],
                          seed=seed, dtype="float64")
    model.compile(optimizer=nl.optimizers.SGD(0.3), loss=loss)
    return model


def _data(head, n=12, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    if head == "softmax":
        return x, rng.integers(0, 3, n)
    if head == "sigmoid":
        return x, (rng.random((n, 2)) > 0.5).astype(float)
    return x, rng.normal(size=(n, 2))


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("head", ["softmax", "sigmoid", "linear", "mae"])
def test_integer_weights_equal_repeated_rows(head, path):
    """Full-batch SGD with integer weights summing to n equals SGD on the rows repeated
    that many times (a weight of 0 drops a row): sum_i w_i l_i / n is the mean over the
    repeated rows."""
    x, y = _data(head)
    w = np.array([2, 0, 1, 1, 3, 0, 1, 0, 2, 1, 0, 1])
    assert w.sum() == len(x)
    weighted, repeated = _net(head), _net(head)
    with _path(path):
        weighted.fit(x, y, epochs=5, batch_size=len(x), sample_weight=w, verbose=0,
                     shuffle=False)
        repeated.fit(np.repeat(x, w, axis=0), np.repeat(y, w, axis=0), epochs=5,
                     batch_size=len(x), verbose=0, shuffle=False)
    for a, b in zip(weighted.get_weights(), repeated.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(weighted.history.history["loss"],
                               repeated.history.history["loss"], rtol=1e-12)


@pytest.mark.parametrize("path", PATHS)
def test_unit_weights_change_nothing(path):
    x, y = _data("softmax")
    plain, unit = _net(), _net()
    with _path(path):
        plain.fit(x, y, epochs=3, batch_size=5, verbose=0, seed=0)
        unit.fit(x, y, epochs=3, batch_size=5, verbose=0, seed=0,
                 sample_weight=np.ones(len(x)))
    for a, b in zip(plain.get_weights(), unit.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15)


def test_reductions_against_their_definitions():
    y_true, y_pred = np.array([[0.0], [1.0], [2.0]]), np.array([[1.0], [1.0], [0.0]])
    per_sample = np.array([1.0, 0.0, 4.0])
    w = np.array([0.5, 2.0, 1.5])
    expected = {"sum_over_batch_size": (w * per_sample).sum() / 3,
                "mean_with_sample_weight": (w * per_sample).sum() / w.sum(),
                "sum": (w * per_sample).sum()}
    for reduction, value in expected.items():
        loss = losses.MeanSquaredError(reduction=reduction)
        assert loss(y_true, y_pred, sample_weight=w).item() == pytest.approx(value, rel=1e-15)
    none = losses.MeanSquaredError(reduction="none")(y_true, y_pred, sample_weight=w)
    np.testing.assert_allclose(none.data, w * per_sample)
    assert losses.MeanSquaredError()(y_true, y_pred).item() == pytest.approx(5 / 3)
    assert losses.MeanSquaredError(reduction="mean").reduction == "sum_over_batch_size"
    assert losses.MeanSquaredError(reduction=None).reduction == "none"  # Keras's aliases
    with pytest.raises(ValueError, match="reduction must be one of"):
        losses.MeanSquaredError(reduction="average")


def test_every_named_loss_weights_its_samples():
    """For each registered loss, weights w give sum_i w_i l_i / n with l_i the loss of
    sample i alone (each computed as a batch of one)."""
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(3), 5)
    onehot = np.eye(3)[rng.integers(0, 3, 5)]
    w = rng.uniform(0, 2, 5)
    for name in sorted(set(losses.LOSSES) - {"sklearn_mlp"}):
        loss = losses.get(name)
        y = onehot.argmax(1) if loss.targets == "class_index" else onehot
        alone = [loss(y[i:i + 1], p[i:i + 1]).item() for i in range(5)]
        got = loss(y, p, sample_weight=w).item()
        assert got == pytest.approx(np.dot(w, alone) / 5, rel=1e-6), name


def test_custom_loss_functions_and_weights():
    per_sample = losses.get(lambda y, p: ((p - y) ** 2).sum(axis=-1))
    value = per_sample(np.zeros((2, 1)), np.array([[1.0], [2.0]]), np.array([1.0, 3.0]))
    assert value.item() == pytest.approx((1 + 12) / 2)
    batch = losses.get(lambda y, p: ((p - y) ** 2).mean())
    with pytest.raises(ValueError, match="one value per sample"):
        batch(np.zeros((2, 1)), np.array([[1.0], [2.0]]), np.array([1.0, 3.0]))


def test_class_weight_balanced_equals_scikit_learns():
    sklearn_weights = pytest.importorskip("sklearn.utils.class_weight")
    y = np.array([0, 0, 0, 1, 2, 2, 0, 1, 0, 0])
    model = _net()
    expected = sklearn_weights.compute_sample_weight("balanced", y)
    np.testing.assert_allclose(model.class_sample_weights(y, "balanced"), expected,
                               rtol=1e-15)
    np.testing.assert_allclose(model.class_sample_weights(np.eye(3)[y], "balanced"),
                               expected, rtol=1e-15)


@pytest.mark.parametrize("path", PATHS)
def test_class_weight_is_the_sample_weight_of_each_class(path):
    x, y = _data("softmax")
    table = {0: 2.0, 1: 0.5}
    by_class, by_sample = _net(), _net()
    with _path(path):
        by_class.fit(x, y, epochs=2, batch_size=4, verbose=0, seed=0, class_weight=table)
        by_sample.fit(x, y, epochs=2, batch_size=4, verbose=0, seed=0,
                      sample_weight=np.array([table.get(c, 1.0) for c in y]))
    for a, b in zip(by_class.get_weights(), by_sample.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_are_checked_at_the_boundary():
    x, y = _data("softmax")
    model = _net()
    for bad, message in ((np.ones(3), r"one weight per sample, shape \(12,\)"),
                         (-np.ones(12), "finite weights >= 0"),
                         (np.full(12, np.nan), "finite weights >= 0"),
                         (np.array(["a"] * 12), "must be numeric")):
        with pytest.raises(ValueError, match=message):
            model.fit(x, y, sample_weight=bad, verbose=0)
    with pytest.raises(ValueError, match="not both"):
        model.fit(x, y, sample_weight=np.ones(12), class_weight="balanced", verbose=0)
    with pytest.raises(ValueError, match="dict or 'balanced'"):
        model.fit(x, y, class_weight="balance", verbose=0)
    with pytest.raises(ValueError, match="validation_data must be a tuple"):
        model.fit(x, y, validation_data=(x, y, None, None), verbose=0)


def test_validation_and_evaluate_weights():
    x, y = _data("softmax")
    w = np.linspace(0, 2, len(x))
    model = _net()
    history = model.fit(x, y, epochs=1, verbose=0, validation_data=(x, y, w))
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x, y, sample_weight=w), rel=1e-12)
    per_sample = [model.evaluate(x[i:i + 1], y[i:i + 1]) for i in range(len(x))]
    assert model.evaluate(x, y, sample_weight=w) == pytest.approx(
        np.dot(w, per_sample) / len(x), rel=1e-12)


def test_keras_fit_with_sample_weight_gives_the_same_losses():
    """With the same initial weights, Keras 3's fit(..., sample_weight=w) and nnlearn's
    give the same loss per epoch (full batch, SGD, float64)."""
    os.environ.setdefault("KERAS_BACKEND", "torch")  # the bench extra's backend
    keras = pytest.importorskip("keras")
    x, y = _data("softmax", n=16)
    w = np.random.default_rng(3).uniform(0, 2, 16)
    model = _net()
    model.build((3,))
    keras.config.set_floatx("float64")
    try:
        reference = keras.Sequential([keras.Input((3,)), keras.layers.Dense(5, "tanh"),
                                      keras.layers.Dense(3, "softmax")])
        reference.set_weights(model.get_weights())
        reference.compile(optimizer=keras.optimizers.SGD(0.3),
                          loss="sparse_categorical_crossentropy")
        expected = reference.fit(x, y, sample_weight=w, epochs=4, batch_size=16,
                                 shuffle=False, verbose=0).history["loss"]
    finally:
        keras.config.set_floatx("float32")
    got = model.fit(x, y, sample_weight=w, epochs=4, batch_size=16, shuffle=False,
                    verbose=0).history["loss"]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


# -- the estimators ---------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore::nnlearn.estimators.ConvergenceWarning")
@pytest.mark.parametrize("kind", ["multiclass", "binary", "multilabel", "regression",
                                  "poisson"])
def test_estimator_models_save_load_and_export(kind, tmp_path):
    from nnlearn.estimators import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4))
    y = {"multiclass": rng.integers(0, 3, 40), "binary": rng.integers(0, 2, 40),
         "multilabel": (rng.random((40, 3)) > 0.5).astype(int),
         "regression": rng.normal(size=40), "poisson": rng.poisson(2.0, 40)}[kind]
    if kind in ("regression", "poisson"):
        estimator = MLPRegressor(hidden_layer_sizes=(6,), max_iter=20, random_state=0,
                                 loss="poisson" if kind == "poisson" else "squared_error")
    else:
        estimator = MLPClassifier(hidden_layer_sizes=(6,), max_iter=20, random_state=0)
    estimator.fit(X, y, sample_weight=rng.uniform(0.5, 2, 40))
    path = tmp_path / "model.nnl"
    estimator.model_.save(path)
    loaded = nl.load_model(path)
    np.testing.assert_allclose(loaded.predict(X), estimator.model_.predict(X), rtol=1e-12)
    assert isinstance(loaded.loss, losses.SklearnMLPLoss)
    assert loaded.loss.get_config() == estimator.model_.loss.get_config()
    namespace = {}
    exec(nl.models.python_source(estimator.model_), namespace)
    rebuilt = namespace["model"]
    rebuilt.build((4,))
    rebuilt.set_weights(estimator.model_.get_weights())
    np.testing.assert_allclose(rebuilt.predict(X), estimator.model_.predict(X), rtol=1e-12)
    assert repr(rebuilt.loss) == repr(estimator.model_.loss)
    assert repr(rebuilt.optimizer) == repr(estimator.model_.optimizer)


@pytest.mark.filterwarnings("ignore::nnlearn.estimators.ConvergenceWarning")
def test_predict_proba_of_a_loaded_classifier_model(tmp_path):
    from nnlearn.estimators import MLPClassifier

    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(50, 4)), rng.integers(0, 3, 50)
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=30, random_state=0).fit(X, y)
    clf.model_.save(tmp_path / "m.nnl")
    loaded = nl.load_model(tmp_path / "m.nnl")
    np.testing.assert_allclose(loaded.predict(X), clf.predict_proba(X), rtol=1e-12)


def test_weights_as_a_column_are_one_per_sample():
    y_true, y_pred = np.zeros((4, 2)), np.arange(8.0).reshape(4, 2)
    w = np.array([0.5, 1.0, 2.0, 0.0])
    for name in ("mae", "mse", "log_cosh"):
        loss = losses.get(name)
        assert loss(y_true, y_pred, w[:, None]).item() == pytest.approx(
            loss(y_true, y_pred, w).item(), rel=1e-15), name
    with pytest.raises(ValueError, match=r"sample_weight of shape \(3,\) does not match"):
        losses.get("mae")(y_true, y_pred, w[:3])
    x, y = _data("softmax")
    results = []
    for path in PATHS:
        with _path(path):
            for weights in (np.linspace(0, 1, 12), np.linspace(0, 1, 12)[:, None]):
                model = _net()
                model.train_step(x, y, weights)
                results.append(model.get_weights())
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_class_weight_weights_the_training_part_only():
    x, y = _data("softmax", n=20)
    model = _net()
    history = model.fit(x, y, epochs=1, verbose=0, validation_split=0.25,
                        class_weight="balanced", shuffle=False)
    plain = _net()
    plain.fit(x, y, epochs=1, verbose=0, validation_split=0.25, shuffle=False,
              sample_weight=np.concatenate([model.class_sample_weights(y[:15], "balanced"),
                                            np.ones(5)]))
    for a, b in zip(model.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)  # balanced over the 15 training samples
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[15:], y[15:]), rel=1e-12)  # validation unweighted


def test_a_custom_per_sample_loss_is_reduced_without_weights():
    model = nl.Sequential([Input(3), Dense(2)], seed=0, dtype="float64")
    model.compile("sgd", lambda y, p: ((p - y) ** 2).sum(axis=-1))
    x, y = _data("linear")
    history = model.fit(x, y, epochs=1, batch_size=12, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_levenberg_marquardt_refuses_weights_before_training():
    from nnlearn.callbacks import Callback

    class Started(Callback):
        began = False

        def on_train_begin(self, logs=None):
            Started.began = True

    model = _net("linear")
    model.compile(optimizer="levenberg_marquardt", loss="mse")
    x, y = _data("linear")
    with pytest.raises(ValueError, match="cannot weight samples"):
        model.fit(x, y, sample_weight=np.ones(12), callbacks=[Started()], verbose=0)
    assert not Started.began


@pytest.mark.filterwarnings("ignore::nnlearn.estimators.ConvergenceWarning")
def test_estimators_take_a_python_function_as_their_loss():
    from nnlearn.estimators import MLPRegressor

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.normal(size=30)
    reg = MLPRegressor(loss=lambda t, p: ((p - t) ** 2).mean(), hidden_layer_sizes=(4,),
                       max_iter=3, random_state=0).fit(X, y)
    assert np.isfinite(reg.loss_)


def test_a_nested_scikit_learn_objective_is_refused(tmp_path):
    with pytest.raises(ValueError, match="another loss than SklearnMLPLoss"):
        losses.SklearnMLPLoss("softmax", 0.1, losses.SklearnMLPLoss())
    nested = {"class_name": "SklearnMLPLoss", "config": {"link": "softmax"}}
    for _ in range(400):
        nested = {"class_name": "SklearnMLPLoss", "config": {"link": "softmax",
                                                             "loss": nested}}
    with pytest.raises(ValueError, match="another loss than SklearnMLPLoss"):
        losses.get(nested)


def test_pickled_estimators_keep_their_compiled_step_and_save(tmp_path):
    import pickle

    from nnlearn.estimators import MLPClassifier

    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=5, random_state=0).fit(X, y)
    copy = pickle.loads(pickle.dumps(clf))
    assert copy.model_.layers[1].activation is nl.activations.relu
    assert copy.model_.fused_loss is not None
    copy.model_.save(tmp_path / "m.nnl")
    np.testing.assert_allclose(copy.predict_proba(X), clf.predict_proba(X), rtol=1e-15)
