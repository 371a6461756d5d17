"""CloudWatch Logs filter patterns, as FilterLogEvents and the metric filter operations use them.

The patterns themselves (terms, ``%regex%``, JSON and space-delimited patterns) are compiled by
:mod:`sluiceway.observability.log_patterns`, which is pure: the metric filter feed of the local
CloudWatch reads log events with the same patterns, so a filter counts what FilterLogEvents finds.
"""

from __future__ import annotations

from ...observability.log_patterns import FilterPatternError, LogPattern, Matched, compile_filter, compile_pattern

__all__ = ["FilterPatternError", "LogPattern", "Matched", "compile_filter", "compile_pattern"]
