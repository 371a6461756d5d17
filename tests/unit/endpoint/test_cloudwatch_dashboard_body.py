"""PutDashboard's body check: what it refuses and what it only warns of."""

from __future__ import annotations

import json

import pytest

from sluiceway.endpoint.services._cloudwatch_dashboard_body import Finding, check_body


def test_an_empty_widgets_array_is_a_whole_dashboard() -> None:
    checked = check_body('{"widgets": [], "start": "-PT6H", "periodOverride": "inherit"}')
    assert checked.document is not None and checked.errors == () and checked.warnings == ()


@pytest.mark.parametrize("value", [6, 6.0, 24, 1])
def test_a_whole_number_is_an_integer_whatever_its_spelling(value: float) -> None:
    body = json.dumps({"widgets": [{"type": "text", "width": value, "properties": {}}]})
    assert check_body(body).errors == ()


@pytest.mark.parametrize(
    ("value", "message"), [(True, "Should be integer"), ("6", "Should be integer"), (6.5, "Should be integer"), (0, "Should be >= 1")]
)
def test_a_width_must_be_a_whole_number_on_the_grid(value: object, message: str) -> None:
    body = json.dumps({"widgets": [{"type": "text", "width": value, "properties": {}}]})
    assert check_body(body).errors == (Finding("/widgets/0/width", message),)


def test_a_height_may_reach_1000() -> None:
    def height(value: int) -> tuple[Finding, ...]:
        return check_body(json.dumps({"widgets": [{"type": "text", "height": value, "properties": {}}]})).errors

    assert height(1000) == ()
    assert height(1001) == (Finding("/widgets/0/height", "Should be <= 1000"),)


@pytest.mark.parametrize("body", ["", "null", "1", "[{}]", "{'widgets': []}"])
def test_what_is_not_a_json_object_is_not_checked_further(body: str) -> None:
    assert check_body(body).document is None


def test_x_stays_on_the_24_unit_grid() -> None:
    def x(value: int) -> tuple[Finding, ...]:
        return check_body(json.dumps({"widgets": [{"type": "text", "x": value, "properties": {}}]})).errors

    assert x(23) == ()
    assert x(24) == (Finding("/widgets/0/x", "Should be <= 23"),)


def test_a_body_nested_deeper_than_the_parser_goes_is_not_a_json_object() -> None:
    assert check_body('{"widgets": [' + "[" * 100_000 + "]" * 100_000 + "]}").document is None


def test_a_lone_surrogate_is_not_text_but_its_escape_is() -> None:
    assert check_body('{"widgets": [], "a": "\ud800"}').document is None
    assert check_body('{"widgets": [], "a": "\\ud800"}').document is not None
