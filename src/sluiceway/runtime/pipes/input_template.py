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

Pure: no I/O; the caller passes the ingestion time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from ...events.transform import fill_template, parse_filled
from ...types import JSON

__all__ = ["MAX_TEMPLATE_CHARS", "PipeVariables", "placeholder_problems", "read_path", "render", "render_all"]

MAX_TEMPLATE_CHARS: Final = 8192
_PLACEHOLDER: Final = re.compile(r"<([^<>]*)>")
_PATH: Final = re.compile(r"\$((\.[\w/_-]+|\[(\d+|\*)\])*)")
_STEP: Final = re.compile(r"\.([\w/_-]+)|\[(\d+|\*)\]")
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


def render(template: str, event: JSON, variables: PipeVariables, *, ingestion_time: str) -> JSON:
    """What the enrichment or target gets for one record: the filled template as JSON (or text)."""
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
    for name in _PLACEHOLDER.findall(template):
        if name in values:
            continue
        found, value = read_path(name, event)
        if found:
            values[name] = value
    return parse_filled(fill_template(template, values))


def render_all(template: str | None, events: list[JSON], variables: PipeVariables, *, ingestion_time: str) -> list[JSON]:
    """Each event transformed on its own (no template: the events as they are)."""
    if not template:
        return list(events)
    return [render(template, event, variables, ingestion_time=ingestion_time) for event in events]
