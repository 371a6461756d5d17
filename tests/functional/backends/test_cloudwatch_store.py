"""The local CloudWatch store with its feeds and the alarm evaluator, on a FakeClock: exactly once across
reopening, retention, and an alarm that moves as time passes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from sluiceway.backends.local._cw_values import Datum, MetricKey
from sluiceway.backends.local.cloudwatch_feeds import EmfPoint, LambdaLogFeed
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
    feed = LambdaLogFeed(local.cloudwatch, local.logs.path, parse_emf=parse_emf)
    invocation(local, clock, "r1", fail=False, emf=True)
    invocation(local, clock, "r2", fail=True)
    assert feed.pull() == 7
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
    feed = LambdaLogFeed(local.cloudwatch, local.logs.path, batch=4)
    invocation(local, clock, "r1", fail=True)
    invocation(local, clock, "r2", fail=False)
    # 4 lines a batch: the first invocation's 5 lines are read whole, the error counted once.
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
    invocation(local, clock, "r1", fail=True)  # 01:00:30
    evaluator.turn()
    assert state() == "OK"  # its minute is still filling: not evaluated yet
    clock.advance(60)
    invocation(local, clock, "r2", fail=True)  # 01:01:30
    evaluator.turn()
    assert state() == "OK"  # 1 of 3 complete minutes breaches: two are needed
    clock.advance(30)  # 01:02:00: the 01:01 minute is complete
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


def test_a_sum_below_its_threshold_does_not_flap_while_its_minute_fills(tmp_path: Path) -> None:
    # Sum(Invocations) < 5 a minute, with 10 invocations every minute: the minute still filling
    # (2 invocations at its start) must not make the alarm breach, then clear at the minute's end.
    clock = FakeClock(START.replace(second=0))
    local = open_local(tmp_path, clock)
    key = MetricKey("AWS/Lambda", "Invocations", ERRORS.dimensions)
    local.cloudwatch.put_alarm(
        {
            "AlarmName": "too-few",
            **{"Namespace": key.namespace, "MetricName": key.name, "Dimensions": [{"Name": "FunctionName", "Value": "resize"}]},
            **{"Statistic": "Sum", "Period": 60, "EvaluationPeriods": 1, "Threshold": 5.0},
            **{"ComparisonOperator": "LessThanThreshold", "TreatMissingData": "notBreaching"},
        }
    )
    evaluator = AlarmEvaluator(local.cloudwatch, clock)

    def invoked(count: int) -> None:
        stamp = int(clock.now().timestamp() * 1000)
        local.cloudwatch.put([Datum.of_value(key, stamp, 1.0, unit="Count") for _ in range(count)])

    seen = []
    for _ in range(3):
        invoked(2)  # the minute's first invocations
        clock.advance(5)
        evaluator.turn()
        seen.append(local.cloudwatch.must_alarm("too-few").state)
        invoked(8)
        clock.advance(50)
        evaluator.turn()
        seen.append(local.cloudwatch.must_alarm("too-few").state)
        clock.advance(5)
    assert seen == ["OK"] * 6
    local.close()


def test_a_new_feed_starts_at_the_end_of_its_source_and_a_known_feed_keeps_its_cursor(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local = open_local(tmp_path, clock)
    invocation(local, clock, "old", fail=True)  # logged before any feed existed: not AWS's metric data
    feed = LambdaLogFeed(local.cloudwatch, local.logs.path)
    assert feed.pull() == 0
    invocation(local, clock, "r1", fail=True)
    local.close()

    local = open_local(tmp_path, clock)  # the feed exists already: what it has not read yet is read
    assert LambdaLogFeed(local.cloudwatch, local.logs.path).pull() == 3
    assert sums(local, ERRORS, clock) == [1.0]
    local.close()


def test_two_feeders_over_one_data_dir_never_count_a_record_twice(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local = open_local(tmp_path, clock)
    first = LambdaLogFeed(local.cloudwatch, local.logs.path)
    second = LambdaLogFeed(local.cloudwatch, local.logs.path)
    invocation(local, clock, "r1", fail=True)
    # The second feeder read the cursor (0 new lines behind it) before the first one stored the range.
    read_at = local.cloudwatch.cursor(first.name)
    assert first.pull() == 3
    assert local.cloudwatch.put([Datum.of_value(ERRORS, 0, 1.0)], feed=(second.name, read_at + 5), expected=read_at) is False
    assert second.pull() == 0
    assert sums(local, ERRORS, clock) == [1.0]
    local.close()


def test_a_line_the_feed_cannot_read_is_skipped_and_the_feed_moves_on(tmp_path: Path) -> None:
    clock = FakeClock(START)
    local = open_local(tmp_path, clock)

    def fragile(line: str, now_ms: int) -> list[EmfPoint]:
        raise OverflowError("a parser that breaks on a line")

    feed = LambdaLogFeed(local.cloudwatch, local.logs.path, parse_emf=fragile)
    invocation(local, clock, "r1", fail=True, emf=True)
    assert feed.pull() == 3  # the invocation's Lambda metrics; the EMF line is skipped
    invocation(local, clock, "r2", fail=False)
    assert feed.pull() == 3  # the bad line is not read again
    assert sums(local, MetricKey("AWS/Lambda", "Invocations", ERRORS.dimensions), clock) == [2.0]
    local.close()


def test_the_feeds_emf_reader_never_raises_on_a_huge_integer() -> None:
    # Python's json reads 9...9 (400 digits) as an int beyond a float's range.
    huge = (
        '{"_aws":{"Timestamp":1700000000000,"CloudWatchMetrics":[{"Namespace":"Shop","Dimensions":[["service"]],'
        '"Metrics":[{"Name":"Orders","Unit":"Count"}]}]},"service":"checkout","Orders":' + "9" * 400 + "}"
    )
    assert list(parse_emf(huge, 1700000000000)) == []
