"""The Lambda deployment bundle: Sluiceway and its runtime dependencies, built for Lambda.

Dependencies are installed with pip for the Lambda platform (CPython 3.12 on
x86_64 Linux, manylinux wheels only), whatever machine builds the bundle, so a
laptop on macOS produces the same bundle as CI on Linux. Top-level requirements
are pinned to the versions installed here, the ones the local runs and the
tests used. Command-line-only dependencies (Typer, Rich, watchdog) stay out, and
so does boto3 unless asked for: the Lambda runtime provides it.

The result is a folder (``CodeUri`` of the template, what ``sam build`` copies)
and, optionally, a deterministic zip of it (same content, same bytes, so an
unchanged bundle is not uploaded again).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import logging
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .. import __version__
from ..settings import Settings
from .errors import DeployError
from .lambdas import BUNDLE_CONFIG_NAME

logger = logging.getLogger(__name__)

__all__ = [
    "CLI_ONLY",
    "LAMBDA_PLATFORMS",
    "LAMBDA_UNZIPPED_LIMIT",
    "MANIFEST_NAME",
    "Bundle",
    "Runner",
    "build_bundle",
    "digest_of",
    "pip_command",
    "read_manifest",
    "runtime_requirements",
]

#: Distributions a deployed function never imports: the command line's, the local template
#: runner's (the SAM translator), and Powertools, which the template's Powertools layer provides on AWS.
CLI_ONLY = frozenset({"typer", "rich", "watchdog", "aws-sam-translator", "aws-lambda-powertools"})
#: Wheel platforms the Lambda python3.12 runtime (Amazon Linux 2023, glibc 2.34) can load, newest first.
LAMBDA_PLATFORMS: tuple[str, ...] = (
    *(f"manylinux_2_{minor}_x86_64" for minor in range(34, 16, -1)),
    "manylinux2014_x86_64",
)
LAMBDA_PYTHON = "3.12"
#: Lambda's limit on the unzipped function code and its layers together.
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
#: Room kept for the Powertools layer within that limit.
LAYER_ALLOWANCE = 20 * 1024 * 1024
MANIFEST_NAME = "sluiceway-bundle.json"
# Parts of the package a function never runs (they import CLI-only or dev-only packages).
_EXCLUDED_SUBPACKAGES = frozenset({"cli", "deploy"})
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_NETWORK_HINTS = (
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "Connection refused",
    "ConnectTimeout",
    "ReadTimeout",
    "ProxyError",
    "Could not fetch URL",
    "SSLError",
)
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")

Runner = Callable[[Sequence[str], Mapping[str, str] | None], "subprocess.CompletedProcess[str]"]


def _run(command: Sequence[str], env: Mapping[str, str] | None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(command),
        capture_output=True,
        text=True,
        env=dict(env) if env is not None else None,
        check=False,
    )


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def runtime_requirements(
    requires: Iterable[str] | None = None,
    *,
    installed: Callable[[str], str | None] | None = None,
    with_boto3: bool = False,
) -> list[str]:
    """What the bundle installs: Sluiceway's own dependencies minus the CLI-only ones.

    Args:
        requires: requirement strings as in the package metadata (Sluiceway's own when None).
        installed: name -> installed version (None if not installed); the local environment when None.
        with_boto3: add boto3 (the Lambda runtime ships one; bundle it to pin the version).

    Returns:
        ``name==version`` for each requirement installed here, the original specifier otherwise.
    """
    if requires is None:
        requires = importlib.metadata.requires("sluiceway") or []
    version_of = installed or _installed_version
    wanted: list[str] = []
    seen: set[str] = set()
    for requirement in requires:
        spec, _, marker = requirement.partition(";")
        if "extra" in marker:
            continue  # dev and optional extras are not runtime dependencies
        match = _NAME.match(spec)
        if match is None:
            raise ValueError(f"cannot read requirement {requirement!r}")
        name = _canonical(match.group(1))
        if name in CLI_ONLY or name in seen:
            continue
        seen.add(name)
        wanted.append(_pinned(name, spec.strip(), version_of))
    if with_boto3 and "boto3" not in seen:
        wanted.append(_pinned("boto3", "boto3", version_of))
    return wanted


def _installed_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _pinned(name: str, spec: str, version_of: Callable[[str], str | None]) -> str:
    version = version_of(name)
    return f"{name}=={version}" if version else spec


def pip_command(target: Path, requirements: Sequence[str], *, index_url: str | None = None) -> list[str]:
    """The pip invocation that installs ``requirements`` into ``target`` for Lambda."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--target",
        str(target),
        "--implementation",
        "cp",
        "--python-version",
        LAMBDA_PYTHON,
        "--only-binary=:all:",
        # .pyc files compiled here would be for this interpreter, not Lambda's 3.12.
        "--no-compile",
        "--disable-pip-version-check",
        "--no-input",
    ]
    for platform in LAMBDA_PLATFORMS:
        command += ["--platform", platform]
    if index_url:
        command += ["--index-url", index_url]
    return [*command, *requirements]


@dataclass(frozen=True)
class Bundle:
    """A built Lambda bundle."""

    path: Path
    """The folder (the template's ``CodeUri``)."""
    size_bytes: int
    """Unzipped size: what counts against Lambda's 250 MB limit."""
    files: int
    requirements: tuple[str, ...]
    pipeline_digest: str
    zip_path: Path | None = None
    zip_bytes: int | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


