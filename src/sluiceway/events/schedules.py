"""Schedule expressions as EventBridge and EventBridge Scheduler read them: ``rate()``, ``cron()``, ``at()``.

* ``rate(value unit)``: a positive whole number and ``minute(s)``, ``hour(s)`` or ``day(s)``;
  EventBridge rules want the singular for 1 and the plural otherwise (``rate(1 minutes)`` is
  refused); EventBridge Scheduler takes either form.
  Occurrences are ``start + k * period``.
* ``cron(minutes hours day-of-month month day-of-week year)``: AWS's six fields, with
  ``, - * /`` everywhere, ``?`` in one of the two day fields (exactly one of them: AWS
  refuses a value in both), ``L`` and ``W`` in day-of-month (``L``, ``LW``, ``15W``), ``L``
  and ``#`` in day-of-week (``6L``: the last Friday; ``2#1``: the first Monday). Months are
  1-12 or JAN-DEC, days of the week 1-7 or SUN-SAT (1 is Sunday), years 1970-2199.
  Fields are wall-clock times in the schedule's time zone.
* ``at(yyyy-mm-ddThh:mm:ss)``: one time, in the schedule's time zone (Scheduler only).

Daylight saving time: a wall-clock time that does not exist (spring forward) runs at the
same UTC offset as before the change, that is once, shifted forward by the gap; a time
that happens twice (fall back) runs once, the first time. EventBridge Scheduler's guide
says it "adjusts" for daylight saving without saying more; running each wall-clock time
once is what its users expect.

The module is pure: callers pass every time in.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Final, TypeAlias

__all__ = [
    "At",
    "Cron",
    "Rate",
    "Schedule",
    "ScheduleExpressionError",
    "parse_schedule",
]

_MONTHS: Final = {name: i for i, name in enumerate(
    ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), start=1
)}  # fmt: skip
_WEEKDAYS: Final = {name: i for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), start=1)}
_RATE: Final = re.compile(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)")
_AT: Final = re.compile(r"at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)")
_CRON: Final = re.compile(r"cron\(([^()]*)\)")
_UNIT_SECONDS: Final = {"minute": 60, "hour": 3600, "day": 86_400}
_MIN_YEAR: Final = 1970
_MAX_YEAR: Final = 2199


class ScheduleExpressionError(ValueError):
    """A schedule expression AWS would refuse; ``str()`` says what is wrong."""


@dataclass(frozen=True)
class Rate:
    """``rate(value unit)``: every ``period`` from the schedule's start."""

    expression: str
    period: timedelta

    def occurrences(self, after: datetime, *, start: datetime, zone: tzinfo = UTC) -> Iterator[datetime]:
        """Occurrences strictly after ``after`` (UTC), in order, from ``start`` on."""
        del zone  # a rate is a duration: the same in every time zone
        if after < start:
            first = start
        else:
            steps = int((after - start) / self.period) + 1
            first = start + steps * self.period
        when = first
        while True:
            yield when
            when += self.period


@dataclass(frozen=True)
class At:
    """``at(yyyy-mm-ddThh:mm:ss)``: once, at a wall-clock time of the schedule's time zone."""

    expression: str
    local: datetime
    """The time as written (naive)."""

    def occurrences(self, after: datetime, *, start: datetime, zone: tzinfo = UTC) -> Iterator[datetime]:
        # Scheduler ignores StartDate for one-time schedules (its API reference says so).
        del start
        when = _to_utc(self.local, zone)
        if when > after:
            yield when


@dataclass(frozen=True)
class _DaySpec:
    """Day-of-month or day-of-week: plain values, or one of AWS's special forms."""

    values: frozenset[int] = frozenset()
    last: bool = False
    """``L`` in day-of-month: the month's last day."""
    last_weekday: bool = False
    """``LW``: the month's last weekday (Monday to Friday)."""
    nearest_weekday: int | None = None
    """``15W``: the weekday nearest the 15th, in the same month."""
    last_of: int | None = None
    """``6L`` in day-of-week: the month's last Friday."""
    nth: tuple[int, int] | None = None
    """``2#1`` in day-of-week: (weekday, n): the month's first Monday."""


