"""Composite alarms in the local CloudWatch store, on a FakeClock: actions held back by their
suppressor (wait period, suppressor in ALARM, extension period) and run when the period ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sluiceway.backends.local.datadir import LocalDataDir, open_data_dir
from sluiceway.clock import FakeClock
from sluiceway.runtime.alarms import AlarmEvaluator
from sluiceway.settings import Settings

START = datetime(2026, 5, 12, 1, 0, 30, tzinfo=UTC)
CHILD = {"Namespace": "Shop", "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 1.0}


def setup(tmp_path: Path, clock: FakeClock) -> tuple[LocalDataDir, str]:
    local = open_data_dir(Settings.load(data_dir=tmp_path / "data"), clock)
    cloudwatch = local.cloudwatch
    for name in ("errors", "maintenance"):
        cloudwatch.put_alarm({"AlarmName": name, "MetricName": name, "ComparisonOperator": "GreaterThanThreshold", **CHILD})
    topic = local.topics.create_topic("pager").arn
    cloudwatch.put_composite_alarm(
        {
            "AlarmName": "shop-down",
            "AlarmRule": "ALARM(errors)",
            "AlarmActions": [topic],
            "ActionsSuppressor": "maintenance",
            "ActionsSuppressorWaitPeriod": 60,
            "ActionsSuppressorExtensionPeriod": 120,
        }
    )
    return local, topic


def sent(local: LocalDataDir) -> list[str]:
    return [json.loads(m.message)["NewStateValue"] for m in local.topics.published("pager")]


def test_the_wait_period_holds_the_actions_then_runs_them(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local, _ = setup(tmp_path, clock)
    cloudwatch = local.cloudwatch
    cloudwatch.transition("errors", "ALARM", "errors")
    held = cloudwatch.must_composite("shop-down")
    assert (held.state, held.suppressed_by, held.suppressed_reason) == ("ALARM", "WaitPeriod", "Actions suppressed by WaitPeriod")
    assert sent(local) == []
    clock.advance(59)
    assert cloudwatch.release_suppressions() == 0 and sent(local) == []
    clock.advance(1)
    assert cloudwatch.release_suppressions() == 1
    assert sent(local) == ["ALARM"] and cloudwatch.must_composite("shop-down").suppressed_by is None
    local.close()


def test_the_suppressor_in_alarm_then_its_extension_period(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local, _ = setup(tmp_path, clock)
    cloudwatch = local.cloudwatch
    cloudwatch.transition("errors", "ALARM", "errors")
    clock.advance(30)
    cloudwatch.transition("maintenance", "ALARM", "deploying")  # within the wait: suppressed
    assert cloudwatch.must_composite("shop-down").suppressed_by == "Alarm"
    clock.advance(3600)
    assert cloudwatch.release_suppressions() == 0 and sent(local) == []
    cloudwatch.transition("maintenance", "OK", "deployed")
    assert cloudwatch.must_composite("shop-down").suppressed_by == "ExtensionPeriod"
    clock.advance(119)
    assert cloudwatch.release_suppressions() == 0
    clock.advance(1)
    assert cloudwatch.release_suppressions() == 1
    assert sent(local) == ["ALARM"]  # still in ALARM when the extension ended: its actions run

    # Back to OK during a later suppression and the held ALARM actions never run.
    cloudwatch.transition("errors", "OK", "fine")
    assert sent(local) == ["ALARM"]  # no OK actions configured
    cloudwatch.transition("maintenance", "ALARM", "deploying")
    cloudwatch.transition("errors", "ALARM", "errors")
    cloudwatch.transition("errors", "OK", "fine again")
    cloudwatch.transition("maintenance", "OK", "deployed")
    clock.advance(120)
    assert cloudwatch.release_suppressions() == 1 and sent(local) == ["ALARM"]
    local.close()


def test_no_wait_period_runs_the_actions_at_once(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local, topic = setup(tmp_path, clock)
    cloudwatch = local.cloudwatch
    # Its creation's move to OK waits too (no OK actions to run when the wait ends).
    assert cloudwatch.must_composite("shop-down").suppressed_by == "WaitPeriod"
    clock.advance(60)
    assert cloudwatch.release_suppressions() == 1 and sent(local) == []
    definition = dict(cloudwatch.must_composite("shop-down").definition, ActionsSuppressorWaitPeriod=0)
    cloudwatch.put_composite_alarm(definition)
    cloudwatch.transition("errors", "ALARM", "errors")
    assert sent(local) == ["ALARM"] and cloudwatch.must_composite("shop-down").suppressed_by is None
    history = [h.summary for h in cloudwatch.history(alarm="shop-down", alarm_types=("CompositeAlarm",), newest_first=False)]
    assert history[-1] == f"Successfully executed action {topic}"
    local.close()


def notes(local: LocalDataDir) -> list[dict[str, Any]]:
    return [json.loads(m.message) for m in local.topics.published("pager")]


def test_held_actions_name_the_change_that_triggered_them_not_set_alarm_states_reason_data(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local, _ = setup(tmp_path, clock)
    cloudwatch = local.cloudwatch
    clock.advance(60)
    assert cloudwatch.release_suppressions() == 1  # the creation's move to OK
    # SetAlarmState's reason data is any JSON the caller chose: it names no triggering children.
    cloudwatch.transition("shop-down", "ALARM", "by hand", json.dumps({"runbook": ["step 1"]}))
    assert cloudwatch.must_composite("shop-down").suppressed_by == "WaitPeriod"
    clock.advance(60)
    assert cloudwatch.release_suppressions() == 1
    assert [(n["NewStateValue"], n["TriggeringChildren"]) for n in notes(local)] == [("ALARM", [])]
    assert [c.name for c in cloudwatch.composites()] == ["shop-down"]

    # A held change of the rule names its child when the wait ends.
    cloudwatch.transition("shop-down", "OK", "by hand again", json.dumps(["not", "an", "object"]))
    clock.advance(60)
    cloudwatch.release_suppressions()
    cloudwatch.transition("errors", "ALARM", "errors")
    clock.advance(60)
    assert cloudwatch.release_suppressions() == 1
    last = notes(local)[-1]
    assert last["NewStateValue"] == "ALARM"
    assert [child["Arn"] for child in last["TriggeringChildren"]] == [cloudwatch.alarm_arn("errors")]
    local.close()


class UnreleasableStore:
    """The store, but its suppressions cannot be released (a row it cannot read)."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)

    def release_suppressions(self) -> int:
        raise ValueError("a held action that cannot be read")


def test_a_suppression_that_cannot_be_released_does_not_stop_the_alarms_being_evaluated(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local, _ = setup(tmp_path, clock)
    cloudwatch = local.cloudwatch
    definition = dict(cloudwatch.must_alarm("errors").definition, TreatMissingData="breaching")
    cloudwatch.put_alarm(definition)
    evaluator = AlarmEvaluator(UnreleasableStore(cloudwatch), clock)
    assert evaluator.turn() >= 1
    assert cloudwatch.must_alarm("errors").state == "ALARM"
    local.close()
