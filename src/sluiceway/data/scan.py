"""Looking at a file before processing it: is it CSV text, what is its header, where may it be cut.

:func:`sniff` reads the head of the file: binary or compressed content, byte
order marks, undecodable text, the line terminator, and the header against the
schema. :func:`plan_chunks` then streams the whole file once, in big blocks,
to place chunk boundaries: a boundary is always just after a line terminator
that lies outside quotes. Whether a terminator is inside quotes follows from
RFC 4180 quote parity -- the number of quote characters since the start of the
data is even outside quoted fields -- which NumPy counts at memory speed
(:mod:`._bytes`). The same pass refuses files with NUL bytes (binary content).

A stray quote inside an unquoted field (``5"``) flips the parity; boundaries
then move to a later terminator that has even parity, which is still a record
boundary in files without quoted line breaks. With an escape character other
than the quote, escaped quotes (``\\"``) are discounted pairwise.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import math
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import DataError
from . import _bytes
from .excerpt import MAX_EXCERPT_CHARS, excerpt

__all__ = [
    "HEAD_BYTES",
    "MAX_HEADER_BYTES",
    "FileLayout",
    "Reader",
    "plan_chunks",
    "sniff",
    "terminator",
    "transcode_to_utf8",
]

logger = logging.getLogger(__name__)

Reader = Callable[[int, int], bytes]
"""``read(start, end)``: the bytes ``[start, end)`` of the file (may be called from several threads)."""

HEAD_BYTES = 64 * 1024
MAX_HEADER_BYTES = 1024 * 1024
BLOCK_BYTES = 4 * 1024 * 1024
"""How much of the file the planner reads at a time (bigger blocks measured slower: they leave the CPU cache)."""

_UTF8_BOM = b"\xef\xbb\xbf"
_MAGIC = (
    (re.compile(rb"\x1f\x8b"), "gzip-compressed"),
    (re.compile(rb"PK\x03\x04"), "a ZIP archive (or an Excel workbook)"),
    # Magic numbers made of letters could start a CSV header ("PAR1,...", "BZh,..."):
    # these need the bytes that follow them in a real file too.
    (re.compile(rb"PAR1[^\t\n\r\x20-\x7e]"), "a Parquet file"),
    (re.compile(rb"BZh[1-9](?:1AY&SY|\x17rE8P\x90)"), "bzip2-compressed"),
    (re.compile(rb"\xfd7zXZ\x00"), "xz-compressed"),
    (re.compile(rb"\x28\xb5\x2f\xfd"), "zstd-compressed"),
    (re.compile(rb"7z\xbc\xaf\x27\x1c"), "a 7-Zip archive"),
    (re.compile(rb"%PDF-\d"), "a PDF document"),
    (re.compile(rb"\x89PNG"), "a PNG image"),
    (re.compile(rb"\xff\xd8\xff"), "a JPEG image"),
    (re.compile(rb"\xd0\xcf\x11\xe0"), "an old Office document (.xls)"),
    (re.compile(rb"SQLite format 3\x00"), "a SQLite database"),
)
_CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Bytes no text file holds (C0 controls but tab and line breaks, and DEL)."""
_NEWLINES = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


@dataclass(frozen=True)
class FileLayout:
    """What :func:`sniff` learnt about a file."""

    columns: tuple[str, ...]
    """Column names in file order (the header's, or the schema's without a header)."""
    data_start: int
    """Byte offset of the first data line."""
    data_first_line: int
    """1-based physical line number of the first data line."""
    newline: str
    """``lf``, ``crlf`` or ``cr``."""
    encoding: str
    """The encoding of the bytes chunks read (``utf-8``, ``latin-1``, ``cp1252``...)."""


def terminator(newline: str) -> bytes:
    """The byte that ends a line: ``\\r`` for ``cr`` files, ``\\n`` otherwise."""
    return b"\r" if newline == "cr" else b"\n"


