"""Sniffing a file's head and cutting it into line-aligned, quote-aware chunks."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sluiceway.data.scan import FileLayout, plan_chunks, sniff, terminator, transcode_to_utf8
from sluiceway.errors import DataError

SCHEMA = ["id", "name", "amount"]


def reader(data: bytes) -> Any:
    return lambda a, b: data[a:b]


def sniff_bytes(data: bytes, **overrides: Any) -> FileLayout:
    options: dict[str, Any] = {
        "size": len(data),
        "where": "s3://in/f.csv",
        "encoding": "utf-8",
        "delimiter": ",",
        "quote": '"',
        "escape": '"',
        "header": True,
        "newline": "auto",
        "schema": SCHEMA,
    }
    options.update(overrides)
    return sniff(reader(data), **options)


def test_a_plain_header() -> None:
    layout = sniff_bytes(b"id,name,amount\n1,a,2\n")
    assert layout == FileLayout(("id", "name", "amount"), 15, 2, "lf", "utf-8")


def test_header_columns_may_come_in_any_order_and_are_trimmed() -> None:
    layout = sniff_bytes(b"amount , id,name\r\n1,2,3\r\n")
    assert layout.columns == ("amount", "id", "name")
    assert layout.newline == "crlf" and layout.data_start == len(b"amount , id,name\r\n")


def test_a_utf8_byte_order_mark_is_skipped() -> None:
    layout = sniff_bytes(b"\xef\xbb\xbfid,name,amount\n1,a,2\n")
    assert layout.columns == ("id", "name", "amount") and layout.data_start == 18


def test_a_quoted_header_with_a_line_break() -> None:
    layout = sniff_bytes(b'id,"na\nme",amount\n1,a,2\n', schema=["id", "na\nme", "amount"])
    assert layout.data_first_line == 3 and layout.data_start == 18


def test_header_only_without_a_final_newline() -> None:
    layout = sniff_bytes(b"id,name,amount")
    assert layout.data_start == 14 and layout.data_first_line == 2


@pytest.mark.parametrize(("head", "newline"), [(b"a\nb", "lf"), (b"a\r\nb", "crlf"), (b"a\rb\r", "cr"), (b"a", "lf")])
def test_newline_detection(head: bytes, newline: str) -> None:
    layout = sniff_bytes(head, header=False, schema=["a"])
    assert layout.newline == newline


def test_a_declared_newline_wins() -> None:
    assert sniff_bytes(b"id,name,amount\n1,a,2\n", newline="crlf").newline == "crlf"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", r"^s3://in/f\.csv is empty \(0 bytes\)$"),
        (b"\n\n  \n", r"s3://in/f\.csv has no header and no rows \(only blank lines\)"),
        (b"\x1f\x8b\x08\x00rest", r"s3://in/f\.csv is not a CSV text file: it is gzip-compressed"),
        (b"PK\x03\x04rest", r"it is a ZIP archive"),
        (
            b"id,name\n\x00\x01\x02",
            r"s3://in/f\.csv: line 2: contains NUL bytes \(the first at offset 8\): not a text file$",
        ),
        (
            b"\xff\xfei\x00d\x00",
            r"line 1: starts with a UTF-16 byte order mark but the pipeline declares utf-8; set csv.encoding: utf-16",
        ),
        (
            b"id,name,amount\n1,caf\xe9,2\n",
            r"line 2: not valid utf-8 text \(byte 0xe9 at offset 20\); is it latin-1 or cp1252\?",
        ),
    ],
)
def test_files_that_cannot_be_used(data: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        sniff_bytes(data)


def test_utf16_without_a_bom_is_recognised_as_binary_with_a_hint() -> None:
    with pytest.raises(DataError, match=r"one beside each character as UTF-16 text has them: set csv.encoding: utf-16$"):
        sniff_bytes("id,name,amount\n1,a,2\n".encode("utf-16-le"))


def test_latin1_decodes_anything_but_refuses_a_utf8_bom() -> None:
    assert sniff_bytes(b"id,name,amount\n1,caf\xe9,2\n", encoding="latin-1").encoding == "latin-1"
    with pytest.raises(DataError, match="UTF-8 byte order mark but the pipeline declares latin-1"):
        sniff_bytes(b"\xef\xbb\xbfid,name,amount\n", encoding="latin-1")


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (b"id,name\n", r"line 1: the header does not match the schema: missing column amount$"),
        (b"id,name,amount,extra,more\n", r"unexpected columns extra, more$"),
        (
            b"id,Name,amount\n",
            r"missing column name; unexpected column Name \(column names are case-sensitive\)",
        ),
        (b"1,x,2\n", r"is the header line missing\? set csv.header: false"),
        (b"id,id,amount\n", r"the header names column\(s\) id more than once"),
    ],
)
def test_header_problems_name_the_columns(header: bytes, message: str) -> None:
    with pytest.raises(DataError, match=message):
        sniff_bytes(header + b"1,a,2\n")


def test_without_a_header_the_first_row_must_have_the_schema_width() -> None:
    layout = sniff_bytes(b"1,a,2\n3,b,4\n", header=False)
    assert layout.columns == tuple(SCHEMA) and layout.data_start == 0 and layout.data_first_line == 1
    with pytest.raises(DataError, match=r"line 1: has 2 fields but the schema declares 3 columns"):
        sniff_bytes(b"1,a\n", header=False)


def test_the_whole_header_is_read_beyond_the_head() -> None:
    wide = [f"c{i:05d}" for i in range(12000)]
    data = (",".join(wide) + "\n" + ",".join("1" for _ in wide) + "\n").encode()
    layout = sniff_bytes(data, schema=wide)
    assert len(layout.columns) == 12000 and layout.data_start == data.index(b"\n") + 1


# ------------------------------------------------------------------ chunks


def records(data: bytes) -> set[int]:
    """Byte offsets where RFC 4180 records start (what a boundary must be)."""
    starts = {0}
    text = data.decode()
    parsed = csv.reader(io.StringIO(text, newline=""))
    offset = 0
    for row in parsed:
        encoded = io.StringIO()
        csv.writer(encoded, lineterminator="\n").writerow(row)
        offset += len(encoded.getvalue().encode())
        starts.add(offset)
    return starts


def plan(data: bytes, chunk: int, **kw: Any) -> list[tuple[int, int]]:
    options: dict[str, Any] = {
        "start": 0,
        "size": len(data),
        "chunk_size": chunk,
        "quote": b'"',
        "escape": b"",
        "term": b"\n",
    }
    options.update(kw)
    return plan_chunks(reader(data), **options)


def test_chunks_cover_the_data_and_end_after_a_newline() -> None:
    data = b"".join(b"%d,abc\n" % i for i in range(1000))
    ranges = plan(data, 1000)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))
    assert all(data[end - 1 : end] == b"\n" for _, end in ranges)
    assert len(ranges) == 8


def test_a_newline_inside_quotes_is_never_a_boundary() -> None:
    field = b'"' + b"x\n" * 300 + b'"'
    data = b"1," + field + b"\n2,b\n"
    ranges = plan(data, 50)
    assert ranges == [(0, len(data) - 4), (len(data) - 4, len(data))]


def test_doubled_quotes_keep_parity() -> None:
    data = b'1,"he said ""hi""\nthere",x\n2,b,c\n' * 50
    ranges = plan(data, 40)
    starts = records(data)
    assert all(a in starts for a, _ in ranges)


def test_the_chunk_count_is_a_multiple_of_the_concurrency() -> None:
    data = b"".join(b"%05d\n" % i for i in range(10000))
    assert len(plan(data, len(data) // 3, max_concurrency=4)) == 4
    assert len(plan(data, len(data) // 5, max_concurrency=4)) == 8
    assert len(plan(data, len(data) * 2, max_concurrency=4)) == 1


def test_the_chunk_count_is_capped() -> None:
    data = b"".join(b"%05d\n" % i for i in range(10000))
    assert len(plan(data, 10, max_chunks=7)) == 7


def test_boundaries_are_found_across_read_blocks() -> None:
    data = b"1," + b'"' + b"y\n" * 5000 + b'"' + b"\n" + b"".join(b"%d,z\n" % i for i in range(3000))
    ranges = plan(data, 4000, block_size=1024)
    starts = records(data)
    assert all(a in starts for a, _ in ranges) and ranges[-1][1] == len(data)
    assert ranges[0][1] > 10000  # the quoted field is never split


def test_a_nul_byte_anywhere_refuses_the_file() -> None:
    data = b"a,b\n" * 10000 + b"\x00" + b"a,b\n"
    with pytest.raises(DataError, match=r"s3://x: contains NUL bytes \(the first at offset 40000\): not a text file"):
        plan(data, 1 << 20, where="s3://x", block_size=4096)


def test_empty_data_has_no_chunks() -> None:
    assert plan(b"id\n", 10, start=3) == []


def test_backslash_escapes() -> None:
    data = b'1,"a \\" b\nc",x\n2,y\n' * 40
    ranges = plan(data, 30, escape=b"\\")
    assert all(data[a : a + 2] in (b"1,", b"2,") for a, _ in ranges)


def test_cr_terminator() -> None:
    assert terminator("cr") == b"\r" and terminator("crlf") == b"\n"
    data = b"".join(b"%d,v\r" % i for i in range(100))
    ranges = plan(data, 50, term=b"\r")
    assert all(data[e - 1 : e] == b"\r" for _, e in ranges)


alphabet = st.sampled_from(["a", "b", ",", "\n", '"', " ", "é"])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(st.text(alphabet, max_size=12), min_size=2, max_size=2), min_size=1, max_size=40),
    chunk=st.integers(min_value=1, max_value=60),
)
def test_boundaries_are_always_record_starts(rows: list[list[str]], chunk: int) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    data = out.getvalue().encode()
    ranges = plan(data, chunk, block_size=16)
    starts = records(data)
    assert all(a in starts for a, _ in ranges)
    assert b"".join(data[a:b] for a, b in ranges) == data


@settings(max_examples=80, deadline=None)
@given(
    text=st.text(st.sampled_from(["a", ",", "\n", '"', "\\"]), max_size=400),
    chunk=st.integers(min_value=1, max_value=80),
    block=st.integers(min_value=1, max_value=40),
    escape=st.sampled_from([b"", b"\\"]),
)
@example(text="\\\n\\", chunk=1, block=1, escape=b"\\")  # an escape before a terminator, on a block edge
def test_blocks_summarised_in_parallel_give_the_plan_of_one_walk(text: str, chunk: int, block: int, escape: bytes) -> None:
    # Escapes and quotes fall on every possible block edge; the parallel summaries must agree.
    data = text.encode()
    one_walk = plan(data, chunk, escape=escape, block_size=len(data) + 1, threads=1)
    assert plan(data, chunk, escape=escape, block_size=block, threads=2) == one_walk
    assert plan(data, chunk, escape=escape, block_size=block, threads=1) == one_walk


@pytest.mark.parametrize("threads", [1, 2])
def test_an_object_that_shrank_after_its_head_ends_the_plan(threads: int) -> None:
    data = b"a,b\n" * 4000  # 16 000 bytes according to HEAD
    real = data[:4096]  # what is there now: one block

    def read(a: int, b: int) -> bytes:
        return real[a:b]

    options: dict[str, Any] = {"chunk_size": 1 << 20, "quote": b'"', "escape": b"", "term": b"\n", "block_size": 4096}
    ranges = plan_chunks(read, start=0, size=len(data), threads=threads, **options)
    assert ranges == [(0, len(data))]  # not a loop: the chunk's own read finds the object short


def test_a_nul_byte_leaves_the_blocks_after_it_unread() -> None:
    data = b"a,b\n" * 1024 + b"\x00" + b"a,b\n" * 100_000
    read_at: list[int] = []

    def read(a: int, b: int) -> bytes:
        read_at.append(a)
        if a > 4096:
            time.sleep(0.005)  # a real read takes a while: the NUL byte is seen long before the end
        return data[a:b]

    with pytest.raises(DataError, match=r"NUL bytes \(the first at offset 4096\)"):
        plan_chunks(read, start=0, size=len(data), chunk_size=1 << 20, quote=b'"', escape=b"", term=b"\n", block_size=4096, threads=2)
    assert len(read_at) < len(data) // 4096 // 2


# -------------------------------------------------------------- transcoding


def test_utf16_is_transcoded_to_utf8(tmp_path: Path) -> None:
    text = "id,name\n1,café ☕\n2,b\n"
    data = text.encode("utf-16")
    target = tmp_path / "out.csv"
    size = transcode_to_utf8(reader(data), size=len(data), encoding="utf-16", target=target, where="s3://x", block_size=7)
    assert target.read_bytes() == text.encode() and size == len(text.encode())


def test_undecodable_utf16_names_the_line(tmp_path: Path) -> None:
    data = "id\n1\n2\n".encode("utf-16-le") + b"\x00\xd8a\x00"  # a lone surrogate
    with pytest.raises(DataError, match=r"s3://x: line 4: not valid utf-16-le text \(offset 14\)"):
        transcode_to_utf8(
            reader(data),
            size=len(data),
            encoding="utf-16-le",
            target=tmp_path / "o",
            where="s3://x",
        )


@pytest.mark.parametrize("size", [1, 2, 4096, 100_000])
def test_a_file_of_nul_bytes_is_described_as_such(size: int) -> None:
    # Zeros at every even and odd offset once passed for UTF-16 text.
    with pytest.raises(DataError) as caught:
        sniff_bytes(b"\x00" * size)
    message = str(caught.value)
    assert message.startswith("s3://in/f.csv: line 1: contains NUL bytes (the first at offset 0), nothing but NUL bytes from there on")
    assert message.endswith(": not a text file") and "UTF-16" not in message


def test_text_after_a_nul_is_binary_not_utf16() -> None:
    with pytest.raises(DataError, match=r"line 2: contains NUL bytes \(the first at offset 8\): not a text file$"):
        sniff_bytes(b"id,name\n" + b"\x00" * 10 + b"abcdefgh" * 100)


@pytest.mark.parametrize(
    "header",
    [b"PAR1,name,amount\n", b"BZh,name,amount\n", b"BZh9,name,amount\n", b"%PDF,name,amount\n"],
)
def test_a_header_that_begins_like_a_magic_number_is_a_header(header: bytes) -> None:
    with pytest.raises(DataError, match=r"the header does not match the schema: missing column id; unexpected column"):
        sniff_bytes(header + b"1,a,2\n")


def test_bytes_no_encoding_decodes_are_binary_not_latin1() -> None:
    data = bytes(range(1, 9)) * 4 + b"\xe9\xff\x81\x8d" * 10
    with pytest.raises(DataError, match=r"contains control bytes \(0x01 at offset 0\) and bytes that are not utf-8 .*: not a text file$"):
        sniff_bytes(data)


def test_header_names_in_a_message_are_short_escaped_excerpts() -> None:
    header = b"root:x:0:0:root:/root:/bin/bash\x1b[31m" + b"A" * 5000 + b",\x1b]0;owned\x07,id\n"
    with pytest.raises(DataError) as caught:
        sniff_bytes(header + b"1,2,3\n")
    message = str(caught.value)
    assert "\x1b" not in message and "\x07" not in message and "A" * 61 not in message
    assert "unexpected columns root:x:0:0:root:/root:/bin/bash\\x1b[31m" + "A" * 21 + "…" in message
    assert message.endswith("and 1 more")
