"""Walk every module's imports and fail on an edge that goes the wrong way (STYLE.md §2)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sluiceway"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


MODULES = sorted(SRC.rglob("*.py"))
_IMPURE = {("uuid", "uuid1"), ("uuid", "uuid4"), ("time", "time"), ("time", "monotonic"), ("datetime", "now"), ("datetime", "utcnow")}


def impure_calls(path: Path) -> list[str]:
    """Calls that read the clock or make random ids (``uuid.uuid4()``, ``datetime.now()``...)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if (node.func.value.id, node.func.attr) in _IMPURE:
                found.append(f"{node.func.value.id}.{node.func.attr}()")
    return found


def layer_violations(path: Path) -> list[str]:
    name = module_name(path)
    names = imports(path)
    problems: list[str] = []

    def forbid(prefixes: tuple[str, ...], why: str) -> None:
        for imported in sorted(names):
            if any(imported == p or imported.startswith(p + ".") for p in prefixes):
                problems.append(f"{name} imports {imported}: {why}")

    if name.startswith(("sluiceway.asl", "sluiceway.jsonpath")) or name in (
        "sluiceway.events.patterns",
        "sluiceway.events.envelope",
        "sluiceway.events.transform",
    ):
        forbid(
            ("sluiceway.runtime", "sluiceway.backends", "sluiceway.cli", "sluiceway.api", "sluiceway.functions", "time", "os", "boto3"),
            "the engine and the pattern matcher are pure",
        )
        problems.extend(f"{name} calls {call}: callers pass time and ids in" for call in impure_calls(path))
    if name.startswith("sluiceway.jsonpath"):
        # Shared by the engine and EventBridge's input transformation: it sits below both.
        for imported in sorted(names):
            if imported.startswith("sluiceway.") and not imported.startswith(
                ("sluiceway.jsonpath", "sluiceway.errors", "sluiceway.types", "sluiceway.regexes")
            ):
                problems.append(f"{name} imports {imported}: JSONPath depends only on errors, types and regexes")
    if name.startswith("sluiceway.events"):
        forbid(("sluiceway.asl",), "EventBridge shares JSONPath with the engine through sluiceway.jsonpath, not asl/")
    if name.startswith("sluiceway.functions"):
        forbid(
            ("sluiceway.backends", "sluiceway.cli", "sluiceway.api", "typer", "fastapi", "rich"), "functions see ports only and stay small"
        )
        # The Lambda entrypoint shim may reach the composition root, nothing else in runtime.
        for imported in names:
            if imported.startswith("sluiceway.runtime") and not imported.startswith("sluiceway.runtime.wiring"):
                problems.append(f"{name} imports {imported}: functions may use only runtime.wiring.get_services")
    if not name.startswith("sluiceway.backends.aws"):
        forbid(("boto3", "botocore"), "boto3 is imported only under backends/aws")
    if not name.startswith("sluiceway.backends") and name != "sluiceway.runtime.wiring":
        forbid(("sluiceway.backends",), "backends are wired only by runtime/wiring.py")
    if name.startswith("sluiceway.ports"):
        # The ports speak the domain's language (events, messages, executions), and nothing above it.
        forbid(
            ("sluiceway.runtime", "sluiceway.backends", "sluiceway.cli", "sluiceway.api", "sluiceway.functions", "sluiceway.deploy"),
            "the ports depend on nothing that implements or uses them",
        )
    if name.startswith(("sluiceway.errors", "sluiceway.types", "sluiceway.settings", "sluiceway.logs", "sluiceway.regexes")):
        forbid(
            (
                "sluiceway.asl",
                "sluiceway.jsonpath",
                "sluiceway.events",
                "sluiceway.runtime",
                "sluiceway.backends",
                "sluiceway.cli",
                "sluiceway.api",
                "sluiceway.functions",
            ),
            "the base layer depends on nothing above it",
        )
    if name.startswith(("sluiceway.runtime", "sluiceway.asl", "sluiceway.events", "sluiceway.backends", "sluiceway.functions")):
        forbid(("sluiceway.cli", "sluiceway.api"), "nothing below the edges imports the CLI or the API")
    return problems


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_go_the_right_way(path: Path) -> None:
    assert layer_violations(path) == []


def test_the_checker_catches_a_wrong_edge(tmp_path: Path) -> None:
    impure = tmp_path / "impure.py"
    impure.write_text("import uuid\nfrom datetime import datetime\nx = uuid.uuid4()\ny = datetime.now()\n")
    assert impure_calls(impure) == ["uuid.uuid4()", "datetime.now()"]
    assert MODULES, "no modules found"
    fake = SRC / "asl" / "interpreter.py"
    assert "sluiceway.runtime" not in " ".join(imports(fake))
    assert imports(SRC / "runtime" / "wiring.py") & {"sluiceway.backends.local.objects"}
