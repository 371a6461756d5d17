"""A function's code laid out from a CodeUri or InlineCode; runtimes compared with the local Python."""

from __future__ import annotations

import base64
import hashlib
import os
import statistics
import sys
import time
import zipfile
from pathlib import Path

import pytest

from sluiceway.errors import ConfigError
from sluiceway.runtime.lambdas.code import (
    MAX_UNZIPPED_BYTES,
    CodeWatch,
    FunctionCodeError,
    fingerprint,
    local_runtime,
    prepare_function_code,
    runs_locally,
    runtime_mismatch,
)


def folder(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def wheel(where: Path, name: str = "tinydep", value: int = 42) -> Path:
    """A pure-Python wheel built by hand: pip installs it without an index or a build backend."""
    dist = f"{name}-1.0.dist-info"
    files = {
        f"{name}/__init__.py": f"VALUE = {value}\n",
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: sluiceway-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for member, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{member},sha256={digest},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    path = where / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


# ------------------------------------------------------------------ folders


def test_a_folder_is_used_in_place(tmp_path: Path) -> None:
    src = folder(tmp_path / "src", {"app.py": "def handler(e, c): return 1\n"})
    code = prepare_function_code("Fn", code_uri="src", base_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert code.root == src.resolve() and code.kind == "folder" and code.watched
    assert code.dependencies is None and code.paths == (str(src.resolve()),)


def test_a_missing_code_uri_names_the_function_and_the_path(tmp_path: Path) -> None:
    with pytest.raises(FunctionCodeError, match=r"function Fn: CodeUri nowhere/ does not exist") as caught:
        prepare_function_code("Fn", code_uri="nowhere/", base_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert isinstance(caught.value, ConfigError)  # the CLI shows its message, not a traceback


def test_code_in_s3_or_what_is_no_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FunctionCodeError, match=r"s3://bucket/key.zip is not on this machine"):
        prepare_function_code("Fn", code_uri="s3://bucket/key.zip", base_dir=tmp_path, cache_dir=tmp_path)
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(FunctionCodeError, match=r"CodeUri broken.zip is not a readable .zip file"):
        prepare_function_code("Fn", code_uri="broken.zip", base_dir=tmp_path, cache_dir=tmp_path / "cache")
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(FunctionCodeError, match=r"CodeUri pipe is neither a folder, a .zip nor a file"):
        prepare_function_code("Fn", code_uri="pipe", base_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_a_single_file_is_the_whole_package_as_sam_package_makes_it(tmp_path: Path) -> None:
    src = folder(tmp_path / "src", {"function.py": "def handler(e, c): return 1\n", "other.py": "x = 2\n"})
    code = prepare_function_code("Fn", code_uri="src/function.py", base_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert code.kind == "file" and not code.watched and code.dependencies is None
    assert sorted(p.name for p in code.root.iterdir()) == ["function.py"]  # the file alone, at the package's root
    assert (code.root / "function.py").read_text() == (src / "function.py").read_text()
    again = prepare_function_code("Fn", code_uri="src/function.py", base_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert again.root == code.root
    (src / "function.py").write_text("def handler(e, c): return 2\n")
    edited = prepare_function_code("Fn", code_uri="src/function.py", base_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert edited.root != code.root and (edited.root / "function.py").read_text().endswith("return 2\n")


def test_one_kind_of_code_is_given(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="one of them"):
        prepare_function_code("Fn", cache_dir=tmp_path)
    with pytest.raises(ValueError, match="one of them"):
        prepare_function_code("Fn", code_uri=".", inline_code="x", cache_dir=tmp_path)


# ------------------------------------------------------------------ zips


def make_zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def test_a_zip_is_extracted_once_into_the_cache(tmp_path: Path) -> None:
    make_zip(tmp_path / "code.zip", {"index.py": "def handler(e, c): return 2\n", "lib/util.py": "X = 1\n"})
    first = prepare_function_code("Fn", code_uri="code.zip", base_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert first.kind == "zip" and not first.watched
    assert (first.root / "index.py").read_text() == "def handler(e, c): return 2\n"
    assert (first.root / "lib" / "util.py").is_file()
    assert first.root.parent == tmp_path / "cache" / "zips"
    marker = first.root / "extracted-once"
    marker.write_text("")
    again = prepare_function_code("Other", code_uri=tmp_path / "code.zip", cache_dir=tmp_path / "cache")
    assert again.root == first.root and marker.exists()


@pytest.mark.parametrize("name", ["../evil.py", "lib/../../evil.py", "/etc/evil.py", "C:/evil.py", "..\\evil.py"])
def test_a_zip_entry_outside_its_folder_is_refused(tmp_path: Path, name: str) -> None:
    make_zip(tmp_path / "bad.zip", {"index.py": "", name: "boom"})
    with pytest.raises(FunctionCodeError, match=r"function Fn: .*bad.zip has an entry outside its folder"):
        prepare_function_code("Fn", code_uri="bad.zip", base_dir=tmp_path, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "evil.py").exists() and not (tmp_path / "cache" / "evil.py").exists()
    assert not list((tmp_path / "cache" / "zips").iterdir())  # nothing half made is left to be reused


def test_a_zip_holding_a_symlink_is_refused(tmp_path: Path) -> None:
    link = zipfile.ZipInfo("index.py")
    link.external_attr = 0o120777 << 16
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as archive:
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(FunctionCodeError, match="symbolic link"):
        prepare_function_code("Fn", code_uri="link.zip", base_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_a_zip_over_lambdas_unzipped_limit_is_refused(tmp_path: Path) -> None:
    big = MAX_UNZIPPED_BYTES // 2 + 1
    with zipfile.ZipFile(tmp_path / "big.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for n in range(2):
            with archive.open(f"blob{n}", "w", force_zip64=True) as sink:
                chunk = bytes(1 << 20)
                left = big
                while left:
                    sink.write(chunk[: min(left, len(chunk))])
                    left -= min(left, len(chunk))
    with pytest.raises(FunctionCodeError, match=r"unzips to 262144002 bytes; Lambda's limit is 262144000"):
        prepare_function_code("Fn", code_uri="big.zip", base_dir=tmp_path, cache_dir=tmp_path / "cache")


def test_a_damaged_zip_is_refused_with_the_function_named(tmp_path: Path) -> None:
    data = make_zip(tmp_path / "code.zip", {"index.py": "x = 1\n" * 100}).read_bytes()
    # Keep the central directory (so it still looks like a zip) but spoil the member's data.
    (tmp_path / "code.zip").write_bytes(data[:40] + b"\xff" * 40 + data[80:])
    with pytest.raises(FunctionCodeError, match=r"function Fn: .*cannot be unzipped"):
        prepare_function_code("Fn", code_uri="code.zip", base_dir=tmp_path, cache_dir=tmp_path / "cache")


# ------------------------------------------------------------------ inline


def test_inline_code_is_written_to_index_py_beside_cfnresponse(tmp_path: Path) -> None:
    code = prepare_function_code("Fn", inline_code="def handler(e, c):\n    return 3\n", cache_dir=tmp_path)
    assert code.kind == "inline" and not code.watched
    assert (code.root / "index.py").read_text() == "def handler(e, c):\n    return 3\n"
    assert "def send(" in (code.root / "cfnresponse.py").read_text()
    assert prepare_function_code("Other", inline_code="def handler(e, c):\n    return 3\n", cache_dir=tmp_path).root == code.root


def test_inline_code_over_four_megabytes_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FunctionCodeError, match=r"function Fn: its inline code has 4194305 bytes"):
        prepare_function_code("Fn", inline_code="#" * 4_194_305, cache_dir=tmp_path)


# ------------------------------------------------------------------ requirements


def test_requirements_are_installed_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # never the network
    src = folder(tmp_path / "src", {"app.py": "import tinydep\n"})
    wheel(src)
    (src / "requirements.txt").write_text("./tinydep-1.0-py3-none-any.whl\n")
    code = prepare_function_code("Fn", code_uri=src, cache_dir=tmp_path / "cache")
    assert code.dependencies is not None
    assert code.dependencies.parent == tmp_path / "cache" / "requirements"
    assert code.dependencies.name.endswith(f"-py{sys.version_info.major}.{sys.version_info.minor}")
    assert (code.dependencies / "tinydep" / "__init__.py").read_text() == "VALUE = 42\n"
    assert code.paths == (str(src.resolve()), str(code.dependencies))
    # A second start reuses the install: pip would fail now that the wheel is gone.
    (src / "tinydep-1.0-py3-none-any.whl").unlink()
    assert prepare_function_code("Fn", code_uri=src, cache_dir=tmp_path / "cache") == code


def test_a_failed_install_names_the_function_and_shows_pips_last_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    src = folder(tmp_path / "src", {"app.py": "", "requirements.txt": "no-such-package-anywhere==1.0\n"})
    with pytest.raises(FunctionCodeError) as caught:
        prepare_function_code("Orders", code_uri=src, cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert message.startswith(f"function Orders: pip could not install {src.resolve() / 'requirements.txt'} (exit status 1):\n")
    assert "no-such-package-anywhere" in message and "Traceback" not in message
    assert not list((tmp_path / "cache" / "requirements").iterdir())


# ------------------------------------------------------------------ edits


def test_the_fingerprint_changes_with_any_file_but_not_with_pycache(tmp_path: Path) -> None:
    src = folder(tmp_path, {"app.py": "A = 1\n", "lib/util.py": "B = 2\n"})
    before = fingerprint(src)
    (src / "__pycache__").mkdir()
    (src / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"compiled")
    assert fingerprint(src) == before
    (src / "lib" / "util.py").write_text("B = 22\n")
    edited = fingerprint(src)
    assert edited != before
    (src / "new.py").write_text("")
    added = fingerprint(src)
    assert added != edited
    (src / "new.py").unlink()
    assert fingerprint(src) != added


def test_a_watch_reports_each_change_once(tmp_path: Path) -> None:
    src = folder(tmp_path, {"app.py": "A = 1\n"})
    watch = CodeWatch(src)
    assert not watch.changed()
    (src / "app.py").write_text("A = 100\n")
    assert watch.changed()
    assert not watch.changed()


def test_looking_at_a_small_folder_costs_well_under_a_millisecond(tmp_path: Path) -> None:
    src = folder(tmp_path, {f"pkg{n}/mod{m}.py": "X = 1\n" for n in range(3) for m in range(4)} | {"app.py": ""})
    watch = CodeWatch(src)
    times = []
    for _ in range(200):
        started = time.perf_counter()
        watch.changed()
        times.append(time.perf_counter() - started)
    assert statistics.median(times) < 0.0005, f"median {statistics.median(times) * 1e6:.0f} µs"


# ------------------------------------------------------------------ runtimes


def test_runtime_mismatch_says_when_the_template_wants_another_python() -> None:
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert runtime_mismatch(None) is None
    assert runtime_mismatch(local_runtime()) is None
    warning = runtime_mismatch("python3.99")
    assert warning is not None and warning.startswith(f"python3.99 differs from the local Python {here}: ")
    assert "\n" not in warning


def test_a_runtime_that_is_not_python_cannot_run_locally() -> None:
    assert runs_locally(None) and runs_locally("python3.9")
    assert not runs_locally("nodejs20.x") and not runs_locally("provided.al2023")
    warning = runtime_mismatch("nodejs20.x")
    assert warning is not None and "cannot run locally" in warning and "InvalidRuntimeException" in warning


def test_fingerprint_does_not_follow_links_out_of_the_folder(tmp_path: Path) -> None:
    outside = folder(tmp_path / "outside", {"secret.py": "S = 1\n"})
    src = folder(tmp_path / "src", {"app.py": ""})
    os.symlink(outside, src / "linked")
    before = fingerprint(src)
    (outside / "secret.py").write_text("S = 1000\n")
    assert fingerprint(src) == before


def test_the_data_dir_and_hidden_folders_inside_the_code_are_not_edits(tmp_path: Path) -> None:
    src = folder(tmp_path / "app", {"app.py": "", "data/sluiceway.db": "", ".sluiceway/sluiceway.db": ""})
    code = prepare_function_code("Fn", code_uri=".", base_dir=src, cache_dir=src / "cache", unwatched=[src / "data"])
    assert code.root == src.resolve()
    assert set(code.unwatched) == {str((src / "cache").resolve()), str((src / "data").resolve())}
    watch = CodeWatch(code.root, code.unwatched)
    (src / "data" / "sluiceway.db").write_text("rows")
    (src / ".sluiceway" / "sluiceway.db").write_text("rows")
    folder(src / "cache", {"zips/abc/index.py": "x = 1\n"})
    assert not watch.changed()
    (src / "app.py").write_text("changed = True\n")
    assert watch.changed()
