"""A Griffe extension for the API pages: nnlearn's docstrings are written in the numpy
style with a few reStructuredText habits, which mkdocstrings (Markdown) would show raw.
Before a docstring is parsed this extension rewrites them as Markdown:

- a paragraph ending in ``::`` followed by an indented block: the colon is kept (``text:``)
  or dropped (a lone ``::`` or ``text ::``), and the block becomes a fenced code block, so
  formulas keep their lines instead of running into one paragraph;
- a run of doctest lines (``>>>`` and their output) becomes a ``pycon`` code block;
- roles (``:func:`name```, ``:class:`~nnlearn.models.Sequential```) become code spans,
  ``~`` keeping only the last component, as Sphinx shows it;
- double backticks become single ones;
- a simple table (columns under ``=====  =====`` rules) becomes a Markdown table;
- math written in reStructuredText (a ``:math:`x``` role, a ``.. math::`` directive)
  becomes ``$x$`` and a ``$$`` block, which pymdownx.arithmatex hands to MathJax (nnlearn's
  own docstrings write ``$...$`` and ``$$...$$`` directly).

The source files are left as they are; only the text handed to mkdocstrings changes.
Used from mkdocs.yml (``extensions`` of the python handler)."""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:py:)?(?:func|class|meth|data|mod|attr|exc|obj|const|ref|term):"
                   r"`(~?)([^`]+)`")
_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_TABLE_RULE = re.compile(r"^\s*=+(?: +=+)+\s*$")
_DOUBLE = re.compile(r"``(.+?)``")
_TILDE = re.compile(r"(?<!`)`~([\w.]+)`")


def _short(tilde: str, name: str) -> str:
    name = name.strip()
    if name.endswith("()"):
        name = name[:-2]
    return name.rsplit(".", 1)[-1] if tilde else name


def inline(line: str) -> str:
    """Roles, ``~`` references and double backticks of one line of prose as Markdown."""
    line = _MATH_ROLE.sub(lambda m: f"${m.group(1)}$", line)
    line = _ROLE.sub(lambda m: f"`{_short(m.group(1), m.group(2))}`", line)
    line = _DOUBLE.sub(lambda m: f"`{m.group(1)}`", line)
    return _TILDE.sub(lambda m: f"`{_short('~', m.group(1))}`", line)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def convert(text: str) -> str:
    """The docstring ``text`` with its reStructuredText habits rewritten as Markdown."""
    lines = text.split("\n")
    out: list = []
    i, fenced = 0, False
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
            out.append(line)
            i += 1
            continue
        if fenced:
            out.append(line)
            i += 1
            continue
        stripped = line.rstrip()
        if _TABLE_RULE.match(line):
            table, j = _simple_table(lines, i)
            if table:
                out += ["", *table, ""]
                i = j
                continue
        if stripped.strip() == ".. math::":
            block, j = _literal_block(lines, i + 1, _indent(line))
            margin = " " * _indent(line)
            out += [margin + "$$", *(margin + b for b in block), margin + "$$", ""]
            i = j
            continue
        if stripped.endswith("::") and not stripped.lstrip().startswith(">>>"):
            block, j = _literal_block(lines, i + 1, _indent(line))
            if not block and i == 0:  # dedented with the summary line: take one paragraph
                block, j = _paragraph(lines, i + 1)
            if block:
                head = stripped[:-2]
                margin = " " * _indent(line)
                if head.strip() and head.endswith(" "):
                    out.append(inline(head.rstrip()))
                elif head.strip():
                    out.append(inline(head) + ":")
                out += ["", margin + "```text", *(margin + b for b in block), margin + "```", ""]
                i = j
                continue
        if stripped.lstrip().startswith(">>>"):
            margin = " " * _indent(line)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i][len(margin):] if lines[i].startswith(margin)
                             else lines[i].lstrip())
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += [margin + "```pycon", *(margin + b for b in block), margin + "```"]
            continue
        out.append(inline(line))
        i += 1
    return "\n".join(out)


