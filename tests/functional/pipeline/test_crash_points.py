"""A run crashed at every side-effect boundary, then recovered: exactly one of each effect.

The whole DataProcessingWorkflow runs on the real orchestrator, task runner and local
backends, in this process, with every durable write counted: objects put and deleted,
metadata records, notifications (through the task journal), execution state. Crash
point *k* lets the first *k* writes happen and then "kills the process": from there on
every write raises :class:`Crash` (a BaseException, so no handler's ``except Exception``
swallows it, just as nothing runs after ``kill -9``), the dispatcher dies at its next
commit and no task outcome is committed. A new orchestrator on the same database and
folders then recovers the execution, as ``sluiceway up`` does after a crash, and the
run must end as a run without a crash ends: one SUCCEEDED (or, for a bad file, FAILED)
execution, one metadata record, one notification, one result, the input untouched,
nothing left under ``_work/`` or in scratch.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sluiceway.backends.local._sqlite import Database
from sluiceway.backends.local.events import SqliteEventBus
from sluiceway.backends.local.executions import SqliteExecutionStore
from sluiceway.backends.local.journal import SqliteTaskJournal
from sluiceway.backends.local.notifying import EventingObjectStore
from sluiceway.backends.local.objects import FileObjectStore
from sluiceway.backends.local.tables import SqliteTable
from sluiceway.backends.local.topics import SqliteTopic
from sluiceway.clock import FakeClock
from sluiceway.config import PipelineConfig, load_config, packaged_config_path
from sluiceway.data.samples import write_sales_csv
from sluiceway.errors import ExecutionAlreadyExistsError
from sluiceway.functions._common import Workspace
from sluiceway.functions.aggregate import AggregateRequest, aggregate
from sluiceway.functions.error_handler import ErrorRequest, handle_error
from sluiceway.functions.process_chunk import ChunkRequest, process_chunk
from sluiceway.functions.store_results import StoreRequest, store_results
from sluiceway.functions.validate import ValidateRequest, validate
from sluiceway.ports import ExecutionRecord, Invocation, InvocationResult
from sluiceway.runtime.messaging.delivery import TopicDeliverer
from sluiceway.runtime.orchestration.executor import LocalOrchestrator
from sluiceway.runtime.orchestration.tasks import TaskRunner
from sluiceway.runtime.wiring import load_workflow
from sluiceway.settings import Settings
from sluiceway.types import JSON

GOOD_ROWS = 400
KEY = "daily/sales.csv"
NAME = "daily-sales-run"
MACHINE = "DataProcessingWorkflow"
BAD_FILE = b"not,the,header\n1,2,3\n"


class Crash(BaseException):
    """The process died here."""


class World:
    """Counts durable writes; after ``limit`` of them every write raises :class:`Crash`."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self.writes = 0
        self.crashed = False
        self._lock = threading.Lock()

    def write(self) -> None:
        with self._lock:
            if self.crashed or (self.limit is not None and self.writes >= self.limit):
                self.crashed = True
                raise Crash
            self.writes += 1


class Crashing:
    """Wraps a port: the named methods are writes counted by ``world``; everything else passes through."""

    def __init__(self, inner: Any, world: World, writes: tuple[str, ...]) -> None:
        self._inner, self._world, self._writes = inner, world, writes

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in self._writes:
            return attribute

        def write(*args: Any, **kwargs: Any) -> Any:
            self._world.write()
            return attribute(*args, **kwargs)

        return write


class CrashingJournal:
    """The task journal with a crash point before a task's effect and one between a function's end and its record."""

    def __init__(self, inner: SqliteTaskJournal, world: World) -> None:
        self.inner, self.world = inner, world

    def once(self, key: str, action: Callable[[], JSON], *, atomic: bool = True) -> JSON:
        if atomic:  # the effect and its record are one transaction: one write
            self.world.write()
            return self.inner.once(key, action, atomic=True)

        def counted() -> JSON:
            outcome = action()
            self.world.write()
            return outcome

        return self.inner.once(key, counted, atomic=False)


class CrashingTopic(SqliteTopic):
    """Writing the outbox file (after the publish commits) is a write of its own."""

    world: World

    def deliver_outbox(self, record: Any, *, stored: bool = False) -> None:
        self.world.write()
        super().deliver_outbox(record, stored=stored)


