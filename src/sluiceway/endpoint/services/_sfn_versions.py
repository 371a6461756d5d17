"""Step Functions' state machine versions and aliases, as AWS names, validates and answers them.

A version ARN is the machine's ARN and ``:<number>``; an alias ARN is the machine's ARN and
``:<alias name>`` (an alias name always has a letter or ``_ - .``, so the two never clash).
StartExecution takes either: a version runs the revision it was published from, an alias
picks one of its (at most two) versions by weight. The execution remembers both, and
DescribeExecution and ListExecutions show them. Kept durably by
:class:`~sluiceway.backends.local.versions.SqliteVersionStore`.
"""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ...backends.local.versions import (
    ExecutionVersion,
    RevisionChangedError,
    StateMachineAlias,
    StateMachineVersion,
    VersionInUseError,
    VersionQuotaError,
)
from ...errors import ConflictError, NotFoundError
from ..errors import AwsError
from ._sfn_catalog import invalid_arn, validation_error

if TYPE_CHECKING:
    from ._sfn_catalog import Catalog

__all__ = [
    "DEFAULT_ENCRYPTION",
    "ROUTING",
    "Target",
    "create_alias",
    "delete_alias",
    "delete_version",
    "describe_alias",
    "describe_version",
    "list_aliases",
    "list_versions",
    "publish",
    "resolve",
    "route",
    "update_alias",
]

VERSION_LIMIT = 1000
"""Versions a state machine may have (PublishStateMachineVersion's documentation)."""
ALIAS_LIMIT = 100
"""Aliases a state machine may have (CreateStateMachineAlias's documentation)."""
MAX_DESCRIPTION = 256
"""VersionDescription's and AliasDescription's length limit (the service model)."""
_ALIAS_NAME = re.compile(r"^(?=.*[a-zA-Z_\-\.])[a-zA-Z0-9_\-\.]+$")
"""CharacterRestrictedName: at least one character that is not a digit, so no alias looks like a version."""
_NO_ALIAS = "Request references a resource that does not exist."
DEFAULT_ENCRYPTION = {"type": "AWS_OWNED_KEY"}
"""What DescribeStateMachine answers for a machine encrypted with AWS's own key, the default (recorded)."""


@dataclass(frozen=True)
class Target:
    """What a StartExecution ARN names: a machine, one of its versions, or an alias (and the version it picked)."""

    name: str
    version: StateMachineVersion | None = None
    alias: str | None = None

    def started(self) -> ExecutionVersion | None:
        """What the execution records of how it was started; None when started by the machine's own ARN."""
        if self.version is None:
            return None
        return ExecutionVersion(self.name, self.version.version, self.alias)


# -- ARNs -------------------------------------------------------------------------------------


def split(catalog: Catalog, arn: str) -> tuple[str, str | None]:
    """``(machine name, qualifier)`` of a state machine ARN of this region and account; the
    qualifier (a version number or an alias name) is None for the machine's own ARN.

    Raises:
        AwsError: InvalidArn for what is no state machine ARN; StateMachineDoesNotExist for one
            of another region or account.
    """
    parts = arn.split(":")
    if len(parts) not in (7, 8) or parts[0] != "arn" or parts[2] != "states":
        raise invalid_arn(arn)
    if parts[5] != "stateMachine" or not all(parts[6:]):
        raise invalid_arn(arn)
    if parts[3] != catalog.region or parts[4] != catalog.account_id:
        raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
    return parts[6], parts[7] if len(parts) == 8 else None


def version_arn(catalog: Catalog, name: str, number: int) -> str:
    return f"{catalog.arn(name)}:{number}"


def alias_arn(catalog: Catalog, name: str, alias: str) -> str:
    return f"{catalog.arn(name)}:{alias}"


def _version_number(qualifier: str | None) -> int | None:
    return int(qualifier) if qualifier is not None and qualifier.isdigit() else None


def _must_exist(catalog: Catalog, name: str, arn: str) -> None:
    if catalog.get(name) is None:
        raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")


# -- versions ---------------------------------------------------------------------------------


def check_version_description(params: Mapping[str, Any], member: str = "versionDescription") -> str | None:
    description = params.get(member)
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise validation_error(member, description, f"Member must have length less than or equal to {MAX_DESCRIPTION}")
    return description


def check_publish(params: Mapping[str, Any]) -> None:
    """CreateStateMachine's and UpdateStateMachine's ``versionDescription`` goes with ``publish`` only."""
    if params.get("versionDescription") is not None and not params.get("publish"):
        raise AwsError("ValidationException", "Version description can only be set when publish is true")
    check_version_description(params)


