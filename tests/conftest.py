"""Shared pytest configuration: a fixed random seed for every test."""

import pytest

import geomstats.backend as gs


@pytest.fixture(autouse=True)
def _fixed_seed() -> None:
    """Seed the numpy/geomstats global random generator before each test."""
    gs.random.seed(0)


def pytest_configure(config) -> None:
    # full-size statistical tests (skipped with GEOMSTATS_DLN_FAST=1)
    config.addinivalue_line("markers", "slow: long statistical test")
