"""nnlearn train on a memory-mapped .npy file."""

import numpy as np
import pytest

import nnlearn as nl
from nnlearn import cli
from nnlearn.cli import run


def _npy(tmp_path, n=400):
    X, y = nl.datasets.make_circle(n, noise=0.05, random_state=0)
    X = np.column_stack([X * 3 + 5, np.ones(n)])  # a constant column: scale 1
    path = tmp_path / "rings.npy"
    np.save(path, np.column_stack([X[:, 0], y, X[:, 1:]]))  # the target in column 1
    return path, X, y


def test_train_on_a_npy_file_reads_it_memory_mapped_and_standardises_it(tmp_path, capsys,
                                                                      monkeypatch):
    path, X, y = _npy(tmp_path)
    monkeypatch.setattr(cli, "MAX_SCAN_BYTES", 1000)  # the scaling over many chunks
    from nnlearn.data import adapters

    # two readers (one per core the step leaves: how many depends on the machine), so
    # a read is a share of the queue smaller than the 360 training rows
    monkeypatch.setattr(adapters, "LAZY_WORKERS", 2)
    read = []
    original = cli.NpyFeatures.__getitem__

    def spy(self, rows):
        block = original(self, rows)
        read.append(len(block))
        return block

    monkeypatch.setattr(cli.NpyFeatures, "__getitem__", spy)
    out = tmp_path / "rings.nnlearn"
    assert run(["train", str(path), "--target", "1", "--hidden", "16", "--epochs", "40",
                "--batch-size", "16", "--out", str(out), "--verbose", "0"]) == 0
    from nnlearn.data import adapters

    # never the 400 rows at once: 31-row scans, the 40 validation rows (validation_split
    # 0.1) in one evaluation batch, and 16-row batches read several at a time (a share
    # of the read-ahead queue: LazyArrayAdapter.group_size)
    per_read = adapters.LAZY_QUEUE_SIZE // (adapters.LAZY_WORKERS + 1)
    assert max(read) == max(40, per_read * 16) < 360
    model = nl.load_model(out)
    meta = model.metadata
    assert meta["task"] == "classification" and meta["target"] == "column_1"
    assert meta["features"] == ["column_0", "column_2", "column_3"]
    np.testing.assert_allclose(meta["scaler"]["mean"], X.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(meta["scaler"]["scale"], [*X[:, :2].std(axis=0), 1.0],
                               rtol=1e-12)
    scaled = ((X - meta["scaler"]["mean"]) / meta["scaler"]["scale"]).astype(np.float32)
    accuracy = (model.predict(scaled).argmax(axis=1) == y).mean()
    assert accuracy > 0.9
    assert "trained 40 epochs on 400 rows" in capsys.readouterr().out


@pytest.mark.parametrize("target, array, message", [
    ("ring", None, "a .npy file has no column names; give the target's column number"),
    ("7", None, "--target 7: "),
    (None, np.arange(5.0), "expected a 2-D array of at least 2 rows and 2 columns"),
    (None, np.array([["a", "b"], ["c", "d"]]), "expected numbers; got dtype <U1"),
    (None, np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 0.0]]),
     "feature column 0 holds nan at row 1"),
])
def test_a_bad_npy_file_is_one_line_naming_the_problem(tmp_path, capsys, target, array,
                                                       message):
    path = tmp_path / "data.npy"
    np.save(path, np.column_stack([np.arange(30.0), np.arange(30) % 2]) if array is None
            else array)
    argv = ["train", str(path), "--out", str(tmp_path / "m.nnlearn"), "--epochs", "1"]
    assert run(argv + (["--target", target] if target else [])) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err
    assert not (tmp_path / "m.nnlearn").exists()


def _trained_on_npy(tmp_path, n=400):
    path, X, y = _npy(tmp_path, n)
    out = tmp_path / "rings.nnlearn"
    assert run(["train", str(path), "--target", "1", "--hidden", "8", "--epochs", "5",
                "--out", str(out), "--verbose", "0"]) == 0
    model = nl.load_model(out)
    meta = model.metadata
    scaled = ((X - meta["scaler"]["mean"]) / meta["scaler"]["scale"]).astype(np.float32)
    return path, out, model, scaled, y


