"""lr_find: the learning-rate range test of Smith (2017)."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.layers import Dense, Input


def build(learning_rate=0.01):
    model = nl.Sequential([Input(2), Dense(16, activation="tanh"),
                           Dense(2, activation="softmax")], seed=0)
    model.compile(nl.optimizers.SGD(learning_rate), "sparse_categorical_crossentropy")
    return model


@pytest.fixture(scope="module")
def data():
    """Two Gaussian clouds, easy to separate: the loss has room to fall."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 640)
    x = rng.normal(0, 0.7, (640, 2)) + np.where(y[:, None] == 1, 1.0, -1.0)
    return x.astype("float32"), y


@pytest.fixture(scope="module")
def found(data):
    model = build()
    model.build((2,))
    before = [w.copy() for w in model.get_weights()]
    optimizer = model.optimizer
    result = nl.lr_find(model, *data, start_lr=1e-4, end_lr=1e3, steps=80)
    return model, before, optimizer, result


def test_the_model_and_its_optimizer_are_left_as_they_were(found):
    model, before, optimizer, _ = found
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    assert model.optimizer is optimizer
    assert optimizer.iterations == 0 and optimizer.learning_rate == 0.01
    assert not model.stop_training


def test_rates_grow_geometrically_and_the_loss_diverges_at_the_end(found):
    result = found[3]
    rates = result.learning_rates
    assert rates[0] == pytest.approx(1e-4)
    ratios = rates[1:] / rates[:-1]
    np.testing.assert_allclose(ratios, (1e3 / 1e-4) ** (1 / 79))
    assert result.diverged and len(rates) < 80            # a rate of 1000 blows up
    assert len(result.losses) == len(rates) == len(result.smoothed_losses)
    start = result.smoothed_losses[0]
    assert abs(result.smoothed_losses[5] - start) < 0.05 * start   # flat while tiny
    assert np.nanmin(result.smoothed_losses) < 0.8 * start          # then it falls


def test_the_suggestion_is_on_the_falling_part_and_trains_well(found, data):
    result = found[3]
    assert 1e-4 < result.suggestion <= result.min_loss_rate < 1e3
    k = int(np.argmin(np.abs(result.learning_rates - result.suggestion)))
    assert result.smoothed_losses[k] < result.smoothed_losses[0]
    final = {}
    for rate in (1e-4, result.suggestion):
        history = build(rate).fit(*data, epochs=5, batch_size=32, verbose=0, seed=0)
        final[rate] = history.history["loss"][-1]
    assert final[result.suggestion] < 0.8 * final[1e-4]


def test_deterministic_given_a_seed(data):
    a = nl.lr_find(build(), *data, steps=30, end_lr=1.0)
    b = nl.lr_find(build(), *data, steps=30, end_lr=1.0)
    np.testing.assert_array_equal(a.losses, b.losses)


def test_bad_arguments_and_an_uncompiled_model(data):
    with pytest.raises(ValueError, match="start_lr < end_lr"):
        nl.lr_find(build(), *data, start_lr=1.0, end_lr=0.1)
    model = nl.Sequential([Input(2), Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match="compiled"):
        nl.lr_find(model, *data)


def test_the_figure(found):
    pytest.importorskip("matplotlib")
    fig = found[3].plot()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "learning rate" in ax.get_xlabel()
    assert "suggestion" in " ".join(t.get_text() for t in ax.get_legend().get_texts())
