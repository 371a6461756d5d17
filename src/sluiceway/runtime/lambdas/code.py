"""A function's own code, laid out as Lambda lays out a deployment package, and its runtime checked.

A SAM function's ``CodeUri`` (or ``InlineCode``) becomes a :class:`FunctionCode`: the folder
Lambda calls ``/var/task`` (``LAMBDA_TASK_ROOT``: first on ``sys.path`` and the working
directory) and, when the code has a ``requirements.txt``, a folder its dependencies were
installed into, second on ``sys.path``, as ``sam build`` would have put them in the package.

* A **folder** is used in place, never copied: an edited handler takes effect on its next
  invocation (:class:`CodeWatch` notices the edit, the pool retires the warm workers).
* A **.zip** is an already-built package: it is extracted once, safely, into the cache, keyed
  by its SHA-256, and its ``requirements.txt`` (if any) is not installed: Lambda would not either.
* **Inline code** (``InlineCode``, CloudFormation's ``Code.ZipFile``) is written to
  ``index.py`` as CloudFormation does ("places it in a file named index"; the handler is
  ``index.<function>``), next to a ``cfnresponse`` module, which CloudFormation provides to
  inline Python code for custom resources.

Dependencies are installed once with ``python -m pip install -r requirements.txt --target``
into ``<cache>/requirements/<hash of requirements.txt>-py<X.Y>``; a second start, or another
function with the same requirements, reuses it. A change in a local package a requirement
points at (``./localpkg``) is not noticed: edit ``requirements.txt`` (or clear the cache).
Everything written to the cache appears at once (built beside, then renamed), so an
interrupted install or extraction leaves nothing half made to be reused.
"""

from __future__ import annotations

import hashlib
import logging
import lzma
import os
import re
import shutil
import stat
import subprocess
import sys
import threading
import uuid
import zipfile
import zlib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Literal

from ...errors import ConfigError

logger = logging.getLogger(__name__)

__all__ = [
    "layer_paths",
    "MAX_INLINE_BYTES",
    "MAX_UNZIPPED_BYTES",
    "CodeWatch",
    "FunctionCode",
    "FunctionCodeError",
    "fingerprint",
    "local_runtime",
    "prepare_function_code",
    "runs_locally",
    "runtime_mismatch",
]

MAX_UNZIPPED_BYTES = 262_144_000
"""Lambda's quota for a function's unzipped deployment package (250 MB)."""
MAX_INLINE_BYTES = 4_194_304
"""CloudFormation's limit for inline code: the package it makes "cannot exceed 4MB"."""
INLINE_MODULE = "index.py"
PIP_TIMEOUT_S = 900.0
_PIP_TAIL_LINES = 12
_PYCACHE = "__pycache__"
_PYTHON_RUNTIME = re.compile(r"python(\d+)\.(\d+)")
_SYMLINK = 0o120000


class FunctionCodeError(ConfigError):
    """A function's code cannot be used (missing, unsafe, or its dependencies would not install); the message names the function."""


@dataclass(frozen=True)
class FunctionCode:
    """Where a function's code and dependencies are, as its execution environment sees them."""

    root: Path
    """The code's folder: Lambda's ``/var/task`` (``LAMBDA_TASK_ROOT``), first on ``sys.path``, the working directory."""
    dependencies: Path | None = None
    """Where ``requirements.txt`` was installed; on ``sys.path`` after the root, before the runtime's own paths."""
    kind: Literal["folder", "zip", "file", "inline"] = "folder"
    """What the template gave: a folder (used in place), a ``.zip`` (extracted), one file (copied) or inline code."""
    unwatched: tuple[str, ...] = ()
    """Folders under the root whose changes are not edits of the code (the stack's data dir, the cache)."""
    layers: tuple[str, ...] = ()
    """The function's layers' folders for ``sys.path`` (Lambda's ``/opt/python`` and its site-packages), in order."""

    @property
    def watched(self) -> bool:
        """Whether edits can happen: only a folder used in place changes under a running stack."""
        return self.kind == "folder"

    @property
    def paths(self) -> tuple[str, ...]:
        """What goes in front of the runtime's ``sys.path``, in order."""
        root = str(self.root)
        own = (root,) if self.dependencies is None else (root, str(self.dependencies))
        return own + self.layers