def _reads(monkeypatch):
    """The number of rows of each read of a .npy file's features."""
    read = []
    original = cli.NpyFeatures.__getitem__

    def spy(self, rows):
        block = original(self, rows)
        read.append(len(block))
        return block

    monkeypatch.setattr(cli.NpyFeatures, "__getitem__", spy)
    monkeypatch.setattr(cli, "MAX_SCAN_BYTES", 1000)  # the range check over many chunks
    return read


def test_evaluate_and_predict_read_a_npy_file_memory_mapped(tmp_path, capsys, monkeypatch):
    path, out, model, scaled, y = _trained_on_npy(tmp_path, n=2500)
    capsys.readouterr()
    read = _reads(monkeypatch)
    assert run(["evaluate", str(out), str(path)]) == 0
    loss, accuracy = model.evaluate(scaled, y, batch_size=1024)
    assert capsys.readouterr().out.strip() == f"loss: {loss:.4f}, accuracy: {accuracy:.4f}"
    assert 0 < max(read) <= 1024  # batches of 1024 rows, never the 2500 at once
    read.clear()
    labels = np.array(model.metadata["classes"])[model.predict(scaled).argmax(axis=1)]
    for data in (path, tmp_path / "features.npy"):  # the training layout, or features only
        if data != path:
            np.save(data, np.load(path)[:, [0, 2, 3]])
        assert run(["predict", str(out), str(data), "--out", str(tmp_path / "p.csv")]) == 0
        written = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
        assert np.array_equal(written, labels.astype(float))
        assert 0 < max(read) <= 1024


def test_a_model_trained_on_a_csv_evaluates_a_npy_of_its_features_then_the_target(
        tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] - X[:, 2] > 0).astype(int)
    table = np.column_stack([X, y])
    csv = tmp_path / "data.csv"
    np.savetxt(csv, table, delimiter=",", header="a,b,c,label", comments="", fmt="%.17g")
    out = tmp_path / "m.nnlearn"
    assert run(["train", str(csv), "--target", "label", "--epochs", "3", "--out", str(out),
                "--verbose", "0"]) == 0
    np.save(tmp_path / "data.npy", table)
    capsys.readouterr()
    assert run(["evaluate", str(out), str(csv)]) == 0
    from_csv = capsys.readouterr().out
    assert run(["evaluate", str(out), str(tmp_path / "data.npy")]) == 0
    assert capsys.readouterr().out == from_csv and "accuracy" in from_csv


@pytest.mark.parametrize("command, array, message", [
    ("evaluate", lambda t: t[:, [0, 2, 3]], "3 columns; the model takes features at columns "
                                            "[0, 2, 3], the target at 1"),
    ("predict", lambda t: t[:, :2], "2 columns; the model takes features at columns "
                                    "[0, 2, 3], the target at 1 (or only the 3 feature"),
    ("predict", lambda t: np.where(np.arange(4) == 2, np.nan, t),
     "feature column 2 holds nan at row 0"),
    ("evaluate", lambda t: np.where((np.arange(len(t)) == 5)[:, None] & (np.arange(4) == 0),
                                    1e300, t), "column column_0, row 5: 1e+300 is "),
    ("evaluate", lambda t: t.astype(str), "expected numbers; got dtype <U"),
])
def test_a_bad_npy_file_to_evaluate_or_predict_is_one_line(tmp_path, capsys, monkeypatch,
                                                           command, array, message):
    path, out, _, _, _ = _trained_on_npy(tmp_path)
    bad = tmp_path / "bad.npy"
    np.save(bad, array(np.load(path)))
    capsys.readouterr()
    assert run([command, str(out), str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err, err


def test_a_model_without_column_names_takes_its_features_then_the_target(tmp_path, capsys):
    path, out, model, _, _ = _trained_on_npy(tmp_path)
    capsys.readouterr()
    assert run(["evaluate", str(out), str(path)]) == 0
    expected = capsys.readouterr().out
    model.metadata = {k: v for k, v in model.metadata.items()
                      if k not in ("features", "target")}  # as the playground saves
    model.save(tmp_path / "unnamed.nnlearn")
    reordered = tmp_path / "reordered.npy"
    np.save(reordered, np.load(path)[:, [0, 2, 3, 1]])  # the features, then the target
    assert run(["evaluate", str(tmp_path / "unnamed.nnlearn"), str(reordered)]) == 0
    assert capsys.readouterr().out == expected
    assert run(["evaluate", str(tmp_path / "unnamed.nnlearn"), str(path.parent /
                                                                   "rings.npy")]) == 0
    assert capsys.readouterr().out != expected  # the target read from the wrong column
