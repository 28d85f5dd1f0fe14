"""Every public name of nnlearn has a docstring: module-level functions, classes, and the
public methods and properties a class defines (the API reference is generated from
them).  A method that overrides a documented one shares its contract and inherits its
docstring, as ``help()`` shows it (``inspect.getdoc``)."""

import importlib
import inspect
import pkgutil

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
