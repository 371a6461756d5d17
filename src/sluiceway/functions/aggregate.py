"""AggregateData: merge the chunks' partials exactly and write results.csv and rejects.csv.

Line numbers become absolute here: each chunk reported how many physical lines
it holds, so chunk ``i`` starts on ``data_first_line + sum(lines of chunks < i)``.

Unique columns are a whole-file property. In ``aggregations`` mode every chunk
reports count, distinct count, min and max of each unique column's values; when
no chunk has an internal duplicate and the chunks' value ranges do not overlap
(ascending ids, the common case), nothing more is needed. Otherwise the values
of all chunks are compared (a chunk without an internal duplicate wrote only its
statistics, so its values are read from the chunk again), the chunks holding duplicates are scanned again to
find their lines, and the chunks holding later occurrences are processed again
with those rows rejected ("duplicate value of unique column X (first on line
N)"). In ``sql`` mode the chunks kept their valid rows, so duplicates are
found and dropped over those rows before the query runs.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from ..data import aggregate as engine
from ..data._duck import connect, default_threads, path_literal
from ..data.keys import locate_values, write_keys
from ..data.reader import ChunkFormat, normalize_chunk
from ..data.validate import ChunkOutcome, Exclusion, check_chunk
from ..errors import DataError
from ..ports import Clock, ObjectStore
from ..types import EventDict
from ._common import ChunkRef, FileRef, Hints, Workspace, read_hints, s3_uri, scratch, write_hints
from .process_chunk import ChunkResult

if TYPE_CHECKING:
    from ..config import PipelineConfig

__all__ = ["AggregateRequest", "AggregateResult", "aggregate", "handler"]

logger = logging.getLogger(__name__)

RESULTS_CSV = "results.csv"
REJECTS_CSV = "rejects.csv"
RESULTS_JSON = "results.json"


@dataclass(frozen=True)
class AggregateRequest:
    """The file and every chunk's result, in any order."""

    file: FileRef
    chunks: tuple[ChunkResult, ...]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> AggregateRequest:
        return cls(
            FileRef.from_event(event["file"]),
            tuple(ChunkResult.from_event(c) for c in event.get("chunks") or ()),
        )


@dataclass(frozen=True)
class AggregateResult:
    """Counts, where the results and rejects are, and timings."""

    rows_read: int
    rows_valid: int
    rows_rejected: int
    result: Mapping[str, Any]
    """``columns``, ``rows`` (how many), ``csv`` (results.csv) and ``data`` (the rows as JSON, for StoreResults)."""
    rejects: str | None
    chunks: int
    process_ms: float
    """Sum of the chunks' durations."""
    duration_ms: float
    duplicates: int = 0
    exact_lines: bool = True

    def to_event(self) -> EventDict:
        return {
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_rejected": self.rows_rejected,
            "result": dict(self.result),
            "rejects": self.rejects,
            "chunks": self.chunks,
            "duplicates": self.duplicates,
            "exact_lines": self.exact_lines,
            "process_ms": self.process_ms,
            "duration_ms": self.duration_ms,
        }


@dataclass
class _Chunk:
    """A chunk as the aggregate stage works with it (local files, counts that duplicates may change)."""

    result: ChunkResult
    first_line: int
    outcome: ChunkOutcome
    files: dict[str, Path] = field(default_factory=dict)


