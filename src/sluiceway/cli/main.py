"""The ``sluiceway`` command."""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import typer

from .. import __version__
from ..errors import SluicewayError
from ..ports import ExecutionRecord
from . import aws, events, messaging, runs, sfn
from ._common import ConfigOption, DataDirOption, console, fail, report_error, settings_from

app = typer.Typer(
    help="Sluiceway: event-driven data pipelines that run the same code on a laptop and on AWS.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


@app.command()
def init(
    path: Path = typer.Argument(Path("sluiceway.yaml"), help="Where to write the starter pipeline config"),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file"),
) -> None:
    """Write a starter pipeline config with comments."""
    from ..config import STARTER_CONFIG

    if path.exists() and not force:
        fail(f"{path} exists; use --force to overwrite it")
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    console.print(f"wrote {path}: edit it, then run [bold]sluiceway up --config {path}[/bold]")


@app.command()
def upload(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="The file to upload"),
    key: str | None = typer.Option(None, "--key", "-k", help="Object key [default: the file name]"),
    run: bool = typer.Option(False, "--run", help="Process it now, in this process, and wait for the run"),
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Put a file into the input bucket. Its event is committed; `sluiceway up` (or --run) processes it."""
    from ..runtime.wiring import build_stack

    settings = settings_from(data_dir, config)
    try:
        stack = build_stack(settings)
    except SluicewayError as exc:
        report_error(exc)
    try:
        try:
            target = stack.upload(file, key)
        except SluicewayError as exc:
            report_error(exc)
        console.print(f"uploaded [bold]s3://{settings.input_bucket}/{target}[/bold]")
        if not run:
            console.print("its Object Created event is committed; `sluiceway up` processes it")
            return
        stack.start()
        stack.router.deliver_pending()
        stack.orchestrator.wait_all(timeout=None)
        from ..runtime.wiring import open_local_read

        reader = open_local_read(stack.settings)
        try:
            recent = [r for r in reader.executions.list(limit=20) if _key_of(r) == target][:1]
            metadata = {str(i.get("ExecutionId")): i for i in reader.table.scan(limit=200)}
        finally:
            reader.close()
        console.print(runs.run_rows(recent, metadata))
        if recent and recent[0].status != "SUCCEEDED":
            raise typer.Exit(1)
    finally:
        stack.close()


def _key_of(record: ExecutionRecord) -> str | None:
    detail = record.input.get("detail", {}) if isinstance(record.input, dict) else {}
    key = detail.get("object", {}).get("key")
    return str(key) if key is not None else None


@app.command()
def up(
    preset: str | None = typer.Option(None, "--preset", help="csv-fanout or json-records instead of the CSV workflow"),
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Run the local stack until interrupted; files dropped into the input folder are processed."""
    from ..runtime.wiring import build_stack

    settings = settings_from(data_dir, config)
    try:
        stack = build_stack(settings, preset=preset)
    except SluicewayError as exc:
        report_error(exc)
    except ValueError as exc:
        fail(str(exc))
    stop = threading.Event()

    def ended(record: ExecutionRecord) -> None:
        style = "green" if record.status == "SUCCEEDED" else "red"
        console.print(
            f"[{style}]{record.status}[/{style}] {_key_of(record)} ({record.name})" + (f": {record.error}" if record.error else "")
        )

    stack.orchestrator.on_change(ended)
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stack.start()
        stack.watch()
        folder = stack.settings.buckets_dir / stack.settings.input_bucket
        console.print(f"Sluiceway is up. Drop files into [bold]{folder}[/bold] (or `sluiceway upload FILE`). Ctrl-C stops.")
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping…")
        stack.close()


@app.command()
def demo(
    preset: str | None = typer.Option(None, "--preset", help="csv-fanout or json-records instead of the CSV workflow"),
    data_dir: Path | None = DataDirOption,
    timeout: float = typer.Option(600.0, "--timeout", help="Give up after this many seconds"),
) -> None:
    """Create a sample dataset, run every file through the pipeline, print the runs; exit 0 if all ended as expected."""
    from .demo import run_demo, run_preset_demo

    settings = settings_from(data_dir)
    if preset is not None:
        raise typer.Exit(run_preset_demo(settings, preset, timeout=min(timeout, 300.0)))
    raise typer.Exit(run_demo(settings, timeout=timeout))


# Command groups and the AWS commands come after the everyday ones in --help.
app.add_typer(sfn.app, name="sfn")
app.add_typer(runs.app, name="runs")
app.add_typer(events.app, name="events")
app.add_typer(events.rules_app, name="rules")
for _command in (aws.template, aws.package, aws.deploy, aws.cost):
    app.command()(_command)
messaging.register(app)


def main() -> None:
    app()
