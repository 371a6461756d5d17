"""How CloudWatch decides a metric alarm's state: the evaluation range, M out of N, missing data.

From CloudWatch's user guide ("How alarm state is evaluated when data is missing"): the alarm
retrieves more periods than ``EvaluationPeriods`` (N), its *evaluation range* (here N + 2, as
in the guide's examples). Then:

- with at least N real data points in the range, the N most recent are evaluated and
  ``TreatMissingData`` plays no part;
- with none, ``missing`` gives INSUFFICIENT_DATA, ``ignore`` keeps the state, ``breaching``
  ALARM and ``notBreaching`` OK;
- with some, every real point is evaluated, and as few filled-in points as make N:
  ``breaching``/``notBreaching`` fill them as such; ``missing`` and ``ignore`` use the real
  points alone: ALARM with M breaching, OK with a non-breaching one among them, and otherwise
  (only breaching points, fewer than M) ``ignore`` keeps the state while ``missing`` gives
  INSUFFICIENT_DATA, or ALARM when those points are older than the last N periods (the
  guide's ``X - - - -`` row: the alarm re-evaluates the last data it had).

ALARM needs M (``DatapointsToAlarm``, N by default) breaching points among the N evaluated.

Pure: the data points and the times are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["COMPARISONS", "TREATMENTS", "Point", "Rule", "Verdict", "evaluate", "evaluation_end_ms", "evaluation_range"]

COMPARISONS: Final = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
"""The comparisons evaluated locally, with the words CloudWatch's reasons use."""

TREATMENTS: Final = ("missing", "notBreaching", "breaching", "ignore")


@dataclass(frozen=True)
class Point:
    timestamp_ms: int
    """The period's start."""
    value: float
    samples: float | None = None


@dataclass(frozen=True)
class Rule:
    """What the evaluation needs of an alarm's definition."""

    comparison: str
    threshold: float
    evaluation_periods: int
    period_s: int
    datapoints_to_alarm: int | None = None
    """M; None when the alarm does not set it (then M = N, and reasons say so differently)."""
    treat_missing: str = "missing"
    statistic: str | None = None
    """``Sum``, ``p90``...; None for metric math."""

    @property
    def m(self) -> int:
        return self.datapoints_to_alarm or self.evaluation_periods

    @classmethod
    def from_definition(cls, definition: Mapping[str, Any]) -> Rule:
        period = definition.get("Period")
        if period is None:
            for query in definition.get("Metrics", []):
                period = query.get("MetricStat", {}).get("Period") or query.get("Period")
                if period:
                    break
        return cls(
            comparison=str(definition["ComparisonOperator"]),
            threshold=float(definition["Threshold"]),
            evaluation_periods=int(definition["EvaluationPeriods"]),
            period_s=int(period or 60),
            datapoints_to_alarm=int(definition["DatapointsToAlarm"]) if "DatapointsToAlarm" in definition else None,
            treat_missing=str(definition.get("TreatMissingData", "missing")),
            statistic=definition.get("ExtendedStatistic") or definition.get("Statistic"),
        )

    def breaches(self, value: float) -> bool:
        if self.comparison == "GreaterThanOrEqualToThreshold":
            return value >= self.threshold
        if self.comparison == "GreaterThanThreshold":
            return value > self.threshold
        if self.comparison == "LessThanThreshold":
            return value < self.threshold
        if self.comparison == "LessThanOrEqualToThreshold":
            return value <= self.threshold
        raise ValueError(f"comparison {self.comparison} is not evaluated locally")


@dataclass(frozen=True)
class Verdict:
    state: str | None
    """The state the alarm should be in; None: keep the current one (``ignore``)."""
    reason: str = ""
    reason_data: str | None = None


def evaluation_range(rule: Rule) -> int:
    """How many periods the evaluation retrieves (N + 2, as in CloudWatch's examples)."""
    return rule.evaluation_periods + 2


def evaluation_end_ms(now_ms: int, period_s: int) -> int:
    """Where the newest evaluated period ends: the start of the minute (of the 10 or 30 seconds, for those periods) now is in.

    Only complete periods are evaluated. A period still filling holds part of its data, so
    ``Sum(Invocations) < 5`` would breach at the start of every minute and clear by its end:
    the alarm would flap within each period. CloudWatch evaluates a period once its data is in.
    The windows slide by the minute, as CloudWatch's do.
    """
    step = period_s * 1000 if period_s < 60 else 60_000
    return now_ms - now_ms % step


