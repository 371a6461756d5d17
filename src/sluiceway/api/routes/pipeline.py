"""A data-pipeline run's summary: rows read/valid/rejected, its result files, the first lines of its rejects.

Found by shape, never by a state machine's or app's name: the row counts are an object holding
``rows_read``, ``rows_valid`` and ``rows_rejected`` (in the execution's output, else the newest
task result in its history that has them, e.g. an aggregation step's), the files are the
``s3://bucket/key`` values of the output and of that result, and the rejects file is the one
under a member whose name says ``reject``.

The locations come from the execution's data, not from this stack: a file the API may not read
(403 AccessDenied, an object under a KMS key it cannot use) is left out as a missing one is, so
that one such location never turns the whole summary into an error. Only throttling and AWS's
own failures are raised: they say nothing of the file and may pass.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter

from ..aws import Aws, AwsCallError
from ..errors import NOT_FOUND_CODES, ApiError
from ..schemas import PipelineRun
from ._deps import AwsApi, Viewer, errors

__all__ = ["router"]

router = APIRouter(tags=["executions"])

ROW_KEYS = ("rows_read", "rows_valid", "rows_rejected")
#: A download link lives 5 minutes: long enough to click, short enough not to be passed around.
DOWNLOAD_EXPIRES_S = 300
#: The rejects preview: the first lines of the first 8 KiB (one ranged GET, whatever the file's size).
REJECTS_RANGE_BYTES = 8192
REJECTS_LINES = 20
#: Files listed at most (an output may name many objects; the console shows a few links).
MAX_FILES = 20
# S3's bucket names (3-63 lowercase letters, digits, dots, hyphens) and a key.
_S3_URI = re.compile(r"^s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])/(.{1,1024})$", re.DOTALL)
# Task results: where a task's own output is (before ResultPath merges it into the state's).
_RESULT_DETAILS = ("lambdaFunctionSucceededEventDetails", "taskSucceededEventDetails")
#: AWS's codes for a throttled call (S3's SlowDown among them): a passing state, not an answer about the object.
_THROTTLING_CODES = frozenset({"SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException"})


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every value in a JSON document with its path (``result.csv``), the document first."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")


def _rows(document: Any) -> dict[str, int] | None:
    for _, value in _walk(document):
        if isinstance(value, dict) and all(isinstance(value.get(k), int) and not isinstance(value.get(k), bool) for k in ROW_KEYS):
            return {"read": value["rows_read"], "valid": value["rows_valid"], "rejected": value["rows_rejected"]}
    return None


def _locations(document: Any) -> list[tuple[str, str, str]]:
    """``(path, bucket, key)`` of each ``s3://`` value."""
    found = []
    for path, value in _walk(document):
        match = _S3_URI.match(value) if isinstance(value, str) else None
        if match is not None:
            found.append((path or "output", match.group(1), match.group(2)))
    return found


def _task_result_with_rows(aws: Aws, arn: str) -> tuple[str, Any] | None:
    """The newest task result holding row counts, with the name of the state that ran the task."""
    params: dict[str, Any] = {"executionArn": arn, "reverseOrder": True, "maxResults": 1000}
    seen: dict[int, dict[str, Any]] = {}
    found: tuple[int, Any] | None = None
    while True:
        page = aws.call("stepfunctions", "GetExecutionHistory", params)
        for event in page.get("events", []):
            seen[int(event["id"])] = event
            if found is None:
                details = next((event[d] for d in _RESULT_DETAILS if d in event), None)
                document = _json(details.get("output")) if details else None
                if document is not None and _rows(document) is not None:
                    found = (int(event["id"]), document)
        if found is not None:
            state = _state_of(seen, found[0])
            if state is not None or not page.get("nextToken"):
                return state or "", found[1]
        if not page.get("nextToken"):
            return None
        params = {**params, "nextToken": page["nextToken"]}


def _state_of(events: dict[int, dict[str, Any]], event_id: int) -> str | None:
    """The state an event belongs to: back along previousEventId to the state's entered event (None: not read yet)."""
    current = events.get(event_id)
    while current is not None:
        entered = current.get("stateEnteredEventDetails")
        if entered is not None:
            return str(entered.get("name", ""))
        previous = current.get("previousEventId")
        if not previous:
            return ""
        current = events.get(int(previous))
    return None