@dataclass(frozen=True)
class Cron:
    """``cron(minutes hours day-of-month month day-of-week year)`` (see the module docstring)."""

    expression: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    months: tuple[int, ...]
    years: tuple[int, ...]
    day_of_month: _DaySpec | None
    """None when the field is ``?``."""
    day_of_week: _DaySpec | None
    """None when the field is ``?``."""

    def days(self, year: int, month: int) -> list[int]:
        """The days of ``month`` this expression runs on, in order."""
        length = calendar.monthrange(year, month)[1]
        if self.day_of_month is not None:
            return _month_days(self.day_of_month, year, month, length)
        assert self.day_of_week is not None
        return _week_days(self.day_of_week, year, month, length)

    def occurrences(self, after: datetime, *, start: datetime, zone: tzinfo = UTC) -> Iterator[datetime]:
        """Occurrences strictly after ``after`` and not before ``start`` (UTC), in order."""
        floor = max(after, start - timedelta(microseconds=1))
        local = floor.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
        # Walk the fields from the year down; a field restarts from its first value once a
        # larger field has moved past the starting point.
        for year in self.years:
            if year < local.year:
                continue
            for month in self.months:
                if (year, month) < (local.year, local.month):
                    continue
                for day in self.days(year, month):
                    if (year, month, day) < (local.year, local.month, local.day):
                        continue
                    for hour in self.hours:
                        if (year, month, day, hour) < (local.year, local.month, local.day, local.hour):
                            continue
                        for minute in self.minutes:
                            wall = datetime(year, month, day, hour, minute)  # noqa: DTZ001 - a wall-clock time of ``zone``
                            if wall < local:
                                continue
                            when = _to_utc(wall, zone)
                            if when > floor:
                                yield when


Schedule: TypeAlias = Rate | Cron | At


def parse_schedule(text: str, *, allow_at: bool = True, allow_cron: bool = True, units_agree: bool = True) -> Schedule:
    """Read a schedule expression.

    Args:
        text: ``rate(...)``, ``cron(...)`` or ``at(...)``.
        allow_at: whether one-time ``at()`` expressions are allowed (Scheduler: yes; rules: no).
        allow_cron: whether ``cron()`` is allowed.
        units_agree: whether a rate's unit must be singular for 1 and plural otherwise (rules: yes).

    Raises:
        ScheduleExpressionError: the expression is not valid (callers word AWS's message).
    """
    if not isinstance(text, str):
        raise ScheduleExpressionError("a schedule expression is text")
    if rate := _RATE.fullmatch(text):
        value, unit = int(rate[1]), rate[2]
        if value < 1:
            raise ScheduleExpressionError("a rate's value is a positive whole number")
        # Rules: "If the value is equal to 1, then the unit must be singular." Scheduler's reference
        # lists "minute | minutes | hour | hours | day | days" without that rule, and published SAM
        # apps deploy Scheduler schedules of rate(5 minute) (not confirmed by a recording of ours).
        if units_agree and (value == 1) != (not unit.endswith("s")):
            raise ScheduleExpressionError("a rate of 1 takes a singular unit and other values a plural one")
        return Rate(text, timedelta(seconds=value * _UNIT_SECONDS[unit.rstrip("s")]))
    if at := _AT.fullmatch(text):
        if not allow_at:
            raise ScheduleExpressionError("at() expressions are for one-time schedules of EventBridge Scheduler")
        try:
            year, month, day, hour, minute, second = (int(part) for part in at.groups())
            local = datetime(year, month, day, hour, minute, second)  # noqa: DTZ001 - a wall-clock time of the schedule's zone
        except ValueError as exc:
            raise ScheduleExpressionError(f"no such time: {exc}") from None
        return At(text, local)
    if (cron := _CRON.fullmatch(text)) and allow_cron:
        return _cron(text, cron[1])
    raise ScheduleExpressionError("use rate(value unit), cron(six fields)" + (" or at(yyyy-mm-ddThh:mm:ss)" if allow_at else ""))


def _cron(text: str, body: str) -> Cron:
    fields = body.split()
    if len(fields) != 6 or body != body.strip():
        raise ScheduleExpressionError("a cron expression has six fields separated by spaces")
    minutes, hours, dom, months, dow, years = fields
    if (dom == "?") == (dow == "?"):
        # AWS: a value or * in one of the day fields needs a ? in the other.
        raise ScheduleExpressionError("exactly one of day-of-month and day-of-week must be ?")
    return Cron(
        text,
        minutes=_values(minutes, 0, 59, {}),
        hours=_values(hours, 0, 23, {}),
        months=_values(months, 1, 12, _MONTHS),
        years=_values(years, _MIN_YEAR, _MAX_YEAR, {}),
        day_of_month=None if dom == "?" else _day_of_month(dom),
        day_of_week=None if dow == "?" else _day_of_week(dow),
    )


