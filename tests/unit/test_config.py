"""The pipeline config: loading, every problem reported with its line, SQL compiled up front."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import pytest

from sluiceway.config import (
    DEFAULT_TRIGGER,
    STARTER_CONFIG,
    PipelineConfig,
    load_config,
    packaged_config_path,
    parse_config,
)
from sluiceway.errors import ConfigError

MINIMAL = """\
name: demo
schema:
  columns:
    - {name: id, type: integer, required: true, unique: true}
    - {name: region, type: string}
    - {name: amount, type: float, min: 0}
processing:
  group_by: [region]
  aggregations:
    rows: {op: count}
    total: {op: sum, column: amount}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="p.yaml")
    return [line.strip() for line in str(caught.value).splitlines()[1:]]


def test_the_packaged_sales_pipeline_loads() -> None:
    config = load_config(packaged_config_path())
    assert config.name == "sales"
    assert config.processing.mode == "aggregations"
    assert config.unique_columns == ["order_id"]
    assert config.column_names == [
        "order_id",
        "order_date",
        "region",
        "product",
        "quantity",
        "unit_price",
        "customer_email",
    ]
    assert config.column("region").allowed == ["north", "south", "east", "west", "central"]
    assert config.processing.group_by == ["region"]
    assert config.chunk_size_mb == 128 and config.max_concurrency == 4
    assert config.trigger == DEFAULT_TRIGGER


def test_the_starter_config_parses_and_is_commented() -> None:
    config = parse_config(STARTER_CONFIG, source="sluiceway.yaml")
    assert config.name == "my-pipeline"
    assert STARTER_CONFIG.count("\n#") >= 5


def test_defaults() -> None:
    config = parse_config(MINIMAL)
    assert config.csv.delimiter == "," and config.csv.header and config.csv.encoding == "utf-8"
    assert config.csv.newline == "auto"
    assert config.chunk_size_mb == 128 and config.chunk_size_bytes == 128 * 1024 * 1024
    assert config.max_concurrency == 4
    assert config.output.prefix == "results"
    assert config.trigger == DEFAULT_TRIGGER


def test_digest_is_stable_and_follows_content() -> None:
    a, b = parse_config(MINIMAL), parse_config(MINIMAL)
    assert a.digest() == b.digest()
    assert parse_config(MINIMAL.replace("min: 0", "min: 1")).digest() != a.digest()


def test_unknown_key_names_its_line_and_suggests() -> None:
    text = MINIMAL.replace("name: demo", "name: demo\ncsv:\n  delimter: ';'")
    found = problems(text)
    assert found == ["p.yaml:3: csv.delimter: unknown key (did you mean 'delimiter'?)"]


def test_every_problem_is_listed_with_its_line() -> None:
    text = """\
name: demo
max_concurrency: 0
schema:
  columns:
    - name: id
      type: int
    - {type: string}
processing:
  aggregations:
    rows: {op: median}
"""
    found = problems(text)
    assert "p.yaml:2: max_concurrency: Input should be greater than or equal to 1" in found
    assert any(p.startswith("p.yaml:6: schema.columns[0].type: Input should be 'string'") for p in found)
    assert "p.yaml:7: schema.columns[1].name: required key is missing" in found
    assert any(p.startswith("p.yaml:10: processing.aggregations.rows.op:") for p in found)
    assert len(found) == 4


def test_missing_top_level_keys() -> None:
    found = problems("name: x\n")
    assert "p.yaml:1: schema: required key is missing" in found
    assert "p.yaml:1: processing: required key is missing" in found


def test_not_yaml() -> None:
    with pytest.raises(
        ConfigError,
        match=r"^p\.yaml:4: not valid YAML: .*\(while parsing a flow sequence on line 3\)",
    ):
        parse_config("name: x\nschema:\n  - [unclosed\n", source="p.yaml")


def test_not_a_mapping() -> None:
    with pytest.raises(ConfigError, match=r"p\.yaml:1: the pipeline config must be a mapping"):
        parse_config("- a\n- b\n", source="p.yaml")


def test_duplicate_keys_are_refused() -> None:
    found = problems(MINIMAL + "processing:\n  sql: SELECT 1 FROM valid_rows\n")
    assert found == ["p.yaml:12: duplicate key 'processing' (first on line 7)"]


def test_sql_and_aggregations_are_exclusive() -> None:
    found = problems(MINIMAL.replace("processing:\n", "processing:\n  sql: SELECT * FROM valid_rows\n"))
    assert found == ["p.yaml:7: processing: use either sql or derived/group_by/aggregations, not both"]


