"""The built site reads as prose: no reStructuredText left in any page's text (a literal
``::``, a double backtick, a ``~nnlearn.`` cross-reference, a ``:math:`` role, a simple
table's ``=====`` rule), the math is set for MathJax (the docstrings' ``$...$`` and
``$$...$$`` reach the API pages as arithmatex spans, no ``$`` left over in their text)
and every estimator and layer lists its constructor parameters in a table.

The site is built from mkdocs.yml with two changes that keep the test quick: the lesson
notebooks are converted without being executed (CI executes them in
tests/test_notebooks.py and in the strict build), and the gallery, which runs every
experiment, is left out."""

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
pytest.importorskip("mkdocs")
pytest.importorskip("mkdocstrings")
pytest.importorskip("mkdocs_jupyter")

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = ("::", "``", "~nnlearn.", ":math:", "=====")


def _without_gallery(nav):
    if isinstance(nav, list):
        return [_without_gallery(item) for item in nav
                if not (isinstance(item, dict) and "Gallery" in item)]
    if isinstance(nav, dict):
        return {key: _without_gallery(value) for key, value in nav.items()}
    return nav


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    config["docs_dir"] = str(ROOT / "docs")
    config["site_dir"] = str(tmp / "site")
    config["hooks"] = [str(ROOT / hook) for hook in config.get("hooks", [])]
    config["nav"] = _without_gallery(config["nav"])
    for plugin in config["plugins"]:
        if isinstance(plugin, dict) and "mkdocs-jupyter" in plugin:
            plugin["mkdocs-jupyter"].update(execute=False, cache=False)
        if isinstance(plugin, dict) and "mkdocstrings" in plugin:
            handler = plugin["mkdocstrings"]["handlers"]["python"]
            handler["paths"] = [str(ROOT / p) for p in handler.get("paths", ["src"])]
            options = handler.get("options", {})
            options["extensions"] = [str(ROOT / e) if isinstance(e, str) else e
                                     for e in options.get("extensions", [])]
    path = tmp / "mkdocs.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {"NNLEARN_DOCS_GALLERY": "0", "NO_MKDOCS_2_WARNING": "1", "MPLBACKEND": "Agg"}
    import os

    done = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f",
                           str(path)],
                          cwd=tmp, env={**os.environ, **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return tmp / "site"


def page_text(page: Path, inline_code: bool = True) -> str:
    """What a reader sees: the page's text, outside code blocks, scripts and styles (and
    outside inline code too with ``inline_code=False``)."""
    source = page.read_text()
    tags = "pre|script|style|textarea" + ("" if inline_code else "|code")
    source = re.sub(rf"<({tags})\b.*?</\1>", " ", source, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", source))


def test_no_page_shows_restructuredtext_markup(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) > 20
    problems = []
    for page in pages:
        for markup in FORBIDDEN:
            # "::" is legitimate inside inline code (x[::2], [::1]); leftovers of the
            # other two are wrong anywhere.
            text = page_text(page, inline_code=markup != "::")
            for match in re.finditer(re.escape(markup), text):
                context = " ".join(text[max(0, match.start() - 50):match.end() + 30].split())
                problems.append(f"{page.relative_to(site)}: {markup!r} in ...{context}...")
    assert not problems, f"{len(problems)} pieces of raw markup:\n" + "\n".join(problems[:40])


def test_api_pages_are_rendered_by_mkdocstrings(site):
    models = (site / "api" / "models" / "index.html").read_text()
    assert "doc-heading" in models and "Sequential" in models


def test_math_is_set_for_mathjax_and_solutions_fold(site):
    lesson = (site / "lessons" / "05_backpropagation" / "index.html").read_text()
    assert "javascripts/mathjax.js" in lesson and "tex-mml-chtml" in lesson
    assert r"\frac{\partial L}" in lesson          # the derivation's LaTeX reaches the page
    assert "javascripts/solutions.js" in lesson
    assert lesson.count("celltag_solution") >= 6     # 3+ exercises: prose and code each


def test_each_lesson_page_offers_its_notebook(site):
    import json

    lessons = sorted((ROOT / "docs" / "lessons").glob("[0-9][0-9]_*.py"))
    for source in lessons:
        page = site / "lessons" / source.stem / "index.html"
        assert f'href="{source.stem}.ipynb"' in page.read_text(), source.stem
        notebook = json.loads((page.parent / f"{source.stem}.ipynb").read_text())
        assert notebook["nbformat"] == 4 and len(notebook["cells"]) > 10


def test_estimator_pages_list_constructor_parameters(site):
    """MLPClassifier's page shows its constructor's signature with every parameter and
    its default, and its documentation (a docstring built at import time, which the
    Griffe extension fetches from the class itself)."""
    source = (site / "api" / "estimators" / "index.html").read_text()
    start = source.index('id="nnlearn.estimators.MLPClassifier"')
    end = source.find('class="doc doc-heading"', start + 100)
    section = html.unescape(re.sub(r"<[^>]+>", "", source[start:end]))
    import inspect

    from nnlearn.estimators import MLPClassifier

    for parameter in inspect.signature(MLPClassifier).parameters:
        assert f"{parameter}=" in section, parameter               # in the signature
    assert "multilayer perceptron classifier" in section


def arithmatex(page: Path) -> list:
    """The LaTeX of every math span and block pymdownx.arithmatex made on ``page``."""
    source = page.read_text()
    return [html.unescape(body).strip() for body in re.findall(
        r'<(?:span|div) class="arithmatex">(.*?)</(?:span|div)>', source, flags=re.S)]


@pytest.mark.parametrize("page, formulas", [
    ("api/layers", [r"\(\sigma(z) = \dfrac{1}{1 + e^{-z}}\)",            # the activations
                    r"\(h (1 - h)\)",
                    r"\hat x = \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}}",   # BatchNorm
                    r"c_t &= f_t \odot c_{t-1} + i_t \odot \tilde c_t",             # LSTM
                    r"R(W) = \lambda_1 \sum_i \lvert w_i\rvert + \lambda_2 \sum_i w_i^2"]),
    ("api/training", [r"\frac{\partial L}{\partial z_k} = p_k - y_k"]),  # the fused losses
    ("api/estimators", [r"\frac{\alpha}{2S} \sum_l \lVert W_l\rVert_F^2"]),
    ("api/classic", [r"W = \frac1N \sum_p p\, p^\top"]),                 # Hopfield
    ("api/autograd", [r"\frac{\partial L}{\partial z} &= \sigma(z) - t"]),
])
def test_api_pages_render_docstring_math(site, page, formulas):
    """Known formulas reach their API page as MathJax input (arithmatex output), and no
    page shows a stray ``$``: the sign of math that Markdown did not recognise."""
    found = arithmatex(site / page / "index.html")
    for formula in formulas:
        assert any(formula in math for math in found), (page, formula, found[:5])
    text = re.sub(r'<(span|div) class="arithmatex">.*?</\1>', " ",
                  (site / page / "index.html").read_text(), flags=re.S)
    shown = page_text_of(text, inline_code=False)
    assert "$" not in shown, shown[max(0, shown.find("$") - 80):shown.find("$") + 80]


def page_text_of(source: str, inline_code: bool = True) -> str:
    tags = "pre|script|style|textarea" + ("" if inline_code else "|code")
    source = re.sub(rf"<({tags})\b.*?</\1>", " ", source, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", source))


def parameter_table(source: str, anchor: str) -> list:
    """The names in the "Parameters" table of the object whose heading has id ``anchor``
    (up to the next object's heading)."""
    start = source.index(f'id="{anchor}"')
    end = source.find('class="doc doc-heading"', start + 100)
    section = source[start:end if end > 0 else None]
    table = re.search(r"<table>.*?<th>Name</th>.*?</table>", section, flags=re.S)
    if table is None:
        return []
    return re.findall(r'<tr class="doc-section-item">\s*<td>\s*<code>([^<]+)</code>',
                      table.group(0))


@pytest.mark.parametrize("module, page", [("nnlearn.estimators", "api/estimators"),
                                          ("nnlearn.layers", "api/layers"),
                                          ("nnlearn.layers.recurrent", "api/layers")])
def test_estimator_and_layer_pages_tabulate_their_parameters(site, module, page):
    """Each public estimator and layer class's page section has a parameter table with a
    row for every constructor parameter (griffe parsed its "Parameters" section)."""
    import importlib
    import inspect

    source = (site / page / "index.html").read_text()
    namespace = importlib.import_module(module)
    checked = 0
    for name, cls in vars(namespace).items():  # a package's classes: its modules'
        if not inspect.isclass(cls) or name.startswith("_") or name == "Layer" \
                or not cls.__module__.startswith(module) or name not in getattr(
                    namespace, "__all__", [name]):
            continue
        parameters = [p.lstrip("*") for p in inspect.signature(cls).parameters]
        rows = [row.lstrip("*") for row in parameter_table(source, f"{cls.__module__}.{name}")]
        assert rows == parameters, (name, rows, parameters)
        checked += 1
    assert checked >= 4