def aggregate(
    request: AggregateRequest,
    *,
    objects: ObjectStore,
    pipeline: PipelineConfig,
    workspace: Workspace,
    clock: Clock,
) -> AggregateResult:
    """Merge the chunks into the results and write results.csv, rejects.csv and the rows for StoreResults.

    Raises:
        ConfigError: the pipeline config changed since ValidateData.
        DataError: the records do not add up (read = valid + rejected, a line in rejects.csv for each rejected one).
    """
    started = clock.monotonic()
    file = request.file
    file.check_config(pipeline.digest())
    results = sorted(request.chunks, key=lambda c: c.chunk.index)
    with scratch(workspace, f"{file.execution_name}-aggregate") as folder:
        con = connect(files=[folder], threads=default_threads(), memory_limit_mb=workspace.memory_limit_mb, temp_dir=folder)
        try:
            chunks = _load(objects, file, pipeline, results, folder, workspace)
            duplicates = 0
            extra_rejects: list[tuple[int, int, str, str, str]] = []
            if pipeline.processing.mode == "aggregations":
                duplicates = _resolve_duplicates(con, objects, file, pipeline, chunks, folder, workspace)
                engine.merge_partials(con, pipeline, [c.files["partial"] for c in chunks])
            else:
                extra_rejects = engine.run_sql(con, pipeline, [(c.files["rows"], c.first_line) for c in chunks])
                duplicates = len({line for line, *_ in extra_rejects})

            dropped = duplicates if pipeline.processing.mode == "sql" else 0  # valid in their chunk, rejected here
            rows_read = sum(c.outcome.rows_read for c in chunks)
            rows_valid = sum(c.outcome.rows_valid for c in chunks) - dropped
            rows_rejected = sum(c.outcome.rows_rejected for c in chunks) + dropped
            rejects_uri, reject_lines = _write_rejects(con, objects, file, chunks, extra_rejects, folder)
            exact = all(c.outcome.exact_lines for c in chunks)
            _check_accounts(file, rows_read, rows_valid, rows_rejected, reject_lines, exact=exact)

            results_csv = folder / RESULTS_CSV
            con.execute(f"COPY {engine.RESULT_TABLE} TO {path_literal(results_csv)} (FORMAT csv, HEADER)")
            objects.put_file(
                file.output_bucket,
                file.output_key(RESULTS_CSV),
                str(results_csv),
                content_type="text/csv",
            )
            columns, rows, total = engine.result_rows(con)
            objects.put(
                file.output_bucket,
                file.work_key(RESULTS_JSON),
                json.dumps({"columns": columns, "rows": rows}, separators=(",", ":")).encode(),
                content_type="application/json",
            )
        finally:
            con.close()
    _remember(objects, file, pipeline, results)
    duration = round((clock.monotonic() - started) * 1000, 3)
    logger.info(
        "file aggregated",
        extra={
            "file": file.uri,
            "rows": rows_read,
            "rejected": rows_rejected,
            "duration_ms": duration,
        },
    )
    return AggregateResult(
        rows_read=rows_read,
        rows_valid=rows_valid,
        rows_rejected=rows_rejected,
        result={
            "columns": columns,
            "rows": total,
            "csv": s3_uri(file.output_bucket, file.output_key(RESULTS_CSV)),
            "data": s3_uri(file.output_bucket, file.work_key(RESULTS_JSON)),
        },
        rejects=rejects_uri,
        chunks=len(results),
        process_ms=round(sum(c.duration_ms for c in results), 3),
        duration_ms=duration,
        duplicates=duplicates,
        exact_lines=exact,
    )


def _check_accounts(file: FileRef, read: int, valid: int, rejected: int, reject_lines: int, *, exact: bool) -> None:
    """Every record of the file is valid or rejected, and every rejected one has its line in rejects.csv.

    Raises:
        DataError: the counts do not add up; the run fails rather than report a result that lost records.
    """
    # With approximate line numbers two rejected records may share a line.
    if read != valid + rejected or (reject_lines != rejected if exact else reject_lines > rejected):
        raise DataError(
            f"{file.uri}: records do not add up: {read} read, {valid} valid, {rejected} rejected, "
            f"{reject_lines} lines in rejects.csv; refusing an incomplete result"
        )


def _remember(objects: ObjectStore, file: FileRef, pipeline: PipelineConfig, results: Sequence[ChunkResult]) -> None:
    """Record what this run found out about the data for the next one (see :class:`Hints`)."""
    found = Hints.found(
        pipeline,
        [name for r in results for name in r.pattern_failures],
        [name for r in results for name in r.unproven_keys],
    )
    if found != read_hints(objects, file.output_bucket, pipeline.name):
        logger.info("hints for the next run", extra={"pipeline": pipeline.name, **found.to_event()})
        write_hints(objects, file.output_bucket, pipeline.name, found)


