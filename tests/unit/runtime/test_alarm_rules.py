"""CloudWatch's alarm evaluation rules (runtime/_alarm_rules.py), from the tables of CloudWatch's user guide."""

from __future__ import annotations

import json

import pytest

from sluiceway.runtime._alarm_rules import Point, Rule, evaluate, evaluation_end_ms, evaluation_range

PERIOD = 300
END_MS = 1_780_000_200_000  # a whole minute
NOW_MS = END_MS - 30_000


def points(pattern: str, rule: Rule) -> list[Point]:
    """``"0 - X - X"``, oldest first over the evaluation range: 0 within the threshold, X breaching, - missing."""
    slots = pattern.split()
    assert len(slots) == evaluation_range(rule)
    found = []
    for index, slot in enumerate(slots):
        start = END_MS - (len(slots) - index) * rule.period_s * 1000
        if slot != "-":
            found.append(Point(start, 10.0 if slot == "X" else 0.0, 1.0))
    return found


def rule(m: int, n: int, treat: str = "missing", comparison: str = "GreaterThanThreshold", m_set: bool = True) -> Rule:
    return Rule(comparison, 5.0, n, PERIOD, m if m_set else None, treat, "Sum")


TREATMENTS = ("missing", "ignore", "breaching", "notBreaching")

