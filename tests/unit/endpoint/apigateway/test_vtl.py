"""The VTL engine and API Gateway's template variables, as mapping templates use them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sluiceway.endpoint.apigateway.template_variables import Util, json_path, request_params, variables
from sluiceway.endpoint.apigateway.vtl import Template, TemplateError, render


def names(body: str = "", *, query: str = "", headers: dict[str, str] | None = None, path: dict[str, str] | None = None) -> dict[str, Any]:
    context = {"requestId": "r-1", "identity": {"sourceIp": "1.2.3.4"}}
    return variables(body, request_params(headers or {}, query, path or {}), context, {"env": "dev"})


def test_references_properties_methods_and_quiet_references() -> None:
    v = names('{"a": {"b": [10, 20]}, "s": "Hello"}')
    assert render("$input.path('$.a.b[1]') $input.path('$.s').toUpperCase() $input.path('$.s').length()", v) == "20 HELLO 5"
    assert render("$missing|$!missing|${context.requestId}x|$stageVariables.env", v) == "$missing||r-1x|dev"
    assert render("cost: $5 and #notadirective", v) == "cost: $5 and #notadirective"


def test_set_if_elseif_else_and_operators() -> None:
    template = "#set($n = $input.path('$.n'))#if($n > 10 && !$flag)big#elseif($n == 5 or $n eq 6)five-six#{else}small#end"
    assert render(template, names('{"n": 11}')) == "big"
    assert render(template, names('{"n": 6}')) == "five-six"
    assert render(template, names('{"n": 1}')) == "small"
    assert render('#set($x = 7 / 2)#set($y = -7 % 3)$x $y #set($s = "a" + 1)$s', names()) == "3 -1 a1"


def test_foreach_with_has_next_and_velocity_count_and_break() -> None:
    v = names('{"items": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}')
    template = "[#foreach($i in $input.path('$.items'))\"$i.id\"#if($foreach.hasNext),#end#end]"
    assert json.loads(render(template, v)) == ["a", "b", "c"]
    assert render("#foreach($i in [1..5])$velocityCount#if($i == 3)#break#end#end", v) == "123"


def test_a_directive_ending_its_line_takes_the_newline_and_comments_vanish() -> None:
    template = '{\n#set($a = 1)\n## a comment\n  "a": $a#* block\ncomment *#\n  #if(true)\n  "b": 2\n  #end\n}'
    # Velocity 1.7 keeps a directive's indentation.
    assert render(template, names()) == '{\n  "a": 1\n    "b": 2\n  }'


def test_double_quoted_strings_interpolate_single_quoted_do_not() -> None:
    v = names('{"name": "x"}')
    assert render("#set($who = $input.path('$.name'))#set($a = \"hi $who\")#set($b = 'hi $who')$a|$b", v) == "hi x|hi $who"


def test_maps_and_lists_render_as_java_and_can_be_changed() -> None:
    v = names('{"k": {"x": 1}}')
    template = "#set($m = $input.path('$.k'))#set($m.y = [true, null])$m $m.keySet() $m.size()#set($ok = $m.put('z', 2))$input.json('$')"
    # What #set changes in an object read with $input.path shows in a later $input.json.
    assert render(template, v) == '{x=1, y=[true, null]} [x, y] 2{"k":{"x":1,"y":[true,null],"z":2}}'


def test_input_params_look_in_path_then_query_then_headers() -> None:
    v = names(query="id=q&only=1", headers={"x-h": "H", "id": "h"}, path={"id": "p%20x"})
    assert render("$input.params('id') $input.params('only') $input.params('X-H') [$input.params('none')]", v) == "p x 1 H []"
    assert render("$input.params().querystring.only", v) == "1"


def test_input_json_is_compact_and_an_empty_body_is_an_empty_object() -> None:
    assert render("$input.json('$')", names('{"a": [1, {"b": "c"}]}')) == '{"a":[1,{"b":"c"}]}'
    assert render("$input.json('$')", names("")) == "{}"
    assert render("$input.body", names("raw text")) == "raw text"
    with pytest.raises(TemplateError):
        render("$input.json('$')", names("not json"))


def test_json_path_subset() -> None:
    doc = {"a b": 1, "list": [{"v": 1}, {"v": 2}], "n": None}
    assert json_path(doc, "$['a b']") == 1
    assert json_path(doc, "$.list[-1].v") == 2
    assert json_path(doc, "$.list[*].v") == [1, 2]
    assert json_path(doc, "$.nope") is None
    with pytest.raises(TemplateError):
        json_path(doc, "list")


def test_util_matches_java() -> None:
    util = Util()
    assert util.escapeJavaScript('it\'s "q" a/b\n\té') == 'it\\\'s \\"q\\" a\\/b\\n\\t\\u00E9'
    assert util.urlEncode("a b&c~*") == "a+b%26c%7E*"
    assert util.urlDecode("a+b%26c") == "a b&c"
    assert util.base64Decode(util.base64Encode("héllo")) == "héllo"
    assert render("$util.parseJson('{\"a\": [1]}').a[0]", names()) == "1"


@pytest.mark.parametrize("bad", ["#if($a)x", "#end", "#foreach($x in)#end", "#set($a = )", "#* open"])
def test_malformed_templates_are_refused(bad: str) -> None:
    with pytest.raises(TemplateError):
        Template(bad)


def test_calling_what_does_not_exist_fails() -> None:
    with pytest.raises(TemplateError):
        render("$input.nope()", names())
    with pytest.raises(TemplateError):
        render("$util.property('x')", names())
