"""``sluiceway events`` and ``sluiceway rules``: the local EventBridge bus from the command line.

``events`` tests patterns, puts events, replays the archive and manages buses;
``rules`` lists, puts and deletes stored rules. Both work on the local store of
``--data-dir``; a running ``sluiceway up`` delivers what they put there.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from ..errors import BackendUnavailableError, EventPatternError, SluicewayError
from ..events.envelope import bus_name_of, from_put_events_entry
from ..events.errors import InvalidEntryError
from ..events.patterns import compile_pattern
from ..events.rules import DEFAULT_BUS, Rule, RuleValidationError, Target, bus_arn
from ..ports.events import EventStore
from ..settings import Settings
from ._common import (
    EXIT_FAILED,
    EXIT_USAGE,
    ConfigOption,
    DataDirOption,
    fail,
    json_argument,
    settings_from,
)

__all__ = ["BusOpener", "app", "rules_app"]

BusOpener = Callable[[Settings], tuple[EventStore, Callable[[], None]]]
"""Opens the local event store for some settings and says how to close it.

The commands use :func:`sluiceway.runtime.wiring.open_event_bus`; a caller (a
test) may pass another one as the Typer context object.
"""

app = typer.Typer(
    help="EventBridge events: test patterns, put events, replay the archive, manage buses.",
    no_args_is_help=True,
)
rules_app = typer.Typer(
    help="EventBridge rules stored on the local bus: list (the default), put, enable, disable, delete.",
    invoke_without_command=True,
)

BusOption = typer.Option("--bus", help="The event bus.")


@app.callback()
def events() -> None:
    """EventBridge events: test patterns, put events, replay the archive, manage buses."""
    # A callback makes this a command group even with one command, so that
    # `sluiceway events test-pattern` keeps its name wherever it is mounted.


@rules_app.callback()
def rules(
    ctx: typer.Context,
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """EventBridge rules stored on the local bus: list (the default), put, enable, disable, delete."""
    if ctx.invoked_subcommand is None:  # `sluiceway rules` alone lists them
        list_rules(ctx, bus=None, as_json=False, data_dir=data_dir, config=config)


def _text(value: str, what: str) -> str:
    """The argument itself, or the contents of the file named after an ``@``."""
    if not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"cannot read the {what} file {path}: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


@app.command("test-pattern")
def test_pattern(
    pattern: Annotated[
        str, typer.Option("--pattern", help="The event pattern as JSON, or @FILE to read it.")
    ],
    event: Annotated[str, typer.Option("--event", help="The event as JSON, or @FILE to read it.")],
) -> None:
    """Say whether EVENT matches PATTERN: prints {"match": true} or {"match": false}.

    An invalid pattern prints EventBridge's own error message and exits with 2.
    """
    pattern_text = _text(pattern, "pattern")
    event_text = _text(event, "event")
    try:
        compiled = compile_pattern(pattern_text)
    except EventPatternError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        parsed: Any = json.loads(event_text)
    except json.JSONDecodeError as exc:
        typer.echo(
            f"the event is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE) from None
    if not isinstance(parsed, dict):
        typer.echo(f"the event must be a JSON object, not {_json_kind(parsed)}", err=True)
        raise typer.Exit(EXIT_USAGE)
    typer.echo(json.dumps({"match": compiled.matches(parsed)}))


# ------------------------------------------------------------------------------------------
# The local store
# ------------------------------------------------------------------------------------------


def _opener(ctx: typer.Context) -> BusOpener:
    given = ctx.find_root().obj
    if given is not None:
        opener: BusOpener = given
        return opener
    from ..runtime.wiring import open_event_bus

    return open_event_bus


def _store(
    ctx: typer.Context, data_dir: Path | None, config: Path | None
) -> tuple[Settings, EventStore]:
    settings = settings_from(data_dir, config)
    try:
        store, close = _opener(ctx)(settings)
    except SluicewayError as exc:
        _fail_for(exc)
    ctx.call_on_close(close)
    return settings, store


def _fail_for(exc: SluicewayError) -> NoReturn:
    """Bad input (an invalid pattern, an unknown bus, a name taken) exits 2; the rest 1."""
    fail(str(exc), EXIT_FAILED if isinstance(exc, BackendUnavailableError) else EXIT_USAGE)


# ------------------------------------------------------------------------------------------
# events put / replay / buses
# ------------------------------------------------------------------------------------------


def _entry_to_event(entry: Any, settings: Settings, now: datetime, bus: str) -> tuple[str, dict[str, Any]]:
    """A PutEvents entry (``Source``, ``DetailType``, ``Detail``...) or an event in EventBridge's
    envelope, as the event the bus stores, and the bus it goes to (its ``EventBusName``, else ``bus``).

    Both are built by :func:`~sluiceway.events.envelope.from_put_events_entry`, so what PutEvents
    refuses is refused here with AWS's code and message. Two conveniences are the CLI's own: an
    entry's ``Detail`` may be the JSON object itself rather than its text, and may be left out (``{}``).
    An envelope keeps its ``id``.
    """
    if not isinstance(entry, dict):
        fail("each event must be a JSON object")
    if "Source" in entry or "DetailType" in entry or "Detail" in entry:
        put = dict(entry)
        detail = put.get("Detail")
        if detail is None:
            put["Detail"] = "{}"
        elif not isinstance(detail, str):
            put["Detail"] = json.dumps(detail)
    else:
        put = {
            "Source": entry.get("source"),
            "DetailType": entry.get("detail-type"),
            "Detail": json.dumps(entry.get("detail", {})),
            "Resources": entry.get("resources"),
            "Time": entry.get("time"),
        }
    try:
        event = from_put_events_entry(
            put,
            event_id=str(entry.get("id") or uuid.uuid4()),
            now=now,
            region=settings.region,
            account=settings.account_id,
        )
    except InvalidEntryError as exc:
        fail(str(exc))
    return bus_name_of(put, bus), event


@app.command("put")
def put_events(
    ctx: typer.Context,
    event: Annotated[
        str,
        typer.Option(
            "--event",
            help="The event as JSON or @FILE: a PutEvents entry (Source, DetailType, Detail), "
            "an event in EventBridge's envelope, or a list of either.",
        ),
    ],
    bus: Annotated[str, BusOption] = DEFAULT_BUS,
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Put events on a bus (PutEvents) and print their ids, one a line.

    The events are committed to the local bus; `sluiceway up` delivers them.
    """
    parsed = json_argument(event, "event")
    entries = parsed if isinstance(parsed, list) else [parsed]
    if not entries:
        fail("no events to put")
    settings, store = _store(ctx, data_dir, config)
    now = store.clock.now()
    by_bus: dict[str, list[dict[str, Any]]] = {}
    order: list[tuple[str, int]] = []
    for entry in entries:
        target, built = _entry_to_event(entry, settings, now, bus)
        by_bus.setdefault(target, []).append(built)
        order.append((target, len(by_bus[target]) - 1))
    ids: dict[str, list[str]] = {}
    try:
        for name, events_of_bus in by_bus.items():
            ids[name] = store.put_events(events_of_bus, bus=name)
    except SluicewayError as exc:
        _fail_for(exc)
    for name, index in order:
        typer.echo(ids[name][index])


