"""Every public name of nnlearn has a docstring: module-level functions, classes, and the
public methods and properties a class defines (the API reference is generated from
them).  A method that overrides a documented one shares its contract and inherits its
docstring, as ``help()`` shows it (``inspect.getdoc``)."""

import importlib
import inspect
import pkgutil
import re

import pytest

PACKAGES = ("autograd", "classic", "data", "datasets", "experiments", "playground")


def module_names():
    """Every module of nnlearn (the API reference documents them all)."""
    import nnlearn

    names = [f"nnlearn.{m.name}" for m in pkgutil.iter_modules(nnlearn.__path__)
             if not m.name.startswith("_") and m.name != "__main__"]
    for package in PACKAGES:
        path = importlib.import_module(f"nnlearn.{package}").__path__
        names += [f"nnlearn.{package}.{m.name}" for m in pkgutil.iter_modules(path)
                  if not m.name.startswith("_")]
    return names


def undocumented(module):
    """The public names defined in ``module`` (not imported into it) without a docstring."""
    missing = [] if (module.__doc__ or "").strip() else ["<module>"]
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if obj.__module__ != module.__name__:
            continue
        doc = vars(obj).get("__doc__") if inspect.isclass(obj) else obj.__doc__
        if not (doc or "").strip():
            missing.append(name)
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                function = member.fget if isinstance(member, property) else \
                    getattr(member, "__func__", member)
                if (not attr.startswith("_") and inspect.isfunction(function)
                        and function.__module__ == module.__name__
                        and not (inspect.getdoc(getattr(obj, attr)) or "").strip()):
                    missing.append(f"{name}.{attr}")
    return missing


@pytest.mark.parametrize("name", module_names())
def test_public_names_have_docstrings(name):
    module = importlib.import_module(name)
    assert undocumented(module) == [], f"{name}: public names without a docstring"


def test_the_check_finds_a_missing_docstring():
    """The walk itself: a module with an undocumented function, class and method."""
    import types

    module = types.ModuleType("nnlearn._probe", "A probe.")

    def documented():
        """Has one."""

    def bare():
        pass

    class Bare:
        def method(self):
            pass

    for obj in (documented, bare, Bare, Bare.method):
        obj.__module__ = module.__name__
    module.documented, module.bare, module.Bare = documented, bare, Bare
    assert undocumented(module) == ["bare", "Bare", "Bare.method"]
    assert {"nnlearn.classic.neurons", "nnlearn.layers", "nnlearn.autograd.ops",
            "nnlearn.experiments.recurrent"} <= set(module_names())


# -- the API pages' parameters and math ---------------------------------------------------
def documented_parameters(doc: str) -> list:
    """The names a numpy-style "Parameters" section of ``doc`` describes (``name : type``
    or ``name`` lines at the section's margin, ``**name`` for keyword arguments)."""
    lines = inspect.cleandoc(doc or "").split("\n")
    for i, line in enumerate(lines[:-1]):
        if line.strip() == "Parameters" and set(lines[i + 1].strip()) == {"-"}:
            break
    else:
        return []
    names = []
    for line in lines[i + 2:]:
        if line.strip() and not line.startswith(" "):
            if set(line.strip()) == {"-"}:   # the next section's underline
                names.pop()
                break
            names.append(line.split(" : ")[0].strip().lstrip("*"))
    return names


def public_classes(module_name):
    module = importlib.import_module(module_name)
    return [(name, obj) for name, obj in vars(module).items()
            if inspect.isclass(obj) and not name.startswith("_")
            and obj.__module__ == module.__name__]


@pytest.mark.parametrize("module_name", ["nnlearn.layers", "nnlearn.layers.recurrent",
                                         "nnlearn.estimators"])
def test_layers_and_estimators_document_every_constructor_parameter(module_name):
    """Each public layer and estimator lists every parameter of its constructor, in the
    signature's order, with a description (the API pages render the section)."""
    missing = {}
    for name, cls in public_classes(module_name):
        if name == "Layer":
            continue
        parameters = [p for p in inspect.signature(cls).parameters]
        documented = documented_parameters(cls.__doc__)
        if documented != parameters:
            missing[name] = (parameters, documented)
    assert not missing, missing


def test_the_parameter_check_reads_a_numpy_section():
    doc = """Summary.

    Parameters
    ----------
    units : int
        How many.
    **extra
        Passed on.

    Returns
    -------
    thing
    """
    assert documented_parameters(doc) == ["units", "extra"]
    assert documented_parameters("No section.") == []


MATH_MODULES = ["nnlearn.activations", "nnlearn.losses", "nnlearn.links",
                "nnlearn.initializers", "nnlearn.regularizers", "nnlearn.metrics",
                "nnlearn.numerics", "nnlearn.callbacks", "nnlearn.layers",
                "nnlearn.layers.recurrent", "nnlearn.estimators", "nnlearn.lr_finder",
                "nnlearn.autograd.ops", "nnlearn.autograd.conv", "nnlearn.autograd.recurrent",
                "nnlearn.classic.linear", "nnlearn.classic.neurons"]


def docstrings_of(module):
    """(qualified name, docstring) of the module and everything defined in it."""
    yield module.__name__, module.__doc__ or ""
    for name, obj in vars(module).items():
        if not (inspect.isfunction(obj) or inspect.isclass(obj)) or \
                obj.__module__ != module.__name__:
            continue
        yield name, obj.__doc__ or ""
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                function = member.fget if isinstance(member, property) else \
                    getattr(member, "__func__", member)
                if inspect.isfunction(function):
                    yield f"{name}.{attr}", function.__doc__ or ""


def math_problems(doc: str) -> list:
    """What keeps a docstring's math from reaching MathJax as written: reStructuredText
    math (the site renders ``$...$``/``$$...$$``), a backslash escape Python already
    turned into a control character (``\\frac`` in a string that is not raw), or an
    unmatched ``$`` (math running into the prose)."""
    problems = []
    if ":math:" in doc or ".. math::" in doc:
        problems.append("reStructuredText math")
    controls = sorted({hex(ord(c)) for c in doc if ord(c) < 32 and c != "\n"})
    if controls:
        problems.append(f"control characters {controls} (a backslash in a non-raw string)")
    text = re.sub(r"`[^`\n]*`", "", doc)          # code spans may hold a literal $
    if text.replace("$$", "").count("$") % 2:
        problems.append("an unmatched $")
    return problems


@pytest.mark.parametrize("module_name", MATH_MODULES)
def test_docstring_math_is_latex_for_mathjax(module_name):
    module = importlib.import_module(module_name)
    problems = {name: math_problems(doc) for name, doc in docstrings_of(module)}
    assert not {name: p for name, p in problems.items() if p}


def test_the_math_check_finds_each_problem():
    assert math_problems(r"The logistic $\sigma(z) = 1 / (1 + e^{-z})$.") == []
    assert math_problems("$$\nJ = \\sum_i l_i\n$$") == []
    assert math_problems("Costs `$5` in code.") == []
    assert math_problems(":math:`z`") == ["reStructuredText math"]
    assert math_problems("$\frac{1}{2}$") == [
        "control characters ['0xc'] (a backslash in a non-raw string)"]
    assert math_problems(r"$z = \max(x, 0)") == ["an unmatched $"]
