"""Distributed Map item parsing, batching and result files."""

from __future__ import annotations

import json

import pytest

from sluiceway.asl.items import batch_items, parse_items, result_files
from sluiceway.errors import StatesError


def test_csv_given_headers_and_tab_delimiter() -> None:
    items = parse_items(
        b"1\tx\n2\ty\n", {"InputType": "CSV", "CSVHeaderLocation": "GIVEN", "CSVHeaders": ["id", "v"], "CSVDelimiter": "TAB"}
    )
    assert items == [{"id": "1", "v": "x"}, {"id": "2", "v": "y"}]


def test_csv_row_wider_than_header_is_an_error() -> None:
    with pytest.raises(StatesError) as caught:
        parse_items(b"a,b\n1,2,3\n", {"InputType": "CSV"})
    assert caught.value.error == "States.ItemReaderFailed"


def test_json_must_be_an_array_and_pointer_digs() -> None:
    assert parse_items(b'{"data": {"rows": [1, 2]}}', {"InputType": "JSON", "ItemsPointer": "/data/rows"}) == [1, 2]
    with pytest.raises(StatesError):
        parse_items(b'{"not": "a list"}', {"InputType": "JSON"})


def test_jsonl_names_the_bad_line() -> None:
    with pytest.raises(StatesError) as caught:
        parse_items(b'{"a": 1}\n{oops\n', {"InputType": "JSONL"})
    assert "Line 2" in caught.value.cause


def test_batches_by_bytes() -> None:
    items = [{"v": "x" * 10} for _ in range(4)]
    size = len(json.dumps(items[0], separators=(",", ":")))
    batches = batch_items(items, max_items=None, max_bytes=2 * size, batch_input=None)
    assert [len(b["Items"]) for b in batches] == [2, 2]
    assert "BatchInput" not in batches[0]


def test_result_files_flatten_and_none() -> None:
    records = [
        {"Index": 0, "Input": 1, "Status": "SUCCEEDED", "Output": [1, 2]},
        {"Index": 1, "Input": 2, "Status": "FAILED", "Error": "E", "Cause": "c"},
    ]
    flat = result_files(records, {"Transformation": "FLATTEN"})
    assert json.loads(flat["SUCCEEDED_0.json"]) == [1, 2]
    assert json.loads(flat["FAILED_0.json"]) == [{"Error": "E", "Cause": "c"}]
    full = result_files(records, None)
    assert json.loads(full["SUCCEEDED_0.json"])[0]["Input"] == 1
