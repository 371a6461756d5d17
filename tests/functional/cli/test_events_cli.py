"""``sluiceway events`` and ``sluiceway rules`` through Typer's test runner."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.cli.events import app, rules_app
from sluiceway.clock import FakeClock
from sluiceway.runtime import wiring
from sluiceway.settings import Settings

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


# ------------------------------------------------------------------------------------------
# events put / replay / buses and the rules app, on a local store in tmp_path
# ------------------------------------------------------------------------------------------

QUEUE = "arn:aws:sqs:us-east-1:111111111111:work"
ORDERS = '{"source": ["shop"], "detail-type": ["Order Placed"]}'


class Store:
    """Opens the bus in tmp_path as ``wiring.open_event_bus`` would, and counts closes."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.clock = FakeClock()
        self.closed = 0

    def __call__(self, settings: Settings) -> tuple[SqliteEventBus, object]:
        assert settings.data_dir == self.tmp_path
        db = Database(settings.data_dir / "sluiceway.db")

        def close() -> None:
            self.closed += 1
            db.close()

        return SqliteEventBus(db, self.clock), close

    def bus(self) -> SqliteEventBus:
        return SqliteEventBus(Database(self.tmp_path / "sluiceway.db"), self.clock)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path)


def events_cli(store: Store, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, [*args, "--data-dir", str(store.tmp_path)], obj=store)
    return result.exit_code, result.stdout, result.stderr


def rules_cli(store: Store, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(rules_app, [*args, "--data-dir", str(store.tmp_path)], obj=store)
    return result.exit_code, result.stdout, result.stderr


def test_put_prints_the_ids_of_entries_and_envelopes(store: Store) -> None:
    entry = {"Source": "shop", "DetailType": "Order Placed", "Detail": json.dumps({"n": 1})}
    envelope = {
        "source": "shop",
        "detail-type": "Order Placed",
        "detail": {"n": 2},
        "resources": ["r"],
    }
    code, out, err = events_cli(store, "put", "--event", json.dumps([entry, envelope]))
    assert (code, err) == (0, "")
    ids = out.split()
    stored = [e for _, e in store.bus().pending()]
    assert [e["id"] for e in stored] == ids and len(set(ids)) == 2
    assert [e["detail"] for e in stored] == [{"n": 1}, {"n": 2}]
    assert stored[0]["account"] == "111111111111" and stored[0]["region"] == "us-east-1"
    assert stored[1]["resources"] == ["r"] and stored[0]["version"] == "0"
    assert store.closed == 1


def test_put_reads_a_file_and_names_a_bus(store: Store, tmp_path: Path) -> None:
    assert events_cli(store, "create-bus", "orders")[0] == 0
    (tmp_path / "event.json").write_text(
        '{"Source": "shop", "DetailType": "x", "Detail": {}}', encoding="utf-8"
    )
    code, out, _ = events_cli(
        store, "put", "--event", f"@{tmp_path / 'event.json'}", "--bus", "orders"
    )
    assert code == 0
    [stored] = store.bus().unrouted()
    assert (stored.bus, stored.event["id"]) == ("orders", out.strip())


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ('{"DetailType": "x", "Detail": {}}', "needs a source"),
        ('{"Source": "s", "Detail": {}}', "needs a detail-type"),
        ('{"Source": "s", "DetailType": "x", "Detail": "{nope"}', "Detail is not valid JSON"),
        ('{"source": "s", "detail-type": "x", "detail": [1]}', "must be a JSON object"),
        ("[]", "no events"),
        ("[1]", "must be a JSON object"),
        ("{nope", "not valid JSON"),
    ],
)
def test_put_refuses_bad_events(store: Store, event: str, message: str) -> None:
    code, out, err = events_cli(store, "put", "--event", event)
    assert (code, out) == (2, "")
    assert message in err


