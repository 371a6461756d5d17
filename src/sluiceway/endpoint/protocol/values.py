"""Scalars on the wire: timestamps in AWS's three formats, booleans, numbers and base64 blobs.

Parsers read what any SDK may send (an epoch number where ISO 8601 was expected is accepted,
as AWS does); serializers write exactly one form per format.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

__all__ = [
    "ValueError_",
    "b64decode",
    "b64encode",
    "format_float",
    "format_timestamp",
    "parse_boolean",
    "parse_float",
    "parse_integer",
    "parse_timestamp",
]

#: Default timestamp formats (botocore's, and the Smithy spec's) where a member names none.
ISO8601 = "iso8601"
EPOCH = "unixtimestamp"
RFC822 = "rfc822"


class ValueError_(ValueError):  # noqa: N801 - a ValueError that the protocol turns into AWS's error
    """A value that does not fit its shape; the parser answers it with the protocol's error."""


def parse_timestamp(value: Any) -> datetime:
    """An aware UTC datetime from an epoch number, ISO 8601 or RFC 822 (HTTP-date) text."""
    if isinstance(value, bool):
        raise ValueError_(f"expected a timestamp, got {value!r}")
    if isinstance(value, int | float):
        return _from_epoch(float(value))
    if not isinstance(value, str):
        raise ValueError_(f"expected a timestamp, got {value!r}")
    text = value.strip()
    try:
        return _from_epoch(float(text))
    except ValueError:
        pass
    if not text[:4].isdigit():  # "Mon, 01 Jan 2024 00:00:00 GMT"; ISO 8601 starts with the year
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError) as exc:
            raise ValueError_(f"invalid timestamp {value!r}") from exc
    else:
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as exc:
            raise ValueError_(f"invalid timestamp {value!r}") from exc
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _from_epoch(seconds: float) -> datetime:
    if not math.isfinite(seconds):
        raise ValueError_(f"invalid timestamp {seconds!r}")
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError) as exc:
        raise ValueError_(f"invalid timestamp {seconds!r}") from exc


def format_timestamp(value: datetime | float | int, fmt: str) -> str | int | float:
    """``value`` in ``fmt`` (``iso8601``, ``unixtimestamp`` or ``rfc822``); naive datetimes are UTC."""
    moment = value if isinstance(value, datetime) else _from_epoch(float(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if fmt == EPOCH:
        # Whole seconds stay integers, as AWS sends them; a fraction keeps its microseconds.
        if moment.microsecond == 0:
            return int(moment.timestamp())
        return round(moment.timestamp(), 6)
    utc = moment.astimezone(UTC)
    if fmt == RFC822:
        return format_datetime(utc.replace(microsecond=0), usegmt=True)
    # AWS writes ISO 8601 with milliseconds and a Z (2024-05-01T12:00:00.000Z).
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def parse_boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
    raise ValueError_(f"expected true or false, got {value!r}")


def parse_integer(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError_(f"expected an integer, got {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError_(f"expected an integer, got {value!r}")


def parse_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError_(f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        try:
            return float(value)
        except OverflowError:  # an integer of more digits than a double holds (JSON allows it)
            raise ValueError_("expected a number within a double's range, got a larger integer") from None
    if isinstance(value, str):
        try:
            return float(value.strip())  # also "NaN", "Infinity", "-Infinity" as the SDKs send them
        except ValueError:
            pass
    raise ValueError_(f"expected a number, got {value!r}")


def format_float(value: float) -> str | float:
    """A float for the wire: JSON has no NaN or infinities, so AWS spells them as strings."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    return value


def b64decode(value: Any) -> bytes:
    if not isinstance(value, str | bytes):
        raise ValueError_(f"expected base64 text, got {value!r}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError_("invalid base64 value") from exc


def b64encode(value: bytes | str) -> str:
    if isinstance(value, str):
        value = value.encode("utf-8")
    return base64.b64encode(value).decode("ascii")
