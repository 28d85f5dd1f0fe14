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