def build_bundle(
    out: Path,
    settings: Settings,
    *,
    make_zip: bool = False,
    with_boto3: bool = False,
    index_url: str | None = None,
    requirements: Sequence[str] | None = None,
    run: Runner = _run,
    env: Mapping[str, str] | None = None,
) -> Bundle:
    """Build the Lambda bundle in ``out`` (replacing what is there).

    Args:
        out: the bundle folder.
        settings: its pipeline config is checked and copied into the bundle.
        make_zip: also write ``<out>.zip``.
        with_boto3: bundle boto3 instead of using the runtime's.
        index_url: a PyPI mirror.
        requirements: what to install (default: :func:`runtime_requirements`).
        run: runs pip (injected in tests).
        env: pip's environment (default: this process's).

    Raises:
        ConfigError: the pipeline config is invalid.
        DeployError: pip failed; the message says whether PyPI could not be reached.
    """
    from ..config import load_config, packaged_config_path

    config_path = settings.pipeline_config or packaged_config_path()
    pipeline = load_config(config_path)
    wanted = list(requirements) if requirements is not None else runtime_requirements(with_boto3=with_boto3)
    out = Path(out)
    if out.exists():
        if not (out / MANIFEST_NAME).exists() and any(out.iterdir()):
            raise DeployError(f"{out} exists and is not a Sluiceway bundle; choose another --out or remove it")
        shutil.rmtree(out)
    out.mkdir(parents=True)

    command = pip_command(out, wanted, index_url=index_url)
    logger.info("installing lambda dependencies", extra={"requirements": wanted})
    result = run(command, env)
    if result.returncode != 0:
        shutil.rmtree(out, ignore_errors=True)
        raise DeployError(_pip_failure(result, index_url))
    # Console scripts are of no use on Lambda and point at this machine's interpreter.
    shutil.rmtree(out / "bin", ignore_errors=True)

    _copy_package(out / "sluiceway")
    shutil.copyfile(config_path, out / BUNDLE_CONFIG_NAME)
    manifest = {
        "sluiceway": __version__,
        "pipeline": pipeline.name,
        "pipeline_digest": pipeline.digest(),
        "python": LAMBDA_PYTHON,
        "platforms": list(LAMBDA_PLATFORMS),
        "requirements": wanted,
    }
    (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    files = sorted(p for p in out.rglob("*") if p.is_file())
    size = sum(p.stat().st_size for p in files)
    warnings: list[str] = []
    if size > LAMBDA_UNZIPPED_LIMIT - LAYER_ALLOWANCE:
        warnings.append(
            f"the bundle is {size / 2**20:.0f} MiB unzipped; with the Powertools layer it may exceed "
            f"Lambda's {LAMBDA_UNZIPPED_LIMIT // 2**20} MiB limit"
        )
    zip_path = zip_bytes = None
    if make_zip:
        zip_path = out.with_name(out.name + ".zip")
        zip_bytes = _write_zip(out, files, zip_path)
    return Bundle(
        out,
        size,
        len(files),
        tuple(wanted),
        pipeline.digest(),
        zip_path,
        zip_bytes,
        tuple(warnings),
    )


def _pip_failure(result: subprocess.CompletedProcess[str], index_url: str | None) -> str:
    output = "\n".join(part for part in (result.stdout, result.stderr) if part)
    lines = [line for line in output.splitlines() if line.strip() and not line.startswith("WARNING: Location")]
    tail = "\n".join(f"  {line}" for line in lines[-8:])
    where = index_url or "PyPI"
    if any(hint in output for hint in _NETWORK_HINTS):
        return (
            f"could not download the Lambda dependencies: {where} is not reachable from this machine. "
            "Check the network or proxy (HTTPS_PROXY), or pass --index-url for a mirror.\n" + tail
        )
    if "No matching distribution found" in output or "Could not find a version" in output:
        return (
            f"pip found no Lambda-compatible wheel (CPython {LAMBDA_PYTHON}, manylinux x86_64) on {where} "
            f"for a requirement (or could not reach {where}); every dependency must publish such a wheel.\n" + tail
        )
    return f"pip failed (exit {result.returncode}) while installing the Lambda dependencies:\n" + tail


def _copy_package(target: Path) -> None:
    source = Path(__file__).resolve().parents[1]

    def ignore(folder: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n == "__pycache__" or n.endswith((".pyc", ".pyo"))}
        if Path(folder).resolve() == source:
            skipped |= {n for n in names if n in _EXCLUDED_SUBPACKAGES}
        return skipped

    shutil.copytree(source, target, ignore=ignore)


def _write_zip(folder: Path, files: Sequence[Path], target: Path) -> int:
    # Fixed timestamps and order: the same content always gives the same bytes (and hash).
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), date_time=_ZIP_TIME)
            info.external_attr = (0o755 if path.stat().st_mode & 0o111 else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so Lambda honours the permission bits
            with path.open("rb") as source, archive.open(info, "w") as sink:
                shutil.copyfileobj(source, sink, 1024 * 1024)
    return target.stat().st_size


def read_manifest(bundle: Path) -> dict[str, object] | None:
    """The bundle's manifest, or None when ``bundle`` is not a built bundle."""
    try:
        data = json.loads((Path(bundle) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def digest_of(path: Path) -> str:
    """SHA-256 of a file (the zip's identity)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
