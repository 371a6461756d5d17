"""The local CloudWatch store with its feeds and the alarm evaluator, on a FakeClock: exactly once across
reopening, retention, and an alarm that moves as time passes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sluiceway.backends.local._cw_values import Datum, MetricKey
from sluiceway.backends.local.cloudwatch_feeds import LambdaLogFeed
from sluiceway.backends.local.datadir import LocalDataDir, open_data_dir
from sluiceway.clock import FakeClock
from sluiceway.runtime.alarms import AlarmEvaluator, parse_emf
from sluiceway.settings import Settings

START = datetime(2026, 5, 12, 1, 0, 30, tzinfo=UTC)
ERRORS = MetricKey("AWS/Lambda", "Errors", (("FunctionName", "resize"),))


def open_local(tmp_path: Path, clock: FakeClock) -> LocalDataDir:
    return open_data_dir(Settings.load(data_dir=tmp_path / "data"), clock)


def invocation(local: LocalDataDir, clock: FakeClock, request_id: str, *, fail: bool, emf: bool = False) -> None:
    """Lambda's lines for one invocation, as the invoker writes them (one put)."""
    now = int(clock.now().timestamp() * 1000)
    lines = [f"START RequestId: {request_id} Version: $LATEST\n"]
    if emf:
        document = {
            "_aws": {"Timestamp": now, "CloudWatchMetrics": [{"Namespace": "Shop", "Dimensions": [[]], "Metrics": [{"Name": "Resized"}]}]},
            "Resized": [2, 3],
        }
        lines.append(json.dumps(document) + "\n")
    if fail:
        lines.append("[ERROR] ValueError: no such image\nTraceback (most recent call last):\n")
    lines.append(f"END RequestId: {request_id}\n")
    lines.append(
        f"REPORT RequestId: {request_id}\tDuration: 12.50 ms\tBilled Duration: 13 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\t\n"
    )
    local.logs.put("/aws/lambda/resize", "2026/05/12/[$LATEST]abc", [(now, line) for line in lines], create=True)


def sums(local: LocalDataDir, key: MetricKey, clock: FakeClock) -> list[float]:
    end = int(clock.now().timestamp() * 1000) + 60_000
    return [b.total for b in local.cloudwatch.buckets(key, end - 3600_000, end, 3600)]


def test_lambda_metrics_are_fed_once_across_reopening(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local = open_local(tmp_path, clock)
    invocation(local, clock, "r1", fail=False, emf=True)
    invocation(local, clock, "r2", fail=True)
    assert LambdaLogFeed(local.cloudwatch, local.logs.path, parse_emf=parse_emf).pull() == 7
    local.close()

    local = open_local(tmp_path, clock)  # a restart: the cursor was committed with the data points
    feed = LambdaLogFeed(local.cloudwatch, local.logs.path, parse_emf=parse_emf)
    assert feed.pull() == 0
    assert sums(local, ERRORS, clock) == [1.0]
    assert sums(local, MetricKey("AWS/Lambda", "Invocations", ERRORS.dimensions), clock) == [2.0]
    assert sums(local, MetricKey("Shop", "Resized"), clock) == [5.0]
    invocation(local, clock, "r3", fail=True)
    assert feed.pull() == 3
    assert sums(local, ERRORS, clock) == [2.0]
    local.close()


def test_a_batch_ends_after_a_whole_invocation(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local = open_local(tmp_path, clock)
    invocation(local, clock, "r1", fail=True)
    invocation(local, clock, "r2", fail=False)
    # 4 lines a batch: the first invocation's 5 lines are read whole, the error counted once.
    feed = LambdaLogFeed(local.cloudwatch, local.logs.path, batch=4)
    feed.pull()
    assert sums(local, ERRORS, clock) == [1.0]
    assert sums(local, MetricKey("AWS/Lambda", "Invocations", ERRORS.dimensions), clock) == [2.0]
    local.close()


def test_retention_drops_old_points(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local = open_local(tmp_path, clock)
    local.cloudwatch.put([Datum.of_value(MetricKey("App", "Old"), int(START.timestamp() * 1000), 1.0)])
    clock.advance(16 * 24 * 3600)
    assert local.cloudwatch.prune() >= 2  # the data point and its metric
    assert local.cloudwatch.metrics(namespace="App") == []
    local.close()


def test_an_alarm_follows_the_clock(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local = open_local(tmp_path, clock)
    local.topics.create_topic("alerts")
    arn = f"arn:aws:sns:{local.settings.region}:{local.settings.account_id}:alerts"
    local.cloudwatch.put_alarm(
        {
            "AlarmName": "resize-errors",
            "Namespace": "AWS/Lambda",
            "MetricName": "Errors",
            "Dimensions": [{"Name": "FunctionName", "Value": "resize"}],
            "Statistic": "Sum",
            "Period": 60,
            "EvaluationPeriods": 3,
            "DatapointsToAlarm": 2,
            "Threshold": 1.0,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": [arn],
            "OKActions": [arn],
        }
    )
    evaluator = AlarmEvaluator(local.cloudwatch, clock, [LambdaLogFeed(local.cloudwatch, local.logs.path)])

    def state() -> str:
        return local.cloudwatch.must_alarm("resize-errors").state

    evaluator.turn()
    assert state() == "OK"  # no data, treated as not breaching
    invocation(local, clock, "r1", fail=True)
    evaluator.turn()
    assert state() == "OK"  # 1 of 3: two are needed
    clock.advance(60)
    invocation(local, clock, "r2", fail=True)
    assert evaluator.turn() == 1
    assert state() == "ALARM"
    assert local.cloudwatch.must_alarm("resize-errors").reason.startswith(
        "Threshold Crossed: 2 out of the last 3 datapoints [1.0 (12/05/26 01:01:00), 1.0 (12/05/26 01:00:00)]"
    )
    # Three minutes without errors: the breaching points left the last three periods, but real points
    # anywhere in the evaluation range (five periods) still count, as CloudWatch's guide says...
    clock.advance(180)
    evaluator.turn()
    assert state() == "ALARM"
    # ...until they leave it too.
    clock.advance(120)
    evaluator.turn()
    assert state() == "OK"
    published = [json.loads(m.message)["NewStateValue"] for m in local.topics.published("alerts")]
    assert published == ["OK", "ALARM", "OK"]
    local.close()
