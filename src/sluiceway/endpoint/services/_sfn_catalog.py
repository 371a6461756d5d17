"""Step Functions' state machines: the application's own and those created through the endpoint.

The orchestrator runs what is registered with it; the execution store keeps what
DescribeStateMachine answers (the definition text, type, role, tags, dates). The
application's workflows are registered in code when the stack is built: the catalog
records them in the store the first time it looks (so their creation date holds across
restarts) and marks them built in. Machines created through the endpoint are stored
and registered; a restarted stack registers them again before it resumes their executions
(:meth:`~sluiceway.runtime.orchestration.executor.LocalOrchestrator.load_stored_machines`).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...asl import parser
from ...asl.limits import MAX_DEFINITION_CHARS, load_json
from ...asl.model import StateMachine
from ...backends.local.executions import SqliteExecutionStore, StateMachineRecord
from ...backends.local.versions import SqliteVersionStore
from ...errors import DefinitionError, InvalidNameError
from ...names import check_name
from ...runtime.orchestration.json_reasons import jackson_reason
from ..errors import AwsError
from ..sdk_tasks import sdk_diagnostics
from ._sfn_express import express_diagnostics
from ._sfn_logging import checked_logging, described_logging, described_tracing

if TYPE_CHECKING:
    from ...runtime.orchestration.executor import LocalOrchestrator
    from ...runtime.stack import Stack

__all__ = [
    "Catalog",
    "StateMachineRecord",
    "definition_error",
    "invalid_arn",
    "parse_definition",
    "validation_error",
]

TYPES = ("STANDARD", "EXPRESS")
_ROLE = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}$")


def invalid_arn(arn: str, why: str | None = None) -> AwsError:
    """Step Functions' InvalidArn, worded as it words it."""
    if not arn.startswith("arn:"):
        return AwsError("InvalidArn", f"Invalid Arn: 'Invalid ARN prefix: {arn}'")
    return AwsError("InvalidArn", f"Invalid Arn: '{why or 'Resource type not valid in this context'}: {arn}'")


def validation_error(member: str, value: object, constraint: str) -> AwsError:
    """AWS's model-constraint message (one violation)."""
    return AwsError(
        "ValidationException",
        f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}",
    )


def definition_error(exc: DefinitionError) -> AwsError:
    """InvalidDefinition as Step Functions words it: ``'<CODE>: <message> at <location>'`` per problem."""
    diagnostics = getattr(exc, "diagnostics", None)
    if diagnostics:
        problems = [f"{d.code}: {d.message} at {d.location}" for d in diagnostics]
    else:
        problems = [f"SCHEMA_VALIDATION_FAILED: {issue}" for issue in exc.issues]
    return AwsError("InvalidDefinition", "Invalid State Machine Definition: '" + ", ".join(problems) + "'")


def parse_definition(text: str) -> StateMachine:
    """Parse definition text as CreateStateMachine does.

    Raises:
        AwsError: InvalidDefinition with every problem found.
    """
    if len(text) > MAX_DEFINITION_CHARS:
        raise validation_error("definition", "...", f"Member must have length less than or equal to {MAX_DEFINITION_CHARS}")
    try:
        doc = load_json(text)
    except ValueError as exc:
        reason = jackson_reason(text, exc)
        raise AwsError("InvalidDefinition", f"Invalid State Machine Definition: 'INVALID_JSON_DESCRIPTION: {reason}'") from None
    try:
        return parser.parse(doc)
    except DefinitionError as exc:
        raise definition_error(exc) from None


