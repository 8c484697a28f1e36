# The project is installed (``pip install -e .``, which ``make test`` does), so the tests import
# it as any user would; pytest puts this folder on the path for the shared helpers (harness).
import contextlib

import pytest

from sim.cxxrtl import CompilerMissing


# A test on the compiled backend needs a C++ compiler: without one it is skipped, saying why,
# rather than failed (the Amaranth simulator's tests still run).
@contextlib.contextmanager
def _skipped_without_a_compiler():
    try:
        yield
    except CompilerMissing as e:
        pytest.skip(f"no C++ compiler for the compiled backend: {e}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    with _skipped_without_a_compiler():
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    with _skipped_without_a_compiler():
        return (yield)
