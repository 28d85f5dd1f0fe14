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
    assert max(read) == 40  # never the 400 rows at once: 16-row batches, 31-row scans, the
    # 40 validation rows (validation_split 0.1) in one evaluation batch
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
