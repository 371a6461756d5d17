"""EventBridge archives and replays (json protocol), over the bus's log.

The local bus keeps every event in its log for the data dir's retention; an archive
names the part of it that EventBridge would have archived (the events of its bus that
match its pattern and arrived after it was made), and a replay sends those again, with
``replay-name``, to the bus's rules (or the rules of Destination.FilterArns). The
running stack's router fans replays out, as for ``sluiceway events replay``.
"""

from __future__ import annotations

import re
from typing import Any, Final

from ...errors import ConflictError, NotFoundError
from ...events.patterns import compile_pattern
from ...events.rules import ArchiveRecord, ReplayRecord
from ..context import Context
from ..errors import AwsError
from ._events_common import arn_of_bus, check_name, constraint, operation, page, validation

__all__: list[str] = []

_BUS_ARN: Final = re.compile(r"arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:event-bus/(?P<bus>[/\.\-_A-Za-z0-9]+)")
_ARCHIVE_ARN: Final = re.compile(r"arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:archive/(?P<name>[\.\-_A-Za-z0-9]+)")
_RULE_ARN: Final = re.compile(r"arn:aws[\w-]*:events:[a-z0-9-]+:\d{12}:rule/(?:(?P<bus>[/\.\-_A-Za-z0-9]+)/)?(?P<name>[\.\-_A-Za-z0-9]+)")
_ARCHIVE_STATES: Final = ("ENABLED", "DISABLED", "CREATING", "UPDATING", "CREATE_FAILED", "UPDATE_FAILED")
_REPLAY_STATES: Final = ("CANCELLED", "CANCELLING", "COMPLETED", "FAILED", "RUNNING", "STARTING")


def _arn(ctx: Context, kind: str, name: str) -> str:
    return f"arn:aws:events:{ctx.region}:{ctx.account_id}:{kind}/{name}"


def _one_filter(params: dict[str, Any], what: str, states: tuple[str, ...]) -> None:
    given = [params.get(k) for k in ("NamePrefix", "EventSourceArn", "State")]
    if sum(v is not None for v in given) > 1:
        raise validation(f"At most one filter is allowed for {what}. Use either : State, EventSourceArn, or NamePrefix.")
    state = params.get("State")
    if state is not None and state not in states:
        raise constraint(state, "state", f"Member must satisfy enum value set: [{', '.join(states)}]")


# -- archives -------------------------------------------------------------------------------


def _archive_out(ctx: Context, archive: ArchiveRecord, *, full: bool) -> dict[str, Any]:
    count, size = ctx.stack.local.bus.archive_size(archive)
    out: dict[str, Any] = {"ArchiveName": archive.name, "EventSourceArn": arn_of_bus(ctx, archive.bus), "State": "ENABLED"}
    if full:
        out["ArchiveArn"] = _arn(ctx, "archive", archive.name)
        if archive.description:
            out["Description"] = archive.description
        if archive.pattern:
            out["EventPattern"] = archive.pattern
    out.update(RetentionDays=archive.retention_days, SizeBytes=size, EventCount=count, CreationTime=archive.created_at)
    return out


