"""The demo and benchmark datasets are deterministic and what they say they are."""

from __future__ import annotations

import csv
from pathlib import Path

from sluiceway.data.samples import SALES_COLUMNS, sales_rows, write_sales_csv, write_samples


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    write_sales_csv(a, rows=2000, seed=3)
    write_sales_csv(b, rows=2000, seed=3)
    write_sales_csv(c, rows=2000, seed=4)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_rows_are_valid_sales(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    assert write_sales_csv(path, rows=500, seed=1, start_id=10) == 500
    with open(path, newline="", encoding="utf-8") as f:
        found = list(csv.reader(f))
    assert tuple(found[0]) == SALES_COLUMNS
    assert len(found) == 501
    assert [int(r[0]) for r in found[1:]] == list(range(10, 510))
    assert all(r[2] in ("north", "south", "east", "west", "central") for r in found[1:])
    assert all(1 <= int(r[4]) <= 20 and float(r[5]) >= 1 and "@" in r[6] for r in found[1:])
    assert any("," in r[3] for r in found[1:])  # some products need quoting
    assert sales_rows(3, seed=1, start_id=10)[0][0] == 10


def test_sizing_by_megabytes(tmp_path: Path) -> None:
    path = tmp_path / "s.csv"
    write_sales_csv(path, size_mb=2, seed=0)
    assert 1.6 * 2**20 < path.stat().st_size < 2.4 * 2**20


def test_the_demo_dataset(tmp_path: Path) -> None:
    samples = write_samples(tmp_path, seed=0, scale=0.01)
    assert [s.name for s in samples] == [
        "sales-small.csv",
        "sales-medium.csv",
        "sales-large.csv",
        "sales-with-bad-rows.csv",
        "sales-broken.csv",
        "sales-wrong-header.csv",
    ]
    assert [s.expect for s in samples] == ["SUCCEEDED"] * 4 + ["FAILED"] * 2
    sizes = [s.path.stat().st_size for s in samples[:3]]
    assert sizes == sorted(sizes) and len(set(sizes)) == 3
    bad = samples[3]
    assert bad.bad_rows == 24 and bad.rows == 2024
    assert b"\x00" in samples[4].path.read_bytes()
    assert samples[5].path.read_text().startswith("id,date,area")
    again = write_samples(tmp_path / "again", seed=0, scale=0.01)
    assert all(a.path.read_bytes() == b.path.read_bytes() for a, b in zip(samples, again, strict=True))
