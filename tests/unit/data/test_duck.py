"""DuckDB connections that run the pipeline config's SQL reach only the run's own files."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sluiceway.config import parse_config
from sluiceway.data._duck import connect, error_text
from sluiceway.data.reader import ChunkFormat
from sluiceway.data.validate import check_chunk
from sluiceway.errors import DataError


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    secret.write_text("s\nsecret-value\n")
    return secret


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("SELECT * FROM read_csv('{dir}/secret.csv')", duckdb.PermissionException),
        ("SELECT * FROM read_blob('{dir}/secret.csv')", duckdb.PermissionException),
        ("SELECT content FROM read_text('{dir}/secret.csv')", duckdb.PermissionException),
        ("SELECT * FROM glob('{dir}/*')", duckdb.PermissionException),
        ("SELECT * FROM read_csv('{mine}/../outside/secret.csv')", duckdb.PermissionException),
        ("SELECT * FROM '{dir}/secret.csv'", duckdb.PermissionException),  # a replacement scan of a file
        ("COPY (SELECT 1) TO '{dir}/x.csv'", duckdb.PermissionException),
        ("SELECT * FROM read_text('http://127.0.0.1:9/x')", duckdb.PermissionException),
        ("ATTACH '{dir}/x.db'", duckdb.PermissionException),
        ("INSTALL httpfs", duckdb.PermissionException),
        ("LOAD httpfs", duckdb.PermissionException),
    ],
)
def test_a_sandboxed_connection_reaches_no_other_file(tmp_path: Path, outside: Path, query: str, error: type[Exception]) -> None:
    mine = tmp_path / "run"
    mine.mkdir()
    con = connect(files=[mine], temp_dir=mine / "spill")
    try:
        with pytest.raises(error):
            con.execute(query.format(dir=outside.parent, mine=mine)).fetchall()
    finally:
        con.close()


def test_the_sandbox_cannot_be_lifted_and_its_own_files_work(tmp_path: Path, outside: Path) -> None:
    mine = tmp_path / "run"
    mine.mkdir()
    (mine / "in.csv").write_text("a\n1\n")
    con = connect(files=[mine])
    try:
        for setting in ("enable_external_access = true", "allowed_directories = ['/']", "lock_configuration = false"):
            with pytest.raises(duckdb.InvalidInputException, match="locked"):
                con.execute(f"SET {setting}")
        con.execute(f"COPY (SELECT * FROM read_csv('{mine}/in.csv')) TO '{mine}/out.parquet' (FORMAT parquet)")
        assert con.execute(f"SELECT * FROM read_parquet('{mine}/out.parquet')").fetchall() == [(1,)]
        with pytest.raises(duckdb.PermissionException):
            con.execute(f"SELECT * FROM read_csv('{outside}')")
    finally:
        con.close()


def test_a_derived_column_that_reads_a_file_fails_the_chunk(tmp_path: Path, outside: Path) -> None:
    # A config that skipped its load-time check (or a check that missed a reader): the run still reads nothing else.
    config = parse_config("name: t\nschema:\n  columns:\n    - {name: id, type: integer}\nprocessing:\n  aggregations: {n: {op: count}}\n")
    leaky = config.processing.model_copy(update={"derived": {"s": f"(SELECT max(s) FROM read_csv('{outside}'))"}})
    chunk = tmp_path / "run" / "chunk.csv"
    chunk.parent.mkdir()
    chunk.write_bytes(b"1\n2\n")
    with pytest.raises(DataError, match=r"^s3://in/f\.csv: Permission Error: Cannot access file"):
        check_chunk(
            chunk,
            config=config.model_copy(update={"processing": leaky}),
            fmt=ChunkFormat(("id",), "lf"),
            out_dir=chunk.parent / "out",
            where="s3://in/f.csv",
            temp_dir=chunk.parent,
        )


def test_error_text_quotes_values_as_short_escaped_excerpts() -> None:
    message = "Conversion Error: Could not convert string '" + "9" * 100 + "\x1b[2J' to INT64\nLINE 1: SELECT ..."
    assert error_text(message) == "Conversion Error: Could not convert string '" + "9" * 60 + "…' to INT64"
    assert error_text('Invalid Input Error: value "\x1b]0;title\x07" is bad') == 'Invalid Input Error: value "\\x1b]0;title\\x07" is bad'
