"""Pipes' ``InputTemplate``: ``<$.path>`` and ``<aws.pipes.*>`` placeholders filled from one event.

Pipes' input transformation (its user guide, "Amazon EventBridge Pipes input transformation")
differs from an EventBridge rule's InputTransformer in where the values come from, not in how
they are written into the text, so the writing is :func:`sluiceway.events.transform.fill_template`'s:

* A placeholder is a JSON path on the event (``<$.body.orderId>``, ``<$.dynamodb.NewImage.id.S>``)
  or a reserved variable: ``aws.pipes.pipe-arn``, ``aws.pipes.pipe-name``, ``aws.pipes.source-arn``,
  ``aws.pipes.enrichment-arn``, ``aws.pipes.target-arn``, ``aws.pipes.event.ingestion-time``,
  ``aws.pipes.event`` (the event as the transformer got it) and ``aws.pipes.event.json`` (the same
  with its encoded field, an SQS ``body``, decoded when it holds JSON).
* Paths support dot notation, array indexes and ``[*]``; a path that walks into a string holding
  JSON (an SQS message's ``body``) reads the parsed value, as Pipes does ("if the event payload is
  a valid JSON string ... EventBridge extracts the value").
* Quoting is the rule's: a placeholder inside a string literal is text, one where a value goes is
  a JSON value (so a path to a string is quoted in the template, one to an object is not).
* Each record of a batch is transformed on its own ("Input transformers are applied separately on
  each individual JSON record in the array").
* The source's encoded field (an SQS message's ``body``, a Kinesis record's ``data``) holding JSON
  is read as that JSON (implicit body data parsing), and an object or array a path reads is written
  without its inner quotes where it lands in text: inside a string literal, or anywhere in a
  template that is not a JSON object. So ``<$.body>`` of ``{"key": "value"}`` gives the text
  ``{key:value}``, as the user guide warns, and a Lambda function or state machine, which take
  JSON only, fails the batch on it (:class:`TemplateError`).
* A target parameter that is a whole JSON path (``"MessageGroupId": "$.body.group"``) is read from
  each event (:func:`dynamic_parameter`).

Pure: no I/O; the caller passes the ingestion time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from ...events.transform import fill_template, is_json_template, parse_filled
from ...types import JSON

__all__ = [
    "MAX_TEMPLATE_CHARS",
    "PipeVariables",
    "TemplateError",
    "dynamic_parameter",
    "placeholder_problems",
    "read_path",
    "render",
    "render_all",
]

MAX_TEMPLATE_CHARS: Final = 8192
_PLACEHOLDER: Final = re.compile(r"<([^<>]*)>")
_PATH: Final = re.compile(r"\$((\.[\w/_-]+|\[(\d+|\*)\])*)")
_STEP: Final = re.compile(r"\.([\w/_-]+)|\[(\d+|\*)\]")
#: The sources' encoded fields, read as the JSON they hold (implicit body data parsing).
_ENCODED_FIELDS: Final = frozenset({"$.body", "$.data"})
_RESERVED: Final = frozenset(
    {
        "aws.pipes.pipe-arn",
        "aws.pipes.pipe-name",
        "aws.pipes.source-arn",
        "aws.pipes.enrichment-arn",
        "aws.pipes.target-arn",
        "aws.pipes.event.ingestion-time",
        "aws.pipes.event",
        "aws.pipes.event.json",
    }
)


class TemplateError(ValueError):
    """A template's output is not the JSON its enrichment or target requires."""


@dataclass(frozen=True)
class PipeVariables:
    """What the reserved variables name for one pipe."""

    pipe_arn: str
    pipe_name: str
    source_arn: str
    target_arn: str
    enrichment_arn: str = ""


class _Absent:
    pass


_ABSENT: Final = _Absent()


