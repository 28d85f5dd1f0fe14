"""nnlearn/__init__.py: the package's public namespace."""

import nnlearn as nl


def test_star_import_leaves_the_builtins_alone():
    namespace = {}
    exec("from nnlearn import *", namespace)
    for name in ("sum", "max", "min", "abs", "pow"):
        assert name not in namespace
    assert "Tensor" in namespace and "Model" in namespace and nl.sum is nl.autograd.sum
