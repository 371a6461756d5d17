"""Values shared by the pipeline's stage functions: the file and chunk references, the workspace.

Output layout in the output bucket (``<prefix>`` is the pipeline's ``output.prefix``)::

    <prefix>/<input key>/<execution name>/result.json   results, counts, input, execution (StoreResults)
    <prefix>/<input key>/<execution name>/results.csv   the result table (AggregateData)
    <prefix>/<input key>/<execution name>/rejects.csv   line,column,value,reason (AggregateData; only if any)
    _work/<execution name>/source.csv                   UTF-8 copy of a UTF-16 input (ValidateData)
    _work/<execution name>/chunk-00000/*.parquet        a chunk's partials and rejects (ProcessChunk)
    _work/<execution name>/results.json                 the result rows for StoreResults (AggregateData)
    _sluiceway/pipelines/<name>/hints.json              what the last run learnt of the data (Hints)

``_work/<execution name>/`` is deleted by StoreResults (or the ErrorHandler) at the end of the run.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..data.rules import deferrable_columns
from ..errors import ConfigError, DataError, NotFoundError, PreconditionFailedError
from ..names import check_name
from ..ports import ObjectStore

if TYPE_CHECKING:
    from ..config import PipelineConfig

__all__ = [
    "HINTS_KEY",
    "ChunkRef",
    "FileRef",
    "Hints",
    "Workspace",
    "read_hints",
    "s3_uri",
    "scratch",
    "split_uri",
    "write_hints",
]

logger = logging.getLogger(__name__)

WORK_ROOT = "_work"
HINTS_KEY = "_sluiceway/pipelines/{pipeline}/hints.json"
"""Output-bucket object with what the pipeline's runs learnt about its data (:class:`Hints`)."""


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def split_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key). Raises ValueError."""
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3:// object URI: {uri!r}")
    bucket, key = uri[5:].split("/", 1)
    return bucket, key


@dataclass(frozen=True)
class Workspace:
    """Where a stage keeps data: the output bucket and local scratch space."""

    output_bucket: str
    scratch_dir: Path
    memory_limit_mb: int | None = None
    """DuckDB's memory limit in one invocation."""
    max_chunks: int = 400
    """At most this many chunks, so the Map's collected results stay under the payload limit."""

    @classmethod
    def from_settings(cls, settings: Any) -> Workspace:
        """From :class:`~sluiceway.settings.Settings` (memory: 3/4 of the function's)."""
        return cls(
            output_bucket=settings.output_bucket,
            scratch_dir=Path(settings.scratch_dir),
            memory_limit_mb=max(128, int(settings.function_memory_mb) * 3 // 4),
            max_chunks=max(1, min(1000, int(settings.max_payload_bytes) // 640)),
        )


@contextmanager
def scratch(workspace: Workspace, name: str) -> Iterator[Path]:
    """A fresh local folder for one invocation, removed afterwards."""
    folder = workspace.scratch_dir / f"{name}-{os.getpid()}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class Hints:
    """What earlier runs of a pipeline found out about its data, so that the next one plans for it.

    Two shortcuts make a chunk cheaper when the data is clean and sorted, and cost a
    second look when it is not: a pattern checked on the distinct values the
    partials keep (the chunk is computed again when a value fails), and integer
    keys that count and bounds prove distinct (their values are read again when
    they do not). The first chunk that pays for a shortcut records it at once, so
    chunks that start later in the run do the work in their first pass; AggregateData
    records what the whole run found; ValidateData hands it to the next run, which
    tries the shortcut again once the data allows. A lost or unreadable record
    only costs speed, never a different result.
    """

    per_row_patterns: tuple[str, ...] = ()
    """Columns whose pattern a value broke: checked on every row."""
    listed_keys: tuple[str, ...] = ()
    """Integer unique columns whose count and bounds proved nothing: their values are collected in the pass."""

    @classmethod
    def found(cls, pipeline: PipelineConfig, pattern_failures: Iterable[str], unproven_keys: Iterable[str]) -> Hints:
        """What a chunk's (or a run's) findings amount to: only patterns the chunks may defer count."""
        deferrable = {pipeline.columns[j].name for j in deferrable_columns(pipeline)}
        return cls(tuple(sorted(deferrable.intersection(pattern_failures))), tuple(sorted(set(unproven_keys))))

    def __or__(self, other: Hints) -> Hints:
        return Hints(
            tuple(sorted({*self.per_row_patterns, *other.per_row_patterns})),
            tuple(sorted({*self.listed_keys, *other.listed_keys})),
        )

    def to_event(self) -> dict[str, Any]:
        return {"per_row_patterns": list(self.per_row_patterns), "listed_keys": list(self.listed_keys)}

    @classmethod
    def from_event(cls, event: Mapping[str, Any] | None) -> Hints:
        if event is None:
            return cls()
        if not isinstance(event, Mapping):
            raise TypeError("hints are not an object")
        for name in ("per_row_patterns", "listed_keys"):
            if not isinstance(event.get(name) or [], list):
                raise TypeError(f"{name} is not a list")
        return cls(
            tuple(sorted(str(c) for c in event.get("per_row_patterns") or ())),
            tuple(sorted(str(c) for c in event.get("listed_keys") or ())),
        )


def changed_error(uri: str, etag: str) -> DataError:
    """The failure of a run whose input was replaced while it read it."""
    return DataError(
        f"{uri} changed while this run read it (it started on ETag {etag}); this run stops, the new version has its own run"
    )


def read_hints(objects: ObjectStore, bucket: str, pipeline: str) -> Hints:
    """The pipeline's :class:`Hints` (none if the record is missing or unreadable)."""
    key = HINTS_KEY.format(pipeline=pipeline)
    try:
        return Hints.from_event(json.loads(objects.get(bucket, key)))
    except NotFoundError:
        return Hints()
    except Exception as exc:  # noqa: BLE001 -- hints only save time: nothing about them may fail a run
        logger.warning("ignoring an unreadable hints record", extra={"key": key, "reason": repr(exc)})
        return Hints()


def write_hints(objects: ObjectStore, bucket: str, pipeline: str, hints: Hints) -> None:
    """Record ``hints`` for the pipeline's next chunks and runs (a failure is logged: hints only save time)."""
    key = HINTS_KEY.format(pipeline=pipeline)
    body = json.dumps(hints.to_event(), separators=(",", ":")).encode()
    try:
        objects.put(bucket, key, body, content_type="application/json")
    except Exception as exc:  # noqa: BLE001 -- as above
        logger.warning("could not record hints", extra={"key": key, "reason": repr(exc)})


@dataclass(frozen=True)
class FileRef:
    """The input file as ValidateData found it; every later stage receives it."""

    bucket: str
    key: str
    etag: str
    size: int
    execution_id: str
    execution_name: str
    started_at: str
    pipeline: str
    """The pipeline's name."""
    config_digest: str
    """Fingerprint of the pipeline config the run started with."""
    columns: tuple[str, ...]
    """Column names in file order."""
    encoding: str
    """Encoding of the bytes the chunks read."""
    newline: str
    """``lf``, ``crlf`` or ``cr``."""
    data_first_line: int
    """1-based line number of the first data line."""
    source_bucket: str
    source_key: str
    """The object the chunks read: the input, or its UTF-8 copy under ``_work/``."""
    output_bucket: str
    output_prefix: str
    """``<prefix>/<input key>/<execution name>``: where results and rejects go."""
    work_prefix: str
    """``_work/<execution name>``: intermediate files of this run."""
    hints: Hints = Hints()
    """What the pipeline's last run found out about its data (:data:`HINTS_KEY`)."""

    @property
    def uri(self) -> str:
        return s3_uri(self.bucket, self.key)

    def output_key(self, name: str) -> str:
        return f"{self.output_prefix}/{name}"

    def work_key(self, name: str) -> str:
        return f"{self.work_prefix}/{name}"

    def chunk_key(self, index: int, name: str) -> str:
        return self.work_key(f"chunk-{index:05d}/{name}")

    def download_source(self, objects: ObjectStore, path: str, *, start: int, end: int) -> None:
        """Copy ``[start, end)`` of the object the chunks read to the local file ``path``.

        The run reads the version of the input that triggered it, as S3 serves it by ETag
        (``If-Match``): a file replaced meanwhile fails the run cleanly instead of mixing
        two versions; the new version has its own event and its own run.

        Raises:
            DataError: the input changed since ValidateData read it.
        """
        pinned = self.etag if (self.source_bucket, self.source_key) == (self.bucket, self.key) and self.etag else None
        try:
            objects.download(self.source_bucket, self.source_key, path, start=start, end=end, if_match=pinned)
        except PreconditionFailedError:
            raise changed_error(self.uri, self.etag) from None

    def check_config(self, digest: str) -> None:
        """Raise ConfigError if the pipeline config changed since ValidateData."""
        if digest != self.config_digest:
            raise ConfigError(
                f"{self.uri}: the pipeline config changed during the run (started with {self.config_digest}, "
                f"now {digest}); upload the file again"
            )

    @classmethod
    def layout(cls, *, output_prefix: str, key: str, execution_name: str) -> tuple[str, str]:
        """(output prefix, work prefix) for one run."""
        name = check_name(execution_name, what="execution name")
        return f"{output_prefix}/{key}/{name}", f"{WORK_ROOT}/{name}"

    def to_event(self) -> dict[str, Any]:
        return {
            "bucket": self.bucket,
            "key": self.key,
            "etag": self.etag,
            "size": self.size,
            "execution_id": self.execution_id,
            "execution_name": self.execution_name,
            "started_at": self.started_at,
            "pipeline": self.pipeline,
            "config_digest": self.config_digest,
            "columns": list(self.columns),
            "encoding": self.encoding,
            "newline": self.newline,
            "data_first_line": self.data_first_line,
            "source": {"bucket": self.source_bucket, "key": self.source_key},
            "output": {
                "bucket": self.output_bucket,
                "prefix": self.output_prefix,
                "work": self.work_prefix,
            },
            "hints": self.hints.to_event(),
        }

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> FileRef:
        try:
            source = event["source"]
            output = event["output"]
            return cls(
                bucket=str(event["bucket"]),
                key=str(event["key"]),
                etag=str(event.get("etag") or ""),
                size=int(event["size"]),
                execution_id=str(event.get("execution_id") or ""),
                execution_name=str(event["execution_name"]),
                started_at=str(event.get("started_at") or ""),
                pipeline=str(event["pipeline"]),
                config_digest=str(event["config_digest"]),
                columns=tuple(str(c) for c in event["columns"]),
                encoding=str(event["encoding"]),
                newline=str(event["newline"]),
                data_first_line=int(event["data_first_line"]),
                source_bucket=str(source["bucket"]),
                source_key=str(source["key"]),
                output_bucket=str(output["bucket"]),
                output_prefix=str(output["prefix"]),
                work_prefix=str(output["work"]),
                hints=Hints.from_event(event.get("hints")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed file reference in the event: {exc!r}") from None


@dataclass(frozen=True)
class ChunkRef:
    """One byte range ``[start, end)`` of the source object."""

    index: int
    start: int
    end: int

    def to_event(self) -> dict[str, Any]:
        return {"index": self.index, "start": self.start, "end": self.end}

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ChunkRef:
        try:
            return cls(int(event["index"]), int(event["start"]), int(event["end"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed chunk reference in the event: {exc!r}") from None