def _load(
    objects: ObjectStore,
    file: FileRef,
    pipeline: PipelineConfig,
    results: Sequence[ChunkResult],
    folder: Path,
    workspace: Workspace,
) -> list[_Chunk]:
    """Download every chunk's files; with no chunks, an empty chunk stands in (empty partials, right types)."""
    chunks: list[_Chunk] = []
    line = file.data_first_line
    for result in results:
        outcome = ChunkOutcome(
            result.rows_read,
            result.rows_valid,
            result.rows_rejected,
            result.lines,
            result.exact_lines,
            keys=result.keys,
        )
        chunk = _Chunk(result, line, outcome)
        for name in result.files:
            local = folder / f"{result.chunk.index:05d}-{name}.parquet"
            objects.download(
                file.output_bucket,
                file.chunk_key(result.chunk.index, f"{name}.parquet"),
                str(local),
            )
            chunk.files[name] = local
        chunks.append(chunk)
        line += result.lines
    if not chunks:
        empty = folder / "empty.csv"
        empty.write_bytes(b"")
        outcome = check_chunk(
            empty,
            config=pipeline,
            fmt=ChunkFormat(file.columns, "lf", "utf-8"),
            out_dir=folder / "empty",
            where=file.uri,
            memory_limit_mb=workspace.memory_limit_mb,
            temp_dir=folder,
        )
        stand_in = ChunkResult(ChunkRef(-1, 0, 0), lines=0, rows_read=0, rows_valid=0, rows_rejected=0, duration_ms=0.0)
        chunks.append(_Chunk(stand_in, line, outcome, dict(outcome.files)))
    return chunks


def _fetch_file(objects: ObjectStore, file: FileRef, index: int, name: str, folder: Path) -> Path:
    local = folder / f"{index:05d}-{name}.parquet"
    objects.download(file.output_bucket, file.chunk_key(index, f"{name}.parquet"), str(local))
    return local


# ---------------------------------------------------------------- duplicates


def _needs_comparison(chunks: Sequence[_Chunk], column: str) -> bool:
    """Whether chunks may share values of ``column``: an internal duplicate, unknown or overlapping ranges."""
    ranges: list[tuple[Any, Any]] = []
    for chunk in chunks:
        stats = chunk.outcome.keys.get(column)
        if stats is None or stats.count == 0:
            continue
        if stats.distinct < stats.count or stats.low is None or stats.high is None:
            return True
        ranges.append((stats.low, stats.high))
    try:
        ranges.sort(key=lambda r: r[0])
        for (_, high), (low, _) in zip(ranges, ranges[1:], strict=False):
            if low <= high:
                return True
    except TypeError:
        return True
    return False


def _resolve_duplicates(
    con: duckdb.DuckDBPyConnection,
    objects: ObjectStore,
    file: FileRef,
    pipeline: PipelineConfig,
    chunks: list[_Chunk],
    folder: Path,
    workspace: Workspace,
) -> int:
    """Reject later occurrences of unique values; re-process the chunks holding them. Returns rows rejected."""
    exclusions: dict[int, list[Exclusion]] = defaultdict(list)
    sources: dict[int, Path] = {}
    for j, column in enumerate(pipeline.columns):
        if not column.unique or not _needs_comparison(chunks, column.name):
            continue
        keyed: list[tuple[int, _Chunk]] = []
        for n, chunk in enumerate(chunks):
            name = f"keys-{j}"
            stats = chunk.outcome.keys.get(column.name)
            if name in chunk.files:
                pass
            elif name in chunk.result.files:
                chunk.files[name] = _fetch_file(objects, file, chunk.result.chunk.index, name, folder)
            elif stats is not None and stats.count == 0:
                continue
            else:
                # The chunk kept only statistics (no internal duplicate): read its values from the chunk.
                source = sources.get(n) or _fetch_chunk(objects, file, chunk, folder)
                sources[n] = source
                local = folder / f"{chunk.result.chunk.index:05d}-{name}.parquet"
                write_keys(
                    source,
                    config=pipeline,
                    fmt=ChunkFormat(file.columns, file.newline, _encoding(file)),
                    column=column.name,
                    target=local,
                    where=file.uri,
                    memory_limit_mb=workspace.memory_limit_mb,
                    temp_dir=folder,
                )
                chunk.files[name] = local
            keyed.append((n, chunk))
        dup_file = folder / f"duplicates-{j}.parquet"
        if not keyed or engine.duplicate_values(con, [c.files[f"keys-{j}"] for _, c in keyed], dup_file) == 0:
            continue
        occurrences: dict[str, list[tuple[int, int, int, str]]] = defaultdict(list)
        for n, chunk in keyed:
            hit = con.execute(
                f"SELECT count(*) FROM read_parquet({path_literal(chunk.files[f'keys-{j}'])}) "
                f"WHERE k IN (SELECT k FROM read_parquet({path_literal(dup_file)}))"
            ).fetchone()
            if not hit or not hit[0]:
                continue
            source = sources.get(n) or _fetch_chunk(objects, file, chunk, folder)
            sources[n] = source
            found = locate_values(
                source,
                config=pipeline,
                fmt=ChunkFormat(file.columns, file.newline, _encoding(file)),
                column=column.name,
                values_file=dup_file,
                where=file.uri,
                memory_limit_mb=workspace.memory_limit_mb,
                temp_dir=folder,
            )
            for ordinal, line, raw, canonical in found:
                occurrences[canonical].append((chunk.first_line + line, n, ordinal, raw))
        for places in occurrences.values():
            places.sort()
            first = places[0][0]
            for _, n, ordinal, raw in places[1:]:
                exclusions[n].append(
                    Exclusion(
                        ordinal,
                        column.name,
                        raw,
                        f"duplicate value of unique column {column.name} (first on line {first})",
                    )
                )
    rejected = 0
    for n, excluded in sorted(exclusions.items()):
        chunk = chunks[n]
        before = chunk.outcome.rows_rejected
        outcome = check_chunk(
            sources[n],
            config=pipeline,
            fmt=ChunkFormat(file.columns, file.newline, _encoding(file)),
            out_dir=folder / f"rerun-{n:05d}",
            where=file.uri,
            exclude=excluded,
            memory_limit_mb=workspace.memory_limit_mb,
            temp_dir=folder,
        )
        chunk.outcome = outcome
        chunk.files.update(outcome.files)
        rejected += outcome.rows_rejected - before
    if rejected:
        logger.info("duplicates rejected", extra={"file": file.uri, "rows": rejected})
    return rejected