def publish(catalog: Catalog, name: str, *, description: str | None = None, revision_id: str | None = None) -> StateMachineVersion:
    """Publish the machine's current revision (or return the version that has it already).

    Raises:
        AwsError: StateMachineDoesNotExist, ConflictException (``revision_id`` is not current),
            ServiceQuotaExceededException (1000 versions).
    """
    try:
        version, _ = catalog.versions.publish(
            name, now=datetime.now(UTC), description=description, revision_id=revision_id, limit=VERSION_LIMIT
        )
    except NotFoundError:
        raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{catalog.arn(name)}'") from None
    except RevisionChangedError as exc:
        raise AwsError(
            "ConflictException",
            f"Failed to publish the State Machine version for revision {exc.expected}."
            f" The current State Machine revision is {exc.current}.",
            409,
        ) from None
    except VersionQuotaError:
        raise AwsError(
            "ServiceQuotaExceededException",
            f"The maximum number of versions ({VERSION_LIMIT}) for state machine '{catalog.arn(name)}' has been reached.",
            402,
        ) from None
    return version


def publish_operation(catalog: Catalog, params: Mapping[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineArn"]
    name = catalog.name_of(arn)
    description = check_version_description(params, "description")
    _must_exist(catalog, name, arn)
    version = publish(catalog, name, description=description, revision_id=params.get("revisionId"))
    return {"creationDate": version.created_at, "stateMachineVersionArn": version_arn(catalog, name, version.version)}


def list_versions(catalog: Catalog, params: Mapping[str, Any], limit: int, after: str | None) -> dict[str, Any]:
    arn = params["stateMachineArn"]
    name = catalog.name_of(arn)
    _must_exist(catalog, name, arn)
    if after is not None and not after.isdigit():
        raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'")
    versions = [v for v in catalog.versions.versions(name) if after is None or v.version < int(after)]
    page = versions[:limit]
    out: dict[str, Any] = {
        "stateMachineVersions": [
            {"stateMachineVersionArn": version_arn(catalog, name, v.version), "creationDate": v.created_at} for v in page
        ]
    }
    if len(versions) > limit:
        out["nextToken"] = _token(str(page[-1].version))
    return out


def delete_version(catalog: Catalog, params: Mapping[str, Any]) -> dict[str, Any]:
    arn = params["stateMachineVersionArn"]
    name, qualifier = split(catalog, arn)
    number = _version_number(qualifier)
    if number is None:
        raise invalid_arn(arn)
    try:
        catalog.versions.delete_version(name, number)  # deleting what does not exist succeeds, as on AWS (recorded)
    except VersionInUseError as exc:
        raise AwsError(
            "ConflictException",
            "Version to be deleted must not be referenced by an alias. "
            f"Current list of aliases referencing this version: [{', '.join(exc.aliases)}]",
            409,
        ) from None
    return {}


def describe_version(catalog: Catalog, arn: str, name: str, qualifier: str) -> dict[str, Any]:
    """DescribeStateMachine of a version ARN: the revision it was published from, with the version's ARN and date."""
    number = _version_number(qualifier)
    version = None if number is None or catalog.get(name) is None else catalog.versions.version(name, number)
    if version is None:
        raise AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
    revision = version.revision
    out: dict[str, Any] = {
        "stateMachineArn": version_arn(catalog, name, version.version),
        "name": name,
        "status": "ACTIVE",
        "definition": revision.definition,
        "roleArn": revision.role_arn,
        "type": revision.type,
        "creationDate": version.created_at,
        "loggingConfiguration": revision.logging or {"level": "OFF", "includeExecutionData": False},
        "tracingConfiguration": revision.tracing or {"enabled": False},
        "encryptionConfiguration": DEFAULT_ENCRYPTION,
    }
    if not revision.initial:
        out["revisionId"] = revision.revision_id  # the initial revision has none on AWS (recorded)
    if version.description is not None:
        out["description"] = version.description
    return out


# -- aliases ----------------------------------------------------------------------------------


def _check_alias_name(name: str) -> None:
    if len(name) > 80:
        raise validation_error("name", name, "Member must have length less than or equal to 80")
    if not _ALIAS_NAME.match(name):
        raise validation_error("name", name, f"Member must satisfy regular expression pattern: {_ALIAS_NAME.pattern}")


def _routing(catalog: Catalog, items: list[Mapping[str, Any]]) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The machine and ``(version, weight)`` pairs a routingConfiguration names, checked as AWS checks it (recorded wording)."""
    if len(items) > 2:
        listed = ", ".join(
            f"RoutingConfigurationListItem(stateMachineVersionArn={i['stateMachineVersionArn']}, weight={i['weight']})" for i in items
        )
        raise validation_error("routingConfiguration", f"[{listed}]", "Member must have length less than or equal to 2")
    arns = [str(i["stateMachineVersionArn"]) for i in items]
    if len(set(arns)) < len(arns):
        raise AwsError(
            "ValidationException", f"Routing configuration must contain distinct state machine version ARNs. Received: [{', '.join(arns)}]"
        )
    weights = [int(i["weight"]) for i in items]
    for index, weight in enumerate(weights, start=1):
        if weight > 100:
            raise validation_error(
                f"routingConfiguration.{index}.member.weight", weight, "Member must have value less than or equal to 100"
            )
        if weight < 0:
            raise validation_error(
                f"routingConfiguration.{index}.member.weight", weight, "Member must have value greater than or equal to 0"
            )
    if sum(weights) != 100:
        raise AwsError(
            "ValidationException", f"Sum of routing configuration weights must equal 100. Received: [{', '.join(map(str, weights))}]"
        )
    not_versions = AwsError(
        "ValidationException", f"Routing configuration must contain state machine version ARNs. Received: [{', '.join(arns)}]"
    )
    routed: list[tuple[str, int]] = []
    for arn in arns:
        try:
            name, qualifier = split(catalog, arn)
        except AwsError:
            raise not_versions from None
        number = _version_number(qualifier)
        if number is None or catalog.get(name) is None or catalog.versions.version(name, number) is None:
            raise not_versions
        routed.append((name, number))
    machines = {name for name, _ in routed}
    if len(machines) > 1:
        raise AwsError("ValidationException", "Both stateMachineVersionArn values must belong to the same state machine.")
    return routed[0][0], tuple((number, weight) for (_, number), weight in zip(routed, weights, strict=True))


def _check_alias_description(description: str | None) -> None:
    if description is not None and len(description) > MAX_DESCRIPTION:
        raise validation_error("description", description, f"Member must have length less than or equal to {MAX_DESCRIPTION}")


def create_alias(catalog: Catalog, params: Mapping[str, Any]) -> dict[str, Any]:
    alias_name = params["name"]
    _check_alias_name(alias_name)
    description = params.get("description")
    _check_alias_description(description)
    name, routing = _routing(catalog, list(params["routingConfiguration"]))
    now = datetime.now(UTC)
    alias = StateMachineAlias(name, alias_name, routing, now, now, description)
    try:
        stored, _ = catalog.versions.create_alias(alias, limit=ALIAS_LIMIT)
    except VersionQuotaError:
        raise AwsError(
            "ServiceQuotaExceededException",
            f"The maximum number of aliases ({ALIAS_LIMIT}) for state machine '{catalog.arn(name)}' has been reached.",
            402,
        ) from None
    except NotFoundError:
        # A version deleted while the request was checked.
        raise AwsError("ResourceNotFound", _NO_ALIAS) from None
    except ConflictError:
        raise AwsError(
            "ConflictException",
            "Failed to create alias because an alias with the same name and a different routing configuration already exists.",
            409,
        ) from None
    return {"stateMachineAliasArn": alias_arn(catalog, name, alias_name), "creationDate": stored.created_at}


def _alias_of(catalog: Catalog, arn: str) -> tuple[str, str]:
    name, qualifier = split(catalog, arn)
    if qualifier is None or _version_number(qualifier) is not None:
        raise invalid_arn(arn)
    return name, qualifier


def describe_alias(catalog: Catalog, params: Mapping[str, Any]) -> dict[str, Any]:
    name, alias_name = _alias_of(catalog, params["stateMachineAliasArn"])
    alias = catalog.versions.alias(name, alias_name) if catalog.get(name) is not None else None
    if alias is None:
        raise AwsError("ResourceNotFound", _NO_ALIAS)
    out: dict[str, Any] = {
        "stateMachineAliasArn": alias_arn(catalog, name, alias_name),
        "name": alias_name,
        "routingConfiguration": [{"stateMachineVersionArn": version_arn(catalog, name, v), "weight": w} for v, w in alias.routing],
        "creationDate": alias.created_at,
        "updateDate": alias.updated_at,
    }
    if alias.description is not None:
        out["description"] = alias.description
    return out


def update_alias(catalog: Catalog, params: Mapping[str, Any]) -> dict[str, Any]:
    name, alias_name = _alias_of(catalog, params["stateMachineAliasArn"])
    description = params.get("description")
    items = params.get("routingConfiguration")
    if description is None and items is None:
        raise AwsError("ValidationException", "You must provide at least one of routingConfiguration or description")
    _check_alias_description(description)
    routing = None
    if items is not None:
        routed_name, routing = _routing(catalog, list(items))
        if routed_name != name:
            raise AwsError("ValidationException", "Both stateMachineVersionArn values must belong to the same state machine.")
    if catalog.get(name) is None:
        raise AwsError("ResourceNotFound", _NO_ALIAS)
    try:
        updated = catalog.versions.update_alias(name, alias_name, now=datetime.now(UTC), description=description, routing=routing)
    except NotFoundError:
        raise AwsError("ResourceNotFound", _NO_ALIAS) from None
    return {"updateDate": updated.updated_at}


def delete_alias(catalog: Catalog, params: Mapping[str, Any]) -> dict[str, Any]:
    name, alias_name = _alias_of(catalog, params["stateMachineAliasArn"])
    catalog.versions.delete_alias(name, alias_name)  # deleting what does not exist succeeds, as on AWS (recorded)
    return {}


def list_aliases(catalog: Catalog, params: Mapping[str, Any], limit: int, after: str | None) -> dict[str, Any]:
    """The machine's aliases, oldest first; with a version ARN, those that route to the version."""
    arn = params["stateMachineArn"]
    name, qualifier = split(catalog, arn)
    number = _version_number(qualifier)
    if qualifier is not None and number is None:
        raise invalid_arn(arn)
    _must_exist(catalog, name, arn)
    if number is not None and catalog.versions.version(name, number) is None:
        raise AwsError("ResourceNotFound", f"Resource not found: '{arn}'")
    aliases = [a for a in catalog.versions.aliases(name) if number is None or any(v == number for v, _ in a.routing)]
    if after is not None:
        names = [a.name for a in aliases]
        if after not in names:
            raise AwsError("InvalidToken", "Invalid Token: 'Invalid token'")
        aliases = aliases[names.index(after) + 1 :]
    page = aliases[:limit]
    out: dict[str, Any] = {
        "stateMachineAliases": [{"stateMachineAliasArn": alias_arn(catalog, name, a.name), "creationDate": a.created_at} for a in page]
    }
    if len(aliases) > limit:
        out["nextToken"] = _token(page[-1].name)
    return out


# -- starting executions ------------------------------------------------------------------------


def route(routing: Sequence[tuple[int, int]], rng: random.Random) -> int:
    """The version an alias's start runs: each start draws afresh, as Step Functions routes each
    request by weight (a version of weight 0 is never drawn; the weights sum to 100)."""
    versions = [version for version, weight in routing if weight > 0]
    weights = [weight for _, weight in routing if weight > 0]
    return rng.choices(versions, weights=weights)[0]


ROUTING = random.Random()  # noqa: S311 - routing, not security
"""The draws of alias routing (a test gives :func:`resolve` its own, seeded)."""


def resolve(catalog: Catalog, arn: str, rng: random.Random = ROUTING) -> Target:
    """What StartExecution's ``stateMachineArn`` names; an alias picks its version by weight (see :func:`route`).

    Raises:
        AwsError: InvalidArn, or StateMachineDoesNotExist for a machine, version or alias that does not exist.
    """
    name, qualifier = split(catalog, arn)
    missing = AwsError("StateMachineDoesNotExist", f"State Machine Does Not Exist: '{arn}'")
    if catalog.get(name) is None:
        raise missing
    if qualifier is None:
        return Target(name)
    number = _version_number(qualifier)
    if number is not None:
        version = catalog.versions.version(name, number)
        if version is None:
            raise missing
        return Target(name, version)
    alias = catalog.versions.alias(name, qualifier)
    if alias is None:
        raise missing
    picked = route(alias.routing, rng)
    version = catalog.versions.version(name, picked)
    if version is None:  # deleted since: an alias keeps its versions, so this is a race with DeleteStateMachine
        raise missing
    return Target(name, version, qualifier)


def started_fields(catalog: Catalog, started: ExecutionVersion | None) -> dict[str, str]:
    """DescribeExecution's and ListExecutions' stateMachineVersionArn and stateMachineAliasArn."""
    if started is None:
        return {}
    out = {"stateMachineVersionArn": version_arn(catalog, started.state_machine, started.version)}
    if started.alias is not None:
        out["stateMachineAliasArn"] = alias_arn(catalog, started.state_machine, started.alias)
    return out


def _token(cursor: str) -> str:
    return base64.urlsafe_b64encode(cursor.encode()).decode()
