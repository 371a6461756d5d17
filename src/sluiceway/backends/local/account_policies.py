"""CloudWatch Logs account policies on SQLite: what PutAccountPolicy took, by type and name.

A subscription filter policy (``SUBSCRIPTION_FILTER_POLICY``) is a subscription filter on every
log group of the account, those made later too, except the groups its selection criteria name
(``LogGroupName NOT IN [...]``). The subscription feed applies it (:func:`applied_filters` makes
it one filter per selected group, delivered as the group's own filters are, with
``"policyLevel": "ACCOUNT_LEVEL_POLICY"``). An account has one such policy at most.

The other types (data protection, field index, transformer, metric extraction, retention) are
kept and described, not applied: Sluiceway masks, indexes, transforms and expires nothing for them.

They live in the state database beside the subscription filters, for the same reason: the feed
commits what it delivers with its cursor there, and checks in that transaction that the policies
it read are still those stored.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from ...errors import ConflictError, NotFoundError
from ...ports import Clock
from ._sqlite import Database, ThreadConnections
from .subscription_filters import SubscriptionFilter

logger = logging.getLogger(__name__)

__all__ = [
    "ACCOUNT_LEVEL",
    "POLICY_TYPES",
    "SUBSCRIPTION_FILTER_POLICY",
    "AccountPolicy",
    "LogGroupNames",
    "PolicyDocumentError",
    "SqliteAccountPolicies",
    "SubscriptionPolicy",
    "TooManyAccountPoliciesError",
    "applied_filters",
    "excluded_groups",
    "subscription_policy",
]

POLICY_TYPES: Final = (
    "DATA_PROTECTION_POLICY",
    "SUBSCRIPTION_FILTER_POLICY",
    "FIELD_INDEX_POLICY",
    "TRANSFORMER_POLICY",
    "METRIC_EXTRACTION_POLICY",
    "RETENTION_POLICY",
)
"""The model's enum, in its order (AWS's enum message lists them so)."""
SUBSCRIPTION_FILTER_POLICY: Final = "SUBSCRIPTION_FILTER_POLICY"
ACCOUNT_LEVEL: Final = "ACCOUNT_LEVEL_POLICY"
"""The ``policyLevel`` of what an account-level subscription filter policy delivers."""
_ONE_PER_ACCOUNT: Final = ("SUBSCRIPTION_FILTER_POLICY", "DATA_PROTECTION_POLICY")
"""The types of which PutAccountPolicy documents one policy per account (and Region)."""
_DISTRIBUTIONS: Final = ("Random", "ByLogStream")
_NOT_IN: Final = re.compile(r"^\s*LogGroupName\s+NOT\s+IN\s+(\[.*\])\s*$", re.DOTALL)
_COLUMNS: Final = "policy_type, name, document, scope, selection, updated_ms, applies_after"


class TooManyAccountPoliciesError(ConflictError):
    """The account has a policy of that type under another name, and the type allows one."""


class PolicyDocumentError(ValueError):
    """A subscription filter policy's document or selection criteria that cannot be applied."""


@dataclass(frozen=True)
class AccountPolicy:
    policy_type: str
    name: str
    document: str
    """``policyDocument`` as given (answered back as given)."""
    scope: str
    selection: str | None
    """``selectionCriteria`` as given."""
    updated_ms: int
    """``lastUpdatedTime``."""
    applies_after: int
    """The log store's last event when the policy was created: a subscription filter policy
    delivers the events after it (an update keeps it, as a group's filter does)."""


@dataclass(frozen=True)
class SubscriptionPolicy:
    """A subscription filter policy as its document and selection criteria say."""

    name: str
    pattern: str
    destination_arn: str
    role_arn: str | None
    distribution: str
    excluded: frozenset[str]
    """The log groups ``LogGroupName NOT IN [...]`` names: the policy does not apply to them."""
    applies_after: int


def excluded_groups(selection: str | None) -> frozenset[str]:
    """The log group names of ``LogGroupName NOT IN ["a", "b"]``, the one selection criteria a
    subscription filter policy takes.

    Raises:
        PolicyDocumentError: any other criteria.
    """
    if selection is None or not selection.strip():
        return frozenset()
    found = _NOT_IN.match(selection)
    if found is None:
        raise PolicyDocumentError("only LogGroupName NOT IN [...] selects the log groups of a subscription filter policy")
    try:
        names = json.loads(found.group(1))
    except ValueError:
        raise PolicyDocumentError("the selection criteria's list of log group names is not valid") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PolicyDocumentError("the selection criteria's list holds log group names, as strings")
    return frozenset(names)