def test_put_says_what_put_events_would_answer(store: Store) -> None:
    code, _, err = events_cli(store, "put", "--event", '{"DetailType": "x"}')
    assert code == 2
    # The terminal may wrap the line.
    assert "InvalidArgument: Parameter Source is not valid. Reason: Source is a required argument." in " ".join(err.split())


def test_put_keeps_the_entry_s_time_and_names_its_bus_by_arn(store: Store) -> None:
    assert events_cli(store, "create-bus", "orders")[0] == 0
    entry = {
        "Source": "shop",
        "DetailType": "x",
        "Time": "2025-12-24T19:30:00+01:00",
        "EventBusName": "arn:aws:events:us-east-1:111111111111:event-bus/orders",
    }
    assert events_cli(store, "put", "--event", json.dumps(entry))[0] == 0
    [stored] = store.bus().unrouted()
    assert (stored.bus, stored.event["time"]) == ("orders", "2025-12-24T18:30:00Z")


def test_put_on_an_unknown_bus(store: Store) -> None:
    code, _, err = events_cli(
        store, "put", "--event", '{"Source": "s", "DetailType": "x"}', "--bus", "nope"
    )
    assert code == 2 and "Event bus nope does not exist." in err


def test_buses_are_created_listed_and_deleted(store: Store) -> None:
    code, out, _ = events_cli(store, "create-bus", "orders")
    assert (code, out) == (0, "arn:aws:events:us-east-1:111111111111:event-bus/orders\n")
    assert events_cli(store, "create-bus", "orders")[0] == 2
    rules_cli(store, "put", "r", "--pattern", ORDERS, "--bus", "orders")
    code, out, _ = events_cli(store, "list-buses")
    assert code == 0
    assert out.splitlines() == [
        "default\tarn:aws:events:us-east-1:111111111111:event-bus/default\t0 rule(s)",
        "orders\tarn:aws:events:us-east-1:111111111111:event-bus/orders\t1 rule(s)",
    ]
    code, _, err = events_cli(store, "delete-bus", "orders")
    assert code == 2 and "still has 1 rule(s)" in err
    assert rules_cli(store, "delete", "r", "--bus", "orders")[0] == 0
    assert events_cli(store, "delete-bus", "orders")[0] == 0
    assert [b.name for b in store.bus().list_buses()] == ["default"]


def test_rules_put_list_and_delete(store: Store, tmp_path: Path) -> None:
    targets = [
        {
            "Id": "q",
            "Arn": QUEUE,
            "InputPath": "$.detail",
            "RetryPolicy": {"MaximumRetryAttempts": 3},
        }
    ]
    (tmp_path / "targets.json").write_text(json.dumps(targets), encoding="utf-8")
    code, out, err = rules_cli(
        store, "put", "orders", "--pattern", ORDERS, "--description", "every order",
        "--targets", f"@{tmp_path / 'targets.json'}",
    )  # fmt: skip
    assert (code, out, err) == (0, "arn:aws:events:us-east-1:111111111111:rule/orders\n", "")

    code, out, _ = rules_cli(store, "list")
    assert code == 0
    assert out.splitlines() == [
        "orders  bus=default  ENABLED",
        "  description: every order",
        f"  pattern: {ORDERS}",
        f"  target q: {QUEUE}",
    ]
    code, out, _ = rules_cli(store, "list", "--json")
    [rule] = json.loads(out)
    assert rule["Targets"] == [
        {"Id": "q", "Arn": QUEUE, "InputPath": "$.detail",
         "RetryPolicy": {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 86400}},
    ]  # fmt: skip
    assert (rule["State"], rule["EventBusName"], rule["EventPattern"]) == (
        "ENABLED",
        "default",
        ORDERS,
    )

    # Put again without targets: the pattern changes, targets and description stay.
    assert (
        rules_cli(store, "put", "orders", "--pattern", '{"source": ["shop"]}', "--disabled")[0] == 0
    )
    [stored] = store.bus().list_rules()
    assert (stored.state, stored.description, stored.target_ids) == (
        "DISABLED",
        "every order",
        ("q",),
    )
    assert stored.pattern.source == '{"source": ["shop"]}'
    assert rules_cli(store, "enable", "orders")[0] == 0
    assert store.bus().get_rule("orders").state == "ENABLED"
    assert rules_cli(store, "disable", "orders")[0] == 0
    assert store.bus().get_rule("orders").state == "DISABLED"

    code, _, err = rules_cli(store, "delete", "orders")
    assert code == 2 and "Rule can't be deleted since it has targets." in err
    assert rules_cli(store, "delete", "orders", "--force")[0] == 0
    assert rules_cli(store, "list") == (0, "no rules\n", "")


