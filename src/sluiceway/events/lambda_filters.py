"""Lambda's event filtering: an event source mapping's ``FilterCriteria``, compiled once, matched per record.

``{"Filters": [{"Pattern": "<JSON text>"}, ...]}`` holds EventBridge event patterns (Lambda's
filter rules *are* EventBridge's: same operators, same refusals), so each ``Pattern`` is compiled
by :func:`~sluiceway.events.patterns.compile_pattern`. What Lambda adds, per its guide ("Control
which events Lambda sends to your function") and its API:

* Filters are OR'ed: a record Lambda keeps matches at least one. No ``Filters`` (or an empty
  list, or ``{}``, which is how UpdateEventSourceMapping removes them) keeps every record.
* At most five filters per mapping (Lambda's default quota; it can be raised to ten, hence
  ``max_filters``), each ``Pattern`` at most 4096 characters (the API's length constraint).
* A pattern Lambda cannot read is refused with ``InvalidParameterValueException``:
  ``Invalid filter pattern definition.``
* A pattern sees the record as Lambda would send it, except for its data key, which it sees
  parsed: ``body`` for SQS, ``data`` for Kinesis (base64, then UTF-8 JSON) and ``dynamodb`` for
  DynamoDB streams (already an object).
* SQS bodies may be any text. A body that is JSON is matched as the parsed value; any other
  body as the plain string. When the pattern's ``body`` and the message's body disagree in
  kind, Lambda drops the message rather than guess: a plain-string rule
  (``{"body": [...]}``) never keeps a JSON body, and a rule on fields of the body
  (``{"body": {...}}``) never keeps a plain one. A pattern without ``body`` skips the check.
* Stream records must carry JSON in their data key for a data rule to keep them, and a data
  rule that is not an object is refused when the mapping is created, as Lambda refuses it.

A record that matches no filter is discarded by the caller: an SQS message is deleted without
invoking the function (see ``runtime/messaging/triggers.py``), a stream record is stepped over.

The module is pure: no I/O, no clock.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from ..errors import EventPatternError
from .patterns import Pattern, compile_pattern

__all__ = [
    "DATA_KEYS",
    "MAX_FILTERS",
    "MAX_PATTERN_LENGTH",
    "FilterCriteria",
    "FilterCriteriaError",
    "Source",
    "compile_filter_criteria",
]

Source = Literal["sqs", "kinesis", "dynamodb"]
"""The event sources whose mappings take filters here."""

MAX_FILTERS: Final = 5
"""Filters per event source mapping: Lambda's default quota (AWS raises it to 10 on request)."""
MAX_PATTERN_LENGTH: Final = 4096
"""The API's length limit on one ``Pattern``."""
DATA_KEYS: Final[Mapping[Source, str]] = {"sqs": "body", "kinesis": "data", "dynamodb": "dynamodb"}
"""The key of each source's record that holds the payload, which filters see parsed."""

_INVALID_PATTERN: Final = "Invalid filter pattern definition."

_Shape = Literal["none", "leaf", "object", "both"]
"""What a filter says about the data key: nothing, a plain-string rule, rules on its fields, or both (in ``$or`` branches)."""


class FilterCriteriaError(ValueError):
    """``FilterCriteria`` that Lambda would refuse (a caller's mistake, so a ``ValueError``).

    Attributes:
        code: Lambda's error code: ``InvalidParameterValueException`` or ``ValidationException``.
        message: Lambda's message.
        reason: what is wrong, in plain words (the pattern compiler's own reason, say).
    """

    def __init__(self, code: str, message: str, reason: str = "") -> None:
        self.code = code
        self.message = message
        self.reason = reason
        super().__init__(f"{code}: {message}" + (f" ({reason})" if reason else ""))


@dataclass(frozen=True, eq=False)
class _Filter:
    pattern: Pattern
    shape: _Shape


