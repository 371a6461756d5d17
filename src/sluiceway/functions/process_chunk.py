"""ProcessChunk: one line-aligned byte range through DuckDB.

The range is downloaded to a local scratch file (a byte-range GET), checked
row by row, and reduced to small Parquet files under
``_work/<execution name>/chunk-<index>/`` in the output bucket. The result that
goes back through the state machine holds only counts, key statistics and the
duration; a retried chunk overwrites its own files, so retries are harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..data.keys import KeyStats
from ..data.reader import ChunkFormat, normalize_chunk
from ..data.validate import check_chunk
from ..ports import Clock, ObjectStore
from ..types import EventDict
from ._common import ChunkRef, FileRef, Hints, Workspace, read_hints, scratch, write_hints

if TYPE_CHECKING:
    from ..config import PipelineConfig

__all__ = ["ChunkRequest", "ChunkResult", "handler", "process_chunk"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChunkRequest:
    """One Map item: the file and the chunk."""

    file: FileRef
    chunk: ChunkRef

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ChunkRequest:
        return cls(FileRef.from_event(event["file"]), ChunkRef.from_event(event["chunk"]))


@dataclass(frozen=True)
class ChunkResult:
    """What one chunk produced (its files are at :meth:`FileRef.chunk_key`)."""

    chunk: ChunkRef
    lines: int
    rows_read: int
    rows_valid: int
    rows_rejected: int
    duration_ms: float
    exact_lines: bool = True
    files: tuple[str, ...] = ()
    """Names of the Parquet files written (``partial``, ``rejects``, ``rows``, ``keys-<j>``)."""
    keys: Mapping[str, KeyStats] = field(default_factory=dict)
    pattern_failures: tuple[str, ...] = ()
    """Columns whose pattern a value broke (:attr:`ChunkOutcome.pattern_failures`)."""
    unproven_keys: tuple[str, ...] = ()
    """Integer keys their bounds did not prove distinct (:attr:`ChunkOutcome.unproven_keys`)."""

    def to_event(self) -> EventDict:
        event: EventDict = {
            **self.chunk.to_event(),
            "lines": self.lines,
            "rows_read": self.rows_read,
            "rows_valid": self.rows_valid,
            "rows_rejected": self.rows_rejected,
            "files": list(self.files),
            "duration_ms": self.duration_ms,
        }
        if not self.exact_lines:
            event["exact_lines"] = False
        if self.keys:
            event["keys"] = {name: stats.to_event() for name, stats in self.keys.items()}
        if self.pattern_failures:
            event["pattern_failures"] = list(self.pattern_failures)
        if self.unproven_keys:
            event["unproven_keys"] = list(self.unproven_keys)
        return event

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ChunkResult:
        try:
            return cls(
                chunk=ChunkRef.from_event(event),
                lines=int(event["lines"]),
                rows_read=int(event["rows_read"]),
                rows_valid=int(event["rows_valid"]),
                rows_rejected=int(event["rows_rejected"]),
                duration_ms=float(event.get("duration_ms") or 0.0),
                exact_lines=bool(event.get("exact_lines", True)),
                files=tuple(str(f) for f in event.get("files") or ()),
                keys={str(k): KeyStats.from_event(v) for k, v in (event.get("keys") or {}).items()},
                pattern_failures=tuple(str(c) for c in event.get("pattern_failures") or ()),
                unproven_keys=tuple(str(c) for c in event.get("unproven_keys") or ()),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed ProcessChunk result: {exc!r}") from None


def process_chunk(
    request: ChunkRequest,
    *,
    objects: ObjectStore,
    pipeline: PipelineConfig,
    workspace: Workspace,
    clock: Clock,
) -> ChunkResult:
    """Validate and reduce one chunk, leaving its partial results in the output bucket.

    Raises:
        ConfigError: the pipeline config changed since ValidateData.
        DataError: DuckDB cannot parse the chunk at all.
    """
    started = clock.monotonic()
    file, chunk = request.file, request.chunk
    file.check_config(pipeline.digest())
    where = f"{file.uri} (bytes {chunk.start}-{chunk.end})"
    with scratch(workspace, f"{file.execution_name}-chunk-{chunk.index:05d}") as folder:
        path = folder / "chunk.csv"
        # A ranged GET straight to a local file: DuckDB reads files fastest, and the
        # chunk never has to fit in memory.
        file.download_source(objects, str(path), start=chunk.start, end=chunk.end)
        encoding = normalize_chunk(path, encoding=file.encoding)
        # What a chunk of this run already found out counts here too.
        recorded = read_hints(objects, file.output_bucket, pipeline.name)
        hints = file.hints | recorded
        outcome = check_chunk(
            path,
            config=pipeline,
            fmt=ChunkFormat(file.columns, file.newline, encoding),
            out_dir=folder / "out",
            where=where,
            memory_limit_mb=workspace.memory_limit_mb,
            temp_dir=folder,
            per_row_patterns=hints.per_row_patterns,
            listed_keys=hints.listed_keys,
        )
        for name, local in outcome.files.items():
            objects.put_file(file.output_bucket, file.chunk_key(chunk.index, f"{name}.parquet"), str(local))
    found = Hints.found(pipeline, outcome.pattern_failures, outcome.unproven_keys)
    if (recorded | found) != recorded:
        write_hints(objects, file.output_bucket, pipeline.name, recorded | found)
    duration = round((clock.monotonic() - started) * 1000, 3)
    logger.info(
        "chunk processed",
        extra={
            "file": file.uri,
            "chunk": chunk.index,
            "rows": outcome.rows_read,
            "duration_ms": duration,
        },
    )
    return ChunkResult(
        chunk=chunk,
        lines=outcome.lines,
        rows_read=outcome.rows_read,
        rows_valid=outcome.rows_valid,
        rows_rejected=outcome.rows_rejected,
        duration_ms=duration,
        exact_lines=outcome.exact_lines,
        files=tuple(sorted(outcome.files)),
        keys=dict(outcome.keys),
        pattern_failures=outcome.pattern_failures,
        unproven_keys=outcome.unproven_keys,
    )


def handler(event: EventDict, context: Any) -> EventDict:
    """Lambda entrypoint for ProcessChunk."""
    from ..services import get_services

    services = get_services()
    return process_chunk(
        ChunkRequest.from_event(event),
        objects=services.objects,
        pipeline=services.pipeline,
        workspace=Workspace.from_settings(services.settings),
        clock=services.clock,
    ).to_event()
