"""nnlearn.metrics: the functions on one batch, the stateful objects over many."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import metrics


def test_functions_on_a_batch():
    y_pred = np.array([[0.1, 0.9], [0.8, 0.2], [0.4, 0.6]])
    assert metrics.categorical_accuracy(np.eye(2)[[1, 0, 0]], y_pred) == pytest.approx(2 / 3)
    assert metrics.sparse_categorical_accuracy(np.array([1, 1, 1]), y_pred) == pytest.approx(
        2 / 3)
    assert metrics.binary_accuracy(np.array([[1], [0]]), np.array([[0.7], [0.6]])) == 0.5
    assert metrics.mean_squared_error(np.array([1.0, 3.0]), np.array([[0.0], [1.0]])) == 2.5
    assert metrics.mean_absolute_error(np.array([1.0, 3.0]), np.array([[0.0], [1.0]])) == 1.5


def test_stateful_metrics_weight_every_sample_once():
    """Batches of 3 and 1 samples: 2/3 right, then 0/1 right -> 2/4, not (2/3 + 0) / 2."""
    accuracy = metrics.SparseCategoricalAccuracy()
    accuracy.update_state(np.array([1, 0, 0]), np.array([[0, 1], [1, 0], [0, 1.0]]))
    accuracy.update_state(np.array([1]), np.array([[1, 0.0]]))
    assert accuracy.result() == pytest.approx(0.5)
    accuracy.reset_state()
    assert np.isnan(accuracy.result())
    mean = metrics.Mean("loss")
    mean.update_state(1.0, 3)
    mean.update_state(5.0, 1)
    assert mean.result() == pytest.approx(2.0)


def test_accuracy_follows_the_loss_and_names_are_log_keys():
    for loss, cls in (("binary_crossentropy", metrics.BinaryAccuracy),
                      ("sparse_categorical_crossentropy", metrics.SparseCategoricalAccuracy),
                      ("categorical_crossentropy", metrics.CategoricalAccuracy),
                      ("mse", metrics.Accuracy)):
        metric = metrics.get("accuracy", nl.losses.get(loss))
        assert type(metric) is cls and metric.name == "accuracy"
    assert metrics.get("mae").name == "mae"
    assert isinstance(metrics.get("mean_squared_error"), metrics.MeanSquaredError)


def test_a_custom_metric_function_is_averaged_over_samples():
    def error_rate(y_true, y_pred):
        return float(np.mean(np.argmax(y_pred, axis=-1) != y_true))

    metric = metrics.get(error_rate)
    assert metric.name == "error_rate"
    metric.update_state(np.array([0, 0]), np.array([[1, 0.0], [0, 1.0]]))
    metric.update_state(np.array([1, 1, 1, 1]), np.array([[0, 1.0]] * 4))
    assert metric.result() == pytest.approx(1 / 6)
    with pytest.raises(ValueError, match="unknown metric 'acuracy'"):
        metrics.get("acuracy")


def test_accuracy_after_an_undeclared_loss_follows_the_shapes():
    one_output = metrics.get("accuracy", nl.losses.get(lambda t, p: p.sum()))
    one_output.update_state(np.array([1, 0]), np.array([[0.9], [0.8]]))
    assert type(one_output) is metrics.Accuracy and one_output.result() == 0.5  # binary
    labels = metrics.Accuracy()
    labels.update_state(np.array([1, 0]), np.array([[0.1, 0.9], [0.2, 0.8]]))
    assert labels.result() == 0.5                                             # sparse
    rows = metrics.Accuracy()
    rows.update_state(np.eye(2), np.array([[0.1, 0.9], [0.8, 0.2]]))
    assert rows.result() == 0.0                                               # one-hot


def test_only_built_in_metrics_are_serialized():
    assert metrics.serialize(metrics.get("accuracy", nl.losses.get("mse"))) == "accuracy"
    assert metrics.serialize(metrics.get("mae")) == "mae"
    with pytest.raises(ValueError, match="cannot save custom metric 'top'"):
        metrics.serialize(metrics.MeanMetricWrapper(lambda t, p: 0.0, name="top"))


# -- AUC, precision, recall (issue 32 item 20) ---------------------------------------------------
def test_auc_equals_the_exact_roc_area_when_scores_fall_between_distinct_thresholds():
    auc = metrics.AUC()
    auc.update_state(np.array([0, 0]), np.array([[0.1], [0.4]]))
    auc.update_state(np.array([1, 1]), np.array([[0.35], [0.8]]))
    assert auc.result() == pytest.approx(0.75, abs=1e-12)  # 3 of 4 pairs ordered
    assert metrics.get("auc").name == "auc" and isinstance(metrics.get("auc"), metrics.AUC)
    auc.reset_state()
    assert np.isnan(auc.result())


def test_auc_follows_scikit_learn_within_the_threshold_spacing():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 2000)
    scores = 1 / (1 + np.exp(-(1.5 * y - 0.75 + rng.standard_normal(2000))))
    auc = metrics.AUC()
    for start in range(0, 2000, 128):  # over batches: counts, not a mean of batch AUCs
        auc.update_state(y[start:start + 128], scores[start:start + 128, None])
    exact = sklearn_metrics.roc_auc_score(y, scores)
    assert auc.result() == pytest.approx(exact, abs=2e-3)
    fine = metrics.AUC(num_thresholds=20_001)
    fine.update_state(y, scores[:, None])
    assert fine.result() == pytest.approx(exact, abs=2e-5)
    pr = metrics.AUC(curve="PR", num_thresholds=2001)
    pr.update_state(y, scores[:, None])
    assert pr.result() == pytest.approx(sklearn_metrics.average_precision_score(y, scores),
                                        abs=1e-2)


def test_auc_matches_keras_riemann_sums_on_a_hand_computed_case():
    # 3 thresholds: -1e-7, 0.5, 1 + 1e-7.  Scores 0.2 (neg), 0.7 (pos), 0.6 (neg), 0.9 (pos)
    # counts at 0.5: tp 2, fp 1, tn 1, fn 0 -> tpr 1, fpr 0.5;  ends (1, 1) and (0, 0).
    y, p = np.array([0, 1, 0, 1]), np.array([[0.2], [0.7], [0.6], [0.9]])
    expected = {"interpolation": 0.5 * 1 + 0.5 * 0.5, "minoring": 0.5 * 1 + 0.5 * 0,
                "majoring": 0.5 * 1 + 0.5 * 1}
    for method, value in expected.items():
        auc = metrics.AUC(num_thresholds=3, summation_method=method)
        auc.update_state(y, p)
        assert auc.result() == pytest.approx(value), method
    np.testing.assert_array_equal(auc.tp, [2, 2, 0])
    np.testing.assert_array_equal(auc.fp, [2, 1, 0])


def test_precision_and_recall_count_over_batches_with_keras_defaults():
    precision, recall = metrics.get("precision"), metrics.get("recall")
    for y, p in [(np.array([1, 0, 1]), np.array([[0.9], [0.8], [0.2]])),
                 (np.array([1, 1]), np.array([[0.6], [0.4]]))]:
        precision.update_state(y, p)
        recall.update_state(y, p)
    assert precision.result() == pytest.approx(2 / 3)  # tp 2 (0.9, 0.6), fp 1 (0.8)
    assert recall.result() == pytest.approx(2 / 4)     # 4 positives, 2 found
    strict = metrics.Precision(thresholds=0.85)
    strict.update_state(np.array([1, 0]), np.array([[0.9], [0.8]]))
    assert strict.result() == 1.0
    nothing = metrics.Precision()
    nothing.update_state(np.array([1]), np.array([[0.1]]))
    assert nothing.result() == 0.0  # Keras: 0 when nothing was predicted positive
    one_hot = metrics.Recall(class_id=1)
    one_hot.update_state(np.eye(3)[[1, 1, 2]], np.array([[0.1, 0.8, 0.1], [0.6, 0.3, 0.1],
                                                         [0.1, 0.7, 0.2]]))
    assert one_hot.result() == pytest.approx(1 / 2)


def test_threshold_metrics_name_what_is_wrong():
    with pytest.raises(ValueError, match="AUC: curve must be 'ROC' or 'PR'; got 'roc-ish'"):
        metrics.AUC(curve="roc-ish")
    with pytest.raises(ValueError, match=r"Precision: thresholds must be one number in "
                                         r"\[0, 1\]; got 2"):
        metrics.Precision(thresholds=2)
    with pytest.raises(ValueError, match=r"auc: y_true must hold a 0/1 label per output"):
        metrics.AUC().update_state(np.array([0, 1, 2]), np.eye(3))
    with pytest.raises(ValueError, match="recall: y_true must hold labels 0 and 1; got "
                                         "values such as 2"):
        metrics.Recall().update_state(np.array([0, 2]), np.array([[0.1], [0.9]]))


def test_fit_reports_auc_precision_recall_and_a_model_file_keeps_them(tmp_path):
    x = np.random.default_rng(0).standard_normal((200, 2)).astype(np.float32)
    y = (x[:, 0] + 0.3 * x[:, 1] > 0).astype(np.float32)
    model = nl.Sequential([nl.layers.Input(2), nl.layers.Dense(1, activation="sigmoid")],
                          seed=0)
    model.compile("adam", "binary_crossentropy", metrics=["auc", "precision", "recall"])
    history = model.fit(x, y, epochs=3, batch_size=32, validation_split=0.2, verbose=0)
    assert {"auc", "precision", "recall", "val_auc", "val_precision",
            "val_recall"} <= set(history.history)
    assert 0.5 < history.history["val_auc"][-1] <= 1.0
    model.save(tmp_path / "m.nnlearn")
    loaded = nl.load_model(tmp_path / "m.nnlearn")
    assert [type(m).__name__ for m in loaded.metrics] == ["AUC", "Precision", "Recall"]
    assert loaded.evaluate(x, y, return_dict=True) == pytest.approx(
        model.evaluate(x, y, return_dict=True))
    custom = nl.Sequential([nl.layers.Input(2), nl.layers.Dense(1, activation="sigmoid")])
    custom.compile("adam", "binary_crossentropy", metrics=[metrics.AUC(num_thresholds=50)])
    with pytest.raises(ValueError, match="non-default settings"):
        custom.save(tmp_path / "c.nnlearn")
