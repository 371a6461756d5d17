"""``sluiceway events test-pattern`` through Typer's test runner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from sluiceway.cli.events import app

runner = CliRunner()

PATTERN = '{"source": ["aws.s3"], "detail": {"object": {"key": [{"suffix": ".csv"}]}}}'
CSV_EVENT = '{"source": "aws.s3", "detail": {"object": {"key": "in/a.csv"}}}'
TXT_EVENT = '{"source": "aws.s3", "detail": {"object": {"key": "in/a.txt"}}}'


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["test-pattern", *args])
    return result.exit_code, result.stdout, result.stderr


def test_match_prints_true() -> None:
    code, out, _ = run("--pattern", PATTERN, "--event", CSV_EVENT)
    assert (code, json.loads(out)) == (0, {"match": True})


def test_no_match_prints_false() -> None:
    code, out, _ = run("--pattern", PATTERN, "--event", TXT_EVENT)
    assert (code, out) == (0, '{"match": false}\n')


def test_reads_files_after_an_at_sign(tmp_path: Path) -> None:
    (tmp_path / "pattern.json").write_text(PATTERN, encoding="utf-8")
    (tmp_path / "event.json").write_text(CSV_EVENT, encoding="utf-8")
    code, out, _ = run(
        "--pattern", f"@{tmp_path / 'pattern.json'}", "--event", f"@{tmp_path / 'event.json'}"
    )
    assert (code, json.loads(out)) == (0, {"match": True})


def test_invalid_pattern_prints_aws_message_and_exits_2() -> None:
    code, out, err = run("--pattern", '{"source": []}', "--event", CSV_EVENT)
    assert code == 2
    assert out == ""
    assert err.strip() == "Event pattern is not valid. Reason: Empty arrays are not allowed"


def test_invalid_json_pattern_gets_aws_parser_message() -> None:
    code, _, err = run("--pattern", "{'bad': 'quotation'}", "--event", CSV_EVENT)
    assert code == 2
    assert err.strip() == (
        "Event pattern is not valid. Reason: Unexpected character (''' (code 39)): "
        "was expecting double-quote to start field name"
    )


def test_bad_event_json_is_explained() -> None:
    code, out, err = run("--pattern", PATTERN, "--event", '{"source": ')
    assert code == 2
    assert out == ""
    assert err.startswith("the event is not valid JSON: Expecting value (line 1, column 12)")


def test_event_must_be_an_object() -> None:
    code, _, err = run("--pattern", PATTERN, "--event", "[1, 2]")
    assert code == 2
    assert "must be a JSON object, not an array" in err


def test_missing_file_is_explained(tmp_path: Path) -> None:
    code, _, err = run("--pattern", f"@{tmp_path / 'nope.json'}", "--event", CSV_EVENT)
    assert code == 2
    assert "cannot read the pattern file" in err and "nope.json" in err


def test_both_options_are_required() -> None:
    code, _, err = run("--pattern", PATTERN)
    assert code == 2
    assert "--event" in err
