"""Settings for the whole suite."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run and every machine, and keep no example
# database: a run's outcome never depends on what an earlier run happened to find (a failing
# example found while exploring belongs in a test of its own, as @example).
settings.register_profile("sluiceway", derandomize=True, database=None, deadline=None, print_blob=True)
settings.load_profile("sluiceway")


@pytest.fixture(autouse=True)
def _sluiceway_logger_restored() -> Iterator[None]:
    """Give back the ``sluiceway`` logger as each test found it.

    A CLI test's ``logs.configure()`` points the logger at the test runner's stream, which is
    closed once the command returns; a later test's background thread that logs would then
    print a logging error, and a raised level would hide records a later test checks.
    """
    logger = logging.getLogger("sluiceway")
    handlers, level, propagate = list(logger.handlers), logger.level, logger.propagate
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)
    logger.propagate = propagate