def _unreadable(error: AwsCallError) -> bool:
    """Whether the error is S3's answer about the object (missing, denied, invalid), rather than a passing failure."""
    return error.code in NOT_FOUND_CODES or (error.status < 500 and error.status != 429 and error.code not in _THROTTLING_CODES)


def _file(aws: Aws, member: str, bucket: str, key: str) -> dict[str, Any] | None:
    try:
        head = aws.call("s3", "HeadObject", {"Bucket": bucket, "Key": key})
    except AwsCallError as error:
        if _unreadable(error):
            return None  # a working file the run has cleaned up since, or one the API may not read: no dead link
        raise
    url = aws.presign_get(bucket, key, DOWNLOAD_EXPIRES_S)
    return {
        "member": member,
        "bucket": bucket,
        "key": key,
        "size": head.get("ContentLength"),
        "download": {"url": url, "method": "GET", "bucket": bucket, "key": key, "expiresIn": DOWNLOAD_EXPIRES_S},
    }


def _body(body: Any) -> bytes:
    """GetObject's Body: bytes in-process, a stream from boto3, chunks from a streaming local answer."""
    if isinstance(body, (bytes, bytearray)):
        return bytes(body)
    if hasattr(body, "read"):
        return bytes(body.read())
    return b"".join(getattr(body, "chunks", ()))


def _rejects(aws: Aws, bucket: str, key: str) -> dict[str, Any] | None:
    """The first lines of the rejects file; None when it cannot be read (gone or denied since its HeadObject)."""
    try:
        answer = aws.call("s3", "GetObject", {"Bucket": bucket, "Key": key, "Range": f"bytes=0-{REJECTS_RANGE_BYTES - 1}"})
    except AwsCallError as error:
        if error.code == "InvalidRange":  # S3's answer to a range over an empty object
            return {"bucket": bucket, "key": key, "lines": [], "truncated": False}
        if _unreadable(error):
            return None
        raise
    data = _body(answer.get("Body", b""))
    total = _total_size(answer.get("ContentRange"), len(data))
    lines = data.decode("utf-8", errors="replace").splitlines()
    if total > len(data) and lines and not data.endswith(b"\n"):
        lines = lines[:-1]  # the range ends inside this line: not shown cut
    shown = lines[:REJECTS_LINES]
    return {"bucket": bucket, "key": key, "lines": shown, "truncated": total > len(data) or len(lines) > REJECTS_LINES}


def _total_size(content_range: Any, read: int) -> int:
    # "bytes 0-8191/123456"; absent when S3 answered the whole (smaller) object.
    if isinstance(content_range, str) and "/" in content_range:
        total = content_range.rsplit("/", 1)[1]
        if total.isdigit():
            return int(total)
    return read


@router.get("/executions/{executionArn}/pipeline", response_model=PipelineRun, responses=errors(404))
def pipeline_run(aws: AwsApi, _: Viewer, executionArn: str) -> dict[str, Any]:
    """The data-pipeline summary of one execution; 404 ``NotAPipelineRun`` when it carries no row counts and no S3 file."""
    described = aws.call("stepfunctions", "DescribeExecution", {"executionArn": executionArn})
    output = _json(described.get("output"))
    rows = _rows(output)
    documents = [output]
    source = "output"
    if rows is None:
        result = _task_result_with_rows(aws, executionArn)
        if result is not None:
            source, document = result
            rows = _rows(document)
            documents.append(document)
    located: dict[tuple[str, str], str] = {}
    for document in documents:
        for member, bucket, key in _locations(document):
            located.setdefault((bucket, key), member)
    if rows is None and not located:
        raise ApiError(404, "NotAPipelineRun", f"execution {executionArn} carries no row counts and no S3 location")
    files = []
    for (bucket, key), member in list(located.items())[:MAX_FILES]:
        found = _file(aws, member, bucket, key)
        if found is not None:
            files.append(found)
    rejects_file = next((f for f in files if "reject" in f["member"].rsplit(".", 1)[-1].lower()), None)
    return {
        "executionArn": executionArn,
        "status": described["status"],
        "rows": {**rows, "source": source} if rows is not None else None,
        "files": files,
        "rejects": _rejects(aws, rejects_file["bucket"], rejects_file["key"]) if rejects_file else None,
    }
