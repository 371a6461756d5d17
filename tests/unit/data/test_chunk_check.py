"""One chunk through DuckDB: counts, rejects with lines and reasons, partials, keys, rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

from sluiceway.config import PipelineConfig, parse_config
from sluiceway.data import rules
from sluiceway.data.keys import locate_values, write_keys
from sluiceway.data.reader import ChunkFormat, normalize_chunk
from sluiceway.data.records import MAX_VALUE_CHARS
from sluiceway.data.validate import ChunkOutcome, Exclusion, check_chunk
from sluiceway.errors import DataError

CONFIG = """\
name: t
schema:
  columns:
    - {name: id, type: integer, required: true, unique: true}
    - {name: region, type: string, required: true, allowed: [n, s]}
    - {name: qty, type: integer, min: 1}
processing:
  derived: {double: qty * 2}
  group_by: [region]
  aggregations:
    rows: {op: count}
    units: {op: sum, column: qty}
    doubled: {op: max, column: double}
    ids: {op: count_distinct, column: id}
"""
COLUMNS = ("id", "region", "qty")
SQL_CONFIG = CONFIG.split("processing:")[0] + "processing:\n  sql: SELECT region, sum(qty) AS q FROM valid_rows GROUP BY region\n"


def run(
    tmp_path: Path,
    data: bytes,
    *,
    config: PipelineConfig | None = None,
    newline: str = "lf",
    **kw: Any,
) -> ChunkOutcome:
    path = tmp_path / "chunk.csv"
    path.write_bytes(data)
    return check_chunk(
        path,
        config=config or parse_config(CONFIG),
        fmt=ChunkFormat(kw.pop("columns", COLUMNS), newline, kw.pop("encoding", "utf-8")),
        out_dir=tmp_path / "out",
        where="s3://in/f.csv",
        **kw,
    )


def read(path: Path) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in duckdb.sql(f"SELECT * FROM read_parquet('{path}')").fetchall()]


def rejects(outcome: ChunkOutcome) -> list[tuple[Any, ...]]:
    return read(outcome.files["rejects"])


def test_a_clean_chunk(tmp_path: Path) -> None:
    outcome = run(tmp_path, b"1,n,2\n2,s,3\n3,n,4\n")
    assert (outcome.rows_read, outcome.rows_valid, outcome.rows_rejected, outcome.lines) == (
        3,
        3,
        0,
        3,
    )
    assert rejects(outcome) == []
    partial = duckdb.sql(
        f"SELECT region, __sw_n, __sw_a1_s, __sw_a2_max, __sw_a3_d FROM read_parquet('{outcome.files['partial']}') ORDER BY region"
    ).fetchall()
    assert [(r[0], r[1], int(r[2]), r[3], sorted(r[4])) for r in partial] == [
        ("n", 2, 6, 8, [1, 3]),
        ("s", 1, 3, 6, [2]),
    ]
    stats = outcome.keys["id"]
    assert (stats.count, stats.distinct, stats.low, stats.high) == (3, 3, 1, 3)
    # distinct values with bounds: the statistics are enough unless another chunk's range overlaps
    assert "keys-0" not in outcome.files


def test_write_keys_reads_the_valid_values_of_a_unique_column(tmp_path: Path) -> None:
    path = tmp_path / "chunk.csv"
    path.write_bytes(b'3,n,2\n1,x,3\n"2\n",s,4\nz,n,1\n3,s,1\n')
    target = tmp_path / "keys.parquet"
    write_keys(path, config=parse_config(CONFIG), fmt=ChunkFormat(COLUMNS, "lf"), column="id", target=target, where="x")
    assert [k for (k,) in read(target)] == [3, 2, 3]  # row 2 (region x) and row 4 (id z) are not valid


def test_every_broken_rule_is_a_reject_with_its_line(tmp_path: Path) -> None:
    data = b'1,n,2\n2,x,0\nz,n,1\n4,s\n5,"n",1,9\n6,n,\n'
    outcome = run(tmp_path, data)
    assert (outcome.rows_read, outcome.rows_valid, outcome.rows_rejected) == (6, 2, 4)
    assert rejects(outcome) == [
        (1, 1, "region", "x", "not one of the allowed values: n, s"),
        (1, 2, "qty", "0", "less than the minimum 1"),
        (2, 0, "id", "z", "not a valid integer"),
        (3, -1, "", "4,s", "expected 3 fields, found 2"),
        (4, -1, "", '5,"n",1,9', "expected 3 fields, found 4"),
    ]
    assert outcome.keys["id"].count == 2  # only valid rows count for uniqueness


def test_reasons_are_the_same_when_the_failing_rows_are_read_again(tmp_path: Path) -> None:
    data = b'1,n,2\n2,x,0\nz,n,1\n4,s\n"5",n,\n6,s,-3\n"7\n",n,1\n8,n,1\n'
    excluded = [Exclusion(7, "id", "8", "duplicate value of unique column id (first on line 1)")]
    (tmp_path / "kept").mkdir()
    (tmp_path / "again").mkdir()
    kept = run(tmp_path / "kept", data, exclude=excluded)
    again = run(tmp_path / "again", data, exclude=excluded, bad_rows_kept=2)
    assert (kept.rows_valid, kept.rows_rejected) == (again.rows_valid, again.rows_rejected) == (3, 5)
    assert rejects(kept) == rejects(again)
    assert [r[0] for r in rejects(kept)] == [1, 1, 2, 3, 5, 8]
    assert read(kept.files["partial"]) == read(again.files["partial"])


def test_an_unterminated_quote_is_one_reject(tmp_path: Path) -> None:
    outcome = run(tmp_path, b'1,n,2\n2,"s,3\n3,n,4\n')
    assert (outcome.rows_read, outcome.rows_rejected) == (2, 1)
    assert rejects(outcome)[0][:3] == (1, 1, "region") and rejects(outcome)[0][4] == "unterminated or misplaced quote"


def test_lines_count_quoted_line_breaks_and_blank_lines(tmp_path: Path) -> None:
    data = b'1,n,2\n\n2,"s\n",0\n3,n,1\n\n4,x,1\n'
    outcome = run(tmp_path, data)
    assert outcome.exact_lines and outcome.lines == 7
    assert [r[:3] for r in rejects(outcome)] == [(2, 1, "region"), (2, 2, "qty"), (6, 1, "region")]


def test_crlf_and_mixed_line_endings(tmp_path: Path) -> None:
    outcome = run(tmp_path, b"1,n,2\r\n2,x,3\r\n", newline="crlf")
    assert (outcome.rows_read, outcome.rows_rejected) == (2, 1) and rejects(outcome)[0][0] == 1
    # Excel: CRLF between rows, LF inside a quoted cell
    mixed = b'1,"n",2\r\n2,"s",3\r\n3,"n\nx",1\r\n4,s,0\r\n'
    outcome = run(tmp_path, mixed, newline="crlf")
    assert (outcome.rows_read, outcome.rows_valid) == (4, 2)
    assert [(r[0], r[2]) for r in rejects(outcome)] == [(2, "region"), (4, "qty")]


def test_latin1_and_undecodable_rows(tmp_path: Path) -> None:
    config = parse_config(CONFIG.replace("allowed: [n, s]", "allowed: [n, s, 'é']"))
    outcome = run(tmp_path, "1,é,2\n".encode("latin-1"), config=config, encoding="latin-1")
    assert outcome.rows_valid == 1
    outcome = run(tmp_path, b"1,n,2\n2,\xff\xfe,3\n3,s,1\n", config=config)
    assert (outcome.rows_read, outcome.rows_rejected) == (3, 1)
    assert rejects(outcome)[0][0] == 1 and rejects(outcome)[0][4] == "not valid utf-8 text"


def test_cp1252_chunks_are_transcoded(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_bytes("1,€,2\n".encode("cp1252") + b"\x81")
    assert normalize_chunk(path, encoding="cp1252") == "utf-8"
    data = path.read_bytes()
    # undecodable bytes stay as they are, so DuckDB rejects their rows
    assert data.startswith("1,€,2\n".encode()) and data.endswith(b"\x81")
    assert normalize_chunk(path, encoding="latin-1") == "latin-1" and path.read_bytes() == data


def test_a_one_megabyte_field(tmp_path: Path) -> None:
    config = parse_config(CONFIG.replace("allowed: [n, s]", "regex: 'x+'"))
    big = b"x" * (1024 * 1024)
    outcome = run(tmp_path, b"1," + big + b",2\n2,y,3\n", config=config)
    assert (outcome.rows_read, outcome.rows_valid) == (2, 1)
    found = rejects(outcome)
    assert found[0][:3] == (1, 1, "region")


def test_long_reject_values_are_cut(tmp_path: Path) -> None:
    config = parse_config(CONFIG.replace("allowed: [n, s]", "regex: 'x'"))
    outcome = run(tmp_path, b"1," + b"y" * 10000 + b",2\n", config=config)
    value = rejects(outcome)[0][3]
    assert len(value) == MAX_VALUE_CHARS + 1 and value.endswith("…")


def test_columns_in_another_order(tmp_path: Path) -> None:
    outcome = run(tmp_path, b"2,n,1\n0,s,2\n", columns=("qty", "region", "id"))
    assert [r[:4] for r in rejects(outcome)] == [(1, 2, "qty", "0")]


def test_exclusions_reject_rows_that_passed(tmp_path: Path) -> None:
    outcome = run(
        tmp_path,
        b"1,n,2\n2,s,3\n",
        exclude=[Exclusion(2, "id", "2", "duplicate value of unique column id (first on line 9)")],
    )
    assert (outcome.rows_valid, outcome.rows_rejected) == (1, 1)
    assert rejects(outcome) == [(1, 0, "id", "2", "duplicate value of unique column id (first on line 9)")]
    assert outcome.keys["id"].count == 1


def test_internal_duplicates_show_in_the_key_stats(tmp_path: Path) -> None:
    outcome = run(tmp_path, b"5,n,2\n9,s,3\n5,n,1\n")
    assert (outcome.keys["id"].count, outcome.keys["id"].distinct) == (3, 2)
    assert sorted(k for (k,) in read(outcome.files["keys-0"])) == [5, 5, 9]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"1,n,2\n2,x,3\n3,n,1\n", (2, 2, 1, 3)),  # a rejected row leaves a gap: all parsed ids are 1..3
        (b"1,n,2\n2,s,3\n2,x,1\n3,n,1\n", (3, 3, 1, 3)),  # the duplicate is in a rejected row
    ],
)
def test_dense_integer_keys_are_distinct_without_their_values(tmp_path: Path, data: bytes, expected: tuple[int, ...]) -> None:
    outcome = run(tmp_path, data)
    stats = outcome.keys["id"]
    assert (stats.count, stats.distinct, stats.low, stats.high) == expected
    assert "keys-0" not in outcome.files
    assert not (tmp_path / "out" / "keys-0.parquet").exists()


def test_sparse_distinct_integer_keys_keep_only_statistics(tmp_path: Path) -> None:
    outcome = run(tmp_path, b"1,n,2\n7,s,3\n4,n,1\n4,x,1\n")
    stats = outcome.keys["id"]
    assert (stats.count, stats.distinct, stats.low, stats.high) == (3, 3, 1, 7)
    assert "keys-0" not in outcome.files
    assert not (tmp_path / "out" / "keys-0.parquet").exists()


def test_sparse_and_text_keys_are_counted_exactly(tmp_path: Path) -> None:
    outcome = run(tmp_path, b"1,n,2\n9000000000000,s,3\n1,n,1\n")
    assert (outcome.keys["id"].count, outcome.keys["id"].distinct) == (3, 2)
    config = parse_config(CONFIG.replace("{name: id, type: integer", "{name: id, type: string"))
    outcome = run(tmp_path, b"a,n,2\nb,s,3\na,n,1\n", config=config)
    assert (outcome.keys["id"].distinct, outcome.keys["id"].low, outcome.keys["id"].high) == (
        2,
        "a",
        "b",
    )


def test_locate_values(tmp_path: Path) -> None:
    path = tmp_path / "chunk.csv"
    path.write_bytes(b'1,n,2\n2,"s\n",1\n07,n,1\n7,x,1\n')
    values = tmp_path / "v.parquet"
    duckdb.sql(f"COPY (SELECT 7::BIGINT AS k UNION ALL SELECT 2) TO '{values}'")
    found = locate_values(
        path,
        config=parse_config(CONFIG),
        fmt=ChunkFormat(COLUMNS, "lf"),
        column="id",
        values_file=values,
        where="x",
    )
    # rows 2 (region "s\n") and 4 (region "x") are invalid, so they are no occurrences
    assert found == [(3, 3, "07", "7")]


def test_sql_mode_keeps_valid_rows_with_lines(tmp_path: Path) -> None:
    config = parse_config(
        CONFIG.split("processing:")[0] + "processing:\n  sql: SELECT region, sum(qty) AS q FROM valid_rows GROUP BY region\n"
    )
    outcome = run(tmp_path, b'1,n,2\n2,"s\n",0\n3,n,1\n', config=config)
    assert read(outcome.files["rows"]) == [(0, 1, "n", 2), (3, 3, "n", 1)]
    assert [r[:4] for r in rejects(outcome)] == [(1, 1, "region", "s\n"), (1, 2, "qty", "0")]
    assert "partial" not in outcome.files and outcome.keys == {}


def test_an_empty_chunk(tmp_path: Path) -> None:
    outcome = run(tmp_path, b"")
    assert (outcome.rows_read, outcome.lines) == (0, 0)
    assert read(outcome.files["partial"]) == []


def test_a_derived_column_that_fails_on_a_valid_row(tmp_path: Path) -> None:
    config = parse_config(
        CONFIG.replace("double: qty * 2", "double: CAST(region AS INTEGER)").replace(
            "{op: max, column: double}", "{op: count, column: double}"
        )
    )
    with pytest.raises(DataError, match=r"s3://in/f\.csv: a derived column failed on a valid row"):
        run(tmp_path, b"1,n,2\n", config=config)


def test_a_chunk_duckdb_cannot_parse(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"s3://in/f\.csv: cannot be parsed as CSV"):
        run(tmp_path, b"1,n,2\r3,s\n4\r", newline="cr")


def _check_in_child(path: str, out: str) -> None:
    outcome = check_chunk(Path(path), config=parse_config(CONFIG), fmt=ChunkFormat(COLUMNS, "lf"), out_dir=Path(out), where="x")
    raise SystemExit(0 if outcome.rows_valid == 1 else 1)


def test_a_process_that_loaded_a_config_can_fork_workers(tmp_path: Path) -> None:
    import multiprocessing

    parse_config(CONFIG)  # compiles SQL with DuckDB in this process
    run(tmp_path, b"1,n,2\n")  # and checks a chunk here too
    child = multiprocessing.get_context("fork").Process(target=_check_in_child, args=(str(tmp_path / "chunk.csv"), str(tmp_path / "child")))
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        child.join()
    assert child.exitcode == 0  # a DuckDB left open in the parent would deadlock the child


PATTERN_CONFIG = """\
name: t
schema:
  columns:
    - {name: id, type: integer, required: true}
    - {name: region, type: string, required: true}
    - {name: email, type: string, required: REQUIRED, regex: '[a-z]+@[a-z]+[.]com'}
    - {name: qty, type: integer, min: 1}
