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

__all__ = ["checked_logging"]

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
