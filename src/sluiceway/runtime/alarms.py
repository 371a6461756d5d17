"""CloudWatch alarms evaluated locally: AWS's own metrics fed in, every alarm checked, transitions published.

Each turn (every :data:`EVERY_S` seconds while the stack runs, and on demand in tests) first
runs the metric feeds (Lambda's, Step Functions', SQS's, EventBridge's and functions' EMF lines: see
``backends/local/cloudwatch_feeds.py``), then evaluates every metric alarm over its evaluation range
by CloudWatch's rules (:mod:`._alarm_rules`; an anomaly detection alarm's points each with the
band of its period, from the local model), and moves the alarms whose state changed: the
store commits the new state with its history, the SNS notifications to the state's actions
and the ``CloudWatch Alarm State Change`` event together, and evaluates again the composite
alarms whose rule references a moved alarm. Each turn also ends the composite alarms'
actions-suppression periods that are over. Time is the stack's clock, so tests
drive it with a FakeClock.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from ..ports import Clock
from ._alarm_rules import Point, Rule, evaluate, evaluation_end_ms, evaluation_range
from .periodic import Periodic

logger = logging.getLogger(__name__)

__all__ = ["EVERY_S", "AlarmEvaluator", "AlarmStore", "MetricFeed", "parse_emf"]

EVERY_S = 10.0
"""How often the stack evaluates its alarms (CloudWatch evaluates each alarm about every minute;
oftener here, so that a local change shows soon)."""
FRESH_S = 0.5
"""How old the fed metrics may be when the endpoint reads them (the console polls every 500 ms)."""

_PRUNE_EVERY = 360
"""Turns between retention prunes (an hour at :data:`EVERY_S`)."""


class AlarmRecordLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def definition(self) -> Mapping[str, Any]: ...
    @property
    def state(self) -> str: ...


class AlarmStore(Protocol):
    """What the evaluator needs of the CloudWatch store (``backends/local/cloudwatch.py``)."""

    def alarms(self) -> Sequence[AlarmRecordLike]:
        """Every metric alarm."""
        ...

    def alarm_datapoints(self, definition: Mapping[str, Any], end_ms: int, periods: int) -> list[tuple[int, float, float | None]]:
        """``(period start, value, sample count)`` of the periods with data before ``end_ms``."""
        ...

    def alarm_band_datapoints(
        self, definition: Mapping[str, Any], end_ms: int, periods: int
    ) -> list[tuple[int, float, float | None, float | None]]:
        """``(period start, value, lower, upper)`` of an anomaly detection alarm's periods with data;
        the bounds None where the model has no band yet."""
        ...

    def transition(self, name: str, state: str, reason: str, reason_data: str | None = None) -> bool:
        """Move the alarm to ``state`` with its actions; False when it is there already."""
        ...

    def prune(self) -> int:
        """Drop what is past retention."""
        ...

    def release_suppressions(self) -> int:
        """End composite alarms' actions-suppression periods that are over, running the actions they held."""
        ...


class MetricFeed(Protocol):
    """One source of AWS's own metrics: reads what it has not read yet, exactly once."""

    @property
    def name(self) -> str: ...

    def pull(self) -> int:
        """Store the data points of what happened since the last pull; how many."""
        ...


class AlarmEvaluator:
    """Feeds the metrics and evaluates the alarms, each :meth:`turn`; :meth:`start` runs turns on a thread."""

    def __init__(self, store: AlarmStore, clock: Clock, feeds: Sequence[MetricFeed] = (), *, every_s: float = EVERY_S) -> None:
        self.store = store
        self.clock = clock
        self.feeds = tuple(feeds)
        self._turns = 0
        self._periodic = Periodic(self.turn, every_s=every_s, name="sluiceway-cloudwatch-alarms")
        self._pulling = threading.Lock()
        self._closed = False
        self._pulled_at = -math.inf

    def start(self) -> None:
        self._periodic.start()

    def close(self) -> None:
        """Stop the turns, then let the feeds release what they hold (the log store's read connections)."""
        self._periodic.close()
        with self._pulling:
            # A task still running through the stop's grace may read metrics (getMetricData):
            # it reads what was fed, no pull reaches the feeds' closed connections.
            self._closed = True
        for feed in self.feeds:
            release = getattr(feed, "close", None)
            if callable(release):
                release()

    def turn(self) -> int:
        """Pull the feeds, evaluate every alarm; the number of alarms whose state changed."""
        self.pull_feeds(max_age_s=0.0)
        if self._turns % _PRUNE_EVERY == 0:
            self.store.prune()
        self._turns += 1
        try:
            self.store.release_suppressions()
        except Exception:  # a composite alarm's held actions must not stop every alarm's evaluation
            logger.exception("releasing suppressed alarm actions failed")
        changed = 0
        for alarm in self.store.alarms():
            try:
                changed += self.evaluate(alarm)
            except Exception:
                logger.exception("alarm evaluation failed", extra={"alarm": alarm.name})
        return changed

    def pull_feeds(self, *, max_age_s: float = FRESH_S) -> None:
        """Bring AWS's own metrics up to date, unless they were within ``max_age_s`` seconds.

        The endpoint calls this before it reads metrics, so a run shows in GetMetricData at once
        rather than at the next turn (CloudWatch itself takes a minute or more: being sooner
        breaks no caller). Feeds commit with their cursors, so two pulls at once never count a
        record twice; the lock only spares the second the same work.
        """
        with self._pulling:
            started = time.monotonic()
            if self._closed or started - self._pulled_at < max_age_s:
                return
            for feed in self.feeds:
                try:
                    feed.pull()
                except Exception:  # one broken source must not stop the alarms of the others
                    logger.exception("metric feed failed", extra={"feed": feed.name})
            self._pulled_at = started

    def evaluate(self, alarm: AlarmRecordLike) -> bool:
        """Evaluate one alarm now; whether its state changed."""
        rule = Rule.from_definition(alarm.definition)
        now_ms = int(self.clock.now().timestamp() * 1000)
        end_ms = evaluation_end_ms(now_ms, rule.period_s)
        untrained = 0
        if rule.band:
            # A period with data but no band (the model has not trained) is neither a point nor
            # missing data: while there are such periods the alarm waits in INSUFFICIENT_DATA.
            points = []
            for ts, value, lower, upper in self.store.alarm_band_datapoints(alarm.definition, end_ms, evaluation_range(rule)):
                if lower is None or upper is None:
                    untrained += 1
                else:
                    points.append(Point(ts, value, None, lower, upper))
        else:
            points = [
                Point(ts, value, samples)
                for ts, value, samples in self.store.alarm_datapoints(alarm.definition, end_ms, evaluation_range(rule))
            ]
        verdict = evaluate(rule, points, end_ms=end_ms, now_ms=now_ms, untrained=untrained)
        if verdict.state is None or verdict.state == alarm.state:
            return False
        changed = self.store.transition(alarm.name, verdict.state, verdict.reason, verdict.reason_data)
        if changed:
            logger.info("alarm state changed", extra={"alarm": alarm.name, "from": alarm.state, "to": verdict.state})
        return changed


def parse_emf(line: str, now_ms: int) -> Sequence[Any]:
    """The EMF data points of a log line (none for an ordinary or invalid line): the feeds' EMF reader."""
    from ..observability.emf import parse_line

    found = parse_line(line, now_ms=now_ms)
    return () if found is None else found.points
