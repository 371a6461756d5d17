"""Recorded spans encode to the very bytes the SDK's OTLP exporter sends for the same spans."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, Status, StatusCode, TraceFlags

from sluiceway.observability import span_pipeline
from sluiceway.observability.otlp_encoding import encode_attributes, encode_request, encode_scope
from sluiceway.observability.recorded_span import RecordedSpan, remote

RESOURCE = Resource.create({"service.name": "encoding-test"})
SCOPE = InstrumentationScope("sluiceway", "1.2.3")
TRACE_ID = 0x4BF92F3577B34DA6A3CE929D0E0E4736


def recorded(
    name: str, span_id: int, parent: SpanContext | None, kind: SpanKind, attributes: dict[str, Any], **fields: Any
) -> RecordedSpan:
    span = RecordedSpan(
        name,
        SpanContext(TRACE_ID, span_id, False, TraceFlags(TraceFlags.SAMPLED)),
        parent,
        kind,
        attributes,
        1_700_000_000_123_456_789,
        lambda s: None,
    )
    for event in fields.get("events", ()):
        span.add_event(*event)
    if "status" in fields:
        span.set_status(fields["status"])
    span.end(1_700_000_000_987_654_321)
    return span


def readable(span: RecordedSpan) -> ReadableSpan:
    """The SDK's span with the same fields (what the exporter gets where it has no HTTP client of its own)."""
    return span_pipeline.readable(span, RESOURCE, SCOPE)


SPANS = [
    # A root from another process (a remote parent), a server span with the endpoint's attributes.
    recorded(
        "S3.PutObject",
        0x1111111111111111,
        remote(TRACE_ID, 0x00F067AA0BA902B7, True),
        SpanKind.SERVER,
        {"rpc.system": "aws-api", "rpc.service": "s3", "aws.request_id": ""},
    ),
    recorded("execution Pipeline", 0x2222222222222222, None, SpanKind.INTERNAL, {"sluiceway.resumed": True, "flag": False}),
    recorded(
        "deliver rule",
        0x3333333333333333,
        SpanContext(TRACE_ID, 0x1111111111111111, False),
        SpanKind.CONSUMER,
        {"sluiceway.attempt": 1, "zero": 0, "negative": -5, "big": 2**62, "ratio": 0.25, "list": ["a", "b"], "ints": (1, 2)},
        status=Status(StatusCode.ERROR, "States.TaskFailed: boom"),
        events=[("exception", {"exception.type": "ValueError", "exception.message": "ünïcode"}, 1_700_000_000_500_000_000)],
    ),
    recorded("task lambda:invoke", 0x4444444444444444, None, SpanKind.CLIENT, {}, status=Status(StatusCode.OK)),
    recorded("publish", 0x5555555555555555, None, SpanKind.PRODUCER, {"messaging.system": "aws.sns"}, events=[("empty", None, 7)]),
]


@pytest.mark.parametrize("spans", [SPANS, SPANS[:1], []], ids=["many", "one", "none"])
def test_the_bytes_are_the_sdk_s(spans: list[RecordedSpan]) -> None:
    ours = encode_request(encode_attributes(RESOURCE.attributes), encode_scope(SCOPE.name, SCOPE.version), spans)
    theirs = encode_spans([readable(span) for span in spans]).SerializePartialToString()
    if spans:
        assert ours == theirs
    else:
        # The SDK sends no resource for no spans; ours is never asked to (the queue exports batches of one or more).
        assert ExportTraceServiceRequest.FromString(ours).resource_spans[0].scope_spans[0].spans == []


def test_a_collector_reads_every_field() -> None:
    body = encode_request(encode_attributes(RESOURCE.attributes), encode_scope("sluiceway", "1.2.3"), SPANS[2:3])
    [resource_spans] = ExportTraceServiceRequest.FromString(body).resource_spans
    [span] = resource_spans.scope_spans[0].spans
    assert span.trace_id.hex() == f"{TRACE_ID:032x}" and span.parent_span_id.hex() == "1111111111111111"
    assert span.kind == 5 and span.status.code == 2 and span.status.message == "States.TaskFailed: boom"
    attributes = {a.key: a.value for a in span.attributes}
    assert attributes["negative"].int_value == -5 and attributes["ratio"].double_value == 0.25
    assert [v.string_value for v in attributes["list"].array_value.values] == ["a", "b"]
    assert span.events[0].attributes[1].value.string_value == "ünïcode"


def test_a_value_otlp_cannot_carry_is_left_out(caplog: pytest.LogCaptureFixture) -> None:
    assert encode_attributes({"what": object(), "none": None, "kept": 1}) == encode_attributes({"kept": 1})
    assert [r.attribute for r in caplog.records] == ["what", "none"]  # type: ignore[attr-defined]


def test_an_exporter_without_its_http_client_gets_the_same_spans_through_its_public_export(monkeypatch: pytest.MonkeyPatch) -> None:
    # The fast path hands encoded bytes to the exporter's private HTTP client; a release without
    # one must still export every span, through the public export() and the SDK's own encoding.
    from sluiceway import __version__
    from sluiceway.observability import span_pipeline

    exported: list[bytes] = []

    class Exporter(span_pipeline.OTLPSpanExporter):  # type: ignore[misc]
        def __init__(self, **options: Any) -> None:
            super().__init__(**options)
            del self._client

        def export(self, spans: Any) -> Any:
            exported.append(encode_spans(spans).SerializeToString())
            return span_pipeline.SpanExportResult.SUCCESS

    monkeypatch.setattr(span_pipeline, "OTLPSpanExporter", Exporter)
    factory, queue = span_pipeline.build("http://127.0.0.1:9/v1/traces", "encoding-test", {})
    try:
        assert queue.flush(5.0)
        for span in SPANS:
            queue.put(span)
        assert queue.flush(5.0)
    finally:
        queue.close(5.0)
    expected = encode_request(encode_attributes(RESOURCE.attributes), encode_scope("sluiceway", __version__), SPANS)
    assert b"".join(exported) == expected


def test_values_utf8_or_int64_cannot_hold_never_cost_the_batch(caplog: pytest.LogCaptureFixture) -> None:
    odd = recorded(
        "name \udcff", 0x6666666666666666, None, SpanKind.INTERNAL, {"surrogate": "a\udcffb", "huge": 2**70, "tiny": -(2**70), "ok": 1}
    )
    with caplog.at_level("WARNING"):
        body = encode_request(encode_attributes(RESOURCE.attributes), encode_scope("sluiceway", "1"), [odd])
    [decoded] = ExportTraceServiceRequest.FromString(body).resource_spans[0].scope_spans[0].spans
    assert decoded.name == "name ?"
    assert {a.key: (a.value.string_value or a.value.int_value) for a in decoded.attributes} == {"surrogate": "a?b", "ok": 1}
    assert caplog.text.count("span attribute left out") == 2
