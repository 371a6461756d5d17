"""What the Lambda bundle installs, and how pip is asked to."""

from __future__ import annotations

from pathlib import Path

from sluiceway.deploy.package import CLI_ONLY, LAMBDA_PLATFORMS, pip_command, runtime_requirements

REQUIRES = [
    "duckdb>=1.1",
    "pydantic>=2.7",
    "Typer>=0.12",
    "rich>=13.7",
    "watchdog>=4.0",
    "jsonata_python>=0.5",
    'pytest>=8; extra == "dev"',
    'boto3>=1.34; extra == "aws"',
    "psutil>=5.9 ; python_version >= '3.8'",
]
INSTALLED = {"duckdb": "2.0.0", "pydantic": "2.14.3", "psutil": "7.2.2", "boto3": "1.44.5"}


def test_cli_only_and_extras_stay_out_and_installed_versions_are_pinned() -> None:
    wanted = runtime_requirements(REQUIRES, installed=INSTALLED.get)
    assert wanted == ["duckdb==2.0.0", "pydantic==2.14.3", "jsonata_python>=0.5", "psutil==7.2.2"]
    assert not {w.split("=")[0].split(">")[0].lower() for w in wanted} & CLI_ONLY


def test_boto3_only_when_asked() -> None:
    assert "boto3==1.44.5" in runtime_requirements(
        REQUIRES, installed=INSTALLED.get, with_boto3=True
    )
    assert not [
        w for w in runtime_requirements(REQUIRES, installed=INSTALLED.get) if w.startswith("boto3")
    ]


def test_our_own_requirements_leave_out_the_command_line() -> None:
    wanted = runtime_requirements()
    names = {w.split("=")[0].split(">")[0] for w in wanted}
    assert "duckdb" in names and "pydantic" in names
    assert not names & CLI_ONLY


def test_pip_installs_lambda_wheels_only(tmp_path: Path) -> None:
    command = pip_command(tmp_path, ["duckdb==2.0.0"], index_url="https://mirror.example/simple")
    assert command[1:4] == ["-m", "pip", "install"]
    assert command[command.index("--target") + 1] == str(tmp_path)
    assert command[command.index("--python-version") + 1] == "3.12"
    assert "--only-binary=:all:" in command and "--no-compile" in command
    platforms = [command[i + 1] for i, arg in enumerate(command) if arg == "--platform"]
    assert platforms == list(LAMBDA_PLATFORMS)
    assert platforms[0] == "manylinux_2_34_x86_64" and "manylinux2014_x86_64" in platforms
    assert command[command.index("--index-url") + 1] == "https://mirror.example/simple"
    assert command[-1] == "duckdb==2.0.0"
