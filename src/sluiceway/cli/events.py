"""``sluiceway events``: try EventBridge event patterns locally, with AWS's answers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from ..errors import EventPatternError
from ..events.patterns import compile_pattern
from ._common import EXIT_USAGE

__all__ = ["app"]

app = typer.Typer(
    help="EventBridge event patterns: test them locally, as EventBridge would.",
    no_args_is_help=True,
)


@app.callback()
def events() -> None:
    """EventBridge event patterns: test them locally, as EventBridge would."""
    # A callback makes this a command group even with one command, so that
    # `sluiceway events test-pattern` keeps its name wherever it is mounted.


def _text(value: str, what: str) -> str:
    """The argument itself, or the contents of the file named after an ``@``."""
    if not value.startswith("@"):
        return value
    path = Path(value[1:])
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        typer.echo(f"cannot read the {what} file {path}: {exc}", err=True)
        raise typer.Exit(EXIT_USAGE) from None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"


@app.command("test-pattern")
def test_pattern(
    pattern: Annotated[
        str, typer.Option("--pattern", help="The event pattern as JSON, or @FILE to read it.")
    ],
    event: Annotated[str, typer.Option("--event", help="The event as JSON, or @FILE to read it.")],
) -> None:
    """Say whether EVENT matches PATTERN: prints {"match": true} or {"match": false}.

    An invalid pattern prints EventBridge's own error message and exits with 2.
    """
    pattern_text = _text(pattern, "pattern")
    event_text = _text(event, "event")
    try:
        compiled = compile_pattern(pattern_text)
    except EventPatternError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(EXIT_USAGE) from None
    try:
        parsed: Any = json.loads(event_text)
    except json.JSONDecodeError as exc:
        typer.echo(
            f"the event is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
            err=True,
        )
        raise typer.Exit(EXIT_USAGE) from None
    if not isinstance(parsed, dict):
        typer.echo(f"the event must be a JSON object, not {_json_kind(parsed)}", err=True)
        raise typer.Exit(EXIT_USAGE)
    typer.echo(json.dumps({"match": compiled.matches(parsed)}))
