"""``sluiceway demo [APP]``: an example app made into a stack from its template and run end to end on sample data."""

from __future__ import annotations

from pathlib import Path

from click.testing import Result
from typer.testing import CliRunner

from sluiceway.backends.local.stacklock import StackLock
from sluiceway.cli.main import app

runner = CliRunner()
WIDE = {"COLUMNS": "250"}


def _output(result: Result) -> str:
    return f"{result.stdout[-4000:]}\n{result.stderr[-3000:]}"


def test_the_default_demo_runs_the_csv_workflow_app_on_every_sample(tmp_path: Path) -> None:
    # Wide enough that no reason wraps inside its cell.
    result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--scale", "0.02"], env={"COLUMNS": "500"})
    assert result.exit_code == 0, _output(result)
    assert "everything ended as expected" in result.stdout
    for name in ("sales-small.csv", "sales-large.csv", "sales-with-bad-rows.csv", "sales-broken.csv", "sales-wrong-header.csv"):
        assert name in result.stdout
    assert "contains NUL bytes" in result.stdout  # the broken file's run failed, with its reason
    assert "the header does not match the schema" in result.stdout
    assert "notifications: 6 published" in result.stdout  # one per run, succeeded or failed
    # The example's own files ran (template, ASL file, pipeline config), copied into the demo's data dir.
    copied = tmp_path / "demos" / "csv-workflow" / "app"
    for path in ("template.yaml", "statemachine/data_processing.asl.json", "functions/sluiceway-pipeline.yaml"):
        assert (copied / path).is_file(), path
    assert not (tmp_path / "buckets").exists()  # nothing outside demos/csv-workflow


def test_json_records_runs_twice_on_one_data_dir(tmp_path: Path) -> None:
    for attempt in (1, 2):  # each demo starts afresh: the first run's items and messages do not count twice
        result = runner.invoke(app, ["demo", "json-records", "--data-dir", str(tmp_path)], env=WIDE)
        assert result.exit_code == 0, f"attempt {attempt}:\n{_output(result)}"
        assert "everything ended as expected" in result.stdout
        assert "New file processed: incoming/2024/no-id.json" in result.stdout


def test_csv_fanout_dead_letters_its_poison_message(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--app", "csv-fanout", "--data-dir", str(tmp_path), "--scale", "0.1"], env=WIDE)
    assert result.exit_code == 0, _output(result)
    assert "poison messages in the dead-letter queue" in result.stdout
    assert "everything ended as expected" in result.stdout


def test_preset_is_a_deprecated_name_for_the_app(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--preset", "json-records", "--data-dir", str(tmp_path)], env=WIDE)
    assert result.exit_code == 0, _output(result)
    assert "--preset is deprecated" in result.stderr and "sluiceway demo json-records" in result.stderr
    assert "Demo: json-records" in result.stdout


def test_an_unknown_app_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "nope", "--data-dir", str(tmp_path)], env=WIDE)
    assert result.exit_code == 2
    assert "no demo for app 'nope'" in result.stderr and "csv-workflow, csv-fanout, json-records" in result.stderr
    assert not (tmp_path / "demos").exists()


def test_two_different_apps_are_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "csv-fanout", "--preset", "json-records", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "one app at a time" in result.stderr


def test_a_stack_running_on_the_demo_s_data_dir_is_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "demos" / "json-records"
    lock = StackLock(folder)
    lock.acquire("sluiceway up")
    (folder / "keep.txt").write_text("the running stack's")
    try:
        result = runner.invoke(app, ["demo", "json-records", "--data-dir", str(tmp_path)])
    finally:
        lock.release()
    assert result.exit_code == 2
    assert "a stack is running on" in result.stderr and "sluiceway up" in result.stderr
    assert (folder / "keep.txt").read_text() == "the running stack's"  # nothing was emptied


def test_runs_that_have_not_ended_by_the_timeout_fail_the_demo(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path), "--scale", "0.01", "--timeout", "0"], env={"COLUMNS": "500"})
    assert result.exit_code == 1, _output(result)
    assert "something did not end as expected" in result.stdout
    assert "NO" in result.stdout


def test_a_demo_folder_that_is_a_link_is_not_emptied(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep me")
    (tmp_path / "data" / "demos").mkdir(parents=True)
    (tmp_path / "data" / "demos" / "json-records").symlink_to(elsewhere)
    result = runner.invoke(app, ["demo", "json-records", "--data-dir", str(tmp_path / "data")], env=WIDE)
    assert result.exit_code == 2
    assert "is a link" in result.stderr
    assert (elsewhere / "precious.txt").read_text() == "keep me"
