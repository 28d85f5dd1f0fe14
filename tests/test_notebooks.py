"""The lessons' notebooks (jupytext percent scripts in docs/lessons/) run top to bottom in a
real Jupyter kernel, and nnlearn's figures display there as PNG without any magic.

Needs the ``docs`` extra (jupytext, nbclient, ipykernel); skipped without it."""

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

LESSONS = Path(__file__).resolve().parents[1] / "docs" / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("[0-9][0-9]_*.py"))


def _execute(notebook, tmp_path):
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    return notebook


def _outputs(notebook, mime):
    return [o for cell in notebook.cells if cell.cell_type == "code"
            for o in cell.get("outputs", []) if mime in o.get("data", {})]


def test_a_figure_displays_inline_in_a_real_kernel_without_magic(tmp_path, monkeypatch):
    monkeypatch.delenv("MPLBACKEND", raising=False)   # what a fresh Jupyter session has
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from nnlearn import plot\nplot.draw_network([2, 3, 1])"),
        nbformat.v4.new_code_cell("fig = plot.plot_history({'loss': [0.5]})\nfig"),
    ])
    _execute(notebook, tmp_path)
    for cell in notebook.cells:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, cell.outputs            # shown once, as a PNG
        assert "<Figure size" not in str(cell.outputs)


def test_there_is_one_notebook_per_lesson():
    from nnlearn.experiments import LESSONS as TOPICS

    assert [int(p.name[:2]) for p in NOTEBOOKS] == sorted(TOPICS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lesson_notebook_runs_top_to_bottom_and_shows_figures(path, tmp_path):
    notebook = jupytext.read(path)
    _execute(notebook, tmp_path)
    assert _outputs(notebook, "image/png"), f"{path.name} shows no figure"
    errors = [o for cell in notebook.cells for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