def prepare_function_code(
    function_name: str,
    *,
    cache_dir: str | os.PathLike[str],
    code_uri: str | os.PathLike[str] | None = None,
    inline_code: str | None = None,
    base_dir: str | os.PathLike[str] = ".",
    pip_timeout_s: float = PIP_TIMEOUT_S,
    unwatched: Sequence[str | os.PathLike[str]] = (),
) -> FunctionCode:
    """Lay out a function's code from its ``CodeUri`` or ``InlineCode``; install its requirements once.

    Args:
        function_name: named in every error.
        cache_dir: where extracted zips, inline code and installed dependencies are kept
            (for instance ``<data dir>/lambda-cache``); created when missing.
        code_uri: a folder or a ``.zip`` file, relative to ``base_dir`` (the template's folder).
        inline_code: the function's source (SAM ``InlineCode``); exactly one of the two is given.
        base_dir: what a relative ``code_uri`` is relative to.
        pip_timeout_s: how long installing the requirements may take.
        unwatched: folders whose changes are not edits of the code, should they lie in a code
            folder (``CodeUri: .`` with the stack's data dir inside): give the data dir. The cache
            dir is never watched, nor hidden folders (``.git``, ``.aws-sam``, ``.venv``).

    Raises:
        FunctionCodeError: the code is missing, in S3, not a folder or zip, an unsafe or
            oversized zip, too long inline, or pip failed (its last lines are in the message).
    """
    if (code_uri is None) == (inline_code is None):
        raise ValueError(f"function {function_name}: give a code_uri or inline code (one of them)")
    cache = Path(cache_dir)
    if inline_code is not None:
        return FunctionCode(_inline(function_name, inline_code, cache), kind="inline")
    assert code_uri is not None
    shown = os.fspath(code_uri)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", shown):
        raise FunctionCodeError(
            f"function {function_name}: CodeUri {shown} is not on this machine; point CodeUri at the code's folder or .zip"
        )
    path = Path(base_dir, code_uri)
    if not path.exists():
        raise FunctionCodeError(f"function {function_name}: CodeUri {shown} does not exist (looked for {path.absolute()})")
    if path.is_dir():
        root = path.resolve()
        requirements = root / "requirements.txt"
        dependencies = _install(function_name, requirements, cache, pip_timeout_s) if requirements.is_file() else None
        ignored = tuple(sorted({str(Path(p).resolve()) for p in (cache, *unwatched)}))
        return FunctionCode(root, dependencies, "folder", ignored)
    if path.is_file() and zipfile.is_zipfile(path):
        return FunctionCode(_extract(function_name, path, cache), kind="zip")
    if path.is_file() and path.suffix.lower() in (".zip", ".jar"):
        raise FunctionCodeError(f"function {function_name}: CodeUri {shown} is not a readable .zip file")
    if path.is_file():
        # `sam deploy` (CloudFormation's package step) zips a CodeUri that names one file into
        # a package holding that file alone, at its root: the same here, without the zip. It is
        # a copy: an edit takes effect at the next start (a folder's take effect at once).
        return FunctionCode(_single_file(function_name, path, cache), kind="file")
    raise FunctionCodeError(f"function {function_name}: CodeUri {shown} is neither a folder, a .zip nor a file")


# -- the three kinds of code ------------------------------------------------------------------


def _inline(function_name: str, source: str, cache: Path) -> Path:
    data = source.encode()
    if len(data) > MAX_INLINE_BYTES:
        raise FunctionCodeError(
            f"function {function_name}: its inline code has {len(data)} bytes; CloudFormation takes at most {MAX_INLINE_BYTES}"
        )
    helper = _cfnresponse_source()
    key = hashlib.sha256(data + b"\0" + helper).hexdigest()

    def build(into: Path) -> None:
        (into / INLINE_MODULE).write_bytes(data)
        (into / "cfnresponse.py").write_bytes(helper)

    return _cached(cache / "inline" / key, build)


def _cfnresponse_source() -> bytes:
    # Its source, copied next to index.py: it runs in the function's worker, not here.
    return Path(__file__).with_name("_cfnresponse.py").read_bytes()


def _single_file(function_name: str, source: Path, cache: Path) -> Path:
    size = source.stat().st_size
    if size > MAX_UNZIPPED_BYTES:
        raise FunctionCodeError(
            f"function {function_name}: CodeUri {source.name} has {size} bytes; Lambda takes at most {MAX_UNZIPPED_BYTES} unzipped"
        )
    data = source.read_bytes()
    key = hashlib.sha256(source.name.encode() + b"\0" + data).hexdigest()

    def build(into: Path) -> None:
        (into / source.name).write_bytes(data)

    return _cached(cache / "file" / key, build)


