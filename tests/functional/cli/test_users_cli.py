"""``sluiceway users``, ``token`` and ``clients`` on a data dir, offline: the default user pool's users and
machine clients, and tokens that verify with the pool's keys and carry the user's groups."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from sluiceway.cli.main import app
from sluiceway.cognito.jwt import verify_signature
from sluiceway.runtime.wiring import open_local
from sluiceway.settings import Settings

runner = CliRunner()
PASSWORD = "Corr3ct-horse"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


def cli(data_dir: Path, *args: str, input: str | None = None) -> Result:
    return runner.invoke(app, [*args, "--data-dir", str(data_dir)], input=input, env={"COLUMNS": "200"})


@pytest.fixture
def pool(data_dir: Path) -> Iterator[Any]:
    """The data dir's user pools, as the test's second look at what the CLI did."""
    local = open_local(Settings.load(data_dir=data_dir))
    try:
        yield local.user_pools
    finally:
        local.close()


def verified(pool: Any, token: str) -> dict[str, Any]:
    default = pool.default_pool()
    claims = verify_signature(token, pool.jwks(default.pool_id))
    assert claims["iss"] == f"https://cognito-idp.us-east-1.amazonaws.com/{default.pool_id}"
    return claims


def test_add_list_token_remove_round_trip(data_dir: Path, pool: Any) -> None:
    added = cli(
        data_dir, "users", "add", "ann", "--password", PASSWORD, "--group", "operator", "--group", "admin", "--email", "ann@example.com"
    )
    assert added.exit_code == 0, added.output
    assert added.stdout == "added ann in operator, admin\n"

    listed = cli(data_dir, "users", "list", "--json")
    assert listed.exit_code == 0, listed.output
    [user] = json.loads(listed.stdout)
    assert {k: user[k] for k in ("username", "status", "enabled")} == {"username": "ann", "status": "CONFIRMED", "enabled": True}
    assert user["groups"] == ["admin", "operator"]  # by the groups' precedence, as Cognito lists them
    assert user["created"].endswith("+00:00")

    table = cli(data_dir, "users", "list")
    assert table.exit_code == 0
    assert table.stdout.split("\n")[1].split()[:4] == ["ann", "CONFIRMED", "yes", "admin,"]

    got = cli(data_dir, "token", "ann", "--password", PASSWORD)
    assert got.exit_code == 0, got.output
    token = got.stdout.strip()
    assert got.stdout == token + "\n"  # nothing but the token: TOKEN=$(sluiceway token ...)
    claims = verified(pool, token)
    assert claims["token_use"] == "access"
    assert claims["username"] == "ann"
    assert claims["client_id"] == pool.default_pool().client_id
    assert claims["cognito:groups"] == ["admin", "operator"]

    id_token = cli(data_dir, "token", "ann", "--password", PASSWORD, "--id-token").stdout.strip()
    id_claims = verified(pool, id_token)
    assert id_claims["token_use"] == "id"
    assert id_claims["aud"] == pool.default_pool().client_id
    assert id_claims["email"] == "ann@example.com"
    assert id_claims["cognito:groups"] == ["admin", "operator"]

    removed = cli(data_dir, "users", "remove", "ann")
    assert removed.exit_code == 0, removed.output
    assert json.loads(cli(data_dir, "users", "list", "--json").stdout) == []
    after = cli(data_dir, "token", "ann", "--password", PASSWORD)
    assert after.exit_code == 1
    assert after.stdout == ""


def test_a_wrong_password_gets_cognitos_words_and_no_token(data_dir: Path) -> None:
    assert cli(data_dir, "users", "add", "bob", "--password", PASSWORD, "--group", "viewer").exit_code == 0

    wrong = cli(data_dir, "token", "bob", "--password", "Not-the-0ne")

    assert wrong.exit_code == 1
    assert wrong.stdout == ""
    assert wrong.stderr == "error: Incorrect username or password.\n"


def test_a_password_the_pool_refuses_makes_no_user(data_dir: Path) -> None:
    refused = cli(data_dir, "users", "add", "cid", "--password", "short", "--group", "viewer")

    assert refused.exit_code == 1
    assert refused.stderr.startswith("error: Password did not conform with policy: ")
    assert json.loads(cli(data_dir, "users", "list", "--json").stdout) == []


def test_an_unknown_group_is_refused_before_anything_is_made(data_dir: Path) -> None:
    refused = cli(data_dir, "users", "add", "dan", "--password", PASSWORD, "--group", "root")

    assert refused.exit_code == 2
    assert refused.stderr == "error: --group must be one of viewer, operator, admin, not 'root'\n"
    assert json.loads(cli(data_dir, "users", "list", "--json").stdout) == []


def test_a_user_twice_and_an_unknown_user_are_cognitos_errors(data_dir: Path) -> None:
    assert cli(data_dir, "users", "add", "eve", "--password", PASSWORD).exit_code == 0

    twice = cli(data_dir, "users", "add", "eve", "--password", PASSWORD)
    unknown = cli(data_dir, "users", "remove", "nobody")

    assert (twice.exit_code, twice.stderr) == (1, "error: User account already exists\n")
    assert (unknown.exit_code, unknown.stderr) == (1, "error: User does not exist.\n")


def test_a_user_in_no_group_gets_a_token_without_groups(data_dir: Path, pool: Any) -> None:
    added = cli(data_dir, "users", "add", "fay", "--password", PASSWORD)
    assert added.exit_code == 0
    assert "in no group" in added.stdout

    claims = verified(pool, cli(data_dir, "token", "fay", "--password", PASSWORD).stdout.strip())

    assert "cognito:groups" not in claims  # Cognito leaves the claim out rather than send an empty list


def test_passwords_are_prompted_for_when_not_given(data_dir: Path, pool: Any) -> None:
    added = cli(data_dir, "users", "add", "gus", "--group", "viewer", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert added.exit_code == 0, added.output
    assert PASSWORD not in added.output  # hidden input

    got = cli(data_dir, "token", "gus", input=f"{PASSWORD}\n")

    assert got.exit_code == 0, got.output
    assert verified(pool, got.stdout.strip().splitlines()[-1])["username"] == "gus"


def test_a_machine_client_gets_scoped_tokens_with_its_secret(data_dir: Path, pool: Any) -> None:
    added = cli(data_dir, "clients", "add", "ci-bot", "--scope", "read", "--scope", "operate")

    assert added.exit_code == 0, added.output
    values = dict(line.split("=", 1) for line in added.stdout.splitlines() if "=" in line)
    assert len(values["client_id"]) == 26 and len(values["client_secret"]) == 51
    granted = pool.client_credentials(values["client_id"], values["client_secret"], None)
    claims = verified(pool, granted["access_token"])
    assert claims["client_id"] == values["client_id"]
    assert claims["scope"].split() == ["sluiceway/read", "sluiceway/operate"]
    assert claims["token_use"] == "access" and "username" not in claims


def test_an_unknown_scope_is_refused(data_dir: Path) -> None:
    refused = cli(data_dir, "clients", "add", "bot", "--scope", "everything")

    assert refused.exit_code == 2
    assert refused.stderr == "error: --scope must be one of read, operate, admin, not 'everything'\n"
