"""Leaf predicates shared by EventBridge event patterns and SNS filter policies.

EventBridge patterns (:mod:`sluiceway.events.patterns`) and SNS filter policies
(:mod:`sluiceway.messaging.filter_policy`) are dialects of one language, and
where the two services give the same answer the test lives here, once. Each
function builds, from a condition its caller has already checked, a test of
one leaf value (a string, a number, ``true``, ``false``, ``null``) that is
then applied to every leaf a property has. Checking a condition, and AWS's
words for a bad one, stay with each service: the two accept different things
and say different things.

The same in both services, and here:

* ``prefix``/``suffix``: a string that starts or ends with the text; nothing
  else (numbers, booleans, null) matches.
* ``anything-but`` with ``prefix``/``suffix``: any value but a string with that
  beginning or end; a value of another kind passes.
* ``equals-ignore-case``: the two strings are equal once folded; the fold is
  the caller's (below).
* ``numeric``: a number inside an interval, open or closed at either end; which
  numbers may be compared, and at what precision, is the caller's (below).
* ``cidr``: an IP address inside a block; how an address is read is the
  caller's (below).
* ``exists`` (:func:`leaves_match`): a property exists when it has at least one
  leaf; ``exists: true`` needs one, ``exists: false`` needs none, and the other
  conditions need a leaf that passes one of them. (EventBridge's rule index
  inlines this rule on its hot path; a test holds the two together.)

Where AWS's two services differ, each caller passes its own rule and says why
beside it:

==================  ==================================  ==================================
rule                EventBridge                         SNS
==================  ==================================  ==================================
numbers             doubles, within -5e9..5e9 and with  decimals, compared at 5 decimals
                    at most 6 decimals; other numbers   (SNS documents -1e9..1e9; others
                    never match ``numeric``             are not refused here)
ignore case         ``str.lower`` (event-ruler accepts  ``str.casefold`` (SNS documents no
                    each character's lower- and upper-  rule; here ``ß`` equals ``ss``)
                    case forms)
anything-but        all strings or all numbers; forms   strings, numbers, booleans and null
                    with prefix, suffix, equals-        mixed; a ``prefix`` form only
                    ignore-case and wildcard
IP addresses        read as Java reads them: dotted     read by Python's ``ipaddress``;
                    quads, hex-and-colon IPv6, IPv4-    ``/32`` blocks allowed; a string
                    mapped IPv6 as IPv4; ``/32``        that is an address is compared as
                    refused; a string that is an        a string
                    address matches every spelling
                    of that address
wildcard            supported                           refused (an unknown match type)
arrays of objects   array-consistent across fields      every leaf on its own
==================  ==================================  ==================================

The module is pure and depends on nothing else in Sluiceway.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

__all__ = [
    "AddressReader",
    "Fold",
    "StringTest",
    "Test",
    "address_block",
    "anything_but_prefix",
    "anything_but_suffix",
    "equals_ignore_case",
    "in_address_block",
    "leaves_match",
    "numeric_range",
    "prefix",
    "suffix",
]

Test: TypeAlias = Callable[[Any], bool]
"""A test of one leaf value of any kind."""
StringTest: TypeAlias = Callable[[str], bool]
"""A test of one string value; callers send strings only."""
Fold: TypeAlias = Callable[[str], str]
"""How a service folds case (``str.lower``, ``str.casefold``)."""
AddressReader: TypeAlias = Callable[[str], "tuple[int, int] | None"]
"""How a service reads an IP address: ``(bits, address)`` (32 or 128 bits), or None."""


def prefix(text: str, fold: Fold | None = None) -> StringTest:
    """A string that starts with ``text`` (both folded by ``fold``, if given)."""
    if fold is None:
        return lambda v: v.startswith(text)
    folded = fold(text)
    return lambda v: fold(v).startswith(folded)


def suffix(text: str, fold: Fold | None = None) -> StringTest:
    """A string that ends with ``text`` (both folded by ``fold``, if given)."""
    if fold is None:
        return lambda v: v.endswith(text)
    folded = fold(text)
    return lambda v: fold(v).endswith(folded)


def equals_ignore_case(text: str, fold: Fold) -> StringTest:
    """A string equal to ``text`` once both are folded by ``fold``."""
    folded = fold(text)
    return lambda v: fold(v) == folded


def anything_but_prefix(prefixes: tuple[str, ...]) -> Test:
    """Any value but a string that starts with one of ``prefixes``."""
    return lambda v: type(v) is not str or not v.startswith(prefixes)


def anything_but_suffix(suffixes: tuple[str, ...]) -> Test:
    """Any value but a string that ends with one of ``suffixes``."""
    return lambda v: type(v) is not str or not v.endswith(suffixes)


def numeric_range(low: Any, low_open: bool, high: Any, high_open: bool, admit: Test | None = None) -> Test:
    """A number inside the interval from ``low`` to ``high``.

    Args:
        low: the lower bound, or None for none.
        low_open: whether ``low`` itself is outside (``>``) or inside (``>=``).
        high: the upper bound, or None for none.
        high_open: whether ``high`` itself is outside (``<``) or inside (``<=``).
        admit: which numbers may be compared at all (EventBridge's limits); None
            admits every number given. The test only ever sees numbers: callers
            check the kind of value first, and bring numbers to their precision.
    """
    if admit is None:
        return _bare_range(low, low_open, high, high_open)
    ok = admit
    # The shapes are spelled out, not composed, because EventBridge's rule index
    # runs these for every candidate rule of every event.
    if low is None:
        if high_open:
            return lambda v: v < high and ok(v)
        return lambda v: v <= high and ok(v)
    if high is None:
        if low_open:
            return lambda v: v > low and ok(v)
        return lambda v: v >= low and ok(v)
    if low == high and not low_open and not high_open:
        return lambda v: v == low and ok(v)
    if low_open and high_open:
        return lambda v: low < v < high and ok(v)
    if low_open:
        return lambda v: low < v <= high and ok(v)
    if high_open:
        return lambda v: low <= v < high and ok(v)
    return lambda v: low <= v <= high and ok(v)


def _bare_range(low: Any, low_open: bool, high: Any, high_open: bool) -> Test:
    if low is None:
        if high_open:
            return lambda v: v < high
        return lambda v: v <= high
    if high is None:
        if low_open:
            return lambda v: v > low
        return lambda v: v >= low
    if low == high and not low_open and not high_open:
        return lambda v: v == low
    if low_open and high_open:
        return lambda v: low < v < high
    if low_open:
        return lambda v: low < v <= high
    if high_open:
        return lambda v: low <= v < high
    return lambda v: low <= v <= high


def address_block(bits: int, address: int, mask: int) -> tuple[int, int]:
    """The lowest and highest address of the block ``address/mask`` (host bits of ``address`` ignored)."""
    host = (1 << (bits - mask)) - 1
    return address & ~host, address | host


def in_address_block(bits: int, low: int, high: int, read: AddressReader) -> StringTest:
    """A string that ``read`` reads as an address of ``bits`` bits from ``low`` to ``high``."""

    def inside(v: str) -> bool:
        address = read(v)
        return address is not None and address[0] == bits and low <= address[1] <= high

    return inside


def leaves_match(leaves: Sequence[Any] | None, test: Test | None, exists_true: bool, exists_false: bool) -> bool:
    """Whether a property with these leaf values satisfies its conditions.

    Args:
        leaves: the property's leaf values (None or empty: the property does not exist).
        test: the property's conditions other than ``exists``, as one test; None if it has none.
        exists_true: the conditions include ``{"exists": true}``.
        exists_false: the conditions include ``{"exists": false}``.
    """
    if not leaves:
        return exists_false
    if exists_true:
        return True
    if test is None:
        return False
    return any(test(v) for v in leaves)
