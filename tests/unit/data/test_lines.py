"""Mapping DuckDB's row ordinals to physical lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluiceway.data.lines import (
    BLOCK,
    LineMap,
    LongRecord,
    RecordCount,
    build_line_map,
    count_lines,
    count_lines_in,
    count_records_in,
    fast_line_map,
    lines_at,
)


def test_count_lines() -> None:
    assert count_lines(b"", b"\n") == 0
    assert count_lines(b"a\nb\n", b"\n") == 2
    assert count_lines(b"a\nb", b"\n") == 2
    assert count_lines(b"a\rb\r", b"\r") == 2


def test_one_line_per_record_is_trivial() -> None:
    line_map, rejects = build_line_map(b"1,a\n2,b\n3,c\n", term=b"\n", parsed=3, rejected_offsets=[], quote=b'"')
    assert line_map.trivial and line_map.exact and rejects == {}
    assert [line_map.line_of(o) for o in (1, 2, 3)] == [0, 1, 2]


def test_rejected_records_take_their_lines() -> None:
    data = b"1,a\nbad\n2,b\nbad\nbad\n3,c\n"
    line_map, rejects = build_line_map(data, term=b"\n", parsed=3, rejected_offsets=[4, 12, 16, 12], quote=b'"')
    assert rejects == {4: 1, 12: 3, 16: 4}
    assert [line_map.line_of(o) for o in (1, 2, 3)] == [0, 2, 5]
    assert line_map.exact and not line_map.trivial


def test_quoted_line_breaks_and_blank_lines_are_walked() -> None:
    data = b'1,"a\nb"\n\n2,c\nbad\n3,"x\n\ny"\n4,d'
    offsets = [data.index(b"bad")]
    line_map, rejects = build_line_map(data, term=b"\n", parsed=4, rejected_offsets=offsets, quote=b'"')
    assert line_map.exact
    assert rejects == {offsets[0]: 4}
    assert [line_map.line_of(o) for o in (1, 2, 3, 4)] == [0, 3, 5, 8]


def test_crlf_blank_lines() -> None:
    data = b"1,a\r\n\r\n2,b\r\n"
    line_map, _ = build_line_map(data, term=b"\n", parsed=2, rejected_offsets=[], quote=b'"')
    assert [line_map.line_of(o) for o in (1, 2)] == [0, 2]


def test_one_column_blank_lines_are_rows() -> None:
    data = b'x\n\n"a\nb"\n'
    line_map, _ = build_line_map(data, term=b"\n", parsed=3, rejected_offsets=[], quote=b'"', columns=1)
    assert [line_map.line_of(o) for o in (1, 2, 3)] == [0, 1, 2]


def test_backslash_escaped_quotes() -> None:
    data = b'1,"a\\"\nb"\n2,c\n'
    line_map, _ = build_line_map(data, term=b"\n", parsed=2, rejected_offsets=[], quote=b'"', escape=b"\\")
    assert [line_map.line_of(o) for o in (1, 2)] == [0, 2]


def test_a_disagreement_is_flagged_not_fatal() -> None:
    data = b'1,a"b\n2,c\n\n3,d\n'  # a stray quote: DuckDB keeps it literal, the walk sees an open quote
    line_map, _ = build_line_map(data, term=b"\n", parsed=3, rejected_offsets=[], quote=b'"')
    assert not line_map.exact
    assert line_map.line_of(1) == 0


def test_line_map_segments() -> None:
    line_map = LineMap((1, 4, 10), (0, 5, 20))
    assert [line_map.line_of(o) for o in (1, 3, 4, 9, 10, 12)] == [0, 2, 5, 10, 20, 22]


def test_counting_lines_in_files_across_blocks(tmp_path: Path) -> None:
    line = b"x" * 99 + b"\n"
    data = line * 90_000  # 9 MB: more than one read block
    path = tmp_path / "big.csv"
    path.write_bytes(data + b"tail")
    assert count_lines_in(path, b"\n") == count_lines(data + b"tail", b"\n") == 90_001
    offsets = [0, 100, BLOCK - 1, BLOCK, BLOCK + 100, len(data), len(data) + 4]
    assert lines_at(path, b"\n", offsets) == {o: data[:o].count(b"\n") if o <= len(data) else 90_000 for o in offsets}
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert count_lines_in(empty, b"\n") == 0 and lines_at(empty, b"\n", []) == {}


def test_fast_line_map() -> None:
    line_map = fast_line_map([1, 3, 4])
    assert [line_map.line_of(o) for o in (1, 2, 3)] == [0, 2, 5]


@pytest.mark.parametrize("block_size", [1, 3, 64])
@pytest.mark.parametrize(
    ("data", "columns", "escape", "records"),
    [
        (b"1,a\n2,b\n", 2, b"", 2),
        (b"1,a\n\n\r\n2,b", 2, b"", 2),  # blank lines are no records, an unterminated last one is
        (b"1,a\n\n2,b\n", 1, b"", 3),  # ... unless the schema has one column
        (b'1,"a\nb"\n2,"c""\n"\n', 2, b"", 2),  # quoted line breaks and doubled quotes
        (b'1,"a\\"\nb"\n2,c\n', 2, b"\\", 2),  # an escaped quote does not close
        (b"", 2, b"", 0),
        (b"\r", 2, b"", 0),
    ],
)
def test_counting_records_by_quote_parity(tmp_path: Path, data: bytes, columns: int, escape: bytes, records: int, block_size: int) -> None:
    path = tmp_path / "chunk.csv"
    path.write_bytes(data)
    counted = count_records_in(path, term=b"\n", quote=b'"', escape=escape, columns=columns, block_size=block_size)
    assert counted == RecordCount(records)


def test_records_longer_than_the_limit_are_named_with_their_lines(tmp_path: Path) -> None:
    path = tmp_path / "chunk.csv"
    path.write_bytes(b'1,a\n2,"' + b"x\n" * 10 + b'"\n3,b\n\n4,' + b"y" * 30)
    counted = count_records_in(path, term=b"\n", quote=b'"', limit=20, block_size=4)
    assert counted == RecordCount(4, (LongRecord(4, 1, 24), LongRecord(34, 14, 32)))
