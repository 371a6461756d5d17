"""The layers drawn in docs/architecture.md, checked against every module's imports.

Every import is read from the source (function-local ones too: a cycle hidden in a
function is still a cycle), so a wrong-way edge or a circle fails here, with its name.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "sluiceway"

#: The layers, lowest first: a module may import its own layer and those below, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "base",
        ("errors", "types", "settings", "logs", "names", "clock", "regexes", "jsonpath", "matching", "workflows", "pipelines",
         "observability"),
    ),
    ("domain", ("spec", "asl", "events", "messaging", "data", "config", "dynamodb", "cognito", "console")),
    ("ports", ("ports", "apps")),
    ("adapters", ("backends", "functions", "services")),
    ("runtime", ("runtime",)),
    ("edges", ("cli", "deploy", "api", "endpoint", "cfn")),
)

#: The local composition: the only modules besides ``services`` that may build backends.
COMPOSITION = ("sluiceway.services", "sluiceway.runtime.wiring", "sluiceway.runtime.stack", "sluiceway.runtime.uploads")

#: A Lambda handler's cold start pays for what its module imports: none of these.
NOT_IN_A_LAMBDA = ("sluiceway.runtime", "sluiceway.asl", "sluiceway.cli", "sluiceway.deploy")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: Example applications shipped as package data (``sluiceway new``) are users' code, not Sluiceway's:
#: their handlers import boto3 and only themselves.
MODULES = sorted(p for p in SRC.rglob("*.py") if "examples" not in p.relative_to(SRC).parts[:1])
NAMES = {module_name(p) for p in MODULES}


def imports(path: Path, *, package: str | None = None) -> set[str]:
    """Absolute names of everything ``path`` imports (relative imports resolved against the module's
    name, or ``package``), wherever in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parts = (package or module_name(path)).split(".")
    package_parts = parts if path.name == "__init__.py" else parts[:-1]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            # ``from pkg import mod`` imports pkg.mod (and runs pkg/__init__, which with_packages
            # adds); pkg's own names are used only when a name is not one of its modules.
            if any(f"{prefix}.{alias.name}" not in NAMES for alias in node.names):
                found.add(prefix)
            found.update(f"{prefix}.{alias.name}" for alias in node.names)
    return found


def layer_of(name: str) -> int | None:
    if not name.startswith("sluiceway."):
        return None
    top = name.split(".")[1]
    for index, (_, members) in enumerate(LAYERS):
        if top in members:
            return index
    return None


def sluiceway_modules(names: Iterable[str]) -> set[str]:
    """The project's modules among imported names (``from x import y`` names module ``x.y`` when it is one)."""
    return {n for n in names if n in NAMES}


_IMPURE = {("uuid", "uuid1"), ("uuid", "uuid4"), ("time", "time"), ("time", "monotonic"), ("datetime", "now"), ("datetime", "utcnow")}


def impure_calls(path: Path) -> list[str]:
    """Calls that read the clock or make random ids (``uuid.uuid4()``, ``datetime.now()``...)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and (node.func.value.id, node.func.attr) in _IMPURE
        ):
            found.append(f"{node.func.value.id}.{node.func.attr}()")
    return found


def layer_violations(path: Path, *, name: str | None = None) -> list[str]:
    """What is wrong with the imports of the module at ``path`` (named ``name``: its own name by default)."""
    name = name or module_name(path)
    names = imports(path, package=name)
    problems: list[str] = []

    def forbid(prefixes: tuple[str, ...], why: str) -> None:
        for imported in sorted(names):
            if any(imported == p or imported.startswith(p + ".") for p in prefixes):
                problems.append(f"{name} imports {imported}: {why}")

    mine = layer_of(name)
    if name != "sluiceway" and mine is None:
        problems.append(f"{name} is in no layer: add its package to LAYERS")
    for imported in sorted(sluiceway_modules(names)):
        theirs = layer_of(imported)
        if mine is not None and theirs is not None and theirs > mine:
            problems.append(f"{name} ({LAYERS[mine][0]}) imports {imported} ({LAYERS[theirs][0]}): an arrow up the layers")
    if name.startswith(("sluiceway.asl", "sluiceway.jsonpath", "sluiceway.events.patterns")) or name in (
        "sluiceway.events.envelope",
        "sluiceway.events.transform",
    ):
        forbid(("time", "os", "boto3"), "the engine and the pattern matcher are pure")
        problems.extend(f"{name} calls {call}: callers pass time and ids in" for call in impure_calls(path))
    if name == "sluiceway.matching":
        # Leaf predicates that event patterns and SNS filter policies share: below both.
        problems.extend(
            f"{name} imports {imported}: the shared predicates depend on errors and types only"
            for imported in sorted(names)
            if imported.startswith("sluiceway.") and not imported.startswith(("sluiceway.errors", "sluiceway.types"))
        )
        problems.extend(f"{name} calls {call}: the shared predicates are pure" for call in impure_calls(path))
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
            NOT_IN_A_LAMBDA + ("sluiceway.backends", "typer", "fastapi", "rich"),
            "a function sees ports and services; its cold start stays small",
        )
    if name.startswith("sluiceway.endpoint.protocol"):
        # botocore's service models are the protocol layer's data: AWS's wire formats, written once.
        forbid(("boto3",), "the protocol layer reads botocore's models; it never calls AWS")
    elif name in ("sluiceway.api.aws", "sluiceway.endpoint.management_api"):
        # The management API's AWS adapters: boto3 in its Lambda (Boto3Aws); botocore's presigner and
        # parameter validation for the local endpoint (LocalAws). Routes see only the Aws port.
        pass
    elif not name.startswith("sluiceway.backends.aws"):
        forbid(("boto3", "botocore"), "boto3 is imported only under backends/aws")
    if name.startswith("sluiceway.endpoint.services"):
        # The endpoint is the local backends' wire face: their APIs are wider than the ports
        # (queue attributes, bucket configurations), so it reaches them, built by the composition.
        pass
    elif not name.startswith("sluiceway.backends") and name not in COMPOSITION:
        forbid(("sluiceway.backends",), "backends are built only by services and the local composition")
    if name.startswith("sluiceway.deploy"):
        forbid(("sluiceway.runtime", "sluiceway.cli"), "deploy reads the application, not the local runtime")
    # Within a layer, too, some arrows go one way only.
    if name.startswith(("sluiceway.backends", "sluiceway.services")):
        forbid(("sluiceway.functions",), "backends and services serve the functions, never the other way")
    if name.startswith("sluiceway.backends"):
        forbid(("sluiceway.services",), "services chooses backends; a backend does not choose")
    if name.startswith("sluiceway.ports"):
        forbid(("sluiceway.apps",), "a port says what a backend does, whatever the application")
    if name.startswith("sluiceway.apps"):
        forbid(("sluiceway.ports",), "an application is plain data about resources, not about backends")
    return problems


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_imports_go_the_right_way(path: Path) -> None:
    assert layer_violations(path) == []


def test_no_module_imports_itself_round_a_circle() -> None:
    graph = {module_name(p): with_packages(module_name(p), sluiceway_modules(imports(p))) - {module_name(p)} for p in MODULES}
    circles = [sorted(c) for c in _strongly_connected(graph) if len(c) > 1]
    assert circles == []


def with_packages(importer: str, imported: set[str]) -> set[str]:
    """``imported`` with the packages each import runs first (``a.b.c`` runs ``a/b/__init__``),
    but for the importer's own packages: those are already being imported when it runs."""
    found = set(imported)
    for name in imported:
        parts = name.split(".")
        for end in range(2, len(parts)):
            package = ".".join(parts[:end])
            if package in NAMES and not (importer == package or importer.startswith(package + ".")):
                found.add(package)
    return found


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


