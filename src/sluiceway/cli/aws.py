"""``sluiceway template | package | deploy | cost``: the pipeline on AWS.

Each command is a plain function registered on :data:`app`; the main command
line registers the same functions as top-level commands.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from ..errors import SluicewayError
from ._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    ConfigOption,
    DataDirOption,
    console,
    err_console,
    fail,
    report_error,
    settings_from,
)

if TYPE_CHECKING:
    from ..config import PipelineConfig
    from ..deploy.usage import RunUsage
    from ..settings import Settings

__all__ = ["app", "cost", "deploy", "package", "template"]

app = typer.Typer(
    help="Deploy the pipeline to AWS and estimate what it costs there.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

_DEFAULT_BUNDLE = Path("build/lambda")
_DEFAULT_BUCKETS = ("sluiceway-input", "sluiceway-output")


def _relative_to(target: Path, folder: Path) -> str:
    try:
        return Path(os.path.relpath(target.resolve(), folder.resolve())).as_posix()
    except ValueError:
        return target.resolve().as_posix()


def _pipeline(settings: Settings) -> PipelineConfig:
    from ..config import load_config, packaged_config_path

    path = settings.pipeline_config or packaged_config_path()
    try:
        return load_config(path)
    except SluicewayError as exc:
        report_error(exc)


@app.command()
def template(
    out: Path = typer.Option(
        Path("template.yaml"), "--out", "-o", help="Where to write the SAM template"
    ),
    bundle: Path = typer.Option(
        _DEFAULT_BUNDLE, "--bundle", help="The Lambda bundle folder `sluiceway package` builds"
    ),
    concurrent_runs: int = typer.Option(
        10,
        "--concurrent-runs",
        min=0,
        help="Files processed at once; reserves Lambda concurrency for them (0: reserve none)",
    ),
    log_retention_days: int = typer.Option(
        365, "--log-retention-days", min=1, help="CloudWatch Logs retention"
    ),
    management_api: bool = typer.Option(
        True,
        "--management-api/--no-management-api",
        help="Include Sluiceway's management API (a Lambda behind an HttpApi with a Cognito JWT authorizer)",
    ),
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Generate the AWS SAM template from the pipeline config and the SLUICEWAY_* settings."""
    from ..deploy.template import TemplateOptions, write_template

    settings = settings_from(data_dir, config)
    pipeline = _pipeline(settings)
    options = TemplateOptions(
        code_uri=_relative_to(bundle, out.parent),
        concurrent_runs=concurrent_runs or None,
        log_retention_days=log_retention_days,
        management_api=management_api,
    )
    try:
        written = write_template(settings, pipeline, out, options=options)
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror}")
    console.print(
        f"wrote [bold]{written.path}[/bold]: {written.resources} resources for pipeline {pipeline.name}"
    )
    if settings.input_bucket in _DEFAULT_BUCKETS or settings.output_bucket in _DEFAULT_BUCKETS:
        err_console.print(
            "[yellow]warning:[/yellow] bucket names are global across AWS accounts; set SLUICEWAY_INPUT_BUCKET and "
            "SLUICEWAY_OUTPUT_BUCKET to names of your own before deploying"
        )
    from ..deploy.package import MANIFEST_NAME

    if not (bundle / MANIFEST_NAME).exists():
        console.print(
            f"next: [bold]sluiceway package --out {bundle}[/bold]"
            + (f" --config {config}" if config else "")
        )


