"""The local CloudWatch Logs store: a function's group and stream, made on its first events and again after a delete."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluiceway.backends.local.logs import SqliteLogStore
from sluiceway.errors import NotFoundError


def _store(path: Path) -> SqliteLogStore:
    return SqliteLogStore(path / "logs.db", clock_ms=lambda: 1_000)


def test_a_functions_stream_is_made_once_and_written_to_after(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put("/aws/lambda/f", "s1", [(1, "one")], create=True)
    store.put("/aws/lambda/f", "s1", [(2, "two"), (3, "three")], create=True)
    assert [e.message for e in store.stream_events("/aws/lambda/f", "s1")] == ["one", "two", "three"]
    stream = store.stream("/aws/lambda/f", "s1")
    assert stream is not None and (stream.first_event_ms, stream.last_event_ms) == (1, 3)
    store.close()


def test_a_stream_deleted_by_another_process_is_made_again(tmp_path: Path) -> None:
    store, other = _store(tmp_path), _store(tmp_path)
    store.put("/aws/lambda/f", "s1", [(1, "before")], create=True)
    other.delete_group("/aws/lambda/f")  # this store still remembers having made it
    store.put("/aws/lambda/f", "s1", [(2, "after")], create=True)
    assert [e.message for e in store.stream_events("/aws/lambda/f", "s1")] == ["after"]
    other.delete_stream("/aws/lambda/f", "s1")
    store.put("/aws/lambda/f", "s1", [(3, "again")], create=True)
    assert [e.message for e in other.stream_events("/aws/lambda/f", "s1")] == ["again"]
    store.close()
    other.close()


def test_a_stream_deleted_here_is_made_again_and_without_create_it_is_missing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    store.put("/aws/lambda/f", "s1", [(1, "x")], create=True)
    store.delete_stream("/aws/lambda/f", "s1")
    with pytest.raises(NotFoundError):
        store.put("/aws/lambda/f", "s1", [(2, "y")])
    store.put("/aws/lambda/f", "s1", [(3, "z")], create=True)
    assert [e.message for e in store.stream_events("/aws/lambda/f", "s1")] == ["z"]
    store.close()
