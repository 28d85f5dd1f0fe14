"""Callbacks and resumable training."""

import csv

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import callbacks as C
from nnlearn.layers import Dense, Dropout


def data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(np.int64)
    return x, y


def model(optimizer="adam", dropout=0.0, seed=0):
    layers = [Dense(16, activation="relu")]
    if dropout:
        layers.append(Dropout(dropout))
    m = nl.Sequential(layers + [Dense(2, activation="softmax")], seed=seed)
    m.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return m


def test_resume_from_a_checkpoint_is_bit_for_bit(tmp_path):
    """3 epochs, save, load, 2 more == 5 epochs in one go (same seed), with dropout and
    Adam's state in play."""
    x, y = data()
    straight = model(dropout=0.3)
    straight.fit(x, y, epochs=5, batch_size=32, seed=7, verbose=0)
    first = model(dropout=0.3)
    first.fit(x, y, epochs=3, batch_size=32, seed=7, verbose=0)
    first.save(tmp_path / "ckpt.nnl")
    resumed = nl.load_model(tmp_path / "ckpt.nnl")
    history = resumed.fit(x, y, epochs=5, initial_epoch=3, batch_size=32, seed=7, verbose=0)
    assert history.epoch == [3, 4]
    for a, b in zip(straight.get_weights(), resumed.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_divergence_guard_stops_a_too_high_learning_rate(capsys):
    x, y = data()
    m = model(optimizer=nl.optimizers.SGD(learning_rate=50.0))
    history = m.fit(x, y, epochs=20, batch_size=16, verbose=2,
                    callbacks=[C.DivergenceGuard(factor=3.0)])
    out = capsys.readouterr().out
    assert len(history.epoch) < 20
    assert "diverged" in out and "learning rate 50 is probably too high" in out
    assert "nan" not in out.lower().replace("terminating", "")
    assert m.stop_reason.kind is C.StopKind.DIVERGED
    assert str(m.stop_reason).startswith("training diverged")


def test_terminate_on_nan():
    x, y = data()
    m = nl.Sequential([Dense(8, activation="relu"), Dense(1)], seed=0)
    m.compile(optimizer=nl.optimizers.SGD(learning_rate=1e3), loss="mse")
    with np.errstate(all="ignore"):  # float32 overflows on purpose
        history = m.fit(x, y.astype(np.float32) * 100, epochs=50, batch_size=10, verbose=0,
                        callbacks=[C.TerminateOnNaN()])
    assert len(history.epoch) < 50 and m.stop_reason.kind is C.StopKind.NOT_FINITE
    assert "invalid loss" in str(m.stop_reason)


def test_early_stopping_restores_the_best_weights():
    x, y = data()
    x_val, y_val = data(100, seed=1)
    y_val = 1 - y_val  # validation labels flipped: val_loss worsens as training improves
    m = model()
    stopper = C.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    weights_per_epoch = []

    class Record(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            weights_per_epoch.append(self.model.get_weights())

    history = m.fit(x, y, epochs=30, validation_data=(x_val, y_val), verbose=0,
                    callbacks=[Record(), stopper])
    assert len(history.epoch) == stopper.stopped_epoch + 1 < 30
    best = int(np.argmin(history.history["val_loss"]))
    assert best == stopper.best_epoch
    for a, b in zip(m.get_weights(), weights_per_epoch[best]):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_needs_a_logged_monitor():
    x, y = data()
    with pytest.raises(ValueError, match="val_loss.*not among the logged values"):
        model().fit(x, y, epochs=2, verbose=0, callbacks=[C.EarlyStopping()])


def test_reduce_lr_on_plateau_only_when_the_loss_stops_decreasing():
    x, y = data()
    m = model(optimizer=nl.optimizers.SGD(0.1))
    history = m.fit(x, y, epochs=6, verbose=0, shuffle=False,
                    callbacks=[C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0)])
    losses = history.history["loss"]
    assert all(b < a - 1e-4 for a, b in zip(losses, losses[1:]))  # improves every epoch ...
    assert m.optimizer.learning_rate == 0.1                        # ... so it is never cut
    assert history.history["learning_rate"] == [0.1] * 6
    m2 = model(optimizer=nl.optimizers.SGD(0.1))
    history = m2.fit(x, y, epochs=6, verbose=0, shuffle=False,
                     callbacks=[C.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                                    min_delta=10.0)])  # never "improves"
    # epoch 0 sets the best; epochs 1..5 each halve the rate
    assert m2.optimizer.learning_rate == pytest.approx(0.1 * 0.5 ** 5)
    assert history.history["learning_rate"][0] == pytest.approx(0.1)


