"""The local orchestrator: runs ASL executions durably on an ExecutionStore.

One dispatcher thread owns every running execution: it feeds events to the pure
interpreter, commits the new state and its history events in one transaction,
and only then carries out the commands (tasks on a thread pool, timers on a
heap). After a crash, :meth:`LocalOrchestrator.recover` reloads every RUNNING
execution and re-issues what it was waiting on: timers are re-armed at their
original due time, and a task that was in flight is run again (at-least-once;
handlers must be idempotent, as on AWS Lambda with retries).

An execution runs to its end with the definition it started with, as on Step Functions:
its start records which revision of its state machine that is (when the store keeps
revisions, see :mod:`.revisions`), and a resume or a redrive runs that revision, not the
definition registered under the machine's name since.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import queue
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from ... import logs
from ...asl import interpreter, parser
from ...asl.commands import (
    Command,
    Event,
    InvokeTask,
    ReadItems,
    StartTimer,
    StopExecution,
    TaskFailed,
    TaskHeartbeat,
    TaskSucceeded,
    TimerFired,
    WriteResults,
)
from ...asl.model import StateMachine
from ...clock import FakeClock
from ...errors import DefinitionError, ExecutionError, ExecutionNotFoundError, OrchestratorStoppedError
from ...names import check_name
from ...observability.metrics import Metrics, task_integration
from ...observability.task_position import task_position
from ...observability.tracing import Tracing
from ...ports import Clock, ExecutionRecord, ExecutionStore
from ...types import JSON
from . import activities
from .activities import Activities, ActivityEvent, ActivityQueue, ActivityStarted, HandOut
from .children import is_child_start, start_child
from .revisions import MachineRevisions, StoredRevision
from .tasks import as_outcome

logger = logging.getLogger(__name__)

__all__ = ["HistoryListener", "InvalidTaskTokenError", "LocalOrchestrator", "TaskTimedOutError", "TaskTokenError"]

TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


class TaskTokenError(ExecutionError):
    """SendTask* with a token that is invalid or whose task no longer waits (AWS: InvalidToken/TaskTimedOut)."""


class InvalidTaskTokenError(TaskTokenError):
    """The token was not made by this orchestrator (AWS: ``InvalidToken``)."""


class TaskTimedOutError(TaskTokenError):
    """The token's task no longer waits: it was answered, timed out, or its execution ended (AWS: ``TaskTimedOut``)."""


@dataclass
class _Live:
    machine: StateMachine
    record: ExecutionRecord
    revision: StoredRevision | None = None
    """The stored revision it runs (None when none was recorded): history listeners are given it."""
    in_flight: set[str] = field(default_factory=set)
    """Tokens of the tasks running on the pool (a ``.waitForTaskToken`` task leaves it once its call went out)."""


HistoryListener = Callable[[ExecutionRecord, Sequence[Mapping[str, Any]], StoredRevision | None], None]
"""Called with an execution, the history events just committed for it, and the revision it runs."""