def _extract(function_name: str, archive: Path, cache: Path) -> Path:
    digest = hashlib.sha256()
    with archive.open("rb") as source:
        for block in iter(lambda: source.read(1 << 20), b""):
            digest.update(block)

    def build(into: Path) -> None:
        try:
            with zipfile.ZipFile(archive) as package:
                _check_members(function_name, archive, package)
                _unzip(function_name, archive, package, into)
        # What reading a damaged or unsupported member raises: an encrypted one RuntimeError
        # (zipfile wants a password), a corrupt deflate or LZMA stream zlib.error/LZMAError.
        except (
            zipfile.BadZipFile,
            zipfile.LargeZipFile,
            EOFError,
            NotImplementedError,
            RuntimeError,
            zlib.error,
            lzma.LZMAError,
        ) as exc:
            raise FunctionCodeError(f"function {function_name}: {archive} cannot be unzipped: {exc}") from None

    return _cached(cache / "zips" / digest.hexdigest(), build)


def _check_members(function_name: str, archive: Path, package: zipfile.ZipFile) -> None:
    """Refuse, before writing anything, a zip whose entries would land outside its folder."""
    total = 0
    for info in package.infolist():
        name = info.filename
        parts = re.split(r"[/\\]", name)
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts or "\0" in name:
            raise FunctionCodeError(f"function {function_name}: {archive} has an entry outside its folder: {name!r}")
        if (info.external_attr >> 16) & 0o170000 == _SYMLINK:
            raise FunctionCodeError(f"function {function_name}: {archive} holds a symbolic link ({name!r}); links are not extracted")
        total += info.file_size
    if total > MAX_UNZIPPED_BYTES:
        raise FunctionCodeError(
            f"function {function_name}: {archive} unzips to {total} bytes; Lambda's limit is {MAX_UNZIPPED_BYTES} (250 MB)"
        )


def _unzip(function_name: str, archive: Path, package: zipfile.ZipFile, into: Path) -> None:
    written = 0
    for info in package.infolist():
        target = into.joinpath(*PurePosixPath(info.filename.replace("\\", "/")).parts)
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        # "x": never through something already there (the folder is new and ours, but a zip may
        # name one file twice).
        with package.open(info) as source, target.open("xb") as sink:
            for block in iter(lambda: source.read(1 << 20), b""):
                written += len(block)
                if written > MAX_UNZIPPED_BYTES:  # the sizes in the zip's directory lied
                    raise FunctionCodeError(
                        f"function {function_name}: {archive} unzips to more than {MAX_UNZIPPED_BYTES} bytes (Lambda's 250 MB)"
                    )
                sink.write(block)
        mode = (info.external_attr >> 16) & 0o777
        # Lambda keeps the zip's permissions; a zip made on Windows has none: readable by all.
        os.chmod(target, (mode | stat.S_IRUSR | stat.S_IWUSR) if mode else 0o644)