def sniff(
    read: Reader,
    *,
    size: int,
    where: str,
    encoding: str,
    delimiter: str,
    quote: str,
    escape: str,
    header: bool,
    newline: str,
    schema: Sequence[str],
) -> FileLayout:
    """Check the head of a file and locate its header and first data line.

    Args:
        read: reads byte ranges of the file.
        size: the file's size in bytes.
        where: ``s3://bucket/key``, for messages.
        encoding: the encoding of the bytes (UTF-16 files are transcoded before this).
        delimiter, quote, escape, header, newline: the CSV dialect.
        schema: the declared column names.

    Raises:
        DataError: the file is empty, binary, compressed, not decodable text, or
            its header does not match the schema; the message names the file,
            the line and the reason.
    """
    if size == 0:
        raise DataError(f"{where} is empty (0 bytes)")
    head = read(0, min(size, HEAD_BYTES))
    _check_not_binary(head, where=where, encoding=encoding)
    bom = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
    if bom and encoding not in ("utf-8", "utf-8-sig", "ascii"):
        raise DataError(
            f"{where}: line 1: starts with a UTF-8 byte order mark but the pipeline declares {encoding}; set csv.encoding: utf-8"
        )
    _check_decodes(head, where=where, encoding=encoding, final=len(head) == size)
    if not head[bom:].strip(b" \t\r\n") and size <= len(head):
        raise DataError(
            f"{where} has no header and no rows (only blank lines)" if header else f"{where} has no rows (only blank lines)"
        )
    resolved = _newline(head[bom:], newline)
    term = terminator(resolved)
    qbyte = quote.encode(encoding) if quote else b""
    ebyte = escape.encode(encoding) if escape and escape != quote else b""

    # The first record: the header, or the first data row without one (its width is checked).
    first_end = _record_end(read, head, bom, size, term, qbyte, ebyte)
    if first_end is None:
        raise DataError(f"{where}: line 1: the first line is longer than {MAX_HEADER_BYTES} bytes; is this a CSV file?")
    record = read(bom, first_end) if first_end > len(head) else head[bom:first_end]
    text = record.decode(encoding, errors="replace").rstrip("\r\n")
    fields = _parse_record(text, delimiter=delimiter, quote=quote, escape=escape)
    if not header:
        if len(fields) != len(schema):
            raise DataError(
                f"{where}: line 1: has {len(fields)} field{'s' if len(fields) != 1 else ''} but the schema declares "
                f"{len(schema)} columns ({', '.join(schema)}); set csv.header: true if the first line names them"
            )
        return FileLayout(tuple(schema), bom, 1, resolved, encoding)
    names = tuple(f.strip() for f in fields)
    _check_header(names, schema, where=where)
    data_start = min(size, first_end + 1)
    data_first_line = 1 + (record + read(first_end, data_start)).count(term) if first_end < size else 2
    return FileLayout(names, data_start, data_first_line, resolved, encoding)


def _check_not_binary(head: bytes, *, where: str, encoding: str) -> None:
    for magic, what in _MAGIC:
        if magic.match(head):
            raise DataError(f"{where} is not a CSV text file: it is {what}")
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") and not encoding.startswith("utf-16"):
        raise DataError(
            f"{where}: line 1: starts with a UTF-16 byte order mark but the pipeline declares {encoding}; set csv.encoding: utf-16"
        )
    nul = head.find(b"\x00")
    if nul != -1:
        line = head.count(b"\n", 0, nul) + 1
        raise DataError(f"{where}: line {line}: {nul_bytes(head, nul)}")


