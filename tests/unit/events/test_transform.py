"""InputPath and InputTransformer, checked against the examples in EventBridge's guide and
behaviour recorded against EventBridge (missing values, predefined variables, odd templates)."""

from __future__ import annotations

import json
from typing import Any

from sluiceway.events.transform import (
    MAX_PATHS,
    PREDEFINED_VARIABLES,
    fill_template,
    input_path_problems,
    is_json_template,
    parse_filled,
    predefined_values,
    select_input_path,
    transform,
    transformer_problems,
)

# The EC2 event of EventBridge's input transformation guide.
EC2_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}
RULE_ARN = "arn:aws:events:us-east-2:123456789012:rule/example"


def apply(template: str, paths: dict[str, str] | None = None, event: Any = None) -> Any:
    return transform(
        EC2_EVENT if event is None else event,
        input_paths_map=PATHS if paths is None else paths,
        input_template=template,
        rule_name="example",
        rule_arn=RULE_ARN,
        ingestion_time="2015-11-11T21:29:55Z",
    )


# -- the guide's examples ------------------------------------------------------------------


def test_simple_string() -> None:
    assert apply('"instance <instance> is in <state>"') == "instance i-0123456789 is in RUNNING"


def test_string_with_escaped_quotes() -> None:
    assert (
        apply('"instance \\"<instance>\\" is in <state>"')
        == 'instance "i-0123456789" is in RUNNING'
    )


def test_simple_json_adds_the_quotes_a_string_needs() -> None:
    assert apply('{"instance" : <instance>, "state": <state>}') == {
        "instance": "i-0123456789",
        "state": "RUNNING",
    }


def test_json_with_strings_and_variables() -> None:
    template = (
        '{"instance" : <instance>, "state": "<state>", '
        '"instanceStatus": "instance \\"<instance>\\" is in <state>"}'
    )
    assert apply(template) == {
        "instance": "i-0123456789",
        "state": "RUNNING",
        "instanceStatus": 'instance "i-0123456789" is in RUNNING',
    }


def test_json_with_a_mix_of_variables_and_static_information() -> None:
    template = '{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}'
    assert apply(template) == {
        "instance": "i-0123456789",
        "state": [9, "RUNNING", True],
        "Transformed": "Yes",
    }


def test_reserved_variables_in_json() -> None:
    template = (
        '{"instance" : <instance>, "ruleArn" : <aws.events.rule-arn>, '
        '"ruleName" : <aws.events.rule-name>, "originalEvent" : <aws.events.event>, '
        '"whole": <aws.events.event.json>, "at": <aws.events.event.ingestion-time>}'
    )
    out = apply(template)
    assert out["ruleArn"] == RULE_ARN
    assert out["ruleName"] == "example"
    assert out["at"] == "2015-11-11T21:29:55Z"
    assert out["whole"] == EC2_EVENT
    # aws.events.event is the envelope without detail, with detail-type spelled detailType.
    assert "detail" not in out["originalEvent"]
    assert out["originalEvent"]["detailType"] == "EC2 Instance State-change Notification"
    assert out["originalEvent"]["id"] == EC2_EVENT["id"]
    assert "detail-type" not in out["originalEvent"]


def test_reserved_variables_in_a_string() -> None:
    assert apply('"<aws.events.rule-name> triggered"', paths={}) == "example triggered"


def test_predefined_variables_need_no_paths_map() -> None:
    assert set(predefined_values(EC2_EVENT, rule_name="r", rule_arn="a", ingestion_time="t")) == (
        PREDEFINED_VARIABLES
    )


# -- missing values (recorded against EventBridge) -------------------------------------------


def test_a_missing_path_leaves_nothing_inside_a_string() -> None:
    paths = {**PATHS, "command": "$.detail.notinmessage"}
    assert (
        apply('"Event at <timestamp>, info <command>"', paths)
        == "Event at 2015-11-11T21:29:54Z, info "
    )


def test_a_missing_path_is_an_empty_string_where_a_value_goes() -> None:
    paths = {**PATHS, "command": "$.detail.notinmessage"}
    assert apply('{"time": <timestamp>, "command": <command>}', paths) == {
        "time": "2015-11-11T21:29:54Z",
        "command": "",
    }


def test_a_null_in_the_event_is_not_missing() -> None:
    event = {**EC2_EVENT, "detail": {"state": None}}
    assert apply('{"state": <state>}', event=event) == {"state": None}
    assert apply('"state <state>"', event=event) == "state null"


# -- quoting of values by type ---------------------------------------------------------------


EVENT_OF_TYPES: dict[str, Any] = {
    "detail": {
        "n": 42,
        "x": 1.5,
        "ok": False,
        "obj": {"key1": "value1", "k2": [1, "a"]},
        "arr": ["a", "b"],
    },
}
TYPED_PATHS = {
    "n": "$.detail.n", "x": "$.detail.x", "ok": "$.detail.ok",
    "obj": "$.detail.obj", "arr": "$.detail.arr",
}  # fmt: skip


def test_numbers_booleans_objects_and_arrays_go_in_as_json_values() -> None:
    template = '{"n": <n>, "x": <x>, "ok": <ok>, "obj": <obj>, "arr": <arr>}'
    assert apply(template, TYPED_PATHS, EVENT_OF_TYPES) == EVENT_OF_TYPES["detail"]


def test_inside_a_string_numbers_and_booleans_are_written_as_json() -> None:
    assert apply('"n=<n> x=<x> ok=<ok>"', TYPED_PATHS, EVENT_OF_TYPES) == "n=42 x=1.5 ok=false"


