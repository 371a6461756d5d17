"""``sluiceway users``, ``sluiceway token`` and ``sluiceway clients``: the default user pool, which guards the
management API, managed offline on the data dir (beside a running ``up`` too: they share its database).

The pool is Sluiceway's own (``sluiceway``, made on first use): its groups are the API's roles
(``viewer`` reads; ``operator`` also starts, stops, redrives and uploads; ``admin`` also manages
users) and its resource server's scopes are the same roles for machine clients. Cognito's
errors are printed as Cognito words them (``error: Password did not conform with policy: ...``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from rich.table import Table
from rich.text import Text

from ..cognito import roles
from ..cognito.errors import CognitoError
from ._common import EXIT_FAILED, DataDirOption, console, fail, settings_from, shown

__all__ = ["GROUPS", "SCOPES", "register"]

T = TypeVar("T")

GROUPS = tuple(reversed(roles.ROLE_NAMES))
"""The default pool's groups (the management API's roles), least privileged first."""
SCOPES = tuple(name for name, _ in roles.SCOPES)
"""The default pool's resource server scopes, one per role, for machine clients."""

users_app = typer.Typer(help="Users of the default user pool (the management API's sign-ins).", no_args_is_help=True)
clients_app = typer.Typer(help="Machine clients of the default user pool (client_credentials).", no_args_is_help=True)


def _cognito(call: Callable[[], T]) -> T:
    """``call()``, with a Cognito error printed as Cognito words it (exit 1)."""
    try:
        return call()
    except CognitoError as exc:
        _refused(exc)


def _refused(exc: CognitoError) -> NoReturn:
    fail(exc.message, EXIT_FAILED)


def _check_groups(groups: list[str]) -> list[str]:
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        fail(f"--group must be one of {', '.join(GROUPS)}, not {', '.join(map(repr, unknown))}")
    return list(dict.fromkeys(groups))


