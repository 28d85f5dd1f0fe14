"""MkDocs hooks: generate the gallery (``docs/gallery/``) before each build.

Under ``mkdocs serve`` an existing gallery is kept (the second-order experiment's figures
plot seconds, so they differ from run to run and would trigger rebuild after rebuild);
delete ``docs/gallery/`` to regenerate it."""

import importlib.util
import os
from pathlib import Path

_COMMAND = None


def on_startup(command, dirty, **kwargs):
    global _COMMAND
    _COMMAND = command


def on_pre_build(config, **kwargs):
    if os.environ.get("NNLEARN_DOCS_GALLERY") == "0":   # the markup test's quick build
        return
    if _COMMAND == "serve" and (Path(config["docs_dir"]) / "gallery" / "index.md").exists():
        return
    spec = importlib.util.spec_from_file_location(
        "nnlearn_docs_gallery", Path(__file__).with_name("gallery.py"))
    gallery = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(gallery)
    gallery.build(config["docs_dir"])


_SPHINX_ROLE = None


def _lesson_stem(page):
    src = page.file.src_uri
    if src.startswith("lessons/") and src.endswith(".py"):
        return Path(src).stem
    return None


def on_page_content(html, page, config, files, **kwargs):
    """The docstrings use Sphinx roles (``:func:`name```); mkdocstrings renders them as
    text plus code: drop the role prefix so the API pages read ``name``.  A lesson page
    starts with a link to its notebook (.ipynb), written next to the page by
    ``on_post_build``."""
    global _SPHINX_ROLE
    import re

    if _SPHINX_ROLE is None:
        _SPHINX_ROLE = re.compile(r":(?:func|class|meth|data|mod|attr|exc|obj|const):(?=<code)")
    html = _SPHINX_ROLE.sub("", html)
    stem = _lesson_stem(page)
    if stem:
        html = (f'<p class="notebook-download"><a href="{stem}.ipynb" download>'
                f"Download this lesson as a Jupyter notebook ({stem}.ipynb)</a>; "
                "it runs top to bottom with nnlearn installed.</p>\n" + html)
    return html


def on_post_build(config, **kwargs):
    """Each lesson as a notebook (.ipynb, converted by jupytext, not executed) next to its
    page, for the download link."""
    try:
        import jupytext
    except ImportError:
        return
    docs, site = Path(config["docs_dir"]), Path(config["site_dir"])
    for source in sorted((docs / "lessons").glob("[0-9][0-9]_*.py")):
        target = site / "lessons" / source.stem / f"{source.stem}.ipynb"
        if target.parent.is_dir():
            jupytext.write(jupytext.read(source), target, fmt="ipynb")
