"""CreateStateMachine's and UpdateStateMachine's ``loggingConfiguration``: checked and completed as Step Functions does.

A level other than ``OFF`` needs exactly one destination: a log group that exists, named by
its ARN with the ``:*`` qualifier. Step Functions checks the group at once (a missing one is
refused then, not when an execution logs) and leaves a stream of its own in it, with one event
saying delivery works. What is stored is what DescribeStateMachine answers: ``level`` and
``includeExecutionData`` always (``OFF`` and false by default), ``destinations`` as given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...backends.local.logs import SqliteLogStore
from ...errors import ConflictError, NotFoundError
from ...runtime.orchestration.execution_logs import VALIDATION_MESSAGE, VALIDATION_STREAM, log_group_name
from ..errors import AwsError

__all__ = ["LEVELS", "checked_logging", "described_logging", "described_tracing"]

LEVELS = ("ALL", "ERROR", "FATAL", "OFF")
"""``loggingConfiguration.level``'s enum, in the order AWS's ValidationException lists it."""

_ONE_DESTINATION = "Must specify exactly one Log Destination."
_NOT_FOUND = "Log Destination not found."
_QUALIFIER = "Log Group ARN must be provided with '*' qualifier."


def _invalid(reason: str) -> AwsError:
    return AwsError("InvalidLoggingConfiguration", f"Invalid Logging Configuration: {reason}")


def checked_logging(
    configuration: Mapping[str, Any] | None, logs: SqliteLogStore, *, region: str, account_id: str
) -> dict[str, Any] | None:
    """The configuration to store (None when none was given).

    Raises:
        AwsError: InvalidLoggingConfiguration, in AWS's words (recorded): no or several
            destinations for a level that logs, an ARN without ``:*``, a log group that does not exist.
    """
    if configuration is None:
        return None
    level = configuration.get("level") or "OFF"
    if level not in LEVELS:
        # The model's enum, checked before anything else of the configuration (AWS's words).
        raise AwsError(
            "ValidationException",
            f"1 validation error detected: Value '{level}' at 'loggingConfiguration.level' failed to satisfy"
            f" constraint: Member must satisfy enum value set: [{', '.join(LEVELS)}]",
        )
    destinations = configuration.get("destinations")
    if destinations is not None and len(destinations) > 1:
        raise _invalid(_ONE_DESTINATION)
    if level != "OFF" and not destinations:
        raise _invalid(_ONE_DESTINATION)
    stored: dict[str, Any] = {"level": level, "includeExecutionData": bool(configuration.get("includeExecutionData", False))}
    if destinations is not None:
        stored["destinations"] = [dict(d) for d in destinations]
    if level != "OFF":
        assert destinations is not None
        _check_group(destinations[0], logs, region=region, account_id=account_id)
    return stored


def described_logging(configuration: Mapping[str, Any] | None) -> dict[str, Any]:
    """A loggingConfiguration as DescribeStateMachine shows it: ``level`` and ``includeExecutionData``
    always (``OFF`` and false when absent), ``destinations`` when there are any.

    Two configurations are the same when these are: CreateStateMachine's idempotency and an
    UpdateStateMachine that changes nothing compare them so.
    """
    configuration = configuration or {}
    out: dict[str, Any] = {
        "level": configuration.get("level") or "OFF",
        "includeExecutionData": bool(configuration.get("includeExecutionData", False)),
    }
    if configuration.get("destinations"):
        out["destinations"] = [dict(d) for d in configuration["destinations"]]
    return out


def described_tracing(configuration: Mapping[str, Any] | None) -> dict[str, Any]:
    """A tracingConfiguration as DescribeStateMachine shows it (``{"enabled": false}`` when absent)."""
    return {"enabled": bool((configuration or {}).get("enabled", False))}


def _check_group(destination: Mapping[str, Any], logs: SqliteLogStore, *, region: str, account_id: str) -> None:
    arn = (destination.get("cloudWatchLogsLogGroup") or {}).get("logGroupArn")
    if not isinstance(arn, str) or not arn:
        # A destination naming no log group is one that cannot be found (AWS's words not confirmed).
        raise _invalid(_NOT_FOUND)
    if not arn.endswith(":*"):
        raise _invalid(_QUALIFIER)
    group = log_group_name(arn)
    parts = arn.split(":")
    # One region and account are served: a group of another is one that is not found here.
    if group is None or parts[3] != region or parts[4] != account_id or not logs.has_group(group):
        raise _invalid(_NOT_FOUND)
    try:
        logs.create_stream(group, VALIDATION_STREAM)
    except ConflictError:
        return  # set up before: AWS leaves one such stream
    except NotFoundError:
        raise _invalid(_NOT_FOUND) from None  # deleted in between
    try:
        logs.put(group, VALIDATION_STREAM, [(logs.clock_ms(), VALIDATION_MESSAGE)])
    except NotFoundError:
        raise _invalid(_NOT_FOUND) from None