processing:
  group_by: [region]
  aggregations:
    rows: {op: count}
    units: {op: sum, column: qty}
    smallest: {op: min, column: qty}
    people: {op: count_distinct, column: email}
    regions: {op: count_distinct, column: region}
"""
PATTERN_COLUMNS = ("id", "region", "email", "qty")


def _outcome_rows(outcome: ChunkOutcome) -> tuple[Any, ...]:
    partial = duckdb.sql(
        f"SELECT region, __sw_n, __sw_a1_s, __sw_a2_min, list_sort(__sw_a3_d), list_sort(__sw_a4_d) "
        f"FROM read_parquet('{outcome.files['partial']}') ORDER BY region"
    ).fetchall()
    return (outcome.rows_read, outcome.rows_valid, outcome.rows_rejected, partial, rejects(outcome))


@pytest.mark.parametrize("required", ["true", "false"])
@pytest.mark.parametrize(
    "data",
    [
        b"1,n,ann@x.com,2\n2,s,bob@y.com,3\n3,n,ann@x.com,1\n",  # every value passes: one pass
        b"1,n,ann@x.com,2\n2,s,BAD,3\n3,n,ann@x.com,1\n4,n,BAD,5\n5,s,BAD,0\n6,s,,2\n7,n,bob@y.com,4\n",
        b"1,n,x@y.org,2\n2,n,x@y.org,2\n",  # nothing passes
    ],
)
def test_patterns_checked_on_distinct_values_decide_what_every_row_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, data: bytes, required: str
) -> None:
    config = parse_config(PATTERN_CONFIG.replace("REQUIRED", required))
    assert rules.deferrable_columns(config) == {2: "__sw_a3_d"}  # email only: region has no pattern

    (tmp_path / "deferred").mkdir()
    with caplog.at_level("INFO", logger="sluiceway.data.validate"):
        deferred = run(tmp_path / "deferred", data, config=config, columns=PATTERN_COLUMNS)
    again = any("computing the chunk again" in r.getMessage() for r in caplog.records)
    assert again == (b"BAD" in data or b"org" in data)

    broken = ("email",) if again else ()
    assert deferred.pattern_failures == broken

    # Asked to check the pattern per row (it failed last time): one pass, the same outcome.
    (tmp_path / "asked").mkdir()
    caplog.clear()
    with caplog.at_level("INFO", logger="sluiceway.data.validate"):
        asked = run(tmp_path / "asked", data, config=config, columns=PATTERN_COLUMNS, per_row_patterns=("email",))
    assert not any("computing the chunk again" in r.getMessage() for r in caplog.records)
    assert _outcome_rows(asked) == _outcome_rows(deferred) and asked.pattern_failures == broken

    monkeypatch.setattr(rules, "deferrable_columns", lambda config: {})
    (tmp_path / "per-row").mkdir()
    per_row = run(tmp_path / "per-row", data, config=config, columns=PATTERN_COLUMNS)
    assert _outcome_rows(deferred) == _outcome_rows(per_row)
    assert all(not any(v in ("BAD", "x@y.org") for v in (row[4] or [])) for row in _outcome_rows(deferred)[3])


@pytest.mark.parametrize(
    ("data", "unproven"),
    [
        (b"1,n,2\n2,x,3\n3,n,1\n", ()),  # dense: the bounds settle it, nothing is read again
        (b"1,n,2\n7,s,3\n4,n,1\n4,x,1\n", ("id",)),  # sparse: read again
        (b"5,n,2\n9,s,3\n5,n,1\n", ("id",)),  # a duplicate: read again, and its values written
        (b"1,n,2\n9000000000000,s,3\n1,n,1\n", ("id",)),
        (b"1,n,2\nz,s,3\n3,n,1\n4,n,x\n", ("id",)),  # ids 1, 3, 4 parsed: a gap the bounds cannot explain
    ],
)
def test_unlisted_integer_keys_are_read_again_only_when_their_bounds_prove_nothing(
    tmp_path: Path, data: bytes, unproven: tuple[str, ...]
) -> None:
    (tmp_path / "listed").mkdir()
    (tmp_path / "unlisted").mkdir()
    listed = run(tmp_path / "listed", data)
    unlisted = run(tmp_path / "unlisted", data, listed_keys=())
    assert unlisted.keys == listed.keys
    assert unlisted.unproven_keys == listed.unproven_keys == unproven
    assert set(unlisted.files) == set(listed.files)
    if "keys-0" in listed.files:
        assert sorted(read(unlisted.files["keys-0"])) == sorted(read(listed.files["keys-0"]))
    assert rejects(unlisted) == rejects(listed)


def test_a_derived_column_failing_on_a_row_with_a_broken_pattern_only_rejects_the_row(tmp_path: Path) -> None:
    text = PATTERN_CONFIG.replace("REQUIRED", "true").replace("regex: '[a-z]+@[a-z]+[.]com'", "regex: '[0-9]+'")
    text = text.replace("processing:\n", 'processing:\n  derived: {code: "CAST(email AS INTEGER)"}\n')
    config = parse_config(text + "    top: {op: max, column: code}\n")
    # "x1" breaks the pattern, and casting it to an integer fails: as per row, the row is rejected.
    outcome = run(tmp_path, b"1,n,12,2\n2,s,x1,3\n3,n,7,1\n", config=config, columns=PATTERN_COLUMNS)
    assert (outcome.rows_valid, outcome.rows_rejected) == (2, 1)
    assert rejects(outcome) == [(1, 2, "email", "x1", "does not match the pattern [0-9]+")]
    with pytest.raises(DataError, match="a derived column failed on a valid row"):
        run(tmp_path, b"1,n,99999999999,2\n", config=config, columns=PATTERN_COLUMNS)


def test_a_derived_column_raising_any_duckdb_error_on_a_row_with_a_broken_pattern_only_rejects_the_row(tmp_path: Path) -> None:
    config = parse_config(
        "name: t\nschema:\n  columns:\n"
        "    - {name: id, type: integer, required: true}\n"
        "    - {name: tz, type: string, required: true, regex: '[A-Z][a-z]+/[A-Za-z_]+'}\n"
        "processing:\n"
        "  derived: {local: \"timezone(tz, TIMESTAMPTZ '2020-01-01 00:00:00+00')\"}\n"
        "  aggregations:\n    zones: {op: count_distinct, column: tz}\n    latest: {op: max, column: local}\n"
    )
    # DuckDB raises NotImplementedException for an unknown time zone, not a conversion error.
    outcome = run(tmp_path, b"1,Europe/Paris\n2,utc+1\n", config=config, columns=("id", "tz"))
    assert (outcome.rows_valid, outcome.rows_rejected) == (1, 1)
    assert rejects(outcome)[0][2:4] == ("tz", "utc+1")


@pytest.mark.parametrize("sql", [False, True])
@pytest.mark.parametrize("terminated", [True, False])
def test_a_record_longer_than_duckdbs_buffer_is_a_reject_not_lost(tmp_path: Path, sql: bool, terminated: bool) -> None:
    # DuckDB reports a record over max_line_size only while it fits its read buffer
    # (16 records of that size); a longer one it skipped without a row or a reject.
    limit = 1024
    huge = b"4,n," + b"9" * (limit * 40) + (b"\n" if terminated else b"")
    data = b"1,n,2\n2,s,3\n3,n," + b"8" * (limit * 2) + b"\n" + (huge if not terminated else huge + b"5,s,6\n")
    config = parse_config(SQL_CONFIG) if sql else None
    outcome = run(tmp_path, data, config=config, max_record_bytes=limit)
    expected_rows = 4 if not terminated else 5
    assert outcome.rows_read == expected_rows == outcome.rows_valid + outcome.rows_rejected
    assert outcome.rows_rejected == 2
    found = rejects(outcome)
    assert [(line, column, reason) for line, _, column, _, reason in found] == [
        (2, "", "record longer than the 1 KiB limit"),
        (3, "", "record longer than the 1 KiB limit"),
    ]
    assert found[1][3].startswith("4,n,999") and len(found[1][3]) <= MAX_VALUE_CHARS + 1


def test_one_long_unterminated_record_alone(tmp_path: Path) -> None:
    outcome = run(tmp_path, b"7,n," + b"x" * 100_000, max_record_bytes=1000)
    assert (outcome.rows_read, outcome.rows_valid, outcome.rows_rejected) == (1, 0, 1)
    assert [r[4] for r in rejects(outcome)] == ["record longer than the 1000-byte limit"]


SPECTRUM = """\
name: t
csv: {null_values: %s}
schema:
  columns:
    - {name: a, type: string}
    - {name: b, type: string}
    - {name: c, type: string}