def nul_bytes(data: bytes, nul: int, *, base: int = 0) -> str:
    """What a block holding a NUL byte at ``nul`` (its offset in the file: ``base + nul``) is, for a message.

    Text in UTF-16 has a NUL beside every ASCII character, and only there; a block
    of NUL bytes (a preallocated or zeroed file) has nothing else.
    """
    sample = data[nul : nul + 4096]
    found = f"contains NUL bytes (the first at offset {base + nul})"
    if not sample.strip(b"\x00"):
        return f"{found}, nothing but NUL bytes from there on{' to its end' if len(sample) < 4096 else ''}: not a text file"
    half = len(sample) // 2
    for zeros, rest in ((sample[0::2], sample[1::2]), (sample[1::2], sample[0::2])):
        if zeros.count(0) > half // 2 and rest.count(0) < len(rest) // 8:
            return f"{found}, one beside each character as UTF-16 text has them: set csv.encoding: utf-16"
    return f"{found}: not a text file"


def _check_decodes(head: bytes, *, where: str, encoding: str, final: bool) -> None:
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    decoder = codecs.getincrementaldecoder(codec)("strict")
    try:
        decoder.decode(head, final)
    except UnicodeDecodeError as exc:
        line = head.count(b"\n", 0, exc.start) + 1
        byte = head[exc.start : exc.start + 1].hex()
        control = _CONTROL.search(head)
        if control is not None and len(_CONTROL.findall(head[:4096])) > 8:
            # Bytes no text holds, and undecodable ones: no encoding will make this text.
            at = control.start()
            where_line = head.count(b"\n", 0, at) + 1
            raise DataError(
                f"{where}: line {where_line}: contains control bytes (0x{head[at]:02x} at offset {at}) "
                f"and bytes that are not {encoding} (0x{byte} at offset {exc.start}): not a text file"
            ) from None
        hint = ""
        if codec in ("utf-8", "ascii"):
            try:
                head.decode("cp1252")
                hint = "; is it latin-1 or cp1252? set csv.encoding"
            except UnicodeDecodeError:
                hint = ""
        raise DataError(f"{where}: line {line}: not valid {encoding} text (byte 0x{byte} at offset {exc.start}){hint}") from None


def _newline(head: bytes, declared: str) -> str:
    if declared != "auto":
        return declared
    lf = head.find(b"\n")
    cr = head.find(b"\r")
    if cr != -1 and (lf == -1 or cr < lf):
        return "crlf" if head[cr + 1 : cr + 2] == b"\n" else "cr"
    return "lf"


def _record_end(read: Reader, head: bytes, start: int, size: int, term: bytes, quote: bytes, escape: bytes) -> int | None:
    """Offset of the terminator ending the record that starts at ``start`` (``size`` if none)."""
    data = head
    limit = min(size, MAX_HEADER_BYTES)
    while True:
        parity = 0
        pos = start
        while True:
            end = data.find(term, pos)
            if end == -1:
                break
            parity ^= _quotes(data, pos, end, quote, escape) & 1
            if parity == 0:
                return end
            pos = end + 1
        if len(data) >= size:
            return size
        if len(data) >= limit:
            return None
        data = read(0, min(size, limit, len(data) * 4))


def _quotes(data: bytes, start: int, end: int, quote: bytes, escape: bytes) -> int:
    if not quote:
        return 0
    count = _bytes.count(data, quote, start, end)
    if escape and count:
        count -= _bytes.count_pairs(data, escape, quote, start, end)
    return count


def _parse_record(text: str, *, delimiter: str, quote: str, escape: str) -> list[str]:
    options: dict[str, object] = {"delimiter": delimiter, "strict": False}
    if quote:
        options["quotechar"] = quote
        options["doublequote"] = escape == quote or not escape
        if escape and escape != quote:
            options["escapechar"] = escape
    else:
        options["quoting"] = csv.QUOTE_NONE
    reader = csv.reader(io.StringIO(text, newline=""), **options)  # type: ignore[arg-type]
    try:
        return next(reader, [])
    except csv.Error:
        return text.split(delimiter)