def _install(function_name: str, requirements: Path, cache: Path, timeout_s: float) -> Path:
    data = requirements.read_bytes()
    version = f"py{sys.version_info.major}.{sys.version_info.minor}"
    key = f"{hashlib.sha256(data).hexdigest()[:32]}-{version}"

    def build(into: Path) -> None:
        logger.info("installing function requirements", extra={"function": function_name, "requirements": str(requirements)})
        command = [
            sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
            # No .pyc now: they would name the scratch folder, not the cache, in tracebacks.
            "--no-compile", "--target", str(into), "-r", str(requirements),
        ]  # fmt: skip
        try:
            # cwd: pip reads a relative path in a requirements file (./localpkg) from the working directory.
            done = subprocess.run(
                command,
                cwd=requirements.parent,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise FunctionCodeError(
                f"function {function_name}: installing {requirements} took more than {timeout_s:.0f} s:\n" + _tail(exc.output or b"")
            ) from None
        if done.returncode != 0:
            raise FunctionCodeError(
                f"function {function_name}: pip could not install {requirements} (exit status {done.returncode}):\n" + _tail(done.stdout)
            )

    return _cached(cache / "requirements" / key, build)


def _tail(output: bytes) -> str:
    lines = [line for line in output.decode(errors="replace").splitlines() if line.strip()]
    return "\n".join(lines[-_PIP_TAIL_LINES:]) or "(pip printed nothing)"


def _cached(final: Path, build: Callable[[Path], None]) -> Path:
    """``final``, built by ``build`` into a folder beside it and renamed, unless it is already there."""
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
    scratch.mkdir()
    try:
        build(scratch)
        try:
            scratch.rename(final)
        except OSError:
            if not final.is_dir():  # not another start that finished the same thing first
                raise
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return final


# -- noticing edits ---------------------------------------------------------------------------


def fingerprint(root: str | os.PathLike[str], skip: Collection[str] = ()) -> int:
    """A cheap summary of every file under ``root``: it changes when one is added, removed, replaced or rewritten.

    Names, sizes, inode numbers and modification times (ns), from ``lstat``: links are not
    followed. Left out: ``__pycache__`` (importing a module writes it), hidden folders
    (``.git``, ``.aws-sam``, a ``.sluiceway`` data dir: not code, and some change all the time)
    and the folders in ``skip`` (absolute paths). Two writes of the same size within the file
    system's timestamp tick (a few ms) look alike.
    """
    items: list[tuple[str, int, int, int]] = []
    pending = [os.fspath(root)]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:  # removed meanwhile, or unreadable: the next look sees what is there
            items.append((folder, -1, -1, -1))
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if not (entry.name == _PYCACHE or entry.name.startswith(".") or entry.path in skip):
                    pending.append(entry.path)
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            items.append((entry.path, info.st_size, info.st_mtime_ns, info.st_ino))
    items.sort()
    return hash(tuple(items))


class CodeWatch:
    """Tells, at most once per look, whether a folder's files changed since the last look (thread-safe).

    Hold :attr:`lock` across :meth:`changed` and whatever retires the old code, so that a call
    that looks after an edit never runs the code from before it.
    """

    def __init__(self, root: str | os.PathLike[str], skip: Collection[str] = ()) -> None:
        self.root = os.fspath(root)
        self.skip = frozenset(skip)
        self.lock = threading.Lock()
        self._last = fingerprint(self.root, self.skip)

    def changed(self) -> bool:
        """Whether the files changed since the previous call (or since the watch was made)."""
        now = fingerprint(self.root, self.skip)
        if now == self._last:
            return False
        self._last = now
        return True


# -- runtimes -----------------------------------------------------------------------------------


def local_runtime() -> str:
    """The Lambda runtime name of the Python running here, e.g. ``python3.11``."""
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def runs_locally(runtime: str | None) -> bool:
    """Whether a function of ``runtime`` can run here: a Python runtime (or none named: ours)."""
    return runtime is None or _PYTHON_RUNTIME.fullmatch(runtime) is not None


def runtime_mismatch(runtime: str | None) -> str | None:
    """A one-line warning when a template's ``Runtime`` is not the local Python; None when it is (or is not given).

    Example:
        >>> runtime_mismatch("nodejs20.x")  # doctest: +ELLIPSIS
        'nodejs20.x is not a Python runtime: ...'
    """
    if runtime is None:
        return None
    local = local_runtime()
    if not runs_locally(runtime):
        return (
            f"{runtime} is not a Python runtime: the function cannot run locally (Sluiceway runs Python functions on"
            f" {local}); its invocations fail with InvalidRuntimeException"
        )
    if runtime == local:
        return None
    here = local.removeprefix("python")
    return (
        f"{runtime} differs from the local Python {here}: the function runs on {here} here, so code or"
        f" dependencies that need {runtime} may behave differently than on Lambda"
    )


def layer_paths(layer_name: str, content: Path, *, cache_dir: str | os.PathLike[str]) -> tuple[str, ...]:
    """A layer's folders on a function's ``sys.path``, as Lambda's Python runtime puts ``/opt`` on it.

    Lambda unpacks a layer into ``/opt`` and puts ``/opt/python`` and
    ``/opt/python/lib/pythonX.Y/site-packages`` on the path. A layer that ``sam build`` builds
    (``BuildMethod: python3.x``) has its modules at the top of ``ContentUri`` and its
    ``requirements.txt`` installed beside them: locally the folder itself then goes on the path,
    and the requirements are installed once, as a function's are.

    Raises:
        FunctionCodeError: the content is missing or its requirements do not install.
    """
    prepared = prepare_function_code(layer_name, cache_dir=cache_dir, code_uri=content)
    root = prepared.root
    python = root / "python"
    if python.is_dir():
        # The local Python's site-packages first, then any other a layer built for its runtime holds.
        found = [python, python / "lib" / local_runtime() / "site-packages", *sorted((python / "lib").glob("python3.*/site-packages"))]
        paths = list(dict.fromkeys(str(p) for p in found if p.is_dir()))
    else:
        paths = [str(root)]
    if prepared.dependencies is not None:
        paths.append(str(prepared.dependencies))
    return tuple(paths)
