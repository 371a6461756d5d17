"""What an EventBridge target receives: InputPath, Input and InputTransformer.

EventBridge hands a target the whole event unless the target says otherwise:

* ``Input``: constant JSON text, the event is ignored.
* ``InputPath``: a JSONPath on the event; the target gets what it selects
  (evaluated by :func:`sluiceway.jsonpath.lookup`, the JSONPath Step Functions shares).
* ``InputTransformer``: ``InputPathsMap`` names values in the event, and
  ``InputTemplate`` is text with ``<name>`` placeholders filled from them.

The template rules are AWS's (its "input transformation" guide and behaviour
recorded against EventBridge):

* In a JSON template, a placeholder outside a string literal stands for a JSON
  value: a string is inserted quoted (EventBridge adds the quotes a template
  leaves out), numbers, booleans and null as literals, objects and arrays as
  JSON. Outside a JSON template, strings there go in as they are.
* A placeholder inside a string literal is text: strings go in without their
  quotes, numbers and booleans as written, and objects or arrays lose their
  inner quotes (``{"a":"b"}`` becomes ``{a:b}``) so the string stays valid.
* A path that finds nothing gives the empty string: nothing inside a string,
  ``""`` as a value (``{"command": <missing>}`` becomes ``{"command": ""}``).
* A template whose first character is ``{`` is a JSON template and must be
  valid JSON once filled; a placeholder may not be an object key. Any other
  template is text, normally one quoted JSON string (``"Event <id> done"``);
  several quoted lines make a multi-line string, one line each.
* Predefined variables need no path: ``aws.events.rule-arn``,
  ``aws.events.rule-name``, ``aws.events.event.ingestion-time``,
  ``aws.events.event`` (the event without ``detail``, ``detail-type`` spelled
  ``detailType``) and ``aws.events.event.json`` (the whole event). Names in
  ``InputPathsMap`` may not shadow them.

One difference on purpose: EventBridge pastes string values into the text
without escaping them, so a value holding a quote can leave text that is not
JSON. Here values are escaped, so the target always gets JSON. Where the filled
text is still not JSON (a template that is not quoted), the target gets it as a
string.

The module is pure: no I/O, no clock; callers pass the ingestion time in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ..errors import StatesError
from ..jsonpath import Scope, lookup, validate_path
from ..types import JSON

__all__ = [
    "MAX_PATHS",
    "MAX_TEMPLATE_CHARS",
    "PREDEFINED_VARIABLES",
    "fill_template",
    "input_path_problems",
    "is_json_template",
    "parse_filled",
    "predefined_values",
    "select_input_path",
    "transform",
    "transformer_problems",
]

#: Variables every template may use without defining them (EventBridge reserves these names).
PREDEFINED_VARIABLES: Final = frozenset(
    {
        "aws.events.rule-arn",
        "aws.events.rule-name",
        "aws.events.event.ingestion-time",
        "aws.events.event",
        "aws.events.event.json",
    }
)
#: EventBridge's limits: InputPathsMap entries, InputTemplate length.
MAX_PATHS: Final = 100
MAX_TEMPLATE_CHARS: Final = 8192

_PLACEHOLDER: Final = re.compile(r"<([^<>]*)>")


class _Missing:
    """A variable whose path found nothing in the event."""

    def __repr__(self) -> str:
        return "MISSING"


_MISSING: Final = _Missing()


@dataclass(frozen=True, slots=True)
class _Slot:
    """One ``<name>`` in a template."""

    start: int
    end: int
    name: str
    in_string: bool
    """Inside a JSON string literal (text) rather than where a value goes."""
    is_key: bool = False
    """Used as an object key (outside a string followed by ``:``, or inside a quoted key)."""


def _next_char(text: str, index: int) -> str:
    while index < len(text) and text[index] in " \t\r\n":
        index += 1
    return text[index] if index < len(text) else ""


def _slots(template: str) -> Iterator[_Slot]:
    """The placeholders of ``template`` in order, each knowing whether it sits in a string."""
    in_string = False
    pending: list[_Slot] = []  # placeholders of the string literal being read
    i, n = 0, len(template)
    while i < n:
        ch = template[i]
        if in_string and ch == "\\" and i + 1 < n and template[i + 1] != "<":
            i += (
                2  # an escape; '<' cannot be escaped in a template, so it still opens a placeholder
            )
            continue
        if ch == '"':
            if in_string:
                key = _next_char(template, i + 1) == ":"
                for slot in pending:
                    yield _Slot(slot.start, slot.end, slot.name, True, key)
                pending = []
            in_string = not in_string
            i += 1
            continue
        if ch == "<":
            match = _PLACEHOLDER.match(template, i)
            if match is not None:
                if in_string:
                    pending.append(_Slot(match.start(), match.end(), match.group(1), True))
                else:
                    key = _next_char(template, match.end()) == ":"
                    yield _Slot(match.start(), match.end(), match.group(1), False, key)
                i = match.end()
                continue
        i += 1
    # An unterminated string: its placeholders are still text.
    yield from pending


def is_json_template(template: str) -> bool:
    """Whether ``template`` is a JSON template (its first non-blank character is ``{``)."""
    return template.lstrip().startswith("{")


def _dump(value: JSON) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _unquoted(value: JSON) -> str:
    """An object or array as EventBridge writes it inside a string: JSON without quotes."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_unquoted(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_unquoted(v) for v in value) + "]"
    if isinstance(value, str):
        return value
    return _dump(value)


