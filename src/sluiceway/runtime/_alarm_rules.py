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

An anomaly detection alarm (``ThresholdMetricId``) compares each point with its own period's band:
``LessThanLowerOrGreaterThanUpperThreshold`` breaches outside it, ``GreaterThanUpperThreshold``
above it, ``LessThanLowerThreshold`` below it. A period with data the model has no band for (it has
not trained) is no point: the caller leaves it out and counts it, and unless the banded points
make N the alarm is INSUFFICIENT_DATA. Its reasons say ``Thresholds Crossed`` and list the
bounds, as CloudWatch's notifications for such alarms read.

Pure: the data points and the times are passed in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["BAND_COMPARISONS", "COMPARISONS", "TREATMENTS", "Point", "Rule", "Verdict", "evaluate", "evaluation_end_ms", "evaluation_range"]

COMPARISONS: Final = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
"""The comparisons evaluated locally, with the words CloudWatch's reasons use."""

BAND_COMPARISONS: Final = (
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
)
"""The comparisons of an alarm on an anomaly detection band (with ``ThresholdMetricId``)."""

TREATMENTS: Final = ("missing", "notBreaching", "breaching", "ignore")


@dataclass(frozen=True)
class Point:
    timestamp_ms: int
    """The period's start."""
    value: float
    samples: float | None = None
    lower: float | None = None
    """The band's lower bound in this period (anomaly detection alarms)."""
    upper: float | None = None
    """The band's upper bound in this period."""


@dataclass(frozen=True)
class Rule:
    """What the evaluation needs of an alarm's definition."""

    comparison: str
    threshold: float | None
    """None for an anomaly detection alarm: each point has its band instead."""
    evaluation_periods: int
    period_s: int
    datapoints_to_alarm: int | None = None
    """M; None when the alarm does not set it (then M = N, and reasons say so differently)."""
    treat_missing: str = "missing"
    statistic: str | None = None
    """``Sum``, ``p90``...; None for metric math."""

    @property
    def band(self) -> bool:
        return self.comparison in BAND_COMPARISONS

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
            threshold=float(definition["Threshold"]) if "Threshold" in definition else None,
            evaluation_periods=int(definition["EvaluationPeriods"]),
            period_s=int(period or 60),
            datapoints_to_alarm=int(definition["DatapointsToAlarm"]) if "DatapointsToAlarm" in definition else None,
            treat_missing=str(definition.get("TreatMissingData", "missing")),
            statistic=definition.get("ExtendedStatistic") or definition.get("Statistic"),
        )

    def breaches(self, value: float) -> bool:
        """Whether a value breaches a static threshold."""
        if self.threshold is None:
            raise ValueError("an anomaly detection alarm compares points with their band: use breached()")
        if self.comparison == "GreaterThanOrEqualToThreshold":
            return value >= self.threshold
        if self.comparison == "GreaterThanThreshold":
            return value > self.threshold
        if self.comparison == "LessThanThreshold":
            return value < self.threshold
        if self.comparison == "LessThanOrEqualToThreshold":
            return value <= self.threshold
        raise ValueError(f"comparison {self.comparison} is not evaluated locally")

    def breached(self, point: Point) -> bool:
        """Whether a point breaches: its threshold, or its period's band (the bounds compare strictly)."""
        if not self.band:
            return self.breaches(point.value)
        if point.lower is None or point.upper is None:
            raise ValueError("a point of an anomaly detection alarm needs its band")
        below, above = point.value < point.lower, point.value > point.upper
        if self.comparison == "LessThanLowerThreshold":
            return below
        if self.comparison == "GreaterThanUpperThreshold":
            return above
        return below or above


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


