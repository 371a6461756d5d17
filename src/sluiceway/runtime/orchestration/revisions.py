"""Which definition an execution runs: the revision of its state machine it started with.

Step Functions runs an execution to its end with the definition it started with; a
restart or a redrive must not switch it to a definition updated since. A store that keeps
revisions (:class:`RevisionStore`, the SQLite one) records the revision each execution
started with; this module tells the orchestrator which revision a start runs and gives back
the parsed machine of an execution's revision, parsing each revision once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from ...asl import parser
from ...asl.limits import load_json
from ...asl.model import StateMachine
from ...errors import DefinitionError
from ...ports import ExecutionRecord

logger = logging.getLogger(__name__)

__all__ = ["MachineRevisions", "RevisionStore", "StoredRevision"]


class StoredRevision(Protocol):
    """A stored revision: what the orchestrator needs of it."""

    @property
    def state_machine(self) -> str: ...

    @property
    def revision_id(self) -> str: ...

    @property
    def definition(self) -> str: ...

    @property
    def role_arn(self) -> str:
        """The role executions of this revision run with (the ExecutionStarted event and ``$$.Execution.RoleArn`` name it)."""
        ...

    @property
    def logging(self) -> Mapping[str, Any] | None:
        """Its ``loggingConfiguration`` as stored (None when none was given)."""
        ...


@runtime_checkable
class RevisionStore(Protocol):
    """An execution store that keeps state machine revisions and the one each execution started with."""

    def create(self, record: ExecutionRecord, history: Sequence[Mapping[str, Any]], *, revision_id: str | None = None) -> ExecutionRecord:
        """Insert a new execution, recording the revision it started with in the same transaction."""
        ...

    def current_revision(self, name: str) -> StoredRevision | None:
        """The revision the state machine is at now; None for one the store does not keep."""
        ...

    def execution_revision(self, arn: str) -> StoredRevision | None:
        """The revision the execution started with; None when none was recorded."""
        ...

    def machine_revisions(self, name: str) -> Sequence[StoredRevision]:
        """Every stored revision of the state machine, the newest first."""
        ...

    def revision(self, name: str, revision_id: str) -> StoredRevision | None:
        """The state machine's stored revision ``revision_id``; None if it is not stored."""
        ...


class MachineRevisions:
    """Parsed machines by ``(state machine, revision id)``, each revision parsed once.

    Args:
        store: the orchestrator's store; one that keeps no revisions makes every method a no-op
            (executions then run with the machine registered under their name).
    """

    def __init__(self, store: object) -> None:
        self._store = store if isinstance(store, RevisionStore) else None
        self._lock = threading.Lock()
        self._parsed: dict[tuple[str, str], StateMachine] = {}
        # By (name, current revision): the last machine looked for among the older revisions, and
        # what was found; a machine no revision describes would otherwise be looked for at each start.
        self._older: dict[tuple[str, str], tuple[StateMachine, StoredRevision | None]] = {}

    @property
    def store(self) -> RevisionStore | None:
        return self._store

    def revision_of(self, name: str, machine: StateMachine) -> StoredRevision | None:
        """The stored revision whose definition ``machine`` is (read once: its role and logging
        configuration come with it).

        Usually the machine's current revision. It is an older one when a start races
        UpdateStateMachine, which stores the new revision before it registers the new machine:
        a start in between runs the machine still registered, and must record that machine's
        revision, not the new one (a resume or redrive would otherwise run another definition).

        None when the store keeps no revisions, does not know the machine, or keeps no revision
        with this definition (an application workflow whose changed definition the endpoint has
        not recorded yet): an execution started then has no recorded revision.
        """
        if self._store is None:
            return None
        current = self._store.current_revision(name)
        if current is None:
            return None
        if self._is(current, machine):
            return current
        with self._lock:
            seen = self._older.get((name, current.revision_id))
        if seen is not None and seen[0] is machine:
            return seen[1]  # this machine was looked for among these revisions already
        found = None
        for revision in self._store.machine_revisions(name):
            if revision.revision_id != current.revision_id and self._is(revision, machine):
                found = revision
                break
        with self._lock:
            self._older[(name, current.revision_id)] = (machine, found)
        return found

    def _is(self, revision: StoredRevision, machine: StateMachine) -> bool:
        """Whether ``machine`` is ``revision``'s definition (remembered as its parse when it is)."""
        key = (revision.state_machine, revision.revision_id)
        with self._lock:
            known = self._parsed.get(key)
        if known is not None:
            return known is machine or dict(known.definition) == dict(machine.definition)
        try:
            same = bool(load_json(revision.definition) == dict(machine.definition))
        except ValueError:
            same = False
        if same:
            with self._lock:
                # The registered machine is this revision parsed: no need to parse it again.
                self._parsed.setdefault(key, machine)
        return same

    def remember(self, name: str, revision_id: str, machine: StateMachine) -> None:
        """``machine`` is revision ``revision_id`` of ``name`` (already parsed: no need to parse it again)."""
        with self._lock:
            self._parsed.setdefault((name, revision_id), machine)

    def machine_for(self, name: str, revision_id: str) -> tuple[StoredRevision, StateMachine] | None:
        """The stored revision ``revision_id`` of ``name`` and its parsed machine (a published
        version's, which StartExecution with a version ARN runs); None when it is not stored."""
        if self._store is None:
            return None
        revision = self._store.revision(name, revision_id)
        machine = None if revision is None else self._parse(revision)
        return None if revision is None or machine is None else (revision, machine)

    def started_with(self, arn: str) -> tuple[StoredRevision, StateMachine] | None:
        """The revision the execution started with and its parsed machine; None when none was
        recorded (or its definition no longer parses, which is logged)."""
        if self._store is None:
            return None
        revision = self._store.execution_revision(arn)
        machine = None if revision is None else self._parse(revision)
        return None if revision is None or machine is None else (revision, machine)

    def machine_of(self, arn: str) -> StateMachine | None:
        """The parsed machine of the revision the execution started with (see :meth:`started_with`)."""
        found = self.started_with(arn)
        return None if found is None else found[1]

    def _parse(self, revision: StoredRevision) -> StateMachine | None:
        key = (revision.state_machine, revision.revision_id)
        with self._lock:
            cached = self._parsed.get(key)
        if cached is not None:
            return cached
        try:
            machine = parser.parse_text(revision.definition)
        except DefinitionError as exc:
            # Stored by an older Sluiceway whose parser accepted it: nothing can run it as it was.
            logger.warning(
                "stored revision no longer parses",
                extra={"state_machine": revision.state_machine, "revision": revision.revision_id, "error": str(exc)},
            )
            return None
        with self._lock:
            return self._parsed.setdefault(key, machine)