def _retention(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise constraint(value, "retentionDays", "Member must have value greater than or equal to 0")
    return value


@operation("CreateArchive")
def create_archive(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["ArchiveName"], "archiveName", maximum=48)
    source = _BUS_ARN.fullmatch(params["EventSourceArn"])
    if source is None:
        raise validation("Parameter EventSourceArn is not valid. Reason: Must contain an event bus ARN.")
    pattern = params.get("EventPattern") or ""
    if pattern:
        compile_pattern(pattern)
    bus = ctx.stack.local.bus
    bus.get_bus(source["bus"])
    retention = _retention(params.get("RetentionDays"))
    archive = ArchiveRecord(name, source["bus"], bus.clock.now(), params.get("Description"), pattern, retention)
    bus.create_archive(archive)
    return {"ArchiveArn": _arn(ctx, "archive", name), "State": "ENABLED", "CreationTime": archive.created_at}


@operation("UpdateArchive")
def update_archive(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    bus = ctx.stack.local.bus
    current = bus.get_archive(check_name(params["ArchiveName"], "archiveName", maximum=48))
    pattern = params.get("EventPattern")
    if pattern:
        compile_pattern(pattern)
    updated = ArchiveRecord(
        current.name,
        current.bus,
        current.created_at,
        params.get("Description", current.description),
        current.pattern if pattern is None else pattern,
        current.retention_days if params.get("RetentionDays") is None else _retention(params["RetentionDays"]),
    )
    bus.update_archive(updated)
    return {"ArchiveArn": _arn(ctx, "archive", current.name), "State": "ENABLED", "CreationTime": current.created_at}


@operation("DescribeArchive")
def describe_archive(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["ArchiveName"], "archiveName", maximum=48)
    return _archive_out(ctx, ctx.stack.local.bus.get_archive(name), full=True)


@operation("ListArchives")
def list_archives(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _one_filter(params, "ListArchives", _ARCHIVE_STATES)
    archives = ctx.stack.local.bus.list_archives()
    if params.get("NamePrefix"):
        archives = [a for a in archives if a.name.startswith(params["NamePrefix"])]
    if params.get("EventSourceArn"):
        archives = [a for a in archives if arn_of_bus(ctx, a.bus) == params["EventSourceArn"]]
    if params.get("State"):
        archives = [a for a in archives if params["State"] == "ENABLED"]
    shown, token = page(archives, lambda a: a.name, params)
    out: dict[str, Any] = {"Archives": [_archive_out(ctx, a, full=False) for a in shown]}
    if token:
        out["NextToken"] = token
    return out


@operation("DeleteArchive")
def delete_archive(ctx: Context, params: dict[str, Any]) -> None:
    ctx.stack.local.bus.delete_archive(check_name(params["ArchiveName"], "archiveName", maximum=48))


# -- replays --------------------------------------------------------------------------------


def _state(replay: ReplayRecord) -> str:
    if replay.cancelled:
        return "CANCELLED"
    return replay.state


def _replay_out(ctx: Context, replay: ReplayRecord, *, full: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"ReplayName": replay.name}
    if full:
        out["ReplayArn"] = _arn(ctx, "replay", replay.name)
        if replay.description:
            out["Description"] = replay.description
    out["State"] = _state(replay)
    out["EventSourceArn"] = _arn(ctx, "archive", replay.archive) if replay.archive else arn_of_bus(ctx, replay.bus)
    if full:
        destination: dict[str, Any] = {"Arn": arn_of_bus(ctx, replay.bus)}
        if replay.rule_names:
            prefix = "" if replay.bus == "default" else f"{replay.bus}/"
            destination["FilterArns"] = sorted(_arn(ctx, "rule", prefix + n) for n in replay.rule_names)
        out["Destination"] = destination
    out["EventStartTime"] = replay.since
    if replay.until is not None:
        out["EventEndTime"] = replay.until
    out["ReplayStartTime"] = replay.started_at
    if replay.ended_at is not None:
        out["ReplayEndTime"] = replay.ended_at
    return out


@operation("StartReplay")
def start_replay(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["ReplayName"], "replayName")
    destination = params["Destination"]
    target = _BUS_ARN.fullmatch(str(destination.get("Arn", "")))
    if target is None:
        raise validation("Parameter Destination.Arn is not valid. Reason: Must contain an event bus ARN.")
    bus = ctx.stack.local.bus
    bus.get_bus(target["bus"])
    source = _ARCHIVE_ARN.fullmatch(str(params["EventSourceArn"]))
    archive_name = source["name"] if source else str(params["EventSourceArn"]).rsplit("/", 1)[-1]
    try:
        archive = bus.get_archive(archive_name)
    except NotFoundError:
        raise validation(f"Parameter EventSourceArn is not valid. Reason: Archive {archive_name} does not exist.") from None
    if archive.bus != target["bus"]:
        raise validation("Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.")
    start, end = params["EventStartTime"], params["EventEndTime"]
    if not start < end:
        raise validation("Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.")
    if end > bus.clock.now():
        raise validation("Parameter EventEndTime is not valid. Reason: EventEndTime cannot be in the future.")
    rules = []
    for rule_arn in destination.get("FilterArns") or []:
        match = _RULE_ARN.fullmatch(str(rule_arn))
        if match is None or (match["bus"] or "default") != archive.bus:
            raise validation("Parameter Destination.FilterArns is not valid. Reason: Rule must be on the destination event bus.")
        bus.get_rule(match["name"], archive.bus)
        rules.append(match["name"])
    replay = bus.start_replay(
        since=start,
        until=end,
        bus=archive.bus,
        rule=",".join(sorted(set(rules))) or None,
        name=name,
        archive=archive.name,
        description=params.get("Description"),
    )
    ctx.stack.router.notify()
    # AWS answers before the replay starts; the router starts it at once.
    return {"ReplayArn": _arn(ctx, "replay", name), "State": "STARTING", "ReplayStartTime": replay.started_at}


@operation("DescribeReplay")
def describe_replay(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _replay_out(ctx, ctx.stack.local.bus.get_replay(check_name(params["ReplayName"], "replayName")), full=True)


@operation("ListReplays")
def list_replays(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    _one_filter(params, "ListReplays", _REPLAY_STATES)
    replays = sorted(ctx.stack.local.bus.replays(), key=lambda r: r.name)
    if params.get("NamePrefix"):
        replays = [r for r in replays if r.name.startswith(params["NamePrefix"])]
    if params.get("EventSourceArn"):
        replays = [r for r in replays if r.archive and _arn(ctx, "archive", r.archive) == params["EventSourceArn"]]
    if params.get("State"):
        replays = [r for r in replays if _state(r) == params["State"]]
    shown, token = page(replays, lambda r: r.name, params)
    out: dict[str, Any] = {"Replays": [_replay_out(ctx, r, full=False) for r in shown]}
    if token:
        out["NextToken"] = token
    return out


@operation("CancelReplay")
def cancel_replay(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    name = check_name(params["ReplayName"], "replayName")
    bus = ctx.stack.local.bus
    replay = bus.get_replay(name)
    if replay.state != "RUNNING" or replay.cancelled:
        raise AwsError("IllegalStatusException", f"Replay {name} is not in a valid state for this operation.")
    try:
        bus.cancel_replay(name)
    except ConflictError:  # it completed in between
        raise AwsError("IllegalStatusException", f"Replay {name} is not in a valid state for this operation.") from None
    return {"ReplayArn": _arn(ctx, "replay", name), "State": "CANCELLING"}