processing:
  sql: SELECT * FROM valid_rows
"""


def test_a_quoted_empty_field_is_an_empty_string_and_an_unquoted_one_null(tmp_path: Path) -> None:
    # csv-spectrum's empty.csv, plus an unquoted empty field
    outcome = run(tmp_path, b'1,"",""\n2,3,4\n5,,""\n', config=parse_config(SPECTRUM % '[""]'), columns=("a", "b", "c"))
    assert read(outcome.files["rows"]) == [(0, "1", "", ""), (1, "2", "3", "4"), (2, "5", None, "")]


def test_null_markers_match_unquoted_fields_only(tmp_path: Path) -> None:
    config = parse_config(SPECTRUM % '["", NA, "NULL"]')
    outcome = run(tmp_path, b'1,NA,"NA"\nNULL,"NULL",\n', config=config, columns=("a", "b", "c"))
    assert read(outcome.files["rows"]) == [(0, "1", None, "NA"), (1, None, "NULL", None)]


def test_a_record_too_long_for_duckdb_after_a_stray_quote_is_still_rejected(tmp_path: Path) -> None:
    # The stray quote (5") makes the quote-parity count join the lines after it, so the count
    # cannot show the skipped record; its length does.
    data = b'1,n,5"x\n2,s,' + b"7" * 20_000 + b"\n3,s,4\n"
    outcome = run(tmp_path, data, max_record_bytes=1000)
    assert (outcome.rows_read, outcome.rows_valid, outcome.rows_rejected) == (3, 1, 2)
    assert [(r[0], r[4]) for r in rejects(outcome)] == [(0, "not a valid integer"), (1, "record longer than the 1000-byte limit")]
