"""Composite alarms in the local CloudWatch store, on a FakeClock: actions held back by their
suppressor (wait period, suppressor in ALARM, extension period) and run when the period ends."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sluiceway.backends.local.datadir import LocalDataDir, open_data_dir
from sluiceway.clock import FakeClock
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
