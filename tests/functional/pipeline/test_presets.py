"""The source documents' other pipelines, end to end on the local stack (``sluiceway demo --preset``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sluiceway.cli.main import app

runner = CliRunner()


@pytest.mark.parametrize("preset", ["csv-fanout", "json-records"])
def test_preset_demo_ends_as_expected_twice(preset: str, tmp_path: Path) -> None:
    for attempt in (1, 2):  # a second run on the same data directory must still hold (idempotent)
        result = runner.invoke(app, ["demo", "--preset", preset, "--data-dir", str(tmp_path)], env={"COLUMNS": "200"})
        assert result.exit_code == 0, f"attempt {attempt}:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        assert "everything ended as expected" in result.stdout


def test_unknown_preset_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--preset", "nope", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "unknown preset 'nope'" in result.stderr
