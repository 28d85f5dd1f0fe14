"""The nnlearn command: train/evaluate/predict/info on a CSV with a string target,
experiments, and one-line errors with exit status 2 for user mistakes."""

import csv
import errno
import json
import subprocess
import sys

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.cli import run


@pytest.fixture
def circle_csv(tmp_path):
    X, y = nl.datasets.make_circle(300, noise=0.05, random_state=0)
    path = tmp_path / "rings.csv"
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["x1", "x2", "ring"])
        for (a, b), label in zip(X, np.array(["outer", "inner"])[y]):
            writer.writerow([f"{a:.5f}", f"{b:.5f}", label])
    return path


def one_line_error(capsys, argv, *fragments):
    assert run(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("Error: "), err
    for fragment in fragments:
        assert fragment in err, err
    return err


def test_train_predict_evaluate_info_with_string_labels(circle_csv, tmp_path, capsys):
    model_path = tmp_path / "rings.nnlearn"
    assert run(["train", str(circle_csv), "--target", "ring", "--hidden", "16,16",
                "--epochs", "60", "--learning-rate", "0.01", "--verbose", "0",
                "--out", str(model_path)]) == 0
    assert "saved" in capsys.readouterr().out
    model = nl.load_model(model_path)
    assert model.metadata["classes"] == ["inner", "outer"]
    assert model.metadata["features"] == ["x1", "x2"]

    out = tmp_path / "predictions.csv"
    assert run(["predict", str(model_path), str(circle_csv), "--out", str(out),
                "--proba"]) == 0
    with open(out) as f:
        rows = list(csv.reader(f))
    with open(circle_csv) as f:
        truth = [r[2] for r in list(csv.reader(f))[1:]]
    assert rows[0] == ["ring", "p_inner", "p_outer"]
    predicted = [r[0] for r in rows[1:]]
    assert set(predicted) <= {"inner", "outer"} and len(predicted) == 300
    agreement = np.mean(np.array(predicted) == np.array(truth))
    assert agreement > 0.9
    np.testing.assert_allclose([float(r[1]) + float(r[2]) for r in rows[1:]], 1, atol=1e-5)

    capsys.readouterr()
    assert run(["evaluate", str(model_path), str(circle_csv)]) == 0
    reported = dict(part.split(": ") for part in capsys.readouterr().out.strip().split(", "))
    assert float(reported["accuracy"]) == pytest.approx(agreement, abs=1e-4)

    assert run(["info", str(model_path)]) == 0
    text = capsys.readouterr().out
    assert "Total params: 354" in text and "classes: inner, outer" in text


def test_integer_labels_come_back_as_written_and_a_missing_file_is_named_first(tmp_path,
                                                                               capsys):
    """A CSV's 0/1 labels are read as numbers; the model keeps them as the integers they
    are, so predict writes 0 and 1 (not 0.0 and 1.0) and evaluate still matches them."""
    X, y = nl.datasets.make_circle(120, noise=0.05, random_state=0)
    path = tmp_path / "ints.csv"
    path.write_text("x1,x2,label\n" + "".join(f"{a:.4f},{b:.4f},{t}\n"
                                               for (a, b), t in zip(X, y)))
    model_path, out = tmp_path / "m.nnlearn", tmp_path / "p.csv"
    assert run(["train", str(path), "--target", "label", "--epochs", "2", "--verbose", "0",
                "--out", str(model_path)]) == 0
    assert nl.load_model(model_path).metadata["classes"] == [0, 1]
    assert run(["predict", str(model_path), str(path), "--out", str(out)]) == 0
    assert set(out.read_text().split()[1:]) <= {"0", "1"}
    capsys.readouterr()
    assert run(["evaluate", str(model_path), str(path)]) == 0
    assert "accuracy" in capsys.readouterr().out
    one_line_error(capsys, ["train", str(tmp_path / "missing.csv")], "no such file",
                   "missing.csv")


def test_predict_on_a_file_without_the_target_column(circle_csv, tmp_path, capsys):
    model_path = tmp_path / "m.nnlearn"
    run(["train", str(circle_csv), "--target", "ring", "--epochs", "2", "--verbose", "0",
         "--out", str(model_path)])
    features_only = tmp_path / "new.csv"
    lines = circle_csv.read_text().splitlines()
    # columns in another order, no target: matched by name
    features_only.write_text("\n".join(",".join(line.split(",")[1::-1]) for line in lines[:6]))
    assert run(["predict", str(model_path), str(features_only), "--out",
                str(tmp_path / "p.csv")]) == 0
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 6


def test_train_regression_from_npz_and_a_config_file(tmp_path, capsys):
    X, y = nl.datasets.make_plane(200, random_state=0)
    np.savez(tmp_path / "plane.npz", x=X, y=y)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"hidden": [8], "activation": "tanh", "epochs": 3,
                                  "optimizer": "sgd"}))
    model_path = tmp_path / "plane.nnlearn"
    assert run(["train", str(tmp_path / "plane.npz"), "--config", str(config), "--epochs", "5",
                "--verbose", "0", "--out", str(model_path)]) == 0
    model = nl.load_model(model_path)
    assert model.metadata["task"] == "regression" and model.metadata["epochs"] == 5
    assert [layer.units for layer in model.layers if hasattr(layer, "units")] == [8, 1]
    bad = tmp_path / "bad.json"
    bad.write_text('{"hiden": [3]}')
    one_line_error(capsys, ["train", str(tmp_path / "plane.npz"), "--config", str(bad)],
                   "unknown option", "hiden")