def _as_text(value: JSON | _Missing) -> str:
    """A value placed inside a string literal, escaped for it."""
    if isinstance(value, _Missing):
        return ""
    text = _unquoted(value) if isinstance(value, dict | list | str) else _dump(value)
    return _dump(text)[1:-1]


def _as_value(value: JSON | _Missing, *, quote: bool) -> str:
    """A value placed where a JSON value goes; strings are quoted only in JSON templates."""
    if isinstance(value, _Missing):
        return '""' if quote else ""
    if isinstance(value, str) and not quote:
        return value
    return _dump(value)


def fill_template(template: str, values: Mapping[str, JSON]) -> str:
    """Fill ``template``'s placeholders from ``values``; a name not in ``values`` is missing.

    Args:
        template: an InputTemplate.
        values: variable name -> value found in the event (predefined variables included).

    Returns:
        The filled text, before it is read as JSON (see :func:`parse_filled`).
    """
    quote = is_json_template(template)
    out: list[str] = []
    last = 0
    for slot in _slots(template):
        value: JSON | _Missing = values.get(slot.name, _MISSING)
        out.append(template[last : slot.start])
        out.append(_as_text(value) if slot.in_string else _as_value(value, quote=quote))
        last = slot.end
    out.append(template[last:])
    return "".join(out)


def parse_filled(text: str) -> JSON:
    """What the target gets for a filled template: its JSON value.

    Several quoted lines (EventBridge's way to write multi-line text) give one
    string with a line break between them; text that is not JSON at all is
    passed on as a string.
    """
    try:
        return json.loads(text)
    except ValueError:
        pass
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    decoded: list[str] = []
    for line in lines:
        try:
            value = json.loads(line)
        except ValueError:
            return text
        if not isinstance(value, str):
            return text
        decoded.append(value)
    return "\n".join(decoded) if decoded else text


def predefined_values(
    event: Mapping[str, Any], *, rule_name: str, rule_arn: str, ingestion_time: str
) -> dict[str, JSON]:
    """The predefined variables for one event and rule.

    Args:
        event: the event as delivered (EventBridge's envelope).
        rule_name: the rule that matched.
        rule_arn: its ARN.
        ingestion_time: when the bus received the event (ISO 8601, UTC).
    """
    return {
        "aws.events.rule-arn": rule_arn,
        "aws.events.rule-name": rule_name,
        "aws.events.event.ingestion-time": ingestion_time,
        "aws.events.event": {
            ("detailType" if key == "detail-type" else key): value
            for key, value in event.items()
            if key != "detail"
        },
        "aws.events.event.json": dict(event),
    }