def _simple_table(lines: list, start: int):
    """A reStructuredText simple table starting at the rule ``lines[start]`` as Markdown
    table lines (a row whose first column is blank, opens a parenthesis or follows an
    unclosed one there continues the row above; a table
    without a header rule gets an empty header), and the index after it; ([], start)
    when no closing rule follows."""
    rule = lines[start]
    margin = _indent(rule)
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", rule)]
    rules = [k for k in range(start + 1, len(lines)) if lines[k].strip() and
             _TABLE_RULE.match(lines[k]) and _indent(lines[k]) == margin]
    if not rules:
        return [], start
    has_header = rules[0] == start + 2 and len(rules) > 1
    end = rules[1] if has_header else rules[0]

    def cells(line):
        bounds = [a for a, _ in spans[1:]] + [None]
        return [line[a:b].strip() if len(line) > a else "" for (a, _), b in
                zip(spans, bounds)]

    rows = []
    for line in lines[(start + 3 if has_header else start + 1):end]:
        if not line.strip():
            continue
        row = cells(line)
        open_bracket = rows and rows[-1][0].count("(") > rows[-1][0].count(")")
        aside = row[0].startswith("(")
        if rows and (not row[0] or open_bracket or aside):   # the row goes on
            rows[-1] = [f"{old} {new}".strip() for old, new in zip(rows[-1], row)]
        else:
            rows.append(row)
    header = cells(lines[start + 1]) if has_header else [""] * len(spans)
    pad = " " * margin

    def markdown(row):
        return pad + "| " + " | ".join(inline(c).replace("|", "\\|") for c in row) + " |"

    return ([markdown(header), pad + "|" + "---|" * len(spans)]
            + [markdown(row) for row in rows]), end + 1


def _paragraph(lines: list, start: int):
    """The lines after blank ones up to the next blank line (a docstring whose summary
    line ends in ``::`` has its block dedented with the rest by ``inspect.cleandoc``)."""
    j = start
    while j < len(lines) and not lines[j].strip():
        j += 1
    body = []
    while j < len(lines) and lines[j].strip():
        body.append(lines[j])
        j += 1
    return body, j


def _literal_block(lines: list, start: int, indent: int):
    """The indented block after a ``::`` line (dedented), and the index after it."""
    j = start
    while j < len(lines) and not lines[j].strip():
        j += 1
    if j == len(lines) or _indent(lines[j]) <= indent:
        return [], start
    body = []
    while j < len(lines) and (not lines[j].strip() or _indent(lines[j]) > indent):
        body.append(lines[j])
        j += 1
    while body and not body[-1].strip():
        body.pop()
        j -= 1
    margin = min(_indent(b) for b in body if b.strip())
    return [b[margin:] if b.strip() else "" for b in body], j


def _runtime_docstring(obj):
    """The docstring of a class or function whose ``__doc__`` is computed at import time
    (``__doc__ = "..." + COMMON``), which static analysis cannot see: import it."""
    import importlib
    import inspect

    try:
        module = importlib.import_module(obj.module.path)
        value = module
        for part in obj.path[len(obj.module.path) + 1:].split("."):
            value = getattr(value, part)
    except Exception:  # noqa: BLE001  (documentation only: keep the static result)
        return None
    return inspect.getdoc(value)


class RstToMarkdown(griffe.Extension):
    """Rewrite each docstring (see the module docstring) before mkdocstrings parses it;
    a class with no static docstring gets its runtime one."""

    def on_instance(self, *, obj, **kwargs) -> None:
        if obj.docstring is None and obj.is_class and not obj.name.startswith("_"):
            text = _runtime_docstring(obj)
            if text:
                # parsed as the loader parses the rest (numpy style, from mkdocs.yml), so
                # that its "Parameters" section becomes the parameter table
                like = obj.module.docstring
                obj.docstring = griffe.Docstring(
                    text, parent=obj, parser=like.parser if like else None,
                    parser_options=like.parser_options if like else None)
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
