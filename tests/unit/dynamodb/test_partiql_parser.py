"""PartiQL's grammar: what DynamoDB's statements parse to, and its words for the malformed ones."""

from __future__ import annotations

from typing import Any

import pytest

from sluiceway.dynamodb.errors import DynamoDbError
from sluiceway.dynamodb.partiql import parse_statement
from sluiceway.dynamodb.partiql.nodes import (
    And,
    Arithmetic,
    Assign,
    Between,
    Call,
    Comparison,
    Constant,
    Delete,
    In,
    Insert,
    ListValue,
    MapValue,
    Missing,
    Not,
    Or,
    Parameter,
    Path,
    Remove,
    Select,
    SetValue,
    Update,
)
from sluiceway.dynamodb.partiql.render import bind

MALFORMED = "Statement wasn't well formed, can't be processed: "


def refused(statement: str) -> str:
    with pytest.raises(DynamoDbError) as caught:
        parse_statement(statement)
    assert caught.value.code == "ValidationException"
    return caught.value.message


def value_of(value: Any) -> dict[str, Any]:
    return bind(value, [{"S": "p0"}, {"N": "7"}])


def test_select_star_and_paths_with_keywords_in_any_case() -> None:
    select = parse_statement('select * from "my-table"."my index" where "pk" = ?')
    assert isinstance(select, Select)
    assert (select.table, select.index, select.projection) == ("my-table", "my index", None)
    assert select.where == Comparison("=", Path(("pk",)), Parameter(0))
    projected = parse_statement("SELECT a.b[2], \"odd name\", m['k'] FROM t")
    assert isinstance(projected, Select)
    assert projected.projection == (Path(("a", "b", 2)), Path(("odd name",)), Path(("m", "k")))


def test_condition_precedence_or_and_not() -> None:
    select = parse_statement("SELECT * FROM t WHERE a = 1 OR b = 2 AND NOT c = 3")
    assert isinstance(select, Select) and isinstance(select.where, Or)
    assert isinstance(select.where.terms[1], And)
    assert isinstance(select.where.terms[1].terms[1], Not)
    grouped = parse_statement("SELECT * FROM t WHERE (a = 1 OR b = 2) AND c = 3")
    assert isinstance(grouped, Select) and isinstance(grouped.where, And) and isinstance(grouped.where.terms[0], Or)


def test_predicates_and_functions() -> None:
    select = parse_statement(
        "SELECT * FROM t WHERE x BETWEEN 1 AND 5 AND y NOT IN [1, 2] AND z IN ('a') AND w IS MISSING"
        " AND v IS NOT MISSING AND begins_with(s, 'ab') AND size(l) >= 2 AND Contains(s, 'q')"
    )
    assert isinstance(select, Select)
    assert isinstance(select.where, And)
    found: list[Any] = list(select.where.terms)
    assert isinstance(found[0], Between)
    assert isinstance(found[1], Not) and isinstance(found[1].operand, In)
    assert isinstance(found[2], In) and len(found[2].candidates) == 1
    assert found[3] == Missing(Path(("w",)))
    assert found[4] == Missing(Path(("v",)), negated=True)
    assert isinstance(found[5], Call) and found[5].function == "begins_with"
    assert isinstance(found[6], Comparison) and found[6].left == Call("size", (Path(("l",)),))
    assert isinstance(found[7], Call) and found[7].function == "contains"


def test_literals_become_attribute_values() -> None:
    insert = parse_statement(
        "INSERT INTO t VALUE {'pk': ?, 'n': -1.5e3, 'b': TRUE, 'z': null, 'l': [1, 'two', [?]],"
        " 'm': {'in''ner': 'it''s'}, 'ss': <<'a', 'b'>>, 'ns': <<1, 2>>}"
    )
    assert isinstance(insert, Insert) and isinstance(insert.item, MapValue)
    assert value_of(insert.item) == {
        "M": {
            "pk": {"S": "p0"},
            "n": {"N": "-1.5e3"},
            "b": {"BOOL": True},
            "z": {"NULL": True},
            "l": {"L": [{"N": "1"}, {"S": "two"}, {"L": [{"N": "7"}]}]},
            "m": {"M": {"in'ner": {"S": "it's"}}},
            "ss": {"SS": ["a", "b"]},
            "ns": {"NS": ["1", "2"]},
        }
    }
    assert isinstance(insert.item.entries[-1][1], SetValue)
    assert isinstance(insert.item.entries[4][1], ListValue)


