"""Pipes' InputTemplate: ``<$.path>`` and reserved variables, filled per record."""

from __future__ import annotations

import json

from sluiceway.runtime.pipes.input_template import PipeVariables, placeholder_problems, read_path, render

VARIABLES = PipeVariables(
    pipe_arn="arn:aws:pipes:us-east-1:111111111111:pipe/p",
    pipe_name="p",
    source_arn="arn:aws:sqs:us-east-1:111111111111:in",
    target_arn="arn:aws:sqs:us-east-1:111111111111:out",
)
RECORD = {"messageId": "m-1", "body": json.dumps({"order": {"id": 7, "items": ["a", "b"]}, "note": "hi"}), "attributes": {"SenderId": "S"}}


def _render(template: str) -> object:
    return render(template, RECORD, VARIABLES, ingestion_time="2026-01-01T00:00:00.000Z")


def test_paths_read_into_a_json_body_and_keep_json_types_outside_strings() -> None:
    assert _render('{"id": <$.body.order.id>, "items": <$.body.order.items>, "first": <$.body.order.items[0]>}') == {
        "id": 7,
        "items": ["a", "b"],
        "first": "a",
    }
    assert _render("<$.attributes.SenderId>") == "S"
    assert _render('"Hello, <$.attributes.SenderId> from <aws.pipes.pipe-name>"') == "Hello, S from p"


def test_reserved_variables() -> None:
    filled = _render('{"arn": <aws.pipes.pipe-arn>, "at": <aws.pipes.event.ingestion-time>, "event": <aws.pipes.event.json>}')
    assert isinstance(filled, dict)
    assert filled["arn"] == VARIABLES.pipe_arn and filled["at"] == "2026-01-01T00:00:00.000Z"
    assert filled["event"]["body"]["note"] == "hi"  # the .json variable decodes the body
    assert _render("<aws.pipes.event>") == RECORD


def test_missing_paths_and_wildcards() -> None:
    assert read_path("$.body.nope", RECORD) == (False, None)
    assert read_path("$.body.order.items[*]", RECORD) == (True, ["a", "b"])
    assert _render('{"missing": <$.body.nope>}') == {"missing": ""}


def test_placeholders_pipes_refuses() -> None:
    assert placeholder_problems('{"a": <$.body.a>, "b": <aws.pipes.pipe-name>}') == []
    assert placeholder_problems("<body.a>") == ["Invalid InputTemplate placeholder <body.a>."]