def test_processing_needs_something() -> None:
    found = problems(MINIMAL.split("processing:")[0] + "processing: {}\n")
    assert found == ["p.yaml:7: processing: declare aggregations (with optional derived and group_by) or sql"]


def test_references_and_types_are_checked() -> None:
    text = MINIMAL.replace(
        "    total: {op: sum, column: amount}",
        "    total: {op: sum, column: region}\n    worst: {op: max, column: nope}",
    ).replace("group_by: [region]", "group_by: [region, missing]")
    found = problems(text)
    assert "p.yaml:8: processing.group_by[1]: unknown column 'missing' (known: id, region, amount)" in found
    assert "p.yaml:11: processing.aggregations.total.column: sum needs a numeric column; 'region' is string" in found
    assert any(p.startswith("p.yaml:12: processing.aggregations.worst.column: unknown column 'nope'") for p in found)


def test_derived_expressions_compile_against_the_schema() -> None:
    text = MINIMAL.replace(
        "processing:\n",
        "processing:\n  derived:\n    cents: amount * 100\n    bad: amount +* 2\n    odd: nosuch + 1\n",
    ).replace("column: amount}", "column: cents}")
    found = problems(text)
    assert any(p.startswith("p.yaml:10: processing.derived.bad: not a valid expression over the row") for p in found)
    assert any(p.startswith("p.yaml:11: processing.derived.odd: not a valid expression over the row") for p in found)
    assert len(found) == 2  # cents compiled and is numeric, so the sum over it is fine


def test_derived_may_use_earlier_derived_columns_and_window_functions_are_refused() -> None:
    text = MINIMAL.replace(
        "processing:\n",
        "processing:\n  derived:\n    cents: amount * 100\n    euros: cents / 100\n    ranked: rank() OVER (ORDER BY id)\n",
    )
    found = problems(text)
    assert found == ["p.yaml:11: processing.derived.ranked: must be one expression over the row (no window functions, no ';')"]


def test_sql_mode_compiles_the_query() -> None:
    base = MINIMAL.split("processing:")[0]
    config = parse_config(base + "processing:\n  sql: SELECT region, sum(amount) AS total FROM valid_rows GROUP BY region\n")
    assert config.processing.mode == "sql"
    found = problems(base + "processing:\n  sql: SELECT nope FROM valid_rows\n")
    assert len(found) == 1 and found[0].startswith("p.yaml:8: processing.sql: does not compile against valid_rows")
    found = problems(base + "processing:\n  sql: DELETE FROM valid_rows\n")
    assert found == ["p.yaml:8: processing.sql: must be exactly one SELECT query over valid_rows"]


def test_rule_values_follow_the_column_type() -> None:
    text = """\
name: demo
schema:
  columns:
    - {name: day, type: date, min: 2024-01-01, max: "2024-12-31"}
    - {name: flag, type: string, allowed: [yes, no, on]}
    - {name: n, type: integer, allowed: [1, "2"]}
    - {name: price, type: decimal, precision: 10, scale: 3, max: 99.5}
processing:
  aggregations: {rows: {op: count}}
"""
    config = parse_config(text)
    assert config.column("day").min == "2024-01-01"
    assert config.column("flag").allowed == ["yes", "no", "on"]  # YAML 1.2: these are strings
    assert config.column("n").allowed == [1, 2]
    assert config.column("price").decimal_precision == 10 and config.column("price").max == "99.5"


def test_rule_values_that_do_not_fit_are_refused() -> None:
    text = """\
name: demo
schema:
  columns:
    - {name: day, type: date, min: 2024-13-01}
    - {name: s, type: string, min: 3}
    - {name: n, type: integer, allowed: [1.5]}
    - {name: b, type: boolean, format: "%Y"}
    - {name: e, type: string, regex: "(unclosed"}
    - {name: lo, type: integer, min: 5, max: 1}
processing:
  aggregations: {rows: {op: count}}
"""
    found = problems(text)
    assert any(p.startswith("p.yaml:4: schema.columns[0].min: '2024-13-01' is not a date") for p in found)
    assert any(p.startswith("p.yaml:5: schema.columns[1].min: min/max apply to") for p in found)
    assert any(p.startswith("p.yaml:6: schema.columns[2].allowed:") for p in found)
    assert any(p.startswith("p.yaml:7: schema.columns[3].format: format applies to date and timestamp") for p in found)
    assert any(p.startswith("p.yaml:9: schema.columns[5]: min 5 is greater than max 1") for p in found)
    # the regex is checked by DuckDB once the rest is valid
    only_regex = "\n".join(line for line in text.splitlines() if "name: e," in line or not line.startswith("    - "))
    found = problems(only_regex + "\n")
    assert len(found) == 1 and found[0].startswith("p.yaml:4: schema.columns[0].regex: not a valid RE2 pattern")