def _check_header(names: Sequence[str], schema: Sequence[str], *, where: str) -> None:
    seen: set[str] = set()
    twice = [n for n in names if n in seen or seen.add(n)]  # type: ignore[func-returns-value]
    if twice:
        raise DataError(f"{where}: line 1: the header names column(s) {_listed(sorted(set(twice)))} more than once")
    present, declared = set(names), set(schema)
    missing = [n for n in schema if n not in present]
    unexpected = [n for n in names if n not in declared]
    if not missing and not unexpected:
        return
    parts = []
    if missing:
        parts.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if unexpected:
        parts.append(f"unexpected column{'s' if len(unexpected) > 1 else ''} {_listed(unexpected)}")
    hint = ""
    lowered = {n.lower(): n for n in schema}
    if any(n.lower() in lowered and n not in declared for n in names):
        hint = " (column names are case-sensitive)"
    elif not present & declared:
        hint = " (is the header line missing? set csv.header: false for files without one)"
    raise DataError(f"{where}: line 1: the header does not match the schema: {'; '.join(parts)}{hint}")


def _listed(names: Sequence[str]) -> str:
    """Names read from the file, escaped, as many as fit a short excerpt (at least one, cut if need be)."""
    shown: list[str] = []
    used = 0
    for name in names:
        text = excerpt(name) if name else '""'
        if shown and used + len(text) > MAX_EXCERPT_CHARS:
            break
        shown.append(text)
        used += len(text) + 2
    more = f" and {len(names) - len(shown)} more" if len(names) > len(shown) else ""
    return ", ".join(shown) + more


# -------------------------------------------------------------------- chunks


def plan_chunks(
    read: Reader,
    *,
    start: int,
    size: int,
    chunk_size: int,
    quote: bytes,
    escape: bytes,
    term: bytes,
    max_concurrency: int = 1,
    max_chunks: int = 400,
    where: str = "file",
    block_size: int = BLOCK_BYTES,
    threads: int = 2,
) -> list[tuple[int, int]]:
    """Cut ``[start, size)`` into line-aligned, quote-aware byte ranges.

    The number of chunks is ``ceil(bytes / chunk_size)``, rounded up to a multiple of
    ``max_concurrency`` so parallel workers finish together, and at most
    ``max_chunks`` (bigger chunks beyond that, to keep the Map's payload small).

    ``read`` is called from ``threads`` threads at once (positional reads only).

    Raises:
        DataError: a NUL byte (binary content) is found.
    """
    total = size - start
    if total <= 0:
        return []
    count = max(1, math.ceil(total / max(1, chunk_size)))
    if count > 1 and max_concurrency > 1:
        count = math.ceil(count / max_concurrency) * max_concurrency
    count = min(count, max(1, max_chunks))
    step = math.ceil(total / count)
    targets = [start + step * k for k in range(1, count)]

    # Whole blocks first, in parallel: NUL bytes and quote parity. The walk below then reads
    # only the blocks where it looks for a boundary.
    summaries = _summarize_blocks(read, start, size, block_size, quote, escape, where, threads)

    boundaries: list[int] = [start]
    target_index = 0
    seeking = False
    parity = 0
    pending_escape = False  # an escape byte ended the previous block
    pos = start
    while pos < size:
        summary = summaries.get(pos)
        # A block without a boundary to place is passed by its summary (an empty one, read
        # from an object that shrank since HEAD, ends the walk below instead).
        no_target = summary is not None and (target_index >= len(targets) or targets[target_index] >= pos + summary.length)
        if summary is not None and summary.length > 0 and not seeking and no_target:
            if pending_escape and quote and summary.head[:1] == quote:
                parity ^= 1
            pending_escape = bool(escape) and summary.tail.endswith(escape)
            parity ^= summary.parity
            pos += summary.length
            continue
        block = read(pos, min(size, pos + block_size))
        if not block:
            break
        nul = block.find(b"\x00")
        if nul != -1:
            raise DataError(f"{where}: {nul_bytes(block, nul, base=pos)}")
        if pending_escape and quote and block[:1] == quote:
            parity ^= 1  # the quote after a split escape pair was counted but is escaped
        pending_escape = bool(escape) and block.endswith(escape)
        i = 0
        n = len(block)
        while True:
            if not seeking:
                if target_index >= len(targets) or targets[target_index] >= pos + n:
                    parity ^= _quotes(block, i, n, quote, escape) & 1
                    break
                j = max(i, targets[target_index] - pos)
                if escape and j > 0 and block[j - 1 : j] == escape and block[j : j + 1] == quote:
                    j += 1  # keep an escape and the quote it escapes in one segment (a terminator after it still ends a record)
                parity ^= _quotes(block, i, j, quote, escape) & 1
                i = j
                seeking = True
            k = block.find(term, i)
            if k == -1:
                parity ^= _quotes(block, i, n, quote, escape) & 1
                break
            parity ^= _quotes(block, i, k, quote, escape) & 1
            i = k + 1
            if parity == 0:
                boundary = pos + i
                if boundary < size:
                    boundaries.append(boundary)
                while target_index < len(targets) and targets[target_index] <= boundary:
                    target_index += 1
                seeking = False
        pos += n
    boundaries.append(size)
    return [(a, b) for a, b in zip(boundaries, boundaries[1:], strict=False) if b > a]


