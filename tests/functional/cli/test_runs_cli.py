"""``sluiceway runs`` and error reports print stored values literally: no markup, no terminal escapes."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from sluiceway.cli._common import fail
from sluiceway.cli.main import app
from sluiceway.cli.runs import run_rows, run_summary
from sluiceway.ports import ExecutionRecord

runner = CliRunner()
NASTY_KEY = "[bold]x.csv\x1b]0;owned\x07"
NASTY_REASON = "line 1: \x1b[31mred\x1b[0m\r[link=http://evil]click[/link] \u202eevil"


def render(renderable: object) -> str:
    out = io.StringIO()
    Console(file=out, force_terminal=True, color_system="truecolor", width=400).print(renderable)
    return out.getvalue()


def record(status: str = "FAILED") -> ExecutionRecord:
    return ExecutionRecord(
        arn="arn:x",
        name="run-1",
        state_machine="sm",
        status=status,
        input={"detail": {"object": {"key": NASTY_KEY}}},
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        error="DataError",
        cause=NASTY_REASON + "\nsecond line",
        stopped_at=datetime(2026, 1, 1, 0, 0, 1, tzinfo=UTC),
    )


def assert_literal(output: str) -> None:
    assert "\x1b]" not in output and "\x07" not in output and "\r" not in output and "\u202e" not in output
    assert "\x1b[31mred" not in output  # (Rich styles FAILED with its own sequences)
    assert "[bold]x.csv" in output and "\\x1b]0;owned\\x07" in output


def test_the_run_list_prints_keys_and_reasons_literally() -> None:
    output = render(run_rows([record()], {"arn:x": {"InputKey": NASTY_KEY, "Message": NASTY_REASON}}))
    assert_literal(output)
    assert "\\x1b[31mred\\x1b[0m\\r[link=http://evil]click[/link] \\u202eevil" in output


def test_a_run_summary_prints_error_and_cause_literally() -> None:
    bad = record()
    output = render(run_summary(ExecutionRecord(**{**bad.__dict__, "name": NASTY_KEY})))
    assert_literal(output)
    assert "\\r[link=http://evil]click[/link]" in output and "\nsecond line" in output


def test_error_reports_print_messages_literally(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit):
        fail(f"s3://in/{NASTY_KEY}: {NASTY_REASON}\nnext line")
    err = capsys.readouterr().err
    assert "\x1b]" not in err and "\x07" not in err and "\r" not in err
    assert "[bold]x.csv\\x1b]0;owned\\x07" in err and "[link=http://evil]" in err and "\nnext line" in err


def test_a_failed_run_with_a_hostile_header_and_key_lists_safely(tmp_path: Path) -> None:
    data = tmp_path / "data"
    csv = tmp_path / "hostile.csv"
    csv.write_bytes(b"\x1b]0;owned\x07,[bold]col\n1,2\n")
    runner.invoke(app, ["upload", str(csv), "--key", "[bold]x.csv", "--run", "--data-dir", str(data)], env={"COLUMNS": "300"})
    listing = runner.invoke(app, ["runs", "--data-dir", str(data)], env={"COLUMNS": "300"})
    assert listing.exit_code == 0, listing.stderr
    assert "FAILED" in listing.stdout and "│ [bold]x.csv │" in listing.stdout
    name = next(line.split("│")[1].strip() for line in listing.stdout.splitlines() if "[bold]x.csv" in line)
    shown = runner.invoke(app, ["runs", "show", name, "--data-dir", str(data)], env={"COLUMNS": "300"})
    assert shown.exit_code == 0, shown.stderr
    for output in (listing.stdout, shown.stdout):
        assert "\x1b]" not in output and "\x07" not in output
    # The header's names reached the FAILED record as escaped excerpts; JSON doubles their backslashes.
    assert "unexpected columns \\\\x1b]0;owned\\\\x07, [bold]col" in shown.stdout