# CloudWatch user guide, "How alarm state is evaluated when data is missing": 3 out of 3.
THREE_OF_THREE = [
    ("0 - X - X", ("OK", "OK", "OK", "OK")),
    ("0 - - - -", ("OK", "OK", "OK", "OK")),
    ("- - - - -", ("INSUFFICIENT_DATA", None, "ALARM", "OK")),
    ("0 X X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("- - - - X", ("INSUFFICIENT_DATA", None, "ALARM", "OK")),
    ("X - - - -", ("ALARM", None, "ALARM", "OK")),
]
# ...and 2 out of 3.
TWO_OF_THREE = [
    ("0 - X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0 0 X 0 X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    ("0 - X - -", ("OK", "OK", "ALARM", "OK")),
    ("- - - - 0", ("OK", "OK", "ALARM", "OK")),
    ("- - - - X", ("INSUFFICIENT_DATA", None, "ALARM", "OK")),
]


@pytest.mark.parametrize(("m", "table"), [(3, THREE_OF_THREE), (2, TWO_OF_THREE)], ids=["3-of-3", "2-of-3"])
@pytest.mark.parametrize("treat_index", range(4), ids=TREATMENTS)
def test_the_user_guides_tables(m: int, table: list[tuple[str, tuple[str | None, ...]]], treat_index: int) -> None:
    for pattern, expected in table:
        r = rule(m, 3, TREATMENTS[treat_index])
        verdict = evaluate(r, points(pattern, r), end_ms=END_MS, now_ms=NOW_MS)
        assert verdict.state == expected[treat_index], (pattern, TREATMENTS[treat_index])


@pytest.mark.parametrize(
    ("comparison", "value", "breaches"),
    [
        ("GreaterThanThreshold", 5.0, False),
        ("GreaterThanThreshold", 5.5, True),
        ("GreaterThanOrEqualToThreshold", 5.0, True),
        ("GreaterThanOrEqualToThreshold", 4.9, False),
        ("LessThanThreshold", 5.0, False),
        ("LessThanThreshold", 4.9, True),
        ("LessThanOrEqualToThreshold", 5.0, True),
        ("LessThanOrEqualToThreshold", 5.1, False),
    ],
)
def test_each_comparison(comparison: str, value: float, breaches: bool) -> None:
    r = Rule(comparison, 5.0, 1, 60, None, "missing", "Maximum")
    verdict = evaluate(r, [Point(END_MS - 60_000, value, 1.0)], end_ms=END_MS, now_ms=NOW_MS)
    assert verdict.state == ("ALARM" if breaches else "OK")


def test_m_out_of_n_counts_breaches_anywhere_in_the_last_n() -> None:
    r = Rule("GreaterThanThreshold", 5.0, 4, 60, 2, "missing", "Sum")
    stamps = [END_MS - k * 60_000 for k in (4, 3, 2, 1)]
    assert evaluate(r, [Point(t, v) for t, v in zip(stamps, (9, 0, 9, 0), strict=True)], end_ms=END_MS, now_ms=NOW_MS).state == "ALARM"
    assert evaluate(r, [Point(t, v) for t, v in zip(stamps, (9, 0, 0, 0), strict=True)], end_ms=END_MS, now_ms=NOW_MS).state == "OK"


def test_the_newest_n_real_points_decide_when_there_are_more() -> None:
    r = Rule("GreaterThanThreshold", 5.0, 2, 60, None, "breaching", "Sum")
    stamps = [END_MS - k * 60_000 for k in (4, 3, 2, 1)]
    # The two oldest breach, the two newest do not: only the newest N count.
    verdict = evaluate(r, [Point(t, v) for t, v in zip(stamps, (9, 9, 0, 0), strict=True)], end_ms=END_MS, now_ms=NOW_MS)
    assert verdict.state == "OK"


def test_reason_and_reason_data_as_cloudwatch_writes_them() -> None:
    r = Rule("GreaterThanOrEqualToThreshold", 1.0, 1, 60, None, "missing", "Sum")
    stamp = 1_778_547_720_000  # 2026-05-12 01:02:00 UTC
    verdict = evaluate(r, [Point(stamp, 5.0, 5.0)], end_ms=stamp + 60_000, now_ms=stamp + 30_000)
    assert verdict.state == "ALARM"
    assert verdict.reason == "Threshold Crossed: 1 datapoint [5.0 (12/05/26 01:02:00)] was greater than or equal to the threshold (1.0)."
    data = json.loads(verdict.reason_data or "")
    assert data["version"] == "1.0"
    assert data["statistic"] == "Sum" and data["period"] == 60 and data["threshold"] == 1.0
    assert data["recentDatapoints"] == [5.0]
    assert data["evaluatedDatapoints"] == [{"timestamp": "2026-05-12T01:02:00.000+0000", "sampleCount": 5.0, "value": 5.0}]
    assert data["queryDate"] == "2026-05-12T01:02:30.000+0000"


def test_m_of_n_reasons_name_the_transition() -> None:
    r = Rule("GreaterThanThreshold", 1.0, 3, 60, 2, "missing", "Sum")
    stamps = [END_MS - k * 60_000 for k in (3, 2, 1)]
    alarm = evaluate(r, [Point(t, v) for t, v in zip(stamps, (2, 0, 3), strict=True)], end_ms=END_MS, now_ms=NOW_MS)
    assert alarm.reason.startswith("Threshold Crossed: 2 out of the last 3 datapoints [3.0 (")
    assert alarm.reason.endswith("were greater than the threshold (1.0) (minimum 2 datapoints for OK -> ALARM transition).")
    ok = evaluate(r, [Point(t, v) for t, v in zip(stamps, (2, 0, 0), strict=True)], end_ms=END_MS, now_ms=NOW_MS)
    assert ok.state == "OK"
    assert ok.reason.endswith("were not greater than the threshold (1.0) (minimum 2 datapoints for ALARM -> OK transition).")


def test_missing_data_reasons() -> None:
    r = rule(1, 1, "breaching", m_set=False)
    assert evaluate(r, [], end_ms=END_MS, now_ms=NOW_MS).reason == (
        "Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [Breaching]."
    )
    r = rule(2, 2, "missing", m_set=False)
    assert evaluate(r, [], end_ms=END_MS, now_ms=NOW_MS).reason == "Insufficient Data: 2 datapoints were unknown."


@pytest.mark.parametrize(
    ("now_s", "period", "end_s"),
    [(125, 60, 120), (120, 60, 120), (179, 60, 120), (125, 300, 120), (125, 10, 120), (129, 10, 120), (130, 10, 130), (125, 30, 120)],
)
def test_only_complete_periods_are_evaluated(now_s: int, period: int, end_s: int) -> None:
    # The newest period evaluated is the last complete one: it ends where the minute (or the
    # 10/30-second step) now is in began; the period still filling is not evaluated yet.
    assert evaluation_end_ms(now_s * 1000, period) == end_s * 1000
