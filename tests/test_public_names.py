"""Every module and name that release 0.1 made public (tests/fixtures/public_names_0_1.json,
written by tests/fixtures/public_names.py) is still importable from the same place."""

import importlib
import json
import os

import pytest

HERE = os.path.join(os.path.dirname(__file__), "fixtures")
with open(os.path.join(HERE, "public_names_0_1.json")) as file:
    RELEASE_0_1 = json.load(file)


def test_the_release_list_is_the_whole_api():
    assert len(RELEASE_0_1) > 50 and sum(map(len, RELEASE_0_1.values())) > 700
    assert "Dense" in RELEASE_0_1["nnlearn.layers"] and "Adam" in RELEASE_0_1["nnlearn.optimizers"]


@pytest.mark.parametrize("module_name", sorted(RELEASE_0_1))
def test_no_public_name_is_lost(module_name):
    module = importlib.import_module(module_name)
    missing = [name for name in RELEASE_0_1[module_name] if not hasattr(module, name)]
    assert not missing, f"{module_name} lost {missing}"


def test_dir_of_the_package_shows_public_names_and_no_helper_modules():
    import nnlearn as nl

    names = dir(nl)
    assert {"Tensor", "grad", "Sequential", "plot", "__version__"} <= set(names)
    assert not {"importlib", "_importlib", "_moved"} & set(names)
