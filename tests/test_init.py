"""nnlearn/__init__.py: the package's public namespace."""

import nnlearn as nl


def test_star_import_leaves_the_builtins_alone():
    namespace = {}
    exec("from nnlearn import *", namespace)
    for name in ("sum", "max", "min", "abs", "pow"):
        assert name not in namespace
    assert "Tensor" in namespace and "Model" in namespace and nl.sum is nl.autograd.sum


def test_plot_and_experiments_are_reached_as_attributes_without_importing_matplotlib():
    """Issue 32 item 21: ``nl.plot.plot_history(h)`` raised AttributeError (``nl.datasets``
    and ``nl.optimizers`` work that way); reaching the modules imports no plotting."""
    import subprocess
    import sys

    code = ("import sys\n"
            "import nnlearn as nl\n"
            "print(callable(nl.plot.plot_history), callable(nl.experiments.run),\n"
            "      'plot' in dir(nl), 'matplotlib' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.split() == ["True", "True", "True", "False"], result.stderr
