"""The pipeline config: what a CSV must look like and what to compute from it.

A pipeline config is a YAML file::

    name: sales
    trigger: {source: [aws.s3], detail-type: [Object Created], detail: {object: {key: [{suffix: .csv}]}}}
    csv: {delimiter: ",", header: true, quote: '"', escape: '"', encoding: utf-8, newline: auto, null_values: [""]}
    schema:
      columns:
        - {name: order_id, type: integer, required: true, unique: true}
        - {name: region, type: string, required: true, allowed: [north, south]}
    processing:                       # either derived + group_by + aggregations ...
      derived: {revenue: quantity * unit_price}
      group_by: [region]
      aggregations:
        orders: {op: count}
        revenue: {op: sum, column: revenue}
    # processing: {sql: "SELECT region, count(*) AS n FROM valid_rows GROUP BY region"}   # ... or sql
    chunk_size_mb: 128
    max_concurrency: 4
    output: {prefix: results}

:func:`load_config` and :func:`parse_config` check everything up front and raise
one :class:`~sluiceway.errors.ConfigError` that lists every problem as
``FILE:LINE: field.path: reason``; line numbers come from the YAML node tree.
SQL fragments (derived expressions, ``sql``, regexes) are compiled by DuckDB
against the declared schema so that a typo fails at load time, not mid-run.

YAML is read with YAML 1.2 booleans (only ``true``/``false``; ``yes``/``no``/``on``
stay strings) and without timestamp resolution (dates stay text and are checked
against the column's type).
"""

from __future__ import annotations

import difflib
import logging
import re
from collections.abc import Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import ConfigError
from .spec import (
    AGGREGATION_OPS,
    COLUMN_TYPES,
    DEFAULT_TRIGGER,
    NUMERIC_TYPES,
    RESERVED_PREFIX,
    AggregationSpec,
    ColumnSpec,
    CsvDialect,
    OutputSpec,
    PipelineConfig,
    ProcessingSpec,
    SchemaSpec,
)

__all__ = [
    "AGGREGATION_OPS",
    "COLUMN_TYPES",
    "DEFAULT_TRIGGER",
    "STARTER_CONFIG",
    "AggregationSpec",
    "ColumnSpec",
    "CsvDialect",
    "OutputSpec",
    "PipelineConfig",
    "ProcessingSpec",
    "SchemaSpec",
    "load_config",
    "packaged_config_path",
    "parse_config",
]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------- loading


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
    root, data = _load_yaml(text, source)
    problems: list[str] = []
    problems.extend(f"{source}:{line}: {msg}" for line, msg in _duplicate_keys(root))
    if not isinstance(data, dict):
        line = root.start_mark.line + 1 if root is not None else 1
        raise ConfigError(f"{source}:{line}: the pipeline config must be a mapping (name:, schema:, processing: ...)")
    try:
        config = PipelineConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = tuple(error["loc"])
            problems.append(f"{source}:{_line_of(root, loc)}: {_dotted(loc) or '(top level)'}: {_message(error)}")
        raise ConfigError(_summary(source, problems)) from None
    for loc, message in _semantic_problems(config):
        problems.append(f"{source}:{_line_of(root, loc)}: {_dotted(loc)}: {message}")
    if problems:
        raise ConfigError(_summary(source, problems))
    return config


def _summary(source: str, problems: Sequence[str]) -> str:
    head = f"{source}: invalid pipeline config ({len(problems)} problem{'s' if len(problems) != 1 else ''}):"
    return "\n".join([head, *(f"  {p}" for p in problems)])


# ------------------------------------------------------------------------ YAML


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 booleans and no timestamp resolution."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))


MAX_YAML_NODES = 100_000
"""Most values (scalars, lists, mappings) a config may hold once its aliases are expanded.

A YAML alias stands for a whole node, so a few lines of nested anchors and aliases
(a "billion laughs") describe billions of values. PyYAML builds them as shared
objects, cheaply, but every walk over the config (validation, the digest) then
expands them. A real pipeline config holds a few hundred values.
"""


