"""Sluiceway's JSON lines against the lines Powertools' own Logger makes of the same record, key by key."""

from __future__ import annotations

import io
import json
import logging
import re
import types
import uuid
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("aws_lambda_powertools")

from aws_lambda_powertools import Logger  # noqa: E402
from aws_lambda_powertools.logging import logger as powertools_logger_module  # noqa: E402

from sluiceway import logs  # noqa: E402

TRACE_HEADER = "Root=1-6752a5f3-0b6e1d2c3f4a5b6c7d8e9f01;Parent=53995c3f42cd8ad8;Sampled=0"
CONTEXT = types.SimpleNamespace(
    function_name="orders-Process",
    memory_limit_in_mb="256",  # a string, as Lambda's Python runtime gives it
    invoked_function_arn="arn:aws:lambda:us-east-1:111111111111:function:orders-Process",
    aws_request_id="6d1f8c2a-1b7e-4f0e-9c55-0d1e2f3a4b5c",
    function_version="$LATEST",
)


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def source() -> Any:
    """A plain logger whose records are kept, to be formatted by both formatters."""
    logger = logging.getLogger("sluiceway.tests.powertools_shape")
    keep = _Keep()
    logger.addHandler(keep)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, keep
    logger.removeHandler(keep)


@pytest.fixture
def powertools(monkeypatch: pytest.MonkeyPatch) -> Logger:
    monkeypatch.delenv("POWERTOOLS_LOGGER_SAMPLE_RATE", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    # Both count cold starts per process; this test runs among others that may have used them up.
    monkeypatch.setattr(powertools_logger_module, "is_cold_start", True)
    monkeypatch.setattr(logs, "_cold_start", True)
    # utc=True: Powertools formats local time by default, and Lambda's local time is UTC (TZ=:UTC).
    # A service of its own: Loggers of one service share their keys, and this one's must not leak.
    return Logger(service=f"orders-{uuid.uuid4().hex[:8]}", stream=io.StringIO(), utc=True)


def _both(powertools: Logger, record: logging.LogRecord) -> tuple[dict[str, Any], dict[str, Any]]:
    theirs = json.loads(powertools.registered_formatter.format(record))
    ours = json.loads(logs.JsonFormatter(powertools.service).format(record))
    return theirs, ours


def _same(theirs: dict[str, Any], ours: dict[str, Any]) -> None:
    assert list(ours) == list(theirs), "the same keys in the same order"
    for key in theirs:
        assert ours[key] == theirs[key], key


def test_a_plain_line_has_powertools_keys_and_formats(source: Any, powertools: Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    logger, keep = source
    logger.info("chunk %s done", 3, extra={"rows": 1200, "skipped": None})
    theirs, ours = _both(powertools, keep.records[-1])
    _same(theirs, ours)
    assert list(ours) == ["level", "location", "message", "timestamp", "service", "rows"]
    assert ours["level"] == "INFO" and ours["message"] == "chunk 3 done" and ours["service"] == powertools.service
    assert re.fullmatch(r"test_a_plain_line_has_powertools_keys_and_formats:\d+", ours["location"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\+0000", ours["timestamp"])


def test_an_invocations_line_carries_the_lambda_keys_and_the_trace(
    source: Any, powertools: Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    logger, keep = source
    pairs: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def handler(event: Any, context: Any) -> None:
        logger.warning({"order": event}, extra={"attempt": 2})
        pairs.append(_both(powertools, keep.records[-1]))

    wrapped: Callable[[Any, Any], None] = logs.inject_lambda_context(powertools.inject_lambda_context(handler))
    wrapped(7, CONTEXT)
    wrapped(8, CONTEXT)
    for theirs, ours in pairs:
        _same(theirs, ours)
    first, second = (ours for _, ours in pairs)
    assert first["message"] == {"order": 7}
    assert (first["cold_start"], second["cold_start"]) == (True, False)
    assert first["function_name"] == "orders-Process" and first["function_memory_size"] == "256"
    assert first["function_request_id"] == CONTEXT.aws_request_id and first["function_arn"] == CONTEXT.invoked_function_arn
    assert first["xray_trace_id"] == "1-6752a5f3-0b6e1d2c3f4a5b6c7d8e9f01"


def test_an_exception_line_matches(source: Any, powertools: Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    logger, keep = source
    try:
        {}["missing"]  # noqa: B018
    except KeyError as exc:
        exc.add_note("while reading the manifest")
        logger.exception("manifest unreadable")
    theirs, ours = _both(powertools, keep.records[-1])
    _same(theirs, ours)
    assert ours["exception_name"] == "KeyError" and "Traceback" in ours["exception"]
    assert ours["exception_notes"] == ["while reading the manifest"]
    assert ours["stack_trace"]["type"] == "KeyError" and ours["stack_trace"]["frames"][0]["function"] == "test_an_exception_line_matches"


def test_bound_keys_sit_where_powertools_appended_keys_sit(source: Any, powertools: Logger, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    logger, keep = source
    arn = "arn:aws:states:us-east-1:111111111111:execution:csv:run-1"
    powertools.append_keys(execution_arn=arn)
    try:
        with logs.bind(execution_arn=arn):
            logger.info("state entered", extra={"state": "Validate"})
            theirs, ours = _both(powertools, keep.records[-1])
    finally:
        powertools.remove_keys(["execution_arn"])
    _same(theirs, ours)
    assert ours["execution_arn"] == arn
    assert "execution_arn" not in logs.bound()


def test_configure_json_writes_sluicewayss_records_with_the_service_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLUICEWAY_SERVICE_NAME", raising=False)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "pipeline")
    stream = io.StringIO()
    root = logging.getLogger("sluiceway")
    before = (list(root.handlers), root.level)
    try:
        logs.configure("INFO", "json", stream)
        logging.getLogger("sluiceway.runtime.example").info("execution started", extra={"execution_arn": "arn:x"})
    finally:
        root.handlers[:] = before[0]
        root.setLevel(before[1])
    line = json.loads(stream.getvalue())
    assert line["service"] == "pipeline" and line["message"] == "execution started" and line["execution_arn"] == "arn:x"
    monkeypatch.setenv("SLUICEWAY_SERVICE_NAME", "ours")
    assert logs.JsonFormatter().service == "ours"
    monkeypatch.delenv("SLUICEWAY_SERVICE_NAME")
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME")
    assert logs.JsonFormatter().service == "sluiceway"


def test_the_current_opentelemetry_span_gives_the_trace_id(source: Any) -> None:
    trace = pytest.importorskip("opentelemetry.trace")
    logger, keep = source
    span = trace.NonRecordingSpan(
        trace.SpanContext(trace_id=0x4BF92F3577B34DA6A3CE929D0E0E4736, span_id=0x00F067AA0BA902B7, is_remote=False)
    )
    with trace.use_span(span):
        logger.info("delivered")
        # Formatted while the span is current, as a StreamHandler formats in the logging call.
        line = json.loads(logs.JsonFormatter("orders").format(keep.records[-1]))
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    logger.info("no span")
    assert "trace_id" not in json.loads(logs.JsonFormatter("orders").format(keep.records[-1]))
