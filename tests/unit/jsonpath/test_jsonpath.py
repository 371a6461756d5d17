"""JSONPath selection with AWS's (Jayway's) semantics and messages."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sluiceway.errors import StatesError
from sluiceway.jsonpath import (
    PathSyntaxError,
    Scope,
    is_definite,
    is_path,
    is_reference_path,
    java_text,
    json_text,
    lookup,
    select,
    validate_path,
)

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


# --- select: definite paths -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", STORE),
        ("$.flag", True),
        ("$.nothing", None),
        ("$.store.bicycle.color", "red"),
        ("$['store']['bicycle']['color']", "red"),
        ('$["store"].bicycle["price"]', 19.95),
        ("$.store.book[0].author", "Rees"),
        ("$.store.book[-1].author", "Tolkien"),
        ("$['store']['bicycle']['color','price']", {"color": "red", "price": 19.95}),
        ("$$.Execution.Input.q", 1),
        ("$$.Map.Item.Index", 2),
        ("$$", SCOPE.context),
        ("$answer", 42),
        ("$user.name", "ada"),
        ("$user.roles[1]", "dev"),
    ],
)
def test_select_definite_paths_return_the_value(path: str, expected: Any) -> None:
    assert select(path, SCOPE) == expected


def test_bracket_names_keep_backslashes_as_aws_does() -> None:
    # Recorded on AWS: $['Test\""Name"'] reads the key Test\""Name" (backslash kept).
    data = {'Test\\""Name"': 'Value"\\'}
    assert select('$[\'Test\\""Name"\']', Scope(data)) == 'Value"\\'


def test_multi_property_leaf_skips_missing_names() -> None:
    assert select("$.store.bicycle['color','gears']", SCOPE) == {"color": "red"}


# --- select: indefinite paths ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$.store.book[*].author", ["Rees", "Waugh", "Tolkien"]),
        ("$.store.book[*]['author']", ["Rees", "Waugh", "Tolkien"]),
        ("$.store.bicycle.*", ["red", 19.95]),
        ("$.store.book[0,2].author", ["Rees", "Tolkien"]),
        ("$.store.book[:2].author", ["Rees", "Waugh"]),
        ("$.store.book[1:].author", ["Waugh", "Tolkien"]),
        ("$.store.book[-2:].author", ["Waugh", "Tolkien"]),
        ("$.store.book[0:1].author", ["Rees"]),
        ("$..author", ["Rees", "Waugh", "Tolkien"]),
        ("$..price", [8.95, 12.99, 22.99, 19.95]),
        ("$..book[1].author", ["Waugh"]),
        ("$.store.book[?(@.isbn)].author", ["Waugh", "Tolkien"]),
        ("$.store.book[?(!@.isbn)].author", ["Rees"]),
        ("$.store.book[?(@.price < 10)].author", ["Rees"]),
        ("$.store.book[?(@.price >= 12.99 && @.author != 'Tolkien')].author", ["Waugh"]),
        ("$.store.book[?(@.author == 'Rees' || @.price > 20)].author", ["Rees", "Tolkien"]),
        ("$.store.book[?(@.author =~ /T.*n/)].author", ["Tolkien"]),
        ("$.store.book[?(@.author =~ /t.*N/i)].author", ["Tolkien"]),
        ("$.store.book[?(@.author in ['Rees', 'Waugh'])].price", [8.95, 12.99]),
        ("$.store.book[?(@.author nin ['Rees', 'Waugh'])].price", [22.99]),
        ("$.store.book[?(@.price > $.store.bicycle.price)].author", ["Tolkien"]),
        ("$.store.book[?(@.isbn size 5)].author", ["Waugh", "Tolkien"]),
        ("$user.roles[*]", ["admin", "dev"]),
    ],
)
def test_select_indefinite_paths_return_lists(path: str, expected: list[Any]) -> None:
    assert select(path, SCOPE) == expected


@pytest.mark.parametrize(
    "path",
    ["$.items[*]", "$.items[:1]", "$.item.items[1:]", "$.items[:1].itemValue", "$..missing"],
)
def test_indefinite_paths_never_fail_even_without_the_upstream_property(path: str) -> None:
    # Recorded on AWS: {"item.$": "$.items[*]"} on {} gives {"item": []}.
    assert select(path, Scope({})) == []


def test_filter_compares_booleans_and_numbers_as_json_not_python() -> None:
    data = {"xs": [{"v": True}, {"v": 1}, {"v": 1.0}]}
    assert select("$.xs[?(@.v == 1)]", Scope(data)) == [{"v": 1}, {"v": 1.0}]
    assert select("$.xs[?(@.v == true)]", Scope(data)) == [{"v": True}]


# --- select: misses, with AWS's messages ----------------------------------------------------


def _runtime_cause(path: str, scope: Scope, field: str | None = None) -> str:
    with pytest.raises(StatesError) as caught:
        select(path, scope, field=field)
    assert caught.value.error == "States.Runtime"
    return caught.value.cause


def test_missing_leaf_gives_awss_no_results_message() -> None:
    cause = _runtime_cause("$.NoSuchInputPath", Scope({"int-literal": 0}))
    assert cause == "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"


def test_missing_intermediate_gives_awss_missing_property_message() -> None:
    cause = _runtime_cause("$.no.such.result.path", Scope({}))
    assert cause == "Invalid path '$.no.such.result.path' : Missing property in path $['no']"


def test_miss_in_a_field_names_the_field_and_shows_the_input_as_compact_json() -> None:
    cause = _runtime_cause("$.no_such_jsonpath", Scope({"int-literal": 0, "f": 1.0}), "value.$")
    assert cause == (
        "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found "
        """in the input '{"int-literal":0,"f":1.0}'"""
    )


def test_context_miss_in_a_field_shows_the_state_input_not_the_context() -> None:
    scope = Scope({"a": 1}, context={"Execution": {"Input": {"a": 1}}})
    cause = _runtime_cause("$$.Execution.Input.no_such_jsonpath", scope, "value.$")
    assert cause.endswith("""could not be found in the input '{"a":1}'""")
    assert "'$$.Execution.Input.no_such_jsonpath'" in cause


def test_index_past_the_end_of_a_definite_path_is_a_miss() -> None:
    cause = _runtime_cause("$.store.book[7].author", SCOPE)
    assert cause.endswith("No results for path: $['store']['book'][7]['author']")


def test_property_of_a_non_object_names_the_java_type() -> None:
    cause = _runtime_cause("$.store.bicycle.color.shade", SCOPE)
    assert (
        "Expected to find an object with property ['shade'] in path $['store']['bicycle']" in cause
    )
    assert "but found 'java.lang.String'" in cause


def test_index_into_a_non_array_or_null() -> None:
    assert "can only be applied to arrays" in _runtime_cause("$.store.bicycle[0]", SCOPE)
    assert "The path $['nothing'] is null" in _runtime_cause("$.nothing[0]", SCOPE)


def test_length_function_is_not_supported_it_is_a_property_name() -> None:
    cause = _runtime_cause("$.store.book.length()", SCOPE)
    assert "length()" in cause
    assert select("$['length()']", Scope({"length()": 3})) == 3


def test_undefined_variable_is_a_runtime_error() -> None:
    assert "$nope" in _runtime_cause("$nope.x", SCOPE)


def test_invalid_syntax_is_a_runtime_error_at_evaluation() -> None:
    assert _runtime_cause("$.a b", SCOPE).startswith("Invalid path '$.a b' : Use bracket notion")


def test_lookup_reports_presence_without_failing() -> None:
    assert lookup("$.nothing", SCOPE) == (True, None)
    assert lookup("$.missing", SCOPE) == (False, None)
    assert lookup("$.missing.deeper", SCOPE) == (False, None)
    assert lookup("$.missing[*]", SCOPE) == (True, [])


# --- classification and validation ----------------------------------------------------------


def test_is_path() -> None:
    assert is_path("$") and is_path("$$.Execution") and is_path("$var")
    assert not is_path("States.UUID()") and not is_path(3) and not is_path("x$")


@pytest.mark.parametrize(
    ("path", "definite"),
    [
        ("$.a.b[0]", True),
        ("$['a','b']", True),
        ("$.a[*]", False),
        ("$..a", False),
        ("$.a[0,1]", False),
        ("$.a[1:2]", False),
        ("$.a[?(@.x)]", False),
        ("$['a','b'].c", False),
    ],
)
def test_is_definite(path: str, definite: bool) -> None:
    assert is_definite(path) is definite


@pytest.mark.parametrize("path", ["a.b", "$.", "$..", "$.a[", "$.a[1:2:3]", "$['a", "$.a[x]", 5])
def test_validate_path_reports_invalid_paths(path: Any) -> None:
    assert validate_path(path)


def test_reference_paths_allow_only_names_and_indexes() -> None:
    assert is_reference_path("$.a.b[0]['c d']") and is_reference_path("$")
    for path in ("$.a[*]", "$..a", "$$.Execution", "$var.a", "$.a[0:1]", "$['a','b']"):
        assert not is_reference_path(path), path


def test_compile_errors_are_path_syntax_errors() -> None:
    with pytest.raises(PathSyntaxError):
        is_definite("$.a[")


# --- JSON and Java text -----------------------------------------------------------------------


def test_json_text_is_compact_and_spells_floats_like_java() -> None:
    value = {"a": [1, 1.0, 1.5e20, 1e-5, 0.001, -0.0, True, None], "é": 'x\ny"\u0001'}
    assert json_text(value) == (
        '{"a":[1,1.0,1.5E20,1.0E-5,0.001,-0.0,true,null],"é":"x\\ny\\"\\u0001"}'
    )


def test_java_text_is_what_toString_gives() -> None:
    assert (
        java_text({"Arg1": 1, "Arg2": [], "s": "x", "n": None}) == "{Arg1=1, Arg2=[], s=x, n=null}"
    )
    assert java_text([1.1, 12345678.0, False]) == "[1.1, 1.2345678E7, false]"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet="$.[]*?()@'\"!=<>&|~/,:-0123456789abc \\", max_size=20))
def test_any_text_either_compiles_or_is_reported_as_invalid(text: str) -> None:
    problems = validate_path("$" + text)
    if not problems:
        try:
            select("$" + text, SCOPE)
        except StatesError as exc:
            assert exc.error == "States.Runtime"


@pytest.mark.parametrize(
    "path", ["$[?(@ =~ /(/)]", "$[?(@.a", "$[?()]", "$[?(@ in [1,)]", "$[?(@.a[)]"]
)
def test_broken_filters_are_reported_as_invalid(path: str) -> None:
    assert validate_path(path)


# --- bounds ---------------------------------------------------------------------------------


def test_a_filter_regex_that_backtracks_catastrophically_fails_instead_of_hanging() -> None:
    scope = Scope(input=["a" * 40 + "!"])
    with pytest.raises(StatesError) as caught:
        select("$[?(@ =~ /^(a|a)*$/)]", scope)
    assert caught.value.error == "States.Runtime"
    assert caught.value.cause == "The regular expression /^(a|a)*$/ did not finish within 1 seconds"


def test_filter_regexes_keep_their_flags() -> None:
    scope = Scope(input=["Ab", "ab", "a\nb"])
    assert select("$[?(@ =~ /ab/i)]", scope) == ["Ab", "ab"]
    assert select("$[?(@ =~ /a.b/s)]", scope) == ["a\nb"]


def test_a_run_of_negations_is_read_without_recursion() -> None:
    scope = Scope(input=[{"a": 1}, {"b": 2}])
    assert select("$[?(" + "!" * 20_001 + "@.a)]", scope) == [{"b": 2}]
    assert select("$[?(" + "!" * 20_000 + "@.a)]", scope) == [{"a": 1}]
