"""A monthly AWS bill estimated from the pipeline's recorded local runs.

What each recorded run would be billed for is counted from its history
(:mod:`sluiceway.deploy.usage`); here those counts are scaled to the files per day
and the average size asked for, then priced with a price table
(:mod:`sluiceway.deploy.prices`).

What cannot be measured locally is estimated from the pipeline's I/O pattern and
listed as an assumption in the result: S3 requests per function, the bytes of
logs, one X-Ray trace per run. Local durations stand in for Lambda's; at the
same memory size a Lambda core is usually slower than a laptop's, so read the
Lambda line as a lower bound.

Scaling: per run, functions that read the input file (see
:data:`~sluiceway.apps.builtin.PIPELINE_FUNCTIONS`' ``access``) take time proportional to
its size; functions inside the Map run once per chunk, and the number of chunks
follows the config's ``chunk_size_mb``; everything else happens once per run.
Failed runs stay in the mix, so the local failure rate carries over.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..apps.builtin import PIPELINE_FUNCTIONS
from .prices import PriceTable
from .usage import RunUsage, workflow_tasks

logger = logging.getLogger(__name__)

__all__ = [
    "DAYS_PER_MONTH",
    "DurationModel",
    "S3_REQUESTS",
    "CostLine",
    "Estimate",
    "FileProfile",
    "S3Requests",
    "Workload",
    "estimate",
    "fit_durations",
    "parse_size",
]

#: AWS bills a month as 730 hours.
DAYS_PER_MONTH = 730 / 24
#: boto3's and the AWS CLI's default: uploads above 8 MiB go in 8 MiB parts.
MULTIPART_CHUNK = 8 * 1024 * 1024
#: Step Functions' CloudWatch Logs record per history event (level ALL, no execution data).
SFN_LOG_BYTES_PER_EVENT = 350
#: Lambda's START/END/REPORT lines plus a few structured lines per invocation.
LAMBDA_LOG_BYTES_PER_INVOCATION = 1024
EXPRESS_MEMORY_STEP = 64 * 1024 * 1024
EXPRESS_MAX_MS = 5 * 60 * 1000
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "ki": 1024,
    "kib": 1024,
    "m": 10**6,
    "mb": 10**6,
    "mi": 2**20,
    "mib": 2**20,
    "g": 10**9,
    "gb": 10**9,
    "gi": 2**30,
    "gib": 2**30,
    "t": 10**12,
    "tb": 10**12,
    "ti": 2**40,
    "tib": 2**40,
}


@dataclass(frozen=True)
class S3Requests:
    """S3 requests one invocation of a function makes (estimated from its I/O, not measured)."""

    get: float = 0
    put: float = 0
    get_per_chunk: float = 0
    """Requests that repeat for every chunk of the file (reading each chunk's partial results)."""
    put_per_chunk: float = 0


#: The pipeline's S3 traffic per invocation, from the functions' I/O (LIST is priced as a PUT;
#: DELETE is free). An assumption, printed with every estimate.
S3_REQUESTS: Mapping[str, S3Requests] = {
    "ValidateData": S3Requests(get=2, get_per_chunk=1),  # HEAD, the header; one read per chunk boundary
    "ProcessChunk": S3Requests(get=1, put=2),  # its byte range; partial results and rejects
    "AggregateData": S3Requests(get_per_chunk=2, put=2),  # every chunk's partials; results and rejects
    "StoreResults": S3Requests(get=1, put=2),  # the results; result.json, LIST of the work files
    "ErrorHandler": S3Requests(put=1),  # LIST of the work files
}


@dataclass(frozen=True)
class Workload:
    """The traffic to estimate for."""

    files_per_day: float
    avg_size_bytes: int | None
    """Average input size; the measured runs' average when None."""
    memory_mb: int
    """Lambda memory of every function (the template's)."""
    chunk_size_bytes: int
    max_concurrency: int
    email_subscribers: int = 1
    alarms: int = 2 + len(PIPELINE_FUNCTIONS)
    """CloudWatch alarms in the template: failed executions, dead letters, one per function."""
    kms_keys: int = 1


@dataclass(frozen=True)
class DurationModel:
    """A function's billed time per run: a fixed part per invocation plus a part per input byte."""

    per_invocation_ms: float
    per_byte_ms: float
    fitted: bool
    """False when the runs could not separate the two parts (one input size measured)."""

    def at(self, invocations: float, size: float) -> float:
        return self.per_invocation_ms * invocations + self.per_byte_ms * size


@dataclass(frozen=True)
class FileProfile:
    """What one file costs in units, averaged over the measured runs and scaled to the workload."""

    size_bytes: float | None
    chunks: float
    transitions: float
    history_events: float
    invocations: Mapping[str, float]
    billed_ms: Mapping[str, float]
    duration_ms: float
    express_billed_ms: float
    """Express bills each execution's duration rounded up to 100 ms: the mean of those."""
    express_memory_mb: int
    s3_get: float
    s3_put: float
    dynamodb_wru: float
    sns_publishes: float
    models: Mapping[str, DurationModel] = field(default_factory=dict)
    """The duration fits used to scale (empty when nothing was scaled)."""


@dataclass(frozen=True)
class CostLine:
    """One service's monthly usage and cost."""

    service: str
    usage: str
    standard: float
    express: float


@dataclass(frozen=True)
class Estimate:
    """A monthly estimate for Standard and Express workflows."""

    lines: tuple[CostLine, ...]
    files_per_month: float
    profile: FileProfile
    runs: int
    failed_runs: int
    measured_avg_bytes: float | None
    assumptions: tuple[str, ...] = field(default_factory=tuple)
    prices: PriceTable | None = None

    @property
    def total_standard(self) -> float:
        return sum(line.standard for line in self.lines)

    @property
    def total_express(self) -> float:
        return sum(line.express for line in self.lines)


def parse_size(text: str) -> int:
    """Bytes from ``"512"``, ``"10MB"``, ``"1.5GiB"``, ``"200k"`` (SI for kB/MB/GB, binary for KiB/MiB/GiB).

    Raises:
        ValueError: not a size.
    """
    match = _SIZE.match(text)
    unit = (match.group(2) or "").lower() if match else ""
    if match is None or unit not in _UNITS:
        raise ValueError(f"not a size: {text!r} (examples: 512, 200KB, 10MB, 1.5GiB)")
    return int(float(match.group(1)) * _UNITS[unit])


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def fit_durations(runs: Sequence[RunUsage]) -> dict[str, DurationModel]:
    """Least-squares fit of ``ms = a * invocations + b * input bytes`` per function, over the runs.

    With a single input size the two parts cannot be told apart: functions that read the
    input are then taken as proportional to its size, the others as fixed per invocation.
    """
    reads_input = {f.name for f in PIPELINE_FUNCTIONS if "input" in f.access}
    models: dict[str, DurationModel] = {}
    functions = sorted({f for run in runs for f in run.invocations})
    for function in functions:
        points = [
            (
                float(run.invocations[function]),
                float(run.input_bytes),
                float(run.billed_ms.get(function, 0)),
            )
            for run in runs
            if run.invocations.get(function) and run.input_bytes
        ]
        if not points:
            continue
        ii = sum(i * i for i, _, _ in points)
        ss = sum(s * s for _, s, _ in points)
        is_ = sum(i * s for i, s, _ in points)
        im = sum(i * m for i, _, m in points)
        sm = sum(s * m for _, s, m in points)
        det = ii * ss - is_ * is_
        if det > 1e-9 * ii * ss:
            a = (im * ss - sm * is_) / det
            b = (sm * ii - im * is_) / det
            if a < 0:
                a, b = 0.0, sm / ss
            elif b < 0:
                a, b = im / ii, 0.0
            models[function] = DurationModel(a, b, True)
            continue
        total_ms = sum(m for _, _, m in points)
        if function in reads_input:
            models[function] = DurationModel(0.0, total_ms / sum(s for _, s, _ in points), False)
        else:
            models[function] = DurationModel(total_ms / sum(i for i, _, _ in points), 0.0, False)
    return models


def _profile(runs: Sequence[RunUsage], workload: Workload, target: float | None) -> FileProfile:
    tasks, inner = workflow_tasks()
    inner_functions = {tasks[s] for s in inner if s in tasks}
    models = fit_durations(runs) if target is not None else {}
    per_run: list[dict[str, Any]] = []
    for run in runs:
        scaled = target is not None and bool(run.input_bytes)
        if run.chunks and scaled and target is not None:
            chunks = max(1.0, float(math.ceil(target / workload.chunk_size_bytes)))
        else:
            chunks = float(run.chunks)
        chunk_ratio = chunks / run.chunks if run.chunks else 0.0
        invocations = {f: n * (chunk_ratio if f in inner_functions else 1.0) for f, n in run.invocations.items()}
        billed: dict[str, float] = {f: float(ms) for f, ms in run.billed_ms.items()}
        if scaled and target is not None:
            billed = {f: models[f].at(invocations[f], target) if f in models else float(run.billed_ms.get(f, 0)) for f in invocations}
        # Wall time: what the functions add to it changes; Map chunks run side by side.
        after_parallel = max(1.0, min(chunks, workload.max_concurrency))
        before = run.map_wall_ms + sum(ms for f, ms in run.billed_ms.items() if f not in inner_functions)
        after = sum(ms / (after_parallel if f in inner_functions else 1) for f, ms in billed.items())
        duration = max(0.0, run.duration_ms - before) + after
        size = target if target is not None else run.input_bytes
        s3_get = s3_put = 0.0
        for function, count in invocations.items():
            model = S3_REQUESTS.get(function, S3Requests())
            s3_get += count * (model.get + model.get_per_chunk * chunks)
            s3_put += count * (model.put + model.put_per_chunk * chunks)
        if size:
            # The upload itself: one PUT, or a multipart upload (create, parts, complete).
            s3_put += 1 if size <= MULTIPART_CHUNK else math.ceil(size / MULTIPART_CHUNK) + 2
        payload = run.max_payload_bytes * max(1.0, min(chunks, workload.max_concurrency))
        per_run.append(
            {
                "chunks": chunks,
                "transitions": run.transitions - run.chunk_transitions + run.chunk_transitions * chunk_ratio,
                "events": run.history_events - run.chunk_events + run.chunk_events * chunk_ratio,
                "invocations": invocations,
                "billed": billed,
                "duration": duration,
                "memory": EXPRESS_MEMORY_STEP * max(1, math.ceil(payload / EXPRESS_MEMORY_STEP)),
                "s3_get": s3_get,
                "s3_put": s3_put,
                # One metadata record per run (StoreResults or ErrorHandler); 1 KB per write unit.
                "wru": max(1, math.ceil((run.metadata_item_bytes or 1024) / 1024)),
                "sns": run.sns_publishes,
            }
        )
    functions = sorted({f for row in per_run for f in row["invocations"]})
    return FileProfile(
        size_bytes=target,
        chunks=_mean(r["chunks"] for r in per_run),
        transitions=_mean(r["transitions"] for r in per_run),
        history_events=_mean(r["events"] for r in per_run),
        invocations={f: _mean(r["invocations"].get(f, 0.0) for r in per_run) for f in functions},
        billed_ms={f: _mean(r["billed"].get(f, 0.0) for r in per_run) for f in functions},
        duration_ms=_mean(r["duration"] for r in per_run),
        express_billed_ms=_mean(math.ceil(r["duration"] / 100) * 100 for r in per_run),
        express_memory_mb=int(max(r["memory"] for r in per_run) // 2**20) if per_run else 64,
        s3_get=_mean(r["s3_get"] for r in per_run),
        s3_put=_mean(r["s3_put"] for r in per_run),
        dynamodb_wru=_mean(r["wru"] for r in per_run),
        sns_publishes=_mean(r["sns"] for r in per_run),
        models=models,
    )


def _count(value: float) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= limit:
            return f"{value / limit:.3g}{suffix}"
    return f"{value:.3g}" if value else "0"


def estimate(runs: Sequence[RunUsage], workload: Workload, prices: PriceTable) -> Estimate:
    """Price a month of ``workload`` from the measured ``runs``.

    Raises:
        ValueError: no runs to measure from, or a non-positive files per day.
    """
    if not runs:
        raise ValueError("no recorded runs to estimate from")
    if workload.files_per_day <= 0:
        raise ValueError("files per day must be positive")
    sizes = [r.input_bytes for r in runs if r.input_bytes]
    measured_avg = _mean(sizes) if sizes else None
    target = float(workload.avg_size_bytes) if workload.avg_size_bytes else measured_avg
    assumptions: list[str] = []
    if workload.avg_size_bytes and not sizes:
        assumptions.append("the recorded runs carry no input sizes: durations and chunks are not scaled to --avg-size")
        target = None
    profile = _profile(runs, workload, target)
    reads_input = {f.name for f in PIPELINE_FUNCTIONS if "input" in f.access}
    unfitted = sorted(f for f, m in profile.models.items() if not m.fitted and f in reads_input)
    if unfitted:
        assumptions.append(
            f"the runs have one input size, so the time of {', '.join(unfitted)} is taken as proportional to it; "
            "record runs of two or more sizes to separate fixed and per-byte time"
        )
    if profile.duration_ms > EXPRESS_MAX_MS:
        assumptions.append("a run takes longer than 5 minutes: Express workflows cannot run it (priced anyway)")
    files = workload.files_per_day * DAYS_PER_MONTH
    p = prices

    transitions = profile.transitions * files
    sfn_standard = transitions / 1000 * p.stepfunctions.standard_per_1000_transitions
    express_gbs = files * profile.express_billed_ms / 1000 * profile.express_memory_mb / 1024
    sfn_express = files / 1e6 * p.stepfunctions.express_per_million_requests + express_gbs * p.stepfunctions.express_per_gb_second

    invocations = sum(profile.invocations.values()) * files
    lambda_gbs = sum(profile.billed_ms.values()) * files / 1000 * workload.memory_mb / 1024
    lambda_cost = invocations / 1e6 * p.lambda_.per_million_requests + lambda_gbs * p.lambda_.per_gb_second_x86

    gets, puts = profile.s3_get * files, profile.s3_put * files
    s3_requests = puts / 1000 * p.s3.put_per_1000 + gets / 1000 * p.s3.get_per_1000
    stored_gb = (target or 0.0) * files / 2**30
    s3_storage = stored_gb * p.s3.standard_per_gb_month

    wru = profile.dynamodb_wru * files
    dynamodb = wru / 1e6 * p.dynamodb.per_million_write_request_units
    publishes = profile.sns_publishes * files
    emails = publishes * workload.email_subscribers
    sns = publishes / 1e6 * p.sns.per_million_publishes + emails / 1e5 * p.sns.email_per_100000
    events = files
    eventbridge = events / 1e6 * p.eventbridge.aws_service_events_per_million
    log_gb = (
        (profile.history_events * SFN_LOG_BYTES_PER_EVENT + sum(profile.invocations.values()) * LAMBDA_LOG_BYTES_PER_INVOCATION)
        * files
        / 2**30
    )
    cloudwatch = workload.alarms * p.cloudwatch.alarm_per_month + log_gb * p.cloudwatch.logs_ingestion_per_gb
    xray = files / 1e6 * p.xray.per_million_traces_recorded
    kms = workload.kms_keys * p.kms.key_per_month

    lines = (
        CostLine(
            "Step Functions",
            f"{_count(transitions)} transitions (Standard) | {_count(files)} requests, "
            f"{_count(express_gbs)} GB-s at {profile.express_memory_mb} MB (Express)",
            sfn_standard,
            sfn_express,
        ),
        CostLine(
            "Lambda",
            f"{_count(invocations)} invocations, {_count(lambda_gbs)} GB-s at {workload.memory_mb} MB",
            lambda_cost,
            lambda_cost,
        ),
        CostLine("S3 requests", f"{_count(puts)} PUT, {_count(gets)} GET", s3_requests, s3_requests),
        CostLine(
            "S3 storage",
            f"{stored_gb:.3g} GB of inputs added per month (versioned, kept)",
            s3_storage,
            s3_storage,
        ),
        CostLine("DynamoDB", f"{_count(wru)} write request units (on-demand)", dynamodb, dynamodb),
        CostLine("SNS", f"{_count(publishes)} publishes, {_count(emails)} email deliveries", sns, sns),
        CostLine("SQS", "0 requests (the dead-letter queue only holds failed deliveries)", 0.0, 0.0),
        CostLine(
            "EventBridge",
            f"{_count(events)} S3 events (AWS service events on the default bus)",
            eventbridge,
            eventbridge,
        ),
        CostLine(
            "CloudWatch",
            f"{workload.alarms} alarms, {log_gb:.3g} GB of logs ingested",
            cloudwatch,
            cloudwatch,
        ),
        CostLine("X-Ray", f"{_count(files)} traces (one per run, unsampled)", xray, xray),
        CostLine("KMS", f"{workload.kms_keys} customer managed key", kms, kms),
    )
    assumptions += [
        "S3 requests per function are estimated from the pipeline's I/O pattern (S3_REQUESTS), not measured",
        f"logs: {SFN_LOG_BYTES_PER_EVENT} B per state machine event, {LAMBDA_LOG_BYTES_PER_INVOCATION} B per Lambda invocation",
        "local durations stand in for Lambda's; list prices before free tiers and discounts",
    ]
    failed = sum(1 for r in runs if r.status != "SUCCEEDED")
    return Estimate(lines, files, profile, len(runs), failed, measured_avg, tuple(assumptions), prices)
