"""What CloudWatch's operations share: the registry, its error codes and messages, time and dimension helpers."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final

from ..context import Context, Operations
from ..errors import AwsError

__all__ = [
    "OPERATIONS",
    "combination",
    "decode_token",
    "dimension_pairs",
    "dimensions_out",
    "encode_token",
    "invalid",
    "missing",
    "ms",
    "now_ms",
    "store",
    "to_time",
    "validation",
]

OPERATIONS: Final = Operations("cloudwatch")


def store(ctx: Context) -> Any:
    """The data dir's CloudWatch store (``backends/local/cloudwatch.SqliteCloudWatch``)."""
    return ctx.stack.local.cloudwatch


def fresh_store(ctx: Context) -> Any:
    """The store, with AWS's own metrics fed up to now first (a read shows what just happened)."""
    alarms = getattr(ctx.stack, "alarms", None)
    if alarms is not None:
        alarms.pull_feeds()
    return ctx.stack.local.cloudwatch


def invalid(parameter: str, value: Any, why: str = "") -> AwsError:
    """``InvalidParameterValue`` in CloudWatch's words: ``The value X for parameter P is invalid.``"""
    text = f"The value {value} for parameter {parameter} is invalid."
    return AwsError("InvalidParameterValue", f"{text} {why}".strip(), 400)


def combination(message: str) -> AwsError:
    return AwsError("InvalidParameterCombination", message, 400)


def missing(parameter: str) -> AwsError:
    return AwsError("MissingParameter", f"The parameter {parameter} is required.", 400)


def validation(message: str) -> AwsError:
    """CloudWatch's ``ValidationError`` (GetMetricData's queries, alarm definitions)."""
    return AwsError("ValidationError", message, 400)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def now_ms(ctx: Context) -> int:
    return ms(ctx.stack.local.clock.now())


def to_time(millis: int) -> datetime:
    return datetime.fromtimestamp(millis / 1000, UTC)


def encode_token(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode()


def decode_token(token: str | None) -> str | None:
    """A NextToken's content; ``InvalidNextToken`` for one this endpoint did not hand out."""
    if token is None:
        return None
    try:
        found = base64.b64decode(token.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        found = ""
    if not found:
        raise AwsError("InvalidNextToken", "The service couldn't process your request because the NextToken is not valid.", 400)
    return found


def dimensions_out(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in pairs]


def dimension_pairs(dimensions: Sequence[Mapping[str, Any]] | None, where: str) -> list[tuple[str, str]]:
    """``[{"Name", "Value"}]`` as pairs; CloudWatch refuses the same name twice and more than 30."""
    found: list[tuple[str, str]] = []
    for item in dimensions or []:
        found.append((str(item["Name"]), str(item["Value"])))
    if len(found) > 30:
        raise invalid(where, f"[{len(found)} dimensions]", "The collection must not have a size greater than 30.")
    names = [name for name, _ in found]
    if len(set(names)) != len(names):
        raise invalid(where, ", ".join(names), "A dimension name may appear only once.")
    return found
