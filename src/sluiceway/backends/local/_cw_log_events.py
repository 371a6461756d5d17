"""What CloudWatch Logs' filter feeds share: the log events after a cursor, and the filters compiled.

The metric filter feed (:mod:`._cw_metric_filter_feed`) and the subscription feed
(:mod:`._cw_subscription_feed`) both read the log store's file (``logs.db``, read-only here) after a
cursor of their own, in batches, for the log groups that have filters, and try each filter's
pattern on each event. :class:`LogEvents` is that read; :class:`CompiledFilters` keeps each
filter's compiled form while its definition stays; :func:`applying` pairs each event with the
filters that read it; :class:`SkippedEvents` logs the events a filter could not read. What a match
does, and the transaction that commits it with the cursor, stay with each feed.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from ._sqlite import ThreadConnections

logger = logging.getLogger(__name__)

__all__ = ["Applying", "Batch", "CompiledFilters", "LogEvents", "LogFilter", "SkippedEvents", "applying"]

T = TypeVar("T")


@dataclass(frozen=True)
class Batch:
    """Log events read after a cursor, and where the cursor goes once they are fed."""

    rows: list[sqlite3.Row]
    """``id`` (the event's position), ``log_group``, ``stream``, ``ts_ms`` and ``message``, by position."""
    position: int
    """The last row's position for a full batch (more may follow); otherwise the end read up to:
    every event before it was seen, those of groups without filters too (never read)."""
    last: bool
    """Short of a full batch: nothing is left before the end."""


class LogEvents:
    """The log store's events, read in batches after a position.

    Args:
        logs_path: the log store's database (``logs.db``); it may not exist yet.
    """

    def __init__(self, logs_path: Path) -> None:
        self._logs = ThreadConnections(logs_path)

    def close(self) -> None:
        self._logs.close()

    def end(self) -> int:
        """The last event's position; 0 while there is none."""
        try:
            return int(self._logs.get().execute("SELECT coalesce(max(id), 0) FROM log_events").fetchone()[0])
        except sqlite3.OperationalError:  # no log store yet: nothing before the feed
            return 0

    def window(self, read_filters: Callable[[], T]) -> tuple[int, T]:
        """The end of the events, then the filters (``read_filters()``), in that order.

        The end before the filters: a filter put after the end is read reads the events after it
        (its ``applies_after``), or, put between the two reads, is among the filters read. The
        other order would let a filter put between them miss the events before the end.
        """
        end = self.end()
        return end, read_filters()

    def after(self, start: int, end: int, groups: Iterable[str], *, batch: int) -> Batch:
        """The events of ``groups`` after position ``start`` up to ``end``, the first ``batch`` of them."""
        if batch < 1:
            raise ValueError("a batch reads one event at least")
        wanted = sorted(set(groups))
        if not wanted or start >= end:
            return Batch([], end, True)
        marks = ",".join("?" * len(wanted))
        rows: list[sqlite3.Row] = (
            self._logs.get()
            .execute(
                f"SELECT id, log_group, stream, ts_ms, message FROM log_events WHERE id > ? AND id <= ?"  # noqa: S608 - placeholders only
                f" AND log_group IN ({marks}) ORDER BY id LIMIT ?",
                (start, end, *wanted, batch),
            )
            .fetchall()
        )
        full = len(rows) == batch
        return Batch(rows, int(rows[-1]["id"]) if full else end, not full)


class LogFilter(Protocol):
    """What is shared of a filter's record: where it is, its name, and the events it reads."""

    @property
    def log_group(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def applies_after(self) -> int:
        """The log store's last event when the filter was created: it reads the events after it."""
        ...


class Applying(Protocol):
    """A feed's filter put to use: its record and what the feed made of it."""

    @property
    def filter(self) -> LogFilter: ...


A = TypeVar("A", bound=Applying)


def applying(rows: Iterable[sqlite3.Row], applied: Iterable[A]) -> Iterator[tuple[sqlite3.Row, A]]:
    """Each event with each filter that reads it, in the events' order: the filters on its group
    put before it was."""
    by_group: dict[str, list[A]] = {}
    for item in applied:
        by_group.setdefault(item.filter.log_group, []).append(item)
    for row in rows:
        for item in by_group.get(row["log_group"], ()):
            if row["id"] > item.filter.applies_after:  # otherwise put before the filter was
                yield row, item


class SkippedEvents:
    """The log events a feed could not read for a filter, skipped rather than retried (the cursor
    moves past them with the rest of their batch): a warning for the first, DEBUG for the others,
    so that one filter failing on a busy group does not flood the log.

    Args:
        feed: the feed's name.
        warning: the warning's phrase.
        log: the logger it goes to (the feed's).
    """

    def __init__(self, feed: str, warning: str, log: logging.Logger = logger) -> None:
        self._feed = feed
        self._warning = warning
        self._log = log
        self._warned = False

    def skip(self, row: sqlite3.Row, record: LogFilter) -> None:
        """Note that ``record`` could not read ``row``; called while handling the exception, which is logged."""
        self._log.log(
            logging.DEBUG if self._warned else logging.WARNING,
            self._warning,
            extra={"feed": self._feed, "log_event": row["id"], "filter": record.name},
            exc_info=True,
        )
        self._warned = True


F = TypeVar("F", bound=LogFilter)
C = TypeVar("C")


class CompiledFilters(Generic[F, C]):
    """Filters' compiled forms, kept by their definition.

    A filter is compiled once while its definition stays; put again with another, it is compiled
    again. One that does not compile is warned about once (while its definition stays) and skipped:
    the operations that put filters check them, so only a hand-edited row gets there.

    Args:
        compile: a filter's compiled form; raises one of ``errors`` when it has none.
        definition: what a filter's compiled form depends on (its key here).
        errors: what ``compile`` raises for a filter that cannot be applied.
        warning: the warning's phrase.
        log: the logger it goes to (the feed's).
    """

    def __init__(
        self,
        compile: Callable[[F], C],
        definition: Callable[[F], Hashable],
        *,
        errors: tuple[type[Exception], ...],
        warning: str,
        log: logging.Logger = logger,
    ) -> None:
        self._compile = compile
        self._definition = definition
        self._errors = errors
        self._warning = warning
        self._log = log
        self._compiled: dict[Hashable, C | None] = {}

    def applied(self, records: Sequence[F]) -> list[tuple[F, C]]:
        """The filters that compile, each with its compiled form, in the order given; the
        compiled forms of filters no longer given are dropped."""
        found: list[tuple[F, C]] = []
        seen: set[Hashable] = set()
        for record in records:
            key = self._definition(record)
            seen.add(key)
            if key not in self._compiled:
                try:
                    self._compiled[key] = self._compile(record)
                except self._errors:
                    self._log.warning(self._warning, extra={"log_group": record.log_group, "filter": record.name})
                    self._compiled[key] = None
            compiled = self._compiled[key]
            if compiled is not None:
                # The record as given, not as compiled: what the definition leaves out (a destination) counts.
                found.append((record, compiled))
        for stale in set(self._compiled) - seen:
            del self._compiled[stale]
        return found
