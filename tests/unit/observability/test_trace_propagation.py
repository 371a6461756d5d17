"""A trace's context as W3C's traceparent and as AWS X-Ray's trace header: the same 128 + 64 bits."""

from __future__ import annotations

import pytest

from sluiceway.observability.propagation import TraceContext, parse_trace_header, parse_traceparent
from sluiceway.runtime.lambdas.xray import root_of, trace_header

CONTEXT = TraceContext(0x5759E988BD862E3FE1BE46A994272793, 0x53995C3F42CD8AD8, sampled=True)


def test_the_two_spellings_carry_the_same_ids() -> None:
    assert CONTEXT.traceparent == "00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01"
    # X-Ray's Root: "1-", the first 8 hex digits (its epoch seconds), "-", the other 24.
    assert CONTEXT.trace_header == "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    assert parse_traceparent(CONTEXT.traceparent) == CONTEXT
    assert parse_trace_header(CONTEXT.trace_header) == CONTEXT


def test_lambdas_header_and_ours_agree() -> None:
    header = trace_header(CONTEXT.trace_id, CONTEXT.span_id, sampled=True)
    assert parse_trace_header(header) == CONTEXT
    assert root_of(header) == "1-5759e988-bd862e3fe1be46a994272793"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0", False),
        ("Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=?", True),
        # Order and spaces do not matter; unknown keys (Lineage, Self) are ignored.
        ("Sampled=1; Parent=53995c3f42cd8ad8; Root=1-5759e988-bd862e3fe1be46a994272793; Lineage=a87bd80c:1", True),
    ],
)
def test_x_ray_headers_are_read_as_aws_writes_them(header: str, expected: bool) -> None:
    found = parse_trace_header(header)
    assert found is not None and found.trace_id == CONTEXT.trace_id and found.span_id == CONTEXT.span_id
    assert found.sampled is expected


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Root=1-5759e988-bd862e3fe1be46a994272793",  # no span to continue
        "Root=2-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8",
        "Root=1-5759e988-bd862e3fe1be46a99427279;Parent=53995c3f42cd8ad8",
        "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=0000000000000000",
        "Root=1-00000000-000000000000000000000000;Parent=53995c3f42cd8ad8",
    ],
)
def test_unusable_x_ray_headers_give_nothing(header: str | None) -> None:
    assert parse_trace_header(header) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", TraceContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0xF067AA0BA902B7)),
        (
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            TraceContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0xF067AA0BA902B7, False),
        ),
        # A later version may add fields after the flags: they are ignored, as W3C says.
        (
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more",
            TraceContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0xF067AA0BA902B7),
        ),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-more", None),
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None),
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", None),
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", None),  # upper case is not allowed
        ("junk", None),
        (None, None),
    ],
)
def test_traceparent_values_are_read_as_w3c_says(value: str | None, expected: TraceContext | None) -> None:
    assert parse_traceparent(value) == expected
