"""The pipeline config and the data engine import each other one way: spec <- data <- config.

Every import counts, wherever it stands: at the top, inside a function, or under
``TYPE_CHECKING``. Importing a module of a package runs the package's
``__init__.py`` first, so such an import is also an edge to the package.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
ROOTS = ("sluiceway.spec", "sluiceway.config", "sluiceway.data")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def in_scope(name: str) -> bool:
    return any(name == root or name.startswith(root + ".") for root in ROOTS)


MODULES = {module_name(p): p for p in sorted((SRC / "sluiceway").rglob("*.py")) if in_scope(module_name(p))}


def imported(name: str) -> set[str]:
    """The modules of :data:`MODULES` that module ``name`` imports, and the packages whose ``__init__`` that runs."""
    path = MODULES[name]
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = (
                ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
                if node.level
                else node.module or ""
            )
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    edges: set[str] = set()
    for target in found:
        parts = target.split(".")
        for end in range(2, len(parts) + 1):
            prefix = ".".join(parts[:end])
            # A package's own modules do not run its __init__ again when they import each other.
            if prefix in MODULES and prefix != name and not (name.startswith(prefix + ".") and MODULES[prefix].name == "__init__.py"):
                edges.add(prefix)
    return edges


GRAPH = {name: imported(name) for name in MODULES}


def test_the_models_import_neither_the_engine_nor_the_loader() -> None:
    assert GRAPH["sluiceway.spec"] == set()


def test_the_engine_never_imports_the_config_package() -> None:
    wrong = {
        (name, target)
        for name, targets in GRAPH.items()
        if name.startswith("sluiceway.data")
        for target in targets
        if target.startswith("sluiceway.config")
    }
    assert wrong == set()


def test_there_is_no_import_circle() -> None:
    circles: list[list[str]] = []
    state: dict[str, str] = {}
    trail: list[str] = []

    def visit(name: str) -> None:
        state[name] = "open"
        trail.append(name)
        for target in sorted(GRAPH[name]):
            if state.get(target) == "open":
                circles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target)
        trail.pop()
        state[name] = "done"

    for name in sorted(GRAPH):
        if name not in state:
            visit(name)
    assert circles == []


def test_the_walk_sees_function_local_and_type_checking_imports() -> None:
    assert "sluiceway.spec" in GRAPH["sluiceway.data.rules"]  # under TYPE_CHECKING
    assert "sluiceway.data.sqlcheck" in GRAPH["sluiceway.config.checks"]  # inside a function
    assert "sluiceway.data" in GRAPH["sluiceway.config.checks"]  # importing data.sqlcheck runs data/__init__.py
