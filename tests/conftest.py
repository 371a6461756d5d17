"""Settings for the whole suite."""

from __future__ import annotations

from hypothesis import settings

# Property tests draw the same examples on every run and every machine, and keep no example
# database: a run's outcome never depends on what an earlier run happened to find (a failing
# example found while exploring belongs in a test of its own, as @example).
settings.register_profile("sluiceway", derandomize=True, database=None, deadline=None, print_blob=True)
settings.load_profile("sluiceway")
