"""The MetadataTable contract, on SQLite and on DynamoDB."""

from __future__ import annotations

import pytest

from sluiceway.errors import ConflictError

from .conftest import TableCase

RUN = {
    "ExecutionId": "exec-1",
    "Status": "RUNNING",
    "Timestamp": "2026-03-01T12:00:00Z",
    "Rows": 1200,
    "Ratio": 0.25,
    "Mean": 3.141592653589793,
    "Tiny": 1e-7,
    "Negative": -2.5,
    "Big": 12345678901234567,
    "Valid": True,
    "Error": None,
    "Empty": "",
    "Stats": {
        "columns": ["region", "amount"],
        "per_region": {"eu": {"sum": 1234.56, "count": 3}, "us": {"sum": 0.1, "count": 1}},
        "quantiles": [0.05, 0.5, 0.95],
        "nested": [[1, 2.5], {"deep": [None, False, "x"]}],
    },
}


def test_put_then_get_round_trips_floats_and_nested_values(table: TableCase) -> None:
    table.table.put(RUN)

    assert table.table.get({"ExecutionId": "exec-1"}) == RUN


def test_whole_and_huge_floats_come_back_equal(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e", "Value": 2.0, "Huge": 1e20, "Small": -0.0001})

    assert table.table.get({"ExecutionId": "e"}) == {
        "ExecutionId": "e",
        "Value": 2.0,
        "Huge": 1e20,
        "Small": -0.0001,
    }


def test_get_of_a_missing_item_is_none(table: TableCase) -> None:
    assert table.table.get({"ExecutionId": "nobody"}) is None


def test_put_replaces_the_whole_item(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e", "Status": "RUNNING", "Progress": 0.5})
    table.table.put({"ExecutionId": "e", "Status": "SUCCEEDED"})

    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", "Status": "SUCCEEDED"}


def test_conditional_put_of_an_existing_key_conflicts(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e", "Status": "RUNNING"}, if_absent=True)

    with pytest.raises(ConflictError):
        table.table.put({"ExecutionId": "e", "Status": "FAILED"}, if_absent=True)
    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", "Status": "RUNNING"}


def test_conditional_put_of_a_new_key_writes(table: TableCase) -> None:
    table.table.put({"ExecutionId": "a"}, if_absent=True)
    table.table.put({"ExecutionId": "b", "Ratio": 0.75}, if_absent=True)

    assert table.table.get({"ExecutionId": "b"}) == {"ExecutionId": "b", "Ratio": 0.75}


def test_update_sets_attributes_and_returns_the_new_item(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e", "Status": "RUNNING", "Rows": 10})

    new = table.table.update(
        {"ExecutionId": "e"},
        {
            "Status": "SUCCEEDED",
            "Timestamp": "2026-03-01T12:05:00Z",
            "Result": {"mean": 2.75, "tags": ["a"]},
        },
    )

    expected = {
        "ExecutionId": "e",
        "Status": "SUCCEEDED",
        "Rows": 10,
        "Timestamp": "2026-03-01T12:05:00Z",
        "Result": {"mean": 2.75, "tags": ["a"]},
    }
    assert new == expected
    assert table.table.get({"ExecutionId": "e"}) == expected


def test_update_creates_a_missing_item(table: TableCase) -> None:
    new = table.table.update({"ExecutionId": "fresh"}, {"Status": "PENDING", "Attempt": 1})

    assert new == {"ExecutionId": "fresh", "Status": "PENDING", "Attempt": 1}
    assert table.table.get({"ExecutionId": "fresh"}) == new


@pytest.mark.parametrize(
    "name", ["Name", "Size", "a.b", "with space", "#hash", ":colon", "Ünïcode"]
)
def test_update_accepts_any_attribute_name(table: TableCase, name: str) -> None:
    new = table.table.update({"ExecutionId": "e"}, {name: 1.5})

    assert new[name] == 1.5
    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", name: 1.5}


def test_delete_removes_the_item(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e"})

    table.table.delete({"ExecutionId": "e"})

    assert table.table.get({"ExecutionId": "e"}) is None


def test_deleting_a_missing_item_is_not_an_error(table: TableCase) -> None:
    table.table.delete({"ExecutionId": "nobody"})


def test_an_item_without_its_key_is_refused(table: TableCase) -> None:
    with pytest.raises(ValueError):
        table.table.put({"Status": "RUNNING"})
    with pytest.raises(ValueError):
        table.table.get({"Id": "e"})


def test_scan_returns_newest_first(table: TableCase) -> None:
    table.table.put({"ExecutionId": "old", "Timestamp": "2026-01-01T00:00:00Z"})
    table.table.put({"ExecutionId": "untimed"})
    table.table.put({"ExecutionId": "new", "Timestamp": "2026-03-01T00:00:00Z", "Ratio": 0.5})
    table.table.put({"ExecutionId": "mid-b", "Timestamp": "2026-02-01T00:00:00Z"})
    table.table.put({"ExecutionId": "mid-a", "Timestamp": "2026-02-01T00:00:00Z"})

    items = table.table.scan()

    assert [i["ExecutionId"] for i in items] == ["new", "mid-a", "mid-b", "old", "untimed"]
    assert items[0] == {"ExecutionId": "new", "Timestamp": "2026-03-01T00:00:00Z", "Ratio": 0.5}


def test_scan_limit_keeps_the_newest(table: TableCase) -> None:
    for day in range(1, 8):
        table.table.put({"ExecutionId": f"e{day}", "Timestamp": f"2026-03-0{day}T00:00:00Z"})

    assert [i["ExecutionId"] for i in table.table.scan(limit=3)] == ["e7", "e6", "e5"]
    assert len(table.table.scan()) == 7


def test_scan_of_an_empty_table_is_empty(table: TableCase) -> None:
    assert table.table.scan() == []


def test_sort_key_addresses_items_within_a_partition(sorted_table: TableCase) -> None:
    runs = sorted_table.table
    runs.put({"PipelineId": "sales", "RunId": "r1", "Rows": 1})
    runs.put({"PipelineId": "sales", "RunId": "r2", "Rows": 2.5})
    runs.put({"PipelineId": "stock", "RunId": "r1", "Rows": 3})

    assert runs.get({"PipelineId": "sales", "RunId": "r2"}) == {
        "PipelineId": "sales",
        "RunId": "r2",
        "Rows": 2.5,
    }
    with pytest.raises(ConflictError):
        runs.put({"PipelineId": "sales", "RunId": "r1"}, if_absent=True)
    runs.delete({"PipelineId": "sales", "RunId": "r1"})
    assert runs.get({"PipelineId": "sales", "RunId": "r1"}) is None
    assert runs.get({"PipelineId": "stock", "RunId": "r1"}) == {
        "PipelineId": "stock",
        "RunId": "r1",
        "Rows": 3,
    }
    assert len(runs.scan()) == 2


def test_a_key_without_its_sort_key_is_refused(
    sorted_table: TableCase, request: pytest.FixtureRequest
) -> None:
    with pytest.raises(ValueError):
        sorted_table.table.get({"PipelineId": "sales"})