def test_learning_rate_scheduler_sets_each_epochs_rate():
    x, y = data()
    m = model(optimizer=nl.optimizers.SGD(0.1))
    seen = []

    class Watch(C.Callback):
        def on_epoch_end(self, epoch, logs=None):
            seen.append(self.model.optimizer.learning_rate)

    m.fit(x, y, epochs=3, verbose=0,
          callbacks=[C.LearningRateScheduler(lambda epoch, lr: 0.1 / (epoch + 1)), Watch()])
    assert seen == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_model_checkpoint_saves_only_improvements(tmp_path):
    x, y = data()
    x_val, y_val = data(100, seed=1)
    path = tmp_path / "best-{epoch:02d}.nnl"
    m = model()
    history = m.fit(x, y, epochs=6, validation_data=(x_val, y_val), verbose=0,
                    callbacks=[C.ModelCheckpoint(path, monitor="val_loss",
                                                 save_best_only=True)])
    saved = sorted(p.name for p in tmp_path.iterdir())
    losses = history.history["val_loss"]
    improving = [i for i in range(6) if losses[i] == min(losses[: i + 1])]
    assert saved == [f"best-{i + 1:02d}.nnl" for i in improving]
    best = nl.load_model(tmp_path / saved[-1])
    assert best.evaluate(x_val, y_val)[0] == pytest.approx(min(losses), rel=1e-6)


def test_csv_logger(tmp_path):
    x, y = data()
    path = tmp_path / "log.csv"
    model().fit(x, y, epochs=3, verbose=0, callbacks=[C.CSVLogger(path)])
    rows = list(csv.DictReader(open(path)))
    assert [r["epoch"] for r in rows] == ["0", "1", "2"]
    assert set(rows[0]) == {"epoch", "loss", "accuracy"}
    model().fit(x, y, epochs=2, verbose=0, callbacks=[C.CSVLogger(path, append=True)])
    assert len(list(csv.DictReader(open(path)))) == 5


def test_early_stopping_waits_quietly_when_another_callback_cut_the_epoch_short():
    x, y = data()
    m = model(optimizer=nl.optimizers.SGD(learning_rate=50.0))
    early = C.EarlyStopping(monitor="val_loss", patience=2)
    history = m.fit(x, y, epochs=20, batch_size=16, verbose=0, validation_split=0.2,
                    callbacks=[C.DivergenceGuard(factor=3.0), early])
    assert m.stop_reason.kind is C.StopKind.DIVERGED and len(history.epoch) < 20
    assert "val_loss" not in history.history or len(history.history["val_loss"]) < len(
        history.epoch)


def test_checkpoint_of_weights_only(tmp_path):
    x, y = data()
    m = model()
    m.fit(x, y, epochs=2, verbose=0,
          callbacks=[C.ModelCheckpoint(tmp_path / "w-{epoch}.weights", monitor="loss",
                                       save_weights_only=True)])
    fresh = model()
    fresh.build(x.shape[1:])
    fresh.load_weights(tmp_path / "w-2.weights")
    np.testing.assert_array_equal(fresh.predict(x), m.predict(x))


@pytest.mark.parametrize("patience, stops_at", [(0, 3), (1, 3), (3, 5)])
def test_early_stopping_patience_counts_epochs_without_improvement_as_keras(patience,
                                                                              stops_at):
    """val_loss improves for epochs 0-2, then never again: patience=3 stops after the third
    epoch without improvement (epoch index 5), as Keras's EarlyStopping does."""
    class Fake:
        stop_training = False
        stop_reason = None

        def stop(self, reason):
            self.stop_training, self.stop_reason = True, reason

    stopper = C.EarlyStopping(monitor="val_loss", patience=patience)
    stopper.set_model(Fake())
    stopper.on_train_begin()
    for epoch, value in enumerate([3.0, 2.0, 1.0, 1.5, 1.5, 1.5, 1.5, 1.5]):
        stopper.on_epoch_end(epoch, {"val_loss": value})
        if stopper.model.stop_training:
            break
    assert stopper.stopped_epoch == stops_at
    assert f"for {stops_at - 2} epochs" in str(stopper.model.stop_reason)