@dataclass(frozen=True, eq=False)
class FilterCriteria:
    """Compiled ``FilterCriteria`` for one source. Build it with :func:`compile_filter_criteria`."""

    source: Source
    _filters: tuple[_Filter, ...]

    @property
    def patterns(self) -> tuple[str, ...]:
        """Each filter's ``Pattern`` text, as given."""
        return tuple(f.pattern.source for f in self._filters)

    def to_aws(self) -> dict[str, Any]:
        """Lambda's shape, as GetEventSourceMapping reports it: ``{"Filters": [{"Pattern": ...}]}``."""
        return {"Filters": [{"Pattern": text} for text in self.patterns]}

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether Lambda keeps ``record`` (as the function would get it in ``Records``).

        For Kinesis, ``record`` may be the whole record (``{"kinesis": {...}, "eventSource": ...}``)
        or its ``kinesis`` object: Lambda's filters see the ``kinesis`` object's keys
        (``partitionKey``, ``data``...) at the top.
        """
        if not self._filters:
            return True
        view, parsed = self._view(record)
        for f in self._filters:
            # The documented drops: a rule's kind of data disagreeing with the record's. A filter
            # mixing both kinds (in $or branches) is left to the matcher, which then keeps a record
            # only where a branch of the right kind matches it.
            if f.shape == "leaf" and parsed:
                continue
            if f.shape == "object" and not parsed:
                continue
            if f.pattern.matches(view):
                return True
        return False

    def _view(self, record: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
        """The record as the filters see it, and whether its data key held JSON."""
        if self.source == "sqs":
            body = record.get("body")
            parsed, ok = _json(body) if isinstance(body, str) else (None, False)
            return ({**record, "body": parsed} if ok else record), ok
        if self.source == "kinesis":
            inner = record.get("kinesis")
            fields: Mapping[str, Any] = inner if isinstance(inner, Mapping) else record
            data = fields.get("data")
            parsed, ok = _kinesis_data(data) if isinstance(data, str) else (None, False)
            if ok:
                return {**fields, "data": parsed}, True
            # Undecodable data is not there for a rule to see (a base64 string is not the payload).
            return {k: v for k, v in fields.items() if k != "data"}, False
        data = record.get("dynamodb")
        return record, isinstance(data, Mapping)


def compile_filter_criteria(criteria: Mapping[str, Any] | None, *, source: Source, max_filters: int = MAX_FILTERS) -> FilterCriteria:
    """Check and compile an event source mapping's ``FilterCriteria`` as Lambda does.

    Args:
        criteria: ``{"Filters": [{"Pattern": "<JSON>"}, ...]}``; None, ``{}`` or an empty list
            mean no filtering.
        source: the mapping's event source (decides the data key and its rules).
        max_filters: the account's quota (5 by default, up to 10).

    Returns:
        The compiled criteria (with no filters, it keeps every record).

    Raises:
        FilterCriteriaError: Lambda would refuse the criteria.
    """
    if source not in DATA_KEYS:
        raise ValueError(f"event filtering is not for {source!r} sources")
    if criteria is None:
        return FilterCriteria(source, ())
    if not isinstance(criteria, Mapping):
        raise FilterCriteriaError("InvalidParameterValueException", _INVALID_PATTERN, "FilterCriteria is not an object")
    filters = criteria.get("Filters")
    if filters is None:
        return FilterCriteria(source, ())
    if isinstance(filters, str | bytes) or not isinstance(filters, Sequence):
        raise FilterCriteriaError("InvalidParameterValueException", _INVALID_PATTERN, "Filters is not a list")
    if len(filters) > max_filters:
        # Lambda's exact wording for this refusal is not in our sources; the code is its error code.
        raise FilterCriteriaError(
            "InvalidParameterValueException",
            f"The number of filters in FilterCriteria ({len(filters)}) exceeds the quota of {max_filters}.",
        )
    compiled = []
    for index, entry in enumerate(filters, start=1):
        text = entry.get("Pattern") if isinstance(entry, Mapping) else None
        if isinstance(text, str) and len(text) > MAX_PATTERN_LENGTH:
            # The API's own length check, worded as AWS words every constraint violation.
            raise FilterCriteriaError(
                "ValidationException",
                f"1 validation error detected: Value '{text}' at 'filterCriteria.filters.{index}.member.pattern'"
                f" failed to satisfy constraint: Member must have length less than or equal to {MAX_PATTERN_LENGTH}",
            )
        compiled.append(_compile_filter(text, source))
    return FilterCriteria(source, tuple(compiled))


def _compile_filter(text: object, source: Source) -> _Filter:
    if not isinstance(text, str) or not text.strip():
        raise FilterCriteriaError("InvalidParameterValueException", _INVALID_PATTERN, "a filter has no Pattern")
    try:
        pattern = compile_pattern(text)
    except EventPatternError as exc:
        raise FilterCriteriaError("InvalidParameterValueException", _INVALID_PATTERN, str(exc)) from None
    key = DATA_KEYS[source]
    leaf = key in pattern.paths
    nested = any(p.startswith(key + ".") for p in pattern.paths)
    shape: _Shape = "both" if leaf and nested else "leaf" if leaf else "object" if nested else "none"
    if source != "sqs" and leaf:
        # Stream data is JSON, so Lambda takes only rules on its fields (refused at creation).
        raise FilterCriteriaError(
            "InvalidParameterValueException", _INVALID_PATTERN, f"the rule for {key!r} must be a JSON object, not a list of values"
        )
    return _Filter(pattern, shape)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _json(text: str) -> tuple[Any, bool]:
    """``text`` parsed as strict JSON (no NaN or Infinity, which Python alone would take); (None, False) if it is not."""
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        return None, False
    if isinstance(value, float) and not math.isfinite(value):  # 1e999: too large for any JSON reader
        return None, False
    return value, True


def _kinesis_data(data: str) -> tuple[Any, bool]:
    """Kinesis ``data`` (base64) decoded as UTF-8 JSON, as Lambda decodes it before filtering."""
    try:
        text = base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, False
    return _json(text)
