"""fit's progress (verbose=1): every epoch ends with one full text line holding every
metric, on a terminal of any width (issue 32 item 18: at 80 columns the line was cut
before val_loss, at 0 columns only "Epoch 1/2" showed) and in a saved notebook, where the
live widget is lost (issue 31 item 7: the text left was ``0/13 [ ] - 0s -``)."""

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import textwrap

import pytest

pytest.importorskip("tqdm")

SCRIPT = textwrap.dedent("""
    import numpy as np
    import nnlearn as nl
    from nnlearn.layers import Dense, Input
    x = np.random.default_rng(0).standard_normal((400, 2)).astype(np.float32)
    y = (x[:, 0] * x[:, 1] > 0).astype(int)
    model = nl.Sequential([Input(2), Dense(8, activation="tanh"),
                           Dense(2, activation="softmax")], seed=0)
    model.compile("adam", "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, validation_split=0.2, verbose=1)
    print("DONE")
""")


def run_on_a_terminal(columns: int) -> str:
    """SCRIPT's output on a pseudo-terminal ``columns`` wide, as the screen would end
    up showing it: each line's text after its last carriage return, escape sequences
    removed."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdin=slave, stdout=slave,
                               stderr=subprocess.PIPE, env=env, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err.decode()
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode())
    return "\n".join(line.split("\r")[-1].rstrip() for line in text.replace("\r\n", "\n")
                     .split("\n"))


@pytest.mark.parametrize("columns", [80, 40, 0])
def test_every_epoch_ends_with_a_full_line_at_any_terminal_width(columns):
    screen = run_on_a_terminal(columns)
    assert "DONE" in screen
    finals = [line for line in screen.splitlines() if line.startswith("20/20 ")]
    assert len(finals) == 2, screen
    for line in finals:
        for name in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert re.search(rf"(^| ){name}: \d+\.\d{{4}}", line), (name, line)
    epochs = [line for line in screen.splitlines() if line.startswith("Epoch ")]
    assert epochs == ["Epoch 1/2", "Epoch 2/2"]


def test_the_final_line_is_text_even_where_the_bar_is_a_widget(monkeypatch, capsys):
    """Where tqdm draws a widget (Jupyter), what a saved notebook keeps is the text
    printed beside it: the final line must be printed as text, not left to the widget."""
    import types

    import numpy as np

    import nnlearn as nl
    from nnlearn.layers import Dense, Input

    widgets = []

    class Widget:  # tqdm.notebook's interface as _ProgressBar uses it; draws nothing
        def __init__(self, *args, **kwargs):
            self.disable, self.kwargs, self.closed = False, kwargs, False
            widgets.append(self)

        def set_description_str(self, text, refresh=True):
            self.text = text

        def update(self, n=1):
            pass

        def close(self):
            self.closed = True

    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=Widget))
    x = np.random.default_rng(0).standard_normal((40, 2)).astype(np.float32)
    model = nl.Sequential([Input(2), Dense(2, activation="softmax")], seed=0)
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, (x[:, 0] > 0).astype(int), epochs=2, batch_size=8, validation_split=0.25,
              verbose=1)
    out = capsys.readouterr().out.splitlines()
    assert len(widgets) == 2 and all(w.closed for w in widgets)
    assert all(w.kwargs.get("leave") is False for w in widgets)  # the widget goes away
    assert out[0] == "Epoch 1/2" and out[2] == "Epoch 2/2", out
    for line in (out[1], out[3]):
        assert line.startswith("4/4 [==============================] - ")
        assert all(f" - {name}: " in line for name in ("loss", "accuracy", "val_loss",
                                                         "val_accuracy")), line


def test_a_saved_notebook_keeps_each_epochs_final_line(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")
    pytest.importorskip("ipykernel")
    pytest.importorskip("ipywidgets")
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SCRIPT)]
    nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    path = tmp_path / "saved.ipynb"
    nbformat.write(notebook, path)
    saved = nbformat.read(path, as_version=4)
    text = "".join(output.get("text", "") for output in saved.cells[0].outputs
                   if output.output_type == "stream")
    finals = [line for line in text.splitlines() if line.startswith("20/20 ")]
    assert len(finals) == 2, text
    for line in finals:
        assert " - val_loss: " in line and " - val_accuracy: " in line, line
