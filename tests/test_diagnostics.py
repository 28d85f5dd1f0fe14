"""nnlearn.diagnostics: the sanity checks before a long run (overfitting a small
sample, per-layer activation statistics) and the statistics' plot."""

import matplotlib
import numpy as np
import pytest

import nnlearn as nl
from nnlearn import datasets, plot
from nnlearn.diagnostics import overfit_small
from nnlearn.layers import Dense

matplotlib.use("Agg")


def test_activation_statistics_and_their_plot():
    from nnlearn.diagnostics import activation_statistics

    model = nl.Sequential([nl.layers.Input(20), nl.layers.Dense(30, activation="tanh"),
                           nl.layers.Dense(30, activation="relu")], seed=0)
    x = np.random.default_rng(0).standard_normal((50, 20)).astype(np.float32)
    stats = activation_statistics(model, x)
    assert [s["layer"] for s in stats] == [layer.name for layer in model.layers[1:]]
    h = np.tanh(x @ model.layers[1].kernel.data + model.layers[1].bias.data)
    assert stats[0]["std"] == pytest.approx(float(h.std()), rel=1e-5)
    assert stats[0]["mean"] == pytest.approx(float(h.mean()), rel=1e-4, abs=1e-6)
    r = np.maximum(h @ model.layers[2].kernel.data + model.layers[2].bias.data, 0)
    np.testing.assert_allclose(stats[1]["values"], r, rtol=1e-5, atol=1e-6)
    assert stats[1]["mean"] == pytest.approx(float(r.mean()), rel=1e-5)
    assert stats[1]["std"] == pytest.approx(float(r.std()), rel=1e-5)
    fig = plot.plot_activation_stats(stats)
    assert len(fig.axes) == 2 + 2


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
