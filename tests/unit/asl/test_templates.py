"""JSONPath-mode payload templates: ``.$`` keys hold paths and intrinsic functions."""

from __future__ import annotations

import copy
import random
from typing import Any

import pytest

from sluiceway.asl.templates import resolve, validate_template
from sluiceway.errors import StatesError
from sluiceway.jsonpath import Scope

STORE: dict[str, Any] = {
    "store": {
        "book": [
            {"category": "reference", "author": "Rees", "price": 8.95},
            {"category": "fiction", "author": "Waugh", "price": 12.99, "isbn": "0-553"},
            {"category": "fiction", "author": "Tolkien", "price": 22.99, "isbn": "0-395"},
        ],
        "bicycle": {"color": "red", "price": 19.95},
    },
    "flag": True,
    "nothing": None,
}
SCOPE = Scope(
    input=STORE,
    context={"Execution": {"Input": {"q": 1}, "Name": "run"}, "Map": {"Item": {"Index": 2}}},
    variables={"answer": 42, "user": {"name": "ada", "roles": ["admin", "dev"]}},
)


# --- resolve ----------------------------------------------------------------------------------


def test_resolve_evaluates_dollar_keys_recursively_and_copies_the_rest() -> None:
    template = {
        "literal": "$.not.a.path",
        "title.$": "$.store.book[0].author",
        "ctx.$": "$$.Execution.Name",
        "var.$": "$user.name",
        "nested": {"prices.$": "$.store.book[*].price", "list": [{"x.$": "$.flag"}, "$.flag"]},
        "count.$": "States.ArrayLength($.store.book)",
    }
    assert resolve(template, SCOPE) == {
        "literal": "$.not.a.path",
        "title": "Rees",
        "ctx": "run",
        "var": "ada",
        "nested": {"prices": [8.95, 12.99, 22.99], "list": [{"x": True}, "$.flag"]},
        "count": 3,
    }


def test_resolve_does_not_touch_non_object_templates_or_the_input() -> None:
    before = copy.deepcopy(STORE)
    assert resolve([1, "$.a", None], SCOPE) == [1, "$.a", None]
    assert resolve("States.UUID()", SCOPE) == "States.UUID()"
    assert before == STORE


def test_resolve_miss_names_the_dollar_key() -> None:
    with pytest.raises(StatesError) as caught:
        resolve({"outer": {"value.$": "$.no_such_jsonpath"}}, Scope({"int-literal": 0}))
    assert caught.value.cause == (
        "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found "
        """in the input '{"int-literal":0}'"""
    )


def test_resolve_uses_the_given_rng_for_uuids() -> None:
    first = resolve({"id.$": "States.UUID()"}, SCOPE, rng=random.Random(3))
    again = resolve({"id.$": "States.UUID()"}, SCOPE, rng=random.Random(3))
    assert first == again
    with pytest.raises(ValueError, match="random source"):
        resolve({"id.$": "States.UUID()"}, SCOPE)


def test_resolve_rejects_values_that_are_neither_paths_nor_intrinsics() -> None:
    with pytest.raises(ValueError, match="'x.\\$'"):
        resolve({"x.$": "ConditionTrue"}, SCOPE, field="Parameters")
    with pytest.raises(ValueError):
        resolve({"x.$": 3}, SCOPE)


def test_validate_template_lists_every_problem_with_its_location() -> None:
    template = {
        "ok.$": "$.a",
        "bad.$": 3,
        "nested": {"path.$": "$.a[", "fn.$": "States.Nope()"},
        "items": [{"word.$": "hello"}],
        "plain": "$.not checked",
    }
    issues = validate_template(template, "/States/S/Parameters")
    assert [i.split(":")[0] for i in issues] == [
        "/States/S/Parameters/bad.$",
        "/States/S/Parameters/nested/path.$",
        "/States/S/Parameters/nested/fn.$",
        "/States/S/Parameters/items/0/word.$",
    ]
    assert validate_template({"a.$": "States.Format('{}', $.x)"}, "/P") == []
