"""Build the docs gallery: run every registered experiment with ``quick=True`` and write
its figures (PNG) and a page listing them, grouped by lesson, into ``docs/gallery/``.

Run by the MkDocs hook (``docs/scripts/hooks.py``) before every build, or by hand:

    python docs/scripts/gallery.py [DOCS_DIR]

Files are only rewritten when their bytes change, so ``mkdocs serve`` does not rebuild in
a loop.  The output is generated: ``docs/gallery/`` is not kept in git.
"""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path

LESSON_NOTEBOOKS = {
    1: "01_neurons", 2: "02_hebb_perceptron", 3: "03_linear_models",
    4: "04_logistic_softmax", 5: "05_backpropagation", 6: "06_optimization",
    7: "07_initialization", 8: "08_regularization", 9: "09_model_selection", 10: "10_mnist",
    11: "11_recurrent",
}


def _write_if_changed(path: Path, data: bytes) -> bool:
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    return buffer.getvalue()


def build(docs_dir, seed: int = 0) -> list:
    """Run the experiments and write ``gallery/index.md`` and the PNGs under
    ``docs_dir``; returns the paths written (those whose content changed)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    from nnlearn import experiments

    out = Path(docs_dir) / "gallery"
    written = []
    lines = ["# Gallery", "",
             "Every experiment of the course, run with `quick=True` (reduced sizes) when "
             "these docs were built. Run one yourself with "
             "`nnlearn experiments run NAME --out DIR` (full sizes) or "
             "`nnlearn.experiments.run(NAME)`.", ""]
    for number, title, group in experiments.by_lesson():
        notebook = LESSON_NOTEBOOKS.get(number)
        lines += [f"## {number}. {title}", ""]
        if notebook:
            lines += [f"The lesson's notebook: [{notebook}](../lessons/{notebook}.py).", ""]
        for experiment in group:
            result = experiments.run(experiment.name, seed=seed, quick=True)
            lines += [f"### `{experiment.name}`", "",
                      f"{experiment.description[0].upper()}{experiment.description[1:]}.",
                      "", f"*Sources:* {experiment.source}.", ""]
            if experiment.notice:
                lines += ['!!! tip "What to notice"', f"    {experiment.notice}", ""]
            for name, figure in result.figures.items():
                path = out / experiment.name / f"{name}.png"
                if _write_if_changed(path, _png(figure)):
                    written.append(path)
                lines += [f"![{experiment.name}: {name}]({experiment.name}/{name}.png)", ""]
            lines += ["```text", result.summary(), "```", ""]
    page = out / "index.md"
    if _write_if_changed(page, "\n".join(lines).encode()):
        written.append(page)
    return written


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[1]
    for path in build(target):
        print(path)
