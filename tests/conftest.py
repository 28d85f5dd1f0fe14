"""Shared fixtures."""

import pytest

from nnlearn.lowering import loops


@pytest.fixture(params=["numpy", "numba"])
def kernel_backend(request):
    """Run the test once on each kernel backend (numba's run is skipped without numba)."""
    if request.param not in loops.available_backends():
        pytest.skip("numba is not installed (the fast extra)")
    with loops.use(request.param):
        yield request.param
