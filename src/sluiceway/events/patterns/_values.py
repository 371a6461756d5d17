"""Numbers and IP addresses as EventBridge reads them, in patterns and in events.

EventBridge compares numbers as doubles within documented limits, and reads IP
addresses as Java does (event-ruler's ``CIDR`` class): both rules live here so
that the compiler, which refuses what AWS refuses, and the matcher, which
compares event values, cannot drift apart.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Final

from sluiceway.matching import address_block

from ._errors import barf

__all__ = [
    "MAX_DECIMALS",
    "NUMBER_LIMIT",
    "cidr_block",
    "comparable",
    "event_ip",
    "event_number_comparable",
    "parse_ip",
]

# Numbers take part in numeric comparisons only inside this range and with at
# most six decimals (EventBridge's documented limits); outside it they can
# still be matched exactly, but never by ``numeric`` or numeric anything-but.
NUMBER_LIMIT: Final = Decimal("5E9")
MAX_DECIMALS: Final = 6


def comparable(text: str) -> float:
    """A pattern number usable in numeric comparisons, or AWS's complaint about it."""
    try:
        number = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the tokenizer only yields numbers
        raise barf(f"Invalid number: {text}") from exc
    if not number.is_finite():  # pragma: no cover - JSON has no infinities
        raise barf(f"Invalid number: {text}")
    exponent = number.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        raise barf("Only values upto 6 decimals are supported")
    if not -NUMBER_LIMIT <= number <= NUMBER_LIMIT:
        raise barf("Value must be between -5.0E9 and 5.0E9, inclusive")
    return float(number)


def event_number_comparable(value: int | float) -> bool:
    """Whether an event number can take part in numeric comparisons (see NUMBER_LIMIT)."""
    if not -5e9 <= value <= 5e9:  # also false for NaN
        return False
    # For doubles in range, round() to 6 places keeps the value exactly when its
    # shortest decimal form has at most 6 decimals.
    return type(value) is int or round(value, MAX_DECIMALS) == value


_IPV4_TEXT: Final = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_IPV6_TEXT: Final = re.compile(r"[0-9a-fA-F:]*:[0-9a-fA-F:]*")


def parse_ip(text: str) -> tuple[int, int] | None:
    """``(bits, address)`` for an IP literal as AWS reads one, else None.

    Only plain dotted-quad IPv4 and hex-and-colon IPv6 text count (no zone ids,
    no dotted tails); IPv4-mapped IPv6 addresses are IPv4 addresses, as for Java.
    """
    if _IPV4_TEXT.fullmatch(text):
        parts = text.split(".")
        # A leading zero reads as octal to some parsers; Java refuses it, so do we.
        if any((len(p) > 1 and p[0] == "0") or int(p) > 255 for p in parts):
            return None
        a, b, c, d = (int(p) for p in parts)
        return 32, (a << 24) | (b << 16) | (c << 8) | d
    if _IPV6_TEXT.fullmatch(text):
        try:
            address = ipaddress.IPv6Address(text)
        except ValueError:
            return None
        mapped = address.ipv4_mapped
        if mapped is not None:
            return 32, int(mapped)
        return 128, int(address)
    return None


@lru_cache(maxsize=4096)
def event_ip(text: str) -> tuple[int, int] | None:
    """:func:`parse_ip` for event values, which repeat (the same hosts, event after event)."""
    return parse_ip(text)


def _java_split_slash(text: str) -> list[str]:
    # Java's String.split drops trailing empty strings; AWS's CIDR check relies on it.
    if "/" not in text:
        return [text]
    parts = text.split("/")
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def cidr_block(text: str) -> tuple[int, int, int]:
    """``(bits, lowest, highest)`` address of a ``cidr`` block, or AWS's complaint about it."""
    parts = _java_split_slash(text)
    if len(parts) != 2:
        raise barf("Malformed CIDR, one '/' required")
    if not re.fullmatch(r"[+-]?[0-9]{1,10}", parts[1]) or abs(int(parts[1])) > 2**31 - 1:
        raise barf("Malformed CIDR, mask bits must be an integer")
    mask = int(parts[1])
    if mask < 0:
        raise barf("Malformed CIDR, mask bits must not be negative")
    ip = parts[0]
    if not (_IPV4_TEXT.fullmatch(ip) or _IPV6_TEXT.fullmatch(ip)):
        raise barf(f"Nonstandard IP address: {ip}")
    parsed = parse_ip(ip)
    if parsed is None:
        raise barf(f"Invalid IP address: {ip}")
    bits, address = parsed
    if bits == 32 and mask > 31:
        raise barf("IPv4 mask bits must be < 32")
    if bits == 128 and mask > 127:
        raise barf("IPv6 mask bits must be < 128")
    # Host bits may be set (10.0.0.5/24 is 10.0.0.0/24), but a whole address
    # (/32, /128) is refused above: AWS wants a plain address string for that.
    # SNS takes /32 (messaging/filter_policy.py).
    low, high = address_block(bits, address, mask)
    return bits, low, high
