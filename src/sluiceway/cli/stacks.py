"""``sluiceway stack describe``: the stacks ``up --template`` made, as DescribeStacks and DescribeStackResources show them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from ._common import DataDirOption, console, fail, settings_from, shown

app = typer.Typer(help="The stacks made from templates (`sluiceway up --template`).")


def _documents(data_dir: Path | None, name: str | None) -> list[dict[str, Any]]:
    from ..runtime.wiring import open_local

    local = open_local(settings_from(data_dir))
    try:
        if name is None:
            return local.stacks.list()
        found = local.stacks.get(name)
        if found is None:
            fail(f"Stack with id {name} does not exist")
        return [found]
    finally:
        local.close()


@app.command()
def describe(
    name: str | None = typer.Argument(None, help="The stack's name [default: every stack]"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON: each stack with its Outputs and StackResources"),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Status, outputs and resources (logical id, type, physical id) of the stacks."""
    documents = _documents(data_dir, name)
    if as_json:
        shaped = [
            {
                **{k: v for k, v in d.items() if k not in ("Resources",)},
                "StackResources": [
                    {k: r[k] for k in ("LogicalResourceId", "PhysicalResourceId", "ResourceType", "ResourceStatus", "Timestamp")}
                    for r in d.get("Resources", [])
                ],
            }
            for d in documents
        ]
        typer.echo(json.dumps({"Stacks": shaped}, indent=2, default=str))
        return
    if not documents:
        console.print("No stacks: `sluiceway up --template template.yaml` makes one.")
        return
    for document in documents:
        status = document["StackStatus"]
        style = "green" if status.endswith("_COMPLETE") else "red" if "FAILED" in status else "yellow"
        console.print(Text.assemble((document["StackName"], "bold"), " ", (status, style)), highlight=False)
        if document.get("StackStatusReason"):
            console.print(Text.assemble("  ", shown(document["StackStatusReason"])), highlight=False)
        for output in document.get("Outputs", []):
            console.print(Text.assemble("  ", (output["OutputKey"], "bold"), ": ", shown(output["OutputValue"])), highlight=False)
        table = Table(show_lines=False)
        for column in ("logical id", "type", "physical id", "status"):
            table.add_column(column, overflow="fold")
        for row in document.get("Resources", []):
            table.add_row(
                shown(row["LogicalResourceId"]), shown(row["ResourceType"]), shown(row["PhysicalResourceId"]), shown(row["ResourceStatus"])
            )
        console.print(table)
        for warning in document.get("Warnings", []):
            console.print(Text.assemble(("  note: ", "yellow"), shown(warning)), highlight=False)