def test_rules_put_refuses_what_eventbridge_refuses(store: Store) -> None:
    code, out, err = rules_cli(store, "put", "orders", "--pattern", '{"source": []}')
    assert (code, out) == (2, "")
    assert "Event pattern is not valid. Reason: Empty arrays are not allowed" in err
    code, _, err = rules_cli(store, "put", "bad name", "--pattern", ORDERS)
    assert code == 2 and "Rule name 'bad name' is not valid" in err
    code, _, err = rules_cli(
        store, "put", "r", "--pattern", ORDERS, "--targets", '{"Id": "t", "Arn": "arn:aws:s3:::b"}'
    )
    assert code == 2 and "not supported" in err
    code, _, err = rules_cli(store, "put", "r", "--pattern", ORDERS, "--bus", "nope")
    assert code == 2 and "Event bus nope does not exist." in err
    assert rules_cli(store, "delete", "ghost")[0] == 2
    assert rules_cli(store, "enable", "ghost")[0] == 2
    assert store.bus().list_rules() == []


def test_replay_records_a_replay_for_the_router(store: Store) -> None:
    rules_cli(store, "put", "orders", "--pattern", ORDERS)
    code, out, err = events_cli(
        store, "replay", "--since", "2h", "--rule", "orders", "--name", "again"
    )
    assert (code, out, err) == (0, "again\n", "")
    [replay] = store.bus().replays()
    assert (replay.name, replay.rule, replay.bus, replay.state) == (
        "again",
        "orders",
        "default",
        "RUNNING",
    )
    assert (replay.since, replay.until) == (store.clock.now() - timedelta(hours=2), None)

    code, out, _ = events_cli(
        store, "replay", "--since", "2020-01-01T00:00:00Z", "--until", "2020-01-02"
    )
    assert code == 0
    second = store.bus().replays()[1]
    assert (second.name, second.since.isoformat(), second.until.isoformat()) == (
        out.strip(), "2020-01-01T00:00:00+00:00", "2020-01-02T00:00:00+00:00",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since must be an ISO 8601 time"),
        (["--since", "1h", "--rule", "ghost"], "Rule ghost does not exist on EventBus default."),
        (["--since", "1h", "--until", "2h"], "before its end time"),
        (["--since", "1h", "--bus", "nope"], "Event bus nope does not exist."),
    ],
)
def test_replay_errors(store: Store, args: list[str], message: str) -> None:
    code, _, err = events_cli(store, "replay", *args)
    assert code == 2 and message in " ".join(err.split())


@pytest.mark.skipif(
    not hasattr(wiring, "open_event_bus"), reason="needs sluiceway.runtime.wiring.open_event_bus"
)
def test_the_commands_open_the_store_through_the_composition_root(tmp_path: Path) -> None:
    args = ["--data-dir", str(tmp_path)]
    assert runner.invoke(rules_app, ["put", "orders", "--pattern", ORDERS, *args]).exit_code == 0
    result = runner.invoke(
        app, ["put", "--event", '{"Source": "shop", "DetailType": "Order Placed"}', *args]
    )
    assert result.exit_code == 0
    listed = runner.invoke(rules_app, ["list", "--json", *args])
    assert [r["Name"] for r in json.loads(listed.stdout)] == ["orders"]
