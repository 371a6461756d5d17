"""The pipeline's CLI: init, upload --run, runs, runs show (demo: test_demo.py)."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from sluiceway.cli.main import app
from sluiceway.config import load_config

runner = CliRunner()

HEADER = "order_id,order_date,region,product,quantity,unit_price,customer_email"


def test_init_writes_a_valid_commented_config(tmp_path: Path) -> None:
    target = tmp_path / "sluiceway.yaml"
    result = runner.invoke(app, ["init", str(target)])
    assert result.exit_code == 0, result.stderr
    text = target.read_text()
    assert "#" in text and yaml.safe_load(text)["name"]
    load_config(target)  # the starter is itself a valid config
    again = runner.invoke(app, ["init", str(target)])
    assert again.exit_code == 2 and "exists" in again.stderr


def test_upload_run_then_runs_and_show(tmp_path: Path) -> None:
    data = tmp_path / "data"
    csv = tmp_path / "orders.csv"
    csv.write_text(HEADER + "\n1,2024-01-02,north,Lamp,2,9.99,a@example.com\n2,2024-01-02,mars,Lamp,2,9.99,b@example.com\n")
    result = runner.invoke(app, ["upload", str(csv), "--key", "in/orders.csv", "--run", "--data-dir", str(data)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "SUCCEEDED" in result.stdout

    listing = runner.invoke(app, ["runs", "--data-dir", str(data)], env={"COLUMNS": "250"})
    assert listing.exit_code == 0
    assert "in/orders.csv" in listing.stdout and "SUCCEEDED" in listing.stdout

    name = next(line.split("│")[1].strip() for line in listing.stdout.splitlines() if "in/orders.csv" in line)
    shown = runner.invoke(app, ["runs", "show", name, "--data-dir", str(data)], env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.stderr
    for state in ("ValidateData", "ProcessChunks", "AggregateData", "StoreResults", "NotifySuccess"):
        assert state in shown.stdout
    assert '"RowsRejected": 1' in shown.stdout


def test_upload_without_run_keeps_the_event_for_later(tmp_path: Path) -> None:
    data = tmp_path / "data"
    csv = tmp_path / "later.csv"
    csv.write_text(HEADER + "\n1,2024-01-02,north,Lamp,2,9.99,a@example.com\n")
    result = runner.invoke(app, ["upload", str(csv), "--data-dir", str(data)])
    assert result.exit_code == 0
    assert "committed" in result.stdout
    assert (data / "buckets" / "sluiceway-input" / "later.csv").read_text() == csv.read_text()
    empty = runner.invoke(app, ["runs", "--data-dir", str(data)])
    assert "no runs yet" in empty.stdout


def test_upload_rejects_a_dangerous_key(tmp_path: Path) -> None:
    csv = tmp_path / "x.csv"
    csv.write_text(HEADER + "\n")
    result = runner.invoke(app, ["upload", str(csv), "--key", "../escape.csv", "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1
    assert "'..' segment" in result.stderr
    assert not (tmp_path / "data" / "buckets" / "escape.csv").exists()


def test_rules_alone_lists_the_pipeline_rule(tmp_path: Path) -> None:
    data = tmp_path / "data"
    csv = tmp_path / "x.csv"
    csv.write_text(HEADER + "\n")
    assert runner.invoke(app, ["upload", str(csv), "--data-dir", str(data)]).exit_code == 0
    result = runner.invoke(app, ["rules", "--data-dir", str(data)])
    assert result.exit_code == 0, result.stderr
    assert "sales-trigger" in result.stdout and "stateMachine:DataProcessingWorkflow" in result.stdout
