""".env.example lists every setting with its real default, and stays in step with Settings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sluiceway.settings import ENV_PREFIX, Settings, env_example

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"
LINE = re.compile(rf"^# ({ENV_PREFIX}[A-Z0-9_]+)=(.*)$")


def example_lines() -> dict[str, str]:
    found: dict[str, str] = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        match = LINE.match(line)
        if match:
            found[match[1]] = match[2]
    return found


def test_the_file_is_what_settings_generate() -> None:
    assert EXAMPLE.read_text(encoding="utf-8") == env_example(), (
        "regenerate it: .venv/bin/python -c 'from sluiceway.settings import env_example; print(env_example(), end=\"\")' > .env.example"
    )


def test_every_setting_is_in_it_once_with_a_comment_above() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for name in Settings.model_fields:
        key = f"{ENV_PREFIX}{name.upper()}"
        at = [i for i, line in enumerate(text) if line.startswith(f"# {key}=")]
        assert len(at) == 1, f"{key} is not in .env.example exactly once"
        above = text[at[0] - 1]
        assert above.startswith("# ") and not LINE.match(above) and len(above) > 4, f"{key} has no comment"
    assert set(example_lines()) == {f"{ENV_PREFIX}{n.upper()}" for n in Settings.model_fields}


def test_its_defaults_are_the_real_ones(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Uncommented, as a user copying it would, the example changes nothing.
    import os

    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
    values = {key: value for key, value in example_lines().items() if value}
    (tmp_path / ".env").write_text("".join(f"{key}={value}\n" for key, value in values.items()), encoding="utf-8")
    monkeypatch.chdir(tmp_path)

    assert Settings().model_dump() == Settings(_env_file=None).model_dump()
    assert len(values) > 20  # the settings with a fixed default (not computed, not unset)


def test_a_setting_without_a_docstring_cannot_be_left_out_silently() -> None:
    for name, field in Settings.model_fields.items():
        assert field.description, f"Settings.{name} needs an attribute docstring (it is .env.example's comment)"
