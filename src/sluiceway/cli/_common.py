"""Helpers shared by the command modules: settings from options, JSON-or-@file arguments, exit codes,
stored values printed safely."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from ..asl.limits import load_json
from ..data.excerpt import printable
from ..errors import ConfigError, DefinitionError, SluicewayError
from ..logs import configure
from ..settings import Settings

console = Console()
err_console = Console(stderr=True)

#: Exit codes: 0 ok, 1 the job ran and something ended unexpectedly, 2 bad input or definition.
EXIT_FAILED = 1
EXIT_USAGE = 2

DataDirOption = typer.Option(None, "--data-dir", help="Where local state lives [env SLUICEWAY_DATA_DIR; default .sluiceway]")
ConfigOption = typer.Option(None, "--config", "-c", help="Pipeline config YAML [env SLUICEWAY_PIPELINE_CONFIG]")


def settings_from(data_dir: Path | None = None, config: Path | None = None, **extra: Any) -> Settings:
    try:
        settings = Settings.load(data_dir=data_dir, pipeline_config=config, **extra)
    except SluicewayError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(f"invalid settings: {exc}")
    configure(settings.log_level if settings.log_level != "INFO" else "WARNING", settings.log_format)
    return settings


def json_argument(value: str, what: str) -> Any:
    """Parse a JSON argument given inline or as ``@path``."""
    source = what
    text = value
    if value.startswith("@"):
        path = Path(value[1:])
        source = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            fail(f"cannot read {what} file {path}: {exc.strerror}")
    try:
        return load_json(text)
    except ValueError as exc:
        fail(f"{source}: not valid JSON: {exc}")


def shown(value: Any, *, style: str = "", lines: bool = False) -> Text:
    """A stored or outside value (a key, a reason, a message) as Rich text that prints literally.

    Rich markup in it (``[bold]x.csv``) is not interpreted, and control and escape
    characters (``\x1b[31m``, ``\x1b]0;title\x07``, a CR) are shown escaped, so a
    value cannot restyle, retitle or overwrite the terminal.

    Args:
        lines: keep line breaks (a message or cause of several lines).
    """
    return Text(printable("" if value is None else str(value), keep="\n" if lines else ""), style=style)


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    err_console.print(Text.assemble(("error:", "red"), " ", shown(message, lines=True)), highlight=False)
    raise typer.Exit(code)


def report_error(exc: SluicewayError) -> NoReturn:
    if isinstance(exc, DefinitionError | ConfigError):
        fail(str(exc), EXIT_USAGE)
    fail(str(exc), EXIT_FAILED)
