"""Deterministic sales CSVs for the demo, the tests and the benchmark.

:func:`write_sales_csv` writes valid sales rows of any size with DuckDB (a
gigabyte takes seconds); the same ``seed`` and row count give the same bytes
with the same DuckDB version. :func:`write_samples` writes the demo dataset:
valid files of several sizes, one with bad rows of every kind (each counted,
so a run can be checked exactly), and two files the pipeline must refuse.
"""

from __future__ import annotations

import csv
import io
import logging
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ._duck import connect, path_literal

__all__ = ["SALES_COLUMNS", "SampleFile", "sales_rows", "write_sales_csv", "write_samples"]

logger = logging.getLogger(__name__)

SALES_COLUMNS = (
    "order_id",
    "order_date",
    "region",
    "product",
    "quantity",
    "unit_price",
    "customer_email",
)
REGIONS = ("north", "south", "east", "west", "central")
PRODUCTS = (
    "Widget",
    "Gadget",
    "Cable, USB-C",
    "Lamp",
    'Desk "Pro"',
    "Chair",
    "Mug",
    "Pen",
    "Notebook",
    "Backpack",
    "Monitor 27in",
    "Keyboard",
)
_ROW_BYTES = 70  # average length of a generated row, for sizing by megabytes


@dataclass(frozen=True)
class SampleFile:
    """One file of the demo dataset and what the pipeline should make of it."""

    name: str
    path: Path
    rows: int
    """Data rows in the file (lines after the header, counting a multi-line record once)."""
    bad_rows: int
    """How many of them the sales pipeline rejects."""
    expect: Literal["SUCCEEDED", "FAILED"]
    description: str


def _query(rows: int, seed: int, start_id: int) -> str:
    regions = "[" + ", ".join(f"'{r}'" for r in REGIONS) + "]"
    products = "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in PRODUCTS) + "]"
    seed = int(seed)
    return f"""
        SELECT
            {int(start_id)} + i AS order_id,
            DATE '2024-01-01' + CAST(hash(i, {seed}, 1) % 366 AS INTEGER) AS order_date,
            {regions}[CAST(hash(i, {seed}, 2) % {len(REGIONS)} AS INTEGER) + 1] AS region,
            {products}[CAST(hash(i, {seed}, 3) % {len(PRODUCTS)} AS INTEGER) + 1] AS product,
            1 + CAST(hash(i, {seed}, 4) % 20 AS INTEGER) AS quantity,
            round((100 + hash(i, {seed}, 5) % 99900) / 100.0, 2) AS unit_price,
            'customer' || CAST(hash(i, {seed}, 6) % 50000 AS VARCHAR) || '@example.com' AS customer_email
        FROM range({int(rows)}) t(i)
        ORDER BY i
    """


def write_sales_csv(
    path: str | Path,
    *,
    rows: int | None = None,
    size_mb: float | None = None,
    seed: int = 0,
    start_id: int = 1,
    header: bool = True,
) -> int:
    """Write valid sales rows to ``path``; return how many.

    Args:
        rows: how many rows, or
        size_mb: about how big the file should be.
        seed: the same seed gives the same file.
        start_id: the first ``order_id`` (ids ascend by one).
        header: write the header line.
    """
    if rows is None:
        if size_mb is None:
            raise ValueError("give rows or size_mb")
        rows = max(1, int(size_mb * 1024 * 1024 / _ROW_BYTES))
    con = connect(files=None, threads=2)  # no pipeline SQL here
    try:
        con.execute("SET preserve_insertion_order = true")
        con.execute(
            f"COPY ({_query(rows, seed, start_id)}) TO {path_literal(Path(path))} "
            f"(FORMAT csv, HEADER {'true' if header else 'false'}, DELIMITER ',')"
        )
    finally:
        con.close()
    return rows


def sales_rows(rows: int, *, seed: int = 0, start_id: int = 1) -> list[tuple[object, ...]]:
    """The rows :func:`write_sales_csv` writes, as Python values (small counts only)."""
    con = connect(files=None, threads=1)  # no pipeline SQL here
    try:
        return [tuple(r) for r in con.execute(_query(rows, seed, start_id)).fetchall()]
    finally:
        con.close()


