"""Partial aggregates merge to exactly what one query over all rows gives."""

from __future__ import annotations

import datetime as dt
import decimal
import math
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from sluiceway.config import parse_config
from sluiceway.data import aggregate as engine
from sluiceway.data.reader import ChunkFormat
from sluiceway.data.validate import check_chunk

SCHEMA = """\
name: t
schema:
  columns:
    - {name: id, type: integer}
    - {name: g, type: string}
    - {name: q, type: integer}
    - {name: p, type: decimal, precision: 12, scale: 2}
    - {name: day, type: date}
    - {name: who, type: string}
"""
AGGREGATIONS = """\
processing:
  derived: {value: q * p}
  group_by: [g]
  aggregations:
    rows: {op: count}
    priced: {op: count, column: p}
    units: {op: sum, column: q}
    value: {op: sum, column: value}
    avg_units: {op: mean, column: q}
    first_day: {op: min, column: day}
    last_day: {op: max, column: day}
    people: {op: count_distinct, column: who}
"""
COLUMNS = ("id", "g", "q", "p", "day", "who")


def rows(n: int) -> list[str]:
    out = []
    for i in range(n):
        g = ["a", "b", "", "c"][i % 4]
        p = "" if i % 7 == 0 else f"{(i * 37) % 1000 / 100:.2f}"
        out.append(f"{i},{g},{i % 13},{p},2024-01-{1 + i % 28:02d},p{i % 17}")
    return out


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect()
    yield connection
    connection.close()


def partials(tmp_path: Path, text: str, lines: list[str], pieces: int) -> list[Path]:
    config = parse_config(text)
    files = []
    size = max(1, math.ceil(len(lines) / pieces))
    for n in range(pieces):
        part = tmp_path / f"c{n}.csv"
        part.write_text("".join(line + "\n" for line in lines[n * size : (n + 1) * size]))
        outcome = check_chunk(
            part,
            config=config,
            fmt=ChunkFormat(COLUMNS, "lf"),
            out_dir=tmp_path / f"o{n}",
            where="x",
        )
        files.append(outcome.files["partial"])
    return files


