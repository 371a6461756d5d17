"""Schedule expressions: what AWS accepts, and when each one comes due."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sluiceway.events.schedules import At, Cron, Rate, ScheduleExpressionError, parse_schedule

START = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


def first(expression: str, n: int, *, after: datetime = START, start: datetime = START, zone: str = "UTC") -> list[datetime]:
    schedule = parse_schedule(expression)
    return list(itertools.islice(schedule.occurrences(after, start=start, zone=ZoneInfo(zone)), n))


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "kind"),
    [
        ("rate(1 minute)", Rate),
        ("rate(5 minutes)", Rate),
        ("rate(1 day)", Rate),
        ("rate(12 hours)", Rate),
        ("cron(0 12 * * ? *)", Cron),
        ("cron(0/15 * ? * MON-FRI *)", Cron),
        ("cron(0 8 1 JAN,JUL ? 2026-2030)", Cron),
        ("cron(0 0 L * ? *)", Cron),
        ("cron(0 0 LW * ? *)", Cron),
        ("cron(0 0 15W * ? *)", Cron),
        ("cron(0 0 ? * 6L *)", Cron),
        ("cron(0 0 ? * 2#1 *)", Cron),
        ("at(2026-03-01T09:30:00)", At),
    ],
)
def test_aws_expressions_are_read(expression: str, kind: type) -> None:
    assert isinstance(parse_schedule(expression), kind)


@pytest.mark.parametrize(
    "expression",
    [
        "rate(1 minutes)",  # rules: the singular for 1
        "rate(2 minute)",
        "rate(0 minutes)",
        "rate(5 seconds)",
        "rate(-1 minutes)",
        "cron(* * * * * *)",  # both day fields given
        "cron(0 0 ? * ? *)",  # neither
        "cron(0 0 * * ?)",  # five fields
        "cron(60 0 * * ? *)",
        "cron(0 24 * * ? *)",
        "cron(0 0 32 * ? *)",
        "cron(0 0 ? * 8 *)",
        "cron(0 0 * 13 ? *)",
        "cron(0 0 * * ? 2200)",
        "cron(0/0 0 * * ? *)",
        "at(2026-02-30T00:00:00)",
        "at(2026-02-01 00:00:00)",
        "every 5 minutes",
        "",
    ],
)
def test_what_aws_refuses_is_refused(expression: str) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_schedule(expression)


def test_rules_take_no_at_expressions() -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_schedule("at(2026-03-01T09:30:00)", allow_at=False)


def test_a_rate_counts_from_its_start() -> None:
    assert first("rate(5 minutes)", 3, after=START - timedelta(seconds=1)) == [START, utc(2026, 1, 1, 0, 5), utc(2026, 1, 1, 0, 10)]
    # strictly after: an occurrence at `after` is not repeated
    assert first("rate(5 minutes)", 1, after=utc(2026, 1, 1, 0, 5)) == [utc(2026, 1, 1, 0, 10)]
    assert first("rate(1 hour)", 1, after=utc(2026, 1, 1, 0, 5)) == [utc(2026, 1, 1, 1)]


def test_cron_steps_ranges_and_names() -> None:
    assert first("cron(0/20 9-10 ? * MON-FRI *)", 4) == [
        utc(2026, 1, 1, 9),
        utc(2026, 1, 1, 9, 20),
        utc(2026, 1, 1, 9, 40),
        utc(2026, 1, 1, 10),
    ]
    # Friday 2 January, then Monday 5 January (no weekend)
    assert first("cron(30 23 ? * MON-FRI *)", 3)[1:] == [utc(2026, 1, 2, 23, 30), utc(2026, 1, 5, 23, 30)]
    assert first("cron(0 0 1 JAN,JUL ? 2026-2027)", 5, after=START - timedelta(seconds=1)) == [
        utc(2026, 1, 1),
        utc(2026, 7, 1),
        utc(2027, 1, 1),
        utc(2027, 7, 1),
    ]


def test_cron_special_days() -> None:
    assert first("cron(0 0 L * ? *)", 2) == [utc(2026, 1, 31), utc(2026, 2, 28)]
    # January 2026 ends on a Saturday: its last weekday is Friday the 30th
    assert first("cron(0 0 LW * ? *)", 1) == [utc(2026, 1, 30)]
    # 17 January 2026 is a Saturday: the nearest weekday is Friday the 16th; 1 Feb is a Sunday: Monday the 2nd
    assert first("cron(0 0 17W * ? *)", 1) == [utc(2026, 1, 16)]
    assert first("cron(0 0 1W * ? *)", 1) == [utc(2026, 2, 2)]
    assert first("cron(0 0 ? * 6L *)", 2) == [utc(2026, 1, 30), utc(2026, 2, 27)]  # last Fridays
    assert first("cron(0 0 ? * 2#1 *)", 2) == [utc(2026, 1, 5), utc(2026, 2, 2)]  # first Mondays
    assert first("cron(0 0 ? * 2#5 *)", 1) == [utc(2026, 3, 30)]  # the first month with five Mondays


def test_cron_reads_wall_clock_time_in_the_schedule_zone() -> None:
    assert first("cron(0 9 * * ? *)", 1, zone="Europe/Paris") == [utc(2026, 1, 1, 8)]
    assert first("cron(0 9 * * ? *)", 1, after=utc(2026, 7, 1), start=utc(2026, 7, 1), zone="Europe/Paris") == [utc(2026, 7, 1, 7)]
    # 02:30 does not exist on 8 March 2026 in New York: it runs once, shifted forward by the gap
    spring = first("cron(30 2 * * ? *)", 3, after=utc(2026, 3, 7, 12), start=START, zone="America/New_York")
    assert spring == [utc(2026, 3, 8, 7, 30), utc(2026, 3, 9, 6, 30), utc(2026, 3, 10, 6, 30)]
    # 01:30 happens twice on 1 November 2026: it runs once, the first time
    autumn = first("cron(30 1 * * ? *)", 2, after=utc(2026, 11, 1), start=START, zone="America/New_York")
    assert autumn == [utc(2026, 11, 1, 5, 30), utc(2026, 11, 2, 6, 30)]


def test_cron_respects_its_start_and_ends_with_its_years() -> None:
    assert first("cron(0 12 * * ? *)", 1, start=utc(2026, 5, 1)) == [utc(2026, 5, 1, 12)]
    assert first("cron(0 0 1 1 ? 2026)", 5, after=START - timedelta(seconds=1)) == [utc(2026, 1, 1)]
    assert first("cron(0 0 1 1 ? 2026)", 5) == []


def test_at_is_once_in_its_zone() -> None:
    assert first("at(2026-03-01T09:30:00)", 5, zone="Asia/Tokyo") == [utc(2026, 3, 1, 0, 30)]
    assert first("at(2026-03-01T09:30:00)", 1, after=utc(2026, 3, 1, 9, 30)) == []


@pytest.mark.parametrize(("expression", "minutes"), [("rate(5 minute)", 5), ("rate(1 minutes)", 1), ("rate(2 day)", 2880)])
def test_scheduler_takes_a_rate_unit_whatever_its_value(expression: str, minutes: int) -> None:
    with pytest.raises(ScheduleExpressionError):
        parse_schedule(expression)  # a rule's
    schedule = parse_schedule(expression, units_agree=False)
    assert isinstance(schedule, Rate) and schedule.period == timedelta(minutes=minutes)
