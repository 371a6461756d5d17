"""``.env``: read from the current directory, below the environment and explicit arguments; strict about Sluiceway's keys only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sluiceway.errors import ConfigError
from sluiceway.settings import ENV_PREFIX, Settings


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty working directory and an environment without SLUICEWAY_ variables."""
    import os

    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield tmp_path


def write_env(folder: Path, text: str) -> None:
    (folder / ".env").write_text(text, encoding="utf-8")


def test_explicit_arguments_beat_the_environment_which_beats_dotenv_which_beats_defaults(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(project, "SLUICEWAY_WORKERS=3\nSLUICEWAY_REGION=eu-west-1\nSLUICEWAY_LOG_LEVEL=DEBUG\n")
    monkeypatch.setenv("SLUICEWAY_REGION", "us-west-2")
    monkeypatch.setenv("SLUICEWAY_LOG_LEVEL", "WARNING")

    settings = Settings.load(log_level="ERROR")

    assert settings.workers == 3  # .env over the default
    assert settings.region == "us-west-2"  # the environment over .env
    assert settings.log_level == "ERROR"  # the argument over both
    assert settings.input_bucket == "sluiceway-input"  # nobody set it: the default


def test_dotenv_values_are_parsed_and_validated_like_the_environments(project: Path) -> None:
    write_env(
        project,
        "# a comment\nexport SLUICEWAY_ENDPOINT_PORT=4599\nSLUICEWAY_LOG_PAYLOADS=true\n"
        "SLUICEWAY_SMTP_PASSWORD='s3cret # not a comment'\nSLUICEWAY_SMTP_FROM=pipeline@exämple.org\n",
    )

    settings = Settings()

    assert settings.endpoint_port == 4599
    assert settings.log_payloads is True
    assert settings.smtp_password is not None and settings.smtp_password.get_secret_value() == "s3cret # not a comment"
    assert settings.smtp_from == "pipeline@exämple.org"  # read as UTF-8 whatever the locale


def test_an_invalid_value_in_dotenv_is_refused(project: Path) -> None:
    write_env(project, "SLUICEWAY_ENDPOINT_PORT=99999\n")

    with pytest.raises(ValueError, match="endpoint_port"):
        Settings()


def test_an_unknown_sluiceway_key_in_dotenv_is_an_error_naming_it(project: Path) -> None:
    write_env(project, "SLUICEWAY_WORKRS=3\n")

    with pytest.raises(ConfigError) as raised:
        Settings()

    assert str(raised.value) == ".env: SLUICEWAY_WORKRS is not a Sluiceway setting (did you mean SLUICEWAY_WORKERS?)"


def test_an_unknown_sluiceway_key_far_from_any_setting_gets_no_suggestion(project: Path) -> None:
    write_env(project, "SLUICEWAY_ZZZ_UNRELATED=1\n")

    with pytest.raises(ConfigError, match=r"^\.env: SLUICEWAY_ZZZ_UNRELATED is not a Sluiceway setting$"):
        Settings()


def test_other_programs_keys_in_dotenv_are_left_alone(project: Path) -> None:
    write_env(
        project,
        "DATABASE_URL=postgres://db/app\nAWS_PROFILE=dev\nsecret_key=abc\nNEXT_PUBLIC_SLUICEWAY_URL=x\nSLUICEWAY_WORKERS=2\n",
    )

    settings = Settings()

    assert settings.workers == 2
    assert "DATABASE_URL" not in settings.to_env()


def test_only_the_current_directorys_dotenv_is_read(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_env(project, "SLUICEWAY_REGION=eu-west-1\n")
    child = project / "child"
    child.mkdir()
    monkeypatch.chdir(child)

    assert Settings().region == "us-east-1"


def test_no_dotenv_is_fine(project: Path) -> None:
    assert Settings().data_dir == Path(".sluiceway")


def test_the_environment_stays_lenient_about_unknown_sluiceway_variables(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The environment is shared with other processes (test markers, a parent's variables), as it
    # always was; a .env file is written for Sluiceway, so a typo in it is refused.
    monkeypatch.setenv("SLUICEWAY_TEST_MARKER", "1")

    assert Settings().region == "us-east-1"
