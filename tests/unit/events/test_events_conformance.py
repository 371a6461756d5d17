"""Every AWS-recorded TestEventPattern answer in the conformance data, against our matcher.

Each case is a pattern and an event as they were sent to AWS (``pattern_text``,
``event_text``) and AWS's answer: match, no match, or the pattern refused with
a message. Outcomes must agree on at least 99% of the cases; the refusal
messages are scored separately.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sluiceway.errors import EventPatternError
from sluiceway.events.patterns import compile_pattern

DATA = Path(__file__).resolve().parents[2] / "fixtures" / "conformance" / "events.jsonl"
REQUIRED_PASS_RATE = 0.99
REQUIRED_MESSAGE_RATE = 0.95


def load_cases() -> list[dict[str, Any]]:
    with DATA.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_case(case: dict[str, Any]) -> tuple[str, str | None]:
    """Our outcome (``match``/``nomatch``/``invalid``) and, if refused, our message."""
    try:
        pattern = compile_pattern(case["pattern_text"])
    except EventPatternError as exc:
        return "invalid", str(exc)
    return ("match" if pattern.matches(json.loads(case["event_text"])) else "nomatch"), None


@pytest.fixture(scope="module")
def results() -> list[tuple[dict[str, Any], str, str | None]]:
    return [(case, *run_case(case)) for case in load_cases()]


def test_the_data_is_all_there(results: list[tuple[dict[str, Any], str, str | None]]) -> None:
    expected = {case["expected"] for case, _, _ in results}
    assert len(results) == 98
    assert expected == {"match", "nomatch", "invalid"}


def test_outcomes_agree_with_aws(
    results: list[tuple[dict[str, Any], str, str | None]], capsys: pytest.CaptureFixture[str]
) -> None:
    failures = [
        f"{case['id']}: AWS said {case['expected']}"
        + (f" ({case['message']})" if case["expected"] == "invalid" else "")
        + f", we said {ours}"
        + (f" ({message})" if message else "")
        for case, ours, message in results
        if ours != case["expected"]
    ]
    rate = 1 - len(failures) / len(results)
    with capsys.disabled():
        print(f"\nevents conformance: {len(results) - len(failures)}/{len(results)} outcomes agree")
    assert rate >= REQUIRED_PASS_RATE, "\n".join(failures)


def test_refusals_give_aws_messages(
    results: list[tuple[dict[str, Any], str, str | None]], capsys: pytest.CaptureFixture[str]
) -> None:
    refused = [(case, message) for case, ours, message in results if case["expected"] == "invalid"]
    wrong = [
        f"{case['id']}:\n    AWS: {case['message']}\n    us:  {message}"
        for case, message in refused
        if message != case["message"]
    ]
    with capsys.disabled():
        print(
            f"\nevents conformance: {len(refused) - len(wrong)}/{len(refused)} "
            "refusal messages identical to AWS's"
        )
    assert 1 - len(wrong) / len(refused) >= REQUIRED_MESSAGE_RATE, "\n".join(wrong)


def test_text_and_mapping_forms_agree(
    results: list[tuple[dict[str, Any], str, str | None]],
) -> None:
    # Cases whose pattern is a JSON object must give the same answer given as a dict.
    for case, ours, message in results:
        if case["pattern"] is None:
            continue
        try:
            pattern = compile_pattern(case["pattern"])
        except EventPatternError as exc:
            assert (ours, message) == ("invalid", str(exc)), case["id"]
            continue
        answer = "match" if pattern.matches(case["event"]) else "nomatch"
        assert answer == ours, case["id"]