HANDLERS = sorted(
    module_name(p)
    for p in (SRC / "functions").glob("*.py")
    if not p.name.startswith("_") and "def handler(" in p.read_text(encoding="utf-8")
)


def test_importing_a_lambda_handler_loads_nothing_of_the_runtime() -> None:
    probe = (
        "import importlib, json, sys\n"
        f"for name in {HANDLERS!r}:\n"
        "    importlib.import_module(name)\n"
        "found = sorted(m for m in sys.modules if m.startswith('sluiceway.'))\n"
        "print(json.dumps(found))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    assert HANDLERS and set(HANDLERS) <= set(loaded)
    assert [m for m in loaded if m.startswith(NOT_IN_A_LAMBDA)] == []


def test_the_checker_catches_a_wrong_edge(tmp_path: Path) -> None:
    impure = tmp_path / "impure.py"
    impure.write_text("import uuid\nfrom datetime import datetime\nx = uuid.uuid4()\ny = datetime.now()\n")
    assert impure_calls(impure) == ["uuid.uuid4()", "datetime.now()"]
    assert layer_of("sluiceway.cli.main") is not None and layer_of("sluiceway.asl.parser") is not None
    assert layer_of("sluiceway.cli.main") > layer_of("sluiceway.runtime.wiring") > layer_of("sluiceway.ports")  # type: ignore[operator]
    assert {"sluiceway.backends.local.datadir"} <= imports(SRC / "runtime" / "wiring.py")
    # A function reaching up into the runtime and building a backend itself: both are caught.
    fake = tmp_path / "fake.py"
    fake.write_text("from ..runtime.wiring import build_stack\nfrom sluiceway.backends.local.datadir import open_data_dir\n")
    found = layer_violations(fake, name="sluiceway.functions.fake")
    assert any("an arrow up the layers" in p and "sluiceway.runtime.wiring" in p for p in found)
    assert any("backends are built only by" in p for p in found)
    assert layer_violations(fake, name="sluiceway.runtime.wiring") == []
    assert _strongly_connected({"a": {"b"}, "b": {"a"}, "c": {"a"}}) in ([{"a", "b"}, {"c"}], [{"c"}, {"a", "b"}])
    # Importing a module of a package runs the package's __init__ first: a circle through it counts.
    assert "sluiceway.runtime.orchestration.integrations" in with_packages(
        "sluiceway.runtime.orchestration.children", {"sluiceway.runtime.orchestration.integrations.base"}
    )
    assert with_packages("sluiceway.asl.core", {"sluiceway.asl.model"}) == {"sluiceway.asl.model"}
    # A module taking a sibling module from its own package is no circle with the package's __init__.
    sibling = tmp_path / "sibling.py"
    sibling.write_text("from . import base\n")
    assert imports(sibling, package="sluiceway.runtime.orchestration.integrations.sns") == {
        "sluiceway.runtime.orchestration.integrations.base"
    }
