"""The hints record: what a pipeline's runs learnt of its data; losing it only costs time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local.objects import FileObjectStore
from sluiceway.errors import BackendUnavailableError
from sluiceway.functions._common import HINTS_KEY, Hints, read_hints, write_hints


@pytest.fixture
def store(tmp_path: Path) -> FileObjectStore:
    objects = FileObjectStore(tmp_path)
    objects.ensure_bucket("out-bucket")
    return objects


def test_written_hints_are_read_back_sorted(store: FileObjectStore) -> None:
    assert read_hints(store, "out-bucket", "sales") == Hints()
    write_hints(store, "out-bucket", "sales", Hints(("b", "a"), ("id",)))
    assert read_hints(store, "out-bucket", "sales") == Hints(("a", "b"), ("id",))
    assert read_hints(store, "out-bucket", "other") == Hints()


@pytest.mark.parametrize("body", [b"not json", b"[]", b'{"per_row_patterns": "x"}', b'{"listed_keys": 3}'])
def test_an_unreadable_record_counts_as_none(store: FileObjectStore, body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    store.put("out-bucket", HINTS_KEY.format(pipeline="sales"), body)
    assert read_hints(store, "out-bucket", "sales") == Hints()
    assert "unreadable hints record" in caplog.text


def test_hints_combine_and_travel_in_events() -> None:
    merged = Hints(("email",), ()) | Hints((), ("id",)) | Hints(("email",), ())
    assert merged == Hints(("email",), ("id",))
    assert Hints.from_event(merged.to_event()) == merged
    assert Hints.from_event(None) == Hints()


class _Unavailable:
    def get(self, *args: Any, **kw: Any) -> bytes:
        raise BackendUnavailableError("S3 is down")

    def put(self, *args: Any, **kw: Any) -> None:
        raise BackendUnavailableError("S3 is down")


def test_a_store_that_fails_costs_the_hints_not_the_run(caplog: pytest.LogCaptureFixture) -> None:
    objects: Any = _Unavailable()
    assert read_hints(objects, "out-bucket", "sales") == Hints()
    write_hints(objects, "out-bucket", "sales", Hints(("email",)))
    assert "could not record hints" in caplog.text
