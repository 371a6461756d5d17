"""The management API's roles: the default user pool's groups and its resource server's scopes.

One list, read by the local default pool, the template ``sluiceway deploy`` ships, the CLI
and the API's checks, so that a role means the same thing locally and on AWS.
"""

from __future__ import annotations

__all__ = ["GROUPS", "RESOURCE_SERVER", "ROLE_NAMES", "SCOPES", "scope_name"]

GROUPS: tuple[tuple[str, str], ...] = (
    ("admin", "Manages users; does everything operators do"),
    ("operator", "Starts, stops and redrives executions; uploads objects; everything viewers do"),
    ("viewer", "Reads executions, objects, queues, topics, rules and alarms"),
)
"""(group, description), most privileged first: Precedence 1, 2, 3, the order ``cognito:groups`` lists them in."""

ROLE_NAMES: tuple[str, ...] = tuple(name for name, _ in GROUPS)

RESOURCE_SERVER = "sluiceway"
"""The resource server's identifier: machine clients are granted ``sluiceway/<scope>``."""

SCOPES: tuple[tuple[str, str], ...] = (
    ("read", "Read executions, objects, queues, topics, rules and alarms"),
    ("operate", "Start, stop and redrive executions; upload objects"),
    ("admin", "Manage users"),
)
"""(scope, description): ``read`` is a viewer's, ``operate`` an operator's, ``admin`` an admin's."""


def scope_name(scope: str) -> str:
    """The full scope a token carries (``sluiceway/read``)."""
    return f"{RESOURCE_SERVER}/{scope}"
