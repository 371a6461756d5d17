"""The runner's call header: what a worker reads from a parent of its own version, an older one, or a newer one."""

from __future__ import annotations

import json

import pytest

from sluiceway.ports.functions import Call

CALL = Call("req-1", "fn", "mod.handler", "arn:aws:lambda:us-east-1:111111111111:function:fn", 128, 3.0, b'{"a": 1}')


def test_a_call_reads_back_as_it_was_written() -> None:
    full = Call(
        "req-1", "fn", "mod.handler", "arn", 128, 3.0, b"{}", {"K": "v"}, ("/code", "/deps"), "python3.12", "blue"
    )  # fmt: skip
    assert Call.decode(full.encode()) == full


def test_a_header_without_the_later_fields_gets_their_defaults() -> None:
    # What a parent from before environments, code, runtimes and tenants wrote: six fields.
    old = json.dumps(["req-1", "fn", "mod.handler", CALL.invoked_arn, 128, 3.0]).encode() + b"\n" + CALL.payload
    assert Call.decode(old) == CALL
    with_environment = json.dumps(["req-1", "fn", "mod.handler", CALL.invoked_arn, 128, 3.0, {"K": "v"}]).encode() + b"\n{}"
    decoded = Call.decode(with_environment)
    assert (decoded.environment, decoded.code_paths, decoded.runtime, decoded.tenant_id) == ({"K": "v"}, (), None, None)


@pytest.mark.parametrize(
    "header",
    [
        b"not json",
        b'{"request_id": "req-1"}',
        json.dumps(["req-1", "fn", "mod.handler"]).encode(),
        # A newer parent's field this version cannot read (it may be as weighty as a tenant).
        json.dumps(["req-1", "fn", "mod.handler", "arn", 128, 3.0, {}, [], None, None, "more"]).encode(),
        json.dumps(["req-1", "fn", "mod.handler", "arn", 128, 3.0, "not a mapping"]).encode(),
        # Every field is checked for its type: a worker would set or import what it read.
        json.dumps(["req-1", "fn", "mod.handler", "arn", 128, 3.0, {"A": 1}]).encode(),
        json.dumps(["req-1", "fn", "mod.handler", "arn", 128, 3.0, {}, "/code"]).encode(),
        json.dumps(["req-1", "fn", "mod.handler", "arn", 128, 3.0, {}, [7]]).encode(),
        json.dumps(["req-1", "fn", "mod.handler", "arn", 128, 3.0, {}, [], 5]).encode(),
        json.dumps(["req-1", "fn", "mod.handler", "arn", 128, 3.0, {}, [], None, {"x": 1}]).encode(),
        json.dumps(["req-1", "fn", "mod.handler", "arn", "128", 3.0]).encode(),
        json.dumps(["req-1", "fn", "mod.handler", "arn", True, 3.0]).encode(),
        b'["req-1", "fn", "mod.handler", "arn", 128, 1e999]',
        b"[" * 100_000,  # nested past the parser's recursion limit
    ],
)
def test_a_header_this_version_cannot_read_is_a_value_error(header: bytes) -> None:
    with pytest.raises(ValueError):
        Call.decode(header + b"\n{}")
