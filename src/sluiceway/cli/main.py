"""The ``sluiceway`` command."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.text import Text

from .. import __version__
from ..apps import CSV_WORKFLOW
from ..errors import SluicewayError
from ..ports import ExecutionRecord
from . import alarms, aws, events, health, messaging, runs, sfn, stacks, users
from ._common import EXIT_FAILED, ConfigOption, DataDirOption, console, err_console, fail, report_error, settings_from, shown
from .new import new as new_command

if TYPE_CHECKING:
    from ..runtime.stack import Stack

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
    run: bool = typer.Option(False, "--run", help="Process it now and wait for its run (beside a running `up` too)"),
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Put a file into the input bucket. Its event is committed; `sluiceway up` (or --run) processes it."""
    from ..runtime.uploads import follow
    from ..runtime.uploads import upload as put
    from ..runtime.wiring import running_stack

    settings = settings_from(data_dir, config)
    try:
        uploaded = put(settings, file, key, run=run)
    except SluicewayError as exc:
        report_error(exc)
    if uploaded.stack is not None:
        # No endpoint serves this stack, but its executions' AWS SDK tasks can still call the
        # endpoint's operations in-process (they would wait for the next `up` otherwise).
        from ..endpoint.sdk_tasks import serve_aws_sdk_tasks

        serve_aws_sdk_tasks(uploaded.stack, lambda: settings.endpoint_url)
    try:
        console.print(Text.assemble("uploaded ", shown(f"s3://{settings.input_bucket}/{uploaded.key}", style="bold")))
        if not run:
            console.print("its Object Created event is committed; `sluiceway up` processes it")
            return
        if uploaded.stack is None:
            console.print(Text.assemble(shown(uploaded.runner), " processes it; waiting for its run"))
        followed = follow(settings, uploaded.event, still_running=lambda: uploaded.stack is not None or running_stack(settings) is not None)
        from ..runtime.wiring import open_local_read

        reader = open_local_read(settings)
        try:
            metadata = {r.arn: reader.table.get({"ExecutionId": r.arn}) or {} for r in followed.runs}
        finally:
            reader.close()
        if followed.runs:
            console.print(runs.run_rows(followed.runs, metadata))
        for delivery in followed.undelivered:
            where = f" (it is in the dead-letter queue {settings.dead_letter_queue})" if delivery.status == "dead-lettered" else ""
            err_console.print(
                Text.assemble(
                    ("not run:", "red"),
                    shown(f" the event of {uploaded.key} could not be delivered to rule {delivery.rule}: "),
                    shown(f"{delivery.last_error or delivery.status}{where}"),
                ),
                highlight=False,
            )
        if not followed.matched:
            console.print("no rule matched its event: nothing runs for it")
        if not followed.ok or (followed.matched and not followed.runs and not followed.undelivered):
            raise typer.Exit(EXIT_FAILED)
    finally:
        uploaded.close()


def _key_of(record: ExecutionRecord) -> str | None:
    detail = record.input.get("detail", {}) if isinstance(record.input, dict) else {}
    key = detail.get("object", {}).get("key")
    return str(key) if key is not None else None


