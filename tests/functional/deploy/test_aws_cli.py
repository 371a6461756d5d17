"""``sluiceway template | package | deploy | cost`` through the command line."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
import yaml
from deploy_fakes import FIXED_MS, FakePip, Run, record
from typer.testing import CliRunner

from sluiceway.cli.aws import app
from sluiceway.deploy.package import build_bundle
from sluiceway.deploy.usage import measure_local
from sluiceway.runtime.wiring import open_local_read
from sluiceway.settings import Settings

runner = CliRunner()


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def buckets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLUICEWAY_INPUT_BUCKET", "acme-sales-input")
    monkeypatch.setenv("SLUICEWAY_OUTPUT_BUCKET", "acme-sales-output")


def test_template_writes_the_sam_template(tmp_path: Path, pipeline_file: Path, buckets: None) -> None:
    out = tmp_path / "stack" / "template.yaml"
    code, stdout, stderr = invoke(
        "template", "--out", str(out), "--bundle", str(tmp_path / "build" / "lambda"), "--config", str(pipeline_file)
    )
    assert code == 0, stderr
    assert "39 resources" in stdout and "sluiceway package" in stdout
    doc = yaml.safe_load(out.read_text())
    assert doc["Resources"]["ManagementHttpApi"]["Type"] == "AWS::Serverless::HttpApi"
    assert doc["Metadata"]["Sluiceway"]["CodeUri"] == "../build/lambda"
    assert doc["Resources"]["InputBucket"]["Properties"]["BucketName"] == "acme-sales-input"
    assert "bucket names are global" not in stderr


def test_template_without_the_management_api(tmp_path: Path, pipeline_file: Path, buckets: None) -> None:
    out = tmp_path / "template.yaml"
    code, stdout, stderr = invoke("template", "--out", str(out), "--no-management-api", "--config", str(pipeline_file))
    assert code == 0, stderr
    assert len(yaml.safe_load(out.read_text())["Resources"]) == 28
    assert not [name for name in yaml.safe_load(out.read_text())["Resources"] if name.startswith("Management")]


def test_template_warns_about_the_default_bucket_names(tmp_path: Path, pipeline_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SLUICEWAY_INPUT_BUCKET", raising=False)
    monkeypatch.delenv("SLUICEWAY_OUTPUT_BUCKET", raising=False)
    code, _, stderr = invoke("template", "--out", str(tmp_path / "t.yaml"), "--config", str(pipeline_file), "--concurrent-runs", "0")
    assert code == 0
    assert "bucket names are global" in stderr
    functions = [
        r for r in yaml.safe_load((tmp_path / "t.yaml").read_text())["Resources"].values() if r["Type"] == "AWS::Serverless::Function"
    ]
    assert functions and not [f for f in functions if "ReservedConcurrentExecutions" in f["Properties"]]


def test_template_with_an_invalid_config_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nschema: {columns: []}\n")
    code, _, stderr = invoke("template", "--out", str(tmp_path / "t.yaml"), "--config", str(bad))
    assert code == 2
    assert "invalid pipeline config" in stderr


def test_package_without_a_network_says_so(tmp_path: Path, pipeline_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_FIND_LINKS": "",
        "PIP_EXTRA_INDEX_URL": "",
        "PIP_RETRIES": "1",
        "PIP_TIMEOUT": "2",
    }.items():
        monkeypatch.setenv(name, value)
    code, _, stderr = invoke(
        "package", "--out", str(tmp_path / "lambda"), "--config", str(pipeline_file), "--index-url", "http://127.0.0.1:9/simple"
    )
    assert code == 1
    assert "not reachable" in stderr


def fake_tool(folder: Path, name: str, exit_code: int = 0) -> Path:
    """An executable that records its arguments (one JSON line per call) and exits as told."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    log = folder / f"{name}.calls"
    path.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{log}'\nexit {exit_code}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return log


