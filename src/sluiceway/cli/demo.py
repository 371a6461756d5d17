"""``sluiceway demo``: the main job end to end on embedded defaults."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..apps import CSV_WORKFLOW
from ..errors import SluicewayError
from ..ports import ExecutionRecord
from ..settings import Settings
from ._common import EXIT_FAILED, console, report_error

TERMINAL = ("SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED")


@contextmanager
def _quiet() -> Iterator[None]:
    """Expected failures (the broken sample files) are reported in the table, not as log warnings."""
    root = logging.getLogger("sluiceway")
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def run_demo(settings: Settings, *, timeout: float = 600.0, scale: float = 1.0) -> int:
    """Generate the sample dataset, run it through the local stack, print the runs; 0 if all ended as expected."""
    with _quiet():
        return _run_demo(settings, timeout=timeout, scale=scale)


def _run_demo(settings: Settings, *, timeout: float, scale: float) -> int:
    from ..data.samples import write_samples
    from ..runtime.wiring import build_stack

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
        reason = (
            item.get("OutputLocation")
            if status == "SUCCEEDED"
            else (item.get("Message") or item.get("Cause") or (record.cause if record else ""))
        )
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
    with Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=console
    ) as progress:
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


def run_preset_demo(settings: Settings, preset: str, *, timeout: float = 120.0) -> int:
    """Run one of the source documents' other pipelines end to end; 0 if everything ended as expected."""
    with _quiet():
        return _run_preset_demo(settings, preset, timeout)


def _run_preset_demo(settings: Settings, preset: str, timeout: float) -> int:
    from ..runtime.wiring import build_stack

    settings = settings.model_copy(update={"data_dir": settings.data_dir / "presets" / preset})
    try:
        stack = build_stack(settings, app=preset or CSV_WORKFLOW)
    except (SluicewayError, ValueError) as exc:
        if isinstance(exc, SluicewayError):
            report_error(exc)
        from ._common import fail

        fail(str(exc))
    try:
        stack.start()
        demo = _csv_fanout_demo if preset == "csv-fanout" else _json_records_demo
        checks = demo(stack, settings, timeout)
    finally:
        stack.close()
    table = Table(title=f"Demo: {preset}")
    for column in ("check", "expected", "found", "ok"):
        table.add_column(column, overflow="fold")
    for name, expected, found in checks:
        table.add_row(name, str(expected), str(found), "[green]yes[/green]" if expected == found else "[red]NO[/red]")
    console.print(table)
    console.print(f"data: {settings.data_dir}")
    if all(expected == found for _, expected, found in checks):
        console.print("[green]everything ended as expected[/green]")
        return 0
    console.print("[red]something did not end as expected[/red]")
    return EXIT_FAILED


def _until(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.2)


def _csv_fanout_demo(stack: Any, settings: Settings, timeout: float) -> list[tuple[str, Any, Any]]:
    import json

    from ..apps.builtin import SUMMARIES_DLQ, SUMMARIES_QUEUE
    from ..data.samples import write_samples

    samples = {s.name: s for s in write_samples(settings.data_dir / "demo-data", scale=0.5)}
    chosen = [samples["sales-small.csv"], samples["sales-medium.csv"], samples["sales-broken.csv"]]
    for sample in chosen:
        stack.upload(sample.path, f"fanout/{sample.name}")
        console.print(f"  uploaded fanout/{sample.name}  ({sample.description})")
    queues = stack.local.queues
    queues.purge(SUMMARIES_DLQ)  # the demo counts its own poison message only
    queues.send(SUMMARIES_QUEUE, "a poison message: not a CSV summary")
    console.print(f"  sent a poison message to {SUMMARIES_QUEUE}")
    objects, bucket = stack.services.objects, settings.output_bucket

    def summaries() -> dict[str, Any]:
        return {o.key: json.loads(objects.get(bucket, o.key)) for o in objects.list(bucket, "summaries/")}

    def dead() -> list[Any]:
        return list(queues.peek(SUMMARIES_DLQ))

    with console.status("waiting for summaries and the dead-letter queue"):
        _until(lambda: len(summaries()) == len(chosen) and len(dead()) == 1, timeout)
    found = summaries()
    checks: list[tuple[str, Any, Any]] = []
    for sample in chosen:
        summary = found.get(f"summaries/fanout/{sample.name}.summary.json", {})
        expected = ("SUCCEEDED", sample.rows) if sample.expect == "SUCCEEDED" else ("FAILED", 0)
        checks.append((f"summary of {sample.name} (status, rows)", expected, (summary.get("status"), summary.get("rows"))))
    letters = dead()
    checks.append(("poison messages in the dead-letter queue", 1, len(letters)))
    checks.append(("its receive count", 3, letters[0].receive_count if letters else None))
    checks.append((f"messages left in {SUMMARIES_QUEUE}", 0, queues.queue_attributes(SUMMARIES_QUEUE).available))
    return checks


def _json_records_demo(stack: Any, settings: Settings, timeout: float) -> list[tuple[str, Any, Any]]:
    import json

    folder = settings.data_dir / "demo-data"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "incoming/order-1001.json": json.dumps({"id": "order-1001", "customer": "ada", "total": 42.5}),
        "incoming/2024/no-id.json": json.dumps({"customer": "lin", "total": 7}),
        "incoming/broken.json": '{"id": "broken", "total": ',
        "other/ignored.json": json.dumps({"id": "ignored"}),
        "incoming/notes.txt": "not JSON and not .json",
    }
    for key, text in files.items():
        path = folder / key.replace("/", "__")
        path.write_text(text)
        stack.upload(path, key)
        console.print(f"  uploaded {key}")
    table = stack.services.table_named("events", "pk")
    topic = stack.services.topic

    def notes() -> list[str]:
        return [m.message for m in topic.messages("events-notify")]

    with console.status("waiting for records and notifications"):
        _until(lambda: len(table.scan()) == 3 and len(notes()) == 3, timeout)
        # The same document delivered again (a second upload of the same bytes): nothing new may happen.
        again = folder / "order-1001-again.json"
        again.write_text(files["incoming/order-1001.json"])
        stack.upload(again, "incoming/order-1001.json")
        time.sleep(3)
    items = {str(i["pk"]): i for i in table.scan()}
    return [
        ("records", ["incoming/2024/no-id.json", "incoming/broken.json", "order-1001"], sorted(items)),
        ("status of incoming/broken.json", "FAILED", items.get("incoming/broken.json", {}).get("Status")),
        ("record of order-1001 (total)", 42.5, (items.get("order-1001", {}).get("payload") or {}).get("total")),
        ("notifications", 3, len(notes())),
        ("'New file processed' notifications", 2, sum(1 for n in notes() if n.startswith("New file processed: "))),
    ]
