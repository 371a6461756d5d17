"""``upload --run``: put a file into the input bucket and follow its event to the runs it starts.

The event is followed in the database, not in this process, so that it works the
same whether this process runs the stack itself or a ``sluiceway up`` already
runs on the data dir (then that stack processes the file and this one watches):
the event is routed to rules, each delivery is made (or given up on, into the
trigger's dead-letter queue), and each execution it started ends.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..backends.local.datadir import LocalDataDir
from ..errors import ExecutionNotFoundError, NotFoundError, StackRunningError
from ..events.rules import DeliveryRecord, delivery_execution_name, target_kind
from ..ports import ExecutionRecord, ExecutionStore
from ..ports.events import EventTrail
from ..settings import Settings
from ..types import EventDict
from .stack import Stack
from .wiring import build_stack, open_event_follower, open_local, running_stack

logger = logging.getLogger(__name__)

__all__ = ["Followed", "Uploaded", "follow", "upload"]

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})
_POLL_S = 0.1


@dataclass
class Uploaded:
    """A file put into the input bucket, its Object Created event, and who processes it."""

    key: str
    event: EventDict
    stack: Stack | None
    """The stack this process started to run the file; None when another process runs one."""
    runner: str
    """Who processes the file, for people: this process, or the stack that holds the data dir."""

    def close(self) -> None:
        if self.stack is not None:
            self.stack.close()


@dataclass
class Followed:
    """What became of an uploaded file's event."""

    runs: list[ExecutionRecord] = field(default_factory=list)
    """The executions it started, ended."""
    undelivered: list[DeliveryRecord] = field(default_factory=list)
    """Deliveries given up on (dead-lettered or dropped): the event started nothing there."""
    matched: bool = True
    """Whether any rule matched the event at all."""

    @property
    def ok(self) -> bool:
        return not self.undelivered and all(r.status == "SUCCEEDED" for r in self.runs)


def upload(settings: Settings, path: Path, key: str | None = None, *, run: bool) -> Uploaded:
    """Put ``path`` into the input bucket; with ``run``, make sure a stack will process it.

    Without ``run`` the event waits in the database for the next ``sluiceway up``. With
    it, this process starts a stack unless one runs on the data dir already.

    Raises:
        SluicewayError: the file could not be stored (a key no object may have, say).
    """
    target_key = key or path.name
    holder = running_stack(settings)
    if holder is not None:
        # The running stack delivers it, with its own rules: nothing of them is rewritten from here.
        local = open_local(settings)
        try:
            event = _put(local, settings, path, target_key)
        finally:
            local.close()
        return Uploaded(target_key, event, None, f"the stack running on {settings.data_dir}{holder}")
    # Built (not started) even without --run: it stores the pipeline's rule, so that the
    # event finds it whichever stack delivers it.
    stack = build_stack(settings)
    started = False
    try:
        if run:
            try:
                stack.start("sluiceway upload --run")
                started = True
            except StackRunningError:  # one started meanwhile: it processes the file
                holder = running_stack(settings)
        event = _put(stack.local, settings, path, target_key)
    except BaseException:
        stack.close()
        raise
    if not started:
        stack.close()
    runner = "this process" if started else f"the stack running on {settings.data_dir}{holder or ''}"
    return Uploaded(target_key, event, stack if started else None, runner)


def _put(local: LocalDataDir, settings: Settings, path: Path, key: str) -> EventDict:
    """Store the file and commit its Object Created event; return the event (to follow it)."""
    # Through the eventing store: the write is recorded in the outbox before it lands, so a
    # crash between the two still announces it once; emit_created then finds the stored event.
    info = local.objects.put_file(settings.input_bucket, key, str(path), content_type=_content_type(path))
    return local.objects.emit_created(info)


def follow(
    settings: Settings,
    event: EventDict,
    *,
    timeout: float | None = None,
    still_running: Callable[[], bool] | None = None,
) -> Followed:
    """Wait until ``event`` is routed, every delivery of it is made or given up on, and its runs ended.

    Args:
        settings: where the data dir is.
        event: the event as emitted (a write seen before resolves to the stored one).
        timeout: give up waiting after this many seconds (what happened so far is returned).
        still_running: whether something still processes the event; when it says no, the
            wait ends with what happened so far instead of waiting forever.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    reader = open_event_follower(settings)
    try:
        while True:
            followed, done = _look(reader.bus, reader.executions, event)
            if done or (deadline is not None and time.monotonic() >= deadline):
                return followed
            if still_running is not None and not still_running():
                return followed
            time.sleep(_POLL_S)
    finally:
        reader.close()


def _look(bus: EventTrail, store: ExecutionStore, event: EventDict) -> tuple[Followed, bool]:
    stored = bus.find(event)
    if stored is None or not bus.routed(stored.seq):
        return Followed(), False
    followed = Followed()
    deliveries = [d for d in bus.deliveries(stored.seq) if not d.replay]
    followed.matched = bool(deliveries)
    done = True
    for delivery in deliveries:
        if delivery.status == "pending":
            done = False
        elif delivery.status in ("dead-lettered", "dropped"):
            followed.undelivered.append(delivery)
        elif delivery.status == "delivered":
            record = _execution(bus, store, delivery, stored.event)
            if record is not None:
                followed.runs.append(record)
                done = done and record.status in TERMINAL
    return followed, done


def _execution(bus: EventTrail, store: ExecutionStore, delivery: DeliveryRecord, event: EventDict) -> ExecutionRecord | None:
    """The execution a state machine target started for the event (named after it, its rule and target), if that is what it was."""
    try:
        rule = bus.get_rule(delivery.rule, delivery.bus)
        target = rule.target(delivery.target)
    except NotFoundError:
        return None
    arn = getattr(target, "arn", None)
    if not isinstance(arn, str) or target_kind(arn) != "state-machine":
        return None
    machine = arn.rsplit(":", 1)[-1]
    try:
        rule_arn = rule.arn(region=str(event["region"]), account=str(event["account"]))
        name = delivery_execution_name(event, rule_arn=rule_arn, target_id=delivery.target)
        record = store.get(f"{arn.replace(':stateMachine:', ':execution:')}:{name}")
    except ExecutionNotFoundError:
        return None
    return record if record.state_machine == machine else None


def _content_type(path: Path) -> str:
    return "text/csv" if path.suffix.lower() == ".csv" else "application/octet-stream"