def _encoding(file: FileRef) -> str:
    return "latin-1" if file.encoding == "latin-1" else "utf-8"


def _fetch_chunk(objects: ObjectStore, file: FileRef, chunk: _Chunk, folder: Path) -> Path:
    ref = chunk.result.chunk
    path = folder / f"chunk-{ref.index:05d}.csv"
    file.download_source(objects, str(path), start=ref.start, end=ref.end)
    normalize_chunk(path, encoding=file.encoding)
    return path


# ------------------------------------------------------------------- rejects


def _write_rejects(
    con: duckdb.DuckDBPyConnection,
    objects: ObjectStore,
    file: FileRef,
    chunks: Sequence[_Chunk],
    extra: Sequence[tuple[int, int, str, str, str]],
    folder: Path,
) -> tuple[str | None, int]:
    """Write rejects.csv (absolute lines, in line order) beside the results; return where (None when nothing
    was rejected) and how many lines it names."""
    parts = [
        f"SELECT line + {int(c.first_line)} AS line, pos, column_name, value, reason FROM read_parquet({path_literal(c.files['rejects'])})"
        for c in chunks
        if "rejects" in c.files
    ]
    con.execute("CREATE TEMP TABLE __sw_all_rejects (line BIGINT, pos INTEGER, column_name VARCHAR, value VARCHAR, reason VARCHAR)")
    if parts:
        con.execute(f"INSERT INTO __sw_all_rejects {' UNION ALL '.join(parts)}")
    if extra:
        con.executemany("INSERT INTO __sw_all_rejects VALUES (?, ?, ?, ?, ?)", list(extra))
    count = con.execute("SELECT count(*), count(DISTINCT line) FROM __sw_all_rejects").fetchone()
    if not count or not count[0]:
        return None, 0
    target = folder / REJECTS_CSV
    con.execute(
        'COPY (SELECT line, column_name AS "column", value, reason FROM __sw_all_rejects ORDER BY line, pos, reason) '
        f"TO {path_literal(target)} (FORMAT csv, HEADER)"
    )
    key = file.output_key(REJECTS_CSV)
    objects.put_file(file.output_bucket, key, str(target), content_type="text/csv")
    return s3_uri(file.output_bucket, key), int(count[1])


def handler(event: EventDict, context: Any) -> EventDict:
    """Lambda entrypoint for AggregateData."""
    from ..services import get_services

    services = get_services()
    return aggregate(
        AggregateRequest.from_event(event),
        objects=services.objects,
        pipeline=services.pipeline,
        workspace=Workspace.from_settings(services.settings),
        clock=services.clock,
    ).to_event()
