"""Model files written by release 0.1 (tests/fixtures/release_0_1, made by its make.py)
still load with the current code: the same predictions, the same optimizer state, and
training goes on from it."""

import os

import numpy as np
import pytest

import nnlearn as nl

HERE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "release_0_1")
NAMES = sorted(name[:-4] for name in os.listdir(HERE) if name.endswith(".nnl"))
EXPECTED = np.load(os.path.join(HERE, "expected.npz"))


def test_every_fixture_is_listed():
    assert len(NAMES) == 9
    assert {key.split("/")[0] for key in EXPECTED.files} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_release_file_loads_with_its_predictions_and_optimizer_state(name):
    model = nl.load_model(os.path.join(HERE, f"{name}.nnl"))
    x = EXPECTED[f"{name}/x"]
    np.testing.assert_allclose(model.predict(x, verbose=0), EXPECTED[f"{name}/predictions"],
                               rtol=1e-6, atol=1e-7)
    state = model.optimizer.get_state()
    stored = sorted((key for key in EXPECTED.files if key.startswith(f"{name}/state_")),
                    key=lambda key: int(key.rsplit("_", 1)[1]))
    assert len(state) == len(stored) > 0
    for array, key in zip(state, stored):
        np.testing.assert_array_equal(np.asarray(array), EXPECTED[key])


@pytest.mark.parametrize("name", NAMES)
def test_training_goes_on_from_a_release_file(name):
    model = nl.load_model(os.path.join(HERE, f"{name}.nnl"))
    x = EXPECTED[f"{name}/x"]
    before = model.predict(x, verbose=0)
    y = (np.arange(len(x)) % 3 if model.loss.name.startswith("sparse")
         else np.zeros((len(x), 1), np.float32))
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, seed=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(model.predict(x, verbose=0), before)