def test_inside_a_string_objects_and_arrays_lose_their_quotes() -> None:
    out = apply('"Detail is <obj> and <arr>"', TYPED_PATHS, EVENT_OF_TYPES)
    assert out == "Detail is {key1:value1,k2:[1,a]} and [a,b]"


def test_an_object_in_a_string_of_a_json_template_loses_its_quotes_too() -> None:
    assert apply('{"text": "got <obj>"}', TYPED_PATHS, EVENT_OF_TYPES) == {
        "text": "got {key1:value1,k2:[1,a]}"
    }


def test_a_wildcard_path_gives_a_list() -> None:
    event = {"detail": {"items": [{"id": 1}, {"id": 2}]}}
    assert apply('{"ids": <ids>}', {"ids": "$.detail.items[*].id"}, event) == {"ids": [1, 2]}


def test_values_with_quotes_are_escaped_so_the_target_gets_json() -> None:
    # EventBridge pastes such values raw (text that is not JSON); here they stay JSON.
    event = {"detail": {"msg": 'say "hi"\\now'}}
    assert apply('{"a": <m>, "b": "<m>!"}', {"m": "$.detail.msg"}, event) == {
        "a": 'say "hi"\\now',
        "b": 'say "hi"\\now!',
    }


# -- template kinds --------------------------------------------------------------------------


def test_a_string_may_start_with_json_looking_characters() -> None:
    template = '"{[/Check with special starting characters for event of <kind> type"'
    out = apply(template, {"kind": "$.source"})
    assert out == "{[/Check with special starting characters for event of aws.ec2 type"


def test_only_a_template_starting_with_a_brace_is_a_json_template() -> None:
    assert is_json_template('  \n{"a": 1}')
    assert not is_json_template('"{a}"')
    assert not is_json_template("[1]")


def test_several_quoted_lines_make_a_multi_line_string() -> None:
    template = '"Instance <instance>"\n""\n"is <state>"'
    assert apply(template) == "Instance i-0123456789\n\nis RUNNING"


def test_text_that_is_not_json_reaches_the_target_as_a_string() -> None:
    assert apply("instance <instance> is in <state>") == "instance i-0123456789 is in RUNNING"


def test_a_bare_placeholder_is_its_value() -> None:
    assert apply("<obj>", TYPED_PATHS, EVENT_OF_TYPES) == EVENT_OF_TYPES["detail"]["obj"]


def test_fill_template_gives_the_text_before_parsing() -> None:
    assert fill_template('{"a": <a>, "b": "x<a>"}', {"a": "v"}) == '{"a": "v", "b": "xv"}'
    assert fill_template('{"a": <gone>}', {}) == '{"a": ""}'
    assert parse_filled('"a"\n"b"') == "a\nb"
    assert parse_filled("not json") == "not json"


# -- InputPath -------------------------------------------------------------------------------


def test_input_path_selects_part_of_the_event() -> None:
    assert select_input_path(EC2_EVENT, "$.detail") == EC2_EVENT["detail"]
    assert select_input_path(EC2_EVENT, "$.detail.state") == "RUNNING"
    assert select_input_path(EC2_EVENT, "$") == EC2_EVENT


def test_input_path_that_finds_nothing_gives_null() -> None:
    assert select_input_path(EC2_EVENT, "$.detail.nothing") is None


def test_input_paths_must_be_jsonpath_on_the_event() -> None:
    assert input_path_problems("$.detail.a") == []
    assert input_path_problems("$.detail.items[0]") == []
    assert input_path_problems("detail") != []
    assert input_path_problems("$$.Execution") != []
    assert input_path_problems("$.detail[") != []


# -- validation (what PutTargets refuses) ------------------------------------------------------


def problems(template: str, paths: dict[str, str] | None = None) -> list[str]:
    return transformer_problems(PATHS if paths is None else paths, template, target_id="t1")


def test_a_valid_transformer_has_no_problems() -> None:
    assert problems('{"i": <instance>, "r": <aws.events.rule-arn>}') == []
    assert problems('"<aws.events.rule-name> triggered"', {}) == []


def test_an_undefined_placeholder_is_refused_with_aws_message() -> None:
    assert problems('"Event of <state> type, with not defined key <notdefinedkey>"') == [
        "InputTemplate for target t1 contains invalid placeholder notdefinedkey."
    ]


def test_a_placeholder_may_not_be_an_object_key() -> None:
    assert "as an object key" in problems("{<instance>: 1}")[0]
    assert "as an object key" in problems('{"<instance>": 1}')[0]
    # In a string template nothing is a key.
    assert problems('"<instance>: up"') == []


def test_a_json_template_must_be_json_once_filled() -> None:
    [problem] = problems('{"i": <instance>,}')
    assert problem.startswith("InputTemplate for target t1 is not valid JSON")


def test_paths_map_names_may_not_be_reserved() -> None:
    assert "reserved" in problems('"<aws.events.rule-arn>"', {"aws.events.rule-arn": "$.id"})[0]
    assert "reserved" in problems('"<AWS.x>"', {"AWS.x": "$.id"})[0]


def test_paths_map_values_must_be_paths() -> None:
    assert "InputPathsMap value for key 'i' of target t1" in problems('"<i>"', {"i": "detail.x"})[0]


def test_limits() -> None:
    many = {f"v{i}": "$.id" for i in range(MAX_PATHS + 1)}
    assert any("more than 100" in p for p in problems('"<v1>"', many))
    assert any("8192" in p for p in problems('"' + "x" * 8192 + '"', {}))
    assert problems("", {}) == ["InputTemplate for target t1 must be a non-empty string."]


def test_transform_output_is_plain_json() -> None:
    out = apply('{"instance": <instance>}')
    assert json.loads(json.dumps(out)) == out