def test_user_mistakes_give_one_line_and_status_2(circle_csv, tmp_path, capsys):
    one_line_error(capsys, ["train", str(tmp_path / "missing.csv"), "--target", "ring"],
                   "no such file")
    one_line_error(capsys, ["train", str(circle_csv), "--target", "rign"],
                   "no column 'rign'", "Did you mean 'ring'")
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,colour,ring\n1,red,a\n2,blue,b\n")
    one_line_error(capsys, ["train", str(bad), "--target", "ring"],
                   "'colour' is not numeric", "line 2")
    one_line_error(capsys, ["train", str(circle_csv)], "--target is required")
    one_line_error(capsys, ["train", str(circle_csv), "--target", "ring", "--activation",
                            "rleu"], "Did you mean 'relu'")
    one_line_error(capsys, ["train", str(circle_csv), "--target", "ring", "--epochs", "-1"],
                   "--epochs")
    one_line_error(capsys, ["train", str(circle_csv), "--target", "ring", "--hidden", "3,x"],
                   "--hidden")
    one_line_error(capsys, ["evaluate", str(tmp_path / "none.nnlearn"), str(circle_csv)],
                   "no such model file")
    one_line_error(capsys, ["info", str(circle_csv)], "not a readable nnlearn model file")
    one_line_error(capsys, ["experiments", "run", "hebb"], "unknown experiment")
    one_line_error(capsys, ["frobnicate"], "No such command")


def test_experiments_list_and_run(tmp_path, capsys):
    assert run(["experiments", "list"]) == 0
    listed = capsys.readouterr().out
    assert all(name in listed for name in nl.experiments.EXPERIMENTS)
    assert run(["experiments", "run", "hebb-and", "--out", str(tmp_path), "--seed", "1"]) == 0
    assert "(2 2 -2)" in capsys.readouterr().out
    numbers = json.loads((tmp_path / "numbers.json").read_text())
    assert numbers["predictions"] == [1, -1, -1, -1]
    assert (tmp_path / "lines.png").stat().st_size > 5000


