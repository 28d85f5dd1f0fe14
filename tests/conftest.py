"""Shared fixtures.  The tests mirror the package (tests/layers for nnlearn.layers, ...);
the helpers they share (``hostile``, ``browser``) live here, at the top of the tree, which
is put on the import path for every folder."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from nnlearn.lowering import loops


@pytest.fixture(params=["numpy", "numba"])
def kernel_backend(request):
    """Run the test once on each kernel backend (numba's run is skipped without numba)."""
    if request.param not in loops.available_backends():
        pytest.skip("numba is not installed (the fast extra)")
    with loops.use(request.param):
        yield request.param