def test_column_names_must_be_unique_and_not_reserved() -> None:
    found = problems(MINIMAL.replace("- {name: region, type: string}", "- {name: id, type: string}"))
    assert found == ["p.yaml:2: schema: column 'id' is declared twice"]
    found = problems(MINIMAL.replace("- {name: region, type: string}", "- {name: __sw_x}"))
    assert found == ["p.yaml:5: schema.columns[1].name: names starting with '__sw_' are reserved"]


@pytest.mark.parametrize(
    ("written", "canonical"),
    [
        ("UTF8", "utf-8"),
        ("latin1", "latin-1"),
        ("ISO-8859-1", "latin-1"),
        ("utf_16", "utf-16"),
        ("windows-1252", "cp1252"),
    ],
)
def test_encodings_are_normalised(written: str, canonical: str) -> None:
    config = parse_config(MINIMAL + f"csv: {{encoding: {written}}}\n")
    assert config.csv.encoding == canonical


def test_dialect_problems() -> None:
    found = problems(MINIMAL + "csv: {encoding: ebcdic, delimiter: ';;', quote: ';'}\n")
    assert any(p.startswith("p.yaml:12: csv.encoding: unsupported encoding 'ebcdic'") for p in found)
    assert "p.yaml:12: csv.delimiter: must be exactly one character" in found


def test_output_prefix_may_not_escape() -> None:
    found = problems(MINIMAL + "output: {prefix: ../elsewhere}\n")
    assert len(found) == 1 and found[0].startswith("p.yaml:12: output.prefix: must be a relative key prefix")


def test_load_config_reports_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"{tmp_path / 'nope.yaml'}: no such pipeline config file")):
        load_config(tmp_path / "nope.yaml")


def test_load_config_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "pipe.yaml"
    path.write_text(MINIMAL.replace("min: 0", "min: zero"), encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(f"{path}:6: schema.columns[2].min: 'zero' is not a number")):
        load_config(path)


def test_config_is_frozen() -> None:
    config = parse_config(MINIMAL)
    with pytest.raises(Exception):  # noqa: B017 -- pydantic's frozen-instance error
        config.name = "other"  # type: ignore[misc]
    assert isinstance(config, PipelineConfig)


def billion_laughs(levels: int) -> str:
    """A config whose trigger nests ``levels`` anchors, each aliasing the one before nine times."""
    lines = ["name: bomb", "trigger:", "  source: [aws.s3]", "  detail:", '    l0: &l0 ["lol"]']
    lines += [f"    l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, levels + 1)]
    return "\n".join([*lines, MINIMAL.removeprefix("name: demo\n")])


def test_a_yaml_alias_bomb_is_refused_at_once() -> None:
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            parse_config(billion_laughs(9), source="p.yaml")  # 9^9 values once expanded
        except BaseException as exc:  # noqa: BLE001 -- handed to the test's thread
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert outcome, "loading an alias bomb did not finish"
    assert isinstance(outcome[0], ConfigError)
    # The innermost node past the limit: l5 (line 10) holds 9^5 lists of one value each.
    assert str(outcome[0]) == (
        'p.yaml:10: anchors and aliases expand the config to more than 100000 values (nested aliases, a "billion laughs"?); '
        "write the values out"
    )


def test_recursive_aliases_and_deep_nesting_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"^p\.yaml:2: an alias refers to a node that contains it"):
        parse_config("name: x\ndescription: &a [*a]\n", source="p.yaml")
    with pytest.raises(ConfigError, match=r"^p\.yaml: not a usable pipeline config: nested too deeply"):
        parse_config("name: " + "[" * 5000 + "]" * 5000 + "\n", source="p.yaml")


def test_anchors_and_aliases_within_reason_still_work() -> None:
    text = MINIMAL.replace("{name: region, type: string}", "{name: region, type: string, allowed: &places [n, s]}").replace(
        "    - {name: amount", "    - {name: origin, type: string, allowed: *places}\n    - {name: amount"
    )
    assert parse_config(text).column("origin").allowed == ["n", "s"]