@pytest.fixture
def deploy_env(tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A generated template, its bundle, fake `sam` and `python3.12` on PATH, and credentials in the environment."""
    build_bundle(tmp_path / "build" / "lambda", settings, requirements=["tinydep"], run=FakePip())
    code, _, stderr = invoke(
        "template",
        "--out",
        str(tmp_path / "template.yaml"),
        "--bundle",
        str(tmp_path / "build" / "lambda"),
        "--config",
        str(settings.pipeline_config),
    )
    assert code == 0, stderr
    bin_dir = tmp_path / "bin"
    fake_tool(bin_dir, "python3.12")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return bin_dir


def test_deploy_without_the_sam_cli_lists_what_is_missing(tmp_path: Path, deploy_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(deploy_env))  # our fakes only: no `sam` anywhere
    code, stdout, stderr = invoke("deploy", "--template", str(tmp_path / "template.yaml"))
    assert code == 2
    assert "cannot deploy yet" in stderr and "`sam`) is not on PATH" in stderr
    assert "sam build" in stdout  # what would run, once it is installed


def test_deploy_runs_sam_build_then_sam_deploy(tmp_path: Path, deploy_env: Path) -> None:
    calls = fake_tool(deploy_env, "sam")
    code, stdout, stderr = invoke(
        "deploy", "--template", str(tmp_path / "template.yaml"), "--email", "ops@example.com", "--region", "eu-west-1"
    )
    assert code == 0, stderr
    build, deploy = calls.read_text().splitlines()
    assert build.startswith("build --template-file") and "--build-dir" in build
    assert deploy.startswith("deploy --template-file") and ".aws-sam/build/template.yaml" in deploy
    assert "--stack-name sluiceway-my-pipeline" in deploy and "--region eu-west-1" in deploy
    assert "--parameter-overrides NotificationEmail=ops@example.com" in deploy
    assert "AWS credentials: env" in stdout and "deployed stack sluiceway-my-pipeline" in stdout


def test_deploy_dry_run_runs_nothing(tmp_path: Path, deploy_env: Path) -> None:
    calls = fake_tool(deploy_env, "sam")
    code, stdout, _ = invoke("deploy", "--template", str(tmp_path / "template.yaml"), "--dry-run", "--skip-build", "--stack-name", "demo")
    assert code == 0
    assert not calls.exists()
    assert "deploy --template-file" in stdout and "--stack-name demo" in stdout and "sam build" not in stdout


def test_a_failing_sam_command_fails_the_deploy(tmp_path: Path, deploy_env: Path) -> None:
    calls = fake_tool(deploy_env, "sam", exit_code=3)
    code, _, stderr = invoke("deploy", "--template", str(tmp_path / "template.yaml"))
    assert code == 1
    assert "failed (exit 3)" in stderr
    assert len(calls.read_text().splitlines()) == 1, "nothing runs after a failed build"


def test_cost_without_recorded_runs_exits_2(tmp_path: Path, settings: Settings) -> None:
    code, _, stderr = invoke(
        "cost", "--files-per-day", "100", "--data-dir", str(settings.data_dir), "--config", str(settings.pipeline_config)
    )
    assert code == 2
    assert "no recorded runs" in stderr


def test_cost_measures_the_recorded_runs(settings: Settings) -> None:
    record(settings, [Run("a.csv", 3 * 2**20), Run("b.csv", 2**20 + 5), Run("bad.csv", 1000, fail=True)])
    reader = open_local_read(settings)
    try:
        runs = {run.name: run for run in measure_local(reader.executions, reader.table, settings.state_machine_name)}
    finally:
        reader.close()
    assert set(runs) == {"run-0", "run-1", "run-2"}
    big = runs["run-0"]
    assert big.status == "SUCCEEDED" and big.chunks == 3 and big.transitions == 8
    assert big.billed_ms == {"ValidateData": 20 + 8 * 3, "ProcessChunk": 3 * 110, "AggregateData": 30, "StoreResults": 40}
    assert big.sns_publishes == 1 and big.input_bytes == 3 * 2**20
    assert big.metadata_item_bytes is not None and big.metadata_item_bytes > 1500
    failed = runs["run-2"]
    assert failed.status == "FAILED" and failed.invocations == {"ValidateData": 1, "ErrorHandler": 1}
    assert failed.billed_ms["ErrorHandler"] == FIXED_MS["ErrorHandler"]

    code, stdout, stderr = invoke(
        "cost",
        "--files-per-day",
        "1000",
        "--avg-size",
        "10MiB",
        "--data-dir",
        str(settings.data_dir),
        "--config",
        str(settings.pipeline_config),
    )
    assert code == 0, stderr
    for service in ("Step Functions", "Lambda", "S3 requests", "DynamoDB", "SNS", "SQS", "EventBridge", "CloudWatch", "Total"):
        assert service in stdout
    assert "From 3 recorded run(s) (1 failed" in stdout and "30,417 runs per month" in stdout
    assert "Standard" in stdout and "Express" in stdout


def test_cost_reads_another_price_table(tmp_path: Path, settings: Settings) -> None:
    record(settings, [Run("a.csv", 2**20)])
    from sluiceway.deploy.prices import default_prices_path

    prices = json.loads(default_prices_path().read_text())
    prices["region"] = "eu-west-1"
    prices["kms"]["key_per_month"] = 1234.0
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(prices))
    code, stdout, _ = invoke(
        "cost",
        "--files-per-day",
        "1",
        "--prices",
        str(path),
        "--data-dir",
        str(settings.data_dir),
        "--config",
        str(settings.pipeline_config),
    )
    assert code == 0
    assert "eu-west-1" in stdout and "$1,234.00" in stdout
    del prices["lambda"]["per_gb_second_x86"]
    path.write_text(json.dumps(prices))
    code, _, stderr = invoke(
        "cost",
        "--files-per-day",
        "1",
        "--prices",
        str(path),
        "--data-dir",
        str(settings.data_dir),
        "--config",
        str(settings.pipeline_config),
    )
    assert code == 2
    assert "lambda.per_gb_second_x86" in stderr


def test_an_apps_template_deploys_unchanged(tmp_path: Path, deploy_env: Path) -> None:
    """The template `up --template` runs locally is the one `sam deploy` gets, named after its folder."""
    from sluiceway.cli.new import copy_example

    app = tmp_path / "orders-app"
    copy_example("csv-fanout", app)
    calls = fake_tool(deploy_env, "sam")
    template = str(app / "template.yaml")
    text = (app / "template.yaml").read_text()
    assert re.search(r"Runtime: python3\.12", text)
    # A Python that is on no machine's PATH: sam build needs each function's Python.
    (app / "template.yaml").write_text(text.replace("Runtime: python3.12", "Runtime: python3.99"))
    code, _, stderr = invoke("deploy", "--template", template)
    assert code == 2 and "needs `python3.99` on PATH" in stderr
    fake_tool(deploy_env, "python3.99")
    code, stdout, stderr = invoke("deploy", "--template", template, "--parameter-overrides", "ConsumerVisibilityTimeout=30")
    assert code == 0, stderr
    build, deploy = calls.read_text().splitlines()
    assert build.startswith(f"build --template-file {template}")
    assert "--stack-name orders-app" in deploy and "--parameter-overrides ConsumerVisibilityTimeout=30" in deploy
    code, _, stderr = invoke("deploy", "--template", template, "--parameter-overrides", "Nope=1", "--dry-run")
    assert code != 0 and "names no parameter" in stderr and "Nope" in stderr