def _bad_rows_file(path: Path, *, seed: int, rows: int) -> tuple[int, int]:
    """Valid rows with bad ones mixed in at seeded positions; returns (rows, bad rows)."""
    good = sales_rows(rows, seed=seed)
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SALES_COLUMNS)
    bad_kinds: list[list[str]] = [
        [
            "{id}",
            "2024-03-01",
            "atlantis",
            "Mug",
            "1",
            "2.50",
            "a@example.com",
        ],  # region not allowed
        ["{id}", "2024-03-01", "north", "Mug", "0", "2.50", "a@example.com"],  # quantity below min
        [
            "{id}",
            "2024-03-01",
            "north",
            "Mug",
            "1.5",
            "2.50",
            "a@example.com",
        ],  # quantity not an integer
        ["{id}", "2024-03-01", "north", "Mug", "1", "-3.00", "a@example.com"],  # negative price
        ["{id}", "2024-03-01", "north", "Mug", "1", "abc", "a@example.com"],  # price not a number
        ["{id}", "2024-03-01", "north", "Mug", "1", "2.50", "not-an-email"],  # email pattern
        ["{id}", "2024-02-30", "north", "Mug", "1", "2.50", "a@example.com"],  # impossible date
        ["{id}", "", "north", "Mug", "1", "2.50", "a@example.com"],  # missing date
        ["{id}", "2024-03-01", "north", "", "1", "2.50", "a@example.com"],  # missing product
        ["{id}", "2024-03-01", "north", "Mug"],  # too few fields
        [
            "{id}",
            "2024-03-01",
            "north",
            "Mug",
            "1",
            "2.50",
            "a@example.com",
            "extra",
        ],  # too many fields
        ["{dup}", "2024-03-01", "north", "Mug", "1", "2.50", "a@example.com"],  # duplicate order_id
    ]
    positions = sorted(rng.sample(range(10, rows), 2 * len(bad_kinds)))
    inserts = {pos: bad_kinds[n % len(bad_kinds)] for n, pos in enumerate(positions)}
    next_id = rows + 1_000_000
    written = 0
    bad = 0
    for i, row in enumerate(good):
        if i in inserts:
            template = inserts[i]
            fields = [f.replace("{id}", str(next_id)).replace("{dup}", str(good[i // 2][0])) for f in template]
            next_id += 1
            writer.writerow(fields)
            written += 1
            bad += 1
        values = list(row)
        if i == 5:
            values[3] = "Gift box\nlarge"  # a quoted line break inside a valid row
        writer.writerow(values)
        written += 1
    path.write_text(out.getvalue(), encoding="utf-8")
    return written, bad


def write_samples(directory: str | Path, *, seed: int = 0, scale: float = 1.0) -> list[SampleFile]:
    """Write the demo dataset into ``directory`` and describe each file.

    Args:
        seed: the same seed gives the same files.
        scale: multiplies the sizes of the valid files (the benchmark uses large ones).
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    samples: list[SampleFile] = []
    for name, count, text in (
        ("sales-small.csv", 1_000, "a thousand valid orders"),
        ("sales-medium.csv", 20_000, "twenty thousand valid orders"),
        ("sales-large.csv", 200_000, "two hundred thousand valid orders (about 14 MB)"),
    ):
        rows = max(1, int(count * scale))
        path = folder / name
        write_sales_csv(path, rows=rows, seed=seed)
        samples.append(SampleFile(name, path, rows, 0, "SUCCEEDED", text))
    path = folder / "sales-with-bad-rows.csv"
    rows, bad = _bad_rows_file(path, seed=seed, rows=2_000)
    samples.append(
        SampleFile(
            path.name,
            path,
            rows,
            bad,
            "SUCCEEDED",
            f"{rows} orders, {bad} of them bad in a dozen ways",
        )
    )
    path = folder / "sales-broken.csv"
    garbage = random.Random(seed).randbytes(8192)
    path.write_bytes(b"order_id,order_date\n" + garbage[:100] + b"\x00" + garbage[100:])
    samples.append(SampleFile(path.name, path, 0, 0, "FAILED", "binary garbage: not a CSV file"))
    path = folder / "sales-wrong-header.csv"
    write_sales_csv(path, rows=100, seed=seed + 1, header=False)
    body = path.read_bytes()
    path.write_bytes(b"id,date,area,item,qty,price,email\n" + body)
    samples.append(SampleFile(path.name, path, 100, 0, "FAILED", "the header does not match the schema"))
    return samples