class LocalOrchestrator:
    """Start, describe, stop and wait for executions of registered state machines.

    Args:
        store: where state and history are committed.
        run_task: carries out one Task command and returns its outcome event;
            it is called on a thread pool and must never raise. Child executions
            (``states:startExecution``) are the orchestrator's own: they run here.
        clock: wall time; with a :class:`FakeClock` and ``skip_waits`` the
            orchestrator fast-forwards to the next timer whenever nothing else
            can happen (Wait states, retry intervals and timeouts take no time).
        answer: asked first for every Task (child starts included); an outcome it
            gives is the task's, None lets the task run (``sfn run``'s mocks).
        metrics: where executions, transitions and tasks are counted (none by default).
        tracing: where executions, states and tasks become spans (none by default).
    """

    def __init__(
        self,
        store: ExecutionStore,
        run_task: Callable[[Any], TaskSucceeded | TaskFailed],
        clock: Clock,
        *,
        region: str = "us-east-1",
        account_id: str = "111111111111",
        max_payload_bytes: int = interpreter.DEFAULT_MAX_PAYLOAD,
        skip_waits: bool = False,
        task_threads: int = 64,
        answer: Callable[[InvokeTask], TaskSucceeded | TaskFailed | None] | None = None,
        metrics: Metrics | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        self.metrics = metrics or Metrics(enabled=False)
        self.tracing = tracing or Tracing()
        self._spans = self.tracing.executions()  # None when tracing is off
        self.store = store
        self.run_task = run_task
        self.answer = answer
        self.clock = clock
        self.region = region
        self.account_id = account_id
        self.max_payload_bytes = max_payload_bytes
        self.skip_waits = skip_waits
        if skip_waits and not isinstance(clock, FakeClock):
            raise ValueError("skip_waits needs a FakeClock")
        # The clock a skipped wait moves forward (the same object as self.clock).
        self._skipping: FakeClock | None = clock if isinstance(clock, FakeClock) and skip_waits else None
        self._machines: dict[str, StateMachine] = {}
        self._revisions = MachineRevisions(store)
        self._live: dict[str, _Live] = {}
        self._events: queue.Queue[tuple[str, Event | ActivityEvent] | None] = queue.Queue()
        self._timers: list[tuple[datetime, int, str, str]] = []
        self._timer_seq = itertools.count()
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._pool = ThreadPoolExecutor(max_workers=task_threads, thread_name_prefix="sluiceway-task")
        self._thread: threading.Thread | None = None
        self._closed = False
        self._listeners: list[Callable[[ExecutionRecord], None]] = []
        self._history_listeners: list[HistoryListener] = []
        self._activities = Activities(lambda arn, event: self._events.put((arn, event)))

    # -- registry -----------------------------------------------------------

    def register(self, name: str, machine: StateMachine) -> str:
        """Register (or replace) a state machine under ``name``; return its ARN.

        Executions already running keep the definition they started with, as on Step Functions.
        """
        with self._lock:
            self._machines[name] = machine
        return self.state_machine_arn(name)

    def unregister(self, name: str) -> bool:
        """Start no more executions of ``name`` (running ones finish); True if it was registered."""
        with self._lock:
            return self._machines.pop(name, None) is not None

    def machine(self, name: str) -> StateMachine | None:
        """The state machine registered under ``name``, if any."""
        with self._lock:
            return self._machines.get(name)

    def machine_names(self) -> list[str]:
        """The registered state machines' names, sorted."""
        with self._lock:
            return sorted(self._machines)

    def load_stored_machines(self) -> int:
        """Register the state machines the store keeps (created through the endpoint) that are not registered yet.

        Those registered in code (the application's workflows) win over stored ones of the same
        name. A stored definition that no longer parses is skipped with a warning. Returns how
        many were registered.
        """
        stored = getattr(self.store, "state_machines", None)
        if stored is None:
            return 0
        loaded = 0
        for record in stored():
            with self._lock:
                if record.name in self._machines:
                    continue
            try:
                machine = parser.parse_text(record.definition)
            except DefinitionError as exc:
                logger.warning("stored state machine no longer parses", extra={"state_machine": record.name, "error": str(exc)})
                continue
            with self._lock:
                self._machines.setdefault(record.name, machine)
            self._revisions.remember(record.name, record.revision_id, machine)
            loaded += 1
        return loaded

    def state_machine_arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account_id}:stateMachine:{name}"

    def execution_arn(self, state_machine: str, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account_id}:execution:{state_machine}:{name}"

    def on_change(self, listener: Callable[[ExecutionRecord], None]) -> None:
        """Call ``listener`` (on the dispatcher thread) whenever an execution ends."""
        self._listeners.append(listener)

    def on_history(self, listener: HistoryListener) -> None:
        """Call ``listener`` with an execution, the history events just committed for it (in commit
        order) and the stored revision it runs (None when none was recorded).

        The revision is the one read when the execution started, was redriven or resumed: a
        listener decides from it what to do without reading the store. It is called under the
        orchestrator's lock, on whichever thread committed (the dispatcher's, or a caller's for
        StartExecution, RedriveExecution and worker answers): it must return at once (queue,
        never write), and what it raises is logged, never the execution's.
        """
        self._history_listeners.append(listener)

    # -- lifecycle ------------------------------------------------------------

    def start(self, *, resume: bool = True) -> None:
        """Start the dispatcher thread and (unless ``resume`` is false) resume executions left RUNNING.

        Only the one orchestrator that owns the store's executions may resume them (the
        stack, which holds the data dir); one that runs a single execution of its own
        (``sluiceway sfn run``) must not drive the stack's.
        """
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="sluiceway-orchestrator", daemon=True)
        self._thread.start()
        if resume:
            # Their executions may be among those to resume: they must be registered first.
            self.load_stored_machines()
            self.recover()

    def close(self, grace_s: float = 0.0) -> None:
        """Stop: dispatch nothing more, commit what finishes within ``grace_s``, then stop committing.

        A stop never commits a failure that the stop itself caused: once the dispatcher
        has stopped, outcomes of tasks still running are dropped (the functions that ran
        them are stopped next), and those tasks run again at the next start, as after a
        crash. Tasks that finish within ``grace_s`` commit as usual, so little is repeated.
        """
        if self._closed:
            return
        with self._changed:
            self._closed = True
            self._changed.notify_all()  # wake waiters (a .sync task waiting for its child)
            self._changed.wait_for(lambda: not any(live.in_flight for live in self._live.values()), timeout=grace_s)
        self._events.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def join_tasks(self) -> None:
        """Wait for the task threads left by :meth:`close` (once whatever they call has been stopped)."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> LocalOrchestrator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def recover(self) -> int:
        """Resume every RUNNING execution found in the store; return how many."""
        resumed = 0
        for record in self.store.list(status="RUNNING", limit=100_000):
            if record.arn in self._live:
                continue
            # Its own revision even when its machine was deleted since: running executions of a
            # deleted machine run to their end, after a restart as before it.
            machine, revision = self._machine_of(record)
            if machine is None or record.state is None:
                logger.warning("cannot resume execution", extra={"execution": record.arn, "reason": "state machine not registered"})
                continue
            with self._lock:
                self._live[record.arn] = _Live(machine, record, revision)
                if self._spans is not None:
                    self._spans.started(record.arn, record.state_machine, (), resumed=True)
            logger.warning("execution resumed after restart", extra={"execution": record.arn})
            self._dispatch(record.arn, interpreter.pending_commands(machine, record.state))
            resumed += 1
        return resumed

    # -- API ------------------------------------------------------------------

    def start_execution(
        self,
        state_machine: str,
        input: JSON,
        *,
        name: str | None = None,
        input_text: str | None = None,
        revision_id: str | None = None,
    ) -> ExecutionRecord:
        """StartExecution: idempotent by name (same name and input → the same execution).

        Args:
            input: the execution's input value.
            input_text: the JSON text ``input`` was parsed from, when a caller gave text
                (StartExecution's ``input``): the ExecutionStarted event and the store keep
                that text as given, for DescribeExecution and GetExecutionHistory show it
                unchanged on AWS (spaces, key order and number spelling included). Without
                it, the input is kept as compact JSON.
            revision_id: run this stored revision of ``state_machine`` instead of the machine
                registered now (StartExecution with a version ARN runs the version's revision).

        Raises:
            ExecutionAlreadyExistsError: the name exists with a different input.
            NotFoundError-like KeyError: no such state machine.
        """
        machine = self._machines.get(state_machine)
        if machine is None:
            raise ExecutionNotFoundError(f"State Machine Does Not Exist: '{self.state_machine_arn(state_machine)}'")
        revision: StoredRevision | None
        if revision_id is not None:
            # A published version: its revision, whatever the machine was updated to since.
            found = self._revisions.machine_for(state_machine, revision_id)
            if found is None:
                raise ExecutionNotFoundError(f"State Machine Does Not Exist: '{self.state_machine_arn(state_machine)}'")
            revision, machine = found
        else:
            # Which stored revision this start runs, looked up before the lock (it reads the store).
            revision = self._revisions.revision_of(state_machine, machine)
            revision_id = revision.revision_id if revision is not None else None
        # The role the machine was given (CreateStateMachine's roleArn): AWS names it in the
        # ExecutionStarted event and in the context object. A machine the store does not describe
        # (an application workflow not yet recorded) keeps the interpreter's default.
        given_role: dict[str, Any] = {"role_arn": revision.role_arn} if revision is not None and revision.role_arn else {}
        name = name or str(uuid.uuid4())
        check_name(name, what="execution name")
        arn = self.execution_arn(state_machine, name)
        with self._lock:
            live = self._live.get(arn)
            if live is not None and live.record.input == input:
                return live.record  # StartExecution is idempotent for a running execution with the same input
            now = self.clock.now()
            step = interpreter.start(
                machine,
                input,
                execution_arn=arn,
                execution_name=name,
                state_machine_arn=self.state_machine_arn(state_machine),
                state_machine_name=state_machine,
                now=now,
                max_payload_bytes=self.max_payload_bytes,
                **given_role,
            )
            record = self._record_from(
                ExecutionRecord(arn=arn, name=name, state_machine=state_machine, status="RUNNING", input=input, started_at=now),
                step.state,
            )
            history = step.history if input_text is None else _with_input_text(step.history, input_text)
            revision_store = self._revisions.store
            if revision_store is not None and revision_id is not None:
                stored = revision_store.create(record, history, revision_id=revision_id)
            else:
                stored = self.store.create(record, history)
            if stored is not record:
                return stored  # an earlier StartExecution with the same name and input
            self._committed(record, history, revision)
            logger.info("execution started", extra={"execution": arn, "state_machine": state_machine})
            self.metrics.execution_started(state_machine)
            self.metrics.states_entered(state_machine, step.history)
            if self._spans is not None:
                self._spans.started(arn, state_machine, step.history)
            if record.status == "RUNNING":
                self._live[arn] = _Live(machine, record, revision)
            else:
                self._finished(record)
        self._dispatch(arn, step.commands)
        return record

    def redrive_execution(self, arn: str) -> ExecutionRecord:
        """RedriveExecution: continue a failed execution from the state that failed.

        Raises:
            ExecutionError: the execution is not failed/timed out/aborted, or its state machine is not registered.
        """
        with self._lock:
            record = self.store.get(arn)
            # A redriven execution runs the definition it started with, whatever was registered since;
            # one of a deleted machine is not redriven.
            machine, revision = self._machine_of(record) if record.state_machine in self._machines else (None, None)
            if machine is None:
                raise ExecutionNotFoundError(f"State Machine Does Not Exist: '{self.state_machine_arn(record.state_machine)}'")
            if record.arn in self._live or record.state is None:
                raise ExecutionError(f"Execution '{record.arn}' cannot be redriven now")
            try:
                step = interpreter.redrive(machine, record.state, self.clock.now())
            except ValueError as exc:
                raise ExecutionError(str(exc)) from None
            record = self._record_from(record, step.state)
            self.store.advance(record, step.history)
            self._committed(record, step.history, revision)
            logger.warning("execution redriven", extra={"execution": record.arn})
            self.metrics.execution_redriven(record.state_machine)
            self.metrics.states_entered(record.state_machine, step.history)
            if self._spans is not None:
                self._spans.started(record.arn, record.state_machine, step.history)
            if record.status == "RUNNING":
                self._live[record.arn] = _Live(machine, record, revision)
            else:
                self._finished(record)
        self._dispatch(record.arn, step.commands)
        return record

    def _machine_of(self, record: ExecutionRecord) -> tuple[StateMachine | None, StoredRevision | None]:
        """The machine the execution runs and its stored revision: the revision it started with.

        An execution without a recorded revision (started before the store kept revisions,
        or of a machine registered in code that the store did not describe then) runs with the
        machine registered under its name now: the best that is known of what it started with.
        """
        found = self._revisions.started_with(record.arn)
        if found is not None:
            return found[1], found[0]
        with self._lock:
            return self._machines.get(record.state_machine), None

    def describe(self, arn: str) -> ExecutionRecord:
        with self._lock:
            live = self._live.get(arn)
            if live is not None:
                return live.record
        return self.store.get(arn)

    def stop_execution(self, arn: str, *, error: str | None = None, cause: str | None = None) -> None:
        self._events.put((self.store.get(arn).arn, StopExecution(error, cause)))

    def send_task_success(self, task_token: str, output: JSON) -> None:
        """SendTaskSuccess for a ``.waitForTaskToken`` or activity task.

        Raises:
            TaskTokenError: the token is invalid, or its task is no longer waiting.
        """
        self._answer(task_token, lambda task: TaskSucceeded(task, output))

    def send_task_failure(self, task_token: str, *, error: str | None = None, cause: str | None = None) -> None:
        """SendTaskFailure: the task fails with ``error`` (default ``States.TaskFailed``)."""
        self._answer(task_token, lambda task: TaskFailed(task, error or "States.TaskFailed", cause))

    def send_task_heartbeat(self, task_token: str) -> None:
        """SendTaskHeartbeat: the task's HeartbeatSeconds start again."""
        self._answer(task_token, TaskHeartbeat)

    def _answer(self, task_token: str, event_of: Callable[[str], TaskSucceeded | TaskFailed | TaskHeartbeat]) -> None:
        """Apply a worker's answer, committed before the worker hears it was taken.

        Checked and applied under the lock the timers fire under: a timeout or heartbeat timer
        cannot end the task between the check and the answer, so an answer that was accepted
        is never dropped, and one that came too late is TaskTimedOut.
        """
        try:
            arn, task = interpreter.parse_task_token(task_token)
        except ValueError:
            # Step Functions' own words for a token it did not make.
            raise InvalidTaskTokenError("Invalid Token: 'Invalid token'") from None
        with self._lock:
            live = self._live.get(arn)
            if live is None or task not in (live.record.state or {}).get("tasks", {}):
                # What Step Functions answers for a task that was answered, timed out or whose execution ended.
                raise TaskTimedOutError("Task Timed Out: 'Provided task does not exist anymore'")
            if self._closed:
                # Nothing commits once stopped: the answer is dropped with the dispatcher's queue, as
                # a task's outcome is, and the task waits again at the next start.
                return
            self._step(arn, event_of(task))

    @property
    def activity_queue(self) -> ActivityQueue | None:
        """The queue activity tasks go to, once :meth:`serve_activities` gave one."""
        return self._activities.queue

    def serve_activities(self, queue: ActivityQueue) -> None:
        """Queue activity tasks on ``queue`` (what GetActivityTask takes them from); those that
        waited for a queue (resumed before one was served) are queued now."""
        self._activities.serve(queue)

    def refuse_activities(self, cause: str, exists: Callable[[str], bool]) -> None:
        """Fail activity tasks at once with States.Runtime: no queue will be served (no endpoint runs
        beside this orchestrator, so no worker could take them). ``cause`` says so; a task whose
        activity does not exist (``exists``) fails as Step Functions fails it."""
        self._activities.refuse(cause, exists)

    def start_activity_task(self, execution_arn: str, task: str, worker_name: str | None) -> HandOut:
        """GetActivityTask hands the execution's queued activity task to a worker: claim it and record
        ActivityStarted, in one transaction (a crash between the two would strand the task).

        Committed before it returns, so the worker hears of the task only once it is recorded.
        See :data:`~.activities.HandOut` for the answers.
        """
        with self._lock:
            if self._closed:
                return "closed"
            queue = self._activities.queue
            live = self._live.get(execution_arn)
            info = (live.record.state or {}).get("tasks", {}).get(task) if live is not None else None
            if queue is None or info is None or not info.get("activity"):
                return "gone"
            if info.get("started"):
                return "taken"
            with queue.hand_out(execution_arn, task, worker_name) as claimed:
                if not claimed:
                    return "taken"
                self._step(execution_arn, ActivityStarted(task, worker_name))
            return "started"

    def send(self, arn: str, event: Event) -> None:
        """Feed an outside event (task token answers, heartbeats) to an execution."""
        self._events.put((arn, event))

    def wait(self, arn: str, timeout: float | None = None) -> ExecutionRecord:
        """Block until the execution ends (or ``timeout`` seconds pass); return its record.

        Raises:
            OrchestratorStoppedError: the orchestrator stopped before the execution ended.
        """
        with self._changed:
            self._changed.wait_for(lambda: self._closed or self.describe(arn).status in TERMINAL, timeout=timeout)
            record = self.describe(arn)
            if self._closed and record.status not in TERMINAL:
                raise OrchestratorStoppedError(f"the orchestrator stopped before {arn} ended")
            return record

    def wait_all(self, timeout: float | None = None) -> bool:
        """Block until no execution is running; True if that happened before ``timeout``."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._live, timeout=timeout)

    def running(self) -> int:
        with self._lock:
            return len(self._live)

    def running_by_machine(self) -> dict[str, int]:
        """Running executions by state machine: the store's RUNNING ones, all resumed at start."""
        with self._lock:
            return dict(Counter(live.record.state_machine for live in self._live.values()))

    # -- the dispatcher -------------------------------------------------------------

    def _dispatch(self, arn: str, commands: list[Command]) -> None:
        if self._closed:
            return  # committed as pending: the next start issues them (pending_commands)
        for command in commands:
            if isinstance(command, StartTimer):
                with self._lock:
                    heapq.heappush(self._timers, (command.due, next(self._timer_seq), arn, command.token))
                self._events.put(("", TimerFired("")))  # wake the loop to re-plan its sleep
            else:
                position, found = None, False
                with self._lock:
                    live = self._live.get(arn)
                    if live is not None:
                        live.in_flight.add(command.token)
                        found = True
                        if self._spans is not None:
                            position = task_position(live.record.state, command.token)
                # Found outside the lock: the spans committed so far are built then (execution_spans.py).
                parent = self._spans.task_parent(arn, position) if self._spans is not None and found else None
                self._pool.submit(self._run_task, arn, command, parent)

    def _run_task(self, arn: str, command: InvokeTask | ReadItems | WriteResults, parent: Any = None) -> None:
        with logs.bind(execution_arn=arn):  # every line a task logs names its execution (JSON logs' correlation key)
            if self._spans is None or parent is None:
                self._carry_out(arn, command)
                return
            with self._spans.task(parent, command.state_name, command.resource, task_integration(command.resource)):
                self._carry_out(arn, command)

    def _carry_out(self, arn: str, command: InvokeTask | ReadItems | WriteResults) -> None:
        if isinstance(command, InvokeTask):
            command = replace(command, idempotency_key=f"{arn}#{command.token}", execution_arn=arn)
        try:
            mocked = self._answered(command)
            if mocked is not None:
                # A mocked answer is the task's result, .waitForTaskToken included (no callback follows).
                self._events.put((arn, mocked))
                return
            began = time.perf_counter()
            if isinstance(command, InvokeTask) and activities.is_activity(command.resource):
                # Queued for the activity's workers: a worker's SendTask* answers it.
                self._activities.schedule(arn, command)
                self._left_pool(arn, command.token)
                return
            if isinstance(command, InvokeTask) and is_child_start(command.resource):
                outcome = as_outcome(command, lambda: start_child(self, command))
            else:
                outcome = self.run_task(command)
            self._task_metrics(arn, command, outcome, time.perf_counter() - began)
            if isinstance(outcome, TaskFailed):
                self.tracing.failed(self.tracing.current_span(), outcome.error)
        except OrchestratorStoppedError:
            # It waited on this orchestrator (a .sync child), which stopped first: no outcome,
            # the task runs again at the next start.
            self._left_pool(arn, command.token)
            return
        if getattr(command, "wait_for_token", False) and isinstance(outcome, TaskSucceeded):
            # The call went out; the answer comes through SendTaskSuccess/Failure.
            self._left_pool(arn, command.token)
            self._events.put(("", TimerFired("")))
            return
        self._events.put((arn, outcome))

    def _task_metrics(self, arn: str, command: InvokeTask | ReadItems | WriteResults, outcome: Event, seconds: float) -> None:
        if getattr(command, "wait_for_token", False) and isinstance(outcome, TaskSucceeded):
            return  # only the call went out: the task ends with SendTaskSuccess/Failure
        parts = arn.split(":")  # arn:aws:states:<region>:<account>:execution:<state machine>:<name>
        machine = parts[6] if len(parts) > 6 else ""
        self.metrics.task_finished(machine, command.resource, isinstance(outcome, TaskSucceeded), seconds)

    def _answered(self, command: InvokeTask | ReadItems | WriteResults) -> TaskSucceeded | TaskFailed | None:
        if self.answer is None or not isinstance(command, InvokeTask):
            return None
        answer = self.answer
        try:
            return answer(command)
        except Exception as exc:  # a mock that cannot answer fails its task, never the execution's thread
            return TaskFailed(command.token, "States.Runtime", f"{type(exc).__name__}: {exc}")

    def _left_pool(self, arn: str, token: str) -> None:
        with self._lock:
            live = self._live.get(arn)
            if live is not None:
                live.in_flight.discard(token)
            self._changed.notify_all()

    def _loop(self) -> None:
        while True:
            timeout = self._next_wait()
            try:
                item = self._events.get(timeout=timeout)
            except queue.Empty:
                item = ("", TimerFired(""))
            if item is None:
                return
            arn, event = item
            try:
                if arn:
                    with logs.bind(execution_arn=arn):
                        self._step(arn, event)
                self._fire_due_timers()
            except Exception:
                logger.exception("orchestrator step failed", extra={"execution": arn})

    def _next_wait(self) -> float | None:
        with self._lock:
            if not self._timers:
                return None
            if self.skip_waits:
                idle = self._events.empty() and not any(live.in_flight for live in self._live.values())
                return 0.0 if idle else 0.05
            delay = (self._timers[0][0] - self.clock.now()).total_seconds()
            return max(0.0, min(delay, 1.0))

    def _fire_due_timers(self) -> None:
        while True:
            with self._lock:
                if not self._timers or self._closed:
                    return
                due, _, arn, token = self._timers[0]
                if self._skipping is not None:
                    idle = self._events.empty() and not any(live.in_flight for live in self._live.values())
                    if due > self.clock.now():
                        if not idle:
                            return
                        self._skipping.set(due)
                elif due > self.clock.now():
                    return
                heapq.heappop(self._timers)
            self._step(arn, TimerFired(token))

    def _step(self, arn: str, event: Event | ActivityEvent) -> None:
        with self._lock:
            live = self._live.get(arn)
            if live is None:
                return
            if isinstance(event, TaskSucceeded | TaskFailed):
                live.in_flight.discard(event.token)
                self._changed.notify_all()
            state = live.record.state
            try:
                if isinstance(event, Event):
                    step = interpreter.step(live.machine, state, event, self.clock.now())
                else:
                    step = activities.step(live.machine, state, event, self.clock.now())
            except Exception as exc:
                # A bug must end the execution visibly, never leave it RUNNING forever.
                logger.exception("interpreter failed; failing the execution", extra={"execution": arn})
                stop = StopExecution("States.Runtime", f"Sluiceway internal error: {type(exc).__name__}: {exc}", "FAILED")
                step = interpreter.step(live.machine, state, stop, self.clock.now())
            if not step.history and not step.commands:
                return
            record = self._record_from(live.record, step.state)
            self.store.advance(record, step.history)
            self._committed(record, step.history, live.revision)
            self.metrics.states_entered(record.state_machine, step.history)
            if self._spans is not None:
                self._spans.advanced(arn, step.history)
            live.record = record
            if record.status != "RUNNING":
                del self._live[arn]
                self._finished(record)
        self._dispatch(arn, step.commands)

    def _record_from(self, record: ExecutionRecord, state: dict[str, Any]) -> ExecutionRecord:
        status = str(state["status"])
        done = status != "RUNNING"
        return replace(
            record,
            status=status,
            output=state.get("output") if status == "SUCCEEDED" else None,
            error=state.get("error"),
            cause=state.get("cause"),
            stopped_at=self.clock.now() if done else None,
            state=state,
        )

    def _committed(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]], revision: StoredRevision | None) -> None:
        if not history:
            return
        for listener in self._history_listeners:
            try:
                listener(record, history, revision)
            except Exception:
                logger.exception("history listener failed", extra={"execution": record.arn})

    def _finished(self, record: ExecutionRecord) -> None:
        log = logger.info if record.status == "SUCCEEDED" else logger.warning
        log(
            "execution ended",
            extra={"execution": record.arn, "status": record.status, "error": record.error},
        )
        ran = (record.stopped_at - record.started_at).total_seconds() if record.stopped_at and record.started_at else None
        self.metrics.execution_ended(record.state_machine, record.status, ran)
        self._activities.ended(record.arn)
        if self._spans is not None:
            self._spans.ended(record.arn, record.status, record.error)
        for listener in self._listeners:
            try:
                listener(record)
            except Exception:
                logger.exception("execution listener failed")
        self._changed.notify_all()


def _with_input_text(history: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    """``history`` with ``text`` as its ExecutionStarted event's input.

    The interpreter writes the input it was given as compact JSON; AWS shows StartExecution's
    string there unchanged. An input the interpreter refused to serialise (too deeply nested)
    keeps its truncated, empty text.
    """
    if not history or history[0].get("type") != "ExecutionStarted":
        return history
    first = history[0]
    details = first.get("executionStartedEventDetails") or {}
    if (details.get("inputDetails") or {}).get("truncated"):
        return history
    return [{**first, "executionStartedEventDetails": {**details, "input": text}}, *history[1:]]