@users_app.command("add")
def add_user(
    name: str = typer.Argument(..., help="The username"),
    password: str = typer.Option(
        ...,
        "--password",
        "-p",
        prompt=True,
        hide_input=True,
        confirmation_prompt=True,
        help="A permanent password [prompted when not given]",
    ),
    groups: list[str] = typer.Option([], "--group", "-g", help="viewer, operator or admin (repeat for several)"),
    email: str | None = typer.Option(None, "--email", help="The user's email address (recorded as verified)"),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Add a user with a permanent password (no temporary password, no invitation), in the given groups."""
    from ..runtime.wiring import open_local

    wanted = _check_groups(groups)
    local = open_local(settings_from(data_dir))  # the data dir only: no stack starts
    try:
        pools = local.user_pools
        pool_id = _cognito(pools.default_pool).pool_id
        attributes = {"email": email, "email_verified": "true"} if email else {}
        # The password goes in as AdminCreateUser's TemporaryPassword first: the pool's policy is checked
        # before anything is made, so a refused password leaves no half-made user behind.
        _cognito(
            lambda: pools.admin_create_user(pool_id, name, attributes=attributes, temporary_password=password, message_action="SUPPRESS")
        )
        try:
            pools.admin_set_user_password(pool_id, name, password, permanent=True)
            for group in wanted:
                pools.admin_add_user_to_group(pool_id, name, group)
        except CognitoError as exc:
            pools.admin_delete_user(pool_id, name)  # all or nothing, unlike the API calls it is made of
            _refused(exc)
    finally:
        local.close()
    where = f" in {', '.join(wanted)}" if wanted else " (in no group: the management API refuses them everything)"
    console.print(Text.assemble("added ", shown(name, style="bold"), shown(where)), highlight=False)


@users_app.command("list")
def list_users(
    as_json: bool = typer.Option(False, "--json", help="Print JSON (a list of users)"),
    data_dir: Path | None = DataDirOption,
) -> None:
    """List the users: username, status, enabled, groups, created."""
    from ..runtime.wiring import open_local

    local = open_local(settings_from(data_dir))
    try:
        pools = local.user_pools
        pool_id = _cognito(pools.default_pool).pool_id
        rows: list[dict[str, Any]] = [
            {
                "username": user.username,
                "status": user.status,
                "enabled": user.enabled,
                "groups": [g["GroupName"] for g in pools.admin_list_groups_for_user(pool_id, user.username)],
                "created": datetime.fromtimestamp(user.created_at, UTC).isoformat(timespec="seconds"),
            }
            for user in _cognito(lambda: pools.list_users(pool_id))
        ]
    finally:
        local.close()
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    if not rows:
        console.print("no users: add one with `sluiceway users add NAME --password P --group admin`")
        return
    table = Table("username", "status", "enabled", "groups", "created", box=None, pad_edge=False)
    for row in rows:
        table.add_row(
            shown(row["username"]),
            shown(row["status"]),
            "yes" if row["enabled"] else "no",
            shown(", ".join(row["groups"])),
            shown(row["created"]),
        )
    console.print(table)


@users_app.command("remove")
def remove_user(
    name: str = typer.Argument(..., help="The username"),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Remove a user: they can no longer sign in, and their tokens stop working."""
    from ..runtime.wiring import open_local

    local = open_local(settings_from(data_dir))
    try:
        pools = local.user_pools
        pool_id = _cognito(pools.default_pool).pool_id
        _cognito(lambda: pools.admin_delete_user(pool_id, name))
    finally:
        local.close()
    console.print(Text.assemble("removed ", shown(name, style="bold")), highlight=False)


def token(
    name: str = typer.Argument(..., help="The username"),
    password: str = typer.Option(..., "--password", "-p", prompt=True, hide_input=True, help="The password [prompted when not given]"),
    id_token: bool = typer.Option(False, "--id-token", help="Print the ID token instead of the access token"),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Sign in to the default user pool (USER_PASSWORD_AUTH) and print only the access token: TOKEN=$(sluiceway token NAME -p P)."""
    from ..runtime.wiring import open_local

    local = open_local(settings_from(data_dir))
    try:
        pools = local.user_pools
        client_id = _cognito(pools.default_pool).client_id
        answer = _cognito(lambda: pools.initiate_auth(client_id, "USER_PASSWORD_AUTH", {"USERNAME": name, "PASSWORD": password}))
    finally:
        local.close()
    result = answer.get("AuthenticationResult")
    if not result:
        challenge = answer.get("ChallengeName", "a challenge")
        fail(f"{name} must answer {challenge} before a token is issued (`sluiceway users add` sets a permanent password)", EXIT_FAILED)
    # Not through the Rich console: a token must come out on one line, unwrapped, whatever the terminal's width.
    sys.stdout.write(str(result["IdToken" if id_token else "AccessToken"]) + "\n")


@clients_app.command("add")
def add_client(
    name: str = typer.Argument(..., help="The client's name"),
    scopes: list[str] = typer.Option(..., "--scope", "-s", help="read, operate or admin (repeat for several)"),
    data_dir: Path | None = DataDirOption,
) -> None:
    """Add a machine client with a secret, for the OAuth2 client_credentials grant; its id and secret are printed once."""
    from ..runtime.wiring import open_local

    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        fail(f"--scope must be one of {', '.join(SCOPES)}, not {', '.join(map(repr, unknown))}")
    local = open_local(settings_from(data_dir))
    try:
        pools = local.user_pools
        pool_id = _cognito(pools.default_pool).pool_id
        client = _cognito(
            lambda: pools.create_user_pool_client(
                pool_id,
                name,
                GenerateSecret=True,
                PreventUserExistenceErrors="ENABLED",
                AllowedOAuthFlows=["client_credentials"],
                AllowedOAuthFlowsUserPoolClient=True,
                AllowedOAuthScopes=[roles.scope_name(s) for s in dict.fromkeys(scopes)],
            )
        )
    finally:
        local.close()
    console.print(Text.assemble("added client ", shown(name, style="bold"), " (its secret is not shown again)"), highlight=False)
    sys.stdout.write(f"client_id={client['ClientId']}\nclient_secret={client['ClientSecret']}\n")


def register(app: typer.Typer) -> None:
    """Add ``users``, ``token`` and ``clients`` to the ``sluiceway`` command."""
    app.add_typer(users_app, name="users")
    app.command()(token)
    app.add_typer(clients_app, name="clients")
