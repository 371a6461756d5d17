"""Wait: a timer for ``Seconds``/``SecondsPath`` or until ``Timestamp``/``TimestampPath``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from ... import jsonpath
from ...errors import StatesError
from ...types import JSON
from .. import jsonata as jsonata_lang
from .. import limits
from ..core import PathRecord, Run, StateType
from ..model import WaitState

__all__ = ["WaitType"]

_JAVA_LONG: Final = range(-(2**63), 2**63)
_LONG_TEXT: Final = re.compile(r"[+-]?\d+")


class WaitType(StateType[WaitState]):
    def execute(self, run: Run, path: PathRecord, state: WaitState) -> None:
        path["entered_event"] = path["last_event"]
        if path.get("waited"):
            return
        due = self._due(run, path, state)
        path["phase"] = "waiting"
        path["timer"] = run.arm_timer(path["pid"], "wait", due)

    def timer_fired(self, run: Run, path: PathRecord, state: WaitState, timer: Mapping[str, Any]) -> None:
        path["phase"] = "running"
        path.pop("timer", None)
        try:
            if state.query_language == "JSONata":
                output = run.jsonata_output(path, state, state.output, default=path["input"])
                run.assign_jsonata(path, state, state.assign)
            else:
                effective = run.effective_input(path, state)
                run.assign_jsonpath(path, state, effective)
                output = run.output_path(path, state, effective)
            run.exit_state(path, state, output)
        except StatesError as exc:
            run.state_failed(path, state, exc.error, run.runtime_cause(path, state, exc))

    def _due(self, run: Run, path: Mapping[str, Any], state: WaitState) -> datetime:
        if state.query_language == "JSONata":
            if state.seconds is not None:
                seconds = run.jsonata(state.seconds.value, path, state, "Seconds")
                return limits.later(run.now, _seconds(seconds, "Seconds", None))
            assert state.timestamp is not None
            stamp = run.jsonata(state.timestamp.value, path, state, "Timestamp")
            parsed = _parse_timestamp(stamp)
            if parsed is None:
                raise jsonata_lang.QueryEvaluationError(
                    "The Timestamp field cannot be parsed as an ISO-8601 extended offset date-time format string: "
                    + jsonpath.java_text(stamp),
                    location="Timestamp",
                )
            return parsed
        scope = run.scope(path, state, run.effective_input(path, state))
        if state.seconds is not None:
            if state.seconds.path is None:
                return limits.later(run.now, _seconds(state.seconds.value, "Seconds", None))
            value = _select(state.seconds.path, scope, "SecondsPath")
            return limits.later(run.now, _seconds(value, "SecondsPath", state.seconds.path))
        assert state.timestamp is not None
        if state.timestamp.path is None:
            return _timestamp(state.timestamp.value, "Timestamp", None)
        value = _select(state.timestamp.path, scope, "TimestampPath")
        return _timestamp(value, "TimestampPath", state.timestamp.path)


def _select(expression: str, scope: jsonpath.Scope, field_name: str) -> JSON:
    try:
        return jsonpath.select(expression, scope, field=field_name)
    except StatesError:
        raise StatesError("States.Runtime", f"The {field_name} parameter does not reference an input value: {expression}") from None


def _seconds(value: JSON, field_name: str, expression: str | None) -> float:
    """A wait in seconds. From a path, AWS reads the value as a Java long from its text (a string
    as it is, 1.5 as "1.5"): a fraction, a word, or a number past the long range (1e300, 10**30)
    "cannot be parsed as a long value", while "5" is 5 seconds."""
    if expression is not None:
        shown = jsonpath.java_text(value)
        where = f": {expression} == {shown}"
        value = int(shown) if _LONG_TEXT.fullmatch(shown) and int(shown) in _JAVA_LONG else None
    else:
        where = ""
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (isinstance(value, float) and not value.is_integer())
            or int(value) not in _JAVA_LONG
        ):
            value = None
    if value is None:
        raise StatesError("States.Runtime", f"The {field_name} parameter cannot be parsed as a long value{where}")
    if value < 0:
        raise StatesError("States.Runtime", f"The {field_name} parameter references a negative value{where}")
    # AWS documents Seconds as "from 0 up to 99999999"; what it does with a longer wait from a
    # path is not documented (no execution lives past a year). Failing says so; waiting for
    # centuries, or overflowing the calendar, would not.
    if value > limits.MAX_TIMER_SECONDS:
        raise StatesError("States.Runtime", f"The {field_name} parameter references a value greater than {limits.MAX_TIMER_SECONDS}{where}")
    return float(value)


def _parse_timestamp(value: JSON) -> datetime | None:
    """An ISO-8601 extended offset date-time (``2016-03-14T01:59:00Z``, ``...+01:00``), or None."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        if parsed.tzinfo is not None and "T" in value:
            return parsed
    return None


def _timestamp(value: JSON, field_name: str, expression: str | None) -> datetime:
    parsed = _parse_timestamp(value)
    if parsed is not None:
        return parsed
    # AWS quotes the value as Java prints it: a string without quotes.
    where = f": {expression} == {jsonpath.java_text(value)}" if expression else ""
    raise StatesError(
        "States.Runtime", f"The {field_name} parameter does not reference a valid ISO-8601 extended offset date-time format string{where}"
    )
