"""``sluiceway demo``: the main job end to end on embedded defaults."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..errors import SluicewayError
from ..ports import ExecutionRecord
from ..settings import Settings
from ._common import EXIT_FAILED, console, report_error

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


def run_demo(settings: Settings, *, timeout: float = 600.0, scale: float = 1.0) -> int:
    """Generate the sample dataset, run it through the local stack, print the runs; 0 if all ended as expected."""
    from ..data.samples import write_samples
    from ..runtime.wiring import build_stack

    # Expected failures (the broken files) are reported in the table, not as log warnings.
    logging.getLogger("sluiceway").setLevel(logging.ERROR)
    folder = settings.data_dir / "demo-data"
    console.print(f"[bold]Sluiceway demo[/bold]: writing sample CSVs to {folder}")
    samples = write_samples(folder, scale=scale)
    try:
        stack = build_stack(settings)
    except SluicewayError as exc:
        report_error(exc)
    started = datetime.now(UTC)
    keys = {f"demo/{sample.name}": sample for sample in samples}
    try:
        stack.start()
        for key, sample in keys.items():
            stack.upload(sample.path, key)
            console.print(f"  uploaded s3://{stack.settings.input_bucket}/{key}  ({sample.description})")
        records = _wait(stack, set(keys), started, timeout)
        metadata = {str(i.get("ExecutionId")): i for i in stack.services.table.scan(limit=1000)}
        outbox = stack.settings.outbox_path
    finally:
        stack.close()

    table = Table(title="Demo runs")
    for column in ("file", "expected", "status", "rows valid", "rejected", "duration", "output / reason", "ok"):
        table.add_column(column, overflow="fold")
    all_ok = True
    for key, sample in keys.items():
        record = records.get(key)
        item: dict[str, Any] = metadata.get(record.arn, {}) if record else {}
        status = record.status if record else "NOT STARTED"
        ok = status == sample.expect
        if ok and sample.expect == "SUCCEEDED":
            ok = item.get("RowsRejected") == sample.bad_rows and item.get("RowsValid") == sample.rows - sample.bad_rows
        all_ok &= ok
        duration = f"{(record.stopped_at - record.started_at).total_seconds():.2f} s" if record and record.stopped_at else ""
        reason = item.get("OutputLocation") if status == "SUCCEEDED" else (item.get("Message") or item.get("Cause") or (record.cause if record else ""))
        style = "green" if status == "SUCCEEDED" else "red" if status in TERMINAL else "yellow"
        table.add_row(
            sample.name,
            sample.expect,
            f"[{style}]{status}[/{style}]",
            _fmt(item.get("RowsValid")),
            _fmt(item.get("RowsRejected")),
            duration,
            str(reason or "")[:240],
            "[green]yes[/green]" if ok else "[red]NO[/red]",
        )
    console.print(table)
    console.print(f"notifications: {outbox}   results: {stack.settings.buckets_dir / stack.settings.output_bucket}")
    if all_ok:
        console.print("[green]every run ended as expected[/green]")
        return 0
    console.print("[red]some runs did not end as expected[/red]")
    return EXIT_FAILED


def _fmt(value: Any) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


def _key(record: ExecutionRecord) -> str | None:
    detail = record.input.get("detail", {}) if isinstance(record.input, dict) else {}
    key = detail.get("object", {}).get("key")
    return str(key) if key is not None else None


def _wait(stack: Any, keys: set[str], started: datetime, timeout: float) -> dict[str, ExecutionRecord]:
    """The newest run of each key started by this demo, once all have ended (or at the timeout)."""
    deadline = time.monotonic() + timeout
    found: dict[str, ExecutionRecord] = {}
    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("processing", total=len(keys))
        while time.monotonic() < deadline:
            found = {}
            for record in stack.orchestrator.store.list(limit=200):
                key = _key(record)
                if key in keys and record.started_at >= started and key not in found:
                    found[key] = record
            done = sum(1 for r in found.values() if r.status in TERMINAL)
            progress.update(task, completed=done)
            if done == len(keys):
                break
            time.sleep(0.2)
    return found