@app.command()
def package(
    out: Path = typer.Option(_DEFAULT_BUNDLE, "--out", "-o", help="The bundle folder (replaced)"),
    make_zip: bool = typer.Option(False, "--zip", help="Also write <out>.zip (deterministic)"),
    with_boto3: bool = typer.Option(
        False, "--with-boto3", help="Bundle boto3 instead of using the Lambda runtime's"
    ),
    index_url: str | None = typer.Option(None, "--index-url", help="A PyPI mirror to install from"),
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Build the Lambda bundle: Sluiceway, its runtime dependencies for Lambda (CPython 3.12, x86_64) and the pipeline config."""
    from ..deploy.package import LAMBDA_UNZIPPED_LIMIT, build_bundle

    settings = settings_from(data_dir, config)
    console.print(
        "installing the runtime dependencies for Lambda (python3.12, manylinux x86_64)..."
    )
    try:
        bundle = build_bundle(
            out, settings, make_zip=make_zip, with_boto3=with_boto3, index_url=index_url
        )
    except SluicewayError as exc:
        report_error(exc)
    table = Table(show_header=False, box=None)
    table.add_row("bundle", str(bundle.path))
    table.add_row("files", str(bundle.files))
    table.add_row(
        "unzipped",
        f"{bundle.size_bytes / 2**20:.1f} MiB (Lambda limit with layers: {LAMBDA_UNZIPPED_LIMIT // 2**20} MiB)",
    )
    if bundle.zip_path is not None and bundle.zip_bytes is not None:
        table.add_row("zip", f"{bundle.zip_path} {bundle.zip_bytes / 2**20:.1f} MiB")
    table.add_row("requirements", ", ".join(bundle.requirements))
    console.print(table)
    for warning in bundle.warnings:
        err_console.print(f"[yellow]warning:[/yellow] {warning}")


@app.command()
def deploy(
    template_file: Path = typer.Option(
        Path("template.yaml"), "--template", "-t", help="The template `sluiceway template` wrote"
    ),
    stack_name: str | None = typer.Option(
        None, "--stack-name", help="CloudFormation stack [default: sluiceway-<pipeline>]"
    ),
    region: str | None = typer.Option(
        None, "--region", help="AWS region [default: SLUICEWAY_REGION]"
    ),
    email: str | None = typer.Option(
        None, "--email", help="Subscribe this address to run notifications"
    ),
    alarm_email: str | None = typer.Option(
        None, "--alarm-email", help="Subscribe this address to alarms"
    ),
    skip_build: bool = typer.Option(
        False, "--skip-build", help="Deploy the bundle as it is, without `sam build`"
    ),
    use_container: bool = typer.Option(
        False, "--use-container", help="`sam build --use-container` (Docker)"
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Check and print the commands without running them"
    ),
    parameter_overrides: list[str] | None = typer.Option(
        None, "--parameter-overrides", help="Template parameters, KEY=VALUE (repeat), as `up --template` takes them"
    ),
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Deploy with the AWS SAM CLI: `sam build`, then a non-interactive `sam deploy`.

    The template is the one `sluiceway template` wrote, or any app's SAM template (the one
    `up --template` runs locally): the same file deploys unchanged."""
    from ..deploy.sam import declared_parameters, default_home, deploy_commands, preflight, template_capabilities, template_metadata
    from .templates import overrides_from, stack_name_for

    settings = settings_from(data_dir, config)
    check = preflight(
        template_file,
        env=os.environ,
        home=default_home(),
        build=not skip_build,
        use_container=use_container,
    )
    meta = template_metadata(template_file)
    if meta:  # the pipeline's own template (`sluiceway template`)
        name = stack_name or "sluiceway-" + "".join(c if c.isalnum() else "-" for c in str(meta.get("Pipeline", "pipeline")))
    else:  # an app's template: named as `up --template` names it locally
        name = stack_name or stack_name_for(template_file)
    # --email and --alarm-email fill the parameters of those names, where the template has them.
    declared = declared_parameters(template_file)
    parameters = {k: v for k, v in (("NotificationEmail", email), ("AlarmEmail", alarm_email)) if v and k in declared}
    parameters.update(overrides_from(parameter_overrides or []))
    unknown = sorted(set(parameters) - declared)
    if unknown:
        fail(f"--parameter-overrides names no parameter of {template_file}: {', '.join(unknown)}")
    try:
        plan = deploy_commands(
            template_file,
            sam=check.sam or "sam",
            stack_name=name,
            region=region or settings.region,
            parameters=parameters,
            capabilities=("CAPABILITY_IAM",) if meta else template_capabilities(template_file),
            build=not skip_build,
            use_container=use_container,
        )
    except ValueError as exc:
        fail(str(exc))
    if check.credentials:
        console.print(f"AWS credentials: {check.credentials}")
    if not check.ok:
        err_console.print("[red]cannot deploy yet:[/red]")
        for problem in check.problems:
            err_console.print(f"  - {problem}", highlight=False)
    if dry_run or not check.ok:
        for command in plan.commands:
            console.print(shlex.join(command), highlight=False, markup=False, soft_wrap=True)
        raise typer.Exit(0 if check.ok else EXIT_USAGE)
    for command in plan.commands:
        console.print(f"$ {shlex.join(command)}", highlight=False, markup=False, soft_wrap=True)
        result = subprocess.run(list(command), check=False)
        if result.returncode != 0:
            fail(
                f"`{' '.join(command[:2])}` failed (exit {result.returncode}); its output is above",
                EXIT_FAILED,
            )
    console.print(f"deployed stack [bold]{name}[/bold] in {region or settings.region}")


def _money(value: float) -> str:
    if value == 0:
        return "$0.00"
    if value < 0.01:
        return "<$0.01"
    return f"${value:,.2f}"


def _recorded_runs(settings: Settings) -> list[RunUsage]:
    from ..deploy.usage import measure_local
    from ..runtime.wiring import open_local_read

    if not Path(settings.db_path).exists():
        return []
    reader = open_local_read(settings)
    try:
        return measure_local(reader.executions, reader.table, settings.state_machine_name)
    finally:
        reader.close()


@app.command()
def cost(
    files_per_day: float = typer.Option(
        ..., "--files-per-day", min=0.001, help="Files landing in the input bucket per day"
    ),
    avg_size: str | None = typer.Option(
        None,
        "--avg-size",
        help="Average file size, e.g. 20MB or 1.5GiB [default: the measured runs' average]",
    ),
    prices: Path | None = typer.Option(
        None, "--prices", help="A price table (JSON) [default: the packaged us-east-1 table]"
    ),
    memory_mb: int | None = typer.Option(
        None, "--memory-mb", min=128, help="Lambda memory [default: SLUICEWAY_FUNCTION_MEMORY_MB]"
    ),
    email_subscribers: int = typer.Option(
        1, "--email-subscribers", min=0, help="Email subscriptions on the notification topic"
    ),
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Estimate the monthly AWS bill from the runs recorded locally, for Standard and Express workflows."""
    from ..deploy.cost import Workload, estimate, parse_size
    from ..deploy.prices import load_prices

    settings = settings_from(data_dir, config)
    try:
        size = parse_size(avg_size) if avg_size is not None else None
    except ValueError as exc:
        fail(str(exc))
    try:
        table_prices = load_prices(prices)
    except SluicewayError as exc:
        report_error(exc)
    pipeline = _pipeline(settings)
    runs = _recorded_runs(settings)
    if not runs:
        fail(
            f"no recorded runs of {settings.state_machine_name} in {settings.db_path}: process a few representative files "
            "locally first (`sluiceway upload FILE --run`), then estimate",
            EXIT_USAGE,
        )
    workload = Workload(
        files_per_day=files_per_day,
        avg_size_bytes=size,
        memory_mb=memory_mb or settings.function_memory_mb,
        chunk_size_bytes=pipeline.chunk_size_bytes,
        max_concurrency=pipeline.max_concurrency,
        email_subscribers=email_subscribers,
    )
    result = estimate(runs, workload, table_prices)
    measured = (
        f"{result.measured_avg_bytes / 2**20:.2f} MiB"
        if result.measured_avg_bytes
        else "unknown size"
    )
    target = (
        f"{result.profile.size_bytes / 2**20:.2f} MiB"
        if result.profile.size_bytes
        else "the measured size"
    )
    console.print(
        f"From {result.runs} recorded run(s) ({result.failed_runs} failed; average input {measured}), "
        f"for {files_per_day:g} file(s)/day of {target} ({result.profile.chunks:.3g} chunk(s) on average): "
        f"{result.files_per_month:,.0f} runs per month.",
        highlight=False,
    )
    table = Table(
        title=f"Estimated monthly cost, {table_prices.region} ({table_prices.currency}, prices of {table_prices.retrieved})"
    )
    table.add_column("Service")
    table.add_column("Usage per month")
    table.add_column("Standard", justify="right")
    table.add_column("Express", justify="right")
    for line in result.lines:
        table.add_row(line.service, line.usage, _money(line.standard), _money(line.express))
    table.add_section()
    table.add_row(
        "[bold]Total[/bold]",
        "",
        f"[bold]{_money(result.total_standard)}[/bold]",
        f"[bold]{_money(result.total_express)}[/bold]",
    )
    console.print(table)
    for assumption in result.assumptions:
        console.print(f"  * {assumption}", highlight=False)
