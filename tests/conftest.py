"""Shared pytest configuration: a fixed random seed for every test."""

import pytest
from threadpoolctl import threadpool_limits

import geomstats.backend as gs

# The suite works on tiny matrices, where OpenBLAS threads cost more than they
# save (a 3 x 3 triangular solve took 7 ms on a loaded 2-core machine); pytest-xdist
# already runs one worker per core.
threadpool_limits(limits=1, user_api="blas")


@pytest.fixture(autouse=True)
def _fixed_seed() -> None:
    """Seed the numpy/geomstats global random generator before each test."""
    gs.random.seed(0)


def pytest_configure(config) -> None:
    # full-size statistical tests (skipped with GEOMSTATS_DLN_FAST=1)
    config.addinivalue_line("markers", "slow: long statistical test")
    # marks of geomstats' generic test cases (tests/test_geomstats_suite.py)
    for name in ("vec", "random", "shape", "ignore", "mathprop", "type"):
        config.addinivalue_line("markers", f"{name}: geomstats test-case mark")