def test_merged_partials_equal_one_query(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    lines = rows(500)
    config = parse_config(SCHEMA + AGGREGATIONS)
    engine.merge_partials(con, config, partials(tmp_path, SCHEMA + AGGREGATIONS, lines, 7))
    merged = con.execute(f"SELECT * FROM {engine.RESULT_TABLE}").fetchall()

    whole = tmp_path / "whole.csv"
    whole.write_text("id,g,q,p,day,who\n" + "\n".join(lines) + "\n")
    expected = con.execute(
        f"""SELECT NULLIF(g, '') AS g, count(*), count(p), sum(q), sum(q * p), avg(q), min(day), max(day), count(DISTINCT who)
        FROM read_csv('{whole}', types={{'g': 'VARCHAR', 'p': 'DECIMAL(12,2)', 'day': 'DATE'}})
        GROUP BY NULLIF(g, '') ORDER BY 1 NULLS LAST"""
    ).fetchall()
    assert len(merged) == 4 and merged[-1][0] is None  # the empty region is its own group, last
    for got, want in zip(merged, expected, strict=True):
        assert got[:4] == want[:4]
        assert got[4] == want[4]  # decimal sums are exact
        assert got[5] == pytest.approx(want[5])
        assert got[6:] == want[6:]


def test_distinct_counts_merge_exactly_for_every_kind_of_value(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    text = SCHEMA + """\
processing:
  derived: {half: q / 2, tag: "g || chr(0) || who"}
  group_by: [g]
  aggregations:
    people: {op: count_distinct, column: who}
    ids: {op: count_distinct, column: id}
    days: {op: count_distinct, column: day}
    prices: {op: count_distinct, column: p}
    halves: {op: count_distinct, column: half}
    tags: {op: count_distinct, column: tag}
"""
    lines = rows(300) + rows(300)  # every value twice, in different chunks
    files = partials(tmp_path, text, lines, 5)
    engine.merge_partials(con, parse_config(text), files)
    merged = con.execute(f"SELECT * FROM {engine.RESULT_TABLE}").fetchall()

    whole = tmp_path / "whole.csv"
    whole.write_text("id,g,q,p,day,who\n" + "\n".join(lines) + "\n")
    expected = con.execute(
        f"""SELECT NULLIF(g, '') AS g, count(DISTINCT NULLIF(who, '')), count(DISTINCT id), count(DISTINCT day), count(DISTINCT p),
               count(DISTINCT q / 2), count(DISTINCT NULLIF(g, '') || chr(0) || NULLIF(who, ''))
        FROM read_csv('{whole}', types={{'g': 'VARCHAR', 'p': 'DECIMAL(12,2)', 'day': 'DATE', 'q': 'BIGINT'}})
        GROUP BY NULLIF(g, '') ORDER BY 1 NULLS LAST"""
    ).fetchall()
    assert merged == expected


def test_without_group_by_one_row_even_when_nothing_is_valid(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    text = SCHEMA.replace("{name: q, type: integer}", "{name: q, type: integer, min: 100}") + AGGREGATIONS.replace("  group_by: [g]\n", "")
    engine.merge_partials(con, parse_config(text), partials(tmp_path, text, rows(20), 3))
    assert con.execute(f"SELECT * FROM {engine.RESULT_TABLE}").fetchall() == [(0, 0, None, None, None, None, None, 0)]


def test_result_rows_are_json(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    text = SCHEMA + AGGREGATIONS
    engine.merge_partials(con, parse_config(text), partials(tmp_path, text, rows(40), 2))
    columns, found, total = engine.result_rows(con)
    assert columns == [
        "g",
        "rows",
        "priced",
        "units",
        "value",
        "avg_units",
        "first_day",
        "last_day",
        "people",
    ]
    assert total == 4 and found[0]["g"] == "a"
    assert isinstance(found[0]["units"], int) and isinstance(found[0]["value"], float)
    assert found[0]["first_day"] == "2024-01-01"


def test_sql_mode_drops_later_duplicates(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    text = SCHEMA.replace("{name: id, type: integer}", "{name: id, type: integer, unique: true}") + (
        "processing:\n  sql: SELECT count(*) AS n, sum(q) AS q FROM valid_rows\n"
    )
    config = parse_config(text)
    files = []
    for n, body in enumerate(["1,a,1,,,\n2,a,2,,,\n", "3,a,4,,,\n1,b,8,,,\n2,b,16,,,\n"]):
        part = tmp_path / f"c{n}.csv"
        part.write_text(body)
        files.append(
            check_chunk(
                part,
                config=config,
                fmt=ChunkFormat(COLUMNS, "lf"),
                out_dir=tmp_path / f"o{n}",
                where="x",
            ).files["rows"]
        )
    duplicates = engine.run_sql(con, config, [(files[0], 2), (files[1], 4)])
    assert duplicates == [
        (5, 0, "id", "1", "duplicate value of unique column id (first on line 2)"),
        (6, 0, "id", "2", "duplicate value of unique column id (first on line 3)"),
    ]
    assert con.execute(f"SELECT * FROM {engine.RESULT_TABLE}").fetchall() == [(3, 7)]


def test_duplicate_values(tmp_path: Path, con: duckdb.DuckDBPyConnection) -> None:
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    con.execute(f"COPY (SELECT * FROM (VALUES (1), (2), (3)) t(k)) TO '{a}'")
    con.execute(f"COPY (SELECT * FROM (VALUES (3), (4), (4)) t(k)) TO '{b}'")
    target = tmp_path / "d.parquet"
    assert engine.duplicate_values(con, [a, b], target) == 2
    assert sorted(k for (k,) in con.execute(f"SELECT k FROM '{target}'").fetchall()) == [3, 4]


def test_json_values() -> None:
    assert engine.json_value(decimal.Decimal("12.00")) == 12
    assert engine.json_value(decimal.Decimal("12.50")) == 12.5
    assert engine.json_value(float("nan")) is None
    assert engine.json_value(dt.date(2024, 1, 2)) == "2024-01-02"
    assert engine.json_value(dt.datetime(2024, 1, 2, 3, 4)) == "2024-01-02T03:04:00"
    assert engine.json_value([decimal.Decimal("1"), {"a": dt.timedelta(seconds=90)}]) == [
        1,
        {"a": 90.0},
    ]
    assert engine.json_value(uuid.UUID(int=1)) == "00000000-0000-0000-0000-000000000001"
    assert engine.json_value(b"\x01") == "01"
