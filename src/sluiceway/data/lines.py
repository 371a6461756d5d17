"""Physical line numbers for the rows DuckDB parsed from a chunk.

DuckDB numbers the rows it returns (``WITH ORDINALITY``) and reports the byte
offset of each record it rejects, but not the line a returned row started on.
Rejected rows need real line numbers, so a chunk's ordinals are mapped to lines:

* Fast path: when the chunk has exactly as many lines as parsed rows plus
  rejected records, every record is one line and there are no blank lines, so
  ordinal ``k`` is the ``k``-th line not taken by a rejected record.
* Otherwise (quoted line breaks, blank lines), the chunk's records are walked
  with the same quote-parity rule the chunk planner uses, skipping blank lines
  and the records DuckDB rejected. If that walk disagrees with DuckDB's row
  count, the fast-path numbering is used and the map is marked inexact.

Lines here are 0-based within the chunk; the aggregate stage adds the chunk's
first line.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _bytes

__all__ = [
    "LineMap",
    "LongRecord",
    "RecordCount",
    "build_line_map",
    "count_lines",
    "count_lines_in",
    "count_records_in",
    "fast_line_map",
    "lines_at",
]

BLOCK = 8 * 1024 * 1024
COUNT_BLOCK = 1024 * 1024

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LineMap:
    """Maps 1-based row ordinals to 0-based lines, piecewise: ``line = lines[i] + (ordinal - starts[i])``."""

    starts: tuple[int, ...]
    """Ordinals where a segment begins, ascending; the first is 1."""
    lines: tuple[int, ...]
    """The line of each segment's first ordinal."""
    exact: bool = True
    """False when the record walk disagreed with DuckDB (line numbers are then best effort)."""

    def line_of(self, ordinal: int) -> int:
        i = max(0, bisect.bisect_right(self.starts, ordinal) - 1)
        return self.lines[i] + (ordinal - self.starts[i])

    @property
    def trivial(self) -> bool:
        """Whether ``line = ordinal - 1`` for every row."""
        return len(self.starts) == 1 and self.lines[0] == 0


def count_lines(data: bytes, term: bytes) -> int:
    """Physical lines in ``data``: terminators, plus one for a last unterminated line."""
    if not data:
        return 0
    return _bytes.count(data, term) + (0 if data.endswith(term) else 1)


def count_lines_in(path: Path, term: bytes) -> int:
    """:func:`count_lines` of a file, read in blocks into one reused buffer and counted by NumPy."""
    total = 0
    last = b""
    buffer = bytearray(COUNT_BLOCK)
    with open(path, "rb", buffering=0) as f:
        while size := f.readinto(buffer):
            total += _bytes.count(buffer, term, 0, size)
            last = bytes(buffer[size - 1 : size])
    return total + (1 if last and last != term else 0)


@dataclass(frozen=True)
class LongRecord:
    """A record longer than the limit :func:`count_records_in` was given."""

    offset: int
    """Byte offset where the record starts."""
    line: int
    """Its 0-based first line."""
    length: int
    """Its bytes, terminator excluded."""


@dataclass(frozen=True)
class RecordCount:
    """The records of a chunk file, counted without DuckDB."""

    records: int
    long: tuple[LongRecord, ...] = ()
    """Records longer than the limit, in file order."""


def count_records_in(
    path: Path,
    *,
    term: bytes,
    quote: bytes,
    escape: bytes = b"",
    columns: int = 2,
    limit: int | None = None,
    block_size: int = BLOCK,
) -> RecordCount:
    """Count the records of a chunk file by RFC 4180 quote parity, the rule the chunk planner cuts by.

    A record ends at a line terminator with an even number of quote characters
    (``escape`` + quote pairs not counted) since the start of the file. Blank lines
    are not records, unless the schema has one column (DuckDB reads them as rows
    then). Terminators and quotes are found block by block with NumPy, so a
    record of any length costs no more than its bytes.

    Args:
        term: the line-terminator byte.
        quote, escape: the dialect's quote and (if different) escape bytes.
        columns: the schema's width.
        limit: report records longer than this many bytes (terminator excluded).
    """
    records = 0
    long: list[LongRecord] = []
    quotes = 0  # counted quotes so far
    end = -1  # offset of the terminator ending the last record
    end_line = -1  # its 0-based line
    lines = 0  # terminators before the current block
    last = b""  # the previous block's last byte
    base = 0
    cr = ord("\r")
    t, q, e = term[0], (quote[0] if quote else None), (escape[0] if escape else None)
    buffer = bytearray(block_size)
    with open(path, "rb", buffering=0) as f:
        while size := f.readinto(buffer):
            view = np.frombuffer(buffer, dtype=np.uint8, count=size)
            at = np.flatnonzero(view == t)
            if q is not None:
                mask = view == q
                if e is not None:
                    mask[1:] &= view[:-1] != e
                    if last and last[0] == e:
                        mask[0] = False
                qpos = np.flatnonzero(mask)
                even = ((np.searchsorted(qpos, at) + quotes) & 1) == 0
                quotes += len(qpos)
                ends_at = np.flatnonzero(even)
            else:
                ends_at = np.arange(len(at))
            if len(ends_at):
                ends = at[ends_at] + base
                end_lines = ends_at + lines
                starts = np.concatenate(([end + 1], ends[:-1] + 1))
                lengths = ends - starts
                records += len(lengths)
                if columns != 1:
                    # Blank lines (nothing, or a lone CR before an LF) are no records. Only the
                    # first span may start in the previous block, at its last byte.
                    ones = np.flatnonzero(lengths == 1)
                    firsts = [view[s - base] if s >= base else last[0] for s in starts[ones].tolist()]
                    records -= int(np.count_nonzero(lengths == 0)) + firsts.count(cr)
                if limit is not None:
                    for k in np.flatnonzero(lengths > limit).tolist():
                        line = end_line + 1 if k == 0 else int(end_lines[k - 1]) + 1
                        long.append(LongRecord(int(starts[k]), line, int(lengths[k])))
                end, end_line = int(ends[-1]), int(end_lines[-1])
            lines += len(at)
            last = bytes(buffer[size - 1 : size])
            base += size
    # A last record without a terminator.
    if end + 1 < base:
        length = base - (end + 1)
        with open(path, "rb") as f:
            f.seek(end + 1)
            head = f.read(1)
        if columns == 1 or not (length == 1 and head == b"\r"):
            records += 1
            if limit is not None and length > limit:
                long.append(LongRecord(end + 1, end_line + 1, length))
    return RecordCount(records, tuple(long))


