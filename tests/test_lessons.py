"""Each lesson teaches: at least 1,200 words of prose, at least 4 displayed equations
and at least 3 exercises, each with a worked solution (prose and code, in cells tagged
"solution", which the site folds and CI executes with the rest of the notebook:
tests/test_notebooks.py)."""

import re
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")

LESSONS = Path(__file__).resolve().parents[1] / "docs" / "lessons"
NOTEBOOKS = sorted(LESSONS.glob("[0-9][0-9]_*.py"))
# The lessons not yet rewritten to this standard (issue 31): listed here so that the gap
# shows in every test run; strict, so that a lesson that meets it must leave the list.
NOT_YET: set = set()


def structure(path: Path) -> dict:
    notebook = jupytext.read(path)
    markdown = [c for c in notebook.cells if c.cell_type == "markdown"]
    prose = "\n".join(c.source for c in markdown)
    words = len(re.findall(r"[A-Za-z][A-Za-z'-]*", re.sub(r"\$\$.*?\$\$", " ", prose,
                                                             flags=re.S)))
    exercises, solved = 0, 0
    cells = notebook.cells
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and re.search(r"\*\*Exercise \d", cell.source):
            exercises += 1
            after = cells[i + 1:i + 3]
            tags = [("solution" in c.metadata.get("tags", []), c.cell_type) for c in after]
            if tags == [(True, "markdown"), (True, "code")] and after[1].source.strip():
                solved += 1
    return {"words": words, "equations": prose.count("$$") // 2, "exercises": exercises,
            "solved": solved, "text": prose}


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="not yet rewritten"))
    if p.stem in NOT_YET else p for p in NOTEBOOKS], ids=lambda p: p.stem)
def test_lesson_teaches(path):
    s = structure(path)
    assert s["words"] >= 1200, s["words"]
    assert s["equations"] >= 4, s["equations"]
    assert s["exercises"] >= 3 and s["solved"] == s["exercises"], (s["exercises"], s["solved"])
    assert "## Sources" in s["text"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lessons_name_topics_not_internal_notes(path):
    text = path.read_text().lower()
    assert "seed 00" not in text and "lecture notes" not in text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_lessons_hold_no_control_characters(path):
    """A tab in a lesson's prose is a backslash sequence gone wrong (a "\\t" written in a
    string that was not raw once turned the \\theta of a formula into "heta")."""
    text = path.read_text()
    bad = [(n, line) for n, line in enumerate(text.splitlines(), 1)
           if re.search(r"[\x00-\x09\x0b-\x1f\x7f]", line)]
    assert not bad, bad[:3]