def subscription_policy(record: AccountPolicy) -> SubscriptionPolicy:
    """The subscription filter policy ``record`` is.

    Raises:
        PolicyDocumentError: a document without a ``DestinationArn``, or members of the wrong type.
    """
    try:
        document = json.loads(record.document)
    except ValueError:
        raise PolicyDocumentError("the policy document is not valid JSON") from None
    if not isinstance(document, dict):
        raise PolicyDocumentError("the policy document is not a JSON object")
    destination = document.get("DestinationArn")
    if not isinstance(destination, str) or not destination:
        raise PolicyDocumentError("the policy document has no DestinationArn")
    # Unconfirmed: whether AWS takes a document without FilterPattern; taken here as "" (every
    # event), as PutSubscriptionFilter's empty pattern is.
    pattern = document.get("FilterPattern", "")
    role = document.get("RoleArn")
    distribution = document.get("Distribution", "ByLogStream")
    if not isinstance(pattern, str) or (role is not None and not isinstance(role, str)):
        raise PolicyDocumentError("FilterPattern and RoleArn are strings")
    if distribution not in _DISTRIBUTIONS:
        raise PolicyDocumentError(f"Distribution is one of {', '.join(_DISTRIBUTIONS)}")
    return SubscriptionPolicy(
        record.name, pattern, destination, role, str(distribution), excluded_groups(record.selection), record.applies_after
    )


def applied_filters(policies: Sequence[SubscriptionPolicy], groups: Iterable[str]) -> list[SubscriptionFilter]:
    """Each policy as a subscription filter on each log group it selects.

    The destination function's own log group is not left out: AWS does not leave it out either
    (its documentation asks for the selection criteria to name it, against the loop it makes).
    """
    names = sorted(set(groups))
    return [
        SubscriptionFilter(
            log_group=group,
            name=policy.name,
            pattern=policy.pattern,
            destination_arn=policy.destination_arn,
            role_arn=policy.role_arn,
            distribution=policy.distribution,
            transformed=False,
            selection=None,
            system_fields=None,
            created_ms=0,
            applies_after=policy.applies_after,
            policy_level=ACCOUNT_LEVEL,
        )
        for policy in policies
        for group in names
        if group not in policy.excluded
    ]


class SqliteAccountPolicies:
    """The data dir's account policies, in the state database."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def put(self, record: AccountPolicy, *, after_event: int) -> AccountPolicy:
        """Create the policy, or replace its definition (the events it reads from are kept).

        ``record``'s ``updated_ms`` and ``applies_after`` are ignored: they are set here.

        Args:
            after_event: the log store's last event now: a new policy applies to the events after it.

        Raises:
            TooManyAccountPoliciesError: another policy of a type the account holds one of.
        """
        now = int(self.clock.now().timestamp() * 1000)
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT applies_after FROM logs_account_policies WHERE policy_type=? AND name=?", (record.policy_type, record.name)
            ).fetchone()
            if row is None:
                if record.policy_type in _ONE_PER_ACCOUNT:
                    other = conn.execute("SELECT name FROM logs_account_policies WHERE policy_type=?", (record.policy_type,)).fetchone()
                    if other is not None:
                        raise TooManyAccountPoliciesError(f"the account has a {record.policy_type} already: {other[0]}")
                applies_after = after_event
            else:
                applies_after = int(row[0])
            conn.execute(
                f"INSERT OR REPLACE INTO logs_account_policies ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608 - fixed fragments
                (record.policy_type, record.name, record.document, record.scope, record.selection, now, applies_after),
            )
        return replace(record, updated_ms=now, applies_after=applies_after)

    def delete(self, policy_type: str, name: str) -> None:
        """Raises NotFoundError when the account has no such policy."""
        with self.db.transaction() as conn:
            if conn.execute("DELETE FROM logs_account_policies WHERE policy_type=? AND name=?", (policy_type, name)).rowcount == 0:
                raise NotFoundError(f"account policy {name} ({policy_type}) does not exist")

    def describe(self, policy_type: str, *, name: str | None = None) -> list[AccountPolicy]:
        """The policies of a type, by name (ASCII order); only ``name``'s when given."""
        rows = self.db.connection().execute(
            f"SELECT {_COLUMNS} FROM logs_account_policies WHERE policy_type = ? AND (? IS NULL OR name = ?) ORDER BY name",  # noqa: S608
            (policy_type, name, name),
        )
        return [_policy(row) for row in rows]

    def subscription_policies(self) -> list[SubscriptionPolicy]:
        """The subscription filter policies that can be applied (what the feed delivers for)."""
        found: list[SubscriptionPolicy] = []
        for record in self.describe(SUBSCRIPTION_FILTER_POLICY):
            try:
                found.append(subscription_policy(record))
            except PolicyDocumentError:
                # PutAccountPolicy checks documents: only a hand-edited row gets here.
                logger.warning("an account subscription filter policy cannot be applied; skipped", extra={"policy": record.name})
        return found


class LogGroupNames:
    """The names of the log store's groups (``logs.db``, read-only here): what an account policy applies to.

    Args:
        logs_path: the log store's database; it may not exist yet.
    """

    def __init__(self, logs_path: Path) -> None:
        self._logs = ThreadConnections(logs_path)

    def close(self) -> None:
        self._logs.close()

    def names(self) -> list[str]:
        try:
            return [str(row[0]) for row in self._logs.get().execute("SELECT name FROM log_groups ORDER BY name")]
        except sqlite3.OperationalError:  # no log store yet: no groups
            return []


def _policy(row: sqlite3.Row | tuple[Any, ...]) -> AccountPolicy:
    return AccountPolicy(str(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4], int(row[5]), int(row[6]))