def lines_at(path: Path, term: bytes, offsets: Sequence[int]) -> dict[int, int]:
    """The 0-based line of each (sorted) byte offset in a file, read in blocks."""
    result: dict[int, int] = {}
    if not offsets:
        return result
    line = 0
    position = 0
    pending = list(offsets)
    index = 0
    with open(path, "rb") as f:
        while index < len(pending):
            block = f.read(BLOCK)
            end = position + len(block)
            while index < len(pending) and (pending[index] < end or not block):
                offset = pending[index]
                result[offset] = line + _bytes.count(block, term, 0, max(0, offset - position))
                index += 1
            if not block:
                break
            line += _bytes.count(block, term)
            position = end
    return result


def fast_line_map(reject_lines: Iterable[int]) -> LineMap:
    """The map when every record is one line: rows fill the lines rejected records leave."""
    return _fast(reject_lines, 0)


def build_line_map(
    data: bytes,
    *,
    term: bytes,
    parsed: int,
    rejected_offsets: Iterable[int],
    quote: bytes,
    escape: bytes = b"",
    columns: int = 2,
) -> tuple[LineMap, dict[int, int]]:
    """Map the chunk's parsed rows to lines.

    Args:
        data: the chunk's bytes, as DuckDB read them.
        term: the line-terminator byte.
        parsed: how many rows DuckDB returned.
        rejected_offsets: byte offsets where DuckDB's rejected records start.
        quote, escape: the dialect's quote and (if different) escape bytes.
        columns: the schema's width (a blank line is a row only for one column).

    Returns:
        The map, and the 0-based line of each rejected record's offset.
    """
    offsets = sorted(set(rejected_offsets))
    reject_lines = _lines_at(data, term, offsets)
    total = count_lines(data, term)
    if total == parsed + len(offsets):
        return _fast(reject_lines.values(), parsed), reject_lines
    starts = _record_starts(data, term, quote, escape, columns)
    rejected = set(offsets)
    kept = [s for s in starts if s not in rejected]
    if len(kept) != parsed:
        logger.warning(
            "line numbers are approximate",
            extra={"parsed": parsed, "records": len(kept), "lines": total},
        )
        fast = _fast(reject_lines.values(), parsed)
        return LineMap(fast.starts, fast.lines, exact=False), reject_lines
    seg_starts: list[int] = []
    seg_lines: list[int] = []
    line = 0
    previous = 0
    for ordinal, offset in enumerate(kept, start=1):
        line += data.count(term, previous, offset)
        previous = offset
        if not seg_starts or seg_lines[-1] + (ordinal - seg_starts[-1]) != line:
            seg_starts.append(ordinal)
            seg_lines.append(line)
    if not seg_starts:
        return LineMap((1,), (0,)), reject_lines
    return LineMap(tuple(seg_starts), tuple(seg_lines)), reject_lines


def _lines_at(data: bytes, term: bytes, offsets: Sequence[int]) -> dict[int, int]:
    result: dict[int, int] = {}
    line = 0
    previous = 0
    for offset in offsets:
        line += data.count(term, previous, offset)
        previous = offset
        result[offset] = line
    return result


def _fast(reject_lines: Iterable[int], parsed: int) -> LineMap:
    """Every record is one line; rows fill the lines that rejected records leave."""
    starts = [1]
    lines = [0]
    for j, line in enumerate(sorted(reject_lines)):
        before = line - j  # parsed rows before this rejected record
        ordinal = before + 1
        new_line = line + 1
        if ordinal == starts[-1]:
            lines[-1] = new_line
        else:
            starts.append(ordinal)
            lines.append(new_line)
    return LineMap(tuple(starts), tuple(lines))


def _record_starts(data: bytes, term: bytes, quote: bytes, escape: bytes, columns: int) -> list[int]:
    """Byte offsets of the records in ``data`` (blank lines skipped unless one column)."""
    starts: list[int] = []
    n = len(data)
    pos = 0
    cr = ord("\r")
    while pos < n:
        end = data.find(term, pos)
        if end == -1:
            end = n
        if quote:
            count = data.count(quote, pos, end) - (data.count(escape + quote, pos, end) if escape else 0)
            while count % 2 and end < n:
                nxt = data.find(term, end + 1)
                if nxt == -1:
                    nxt = n
                count += data.count(quote, end + 1, nxt) - (data.count(escape + quote, end + 1, nxt) if escape else 0)
                end = nxt
        blank = end == pos or (end == pos + 1 and data[pos] == cr)
        if columns == 1 or not blank:
            starts.append(pos)
        pos = end + 1
    return starts
