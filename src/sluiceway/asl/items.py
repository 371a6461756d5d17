"""Distributed Map's data plumbing, pure: ItemReader content parsing, ItemBatcher, ResultWriter files.

The runtime fetches and stores the bytes; these functions decide what they mean,
so every backend reads CSV, JSON, JSONL and manifests the same way.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import StatesError
from ..types import JSON

__all__ = ["batch_items", "parse_items", "result_files"]

DELIMITERS = {"COMMA": ",", "PIPE": "|", "SEMICOLON": ";", "SPACE": " ", "TAB": "\t"}


def parse_items(data: bytes, reader_config: Mapping[str, Any]) -> list[JSON]:
    """The items in one object, by ``ReaderConfig.InputType`` (JSON, JSONL, CSV).

    Raises:
        StatesError: ``States.ItemReaderFailed`` when the content does not fit the type.
    """
    kind = str(reader_config.get("InputType", "JSON")).upper()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StatesError("States.ItemReaderFailed", f"The item reader could not decode the object as UTF-8: {exc}") from None
    if kind == "JSON":
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise StatesError("States.ItemReaderFailed", f"The JSON object is not valid JSON: {exc}") from None
        pointer = reader_config.get("ItemsPointer")
        if isinstance(pointer, str) and pointer:
            for part in pointer.strip("/").split("/"):
                value = value[int(part)] if isinstance(value, list) else (value or {}).get(part)
        if not isinstance(value, list):
            raise StatesError("States.ItemReaderFailed", "The JSON object must contain an array of items")
        return value
    if kind == "JSONL":
        items: list[JSON] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append(json.loads(line))
            except ValueError as exc:
                raise StatesError("States.ItemReaderFailed", f"Line {number} is not valid JSON: {exc}") from None
        return items
    if kind == "CSV":
        return _csv_items(text, reader_config)
    raise StatesError("States.ItemReaderFailed", f"Unsupported InputType {kind!r}")


def _csv_items(text: str, config: Mapping[str, Any]) -> list[JSON]:
    delimiter = DELIMITERS.get(str(config.get("CSVDelimiter", "COMMA")).upper())
    if delimiter is None:
        raise StatesError("States.ItemReaderFailed", f"Unsupported CSVDelimiter {config.get('CSVDelimiter')!r}")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    location = str(config.get("CSVHeaderLocation", "FIRST_ROW")).upper()
    if location == "GIVEN":
        headers = config.get("CSVHeaders")
        if not isinstance(headers, list) or not headers:
            raise StatesError("States.ItemReaderFailed", "CSVHeaderLocation GIVEN needs CSVHeaders")
    else:
        if not rows:
            return []
        headers, rows = rows[0], rows[1:]
    items = []
    for number, row in enumerate(rows, start=2 if location != "GIVEN" else 1):
        if not row:
            continue
        if len(row) > len(headers):
            raise StatesError("States.ItemReaderFailed", f"CSV row {number} has more fields than headers")
        items.append({str(h): (row[i] if i < len(row) else "") for i, h in enumerate(headers)})
    return items


def batch_items(items: Sequence[JSON], *, max_items: int | None, max_bytes: int | None, batch_input: JSON) -> list[JSON]:
    """ItemBatcher: group items into ``{"Items": [...], "BatchInput": ...}`` batches."""
    if max_items is None and max_bytes is None:
        raise StatesError("States.Runtime", "ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch")
    batches: list[JSON] = []
    current: list[JSON] = []
    size = 0
    for item in items:
        item_size = len(json.dumps(item, separators=(",", ":")).encode())
        full = (max_items is not None and len(current) >= max_items) or (max_bytes is not None and current and size + item_size > max_bytes)
        if full:
            batches.append(_batch(current, batch_input))
            current, size = [], 0
        current.append(item)
        size += item_size
    if current:
        batches.append(_batch(current, batch_input))
    return batches


def _batch(items: list[JSON], batch_input: JSON) -> JSON:
    batch: dict[str, JSON] = {"Items": items}
    if batch_input is not None:
        batch["BatchInput"] = batch_input
    return batch


def result_files(records: Sequence[Mapping[str, Any]], writer_config: Mapping[str, Any] | None) -> dict[str, str]:
    """ResultWriter: ``{file name: content}`` for SUCCEEDED_0 / FAILED_0 (manifest written by the caller).

    ``records`` hold one child run each: Status, Input, Output or Error/Cause.
    ``Transformation`` NONE keeps the run records, COMPACT keeps outputs only,
    FLATTEN flattens array outputs into one list; ``OutputType`` JSON or JSONL.
    """
    config = writer_config or {}
    transformation = str(config.get("Transformation", "NONE")).upper()
    output_type = str(config.get("OutputType", "JSON")).upper()
    files: dict[str, str] = {}
    for status in ("SUCCEEDED", "FAILED"):
        chosen = [r for r in records if r["Status"] == status]
        if not chosen:
            continue
        if transformation == "COMPACT":
            values: list[JSON] = [
                r.get("Output") if status == "SUCCEEDED" else {"Error": r.get("Error"), "Cause": r.get("Cause")} for r in chosen
            ]
        elif transformation == "FLATTEN":
            values = []
            for r in chosen:
                out = r.get("Output") if status == "SUCCEEDED" else {"Error": r.get("Error"), "Cause": r.get("Cause")}
                values.extend(out if isinstance(out, list) else [out])
        else:
            values = [dict(r) for r in chosen]
        extension = "jsonl" if output_type == "JSONL" else "json"
        if output_type == "JSONL":
            content = "".join(json.dumps(v, separators=(",", ":")) + "\n" for v in values)
        else:
            content = json.dumps(values, separators=(",", ":"))
        files[f"{status}_0.{extension}"] = content
    return files
