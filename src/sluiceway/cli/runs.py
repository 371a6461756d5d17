"""``sluiceway runs``: the pipeline's runs and their per-state timing."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from ..errors import SluicewayError
from ..ports import ExecutionRecord
from ._common import DataDirOption, console, report_error, settings_from, shown

app = typer.Typer(help="List pipeline runs and show one run's history.", invoke_without_command=True)


def run_rows(records: list[ExecutionRecord], metadata: dict[str, dict[str, Any]]) -> Table:
    """A Rich table of runs: file, status, rows, duration, output."""
    table = Table(title="Runs", show_lines=False)
    for column in ("execution", "file", "status", "rows valid", "rejected", "duration", "output / reason"):
        table.add_column(column, overflow="fold")
    for record in records:
        item = metadata.get(record.arn, {})
        detail = (record.input or {}).get("detail", {}) if isinstance(record.input, dict) else {}
        key = item.get("InputKey") or detail.get("object", {}).get("key", "")
        duration = ""
        if record.stopped_at is not None:
            duration = f"{(record.stopped_at - record.started_at).total_seconds():.2f} s"
        status = record.status
        style = {"SUCCEEDED": "green", "FAILED": "red", "RUNNING": "yellow"}.get(status, "magenta")
        outcome = item.get("OutputLocation") or item.get("Message") or item.get("Cause") or record.error or ""
        # Every stored value prints literally (see shown): keys and reasons come from outside.
        table.add_row(
            shown(record.name),
            shown(key),
            shown(status, style=style),
            shown(_count(item.get("RowsValid"))),
            shown(_count(item.get("RowsRejected"))),
            duration,
            shown(str(outcome)[:200]),
        )
    return table


def _count(value: Any) -> str:
    return "" if value is None else f"{value:,}" if isinstance(value, int) else str(value)


@app.callback()
def runs(
    ctx: typer.Context,
    limit: int = typer.Option(20, "--limit", "-n", help="How many runs, newest first"),
    status: str | None = typer.Option(None, "--status", help="Only runs with this status"),
    data_dir: Path | None = DataDirOption,
) -> None:
    """List runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from ..runtime.wiring import open_local_read

    settings = settings_from(data_dir)
    reader = open_local_read(settings)
    try:
        records = reader.executions.list(status=status, limit=limit)
        metadata = {str(item.get("ExecutionId")): item for item in reader.table.scan(limit=10 * limit + 100)}
    finally:
        reader.close()
    if not records:
        console.print(
            "no runs yet: upload a file (sluiceway upload FILE); the demo's runs are in its own data dir "
            "(sluiceway runs --data-dir .sluiceway/demos/csv-workflow)"
        )
        return
    console.print(run_rows(records, metadata))


@app.command()
def show(
    execution: str = typer.Argument(..., help="Execution name or ARN"),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Show one run: status, metadata record and per-state timing from its history."""
    from ..runtime.wiring import open_local_read

    settings = settings_from(data_dir)
    reader = open_local_read(settings)
    try:
        record = reader.executions.get(execution)
        events = reader.executions.history(record.arn)
        item = reader.table.get({"ExecutionId": record.arn})
    except SluicewayError as exc:
        report_error(exc)
    finally:
        reader.close()
    console.print(run_summary(record), highlight=False)
    if item:
        # JSON escapes control characters; ensure_ascii also escapes the C1 controls and
        # bidirectional overrides it would otherwise write as they are.
        console.print_json(data=item, ensure_ascii=True)
    console.print(state_timing(events))


def run_summary(record: ExecutionRecord) -> Text:
    """The run's name, status and start, and its error and cause if it failed; stored values print literally."""
    text = Text.assemble(shown(record.name, style="bold"), "  ", shown(record.status), f"  started {record.started_at.isoformat()}")
    if record.error:
        text.append_text(Text.assemble("\nerror: ", shown(record.error), "\ncause: ", shown(record.cause, lines=True)))
    return text


def state_timing(events: list[dict[str, Any]]) -> Table:
    """Per state: how often it ran, total and longest time, from Entered/Exited pairs."""
    open_at: dict[str, list[datetime]] = defaultdict(list)
    stats: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for event in events:
        kind = event["type"]
        when = datetime.fromisoformat(event["timestamp"].replace("Z", "+00:00"))
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            open_at[name].append(when)
            if name not in stats:
                order.append(name)
                stats[name] = {"type": kind[: -len("StateEntered")], "runs": 0, "total": 0.0, "max": 0.0, "failed": 0}
        elif kind.endswith("StateExited"):
            name = event["stateExitedEventDetails"]["name"]
            if open_at[name]:
                took = (when - open_at[name].pop(0)).total_seconds()
                entry = stats[name]
                entry["runs"] += 1
                entry["total"] += took
                entry["max"] = max(entry["max"], took)
    for name, pending in open_at.items():
        if pending and name in stats:
            stats[name]["failed"] += len(pending)
    table = Table(title="States")
    for column in ("state", "type", "runs", "not exited", "total s", "longest s"):
        table.add_column(column)
    for name in order:
        entry = stats[name]
        table.add_row(
            shown(name),
            shown(entry["type"]),
            str(entry["runs"]),
            str(entry["failed"] or ""),
            f"{entry['total']:.3f}",
            f"{entry['max']:.3f}",
        )
    return table