def _load_yaml(text: str, source: str) -> tuple[yaml.Node | None, Any]:
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is not None:
                _check_expansion(root, source)
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except RecursionError:
        raise ConfigError(f"{source}: not a usable pipeline config: nested too deeply") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        context = ""
        if exc.context and exc.context_mark is not None and exc.context_mark.line + 1 != line:
            context = f" ({exc.context} on line {exc.context_mark.line + 1})"
        raise ConfigError(f"{source}:{line}: not valid YAML: {exc.problem or exc.context}{context}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{source}: not valid YAML: {exc}") from None
    return root, data


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse a node tree whose aliases expand it beyond :data:`MAX_YAML_NODES` values, or into itself.

    Each node's expanded size is computed once (aliases share node objects), so the
    check costs one walk over the text's own nodes.

    Raises:
        ConfigError: naming the line of the (innermost) node that grows too big.
    """
    sizes: dict[int, int] = {}
    open_nodes: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in open_nodes:
            line = node.start_mark.line + 1
            raise ConfigError(f"{source}:{line}: an alias refers to a node that contains it (a recursive YAML structure)")
        total = 1
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            open_nodes.add(key)
            children = node.value if isinstance(node, yaml.SequenceNode) else [part for pair in node.value for part in pair]
            for child in children:
                total += size(child)
                if total > MAX_YAML_NODES:
                    line = node.start_mark.line + 1
                    raise ConfigError(
                        f"{source}:{line}: anchors and aliases expand the config to more than {MAX_YAML_NODES} values "
                        '(nested aliases, a "billion laughs"?); write the values out'
                    )
            open_nodes.discard(key)
        sizes[key] = total
        return total

    size(root)


def _duplicate_keys(node: yaml.Node | None) -> Iterator[tuple[int, str]]:
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    yield (
                        key.start_mark.line + 1,
                        f"duplicate key {key.value!r} (first on line {seen[key.value]})",
                    )
                else:
                    seen[key.value] = key.start_mark.line + 1
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def _line_of(root: yaml.Node | None, loc: Sequence[Any]) -> int:
    """The 1-based line of the deepest YAML node along ``loc`` (a pydantic error location)."""
    if root is None:
        return 1
    node: yaml.Node = root
    line = node.start_mark.line + 1
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == str(part):
                    # A scalar value on the key's line reads best as the key's line.
                    line = key.start_mark.line + 1
                    node = value
                    break
            else:
                return line
            if not isinstance(node, yaml.ScalarNode):
                line = max(line, node.start_mark.line + 1) if isinstance(node, yaml.SequenceNode) else line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def _dotted(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


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




# ------------------------------------------------------- cross-field checks


def _semantic_problems(config: PipelineConfig) -> list[tuple[tuple[Any, ...], str]]:
    """Problems that need the whole config: references, types, and SQL compiled against the schema."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    processing = config.processing
    schema_names = set(config.column_names)
    for name in processing.derived:
        if name in schema_names:
            problems.append(
                (
                    ("processing", "derived", name),
                    "a derived column may not reuse a schema column's name",
                )
            )
        elif name.startswith(RESERVED_PREFIX):
            problems.append(
                (
                    ("processing", "derived", name),
                    f"names starting with {RESERVED_PREFIX!r} are reserved",
                )
            )
    for name in processing.aggregations:
        if name.startswith(RESERVED_PREFIX):
            problems.append(
                (
                    ("processing", "aggregations", name),
                    f"names starting with {RESERVED_PREFIX!r} are reserved",
                )
            )
    if problems:
        return problems

    from .data.sqlcheck import check_sql  # DuckDB is only needed once the config's shape is right

    types, sql_problems = check_sql(config)
    problems.extend(sql_problems)
    known = ", ".join([*config.column_names, *processing.derived]) or "(none)"
    for index, name in enumerate(processing.group_by):
        if name not in types:
            problems.append((("processing", "group_by", index), f"unknown column {name!r} (known: {known})"))
    if len(set(processing.group_by)) != len(processing.group_by):
        problems.append((("processing", "group_by"), "a column is listed twice"))
    for name in processing.aggregations:
        if name in processing.group_by:
            problems.append(
                (
                    ("processing", "aggregations", name),
                    "an aggregation may not reuse a group_by column's name",
                )
            )
    for name, agg in processing.aggregations.items():
        loc = ("processing", "aggregations", name, "column")
        if agg.column is None:
            continue
        kind = types.get(agg.column)
        if kind is None:
            if agg.column in processing.derived:
                continue  # its expression failed to compile; that problem is reported already
            problems.append((loc, f"unknown column {agg.column!r} (known: {known})"))
        elif agg.op in ("sum", "mean") and kind not in NUMERIC_TYPES:
            problems.append((loc, f"{agg.op} needs a numeric column; {agg.column!r} is {kind}"))
    return problems


# --------------------------------------------------------------- starter file

STARTER_CONFIG = """\
# Sluiceway pipeline config.
# A CSV landing in the input bucket is validated against `schema`, processed in
# parallel chunks, aggregated, and the results are written to the output bucket.

name: my-pipeline                 # letters, digits, '_', '.', '-'

# Which events start the pipeline: an EventBridge event pattern.
trigger:
  source: [aws.s3]
  detail-type: [Object Created]
  detail:
    object:
      key: [{suffix: .csv}]

# How the files are written.
csv:
  delimiter: ","
  header: true                    # first line names the columns (in any order)
  quote: '"'
  escape: '"'                     # RFC 4180: a quote inside quotes is written twice
  encoding: utf-8                 # utf-8, utf-8-sig, latin-1, cp1252, ascii, utf-16, utf-16-le, utf-16-be
  newline: auto                   # auto, lf, crlf, cr
  null_values: [""]               # unquoted fields meaning "no value" (e.g. ["", NA, "NULL"]);
                                  # a quoted field is always a value: "" is an empty string

# Every row must follow these rules; rows that do not are written to rejects.csv
# with the line, column, value and reason.
# types: string, integer, float, decimal (precision/scale), boolean, date, timestamp (format: strptime)
# rules: required (not null, and not "" in a string column), unique (whole file), min, max,
#        regex (RE2, whole value), allowed; a null passes every rule but required,
#        an empty string "" is a value (a string column checks it, other types reject it)
schema:
  columns:
    - name: id
      type: integer
      required: true
      unique: true
    - name: day
      type: date
      required: true
    - name: category
      type: string
      required: true
      allowed: [a, b, c]
    - name: amount
      type: float
      min: 0
    - name: email
      type: string
      regex: '[^@\\s]+@[^@\\s]+\\.[^@\\s]+'

# What to compute from the valid rows: derived columns (SQL expressions over the
# row), group_by and aggregations (count, sum, min, max, mean, count_distinct) ...
processing:
  derived:
    amount_cents: round(amount * 100)
  group_by: [category]
  aggregations:
    rows: {op: count}
    total: {op: sum, column: amount}
    average: {op: mean, column: amount}
    largest: {op: max, column: amount}
    people: {op: count_distinct, column: email}
# ... or one DuckDB query over the relation `valid_rows` instead:
#   processing:
#     sql: SELECT category, sum(amount) AS total FROM valid_rows GROUP BY category

chunk_size_mb: 128                # largest byte range one ProcessChunk call reads
max_concurrency: 4                # chunks processed at once
output:
  prefix: results                 # results/<input key>/<execution>/result.json, rejects.csv
"""