def _number(text: str, low: int, high: int, names: dict[str, int]) -> int:
    upper = text.upper()
    if upper in names:
        return names[upper]
    if not text.isdigit():
        raise ScheduleExpressionError(f"{text!r} is not a value of this field")
    value = int(text)
    if not low <= value <= high:
        raise ScheduleExpressionError(f"{value} is outside {low}-{high}")
    return value


def _values(field: str, low: int, high: int, names: dict[str, int]) -> tuple[int, ...]:
    """The values of a field made of ``,``-separated ``*``, ``a``, ``a-b``, each with an optional ``/step``."""
    found: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        if "/" in part and (not step_text.isdigit() or int(step_text) < 1):
            raise ScheduleExpressionError(f"{part!r}: the increment is a positive whole number")
        step = int(step_text) if step_text else 1
        if base == "*":
            first, last = low, high
        elif "-" in base:
            left, _, right = base.partition("-")
            first, last = _number(left, low, high, names), _number(right, low, high, names)
        else:
            first = _number(base, low, high, names)
            # "5/15": from 5 to the end of the range, every 15.
            last = high if step_text else first
        span = range(first, last + 1) if first <= last else [*range(first, high + 1), *range(low, last + 1)]
        found.update(list(span)[::step])
    return tuple(sorted(found))


def _day_of_month(field: str) -> _DaySpec:
    upper = field.upper()
    if upper == "L":
        return _DaySpec(last=True)
    if upper == "LW":
        return _DaySpec(last_weekday=True)
    if upper.endswith("W"):
        return _DaySpec(nearest_weekday=_number(upper[:-1], 1, 31, {}))
    return _DaySpec(values=frozenset(_values(field, 1, 31, {})))


def _day_of_week(field: str) -> _DaySpec:
    upper = field.upper()
    if "#" in upper:
        day, _, nth = upper.partition("#")
        return _DaySpec(nth=(_number(day, 1, 7, _WEEKDAYS), _number(nth, 1, 5, {})))
    if upper == "L":
        return _DaySpec(values=frozenset({7}))  # L alone is the week's last day: Saturday
    if upper.endswith("L"):
        return _DaySpec(last_of=_number(upper[:-1], 1, 7, _WEEKDAYS))
    return _DaySpec(values=frozenset(_values(field, 1, 7, _WEEKDAYS)))


def _weekday(year: int, month: int, day: int) -> int:
    """AWS's numbering: 1 is Sunday, 7 is Saturday."""
    return (calendar.weekday(year, month, day) + 1) % 7 + 1


def _month_days(spec: _DaySpec, year: int, month: int, length: int) -> list[int]:
    if spec.last:
        return [length]
    if spec.last_weekday:
        day = length
        while _weekday(year, month, day) in (1, 7):
            day -= 1
        return [day]
    if spec.nearest_weekday is not None:
        target = spec.nearest_weekday
        if target > length:
            return []
        weekday = _weekday(year, month, target)
        if weekday == 7:  # Saturday: the Friday before, unless that leaves the month
            return [target - 1] if target > 1 else [target + 2]
        if weekday == 1:  # Sunday: the Monday after, unless that leaves the month
            return [target + 1] if target < length else [target - 2]
        return [target]
    return [d for d in sorted(spec.values) if d <= length]


def _week_days(spec: _DaySpec, year: int, month: int, length: int) -> list[int]:
    if spec.last_of is not None:
        day = length
        while _weekday(year, month, day) != spec.last_of:
            day -= 1
        return [day]
    if spec.nth is not None:
        weekday, nth = spec.nth
        matching = [d for d in range(1, length + 1) if _weekday(year, month, d) == weekday]
        return [matching[nth - 1]] if nth <= len(matching) else []
    return [d for d in range(1, length + 1) if _weekday(year, month, d) in spec.values]


def _to_utc(wall: datetime, zone: tzinfo) -> datetime:
    # fold=0: the first of two repeated times; a missing time keeps the offset from before the change.
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
