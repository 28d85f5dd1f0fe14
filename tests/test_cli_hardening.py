"""The command line against hostile input and careless use (issue 32, second round):
terminal escapes from a model file, standard output that is full or closed, predictions
that would overwrite their inputs, spreadsheet formulas in class labels, sizes that would
exhaust memory, values too large for float32, and training that diverges."""

import csv
import os
import subprocess
import sys

import numpy as np
import pytest

import nnlearn as nl
from nnlearn.cli import run


@pytest.fixture
def small_csv(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 2))
    path = tmp_path / "d.csv"
    rows = "\n".join(f"{a:.4f},{b:.4f},{'yes' if a + b > 0 else 'no'}" for a, b in x)
    path.write_text("a,b,label\n" + rows + "\n")
    return path


@pytest.fixture
def small_model(small_csv, tmp_path):
    path = tmp_path / "m.nnlearn"
    assert run(["train", str(small_csv), "--target", "label", "--epochs", "2", "--verbose",
                "0", "--out", str(path)]) == 0
    return path


def one_line_error(capsys, argv, *fragments):
    capsys.readouterr()
    assert run(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("Error: "), err
    for fragment in fragments:
        assert fragment in err, err
    return err


# The peak RSS of the process that runs it: VmHWM on Linux (a fresh count after exec,
# where getrusage's ru_maxrss may keep the forking parent's peak), else getrusage.
PEAK_RSS = """
import resource, sys
def peak_rss_mb():
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) // 1024
    except (OSError, StopIteration):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak // 2**20 if sys.platform == "darwin" else peak // 1024
"""


def command(*args, **kwargs):
    """The installed command in a fresh process (standard output as the test sets it)."""
    return subprocess.run([sys.executable, "-m", "nnlearn", *map(str, args)],
                          capture_output=kwargs.pop("capture_output", True), text=True,
                          **kwargs)


# -- item 13: terminal escape sequences from a model file ---------------------------------
def test_info_escapes_control_characters_from_the_model_file(small_model, tmp_path, capsys):
    model = nl.load_model(small_model)
    clear = "\x1b[2J\x1b[H"
    model.metadata["features"] = ["a" + clear, "b\rverified: signed by nnlearn\n"]
    model.metadata["classes"] = ["no\x07", "yes\u202e"]
    model.metadata["target"] = "label\x1b]0;title\x07"
    model.layers[-1].name = "out\x1b[31m"
    hostile_path = tmp_path / "escapes.nnlearn"
    model.save(hostile_path)
    capsys.readouterr()
    assert run(["info", str(hostile_path)]) == 0
    out = capsys.readouterr().out
    for raw in ("\x1b", "\x07", "\r", "\u202e"):
        assert raw not in out
    assert "\\x1b[2J" in out and "\\r" in out and "\\u202e" in out
    assert "verified: signed by nnlearn\n" not in out  # the fake line is not a line


# -- items 14 and 19: standard output ---------------------------------------------------------
def test_predict_prints_to_standard_output_without_out(small_model, small_csv, capsys):
    capsys.readouterr()
    assert run(["predict", str(small_model), str(small_csv)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "label" and len(lines) == 61 and set(lines[1:]) <= {"yes", "no"}


def test_predict_to_a_full_or_closed_standard_output_exits_2(small_model, small_csv):
    with open("/dev/full", "w") as full:
        result = command("predict", small_model, small_csv, stdout=full, stderr=subprocess.PIPE,
                         capture_output=False)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and result.stderr.startswith("Error: ")
    assert "standard output" in result.stderr and "No space left" in result.stderr

    closed = subprocess.run(f'"{sys.executable}" -m nnlearn predict "{small_model}" '
                            f'"{small_csv}" --out - >&-', shell=True, capture_output=False,
                            stderr=subprocess.PIPE, text=True)
    assert closed.returncode == 2 and "standard output" in closed.stderr, closed.stderr
    assert "Traceback" not in closed.stderr


@pytest.mark.parametrize("argv", [["experiments", "list"], ["predict", "MODEL", "DATA"]])
def test_a_reader_that_closes_the_pipe_ends_the_command_quietly(small_model, small_csv, argv):
    """``nnlearn ... | head -1``: the reader has gone (here: before the first write), the
    command stops without a message, with status 1 (click's convention)."""
    argv = [{"MODEL": small_model, "DATA": small_csv}.get(a, a) for a in argv]
    process = subprocess.Popen([sys.executable, "-m", "nnlearn", *map(str, argv)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()  # the reader is gone
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 1 and err == "", err


@pytest.mark.parametrize("what", ["info", "train"])
def test_any_command_on_a_full_standard_output_is_one_line(small_model, small_csv, tmp_path,
                                                            what):
    argv = {"info": ["info", small_model],  # the progress of training writes too
            "train": ["train", small_csv, "--target", "label", "--epochs", "1", "--out",
                      tmp_path / "new.nnlearn"]}[what]
    with open("/dev/full", "w") as full:
        result = command(*argv, stdout=full, stderr=subprocess.PIPE, capture_output=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: cannot write to standard output")
    assert result.stderr.count("\n") == 1 and "Exception ignored" not in result.stderr
    assert not (tmp_path / "new.nnlearn").exists()


# -- item 17: --out over an input, formula injection, --hidden, divergence ---------------------
def test_predict_refuses_to_overwrite_its_own_inputs(small_model, small_csv, capsys):
    data_before, model_before = small_csv.read_bytes(), small_model.read_bytes()
    one_line_error(capsys, ["predict", str(small_model), str(small_csv), "--out",
                            str(small_csv)], "--out", "the input data")
    one_line_error(capsys, ["predict", str(small_model), str(small_csv), "--out",
                            str(small_model)], "--out", "the model file")
    link = small_csv.parent / "alias.csv"
    link.symlink_to(small_csv)
    one_line_error(capsys, ["predict", str(small_model), str(small_csv), "--out", str(link)],
                   "--out", "the input data")
    assert small_csv.read_bytes() == data_before and small_model.read_bytes() == model_before
    one_line_error(capsys, ["train", str(small_csv), "--target", "label", "--out",
                            str(small_csv), "--epochs", "1"], "--out", "the input data")
    assert small_csv.read_bytes() == data_before


def test_class_labels_that_look_like_formulas_are_quoted_in_the_csv(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 2))
    labels = ["=cmd|' /C calc'!A0", "+SUM(1)", "-2+3", "@x", "plain", "-1.5"]
    data = tmp_path / "f.csv"
    with open(data, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["a", "b", "label"])
        for i, (a, b) in enumerate(x):
            writer.writerow([f"{a:.4f}", f"{b:.4f}", labels[i % len(labels)]])
    model_path, out = tmp_path / "m.nnlearn", tmp_path / "p.csv"
    assert run(["train", str(data), "--target", "label", "--epochs", "3", "--verbose", "0",
                "--out", str(model_path)]) == 0
    model = nl.load_model(model_path)
    model.layers[-1].bias.data[:] = [10.0 * (c == "=cmd|' /C calc'!A0")
                                     for c in model.metadata["classes"]]
    model.save(model_path)
    assert run(["predict", str(model_path), str(data), "--out", str(out), "--proba"]) == 0
    with open(out, newline="") as f:
        rows = list(csv.reader(f))
    cells = [cell for row in rows for cell in row]
    assert not any(cell[:1] in ("=", "+", "@") for cell in cells)
    assert "'=cmd|' /C calc'!A0" in {row[0] for row in rows[1:]}
    assert "p_-2+3" in rows[0]  # starts with "p": no formula


def test_which_labels_are_quoted():
    from nnlearn.cli import _csv_text

    assert [_csv_text(v) for v in ["=1+1", "+1x", "-2+3", "@SUM(A1)", "\t=1", "-1.5", "+2",
                                    "1e3", "plain", 3]] == \
        ["'=1+1", "'+1x", "'-2+3", "'@SUM(A1)", "'\t=1", "-1.5", "+2", "1e3", "plain", "3"]


@pytest.mark.parametrize("hidden", ["", " , ", ","])
def test_an_empty_hidden_option_is_refused(small_csv, tmp_path, capsys, hidden):
    one_line_error(capsys, ["train", str(small_csv), "--target", "label", "--hidden", hidden,
                            "--out", str(tmp_path / "m.nnlearn")], "--hidden",
                   "at least one layer size")
    assert not (tmp_path / "m.nnlearn").exists()


def test_huge_hidden_layers_are_refused_with_the_bound(small_csv, tmp_path, capsys):
    for hidden in ("1000000000000", "100000,100000", "5000000"):
        one_line_error(capsys, ["train", str(small_csv), "--target", "label", "--hidden",
                                hidden, "--out", str(tmp_path / "m.nnlearn")], "--hidden",
                       "at most")
    config = tmp_path / "c.json"
    config.write_text('{"hidden": [1000000000000]}')
    one_line_error(capsys, ["train", str(small_csv), "--target", "label", "--config",
                            str(config), "--out", str(tmp_path / "m.nnlearn")], "hidden",
                   "at most")


def test_huge_hidden_layer_from_the_installed_command_is_one_line(small_csv, tmp_path):
    result = command("train", small_csv, "--target", "label", "--hidden", "1000000000000",
                     "--out", tmp_path / "m.nnlearn")
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().count("\n") == 0


@pytest.mark.parametrize("optimizer", [None, "adam", "sgd"])
def test_a_huge_learning_rate_stops_exits_2_and_says_how_the_loss_grew(
        small_csv, tmp_path, capsys, optimizer):
    out = tmp_path / "m.nnlearn"
    argv = ["train", str(small_csv), "--target", "label", "--learning-rate", "1e6",
            "--epochs", "20", "--verbose", "0", "--out", str(out)]
    if optimizer:
        argv += ["--optimizer", optimizer]
    err = one_line_error(capsys, argv, "training diverged", "the loss grew from",
                         "nothing was saved", "--learning-rate")
    grew = err.split("the loss grew from ")[1].split()
    first, last = float(grew[0]), float(grew[2].rstrip(",;"))
    assert grew[1] == "to" and last > 3 * first
    assert not out.exists()


# -- items 15 and 17: sizes from the data ------------------------------------------------------
def test_a_csv_too_wide_to_save_is_refused_before_training(tmp_path, capsys):
    import hostile

    columns = 200_000
    data = tmp_path / "wide.csv"
    data.write_text(hostile.wide_csv(columns))
    err = one_line_error(capsys, ["train", str(data), "--target", "label", "--hidden", "1",
                                  "--epochs", "1", "--verbose", "0", "--out",
                                  str(tmp_path / "m.nnlearn")],
                         str(data), f"{columns:,} feature columns", "4,194,304")
    assert "Epoch" not in err and not (tmp_path / "m.nnlearn").exists()


def test_a_huge_csv_line_is_refused_in_bounded_memory(tmp_path):
    from nnlearn.datasets import tabular

    import hostile

    data = tmp_path / "line.csv"
    data.write_text(hostile.long_line_csv(80 * 2**20))  # one line of 80 MB
    code = ("import resource, sys\n"
            "from nnlearn.datasets.tabular import load_table\n"
            "try:\n"
            f"    load_table({str(data)!r}, target='label')\n"
            "except ValueError as err:\n"
            "    print(err)\n"
            "print(peak_rss_mb())\n")
    result = subprocess.run([sys.executable, "-c", PEAK_RSS + code], capture_output=True,
                            text=True)
    message, peak_mb = result.stdout.strip().rsplit("\n", 1)
    assert "line 2" in message and f"{tabular.MAX_LINE_CHARS:,}" in message, result
    assert int(peak_mb) < 200, peak_mb


# -- item 16: finite values beyond float32 -----------------------------------------------------
def test_finite_values_beyond_float32_are_named_as_such():
    model = nl.Sequential([nl.layers.Input(2), nl.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match=r"1e\+39 at index \(0, 0\).*float32.*3\.4"):
        model.fit(np.array([[1e39, 0.0], [1, 1]]), np.array([0.0, 1.0]), verbose=0)
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.fit(np.array([[np.inf, 0.0], [1, 1]]), np.array([0.0, 1.0]), verbose=0)
    with pytest.raises(ValueError, match=r"y holds -2e\+39 at index \(1,\), beyond the range "
                                         r"of float32"):
        model.fit(np.zeros((2, 2)), np.array([1.0, -2e39]), verbose=0)


def test_huge_finite_features_train_without_a_warning(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((60, 2))
    data = tmp_path / "big.csv"
    rows = "\n".join(f"{a * 1e300:.6g},{b * 1e39:.6g},{'y' if a + b > 0 else 'n'}"
                     for a, b in x)
    data.write_text("a,b,label\n" + rows + "\n")
    model_path = tmp_path / "m.nnlearn"
    result = command("train", data, "--target", "label", "--epochs", "2", "--verbose", "0",
                     "--out", model_path)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    result = command("predict", model_path, data)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert len(result.stdout.splitlines()) == 61


# -- item 17: fit's arguments ------------------------------------------------------------------
def test_fit_names_a_wrong_validation_split_or_callback():
    model = nl.Sequential([nl.layers.Input(2), nl.layers.Dense(1)])
    model.compile("sgd", "mse")
    x, y = np.zeros((10, 2)), np.zeros(10)
    with pytest.raises(TypeError, match=r"validation_split must be a number in \[0, 1\); "
                                        r"got '0\.2' \(str\)"):
        model.fit(x, y, validation_split="0.2", verbose=0)
    with pytest.raises(ValueError, match=r"validation_split must be a number in \[0, 1\); "
                                         "got 1.5"):
        model.fit(x, y, validation_split=1.5, verbose=0)
    with pytest.raises(TypeError, match=r"callbacks\[1\] must be a nnlearn.callbacks.Callback"
                                        r".*got 1 \(int\)"):
        model.fit(x, y, callbacks=[nl.callbacks.TerminateOnNaN(), 1], verbose=0)
    with pytest.raises(TypeError, match="callbacks must be a list"):
        model.fit(x, y, callbacks=nl.callbacks.TerminateOnNaN(), verbose=0)


def test_load_model_refuses_a_fifo_without_hanging(tmp_path):
    fifo = tmp_path / "model.nnlearn"
    os.mkfifo(fifo)
    code = ("import nnlearn as nl\n"
            "try:\n"
            f"    nl.load_model({str(fifo)!r})\n"
            "except ValueError as err:\n"
            "    print(err)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60)
    assert "not a regular file" in result.stdout, result
    one = command("info", fifo, timeout=60)
    assert one.returncode == 2 and "not a regular file" in one.stderr, one.stderr


# -- items 8 and 9: nested and growing layers in a model file ------------------------------
def test_nested_or_growing_layers_in_a_model_file_are_one_line(small_csv, tmp_path, capsys):
    import hostile

    cases = hostile.cases(bomb_bytes=2**20)
    for name in ("layers_nested_300", "zero_padding_6000", "same_pooling_5000"):
        data, fragment = cases[name]
        path = tmp_path / f"{name}.nnlearn"
        path.write_bytes(data)
        for argv in (["info", str(path)], ["predict", str(path), str(small_csv)]):
            one_line_error(capsys, argv, str(path), fragment)


def test_predict_names_a_feature_beyond_float32_after_scaling(small_model, tmp_path):
    data = tmp_path / "far.csv"
    data.write_text("a,b\n0.5,0.5\n1e39,0.2\n")
    result = command("predict", small_model, data)
    assert result.returncode == 2 and "RuntimeWarning" not in result.stderr, result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert "column 'a'" in result.stderr and "row 2" in result.stderr
    assert "float32" in result.stderr and "NaN or infinity" not in result.stderr


def test_labels_with_escape_sequences_are_escaped_on_a_terminal_only(small_model, small_csv,
                                                                     tmp_path, monkeypatch,
                                                                     capsys):
    model = nl.load_model(small_model)
    model.metadata["classes"] = ["no\x1b[2J", "yes"]
    path = tmp_path / "esc.nnlearn"
    model.save(path)
    capsys.readouterr()
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    assert run(["predict", str(path), str(small_csv), "--proba"]) == 0
    shown = capsys.readouterr().out
    assert "\x1b" not in shown and "p_no\\x1b[2J" in shown.splitlines()[0]
    out = tmp_path / "p.csv"
    assert run(["predict", str(path), str(small_csv), "--out", str(out), "--proba"]) == 0
    assert "p_no\x1b[2J" in out.read_text()  # a file keeps the data as it is