class StageInvoker:
    """A FunctionInvoker running the pipeline's stage functions in this process, on the given ports.

    The Lambda shims only fetch the process's services and call these; here they get
    ports that can crash instead.
    """

    def __init__(self, objects: Any, table: Any, clock: FakeClock, pipeline: PipelineConfig, workspace: Workspace) -> None:
        ports = {"objects": objects, "pipeline": pipeline, "workspace": workspace, "clock": clock}
        self.functions: dict[str, Callable[[Any], JSON]] = {
            "ValidateData": lambda e: validate(ValidateRequest.from_event(e), **ports).to_event(),
            "ProcessChunk": lambda e: process_chunk(ChunkRequest.from_event(e), **ports).to_event(),
            "AggregateData": lambda e: aggregate(AggregateRequest.from_event(e), **ports).to_event(),
            "StoreResults": lambda e: store_results(StoreRequest.from_event(e), objects=objects, table=table, clock=clock).to_event(),
            "ErrorHandler": lambda e: handle_error(
                ErrorRequest.from_event(e), table=table, objects=objects, clock=clock, workspace=workspace, pipeline=pipeline.name
            ).to_event(),
        }

    def knows(self, function_name: str) -> bool:
        return function_name in self.functions

    def invoke(self, invocation: Invocation) -> InvocationResult:
        try:
            payload = self.functions[invocation.function_name](json.loads(json.dumps(invocation.payload)))
        except Exception as exc:  # a Crash is no failure of the function: it ends the process
            frames = tuple(f'  File "{f.filename}", line {f.lineno}, in {f.name}' for f in traceback.extract_tb(exc.__traceback__))
            return InvocationResult(invocation.request_id, error_type=type(exc).__name__, error_message=str(exc), stack_trace=frames)
        return InvocationResult(invocation.request_id, payload=json.loads(json.dumps(payload)))


@dataclass
class Process:
    """One process's view of the data dir: its ports (counted by one world) and its orchestrator."""

    db: Database
    orchestrator: LocalOrchestrator
    topic: SqliteTopic

    def stop(self) -> None:
        self.orchestrator.close()
        self.orchestrator.join_tasks()
        self.db.close()


def process(root: Path, world: World, clock: FakeClock) -> Process:
    settings = Settings.load(data_dir=root)
    db = Database(settings.db_path)
    files = FileObjectStore(settings.buckets_dir)
    for bucket in (settings.input_bucket, settings.output_bucket):
        files.ensure_bucket(bucket)
    objects = Crashing(files, world, ("put", "put_file", "delete"))
    table = Crashing(SqliteTable(db, settings.table_name), world, ("put", "update", "delete"))
    topic = CrashingTopic(db, settings.outbox_path, clock, region=settings.region, account_id=settings.account_id)
    topic.world = world
    pipeline = load_config(packaged_config_path()).model_copy(update={"chunk_size_mb": 0.004, "max_concurrency": 1})
    invoker = StageInvoker(objects, table, clock, pipeline, Workspace(settings.output_bucket, settings.scratch_dir))
    runner = TaskRunner(invoker, topic, objects=objects, journal=CrashingJournal(SqliteTaskJournal(db), world))
    store = Crashing(SqliteExecutionStore(db), world, ("create", "advance"))
    orchestrator = LocalOrchestrator(store, runner.run, clock, skip_waits=True)  # type: ignore[arg-type]
    orchestrator.register(settings.state_machine_name, load_workflow(settings))
    return Process(db, orchestrator, topic)


def upload(root: Path, data: bytes, clock: FakeClock) -> dict[str, Any]:
    """Put the input; return its Object Created event (what the rule hands the state machine)."""
    settings = Settings.load(data_dir=root)
    db = Database(settings.db_path)
    try:
        bus = SqliteEventBus(db, clock)
        store = EventingObjectStore(FileObjectStore(settings.buckets_dir), bus, clock, region="us-east-1", account="1")
        return store.emit_created(store.inner.put(settings.input_bucket, KEY, data, content_type="text/csv"))
    finally:
        db.close()


@dataclass
class Outcome:
    root: Path
    writes: int
    executions: list[ExecutionRecord]
    records: list[dict[str, Any]]
    notifications: list[str]
    outbox_lines: list[dict[str, Any]]
    results: list[dict[str, Any]]
    work_left: list[str]
    scratch_left: list[str]


def run(root: Path, data: bytes, crash_after: int | None) -> Outcome:
    """Run the file, crashing after ``crash_after`` writes (None: never); after a crash, start again and finish."""
    clock = FakeClock()
    event = upload(root, data, clock)
    world = World(crash_after)
    first = process(root, world, clock)
    first.orchestrator.start()
    try:
        with contextlib.suppress(Crash):
            record = first.orchestrator.start_execution(MACHINE, event, name=NAME)
            while not world.crashed and first.orchestrator.describe(record.arn).status == "RUNNING":
                first.orchestrator.wait(record.arn, timeout=0.05)
    finally:
        first.stop()  # as after kill -9: nothing more is committed; its claims die with it
    if world.crashed:
        second = process(root, World(), clock)
        second.orchestrator.start()  # resumes what was RUNNING
        try:
            # The rule's delivery is retried until it is taken (a crash may have come before the start
            # committed); an execution that ended during recovery makes it a no-op, as the router treats it.
            with contextlib.suppress(ExecutionAlreadyExistsError):
                second.orchestrator.start_execution(MACHINE, event, name=NAME)
            assert second.orchestrator.wait_all(timeout=60)
            # The notification the dead process committed but did not write out: its claim is released now.
            second.topic.release_orphans()
            TopicDeliverer(second.topic, {"outbox": second.topic.deliver_outbox}, clock=clock).deliver_pending()
        finally:
            second.stop()
    return observe(root, world.writes)


