"""The MetadataTable contract, on SQLite and on DynamoDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.errors import ConflictError
from sluiceway.ports import STATUS_TIME_INDEX, Condition, MetadataTable

from .conftest import BACKENDS, PAGE_SIZE, TABLE, TableCase, remote_for

ROOT = Path(__file__).resolve().parents[2]
INDEX = STATUS_TIME_INDEX.name


@pytest.fixture(scope="module")
def deployed_table() -> dict[str, Any]:
    """The metadata table in the SAM template, so that the tests query the deployed shape."""
    from sluiceway.config import STARTER_CONFIG, parse_config
    from sluiceway.deploy.template import build_template
    from sluiceway.settings import Settings

    settings = Settings(input_bucket="contract-input", output_bucket="contract-output")
    template = build_template(settings, parse_config(STARTER_CONFIG), template_dir=ROOT)
    properties: dict[str, Any] = template["Resources"]["MetadataTable"]["Properties"]
    return properties


@pytest.fixture(params=BACKENDS)
def runs(request: pytest.FixtureRequest) -> Iterator[TableCase]:
    """An empty table keyed by ``ExecutionId``, with the deployed table's ``StatusTimeIndex``."""
    if request.param == "local":
        from sluiceway.backends.local.tables import SqliteTable

        db: Database = request.getfixturevalue("database")
        yield TableCase(SqliteTable(db, TABLE), "local")
        return
    from sluiceway.backends.aws.tables import DynamoTable

    remote = remote_for(request)
    spec: dict[str, Any] = request.getfixturevalue("deployed_table")
    dynamodb = remote.client("dynamodb")
    name = remote.name(TABLE)
    dynamodb.create_table(
        TableName=name,
        **{
            key: spec[key]
            for key in (
                "BillingMode",
                "AttributeDefinitions",
                "KeySchema",
                "GlobalSecondaryIndexes",
            )
        },
    )
    yield TableCase(DynamoTable(name, dynamodb, page_size=PAGE_SIZE), request.param)
    if remote.persistent:
        dynamodb.delete_table(TableName=name)


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


# ------------------------------------------------------------------ conditions


def test_put_if_exists_writes_over_an_existing_item_only(table: TableCase) -> None:
    must_exist = Condition(exists=["ExecutionId"])
    with pytest.raises(ConflictError):
        table.table.put({"ExecutionId": "e", "Status": "RUNNING"}, condition=must_exist)
    assert table.table.get({"ExecutionId": "e"}) is None

    table.table.put({"ExecutionId": "e", "Status": "RUNNING"})
    table.table.put({"ExecutionId": "e", "Status": "SUCCEEDED"}, condition=must_exist)

    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", "Status": "SUCCEEDED"}


def test_put_if_an_attribute_is_absent(table: TableCase) -> None:
    never_finished = Condition(not_exists=["FinishedAt"])
    table.table.put({"ExecutionId": "e", "Status": "RUNNING"}, condition=never_finished)
    table.table.put({"ExecutionId": "e", "FinishedAt": "t1"}, condition=never_finished)

    with pytest.raises(ConflictError):
        table.table.put({"ExecutionId": "e", "FinishedAt": "t2"}, condition=never_finished)
    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", "FinishedAt": "t1"}


@pytest.mark.parametrize(
    "expected",
    [
        {"Status": "RUNNING"},
        {"Attempt": 2},
        {"Attempt": 2.0},
        {"Ratio": 0.25},
        {"Valid": True},
        {"Tags": ["a", 1]},
        {"Stats": {"sum": 1.5, "n": 3}},
        {"Status": "RUNNING", "Attempt": 2},
        {},
    ],
    ids=str,
)
def test_put_if_values_are_equal_writes(table: TableCase, expected: dict[str, Any]) -> None:
    stored = {
        "ExecutionId": "e",
        "Status": "RUNNING",
        "Attempt": 2,
        "Ratio": 0.25,
        "Valid": True,
        "Tags": ["a", 1],
        "Stats": {"n": 3, "sum": 1.5},
    }
    table.table.put(stored)

    table.table.put({"ExecutionId": "e", "Status": "DONE"}, condition=Condition(equals=expected))

    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", "Status": "DONE"}