def test_a_set_of_mixed_types_is_refused() -> None:
    insert = parse_statement("INSERT INTO t VALUE {'s': <<'a', 1>>}")
    assert isinstance(insert, Insert)
    with pytest.raises(DynamoDbError):
        value_of(insert.item)


def test_update_clauses_and_returning() -> None:
    update = parse_statement(
        "UPDATE t SET a = a + ?, b = 'x' REMOVE c, d[1] SET e = list_append(e, [1]) WHERE pk = 1 RETURNING MODIFIED OLD *"
    )
    assert isinstance(update, Update)
    assert update.actions == (
        Assign(Path(("a",)), Arithmetic("+", Path(("a",)), Parameter(0))),
        Assign(Path(("b",)), update.actions[1].value),  # type: ignore[union-attr]
        Remove(Path(("c",))),
        Remove(Path(("d", 1))),
        Assign(Path(("e",)), Call("list_append", (Path(("e",)), update.actions[4].value.arguments[1]))),  # type: ignore[union-attr]
    )
    assert isinstance(update.actions[1], Assign) and value_of(update.actions[1].value) == {"S": "x"}  # type: ignore[arg-type]
    assert update.returning == "UPDATED_OLD"
    for words, wanted in (("ALL OLD", "ALL_OLD"), ("ALL NEW", "ALL_NEW"), ("MODIFIED NEW", "UPDATED_NEW")):
        parsed = parse_statement(f"UPDATE t SET a = 1 WHERE pk = 1 RETURNING {words} *")
        assert isinstance(parsed, Update) and parsed.returning == wanted


def test_delete_and_order_by() -> None:
    delete = parse_statement("DELETE FROM t WHERE pk = 'a' AND sk = 2 RETURNING ALL OLD *")
    assert isinstance(delete, Delete) and delete.returning == "ALL_OLD"
    ordered = parse_statement("SELECT * FROM t WHERE pk = 'a' ORDER BY sk DESC")
    assert isinstance(ordered, Select) and ordered.order_by == ((Path(("sk",)), True),)
    assert isinstance(ordered.where, Comparison) and isinstance(ordered.where.right, Constant)


@pytest.mark.parametrize(
    ("statement", "detail"),
    [
        ("SLECT * FROM t", "Expected data manipulation"),
        ("", "Expected data manipulation"),
        ("SELECT * FROM t WHERE", "Unexpected end of statement"),
        ("SELECT * FROM t WHERE a = 1 extra", "Unexpected token"),
        ("SELECT * FROM WHERE", "Unexpected keyword"),
        ("UPDATE t WHERE pk = 1", "Unexpected keyword"),
        ("SELECT * FROM t WHERE a = 'open", "Invalid token"),
        ("SELECT * FROM t WHERE nosuch(a)", "Unexpected term"),
        ("DELETE FROM t WHERE pk = 1 RETURNING ALL *", "Unexpected token"),
    ],
)
def test_malformed_statements(statement: str, detail: str) -> None:
    assert refused(statement) == MALFORMED + detail


def test_refusals_dynamodb_words_on_their_own_terms() -> None:
    assert refused('SELECT * FROM "t"."i"."x"') == "A path may contain at most 2 components in the FROM clause"
    assert refused('SELECT * FROM "t".""') == "Path component cannot be an empty string"
    assert refused("INSERT INTO t.i VALUE {'pk': 1}") == "FROM clause may only contain a single table name in data manipulation statements"
    assert refused("SELECT * FROM t WHERE begins_with(a)") == (
        "Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1"
    )
