"""A pipeline config, settings and a written template for the deploy tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluiceway.config import STARTER_CONFIG
from sluiceway.deploy.template import WrittenTemplate, write_template
from sluiceway.settings import Settings

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.yaml"
    path.write_text(STARTER_CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def settings(tmp_path: Path, pipeline_file: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        pipeline_config=pipeline_file,
        input_bucket="acme-sales-input",
        output_bucket="acme-sales-output",
        workers=1,
    )


@pytest.fixture
def written(tmp_path: Path, settings: Settings) -> WrittenTemplate:
    from sluiceway.config import load_config

    return write_template(settings, load_config(settings.pipeline_config or ""), tmp_path / "stack" / "template.yaml")
