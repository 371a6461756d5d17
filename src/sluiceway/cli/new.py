"""``sluiceway new APP DIR``: copy one of the example applications into a folder of one's own.

The examples ship inside the package (``sluiceway/examples/<app>/``) so that an installed
Sluiceway scaffolds them as well as a clone does. Each is a SAM application: its template, its
handlers, sample data and a README saying how to run it (``sluiceway up --template``) and deploy it.
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import typer
from rich.text import Text

from ._common import console, fail, shown

__all__ = ["copy_example", "example_names", "new"]

_TEMPLATE = "template.yaml"
#: What a run leaves beside the code (the interpreter's caches, sam build's output): never copied.
_SKIPPED = frozenset({"__pycache__", ".aws-sam", ".pytest_cache"})
_NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")


def _examples() -> Traversable:
    return resources.files("sluiceway").joinpath("examples")


def example_names() -> list[str]:
    """The examples that ship with Sluiceway (folders holding a ``template.yaml``), sorted."""
    root = _examples()
    if not root.is_dir():
        return []
    return sorted(entry.name for entry in root.iterdir() if _NAME.fullmatch(entry.name) and entry.joinpath(_TEMPLATE).is_file())


def copy_example(app: str, directory: Path) -> list[Path]:
    """Copy example ``app`` into ``directory`` (created; it must be missing or empty); return the files written.

    Raises:
        ValueError: no example of that name (the message lists them), or ``directory`` is not an
            empty folder.
    """
    names = example_names()
    if app not in names:
        raise ValueError(f"no example app {app!r}; the examples are: {', '.join(names) or '(none installed)'}")
    if directory.is_symlink() or (directory.exists() and not directory.is_dir()):
        raise ValueError(f"{directory} exists and is not a folder")
    if directory.is_dir() and any(directory.iterdir()):
        raise ValueError(f"{directory} is not empty: give a new or empty folder")
    written: list[Path] = []
    directory.mkdir(parents=True, exist_ok=True)
    _copy(_examples().joinpath(app), directory, written)
    return written


def _copy(source: Traversable, target: Path, written: list[Path]) -> None:
    for entry in sorted(source.iterdir(), key=lambda e: e.name):
        if entry.name in _SKIPPED or entry.name.endswith((".pyc", ".pyo")):
            continue
        # Only plain files and folders: a link in an installed package is not part of the example.
        if isinstance(entry, Path) and entry.is_symlink():
            continue
        if entry.is_dir():
            folder = target / entry.name
            folder.mkdir()
            _copy(entry, folder, written)
        elif entry.is_file():
            path = target / entry.name
            path.write_bytes(entry.read_bytes())
            written.append(path)


def new(
    app: str = typer.Argument(..., help="The example to copy (run with any name to list them)"),
    directory: Path = typer.Argument(..., help="Where to put it: a new or empty folder"),
) -> None:
    """Start an application from one of Sluiceway's examples: its SAM template, handlers, sample data and README."""
    try:
        written = copy_example(app, directory)
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {directory}: {exc.strerror or exc}")
    console.print(Text.assemble("wrote ", shown(directory, style="bold"), f" ({len(written)} files) from the {app} example"))
    readme = directory / "README.md"
    if readme.is_file():
        command = ("sluiceway up --template template.yaml", "bold")
        console.print(Text.assemble("next: read ", shown(readme), ", then run ", command, " in ", shown(directory)))