SQL_BASE = MINIMAL.split("processing:")[0] + "processing:\n"


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("SELECT * FROM read_blob('/etc/shadow')", "reads files (read_blob)"),
        ("SELECT * FROM read_csv('/etc/passwd')", "reads files (read_csv)"),
        ("SELECT content FROM read_text('/etc/hostname')", "reads files (read_text)"),
        ("SELECT * FROM read_parquet('https://example.com/x.parquet')", "reads files (read_parquet)"),
        ("SELECT * FROM read_json_auto('s3://bucket/x.json')", "reads files (read_json_auto)"),
        ("SELECT * FROM glob('/etc/*')", "reads files (glob)"),
        ("SELECT region, (SELECT count(*) FROM read_csv('/etc/passwd')) AS n FROM valid_rows", "reads files (read_csv)"),
        ("SELECT * FROM '/etc/passwd.csv'", "reads '/etc/passwd.csv', not valid_rows"),
        ("SELECT * FROM duckdb_settings()", "calls duckdb_settings"),
    ],
)
def test_pipeline_sql_may_read_only_valid_rows(sql: str, reason: str) -> None:
    found = problems(SQL_BASE + f'  sql: "{sql}"\n')
    assert found == [f"p.yaml:8: processing.sql: {reason} — pipeline SQL may only read valid_rows"]


@pytest.mark.parametrize(
    "sql",
    ["COPY valid_rows TO '/tmp/x.csv'", "ATTACH '/tmp/x.db'", "INSTALL httpfs", "LOAD httpfs", "SET enable_external_access = true"],
)
def test_pipeline_sql_is_one_select(sql: str) -> None:
    assert problems(SQL_BASE + f'  sql: "{sql}"\n') == ["p.yaml:8: processing.sql: must be exactly one SELECT query over valid_rows"]


def test_derived_columns_may_read_only_the_row() -> None:
    text = MINIMAL.replace(
        "  group_by: [region]\n", "  derived:\n    secret: \"(SELECT content FROM read_text('/etc/hostname'))\"\n  group_by: [region]\n"
    )
    assert problems(text) == ["p.yaml:9: processing.derived.secret: reads files (read_text) — pipeline SQL may only read valid_rows"]


def test_sql_that_reads_only_valid_rows_passes() -> None:
    for sql in (
        "WITH Big AS (SELECT * FROM valid_rows WHERE amount > 10) SELECT region, count(*) AS n FROM big GROUP BY region",
        "SELECT region, 'read_blob' AS label, r.range AS k FROM valid_rows, range(2) r",
    ):
        assert parse_config(SQL_BASE + f'  sql: "{sql}"\n').processing.sql == sql


def test_null_values_name_the_dialects_null_markers() -> None:
    assert parse_config(MINIMAL).csv.null_values == [""]
    assert parse_config(MINIMAL + 'csv: {null_values: ["", NA, "NULL"]}\n').csv.null_values == ["", "NA", "NULL"]
    assert problems(MINIMAL + "csv: {null_values: []}\n") == [
        "p.yaml:12: csv.null_values: List should have at least 1 item after validation, not 0"
    ]
    assert problems(MINIMAL + 'csv: {null_values: ["a,b"]}\n') == [
        "p.yaml:12: csv: null marker 'a,b' may not contain the delimiter or the quote"
    ]


@pytest.mark.parametrize(
    ("derived", "reason"),
    [
        ("row_number() over/**/()", "no window functions"),
        ("sum(amount) OVER\n()", "no window functions"),
        ("1) AS r FROM valid_rows --", "must be exactly one expression over the row"),
        ("(SELECT count(*) FROM valid_rows)", "no subqueries"),
        ("current_setting('temp_directory')", "tells about the host"),
    ],
)
def test_a_derived_column_is_one_expression_over_the_row_however_it_is_spelled(derived: str, reason: str) -> None:
    text = MINIMAL.replace("processing:\n", f"processing:\n  derived:\n    x: {json.dumps(derived)}\n")
    [found] = problems(text)
    assert "processing.derived.x" in found and reason in found


@pytest.mark.parametrize(
    "sql",
    [
        "WITH sqlite_master AS (SELECT 1) SELECT count(*) AS n FROM main.sqlite_master",
        "SELECT (SELECT count(*) FROM information_schema.tables) AS n FROM (WITH tables AS (SELECT 1) SELECT 1)",
        "SELECT current_setting('temp_directory') AS t FROM valid_rows",
    ],
)
def test_pipeline_sql_reads_valid_rows_and_its_own_ctes_only(sql: str) -> None:
    base = MINIMAL.split("processing:")[0]
    [found] = problems(base + f"processing:\n  sql: {json.dumps(sql)}\n")
    assert "processing.sql" in found and ("valid_rows" in found or "host" in found)
