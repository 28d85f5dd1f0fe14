"""The house rules of the package, checked on its source (with ``ast``, nothing run):

* imports point one way: no import cycle between modules (counting imports inside
  functions too) except the engine's ``Tensor`` <-> its ops, which are one unit;
* no module imports another module's private name (``from x import _name``), except a
  package's private modules (``_validation``, ``_registry``, ...), which exist for it;
* no module over 600 lines unless its docstring says why ("long because");
* no function over 80 lines.
"""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "src" / "nnlearn"
ALLOWED_CYCLES = [{"nnlearn.autograd.tensor", "nnlearn.autograd.ops"}]
MAX_MODULE_LINES, MAX_FUNCTION_LINES = 600, 80


def _modules() -> dict:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = _modules()


def _imports(name: str, path: pathlib.Path):
    """(imported module, imported name or None) of every import in the module."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                if f"{target}.{alias.name}" in MODULES:
                    yield f"{target}.{alias.name}", None
                elif target in MODULES:
                    yield target, alias.name
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in MODULES:
                    yield alias.name, None


def _graph() -> dict:
    return {name: {target for target, _ in _imports(name, path)} - {name}
            for name, path in MODULES.items()}


def _cycles(graph: dict) -> list:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_the_walker_sees_the_package():
    assert len(MODULES) > 60 and "nnlearn.autograd.ops" in MODULES
    graph = _graph()
    assert "nnlearn.autograd.tensor" in graph["nnlearn.autograd.ops"]
    assert {"nnlearn.autograd.tensor", "nnlearn.autograd.ops"} in _cycles(graph)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_no_import_cycle_but_the_engine_core():
    unexpected = [sorted(c) for c in _cycles(_graph()) if c not in ALLOWED_CYCLES]
    assert not unexpected, f"import cycles: {unexpected}"


def test_no_private_name_is_imported_across_modules():
    crossing = []
    for name, path in MODULES.items():
        for target, imported in _imports(name, path):
            if imported and imported.startswith("_") and not imported.startswith("__") \
                    and target != name:
                crossing.append(f"{name} imports {target}.{imported}")
    assert not crossing, "\n".join(crossing)


def test_long_modules_say_why():
    unexplained = []
    for name, path in MODULES.items():
        text = path.read_text()
        lines = text.count("\n")
        if lines > MAX_MODULE_LINES and "long because" not in (ast.get_docstring(
                ast.parse(text)) or ""):
            unexplained.append(f"{name}: {lines} lines")
    assert not unexplained, unexplained


def test_no_function_over_80_lines():
    long = []
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{name}.{node.name}: {length} lines")
    assert not long, long
