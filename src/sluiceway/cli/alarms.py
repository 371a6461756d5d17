"""``sluiceway alarms``: the CloudWatch alarms of the data dir (metric and composite), their state, and ``alarms history NAME``.

The running stack evaluates the alarms (``runtime/alarms.py``; a composite alarm's rule whenever
an alarm it references changes state); these commands read what it recorded, from the data dir,
whether or not a stack runs on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from ..settings import Settings
from ._common import DataDirOption, console, fail, settings_from, shown

__all__ = ["app"]

app = typer.Typer(help="CloudWatch alarms evaluated locally: their states and history.", invoke_without_command=True)

_SYMBOLS = {
    "GreaterThanOrEqualToThreshold": ">=",
    "GreaterThanThreshold": ">",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
    # An anomaly detection alarm compares with its band (ThresholdMetricId) rather than a number.
    "LessThanLowerOrGreaterThanUpperThreshold": "outside",
    "LessThanLowerThreshold": "below",
    "GreaterThanUpperThreshold": "above",
}
_STYLES = {"OK": "green", "ALARM": "bold red", "INSUFFICIENT_DATA": "yellow"}


def _with_store(data_dir: Path | None, read: Callable[[Any], Any]) -> Any:
    from ..runtime.wiring import open_local  # the runtime loads only for commands that need it

    settings: Settings = settings_from(data_dir)
    local = open_local(settings)
    try:
        return read(local.cloudwatch)
    finally:
        local.close()


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _metric(definition: Mapping[str, Any]) -> str:
    if "Metrics" in definition:
        returned: Mapping[str, Any] = next((q for q in definition["Metrics"] if q.get("ReturnData", True)), {})
        if "Expression" in returned:
            return f"math: {returned['Expression']}"
        definition = returned.get("MetricStat", {}).get("Metric", {})
    dims = ",".join(f"{d['Name']}={d['Value']}" for d in definition.get("Dimensions", []))
    text = f"{definition.get('Namespace')} {definition.get('MetricName')}"
    return f"{text} [{dims}]" if dims else text


def _watches(definition: Mapping[str, Any]) -> str:
    """What the alarm watches: its metric, or a composite alarm's rule."""
    return f"rule: {definition['AlarmRule']}" if "AlarmRule" in definition else _metric(definition)


def _threshold(definition: Mapping[str, Any]) -> str:
    if "AlarmRule" in definition:
        return "composite"
    stat = definition.get("ExtendedStatistic") or definition.get("Statistic") or ""
    symbol = _SYMBOLS.get(definition.get("ComparisonOperator", ""), "?")
    m, n = definition.get("DatapointsToAlarm", definition["EvaluationPeriods"]), definition["EvaluationPeriods"]
    compared = f"band {definition['ThresholdMetricId']}" if "ThresholdMetricId" in definition else definition.get("Threshold")
    return f"{stat} {symbol} {compared} ({m} of {n})".strip()


@app.callback()
def alarms(
    ctx: typer.Context,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON: each alarm's name, state, reason, update time, metric and threshold")
    ] = False,
    data_dir: Path | None = DataDirOption,
) -> None:
    """List the alarms: name, state, reason, when it was updated, metric (a composite alarm's rule), threshold."""
    if ctx.invoked_subcommand is not None:
        return
    records = _with_store(data_dir, lambda store: sorted([*store.alarms(), *store.composites()], key=lambda r: r.name))
    if as_json:
        shaped = [
            {
                "AlarmName": r.name,
                "AlarmArn": r.arn,
                "AlarmType": "CompositeAlarm" if "AlarmRule" in r.definition else "MetricAlarm",
                "StateValue": r.state,
                "StateReason": r.reason,
                "StateUpdatedTimestamp": _time(r.state_updated_ms),
                **(
                    {"AlarmRule": r.definition["AlarmRule"]}
                    if "AlarmRule" in r.definition
                    else {
                        "Metric": _metric(r.definition),
                        "ComparisonOperator": r.definition.get("ComparisonOperator"),
                        "Threshold": r.definition.get("Threshold"),
                    }
                ),
                "ActionsEnabled": r.actions_enabled,
            }
            for r in records
        ]
        typer.echo(json.dumps({"Alarms": shaped}, indent=2))
        return
    if not records:
        console.print(
            "No alarms: a template's AWS::CloudWatch::Alarm or CompositeAlarm, or PutMetricAlarm or PutCompositeAlarm"
            " through the endpoint, makes one."
        )
        return
    table = Table(show_lines=False)
    for column in ("name", "state", "reason", "updated", "metric", "threshold"):
        table.add_column(column, overflow="fold")
    for r in records:
        table.add_row(
            shown(r.name),
            Text(r.state, style=_STYLES.get(r.state, "")),
            shown(r.reason),
            _time(r.state_updated_ms),
            shown(_watches(r.definition)),
            shown(_threshold(r.definition)),
        )
    console.print(table)


@app.command()
def history(
    name: Annotated[str, typer.Argument(help="The alarm's name")],
    as_json: Annotated[bool, typer.Option("--json", help="Print DescribeAlarmHistory's items as JSON")] = False,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most this many items, newest first")] = 100,
    data_dir: Path | None = DataDirOption,
) -> None:
    """An alarm's history (kept 30 days, also after the alarm is deleted): configuration, state changes, actions."""
    items = _with_store(data_dir, lambda store: store.history(alarm=name, alarm_types=("MetricAlarm", "CompositeAlarm"), limit=limit))
    if not items:
        fail(f"No history for alarm {name}")
    if as_json:
        shaped = [
            {
                "AlarmName": i.alarm,
                "AlarmType": i.alarm_type,
                "Timestamp": _time(i.timestamp_ms),
                "HistoryItemType": i.item_type,
                "HistorySummary": i.summary,
                "HistoryData": json.loads(i.data),
            }
            for i in items
        ]
        typer.echo(json.dumps({"AlarmHistoryItems": shaped}, indent=2))
        return
    table = Table(show_lines=False)
    for column in ("time", "type", "summary"):
        table.add_column(column, overflow="fold")
    for i in items:
        table.add_row(_time(i.timestamp_ms), i.item_type, shown(i.summary))
    console.print(table)
