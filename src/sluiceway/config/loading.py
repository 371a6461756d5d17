"""Reading a pipeline config: YAML text in, a checked :class:`~sluiceway.spec.PipelineConfig` or one error out.

:func:`parse_config` goes in three steps, each reported as ``SOURCE:LINE: field.path: reason``:

1. the YAML (:mod:`._yaml`): text that is not YAML, or not a mapping, stops here
   with one problem; duplicate keys are noted and reported with what follows;
2. the models (:mod:`sluiceway.spec`): every unknown or missing key and wrong
   value; the check stops here if there are any;
3. the whole config (:mod:`.checks`): references between fields, and its SQL
   compiled by DuckDB against the declared schema.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..errors import ConfigError
from ..spec import (
    AggregationSpec,
    ColumnSpec,
    CsvDialect,
    OutputSpec,
    PipelineConfig,
    ProcessingSpec,
    SchemaSpec,
)
from ._yaml import dotted, duplicate_keys, line_of, load_yaml
from .checks import semantic_problems

__all__ = ["load_config", "packaged_config_path", "parse_config"]

logger = logging.getLogger(__name__)


def packaged_config_path() -> Path:
    """The sample sales pipeline shipped with Sluiceway."""
    return Path(str(resources.files("sluiceway").joinpath("pipelines", "sales.yaml")))


def load_config(path: str | Path) -> PipelineConfig:
    """Read and check the pipeline config at ``path``.

    Raises:
        ConfigError: the file is missing, not YAML, or not a valid config; the
            message lists every problem as ``FILE:LINE: field.path: reason``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such pipeline config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the pipeline config: {exc}") from exc
    return parse_config(text, source=str(path))


def parse_config(text: str, *, source: str = "<config>") -> PipelineConfig:
    """Check the YAML ``text`` of a pipeline config and return it.

    Args:
        text: the YAML document.
        source: the file name used in messages.

    Raises:
        ConfigError: listing every problem found, each as ``SOURCE:LINE: field.path: reason``.
    """
    root, data = load_yaml(text, source)
    problems: list[str] = []
    problems.extend(f"{source}:{line}: {msg}" for line, msg in duplicate_keys(root))
    if not isinstance(data, dict):
        line = root.start_mark.line + 1 if root is not None else 1
        raise ConfigError(f"{source}:{line}: the pipeline config must be a mapping (name:, schema:, processing: ...)")
    try:
        config = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(f"{source}:{line_of(root, loc)}: {dotted(loc) or '(top level)'}: {_message(error)}")
        raise ConfigError(_summary(source, problems)) from None
    for loc, message in semantic_problems(config):
        problems.append(f"{source}:{line_of(root, loc)}: {dotted(loc)}: {message}")
    if problems:
        raise ConfigError(_summary(source, problems))
    return config


def _summary(source: str, problems: Sequence[str]) -> str:
    head = f"{source}: invalid pipeline config ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"
    return "\n".join([head, *(f"  {p}" for p in problems)])


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for model in (
        PipelineConfig,
        CsvDialect,
        ColumnSpec,
        SchemaSpec,
        AggregationSpec,
        ProcessingSpec,
        OutputSpec,
    ):
        for name, info in model.model_fields.items():
            names.add(info.alias or name)
    return names


def _message(error: Any) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        key = str(error["loc"][-1]) if error.get("loc") else ""
        close = difflib.get_close_matches(key, sorted(_all_field_names()), n=1)
        return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")
    if kind == "missing":
        return "required key is missing"
    message = str(error.get("msg", "invalid"))
    return message.removeprefix("Value error, ")
