"""One stack per data dir: a second ``up`` refuses, ``upload --run`` beside a running stack works, odd names run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.backends.local.queues import SqliteQueueService
from sluiceway.cli.main import app
from sluiceway.clock import SystemClock
from sluiceway.events.patterns import compile_pattern
from sluiceway.events.rules import Rule, Target

runner = CliRunner()

HEADER = "order_id,order_date,region,product,quantity,unit_price,customer_email"
ROWS = "".join(f"{i},2024-01-02,north,Lamp,2,9.99,c{i}@example.com\n" for i in range(1, 6))


@pytest.fixture
def running_up(tmp_path: Path) -> Iterator[tuple[Path, subprocess.Popen[str]]]:
    """``sluiceway up`` in a process of its own, until the test ends (then SIGTERM, as a service manager stops it)."""
    data = tmp_path / "data"
    env = {**os.environ, "SLUICEWAY_WORKERS": "1", "COLUMNS": "200", "SLUICEWAY_ENDPOINT_PORT": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from sluiceway.cli.main import main; main()", "up", "--data-dir", str(data)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:  # blocks until the stack says it is up (or the process ends)
        lines.append(line)
        if "Sluiceway is up" in line:
            break
    else:
        raise AssertionError("sluiceway up did not start:\n" + "".join(lines))
    try:
        yield data, proc
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out


def test_a_second_up_refuses_and_names_the_data_dir_and_the_running_one(running_up: tuple[Path, subprocess.Popen[str]]) -> None:
    data, proc = running_up
    second = runner.invoke(app, ["up", "--data-dir", str(data), "--port", "0"], env={"COLUMNS": "300"})
    assert second.exit_code == 1
    message = " ".join(second.stderr.split())
    assert "another Sluiceway stack is running on" in message and str(data.resolve()) in message.replace(" ", "")
    assert f"pid {proc.pid}" in message and "sluiceway up" in message


def test_upload_run_beside_a_running_stack_waits_for_that_stack_to_run_it(
    running_up: tuple[Path, subprocess.Popen[str]], tmp_path: Path
) -> None:
    data, proc = running_up
    csv = tmp_path / "Müller.csv"
    csv.write_text(HEADER + "\n" + ROWS, encoding="utf-8")
    result = runner.invoke(app, ["upload", str(csv), "--run", "--data-dir", str(data)], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"pid {proc.pid}" in " ".join(result.stdout.split())
    assert "SUCCEEDED" in result.stdout and "Müller.csv" in result.stdout


@pytest.mark.parametrize("name", ["Müller.csv", "销售.csv", "données.csv", "weird name; [1] $x.csv"])
def test_a_file_named_with_any_letters_runs(tmp_path: Path, name: str) -> None:
    csv = tmp_path / name
    csv.write_text(HEADER + "\n" + ROWS, encoding="utf-8")
    result = runner.invoke(app, ["upload", str(csv), "--run", "--data-dir", str(tmp_path / "data")], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "SUCCEEDED" in result.stdout


def test_an_event_that_cannot_be_delivered_is_dead_lettered_and_upload_run_fails(tmp_path: Path) -> None:
    data = tmp_path / "data"
    csv = tmp_path / "orders.csv"
    csv.write_text(HEADER + "\n" + ROWS, encoding="utf-8")
    assert runner.invoke(app, ["upload", str(csv), "--key", "first.csv", "--data-dir", str(data)]).exit_code == 0
    # A second rule for the same files, whose state machine does not exist (deleted, say).
    db = Database(data / "sluiceway.db")
    try:
        queues = SqliteQueueService(db, SystemClock())
        queues.create_queue("missing-dlq")
        bus = SqliteEventBus(db, SystemClock())
        target = Target(
            "gone",
            "arn:aws:states:us-east-1:111111111111:stateMachine:Deleted",
            dead_letter_arn=queues.queue_arn("missing-dlq"),
        )
        pattern = compile_pattern({"source": ["aws.s3"], "detail": {"bucket": {"name": ["sluiceway-input"]}}})
        bus.put_rule(Rule("to-a-deleted-machine", pattern, (target,)))
    finally:
        db.close()
    result = runner.invoke(app, ["upload", str(csv), "--run", "--data-dir", str(data)], env={"COLUMNS": "250"})
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "SUCCEEDED" in result.stdout  # the pipeline's own rule ran it
    message = " ".join(result.stderr.split())
    assert "could not be delivered to rule to-a-deleted-machine" in message and "Deleted" in message
    db = Database(data / "sluiceway.db")
    try:
        dead = SqliteQueueService(db, SystemClock()).peek("missing-dlq")
    finally:
        db.close()
    # Both events of the input bucket: the one waiting since the first upload, and this one.
    assert sorted(json.loads(m.body)["detail"]["object"]["key"] for m in dead) == ["first.csv", "orders.csv"]
    assert {m.attributes["ERROR_CODE"] for m in dead} == {"RESOURCE_NOT_FOUND"}