def evaluate(rule: Rule, points: Sequence[Point], *, end_ms: int, now_ms: int, untrained: int = 0) -> Verdict:
    """The alarm's state given the real data points of its evaluation range (any order).

    ``untrained`` counts the periods of an anomaly detection alarm that have data but no band (its
    model has not trained yet). Unless the banded points make N, they keep the alarm in
    INSUFFICIENT_DATA whatever ``TreatMissingData`` says: the data is not missing, so it is not
    breaching (nor not breaching) missing data; it cannot be judged yet. (What CloudWatch does
    while a model trains is not documented nor recorded: this is unverified.)
    """
    n, m = rule.evaluation_periods, rule.m
    real = sorted(points, key=lambda p: p.timestamp_ms)
    if untrained and len(real) < n:
        unknown = n - len(real)
        return Verdict(
            "INSUFFICIENT_DATA",
            f"Insufficient Data: {_count(unknown, 'datapoint')} {_was(unknown)} unknown.",
            _data(rule, real, end_ms, now_ms),
        )
    if len(real) >= n:
        evaluated = real[-n:]
        breaching = [p for p in evaluated if rule.breached(p)]
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
    breaching_real = sum(1 for p in real if rule.breached(p))
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
    deciding = [p for p in reversed(evaluated) if rule.breached(p) == alarm]
    listed = ", ".join(f"{_number(p.value)} ({_reason_time(p.timestamp_ms)})" for p in deciding)
    count = len(deciding)
    n = rule.evaluation_periods
    if rule.band:
        head, compared = "Thresholds Crossed", _band_words(rule, deciding, alarm)
    else:
        verb = COMPARISONS[rule.comparison] if alarm else f"not {COMPARISONS[rule.comparison]}"
        head, compared = "Threshold Crossed", f"{verb} the threshold ({_number(rule.threshold or 0.0)})"
    if rule.datapoints_to_alarm is not None or rule.band:
        # A band alarm's reason always counts "out of the last N" (as every notification of one we have
        # seen does); whether CloudWatch words it otherwise without DatapointsToAlarm is unverified.
        needed = rule.m if alarm else n - rule.m + 1
        transition = "OK -> ALARM" if alarm else "ALARM -> OK"
        text = (
            f"{head}: {count} out of the last {n} datapoints [{listed}] {_was(count)} {compared}"
            f" (minimum {_count(needed, 'datapoint')} for {transition} transition)."
        )
    else:
        text = f"{head}: {_count(count, 'datapoint')} [{listed}] {_was(count)} {compared}."
    if filled:
        treated = "Breaching" if rule.treat_missing == "breaching" else "NonBreaching"
        text = text[:-1] + f" and {_count(filled, 'missing datapoint')} {_was(filled)} treated as [{treated}]."
    return Verdict(state, text, _data(rule, evaluated, end_ms, now_ms))


def _band_words(rule: Rule, deciding: Sequence[Point], alarm: bool) -> str:
    """``less than the lower thresholds [..] or greater than the upper thresholds [..]`` (``not ...``
    for OK), the bounds of the listed points in their order, as CloudWatch's reasons read."""
    lower = f"the lower thresholds [{', '.join(_number(p.lower or 0.0) for p in deciding)}]"
    upper = f"the upper thresholds [{', '.join(_number(p.upper or 0.0) for p in deciding)}]"
    no = "" if alarm else "not "
    if rule.comparison == "LessThanLowerThreshold":
        return f"{no}less than {lower}"
    if rule.comparison == "GreaterThanUpperThreshold":
        return f"{no}greater than {upper}"
    return f"{no}less than {lower} or {no}greater than {upper}"


def _data(rule: Rule, evaluated: Sequence[Point], end_ms: int, now_ms: int) -> str:
    """The state reason data (JSON), as CloudWatch writes it for a threshold alarm.

    A band alarm's has no ``threshold`` but the bounds of the evaluated points, oldest first
    (``recentLowerThresholds`` / ``recentUpperThresholds``, those its comparison uses), and each
    evaluated point's bound as its ``threshold``. For a two-sided band CloudWatch's per-point
    fields are unverified: each point carries ``lowerThreshold`` and ``upperThreshold`` here.
    """
    start_ms = end_ms - evaluation_range(rule) * rule.period_s * 1000
    data: dict[str, Any] = {"version": "1.0", "queryDate": _iso(now_ms), "startDate": _iso(start_ms)}
    if rule.statistic is not None:
        data["statistic"] = rule.statistic
    data["period"] = rule.period_s
    data["recentDatapoints"] = [p.value for p in evaluated]
    uses_lower = rule.comparison in ("LessThanLowerOrGreaterThanUpperThreshold", "LessThanLowerThreshold")
    uses_upper = rule.comparison in ("LessThanLowerOrGreaterThanUpperThreshold", "GreaterThanUpperThreshold")
    if rule.band:
        if uses_lower:
            data["recentLowerThresholds"] = [p.lower for p in evaluated]
        if uses_upper:
            data["recentUpperThresholds"] = [p.upper for p in evaluated]
    else:
        data["threshold"] = rule.threshold
    items = []
    for p in reversed(evaluated):
        item: dict[str, Any] = {"timestamp": _iso(p.timestamp_ms)}
        if p.samples is not None:
            item["sampleCount"] = p.samples
        item["value"] = p.value
        if rule.band and uses_lower and uses_upper:
            item["lowerThreshold"], item["upperThreshold"] = p.lower, p.upper
        elif rule.band:
            item["threshold"] = p.lower if uses_lower else p.upper
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
