"""What a hostile payload or template can do to the VTL engine: every failure is a TemplateError, every limit holds."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.endpoint.apigateway.template_variables import MAX_JSON_NESTING, request_params, variables
from sluiceway.endpoint.apigateway.vtl import MAX_FOREACH, Template, TemplateError, render, to_text
from sluiceway.endpoint.apigateway.vtl_text import MAX_TEXT, java_double


def names(body: str = "", headers: dict[str, str] | None = None) -> dict[str, Any]:
    return variables(body, request_params(headers or {}, "", {}), {"requestId": "r"}, {})


DEEP = "[" * 50_000 + "]" * 50_000


@pytest.mark.parametrize(
    ("template", "body"),
    [
        ("$input.json('$')", DEEP),
        ("$input.path('$.a')", '{"a":' + DEEP + "}"),
        ("$util.parseJson($input.body)", DEEP),
        ("#if(true)" * 2000 + "x" + "#end" * 2000, ""),
        ("#set($a = " + "(" * 5000 + "1" + ")" * 5000 + ")$a", ""),
        ("#set($a = " + "!" * 5000 + "true)$a", ""),
        ("#set($a = " + " + ".join(["1"] * 5000) + ")$a", ""),
        ("$input.json()", "{}"),
        ("$util.escapeJavaScript('a', 'b')", ""),
        ("$util.mro()", ""),
        ("#set($x = 10)#foreach($i in [1..20])#set($x = $x * $x)#end$x", ""),
        ('#set($s = "a")#foreach($i in [1..30])#set($s = "$s$s")#end$s.length()', ""),
        ("#set($s = 'ab')#foreach($i in [1..30])#set($s = $s + $s)#end", ""),
        ("#set($s = 'ab')#foreach($i in [1..30])#set($s = $s.concat($s))#end", ""),
        ("#set($s = 'abcdefgh')#foreach($i in [1..10])#set($s = $s.replace('', $s))#end", ""),
        ("#set($l = [1])#foreach($i in [1..40])#set($ok = $l.addAll($l))#end", ""),
        ("#set($r = [1..100000000])", ""),
        ("#foreach($a in [1..1000])#foreach($b in [1..1000])#foreach($c in [1..1000])#end#end#end", ""),
        ("$input.json('$')", "[1e400]"),
        ("#set($l = [])#set($m = [$l])#set($ok = $l.add($m))$l", ""),
    ],
)
def test_hostile_input_and_templates_fail_as_template_errors(template: str, body: str) -> None:
    with pytest.raises(TemplateError):
        render(template, names(body))


def test_no_python_attribute_is_reachable() -> None:
    # A name starting with "_" is no member at all: it renders as text after the object itself.
    assert render("$util.__class__|$input._document()", names("{}")) == "Util.__class__|Input._document()"
    with pytest.raises(TemplateError):
        render("$input.property('body')", names("b"))


def test_json_nesting_up_to_the_limit_is_read() -> None:
    depth = 200
    assert render("$input.json('$')", names("[" * depth + "]" * depth)) == "[" * depth + "]" * depth
    assert MAX_JSON_NESTING == 1000


def test_foreach_stops_silently_after_1000_iterations() -> None:
    # Velocity's directive.foreach.maxloops ends the loop without an error.
    out = render("#foreach($i in [1..100000000])$velocityCount,#end", names())
    assert out.split(",")[-2] == str(MAX_FOREACH) and out.count(",") == 1000
    items = "[" + ",".join(map(str, range(1500))) + "]"
    assert render("#foreach($i in $input.path('$'))#if(!$foreach.hasNext)$i#end#end", names(items)) == "999"


def test_a_list_that_contains_itself_prints_as_java_does() -> None:
    assert render("#set($l = [1])#set($ok = $l.add($l))$l", names()) == "[1, (this Collection)]"
    assert render("#set($m = {})#set($ok = $m.put('me', $m))$m", names()) == "{me=(this Map)}"


def test_output_is_capped_at_10_mb() -> None:
    text = "x" * (MAX_TEXT // 2 + 1)
    with pytest.raises(TemplateError):
        render("$input.body$input.body", names(text))
    assert len(render("$input.body", names(text))) == len(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1.5, "1.5"), (100.0, "100.0"), (1e7, "1.0E7"), (1.25e-5, "1.25E-5"), (-3e20, "-3.0E20"), (0.001, "0.001"),
     (float("inf"), "Infinity"), (float("-inf"), "-Infinity"), (float("nan"), "NaN"), (-0.0, "-0.0")],
)  # fmt: skip
def test_doubles_print_as_java_prints_them(value: float, text: str) -> None:
    assert java_double(value) == text
    assert to_text([value]) == f"[{text}]"


def test_arithmetic_widens_like_velocity_and_doubles_reach_infinity() -> None:
    assert render("#set($x = 2147483647 + 1)$x", names()) == "2147483648"
    assert render("#set($x = 10.5)#foreach($i in [1..20])#set($x = $x * $x)#end$x", names()) == "Infinity"
    assert render("#set($x = -7.5 % 2)$x", names()) == "-1.5"


def test_util_prints_values_the_java_way() -> None:
    v = names('{"b": true, "o": {"k": [1, null]}}')
    assert render("$util.escapeJavaScript($input.path('$.b'))|$util.escapeJavaScript($input.path('$.o'))", v) == "true|{k=[1, null]}"
    assert render("$util.urlEncode($input.path('$.o'))", v) == "%7Bk%3D%5B1%2C+null%5D%7D"
    assert render("$util.base64Encode($input.path('$.b'))", v) == "dHJ1ZQ=="
    # commons-lang escapes from 0x80 up: DEL is written as it is.
    assert render("$util.escapeJavaScript($input.body)", names("a\x7fb\u00e9")) == "a\x7fb\\u00E9"


@pytest.mark.parametrize(
    ("template", "body", "expected"),
    [
        ("$input.body.split(',').size()", "a,b,,", "2"),
        ("$input.body.split(',').size()", ",,", "0"),
        ("$input.body.split(',')", ",a", "[, a]"),
        ("$input.body.split('').size()", "abc", "3"),
        ("$input.body.split(',').size()", "", "1"),
        ("$input.body.replaceAll('\"', '\\\"')", 'say "hi"', 'say "hi"'),
        ("$input.body.replaceAll('(\\w+)@(\\w+)', '$2 at $1')", "me@home", "home at me"),
        ("$input.body.replaceAll('(?P<u>\\w+)@', '${u}-')", "me@home", "me-home"),
        ("$input.body.replaceAll('o', '\\$')", "foo", "f$$"),
        ("$input.body.replaceFirst('o', '0')", "foo", "f0o"),
        ("$input.body.substring(1, 3)|$input.body.charAt(4)", "hello", "el|o"),
    ],
)
def test_java_string_methods(template: str, body: str, expected: str) -> None:
    assert render(template, names(body)) == expected


@pytest.mark.parametrize(
    "template",
    [
        "$input.body.substring(-2)",
        "$input.body.substring(3, 2)",
        "$input.body.substring(1, 99)",
        "$input.body.charAt(-1)",
        "$input.body.charAt(5)",
        "$input.body.replaceAll('o', '$')",
        "$input.body.replaceAll('o', '$3')",
        "$input.body.replaceAll('o', 'x\\')",
        "$util.urlDecode('%zz')",
        "$util.urlDecode('100%')",
        "#set($l = [1, 2])$l.get(-1)",
    ],
)
def test_what_java_throws_on_is_refused(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, names("hello"))


def test_header_names_keep_their_spelling_and_are_found_in_any_case() -> None:
    v = names(headers={"x-api-key": "k", "content-type": "application/json"})
    assert render("#foreach($h in $input.params().header.keySet())$h #end", v) == "X-Api-Key Content-Type "
    assert render("$input.params().header.get('x-api-key')|$input.params().header.X-Api-Key|$input.params('X-API-KEY')", v) == "k|k|k"


def test_a_template_is_parsed_once_and_nesting_within_the_limit_is_fine() -> None:
    template = Template("#if(true)" * 30 + "deep" + "#end" * 30 + "#set($a = " + "(" * 30 + "1" + ")" * 30 + ")$a")
    assert template.render(names()) == "deep1"
