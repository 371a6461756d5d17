"""ResultPath: a state's result written into a copy of its input."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluiceway.asl.dataflow import put
from sluiceway.errors import StatesError
from sluiceway.jsonpath import Scope, select

# --- put (ResultPath) -------------------------------------------------------------------------


def test_put_null_keeps_the_input_and_dollar_replaces_it() -> None:
    assert put({"a": 1}, None, "r") == {"a": 1}
    assert put({"a": 1}, "$", "r") == "r"


def test_put_creates_missing_objects_without_mutating_the_input() -> None:
    data = {"a": {"keep": 1}, "list": [1, {"x": 0}]}
    before = copy.deepcopy(data)
    assert put(data, "$.a.b.c", 5) == {"a": {"keep": 1, "b": {"c": 5}}, "list": [1, {"x": 0}]}
    assert put(data, "$.list[1].x", 9) == {"a": {"keep": 1}, "list": [1, {"x": 9}]}
    assert put(data, "$['a']['keep']", [1]) == {"a": {"keep": [1]}, "list": [1, {"x": 0}]}
    assert data == before


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"a": 1}, "$.a.b"),
        ("text", "$.x"),
        ([1], "$.x"),
        ({"l": [1]}, "$.l[3]"),
        ({"a": {}}, "$.a[0]"),
    ],
)
def test_put_through_a_non_container_fails_with_result_path_match_failure(
    data: Any, path: str
) -> None:
    with pytest.raises(StatesError) as caught:
        put(data, path, 1)
    assert caught.value.error == "States.ResultPathMatchFailure"
    assert path in caught.value.cause


def test_put_rejects_non_reference_paths() -> None:
    with pytest.raises(ValueError):
        put({}, "$.a[*]", 1)


_keys = st.text(alphabet="abcxyz", min_size=1, max_size=3)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=3),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    data=st.dictionaries(_keys, _json, max_size=4),
    names=st.lists(_keys, min_size=1, max_size=3),
    value=_json,
)
def test_put_then_select_round_trips_and_leaves_the_input_alone(
    data: dict[str, Any], names: list[str], value: Any
) -> None:
    path = "$" + "".join(f"['{n}']" for n in names)
    before = copy.deepcopy(data)
    try:
        combined = put(data, path, value)
    except StatesError:
        return  # the path ran through a non-object: nothing to check but the input
    finally:
        assert data == before
    assert select(path, Scope(combined)) == value