class Catalog:
    """The state machines of one stack, as Step Functions lists and describes them."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.store: SqliteExecutionStore = stack.local.executions
        self.versions = SqliteVersionStore(self.store.db)
        self.orchestrator: LocalOrchestrator = stack.orchestrator
        self.region = stack.settings.region
        self.account_id = stack.settings.account_id
        self._lock = threading.RLock()  # create() reads through get(), whose _sync() takes it too
        self._synced: set[str] = set()

    # -- names and ARNs ----------------------------------------------------------------

    def arn(self, name: str) -> str:
        return self.orchestrator.state_machine_arn(name)

    def name_of(self, arn: str, member: str = "stateMachineArn") -> str:
        """The state machine's name in ``arn`` (of this region and account).

        Raises:
            AwsError: InvalidArn for anything that is not a state machine ARN here.
        """
        parts = arn.split(":")
        if len(parts) < 7 or parts[0] != "arn" or parts[2] != "states":
            raise invalid_arn(arn)
        if parts[5] != "stateMachine" or len(parts) != 7 or not parts[6]:
            # A version or alias ARN (name:1, name:alias) names something the local stack does not keep.
            raise invalid_arn(arn, "Resource type not valid in this context" if parts[5] != "stateMachine" else "Invalid ARN")
        if parts[3] != self.region or parts[4] != self.account_id:
            raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return parts[6]

    # -- reading -------------------------------------------------------------------------

    def get(self, name: str) -> StateMachineRecord | None:
        """The machine's record (the application's own are recorded on first sight); None if unknown."""
        self._sync(name)
        record = self.store.get_state_machine(name)
        if record is None or self.orchestrator.machine(name) is None:
            return None
        return record

    def must_get(self, arn: str) -> StateMachineRecord:
        record = self.get(self.name_of(arn))
        if record is None:
            raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
        return record

    def all(self) -> list[StateMachineRecord]:
        """Every registered state machine, by name."""
        out = []
        for name in self.orchestrator.machine_names():
            record = self.get(name)
            if record is not None:
                out.append(record)
        return out

    def _sync(self, name: str) -> None:
        """Record an application workflow the store has not seen (or whose definition changed)."""
        if name in self._synced:
            return
        machine = self.orchestrator.machine(name)
        if machine is None:
            return
        with self._lock:
            stored = self.store.get_state_machine(name)
            if stored is None or stored.builtin:
                text = json.dumps(dict(machine.definition), indent=2)
                if stored is None:
                    self.store.create_state_machine(
                        name, text, role_arn=self.default_role(), type="STANDARD", now=datetime.now(UTC), builtin=True
                    )
                elif not _same_json(stored.definition, text):
                    self.store.update_state_machine(replace(stored, definition=text, updated_at=datetime.now(UTC)))
            self._synced.add(name)

    def checked_logging(self, configuration: Mapping[str, Any] | None) -> dict[str, Any] | None:
        """A loggingConfiguration as it is stored (see :mod:`._sfn_logging`); raises InvalidLoggingConfiguration."""
        return checked_logging(configuration, self.stack.local.logs, region=self.region, account_id=self.account_id)

    def default_role(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/sluiceway"

    # -- writing -------------------------------------------------------------------------

    def create(self, params: Mapping[str, Any]) -> tuple[StateMachineRecord, bool]:
        """CreateStateMachine: ``(record, created)``; the same request again returns the existing one."""
        name = params["name"]
        _check_name(name)
        text = params["definition"]
        machine = parse_definition(text)
        role = check_role(params["roleArn"])
        kind = params.get("type") or "STANDARD"
        if kind not in TYPES:
            raise validation_error("type", kind, "Member must satisfy enum value set: [STANDARD, EXPRESS]")
        _check_express(machine, kind)
        tags = tag_map(params.get("tags") or [])
        logging_configuration = self.checked_logging(params.get("loggingConfiguration"))
        tracing = params.get("tracingConfiguration")
        with self._lock:
            existing = self.get(name)
            if existing is not None:
                # CreateStateMachine is idempotent: the same definition, type, logging and tracing
                # configuration give the existing machine back, unchanged; another roleArn or other
                # tags are ignored, as the API reference says. Anything else is StateMachineAlreadyExists.
                # (publish and versionDescription are part of AWS's check too; nothing here records
                # which a machine was created with.)
                same = (
                    existing.definition == text
                    and existing.type == kind
                    and described_logging(existing.logging) == described_logging(logging_configuration)
                    and described_tracing(existing.tracing) == described_tracing(tracing)
                )
                if not same:
                    raise AwsError("StateMachineAlreadyExists", f"State Machine Already Exists: '{self.arn(name)}'")
                return existing, False
            stored, created = self.store.create_state_machine(
                name,
                text,
                role_arn=role,
                type=kind,
                now=datetime.now(UTC),
                logging=logging_configuration,
                tracing=tracing,
                tags=tags,
            )
            if not created:
                # Stored but not registered: left by a stack that stopped between the two. Ours replaces it.
                stored = replace(
                    stored, definition=text, role_arn=role, type=kind, tags=tags, logging=logging_configuration, tracing=tracing
                )
                self.store.update_state_machine(stored)
            self.orchestrator.register(name, machine)
            self._synced.add(name)
        return stored, True

    def update(self, record: StateMachineRecord, params: Mapping[str, Any]) -> StateMachineRecord:
        """UpdateStateMachine: a new definition and/or role (and logging/tracing configuration)."""
        _not_builtin(record, "updated")
        changes: dict[str, Any] = {}
        machine: StateMachine | None = None
        if params.get("definition") is not None:
            machine = parse_definition(params["definition"])
            _check_express(machine, record.type)
            changes["definition"] = params["definition"]
        if params.get("roleArn") is not None:
            changes["role_arn"] = check_role(params["roleArn"])
        if params.get("loggingConfiguration") is not None:
            changes["logging"] = self.checked_logging(params["loggingConfiguration"])
        if params.get("tracingConfiguration") is not None:
            changes["tracing"] = params["tracingConfiguration"]
        if not changes:
            raise AwsError(
                "MissingRequiredParameter",
                "Either the definition, the role ARN, the LoggingConfiguration, or the TracingConfiguration must be specified",
            )
        if all(_same(key, getattr(record, key), value) for key, value in changes.items()):
            # AWS answers an update that changes nothing with the revision the machine is at,
            # and makes none (recorded): at the one CreateStateMachine made that is no revisionId,
            # and publishing then numbers that revision. Logging OFF or tracing disabled sent to
            # a machine given neither changes nothing: both are compared as DescribeStateMachine shows them.
            return record
        updated = replace(record, **changes, updated_at=datetime.now(UTC), revision_id=str(uuid.uuid4()))
        with self._lock:
            self.store.update_state_machine(updated)
            if machine is not None:
                self.orchestrator.register(record.name, machine)
        return updated

    def delete(self, record: StateMachineRecord) -> None:
        """DeleteStateMachine: no new executions; running ones run to their end, as on AWS."""
        _not_builtin(record, "deleted")
        with self._lock:
            self.orchestrator.unregister(record.name)
            self.store.delete_state_machine(record.name)
            self._synced.discard(record.name)

    def set_tags(self, record: StateMachineRecord, tags: Mapping[str, str]) -> None:
        self.store.update_state_machine(replace(record, tags=dict(tags)))


def _same(key: str, stored: Any, given: Any) -> bool:
    if key == "logging":
        return described_logging(stored) == described_logging(given)
    if key == "tracing":
        return described_tracing(stored) == described_tracing(given)
    return bool(stored == given)


def _check_express(machine: StateMachine, kind: str) -> None:
    """InvalidDefinition for what an Express machine may not use (see :mod:`._sfn_express`), and
    for AWS SDK actions the served services do not have (see :func:`~..sdk_tasks.sdk_diagnostics`)."""
    problems = sdk_diagnostics(machine.definition)
    if kind == "EXPRESS":
        problems += express_diagnostics(machine.definition)
    if problems:
        reasons = ", ".join(f"{d.code}: {d.message} at {d.location}" for d in problems)
        raise AwsError("InvalidDefinition", f"Invalid State Machine Definition: '{reasons}'")


def _not_builtin(record: StateMachineRecord, what: str) -> None:
    if record.builtin:
        # The application's workflows come from its definition and are registered again at
        # every start: changing one here would be undone silently. On AWS they would be
        # managed by the application's CloudFormation stack the same way.
        raise AwsError(
            "ValidationException",
            f"State machine '{record.name}' belongs to the application and cannot be {what} through the endpoint;"
            " change the application instead",
        )


def _check_name(name: str) -> None:
    if len(name) > 80:
        raise validation_error("name", name, "Member must have length less than or equal to 80")
    try:
        check_name(name, what="state machine name")
    except InvalidNameError:
        raise AwsError("InvalidName", f"Invalid Name: '{name}'") from None


def check_role(role: str) -> str:
    if not _ROLE.match(role):
        raise invalid_arn(role, "Resource type not valid in this context")
    return role


def tag_map(tags: list[Mapping[str, str]]) -> dict[str, str]:
    if len(tags) > 50:
        raise AwsError("TooManyTags", "Too many tags: a resource may have at most 50 tags")
    return {t["key"]: t.get("value", "") for t in tags}


def _same_json(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False
