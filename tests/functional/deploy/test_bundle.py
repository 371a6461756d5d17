"""Building the Lambda bundle: layout, manifest, zip, pip failures, and a real build for CPython 3.12."""

from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from deploy_fakes import FakePip

from sluiceway.deploy.errors import DeployError
from sluiceway.deploy.lambdas import BUNDLE_CONFIG_NAME
from sluiceway.deploy.package import MANIFEST_NAME, build_bundle, digest_of, read_manifest
from sluiceway.settings import Settings


def test_the_bundle_holds_the_package_the_config_and_a_manifest(tmp_path: Path, settings: Settings) -> None:
    pip = FakePip()
    bundle = build_bundle(tmp_path / "lambda", settings, requirements=["tinydep==1.0"], run=pip)
    root = bundle.path
    assert (root / "tinydep" / "__init__.py").exists()
    assert not (root / "bin").exists(), "console scripts are dropped"
    assert (root / "sluiceway" / "runtime" / "wiring.py").exists()
    assert (root / "sluiceway" / "workflows" / "data_processing.asl.json").exists()
    assert not (root / "sluiceway" / "cli").exists() and not (root / "sluiceway" / "deploy").exists()
    assert not list(root.rglob("__pycache__"))
    assert (root / BUNDLE_CONFIG_NAME).read_bytes() == Path(str(settings.pipeline_config)).read_bytes()
    manifest = read_manifest(root)
    assert manifest is not None and manifest["pipeline"] == "my-pipeline" and manifest["requirements"] == ["tinydep==1.0"]
    assert manifest["pipeline_digest"] == bundle.pipeline_digest
    assert bundle.files == sum(1 for p in root.rglob("*") if p.is_file())
    assert bundle.size_bytes == sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    assert pip.commands and pip.commands[0][-1] == "tinydep==1.0"


def test_the_zip_is_the_same_bytes_every_time(tmp_path: Path, settings: Settings) -> None:
    first = build_bundle(tmp_path / "a" / "lambda", settings, requirements=["tinydep"], run=FakePip(), make_zip=True)
    second = build_bundle(tmp_path / "b" / "lambda", settings, requirements=["tinydep"], run=FakePip(), make_zip=True)
    assert first.zip_path == tmp_path / "a" / "lambda.zip"
    assert first.zip_path is not None and second.zip_path is not None
    assert digest_of(first.zip_path) == digest_of(second.zip_path)
    with zipfile.ZipFile(first.zip_path) as archive:
        names = archive.namelist()
        assert names == sorted(names, key=lambda name: name.split("/"))
        assert "sluiceway/runtime/wiring.py" in names and MANIFEST_NAME in names
        assert archive.getinfo("sluiceway/__init__.py").external_attr >> 16 == 0o644


def test_rebuilding_replaces_the_old_bundle_but_never_a_foreign_folder(tmp_path: Path, settings: Settings) -> None:
    out = tmp_path / "lambda"
    build_bundle(out, settings, requirements=["tinydep"], run=FakePip())
    (out / "stale.txt").write_text("old")
    build_bundle(out, settings, requirements=["tinydep"], run=FakePip())
    assert not (out / "stale.txt").exists()
    foreign = tmp_path / "src"
    foreign.mkdir()
    (foreign / "precious.py").write_text("keep me")
    with pytest.raises(DeployError, match="not a Sluiceway bundle"):
        build_bundle(foreign, settings, requirements=["tinydep"], run=FakePip())
    assert (foreign / "precious.py").exists()


def test_an_unreachable_index_is_reported_as_such(tmp_path: Path, settings: Settings) -> None:
    pip = FakePip(
        1,
        "WARNING: Retrying ... NewConnectionError('Failed to establish a new connection')\n"
        "ERROR: No matching distribution found for duckdb",
    )
    with pytest.raises(DeployError, match="not reachable") as caught:
        build_bundle(tmp_path / "lambda", settings, requirements=["duckdb"], run=pip)
    assert "NewConnectionError" in str(caught.value)
    assert not (tmp_path / "lambda").exists()


def test_a_missing_lambda_wheel_is_reported_as_such(tmp_path: Path, settings: Settings) -> None:
    pip = FakePip(
        1,
        "ERROR: Could not find a version that satisfies the requirement nowheel (from versions: none)",
    )
    with pytest.raises(DeployError, match="no Lambda-compatible wheel"):
        build_bundle(tmp_path / "lambda", settings, requirements=["nowheel"], run=pip)


def test_real_pip_without_a_network_fails_clearly(tmp_path: Path, settings: Settings) -> None:
    # Nothing listens on this loopback port: pip's connections are refused at once (one retry, so pip says why).
    env = dict(
        os.environ,
        PIP_CONFIG_FILE=os.devnull,
        PIP_FIND_LINKS="",
        PIP_EXTRA_INDEX_URL="",
        PIP_RETRIES="1",
        PIP_TIMEOUT="2",
    )
    env.pop("PIP_CONSTRAINT", None)
    with pytest.raises(DeployError, match="not reachable"):
        build_bundle(
            tmp_path / "lambda",
            settings,
            requirements=["duckdb"],
            index_url="http://127.0.0.1:9/simple",
            env=env,
        )


@pytest.fixture(scope="module")
def real_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    from sluiceway.config import STARTER_CONFIG

    root = tmp_path_factory.mktemp("real")
    config = root / "pipeline.yaml"
    config.write_text(STARTER_CONFIG)
    bundle = build_bundle(root / "lambda", Settings(pipeline_config=config), make_zip=True)
    assert bundle.zip_bytes is not None
    return bundle.path, bundle.size_bytes, bundle.zip_bytes


@pytest.mark.slow
def test_a_real_bundle_fits_lambda_and_leaves_the_cli_out(
    real_bundle: tuple[Path, int, int],
) -> None:
    root, size, zipped = real_bundle
    assert all((root / package).is_dir() for package in ("duckdb", "numpy", "pydantic_core"))
    assert not list(root.glob("typer*")) and not list(root.glob("rich*")) and not list(root.glob("watchdog*"))
    (extension,) = root.glob("pydantic_core/_pydantic_core*.so")
    assert "cpython-312-x86_64-linux-gnu" in extension.name
    assert size < 200 * 2**20 and zipped < size


def python312() -> str | None:
    """A working CPython 3.12 on PATH (a version-manager shim may exist without one behind it)."""
    found = shutil.which("python3.12")
    if found is None:
        return None
    probe = subprocess.run(
        [found, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return found if probe.stdout.strip() == "True" else None


@pytest.mark.slow
def test_the_bundle_imports_under_python_3_12(real_bundle: tuple[Path, int, int]) -> None:
    interpreter = python312()
    if interpreter is None:
        pytest.skip("needs a working CPython 3.12 (python3.12 on PATH) to import the bundle as Lambda would")
    root, _, _ = real_bundle
    script = (
        "import importlib.util, duckdb, sluiceway, sluiceway.runtime.wiring, sluiceway.config as c;"
        f"print(c.load_config({str(root / BUNDLE_CONFIG_NAME)!r}).name, importlib.util.find_spec('typer') is None,"
        f" sluiceway.__file__.startswith({str(root)!r}), duckdb.__file__.startswith({str(root)!r}))"
    )
    env = dict(os.environ, PYTHONPATH=str(root))
    env.pop("VIRTUAL_ENV", None)
    # -S: no site-packages at all, only the bundle and the standard library, as on Lambda.
    result = subprocess.run(
        [interpreter, "-S", "-c", script],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["my-pipeline", "True", "True", "True"]
