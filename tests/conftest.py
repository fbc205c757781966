import os
import sys

import numba
import pytest

# The scripts and kernels.py live at the repository root; reference.py lives here.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def one_thread(request):
    """Run the kernels on one thread except in tests that ask for `all_threads`: the results do not
    depend on the thread count, and on a busy machine a parallel launch per small step can cost
    milliseconds. A test module opts in with `pytestmark = pytest.mark.usefixtures("one_thread")`."""
    if "all_threads" in request.fixturenames:
        yield
        return
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


@pytest.fixture
def all_threads():
    """Keep Numba's full thread count for this test."""