@dataclass(frozen=True)
class _Block:
    """What the walk needs of a block it does not search: its length, quote parity and edges."""

    length: int
    parity: int
    head: bytes
    tail: bytes


def _summarize_blocks(
    read: Reader, start: int, size: int, block_size: int, quote: bytes, escape: bytes, where: str, threads: int
) -> dict[int, _Block]:
    """Every block's :class:`_Block` by offset, read by ``threads`` threads (NumPy and reads release the GIL).

    Raises:
        DataError: a block holds a NUL byte (the first such block is reported).
    """

    def summarize(pos: int) -> _Block:
        block = read(pos, min(size, pos + block_size))
        nul = block.find(b"\x00")
        if nul != -1:
            raise DataError(f"{where}: {nul_bytes(block, nul, base=pos)}")
        return _Block(len(block), _quotes(block, 0, len(block), quote, escape) & 1, block[:8], block[-8:])

    offsets = range(start, size, block_size)
    if threads <= 1 or len(offsets) < 4:
        return {pos: summarize(pos) for pos in offsets}
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="sluiceway-plan")
    try:
        futures = [pool.submit(summarize, pos) for pos in offsets]
        # In order, so the first block with a NUL byte is the one reported.
        return {pos: future.result() for pos, future in zip(offsets, futures, strict=True)}
    finally:
        # After a NUL byte, the blocks not yet read never will be.
        pool.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------- transcoding


def transcode_to_utf8(
    read: Reader,
    *,
    size: int,
    encoding: str,
    target: Path,
    where: str,
    block_size: int = BLOCK_BYTES,
) -> int:
    """Write the file, decoded from ``encoding``, as UTF-8 to ``target``; return the new size.

    Used for encodings whose line breaks are not single bytes (UTF-16), so that the
    chunks can be cut and parsed like any UTF-8 file.

    Raises:
        DataError: the bytes are not valid ``encoding`` text (with the line), or
            contain NUL characters.
    """
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    written = 0
    lines = 1
    with open(target, "wb") as out:
        pos = 0
        while pos < size or pos == 0:
            block = read(pos, min(size, pos + block_size))
            final = pos + len(block) >= size
            try:
                text = decoder.decode(block, final)
            except UnicodeDecodeError as exc:
                line = lines + block[: exc.start].decode(encoding, errors="ignore").count("\n")
                raise DataError(f"{where}: line {line}: not valid {encoding} text (offset {pos + exc.start})") from None
            nul = text.find("\x00")
            if nul != -1:
                line = lines + text.count("\n", 0, nul)
                raise DataError(f"{where}: line {line}: contains NUL characters: not a text file")
            lines += text.count("\n")
            data = text.encode("utf-8")
            out.write(data)
            written += len(data)
            pos += len(block)
            if final or not block:
                break
    return written
