"""Vectorised byte counts agree with ``bytes.count`` on every range."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sluiceway.data import _bytes

ALPHABET = b'ab"\\\n'


@st.composite
def ranges(draw: st.DrawFn) -> tuple[bytes, int, int | None]:
    # Long enough to take the vectorised path, from bytes that repeat a lot.
    length = draw(st.sampled_from([0, 1, 10, 4095, 4096, 5000, 20000]))
    seed = draw(st.binary(min_size=1, max_size=64))
    data = bytes(ALPHABET[b % len(ALPHABET)] for b in (seed * (length // len(seed) + 1))[:length])
    start = draw(st.integers(0, length))
    end = draw(st.one_of(st.none(), st.integers(0, length + 10)))
    return data, start, end


@settings(max_examples=200, deadline=None)
@given(ranges(), st.sampled_from([b'"', b"\n", b"a", b"z"]))
def test_count_is_bytes_count(case: tuple[bytes, int, int | None], needle: bytes) -> None:
    data, start, end = case
    assert _bytes.count(data, needle, start, end) == data.count(needle, start, end if end is not None else len(data))
    assert _bytes.count(bytearray(data), needle, start, end) == data.count(needle, start, end if end is not None else len(data))


@settings(max_examples=200, deadline=None)
@given(ranges(), st.sampled_from([(b"\\", b'"'), (b'"', b'"'), (b"a", b"b")]))
def test_count_pairs_is_bytes_count(case: tuple[bytes, int, int | None], pair: tuple[bytes, bytes]) -> None:
    data, start, end = case
    first, second = pair
    expected = data.count(first + second, start, end if end is not None else len(data))
    assert _bytes.count_pairs(data, first, second, start, end) == expected
