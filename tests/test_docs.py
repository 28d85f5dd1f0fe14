"""The lesson path is consistent: every experiment belongs to a lesson, has a "what to
notice" text and is run by its lesson's notebook; EXPERIMENTS is ordered by lesson; the
docs' pages name every lesson and experiment.  The MkDocs build itself runs in CI
(``python -m mkdocs build --strict``)."""

from pathlib import Path

from nnlearn import experiments

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


def test_every_experiment_has_a_lesson_and_a_notice():
    for experiment in experiments.EXPERIMENTS.values():
        assert experiment.lesson in experiments.LESSONS, experiment.name
        assert experiment.lesson_title == experiments.LESSONS[experiment.lesson]
        assert len(experiment.notice) > 40, experiment.name
        assert "seed 0" not in experiment.source + experiment.description


def test_experiments_are_ordered_and_grouped_by_lesson():
    lessons = [e.lesson for e in experiments.EXPERIMENTS.values()]
    assert lessons == sorted(lessons)
    groups = experiments.by_lesson()
    assert [n for n, _, _ in groups] == sorted(experiments.LESSONS)   # none is empty
    assert [e.name for _, _, group in groups for e in group] == list(experiments.EXPERIMENTS)
    assert groups[0][2][0].name == "mcp-gates" and groups[-1][1] == "Recurrent networks"


def test_each_lesson_notebook_runs_its_experiments():
    for number, title, group in experiments.by_lesson():
        (notebook,) = DOCS.glob(f"lessons/{number:02d}_*.py")
        text = notebook.read_text()
        assert f"# # Lesson {number} - {title}" in text
        for experiment in group:
            assert f'experiments.run("{experiment.name}"' in text, (notebook, experiment.name)


def test_docs_pages_list_every_lesson_and_experiment():
    index = (DOCS / "lessons" / "index.md").read_text()
    home = (DOCS / "index.md").read_text()
    for _, title, group in experiments.by_lesson():
        for page in (index, home):
            assert title in page
            for experiment in group:
                assert f"`{experiment.name}`" in page


def test_mkdocs_nav_lists_every_lesson_notebook():
    config = (ROOT / "mkdocs.yml").read_text()
    for notebook in sorted(DOCS.glob("lessons/[0-9][0-9]_*.py")):
        assert f"lessons/{notebook.name}" in config


def test_gallery_script_writes_every_experiment(tmp_path, monkeypatch):
    import importlib.util

    spec = importlib.util.spec_from_file_location("gallery", DOCS / "scripts" / "gallery.py")
    gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery)
    from nnlearn.experiments import registry

    monkeypatch.setattr(registry, "EXPERIMENTS",
                        {k: v for k, v in registry.EXPERIMENTS.items()
                         if k in ("mcp-gates", "perceptron")})
    written = gallery.build(tmp_path)
    page = (tmp_path / "gallery" / "index.md").read_text()
    assert "`mcp-gates`" in page and "What to notice" in page
    assert (tmp_path / "gallery" / "perceptron" / "perceptron.png").exists()
    assert gallery.build(tmp_path) == [] and written                # unchanged: not rewritten