def observe(root: Path, writes: int) -> Outcome:
    settings = Settings.load(data_dir=root)
    db = Database(settings.db_path)
    try:
        files = FileObjectStore(settings.buckets_dir)
        outbox = settings.outbox_path
        return Outcome(
            root=root,
            writes=writes,
            executions=SqliteExecutionStore(db).list(),
            records=SqliteTable(db, settings.table_name).scan(),
            notifications=[m.message for m in SqliteTopic(db, outbox, FakeClock()).messages()],
            outbox_lines=[json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else [],
            results=[json.loads(files.get(i.bucket, i.key)) for i in files.list(settings.output_bucket) if i.key.endswith("/result.json")],
            work_left=[str(p) for p in (settings.buckets_dir / settings.output_bucket / "_work").glob("**/*")],
            scratch_left=[str(p) for p in settings.scratch_dir.glob("*")],
        )
    finally:
        db.close()


@pytest.fixture(scope="module")
def good_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = tmp_path_factory.mktemp("input") / "sales.csv"
    write_sales_csv(path, rows=GOOD_ROWS)
    data = path.read_bytes()
    assert len(data) > 2 * 4 * 1024, "the file must span several chunks"
    return data


@pytest.fixture(scope="module")
def clean_runs(tmp_path_factory: pytest.TempPathFactory, good_file: bytes) -> Mapping[str, Outcome]:
    """Runs without a crash: what every crashed run must end like, and how many writes they make."""
    return {
        "good": run(tmp_path_factory.mktemp("clean-good"), good_file, None),
        "bad": run(tmp_path_factory.mktemp("clean-bad"), BAD_FILE, None),
    }


def check(outcome: Outcome, clean: Outcome, data: bytes, *, status: str) -> None:
    assert [(e.status, e.name) for e in outcome.executions] == [(status, NAME)]
    assert [r["Status"] for r in outcome.records] == [status]
    assert len(outcome.notifications) == 1, outcome.notifications
    assert [line["body"] for line in outcome.outbox_lines] == outcome.notifications
    if status == "SUCCEEDED":
        record = outcome.records[0]
        assert record["RowsRead"] == GOOD_ROWS == record["RowsValid"] + record["RowsRejected"]
        assert len(outcome.results) == 1
        # Float sums may differ in the last digit: DuckDB adds in parallel, in no fixed order.
        assert [_approx(row) for row in outcome.results[0]["results"]] == [_approx(row) for row in clean.results[0]["results"]]
        assert "Processed" in outcome.notifications[0]
    else:
        assert outcome.results == [] and "header" in outcome.records[0]["Message"]
    assert outcome.work_left == [] and outcome.scratch_left == []
    stored = (outcome.root / "buckets" / "sluiceway-input" / KEY).read_bytes()
    assert hashlib.sha256(stored).digest() == hashlib.sha256(data).digest()


def _approx(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in row.items()}


def test_a_run_without_a_crash_has_one_of_each_effect(clean_runs: Mapping[str, Outcome], good_file: bytes) -> None:
    good, bad = clean_runs["good"], clean_runs["bad"]
    check(good, good, good_file, status="SUCCEEDED")
    check(bad, bad, BAD_FILE, status="FAILED")
    assert good.writes > 20 and bad.writes > 5


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the Crash ends threads, as a kill does
@pytest.mark.parametrize(("kind", "status"), [("good", "SUCCEEDED"), ("bad", "FAILED")])
def test_a_run_crashed_at_every_write_ends_once(
    clean_runs: Mapping[str, Outcome], good_file: bytes, tmp_path: Path, kind: str, status: str
) -> None:
    clean = clean_runs[kind]
    data = good_file if kind == "good" else BAD_FILE
    for point in range(clean.writes + 1):
        outcome = run(tmp_path / f"crash-{point}", data, point)
        try:
            check(outcome, clean, data, status=status)
        except AssertionError as exc:
            raise AssertionError(f"crashed after {point} of {clean.writes} writes: {exc}") from exc