@pytest.mark.parametrize(
    "expected",
    [
        {"Status": "FAILED"},
        {"Status": "running"},
        {"Attempt": 3},
        {"Attempt": "2"},
        {"Ratio": 0.250001},
        {"Valid": False},
        {"Tags": ["a"]},
        {"Stats": {"sum": 1.5}},
        {"Missing": "x"},
        {"Status": "RUNNING", "Attempt": 3},
    ],
    ids=str,
)
def test_put_if_values_differ_conflicts_and_writes_nothing(
    table: TableCase, expected: dict[str, Any]
) -> None:
    stored = {
        "ExecutionId": "e",
        "Status": "RUNNING",
        "Attempt": 2,
        "Ratio": 0.25,
        "Valid": True,
        "Tags": ["a", 1],
        "Stats": {"n": 3, "sum": 1.5},
    }
    table.table.put(stored)

    with pytest.raises(ConflictError):
        table.table.put(
            {"ExecutionId": "e", "Status": "DONE"}, condition=Condition(equals=expected)
        )

    assert table.table.get({"ExecutionId": "e"}) == stored


def test_equals_on_a_missing_item_conflicts(table: TableCase) -> None:
    with pytest.raises(ConflictError):
        table.table.put({"ExecutionId": "e"}, condition=Condition(equals={"Status": "RUNNING"}))

    assert table.table.get({"ExecutionId": "e"}) is None