def test_the_installed_command_and_help():
    result = subprocess.run([sys.executable, "-m", "nnlearn", "--help"], capture_output=True,
                            text=True)
    assert result.returncode == 0
    for command in ("demo", "experiments", "train", "evaluate", "predict", "info", "export"):
        assert command in result.stdout
    result = subprocess.run([sys.executable, "-m", "nnlearn", "train", "--bogus"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0


# -- one error policy: every user mistake is one line naming the file or argument, status 2 --
@pytest.mark.parametrize("text, fragments", [
    ("[1, 2, 3]", ["expected an object of options", "got list"]),
    ("null", ["expected an object of options", "got null"]),
    ('{"epochs": "ten"}', ["option 'epochs' must be a positive integer", "'ten'"]),
    ('{"hidden": [8, -1]}', ["option 'hidden' must be a list of positive integers"]),
    ('{"learning_rate": 0}', ["option 'learning_rate' must be a positive number"]),
    ('{"validation_split": 1.5}', ["option 'validation_split' must be a number in [0, 1)"]),
    ('{"seed": true}', ["option 'seed' must be a non-negative integer"]),
    ('{"epochs": 1' + "0" * 5000 + "}", ["not valid JSON"]),
    ("[" * 100_000, ["nested too deeply"]),
    ("{not json", ["not valid JSON"]),
])
def test_a_bad_config_file_is_one_line_naming_it(circle_csv, tmp_path, capsys, text, fragments):
    config = tmp_path / "config.json"
    config.write_text(text)
    one_line_error(capsys, ["train", str(circle_csv), "--target", "ring", "--config",
                            str(config), "--out", str(tmp_path / "m.nnlearn")],
                   str(config), *fragments)
    assert not (tmp_path / "m.nnlearn").exists()


def test_a_config_file_that_is_not_utf8_or_not_toml(circle_csv, tmp_path, capsys):
    latin = tmp_path / "latin.json"
    latin.write_bytes(b'{"activation": "t\xe9"}')
    one_line_error(capsys, ["train", str(circle_csv), "--target", "ring", "--config",
                            str(latin)], str(latin), "not UTF-8")
    toml = tmp_path / "config.toml"
    toml.write_text("epochs = = 3")
    one_line_error(capsys, ["train", str(circle_csv), "--target", "ring", "--config",
                            str(toml)], str(toml), "not valid TOML")


def test_training_that_diverges_exits_2_and_saves_nothing(circle_csv, tmp_path, capsys):
    out = tmp_path / "m.nnlearn"
    err = one_line_error(capsys, ["train", str(circle_csv), "--target", "ring",
                                  "--learning-rate", "1e6", "--optimizer", "sgd", "--epochs",
                                  "20", "--verbose", "0", "--out", str(out)],
                         "training diverged", "--learning-rate", "nothing was saved")
    assert "1e+06" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rings.csv"]


def test_an_output_path_that_cannot_be_written(circle_csv, tmp_path, capsys, monkeypatch):
    (tmp_path / "afile").write_text("x")
    one_line_error(capsys, ["train", str(circle_csv), "--target", "ring", "--epochs", "1",
                            "--out", str(tmp_path / "afile" / "m.nnlearn")],
                   "--out", "is not a directory")
    read_only = tmp_path / "ro.nnlearn"
    read_only.write_bytes(b"keep")
    read_only.chmod(0o444)
    one_line_error(capsys, ["train", str(circle_csv), "--target", "ring", "--epochs", "1",
                            "--out", str(read_only)], "--out", "read-only")
    assert read_only.read_bytes() == b"keep"
    model_path = tmp_path / "m.nnlearn"
    assert run(["train", str(circle_csv), "--target", "ring", "--epochs", "1", "--verbose",
                "0", "--out", str(model_path)]) == 0
    one_line_error(capsys, ["predict", str(model_path), str(circle_csv), "--out",
                            str(tmp_path / "afile" / "p.csv")], "--out", "is not a directory")
    before = sorted(p.name for p in tmp_path.iterdir())

    def full_disk(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "savez", full_disk)
    one_line_error(capsys, ["train", str(circle_csv), "--target", "ring", "--epochs", "1",
                            "--verbose", "0", "--out", str(tmp_path / "full.nnlearn")],
                   f"--out {tmp_path / 'full.nnlearn'}", "No space left on device")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no file, no temporary


def test_a_validation_split_that_holds_out_nothing(tmp_path, capsys):
    X, y = nl.datasets.make_plane(30, random_state=0)
    np.savez(tmp_path / "plane.npz", x=X, y=y)
    one_line_error(capsys, ["train", str(tmp_path / "plane.npz"), "--validation-split",
                            "0.01", "--epochs", "1", "--out", str(tmp_path / "m.nnlearn")],
                   "validation_split=0.01 of 30 samples holds out 0")


def test_hostile_or_inconsistent_model_files_are_one_line(circle_csv, tmp_path, capsys):
    import hostile

    cases = hostile.cases(bomb_bytes=2**24)
    for name in ("wide_input_1e6", "pickled_weight", "manifest_nested_100k", "deflate_bomb",
                 "traversal_name", "metadata_list"):
        data, fragment = cases[name]
        path = tmp_path / f"{name}.nnlearn"
        path.write_bytes(data)
        for command in (["info", str(path)], ["evaluate", str(path), str(circle_csv)]):
            one_line_error(capsys, command, str(path), fragment)
    model = nl.Sequential([nl.layers.Input(2), nl.layers.Dense(2, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    for metadata, fragment in [
        ({"features": "x1,x2"}, "metadata.features must be a list of column names"),
        ({"features": ["x1"]}, "metadata.features must be 2 column names"),
        ({"task": "classification", "classes": "ab"}, "metadata.classes must be a list of 2"),
        ({"task": "clustering"}, "metadata.task must be classification or regression"),
        ({"scaler": {"mean": [0, 0], "scale": [1, 0]}}, "metadata.scaler must be"),
        ({"target": 3}, "metadata.target must be a column name"),
    ]:
        model.metadata = metadata
        path = tmp_path / "bad-metadata.nnlearn"
        model.save(path)
        one_line_error(capsys, ["predict", str(path), str(circle_csv), "--out",
                                str(tmp_path / "p.csv")], str(path), fragment)
    assert not (tmp_path / "p.csv").exists()


def test_csv_mistakes_through_the_command(tmp_path, capsys):
    duplicated = tmp_path / "dup.csv"
    duplicated.write_text("x1,x2,x1,ring\n1,2,3,a\n4,5,6,b\n")
    one_line_error(capsys, ["train", str(duplicated), "--target", "ring"],
                   "column 'x1' appears twice", "columns 1 and 3")
    huge = tmp_path / "huge.csv"
    huge.write_text("x1,ring\n" + "1" * 200_000 + ",a\n2,b\n")
    one_line_error(capsys, ["train", str(huge), "--target", "ring"], str(huge), "line 2",
                   "field larger than field limit")


def test_no_traceback_from_the_installed_command_for_a_hostile_file(tmp_path):
    import hostile

    path = tmp_path / "bomb.nnlearn"
    path.write_bytes(hostile.cases(bomb_bytes=2**24)["deflate_bomb"][0])
    result = subprocess.run([sys.executable, "-m", "nnlearn", "info", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().count("\n") == 0 and "zip bomb" in result.stderr


def test_plain_nnlearn_prints_its_help_and_succeeds():
    from click.testing import CliRunner

    from nnlearn.cli import main

    result = CliRunner().invoke(main, [])
    assert result.exit_code == 0 and "Commands:" in result.output and "Error" not in result.output


def test_predict_to_standard_output_and_info_in_words(tmp_path):
    from click.testing import CliRunner

    from nnlearn.cli import main

    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 2))
    data = tmp_path / "d.csv"
    rows = "\n".join(f"{a:.4f},{b:.4f},{'yes' if a + b > 0 else 'no'}" for a, b in x)
    data.write_text("a,b,label\n" + rows + "\n")
    runner = CliRunner()
    out = tmp_path / "m.nnlearn"
    result = runner.invoke(main, ["train", str(data), "--target", "label", "--out", str(out),
                                  "--epochs", "2", "--verbose", "0"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["predict", str(out), str(data), "--out", "-"])
    lines = result.output.strip().splitlines()
    assert result.exit_code == 0 and lines[0] == "label" and len(lines) == 41
    assert set(lines[1:]) <= {"yes", "no"}
    result = runner.invoke(main, ["info", str(out)])
    assert "activations: dense: relu" in result.output
    assert "optimizer: Adam(" in result.output and "{" not in result.output.split("loss:")[1]
