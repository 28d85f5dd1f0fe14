"""Shared fixtures."""

import pytest

from nnlearn import kernels


@pytest.fixture(params=["numpy", "numba"])
def kernel_backend(request):
    """Run the test once on each kernel backend (numba's run is skipped without numba)."""
    if request.param not in kernels.available_backends():
        pytest.skip("numba is not installed (the fast extra)")
    with kernels.use(request.param):
        yield request.param