def _find(path: str, event: Mapping[str, Any]) -> tuple[bool, JSON]:
    try:
        return lookup(path, Scope(input=dict(event)))
    except StatesError:
        # Paths were checked when the target was put; a path that still cannot be
        # evaluated finds nothing, as EventBridge evaluates paths at run time.
        return False, None


def select_input_path(event: Mapping[str, Any], path: str) -> JSON:
    """What ``InputPath`` selects from ``event``; null when a definite path finds nothing."""
    found, value = _find(path, event)
    return value if found else None


def transform(
    event: Mapping[str, Any],
    *,
    input_paths_map: Mapping[str, str],
    input_template: str,
    rule_name: str,
    rule_arn: str,
    ingestion_time: str,
) -> JSON:
    """Apply an InputTransformer to ``event``.

    Args:
        event: the event as delivered.
        input_paths_map: variable name -> JSONPath on the event.
        input_template: the template with ``<name>`` placeholders.
        rule_name: the rule that matched (for the predefined variables).
        rule_arn: its ARN.
        ingestion_time: when the bus received the event (ISO 8601, UTC).

    Returns:
        The JSON value the target receives.
    """
    values = predefined_values(
        event, rule_name=rule_name, rule_arn=rule_arn, ingestion_time=ingestion_time
    )
    for name, path in input_paths_map.items():
        if name in PREDEFINED_VARIABLES:
            continue
        found, value = _find(path, event)
        if found:
            values[name] = value
    return parse_filled(fill_template(input_template, values))


def input_path_problems(path: str) -> list[str]:
    """Problems with a JSONPath used as InputPath or in InputPathsMap (empty when fine)."""
    if not isinstance(path, str) or not (path == "$" or path.startswith(("$.", "$["))):
        return [f"'{path}' is not a JSONPath on the event (it must start with '$')"]
    return validate_path(path)


def transformer_problems(
    input_paths_map: Mapping[str, str], input_template: str, *, target_id: str
) -> list[str]:
    """Everything PutTargets would refuse in an InputTransformer, first problem first.

    Args:
        input_paths_map: variable name -> JSONPath.
        input_template: the template.
        target_id: the target's id, for the messages.

    Returns:
        Messages (AWS's wording where we know it); empty when the transformer is valid.
    """
    problems: list[str] = []
    if not isinstance(input_template, str) or not input_template:
        return [f"InputTemplate for target {target_id} must be a non-empty string."]
    if len(input_template) > MAX_TEMPLATE_CHARS:
        problems.append(
            f"InputTemplate for target {target_id} is longer than {MAX_TEMPLATE_CHARS} characters."
        )
    if len(input_paths_map) > MAX_PATHS:
        problems.append(f"InputPathsMap for target {target_id} has more than {MAX_PATHS} entries.")
    for name, path in input_paths_map.items():
        if not name or _PLACEHOLDER.search(f"<{name}>") is None or name != name.strip():
            problems.append(f"InputPathsMap for target {target_id} has an invalid key '{name}'.")
        elif name in PREDEFINED_VARIABLES or name.lower().startswith("aws."):
            problems.append(
                f"InputPathsMap for target {target_id} uses the reserved name '{name}'."
            )
        problems.extend(
            f"InputPathsMap value for key '{name}' of target {target_id}: {issue}"
            for issue in input_path_problems(path)
        )
    known = set(input_paths_map) | PREDEFINED_VARIABLES
    json_template = is_json_template(input_template)
    for slot in _slots(input_template):
        if slot.name not in known:
            problems.append(
                f"InputTemplate for target {target_id} contains invalid placeholder {slot.name}."
            )
        elif json_template and slot.is_key:
            problems.append(
                f"InputTemplate for target {target_id} uses placeholder {slot.name} as an "
                "object key, which is not allowed."
            )
    if json_template and not problems:
        # Fill every placeholder with a stand-in value: what is left must be JSON.
        stand_ins: dict[str, JSON] = {name: None for name in known}
        try:
            json.loads(fill_template(input_template, stand_ins))
        except ValueError as exc:
            problems.append(
                f"InputTemplate for target {target_id} is not valid JSON: {exc.args[0]}"
            )
    return problems