def _decoded(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return _ABSENT
    return value


def read_path(path: str, event: JSON) -> tuple[bool, JSON]:
    """(found, value) of a Pipes JSON path on ``event``; a ``[*]`` step gives a list."""
    match = _PATH.fullmatch(path)
    if match is None:
        return False, None
    values: list[Any] = [event]
    spread = False
    for step in _STEP.finditer(match.group(1)):
        name, index = step.group(1), step.group(2)
        following: list[Any] = []
        for value in values:
            current = _decoded(value) if isinstance(value, str) else value
            if name is not None:
                if isinstance(current, dict) and name in current:
                    following.append(current[name])
            elif index == "*":
                spread = True
                if isinstance(current, list):
                    following.extend(current)
                elif isinstance(current, dict):
                    following.extend(current.values())
            elif isinstance(current, list) and int(index) < len(current):
                following.append(current[int(index)])
        values = following
        if not values and not spread:
            return False, None
    if spread:
        return True, values
    return True, values[0]


def placeholder_problems(template: str) -> list[str]:
    """Placeholders Pipes would refuse: neither a JSON path nor a reserved variable."""
    return [
        f"Invalid InputTemplate placeholder <{name}>."
        for name in _PLACEHOLDER.findall(template)
        if name not in _RESERVED and _PATH.fullmatch(name) is None
    ]


def _event_json(event: JSON) -> JSON:
    if isinstance(event, dict) and isinstance(event.get("body"), str):
        body = _decoded(event["body"])
        if not isinstance(body, _Absent):
            return {**event, "body": body}
    return event


def _unquoted(value: JSON) -> str:
    """An object or array as Pipes writes it into text: JSON without its quotes."""
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{_unquoted(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_unquoted(v) for v in value) + "]"
    if isinstance(value, str):
        return value
    return json.dumps(value)


def _path_value(name: str, event: JSON) -> tuple[bool, JSON]:
    found, value = read_path(name, event)
    if not found:
        return False, None
    if name in _ENCODED_FIELDS and isinstance(value, str):
        decoded = _decoded(value)
        if not isinstance(decoded, _Absent):
            return True, decoded
    return True, value


def render(template: str, event: JSON, variables: PipeVariables, *, ingestion_time: str, json_only: bool = False) -> JSON:
    """What the enrichment or target gets for one record: the filled template as JSON (or text).

    Raises:
        TemplateError: ``json_only`` and the filled template is not JSON.
    """
    values: dict[str, JSON] = {
        "aws.pipes.pipe-arn": variables.pipe_arn,
        "aws.pipes.pipe-name": variables.pipe_name,
        "aws.pipes.source-arn": variables.source_arn,
        "aws.pipes.enrichment-arn": variables.enrichment_arn,
        "aws.pipes.target-arn": variables.target_arn,
        "aws.pipes.event.ingestion-time": ingestion_time,
        "aws.pipes.event": event,
        "aws.pipes.event.json": _event_json(event),
    }
    in_text = not is_json_template(template)
    flattened: set[str] = set()
    for name in _PLACEHOLDER.findall(template):
        if name in values:
            continue
        found, value = _path_value(name, event)
        if not found:
            continue
        if in_text and isinstance(value, dict | list):
            value = _unquoted(value)
            flattened.add(name)
        values[name] = value
    text = fill_template(template, values)
    filled = parse_filled(text)
    # parse_filled hands back the very text it could not read as JSON. A template that is one
    # placeholder reading a string is still JSON (Pipes quotes string values itself); an object
    # flattened into text is not.
    single = _PLACEHOLDER.fullmatch(template.strip())
    quoted = single is not None and isinstance(values.get(single.group(1)), str) and single.group(1) not in flattened
    if json_only and filled is text and not quoted:
        raise TemplateError(f"The InputTemplate did not produce valid JSON: {text[:256]}")
    return filled


def render_all(
    template: str | None, events: list[JSON], variables: PipeVariables, *, ingestion_time: str, json_only: bool = False
) -> list[JSON]:
    """Each event transformed on its own (no template: the events as they are).

    Raises:
        TemplateError: ``json_only`` and an event's filled template is not JSON.
    """
    if not template:
        return list(events)
    return [render(template, event, variables, ingestion_time=ingestion_time, json_only=json_only) for event in events]


def dynamic_parameter(value: Any, event: JSON) -> str | None:
    """A target parameter's value for ``event``: a whole JSON path (``$.body.group``) is read from the
    event (None when it reads nothing), any other string is itself (Pipes' dynamic path parameters)."""
    if not isinstance(value, str):
        return None
    if not (value.startswith("$.") and _PATH.fullmatch(value)):
        return value
    found, read = read_path(value, event)
    if not found or read is None:
        return None
    return read if isinstance(read, str) else json.dumps(read)
