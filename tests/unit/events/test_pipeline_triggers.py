"""Pipelines are configured by EventBridge pattern: both seed rules are expressible in a pipeline config."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sluiceway.apps.builtin import trigger_pattern
from sluiceway.config import packaged_config_path, parse_config
from sluiceway.events.envelope import object_created
from sluiceway.events.patterns import compile_pattern


def s3_event(key: str, bucket: str = "sluiceway-input") -> dict[str, object]:
    return object_created(
        bucket=bucket,
        key=key,
        size=10,
        etag="e",
        sequencer="01",
        event_id="id",
        request_id="r",
        time=datetime(2026, 1, 1, tzinfo=UTC),
        region="us-east-1",
        account="111111111111",
    )


def config_with_trigger(trigger_yaml: str) -> str:
    text = packaged_config_path().read_text(encoding="utf-8")
    start = text.index("trigger:")
    end = text.index("\ncsv:")
    return text[:start] + trigger_yaml + text[end:]


@pytest.mark.parametrize(
    ("trigger", "matching", "not_matching"),
    [
        (  # seed 000/001: ObjectCreated events for .csv files
            "trigger:\n  source: [aws.s3]\n  detail-type: [Object Created]\n  detail:\n    object:\n      key: [{suffix: .csv}]\n",
            ["sales.csv", "a/b/c.csv"],
            ["sales.json", "sales.csv.gz", "sales.CSV"],
        ),
        (  # seed 002: prefix incoming/ and suffix .json, both required
            "trigger:\n  source: [aws.s3]\n  detail-type: [Object Created]\n"
            "  detail:\n    object:\n      key: [{wildcard: 'incoming/*.json'}]\n",
            ["incoming/a.json", "incoming/2024/b.json"],
            ["a.json", "other/incoming/a.json", "incoming/a.csv", "incoming/a.json.bak"],
        ),
    ],
)
def test_seed_rules_from_a_pipeline_config(trigger: str, matching: list[str], not_matching: list[str]) -> None:
    config = parse_config(config_with_trigger(trigger), source="pipeline.yaml")
    pattern = compile_pattern(trigger_pattern(config.trigger, "sluiceway-input"))
    for key in matching:
        assert pattern.matches(s3_event(key)), key
    for key in not_matching:
        assert not pattern.matches(s3_event(key)), key
    assert not pattern.matches(s3_event(matching[0], bucket="someone-else")), "scoped to the input bucket"


def test_an_invalid_trigger_is_refused_at_load_with_its_line() -> None:
    from sluiceway.errors import ConfigError

    text = config_with_trigger("trigger:\n  detail:\n    object:\n      key: [{suffix: 5}]\n")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, source="pipeline.yaml")
    message = str(caught.value)
    assert "pipeline.yaml:" in message and "trigger" in message and "EventBridge pattern" in message