_AGO = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


def _when(value: str, what: str, now: datetime) -> datetime:
    """An ISO 8601 time (UTC unless it says otherwise) or a duration ago: 90s, 15m, 2h, 7d."""
    text = value.strip()
    ago = _AGO.match(text)
    if ago:
        return now - timedelta(seconds=float(ago.group(1)) * _UNITS[ago.group(2)])
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        fail(
            f"{what} must be an ISO 8601 time (2026-01-31T12:00:00Z) "
            f"or a duration ago (15m, 2h, 7d), not {value!r}"
        )
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@app.command("replay")
def replay(
    ctx: typer.Context,
    since: Annotated[
        str,
        typer.Option(
            "--since",
            help="Replay events that arrived from this time (ISO 8601, or 2h, 7d... ago).",
        ),
    ],
    until: Annotated[
        str | None, typer.Option("--until", help="...and before this time [default: now].")
    ] = None,
    rule: Annotated[
        str | None, typer.Option("--rule", help="Send them to this stored rule only.")
    ] = None,
    bus: Annotated[str, BusOption] = DEFAULT_BUS,
    name: Annotated[
        str | None, typer.Option("--name", help="The replay's name [default: made up].")
    ] = None,
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Send archived events again (StartReplay), marked with `replay-name`; print the replay's name.

    The replay is recorded at once; the router of `sluiceway up` sends the events.
    """
    _, store = _store(ctx, data_dir, config)
    now = store.clock.now()
    start = _when(since, "--since", now)
    end = _when(until, "--until", now) if until is not None else None
    try:
        if rule is not None:
            store.get_rule(rule, bus)
        record = store.start_replay(since=start, until=end, bus=bus, rule=rule, name=name)
    except SluicewayError as exc:
        _fail_for(exc)
    typer.echo(record.name)


@app.command("list-buses")
def list_buses(
    ctx: typer.Context,
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """List the event buses: name, ARN and how many rules each has."""
    settings, store = _store(ctx, data_dir, config)
    counts: dict[str, int] = {}
    for stored in store.list_rules():
        counts[stored.bus] = counts.get(stored.bus, 0) + 1
    for info in store.list_buses():
        arn = bus_arn(info.name, region=settings.region, account=settings.account_id)
        typer.echo(f"{info.name}\t{arn}\t{counts.get(info.name, 0)} rule(s)")


@app.command("create-bus")
def create_bus(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The new bus's name.")],
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Create a named event bus and print its ARN."""
    settings, store = _store(ctx, data_dir, config)
    try:
        store.create_bus(name)
    except SluicewayError as exc:
        _fail_for(exc)
    typer.echo(bus_arn(name, region=settings.region, account=settings.account_id))


@app.command("delete-bus")
def delete_bus(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The bus to delete (it must have no rules).")],
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Delete a named event bus; its archived events stay until they expire."""
    _, store = _store(ctx, data_dir, config)
    try:
        store.delete_bus(name)
    except SluicewayError as exc:
        _fail_for(exc)


# ------------------------------------------------------------------------------------------
# rules
# ------------------------------------------------------------------------------------------


def _rule_json(rule: Rule, settings: Settings) -> dict[str, Any]:
    """A rule as EventBridge's DescribeRule and ListTargetsByRule show it."""
    return {
        "Name": rule.name,
        "Arn": rule.arn(region=settings.region, account=settings.account_id),
        "EventBusName": rule.bus,
        "EventPattern": rule.pattern.source,
        "State": rule.state,
        "Description": rule.description,
        "Targets": [t.to_json() for t in rule.targets if isinstance(t, Target)],
    }


@rules_app.command("list")
def list_rules(
    ctx: typer.Context,
    bus: Annotated[
        str | None, typer.Option("--bus", help="Only this bus's rules [default: every bus].")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (DescribeRule's fields and the targets).")
    ] = False,
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """List stored rules with their bus, state, pattern and targets."""
    settings, store = _store(ctx, data_dir, config)
    found = [_rule_json(r, settings) for r in store.list_rules(bus)]
    if as_json:
        typer.echo(json.dumps(found, indent=2))
        return
    if not found:
        typer.echo("no rules" + (f" on bus {bus}" if bus else ""))
        return
    for rule in found:
        typer.echo(f"{rule['Name']}  bus={rule['EventBusName']}  {rule['State']}")
        if rule["Description"]:
            typer.echo(f"  description: {rule['Description']}")
        typer.echo(f"  pattern: {rule['EventPattern']}")
        for target in rule["Targets"]:
            typer.echo(f"  target {target['Id']}: {target['Arn']}")
        if not rule["Targets"]:
            typer.echo("  no targets")


def _targets(value: str) -> tuple[Target, ...]:
    parsed = json_argument(value, "targets")
    items = parsed if isinstance(parsed, list) else [parsed]
    try:
        return tuple(Target.from_json(item) for item in items)
    except RuleValidationError as exc:
        fail(str(exc))


@rules_app.command("put")
def put_rule(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The rule's name.")],
    pattern: Annotated[str, typer.Option("--pattern", help="The event pattern as JSON, or @FILE.")],
    bus: Annotated[str, BusOption] = DEFAULT_BUS,
    description: Annotated[
        str | None, typer.Option("--description", help="What the rule is for.")
    ] = None,
    enabled: Annotated[bool, typer.Option("--enabled/--disabled", help="The rule's state.")] = True,
    targets: Annotated[
        str | None,
        typer.Option(
            "--targets",
            help='Targets as JSON or @FILE, in PutTargets\' shape ([{"Id": ..., "Arn": ...}]); '
            "they replace those with the same Id.",
        ),
    ] = None,
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Create or update a rule (PutRule, and PutTargets with --targets); print its ARN.

    An existing rule keeps its targets and description unless given again.
    """
    pattern_text = _text(pattern, "pattern")
    new_targets = _targets(targets) if targets is not None else ()
    settings, store = _store(ctx, data_dir, config)
    try:
        compiled = compile_pattern(pattern_text)
    except EventPatternError as exc:
        fail(str(exc))
    try:
        try:
            current: Rule | None = store.get_rule(name, bus)
        except SluicewayError:
            current = None
        kept: tuple[Target, ...] = ()
        if current is not None:
            replaced = {t.id for t in new_targets}
            kept = tuple(
                t for t in current.targets if isinstance(t, Target) and t.id not in replaced
            )
        if description is None:
            description = current.description if current is not None else ""
        rule = Rule(
            name,
            compiled,
            (*kept, *new_targets),
            bus,
            "ENABLED" if enabled else "DISABLED",
            description,
        )
        store.put_rule(rule)
    except SluicewayError as exc:
        _fail_for(exc)
    typer.echo(rule.arn(region=settings.region, account=settings.account_id))


def _set_state(
    ctx: typer.Context, name: str, bus: str, state: str, data_dir: Path | None, config: Path | None
) -> None:
    _, store = _store(ctx, data_dir, config)
    try:
        current = store.get_rule(name, bus)
        store.put_rule(
            Rule(
                name,
                current.pattern,
                current.targets,
                bus,
                "ENABLED" if state == "ENABLED" else "DISABLED",
                current.description,
            )
        )
    except SluicewayError as exc:
        _fail_for(exc)


@rules_app.command("enable")
def enable_rule(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The rule.")],
    bus: Annotated[str, BusOption] = DEFAULT_BUS,
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Enable a rule: events arriving from now on are matched against it."""
    _set_state(ctx, name, bus, "ENABLED", data_dir, config)


@rules_app.command("disable")
def disable_rule(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The rule.")],
    bus: Annotated[str, BusOption] = DEFAULT_BUS,
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Disable a rule: events arriving from now on do not reach its targets."""
    _set_state(ctx, name, bus, "DISABLED", data_dir, config)


@rules_app.command("delete")
def delete_rule(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The rule.")],
    bus: Annotated[str, BusOption] = DEFAULT_BUS,
    force: Annotated[bool, typer.Option("--force", help="Delete it with its targets.")] = False,
    data_dir: Path | None = DataDirOption,
    config: Path | None = ConfigOption,
) -> None:
    """Delete a rule (EventBridge wants its targets removed first: --force does that)."""
    _, store = _store(ctx, data_dir, config)
    try:
        store.delete_rule(name, bus, force=force)
    except SluicewayError as exc:
        _fail_for(exc)
