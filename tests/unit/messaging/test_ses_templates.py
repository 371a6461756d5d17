"""SES's template language: placeholders (never escaped), blocks, partials, and the missing-attribute failure."""

from __future__ import annotations

import pytest

from sluiceway.messaging.ses_templates import MissingAttributeError, RenderingError, parse_data, render, render_parts


def test_placeholders_and_nested_names_are_inserted_unescaped() -> None:
    # SES does not HTML-escape values, in any part ("Advanced email personalization").
    data = {"name": "A & <B>", "run": {"id": 3, "ok": True}}
    assert render("{{name}} #{{ run.id }} {{run.ok}}", data) == "A & <B> #3 true"
    assert render("<b>{{name}}</b> {{{name}}}", data) == "<b>A & <B></b> A & <B>"
    parts = render_parts("S {{name}}", "T {{name}}", "<p>{{name}}</p>", data)
    assert (parts.subject, parts.text, parts.html) == ("S A & <B>", "T A & <B>", "<p>A & <B></p>")


def test_blocks() -> None:
    data = {"items": [{"n": "x"}, {"n": "y"}], "flag": False, "tags": ["a", "b"]}
    assert render("{{#each items}}{{@index}}:{{n}} {{/each}}", data) == "0:x 1:y "
    assert render("{{#each tags}}[{{this}}]{{/each}}", data) == "[a][b]"
    assert render("{{#if flag}}yes{{else}}no{{/if}} {{#if missing}}m{{/if}}", data) == "no "
    assert render("{{#unless flag}}shown{{/unless}}", data) == "shown"


def test_else_if_chains() -> None:
    template = "{{#if a}}A{{else if b}}B{{else unless c}}not C{{else}}C{{/if}}"
    assert render(template, {"a": 1}) == "A"
    assert render(template, {"b": 1}) == "B"
    assert render(template, {}) == "not C"
    assert render(template, {"c": 1}) == "C"


def test_parent_context_keys_and_root() -> None:
    data = {"title": "Report", "rows": {"north": 3, "south": 4}, "people": [{"name": "Ann"}]}
    assert render("{{#each rows}}{{@key}}={{this}} {{/each}}", data) == "north=3 south=4 "
    assert render("{{#each people}}{{name}} in {{../title}}{{/each}}", data) == "Ann in Report"
    assert render("{{#with people}}{{@root.title}}{{/with}}", data) == "Report"
    assert render("{{#each people}}{{@first}}{{@last}}{{/each}}", data) == "truetrue"


def test_inline_partials() -> None:
    template = '{{#* inline "line"}}- {{name}}\n{{/inline}}{{#each people}}{{> line}}{{/each}}'
    assert render(template, {"people": [{"name": "Ann"}, {"name": "Bob"}]}) == "- Ann\n- Bob\n"
    with pytest.raises(RenderingError):
        render("{{> nowhere}}", {})
    with pytest.raises(RenderingError):
        render('{{#* inline "p"}}{{> p}}{{/inline}}{{> p}}', {})


def test_a_missing_attribute_fails_as_ses_words_it() -> None:
    with pytest.raises(MissingAttributeError) as excinfo:
        render("Hi {{person.name}}", {"person": {}})
    assert str(excinfo.value) == "Attribute 'person.name' is not present in the rendering data."


def test_malformed_templates_and_data() -> None:
    with pytest.raises(RenderingError):
        render("{{#if a}}never closed", {"a": 1})
    with pytest.raises(RenderingError):
        render("{{/if}}", {})
    with pytest.raises(RenderingError):
        parse_data("[1, 2]")
    with pytest.raises(RenderingError):
        parse_data("{not json")
    assert parse_data('{"a": 1}') == {"a": 1}
