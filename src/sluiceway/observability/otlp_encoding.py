"""Recorded spans as an OTLP ``ExportTraceServiceRequest``, in protobuf's wire format.

The bytes are those the SDK's OTLP exporter sends for the same spans (its ``encode_spans``, then
``SerializePartialToString``): the same fields, in field-number order, an empty ``Status``
written as an empty message as the SDK's encoder writes it, and the same ``flags`` (whether the
parent is remote). Building them directly costs a fraction of building the SDK's protobuf
message tree first, and it runs in the export thread of the stack's process, beside the work.
``tests/unit/observability/test_otlp_encoding.py`` holds both encodings side by side.

Field numbers are those of ``opentelemetry/proto/trace/v1/trace.proto``,
``common/v1/common.proto`` and ``resource/v1/resource.proto``.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from opentelemetry.trace import SpanKind

from .recorded_span import RecordedSpan

logger = logging.getLogger(__name__)

__all__ = ["encode_attributes", "encode_request", "encode_scope"]

_KINDS: Final = {SpanKind.INTERNAL: 1, SpanKind.SERVER: 2, SpanKind.CLIENT: 3, SpanKind.PRODUCER: 4, SpanKind.CONSUMER: 5}
"""OTLP's ``Span.SpanKind`` numbers (0 is UNSPECIFIED, never sent by the SDK)."""
_HAS_IS_REMOTE: Final = 0x100
_IS_REMOTE: Final = 0x200
_FIXED32: Final = struct.Struct("<I")
_FIXED64: Final = struct.Struct("<Q")
_DOUBLE: Final = struct.Struct("<d")


def _varint(value: int) -> bytes:
    if value < 0:
        value += 1 << 64  # int64 as protobuf writes it: ten bytes of two's complement
    if value < 0x80:
        return bytes((value,))
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _text(value: str) -> bytes:
    """A string as protobuf's UTF-8 (a lone surrogate, which UTF-8 cannot hold, becomes ``?``)."""
    return value.encode("utf-8", "replace")


_INT64: Final = range(-(1 << 63), 1 << 63)


def _field(tag: bytes, payload: bytes) -> bytes:
    """A length-delimited field (a string, bytes, a message)."""
    return tag + _varint(len(payload)) + payload


def _any_value(value: object) -> bytes:
    # AnyValue's oneof: a member that is set is written even when it is its type's default.
    if isinstance(value, str):
        return _field(b"\x0a", _text(value))
    if isinstance(value, bool):  # before int: a bool is an int in Python
        return b"\x10\x01" if value else b"\x10\x00"
    if isinstance(value, int):
        if value not in _INT64:
            raise ValueError(f"{value} does not fit OTLP's int64")
        return b"\x18" + _varint(value)
    if isinstance(value, float):
        return b"\x21" + _DOUBLE.pack(value)
    if isinstance(value, bytes):
        return _field(b"\x3a", value)
    if isinstance(value, Mapping):
        return _field(b"\x32", encode_attributes(value))
    if isinstance(value, Sequence):
        return _field(b"\x2a", b"".join(_field(b"\x0a", _any_value(item)) for item in value))
    raise TypeError(f"Invalid type {type(value).__name__} of value {value!r}")


def encode_attributes(attributes: Mapping[str, object], tag: bytes = b"\x0a") -> bytes:
    """``attributes`` as repeated ``KeyValue`` fields numbered by ``tag`` (1: a ``KeyValueList``'s values).

    An attribute whose value OTLP cannot carry (None, an object, an integer beyond int64) is left
    out with a warning, as the SDK leaves it out of a span: one bad value never costs the batch.
    """
    parts = []
    for key, value in attributes.items():
        try:
            parts.append(_field(tag, _field(b"\x0a", _text(key)) + _field(b"\x12", _any_value(value))))
        except (TypeError, ValueError):
            logger.warning("span attribute left out: OTLP cannot carry its value", extra={"attribute": key, "type": type(value).__name__})
    return b"".join(parts)


def encode_scope(name: str, version: str | None) -> bytes:
    """An ``InstrumentationScope`` message's body."""
    return _field(b"\x0a", _text(name)) + (_field(b"\x12", _text(version)) if version else b"")


def _span(span: RecordedSpan) -> bytes:
    context, parent = span.context, span.parent
    parts = [
        b"\x0a\x10" + context.trace_id.to_bytes(16, "big"),
        b"\x12\x08" + context.span_id.to_bytes(8, "big"),
    ]
    if parent is not None:
        parts.append(b"\x22\x08" + parent.span_id.to_bytes(8, "big"))
    parts.append(_field(b"\x2a", _text(span.name)))
    parts.append(b"\x30" + _varint(_KINDS[span.kind]))
    parts.append(b"\x39" + _FIXED64.pack(span.start_time))
    parts.append(b"\x41" + _FIXED64.pack(span.end_time or 0))
    if span.attributes:
        parts.append(encode_attributes(span.attributes, b"\x4a"))
    for name, timestamp, attributes in span.events:
        event = b"\x09" + _FIXED64.pack(timestamp) + _field(b"\x12", _text(name)) + encode_attributes(attributes, b"\x1a")
        parts.append(_field(b"\x5a", event))
    status = span.status
    message = status.description or ""
    code = status.status_code.value
    parts.append(_field(b"\x7a", (_field(b"\x12", _text(message)) if message else b"") + (b"\x18" + _varint(code) if code else b"")))
    flags = _HAS_IS_REMOTE | (_IS_REMOTE if parent is not None and parent.is_remote else 0)
    parts.append(b"\x85\x01" + _FIXED32.pack(flags))
    return b"".join(parts)


def encode_request(resource: bytes, scope: bytes, spans: Iterable[RecordedSpan]) -> bytes:
    """One ``ExportTraceServiceRequest`` of ``spans``, all of one resource and one instrumentation scope.

    Args:
        resource: the ``Resource`` message's body (:func:`encode_attributes` of its attributes).
        scope: the ``InstrumentationScope`` message's body (:func:`encode_scope`).
    """
    body = b"".join(_field(b"\x12", _span(span)) for span in spans)
    scope_spans = _field(b"\x0a", scope) + body
    resource_spans = _field(b"\x0a", resource) + _field(b"\x12", scope_spans)
    return _field(b"\x0a", resource_spans)