def evaluate(rule: Rule, points: Sequence[Point], *, end_ms: int, now_ms: int) -> Verdict:
    """The alarm's state given the real data points of its evaluation range (any order)."""
    n, m = rule.evaluation_periods, rule.m
    real = sorted(points, key=lambda p: p.timestamp_ms)
    if len(real) >= n:
        evaluated = real[-n:]
        breaching = [p for p in evaluated if rule.breaches(p.value)]
        state = "ALARM" if len(breaching) >= m else "OK"
        return _threshold(rule, state, evaluated, filled=0, end_ms=end_ms, now_ms=now_ms)
    if not real:
        if rule.treat_missing == "ignore":
            return Verdict(None)
        if rule.treat_missing == "missing":
            return Verdict(
                "INSUFFICIENT_DATA", f"Insufficient Data: {_count(n, 'datapoint')} {_was(n)} unknown.", _data(rule, [], end_ms, now_ms)
            )
        state = "ALARM" if rule.treat_missing == "breaching" else "OK"
        treated = "Breaching" if rule.treat_missing == "breaching" else "NonBreaching"
        reason = (
            f"Threshold Crossed: no datapoints were received for {_count(n, 'period')} and"
            f" {_count(n, 'missing datapoint')} {_was(n)} treated as [{treated}]."
        )
        return Verdict(state, reason, _data(rule, [], end_ms, now_ms))
    filled = n - len(real)
    breaching_real = sum(1 for p in real if rule.breaches(p.value))
    if rule.treat_missing in ("breaching", "notBreaching"):
        count = breaching_real + (filled if rule.treat_missing == "breaching" else 0)
        return _threshold(rule, "ALARM" if count >= m else "OK", real, filled=filled, end_ms=end_ms, now_ms=now_ms)
    if breaching_real >= m:
        return _threshold(rule, "ALARM", real, filled=0, end_ms=end_ms, now_ms=now_ms)
    if breaching_real < len(real):
        return _threshold(rule, "OK", real, filled=0, end_ms=end_ms, now_ms=now_ms)
    if rule.treat_missing == "ignore":
        return Verdict(None)
    if real[-1].timestamp_ms < end_ms - n * rule.period_s * 1000:
        return _threshold(rule, "ALARM", real, filled=0, end_ms=end_ms, now_ms=now_ms)
    return Verdict(
        "INSUFFICIENT_DATA", f"Insufficient Data: {_count(filled, 'datapoint')} {_was(filled)} unknown.", _data(rule, real, end_ms, now_ms)
    )


def _threshold(rule: Rule, state: str, evaluated: Sequence[Point], *, filled: int, end_ms: int, now_ms: int) -> Verdict:
    """``Threshold Crossed: ...`` as CloudWatch writes it, listing the points that decided the state."""
    alarm = state == "ALARM"
    deciding = [p for p in reversed(evaluated) if rule.breaches(p.value) == alarm]
    verb = COMPARISONS[rule.comparison] if alarm else f"not {COMPARISONS[rule.comparison]}"
    listed = ", ".join(f"{_number(p.value)} ({_reason_time(p.timestamp_ms)})" for p in deciding)
    count = len(deciding)
    n = rule.evaluation_periods
    if rule.datapoints_to_alarm is not None:
        needed = rule.m if alarm else n - rule.m + 1
        transition = "OK -> ALARM" if alarm else "ALARM -> OK"
        text = (
            f"Threshold Crossed: {count} out of the last {n} datapoints [{listed}] {_was(count)} {verb} the threshold"
            f" ({_number(rule.threshold)}) (minimum {_count(needed, 'datapoint')} for {transition} transition)."
        )
    else:
        text = f"Threshold Crossed: {_count(count, 'datapoint')} [{listed}] {_was(count)} {verb} the threshold ({_number(rule.threshold)})."
    if filled:
        treated = "Breaching" if rule.treat_missing == "breaching" else "NonBreaching"
        text = text[:-1] + f" and {_count(filled, 'missing datapoint')} {_was(filled)} treated as [{treated}]."
    return Verdict(state, text, _data(rule, evaluated, end_ms, now_ms))


def _data(rule: Rule, evaluated: Sequence[Point], end_ms: int, now_ms: int) -> str:
    """The state reason data (JSON), as CloudWatch writes it for a threshold alarm."""
    start_ms = end_ms - evaluation_range(rule) * rule.period_s * 1000
    data: dict[str, Any] = {"version": "1.0", "queryDate": _iso(now_ms), "startDate": _iso(start_ms)}
    if rule.statistic is not None:
        data["statistic"] = rule.statistic
    data["period"] = rule.period_s
    data["recentDatapoints"] = [p.value for p in evaluated]
    data["threshold"] = rule.threshold
    items = []
    for p in reversed(evaluated):
        item: dict[str, Any] = {"timestamp": _iso(p.timestamp_ms)}
        if p.samples is not None:
            item["sampleCount"] = p.samples
        item["value"] = p.value
        items.append(item)
    data["evaluatedDatapoints"] = items
    return json.dumps(data, separators=(",", ":"))


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _was(count: int) -> str:
    return "was" if count == 1 else "were"


def _number(value: float) -> str:
    """A number as CloudWatch (Java) prints a double: ``5.0``, ``0.25``."""
    return repr(float(value))


def _reason_time(ms: int) -> str:
    """``05/12/26 01:02:00``: the day, month and year (two digits) and time in reasons' lists."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%d/%m/%y %H:%M:%S")


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"