@app.command()
def up(
    preset: str | None = typer.Option(
        None,
        "--preset",
        help="Provision csv-fanout or json-records instead of the CSV workflow (rules an earlier stack "
        "provisioned on this data dir stay, as on an AWS account)",
    ),
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
    port: int | None = typer.Option(None, "--port", help="Serve AWS's APIs on this port [default: 4566; 0 picks a free one]"),
    host: str | None = typer.Option(None, "--host", help="Bind this address [default: 127.0.0.1; others require signed requests]"),
    require_auth: bool = typer.Option(
        False, "--require-auth", help="Require SigV4 signatures made with SLUICEWAY_ENDPOINT_ACCESS_KEYS even on the loopback"
    ),
    template: Path | None = typer.Option(
        None, "--template", "-t", help="Run this SAM/CloudFormation template [default: ./template.yaml when there is one]"
    ),
    stack_name: str | None = typer.Option(None, "--stack-name", help="The template's stack name [default: its folder's name]"),
    parameter_overrides: list[str] | None = typer.Option(
        None, "--parameter-overrides", help="Template parameters, KEY=VALUE (repeat, or several separated by spaces)"
    ),
) -> None:
    """Run the local stack until interrupted: files dropped into the input folder are processed, and
    boto3, the AWS CLI and functions reach its services on one AWS-compatible endpoint. With a SAM
    template (--template, or ./template.yaml), the template's resources are made and run instead."""
    from ..endpoint.server import Endpoint
    from ..runtime.bus.router import Undelivered
    from ..runtime.wiring import build_stack
    from .templates import overrides_from, run_template, stack_name_for, workers_for

    if template is None and preset is None:  # sam's names for an app's template, in its order
        template = next((Path(name) for name in ("template.yaml", "template.yml") if Path(name).is_file()), None)
    if template is not None and preset is not None:
        fail("--template and --preset cannot be used together: a template brings its own resources")
    overrides = overrides_from(parameter_overrides or [])
    if preset is not None:
        err_console.print(
            f"note: --preset is deprecated: the example apps replace it (`sluiceway new {preset} DIR`, then "
            "`sluiceway up --template DIR/template.yaml`)",
            highlight=False,
            markup=False,
        )

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # from here on a stop is orderly
    settings = settings_from(data_dir, config)
    updates = {"endpoint_port": port, "endpoint_host": host, "endpoint_require_auth": require_auth or None}
    settings = settings.model_copy(update={k: v for k, v in updates.items() if v is not None})
    if settings.endpoint_port == 0:  # functions must know the port before their workers start
        settings = settings.model_copy(update={"endpoint_port": _free_port(settings.endpoint_host)})
    try:
        access_keys = settings.access_keys()
    except ValueError as exc:
        fail(str(exc))
    if template is not None:
        settings = settings.model_copy(update={"workers": workers_for(template, settings.workers)})
    try:
        stack = build_stack(settings, app=None if template is not None else preset or CSV_WORKFLOW)
    except SluicewayError as exc:
        report_error(exc)
    except ValueError as exc:
        fail(str(exc))

    def ended(record: ExecutionRecord) -> None:
        style = "green" if record.status == "SUCCEEDED" else "red"
        console.print(
            Text.assemble(
                (record.status, style), shown(f" {_key_of(record)} ({record.name})" + (f": {record.error}" if record.error else ""))
            ),
            highlight=False,
        )

    def undelivered(failure: Undelivered) -> None:
        where = f" (in the dead-letter queue {failure.dead_letter.rsplit(':', 1)[-1]})" if failure.dead_letter else ""
        console.print(
            Text.assemble(
                ("NOT RUN", "red"), shown(f" an event for rule {failure.delivery.rule} could not be delivered: {failure.error}{where}")
            ),
            highlight=False,
        )

    stack.orchestrator.on_change(ended)
    stack.router.on_undelivered(undelivered)
    try:
        stack.start("sluiceway up")
    except SluicewayError as exc:
        stack.close()
        report_error(exc)
    try:
        endpoint = Endpoint(
            stack,
            host=settings.endpoint_host,
            port=settings.endpoint_port,
            require_auth=settings.endpoint_require_auth,
            access_keys=access_keys,
        )
        if template is not None:  # health says 503 until the template's resources are made
            endpoint.starting = "making the template's resources"
        endpoint.start()
    except (OSError, ValueError) as exc:
        stack.close()
        fail(f"the endpoint cannot serve on {settings.endpoint_host}:{settings.endpoint_port}: {exc}")
    try:
        stack.watch()
        if template is not None:
            name = stack_name or stack_name_for(template)
            if not run_template(endpoint, template, name, overrides):
                raise typer.Exit(EXIT_FAILED)
        else:
            folder = stack.settings.buckets_dir / stack.settings.input_bucket
            hint = " (or `sluiceway upload FILE`). Ctrl-C stops."
            console.print(Text.assemble("Sluiceway is up. Drop files into ", shown(folder, style="bold"), hint))
        auth = ", signed requests only" if endpoint.require_auth else ""
        console.print(Text.assemble("AWS endpoint: ", (endpoint.url, "bold"), f" (AWS_ENDPOINT_URL{auth})"), highlight=False)
        if settings.api_enabled:
            _announce_api(stack, endpoint.url)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        console.print("stopping…")
        endpoint.close()
        stack.close()


def _announce_api(stack: Stack, url: str) -> None:
    """Where the management API and the console are, and how to get a token for them (its user pool is made on first start)."""
    pools = stack.local.user_pools
    default = pools.default_pool()
    console.print(Text.assemble("Management API: ", (f"{url}/_sluiceway/api", "bold"), f" (user pool {default.pool_id})"), highlight=False)
    console.print(Text.assemble("Console: ", (f"{url}/_sluiceway/console", "bold"), " (sign in as a user of that pool)"), highlight=False)
    if not pools.list_users(default.pool_id):
        console.print(
            "no users yet: `sluiceway users add NAME --group admin`, then sign in to the console, "
            "or `sluiceway token NAME` for a bearer token",
            highlight=False,
        )


def _free_port(host: str) -> int:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


@app.command()
def demo(
    name: str | None = typer.Argument(None, metavar="APP", help="csv-workflow (default), csv-fanout, json-records or api-workflow"),
    app_name: str | None = typer.Option(None, "--app", help="The example app to run (the same as APP)"),
    preset: str | None = typer.Option(None, "--preset", help="Deprecated: the same as APP"),
    data_dir: Path | None = DataDirOption,
    timeout: float | None = typer.Option(
        None, "--timeout", help="Give up after this many seconds (default: 600 for csv-workflow, 60 for api-workflow, 120 for the others)"
    ),
    scale: float = typer.Option(1.0, "--scale", min=0.001, help="Multiply the sizes of the generated sample CSVs"),
) -> None:
    """Run an example app end to end on sample data (the CSV workflow by default) and print what it did;
    exit 0 if everything ended as expected. The demo's data dir is DATA_DIR/demos/APP, emptied first."""
    from .demo import DEFAULT_APP, run_demo

    if preset is not None:
        err_console.print(Text.assemble("note: --preset is deprecated; run ", shown(f"sluiceway demo {preset}")), highlight=False)
    chosen = {given for given in (name, app_name, preset) if given is not None}
    if len(chosen) > 1:
        fail(f"one app at a time: {', '.join(sorted(chosen))}")
    settings = settings_from(data_dir)
    raise typer.Exit(run_demo(settings, chosen.pop() if chosen else DEFAULT_APP, timeout=timeout, scale=scale))


app.command()(health.health)
users.register(app)

# Command groups and the AWS commands come after the everyday ones in --help.
app.add_typer(sfn.app, name="sfn")
app.add_typer(runs.app, name="runs")
app.add_typer(events.app, name="events")
app.add_typer(events.rules_app, name="rules")
app.add_typer(stacks.app, name="stack")
app.add_typer(alarms.app, name="alarms")
app.command(name="new")(new_command)
for _command in (aws.template, aws.package, aws.deploy, aws.cost):
    app.command()(_command)
messaging.register(app)


def main() -> None:
    app()
