"""ValidateData: is the new object a usable CSV for this pipeline, and how is it cut into chunks.

The input object is only read, never modified, moved or deleted. A file that
cannot be used at all (missing, changed since the event, empty, binary,
compressed, undecodable, header not matching the schema) fails the run with a
:class:`~sluiceway.errors.DataError` naming the file, the line and the reason;
rows with problems are the chunks' business, not this stage's.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data import scan
from ..errors import DataError, NotFoundError, PreconditionFailedError
from ..ports import Clock, ObjectStore
from ..types import EventDict
from ._common import ChunkRef, FileRef, Workspace, changed_error, read_hints, s3_uri, scratch

if TYPE_CHECKING:
    from ..config import PipelineConfig

__all__ = ["ValidateRequest", "ValidateResult", "handler", "validate"]

logger = logging.getLogger(__name__)

_TRANSCODED = ("utf-16", "utf-16-le", "utf-16-be")


@dataclass(frozen=True)
class ValidateRequest:
    """The state machine's parameters: the object and the execution."""

    bucket: str
    key: str
    etag: str
    execution_id: str
    execution_name: str
    started_at: str

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ValidateRequest:
        try:
            return cls(
                bucket=str(event["bucket"]),
                key=str(event["key"]),
                etag=str(event.get("etag") or ""),
                execution_id=str(event.get("execution_id") or ""),
                execution_name=str(event["execution_name"]),
                started_at=str(event.get("started_at") or ""),
            )
        except KeyError as exc:
            raise ValueError(f"ValidateData needs {exc.args[0]!r} in its input") from None


@dataclass(frozen=True)
class ValidateResult:
    """The file reference, its chunks, and the Map's concurrency."""

    file: FileRef
    chunks: tuple[ChunkRef, ...]
    max_concurrency: int
    duration_ms: float

    def to_event(self) -> EventDict:
        return {
            "file": self.file.to_event(),
            "chunks": [c.to_event() for c in self.chunks],
            "max_concurrency": self.max_concurrency,
            "duration_ms": self.duration_ms,
        }


def _unquote(etag: str) -> str:
    return etag.strip().strip('"')


def validate(
    request: ValidateRequest,
    *,
    objects: ObjectStore,
    pipeline: PipelineConfig,
    workspace: Workspace,
    clock: Clock,
) -> ValidateResult:
    """Check the object and plan its chunks.

    Raises:
        DataError: the file cannot be used; the message names ``s3://bucket/key``,
            the line where it applies, and the reason.
    """
    started = clock.monotonic()
    where = s3_uri(request.bucket, request.key)
    try:
        info = objects.head(request.bucket, request.key)
    except NotFoundError:
        raise DataError(f"{where} does not exist (deleted after the event?)") from None
    if request.etag and _unquote(info.etag) and _unquote(request.etag) != _unquote(info.etag):
        raise DataError(
            f"{where} changed after the event (ETag {_unquote(request.etag)}, now {_unquote(info.etag)}); the new version has its own event"
        )
    output_prefix, work_prefix = FileRef.layout(
        output_prefix=pipeline.output.prefix, key=request.key, execution_name=request.execution_name
    )
    dialect = pipeline.csv

    def fetch(a: int, b: int) -> bytes:
        # The version the event announced, or a clean failure: never half of each.
        try:
            return objects.get(request.bucket, request.key, start=a, end=b, if_match=info.etag)
        except PreconditionFailedError:
            raise changed_error(where, _unquote(info.etag)) from None

    with scratch(workspace, f"{request.execution_name}-validate") as folder:
        source_bucket, source_key, size = request.bucket, request.key, info.size
        encoding = dialect.encoding
        local: Path | None = None
        if encoding in _TRANSCODED and size > 0:
            local = folder / "source.csv"
            size = scan.transcode_to_utf8(
                fetch,
                size=info.size,
                encoding=encoding,
                target=local,
                where=where,
            )
            source_bucket, source_key = workspace.output_bucket, f"{work_prefix}/source.csv"
            encoding = "utf-8"

        if local is not None:
            handle = open(local, "rb")  # noqa: SIM115 -- closed below, read by offset

            def read(a: int, b: int) -> bytes:
                return os.pread(handle.fileno(), b - a, a)  # positional: safe from the planner's threads
        else:
            handle = None
            read = fetch

        try:
            codec = "utf-8" if encoding == "utf-8-sig" else encoding
            layout = scan.sniff(
                read,
                size=size,
                where=where,
                encoding=codec,
                delimiter=dialect.delimiter,
                quote=dialect.quote,
                escape=dialect.escape,
                header=dialect.header,
                newline=dialect.newline,
                schema=pipeline.column_names,
            )
            ranges = scan.plan_chunks(
                read,
                start=layout.data_start,
                size=size,
                chunk_size=pipeline.chunk_size_bytes,
                quote=dialect.quote.encode(codec) if dialect.quote else b"",
                escape=dialect.escape.encode(codec) if dialect.escape and dialect.escape != dialect.quote else b"",
                term=scan.terminator(layout.newline),
                max_concurrency=pipeline.max_concurrency,
                max_chunks=workspace.max_chunks,
                where=where,
            )
        finally:
            if handle is not None:
                handle.close()
        if local is not None:
            objects.put_file(source_bucket, source_key, str(local), content_type="text/csv")

    file = FileRef(
        bucket=request.bucket,
        key=request.key,
        etag=_unquote(info.etag),
        size=info.size,
        execution_id=request.execution_id,
        execution_name=request.execution_name,
        started_at=request.started_at,
        pipeline=pipeline.name,
        config_digest=pipeline.digest(),
        columns=layout.columns,
        encoding=codec,
        newline=layout.newline,
        data_first_line=layout.data_first_line,
        source_bucket=source_bucket,
        source_key=source_key,
        output_bucket=workspace.output_bucket,
        output_prefix=output_prefix,
        work_prefix=work_prefix,
        hints=read_hints(objects, workspace.output_bucket, pipeline.name),
    )
    chunks = tuple(ChunkRef(i, a, b) for i, (a, b) in enumerate(ranges))
    duration = round((clock.monotonic() - started) * 1000, 3)
    logger.info(
        "file validated",
        extra={"file": where, "bytes": info.size, "chunks": len(chunks), "duration_ms": duration},
    )
    return ValidateResult(
        file=file,
        chunks=chunks,
        max_concurrency=max(1, min(pipeline.max_concurrency, len(chunks))),
        duration_ms=duration,
    )


def handler(event: EventDict, context: Any) -> EventDict:
    """Lambda entrypoint for ValidateData."""
    from ..services import get_services

    services = get_services()
    return validate(
        ValidateRequest.from_event(event),
        objects=services.objects,
        pipeline=services.pipeline,
        workspace=Workspace.from_settings(services.settings),
        clock=services.clock,
    ).to_event()
