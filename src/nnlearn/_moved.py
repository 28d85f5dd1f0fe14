"""Old module names that still import: release 0.1 had every module at the top of the
package (``nnlearn.model_files``, ``nnlearn.recurrent``, ...); the packages now show the
design (``nnlearn.models.files``, ``nnlearn.layers.recurrent``, ...).  ``import
nnlearn.model_files`` gives a module whose names are looked up, on use, in the modules the
code moved to, so every name a user imported from the old place still works (tests check
the release's list of public names).  Only names are forwarded: nothing here runs code
from anywhere but nnlearn's own modules."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types

# old module -> the modules its public names now live in, searched in order
MOVED: dict = {
    "nnlearn.recurrent": "nnlearn.layers.recurrent",
    "nnlearn.model_files": ("nnlearn.models.files", "nnlearn.models.loading"),
    "nnlearn.planner": "nnlearn.lowering.planner",
    "nnlearn.kernels": "nnlearn.lowering.loops",
    "nnlearn.compiled": "nnlearn.lowering.dense_step",
    "nnlearn.functional": "nnlearn.models.functional",
    "nnlearn.merging": "nnlearn.layers.merging",
}


class _Forwarding(types.ModuleType):
    """A module whose attributes are those of ``targets`` (looked up on use)."""

    def __init__(self, name: str, targets: tuple):
        super().__init__(name, f"Moved: see {', '.join(targets)}.")
        self.__targets = targets

    def __getattr__(self, attribute):
        for target in self.__targets:
            module = importlib.import_module(target)
            if hasattr(module, attribute):
                return getattr(module, attribute)
        raise AttributeError(f"module {self.__name__!r} (moved to "
                             f"{', '.join(self.__targets)}) has no attribute {attribute!r}")

    def __dir__(self):
        names: set = set()
        for target in self.__targets:
            names.update(dir(importlib.import_module(target)))
        return sorted(names)


class _Finder:
    """Finds the old names of :data:`MOVED` (and nothing else): a meta path finder and
    its loader (the protocol of ``importlib.abc.MetaPathFinder`` and ``Loader``, not
    their classes: importing ``importlib.abc`` costs ``import nnlearn`` about 10 ms)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.machinery.ModuleSpec(fullname, self)
        return None

    def create_module(self, spec):
        targets = MOVED[spec.name]
        return _Forwarding(spec.name, (targets,) if isinstance(targets, str) else tuple(targets))

    def exec_module(self, module):
        pass


def install() -> None:
    """Put the finder on ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _Finder) for finder in sys.meta_path):
        sys.meta_path.append(_Finder())


install()  # on import: nnlearn imports this module before any other