def test_every_part_of_a_condition_must_hold(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e", "Status": "RUNNING", "Owner": "w1"})
    almost = Condition(exists=["Owner"], not_exists=["Lease"], equals={"Status": "FAILED"})
    with pytest.raises(ConflictError):
        table.table.update({"ExecutionId": "e"}, {"Lease": "w2"}, condition=almost)

    holds = Condition(exists=["Owner"], not_exists=["Lease"], equals={"Status": "RUNNING"})
    table.table.update({"ExecutionId": "e"}, {"Lease": "w2"}, condition=holds)

    assert table.table.get({"ExecutionId": "e"}) == {
        "ExecutionId": "e",
        "Status": "RUNNING",
        "Owner": "w1",
        "Lease": "w2",
    }


def test_if_absent_and_a_condition_must_both_hold(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e", "Status": "RUNNING"})

    with pytest.raises(ConflictError):
        table.table.put(
            {"ExecutionId": "e"}, if_absent=True, condition=Condition(equals={"Status": "RUNNING"})
        )
    table.table.put({"ExecutionId": "f"}, if_absent=True, condition=Condition(not_exists=["X"]))

    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", "Status": "RUNNING"}
    assert table.table.get({"ExecutionId": "f"}) == {"ExecutionId": "f"}


@pytest.mark.parametrize("name", ["Status", "Timestamp", "a.b", "with space", "#c0", ":cq0"])
def test_condition_names_mean_themselves(table: TableCase, name: str) -> None:
    table.table.put({"ExecutionId": "e", name: "yes"})

    table.table.update(
        {"ExecutionId": "e"},
        {name: "again", "Other": 1},
        condition=Condition(exists=[name], equals={name: "yes"}, not_exists=["Other"]),
    )
    with pytest.raises(ConflictError):
        table.table.update(
            {"ExecutionId": "e"}, {name: "x"}, condition=Condition(equals={name: "yes"})
        )

    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", name: "again", "Other": 1}


def test_an_empty_condition_always_holds(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e"}, condition=Condition())
    table.table.update({"ExecutionId": "e"}, {"Rows": 1}, condition=Condition())

    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", "Rows": 1}
    table.table.delete({"ExecutionId": "e"}, condition=Condition())
    assert table.table.get({"ExecutionId": "e"}) is None


def test_conditional_update_moves_a_run_on_once(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e", "Status": "RUNNING"})
    from_running = Condition(equals={"Status": "RUNNING"})

    new = table.table.update({"ExecutionId": "e"}, {"Status": "SUCCEEDED"}, condition=from_running)
    with pytest.raises(ConflictError):
        table.table.update({"ExecutionId": "e"}, {"Status": "FAILED"}, condition=from_running)

    assert new == {"ExecutionId": "e", "Status": "SUCCEEDED"}
    assert table.table.get({"ExecutionId": "e"}) == new


def test_update_if_exists_does_not_create_the_item(table: TableCase) -> None:
    with pytest.raises(ConflictError):
        table.table.update(
            {"ExecutionId": "ghost"},
            {"Status": "FAILED"},
            condition=Condition(exists=["ExecutionId"]),
        )

    assert table.table.get({"ExecutionId": "ghost"}) is None
    assert table.table.scan() == []


def test_update_if_absent_creates_only(table: TableCase) -> None:
    create_only = Condition(not_exists=["ExecutionId"])
    assert table.table.update({"ExecutionId": "e"}, {"Rows": 1}, condition=create_only) == {
        "ExecutionId": "e",
        "Rows": 1,
    }

    with pytest.raises(ConflictError):
        table.table.update({"ExecutionId": "e"}, {"Rows": 2}, condition=create_only)
    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", "Rows": 1}


def test_conditional_delete(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e", "Status": "FAILED"})

    with pytest.raises(ConflictError):
        table.table.delete({"ExecutionId": "e"}, condition=Condition(equals={"Status": "RUNNING"}))
    assert table.table.get({"ExecutionId": "e"}) == {"ExecutionId": "e", "Status": "FAILED"}

    table.table.delete({"ExecutionId": "e"}, condition=Condition(equals={"Status": "FAILED"}))
    assert table.table.get({"ExecutionId": "e"}) is None


def test_conditional_delete_of_a_missing_item(table: TableCase) -> None:
    with pytest.raises(ConflictError):
        table.table.delete({"ExecutionId": "nobody"}, condition=Condition(exists=["ExecutionId"]))
    table.table.delete({"ExecutionId": "nobody"}, condition=Condition(not_exists=["ExecutionId"]))


def test_a_condition_names_attributes_not_letters() -> None:
    with pytest.raises(TypeError):
        Condition(exists="Status")
    with pytest.raises(ValueError):
        Condition(equals={"": 1})
    assert Condition(exists=["a"], not_exists=["b"]).not_exists == ("b",)


# ----------------------------------------------------------------- key checks


def test_keys_are_non_empty_strings(table: TableCase) -> None:
    for key in (7, "", None, True):
        with pytest.raises(ValueError):
            table.table.put({"ExecutionId": key})
    assert table.table.scan() == []


def test_update_cannot_change_the_key(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e"})

    with pytest.raises(ValueError):
        table.table.update({"ExecutionId": "e"}, {"ExecutionId": "f"})
    assert table.table.update({"ExecutionId": "e"}, {"ExecutionId": "e", "Rows": 1}) == {
        "ExecutionId": "e",
        "Rows": 1,
    }
    assert table.table.get({"ExecutionId": "f"}) is None


@pytest.mark.parametrize(
    "attributes",
    [{"Status": 1}, {"Status": ""}, {"Status": None}, {"Timestamp": 20260301}, {"Timestamp": None}],
    ids=str,
)
def test_index_keys_must_be_non_empty_strings(runs: TableCase, attributes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=INDEX):
        runs.table.put({"ExecutionId": "e", **attributes})
    runs.table.put({"ExecutionId": "e", "Status": "RUNNING", "Timestamp": "t"})
    with pytest.raises(ValueError, match=INDEX):
        runs.table.update({"ExecutionId": "e"}, attributes)

    assert runs.table.scan() == [{"ExecutionId": "e", "Status": "RUNNING", "Timestamp": "t"}]


# ----------------------------------------------------------------- table query


def _sales(runs: MetadataTable) -> None:
    for run in ["r3", "r1", "r5", "r2", "r4"]:
        runs.put({"PipelineId": "sales", "RunId": run, "Rows": int(run[1:])})
    runs.put({"PipelineId": "stock", "RunId": "r2"})
    runs.put({"PipelineId": "sales-eu", "RunId": "r1"})


def _ids(items: list[dict[str, Any]], name: str = "RunId") -> list[Any]:
    return [item[name] for item in items]


def test_query_returns_one_partition_in_sort_key_order(sorted_table: TableCase) -> None:
    _sales(sorted_table.table)

    items = sorted_table.table.query("sales")

    assert _ids(items) == ["r1", "r2", "r3", "r4", "r5"]
    assert items[0] == {"PipelineId": "sales", "RunId": "r1", "Rows": 1}
    assert _ids(sorted_table.table.query("sales", newest_first=True)) == [
        "r5",
        "r4",
        "r3",
        "r2",
        "r1",
    ]
    assert _ids(sorted_table.table.query("stock")) == ["r2"]
    assert sorted_table.table.query("nothing") == []


@pytest.mark.parametrize(
    ("sort_from", "sort_to", "expected"),
    [
        ("r2", None, ["r2", "r3", "r4", "r5"]),
        (None, "r3", ["r1", "r2", "r3"]),
        ("r2", "r4", ["r2", "r3", "r4"]),
        ("r3", "r3", ["r3"]),
        ("r2a", "r3z", ["r3"]),
        ("r6", None, []),
    ],
)
def test_query_sort_range_is_inclusive(
    sorted_table: TableCase, sort_from: str | None, sort_to: str | None, expected: list[str]
) -> None:
    _sales(sorted_table.table)

    ascending = sorted_table.table.query("sales", sort_from=sort_from, sort_to=sort_to)
    descending = sorted_table.table.query(
        "sales", sort_from=sort_from, sort_to=sort_to, newest_first=True
    )

    assert _ids(ascending) == expected
    assert _ids(descending) == expected[::-1]


def test_query_limit_takes_the_first_in_the_chosen_order(sorted_table: TableCase) -> None:
    _sales(sorted_table.table)

    assert _ids(sorted_table.table.query("sales", limit=3)) == ["r1", "r2", "r3"]
    assert _ids(sorted_table.table.query("sales", limit=3, newest_first=True)) == ["r5", "r4", "r3"]
    assert _ids(sorted_table.table.query("sales", limit=1, sort_from="r2")) == ["r2"]
    assert len(sorted_table.table.query("sales", limit=50)) == 5


def test_query_on_a_table_without_sort_key(table: TableCase) -> None:
    table.table.put({"ExecutionId": "e", "Rows": 1})
    table.table.put({"ExecutionId": "f"})

    assert table.table.query("e") == [{"ExecutionId": "e", "Rows": 1}]
    assert table.table.query("g") == []
    with pytest.raises(ValueError):
        table.table.query("e", sort_from="a")


def test_query_refuses_nonsense(sorted_table: TableCase) -> None:
    with pytest.raises(ValueError):
        sorted_table.table.query("sales", sort_from="r3", sort_to="r2")
    with pytest.raises(ValueError):
        sorted_table.table.query("sales", limit=0)
    with pytest.raises(ValueError):
        sorted_table.table.query("")


# ----------------------------------------------------------------- index query


def _record(runs: MetadataTable, execution: str, status: str, day: int, **more: Any) -> None:
    runs.put(
        {
            "ExecutionId": execution,
            "Status": status,
            "Timestamp": f"2026-03-{day:02d}T12:00:00Z",
            **more,
        }
    )


def _history(runs: MetadataTable) -> None:
    _record(runs, "a", "SUCCEEDED", 3, Rows=30)
    _record(runs, "b", "FAILED", 4)
    _record(runs, "c", "SUCCEEDED", 1)
    _record(runs, "d", "SUCCEEDED", 5, Ratio=0.5)
    _record(runs, "e", "RUNNING", 6)
    _record(runs, "f", "SUCCEEDED", 2)
    _record(runs, "g", "FAILED", 7)


def test_query_index_lists_runs_by_status_newest_first(runs: TableCase) -> None:
    _history(runs.table)

    succeeded = runs.table.query_index(INDEX, "SUCCEEDED")

    assert _ids(succeeded, "ExecutionId") == ["d", "a", "f", "c"]
    assert succeeded[0] == {
        "ExecutionId": "d",
        "Status": "SUCCEEDED",
        "Timestamp": "2026-03-05T12:00:00Z",
        "Ratio": 0.5,
    }
    assert _ids(runs.table.query_index(INDEX, "FAILED"), "ExecutionId") == ["g", "b"]
    assert runs.table.query_index(INDEX, "ABORTED") == []


def test_query_index_oldest_first(runs: TableCase) -> None:
    _history(runs.table)

    oldest = runs.table.query_index(INDEX, "SUCCEEDED", newest_first=False)

    assert _ids(oldest, "ExecutionId") == ["c", "f", "a", "d"]


def test_query_index_time_range(runs: TableCase) -> None:
    _history(runs.table)

    since = runs.table.query_index(INDEX, "SUCCEEDED", sort_from="2026-03-02")
    window = runs.table.query_index(
        INDEX, "SUCCEEDED", sort_from="2026-03-02", sort_to="2026-03-03T23:59:59Z"
    )
    until = runs.table.query_index(
        INDEX, "SUCCEEDED", sort_to="2026-03-03T12:00:00Z", newest_first=False
    )

    assert _ids(since, "ExecutionId") == ["d", "a", "f"]
    assert _ids(window, "ExecutionId") == ["a", "f"]
    assert _ids(until, "ExecutionId") == ["c", "f", "a"]


def test_query_index_reads_every_page_and_stops_at_the_limit(runs: TableCase) -> None:
    # Eleven runs over pages of PAGE_SIZE items on DynamoDB.
    for day in range(1, 12):
        _record(runs.table, f"run-{day:02d}", "SUCCEEDED", day)
        _record(runs.table, f"other-{day:02d}", "FAILED", day)

    everything = runs.table.query_index(INDEX, "SUCCEEDED")
    first = runs.table.query_index(INDEX, "SUCCEEDED", limit=5)
    earliest = runs.table.query_index(INDEX, "SUCCEEDED", limit=3, newest_first=False)

    assert _ids(everything, "ExecutionId") == [f"run-{day:02d}" for day in range(11, 0, -1)]
    assert _ids(first, "ExecutionId") == ["run-11", "run-10", "run-09", "run-08", "run-07"]
    assert _ids(earliest, "ExecutionId") == ["run-01", "run-02", "run-03"]


def test_the_index_is_sparse(runs: TableCase) -> None:
    runs.table.put({"ExecutionId": "no-time", "Status": "RUNNING"})
    runs.table.put({"ExecutionId": "no-status", "Timestamp": "2026-03-01T00:00:00Z"})
    runs.table.put({"ExecutionId": "neither"})
    _record(runs.table, "both", "RUNNING", 2)

    assert _ids(runs.table.query_index(INDEX, "RUNNING"), "ExecutionId") == ["both"]
    assert len(runs.table.scan()) == 4

    runs.table.update({"ExecutionId": "no-time"}, {"Timestamp": "2026-03-03T00:00:00Z"})
    assert _ids(runs.table.query_index(INDEX, "RUNNING"), "ExecutionId") == ["no-time", "both"]


def test_an_item_moves_between_index_partitions_with_its_status(runs: TableCase) -> None:
    _history(runs.table)

    runs.table.update(
        {"ExecutionId": "e"},
        {"Status": "FAILED", "Timestamp": "2026-03-08T00:00:00Z"},
        condition=Condition(equals={"Status": "RUNNING"}),
    )
    runs.table.delete({"ExecutionId": "g"})
    runs.table.put({"ExecutionId": "d"})

    assert runs.table.query_index(INDEX, "RUNNING") == []
    assert _ids(runs.table.query_index(INDEX, "FAILED"), "ExecutionId") == ["e", "b"]
    assert _ids(runs.table.query_index(INDEX, "SUCCEEDED"), "ExecutionId") == ["a", "f", "c"]


def test_an_unknown_index_is_refused_with_the_known_names(runs: TableCase) -> None:
    with pytest.raises(ValueError, match="StatusTimeIndex") as caught:
        runs.table.query_index("StatusIndex", "RUNNING")

    assert "StatusIndex" in str(caught.value)


def test_query_index_refuses_nonsense(runs: TableCase) -> None:
    with pytest.raises(ValueError):
        runs.table.query_index(INDEX, "RUNNING", sort_from="2026-03-02", sort_to="2026-03-01")
    with pytest.raises(ValueError):
        runs.table.query_index(INDEX, "RUNNING", limit=0)
    with pytest.raises(ValueError):
        runs.table.query_index(INDEX, "")


@pytest.mark.parametrize(
    ("stored", "expected", "moto_agrees"),
    [
        pytest.param(True, 1, False, id="true-is-not-1"),
        pytest.param(0, False, False, id="0-is-not-false"),
        pytest.param(None, "", True, id="null-is-not-empty"),
        pytest.param("1", 1, True, id="text-is-not-a-number"),
    ],
)
def test_equals_never_matches_across_types(
    table: TableCase,
    stored: Any,
    expected: Any,
    moto_agrees: bool,
    request: pytest.FixtureRequest,
) -> None:
    if table.backend == "aws" and not moto_agrees:
        request.applymarker(
            pytest.mark.xfail(reason="moto compares booleans equal to the numbers 0 and 1")
        )
    table.table.put({"ExecutionId": "e", "Value": stored})

    with pytest.raises(ConflictError):
        table.table.put({"ExecutionId": "e"}, condition=Condition(equals={"Value": expected}))
