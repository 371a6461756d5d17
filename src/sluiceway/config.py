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

import datetime as dt
import difflib
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterator, Sequence
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ConfigError

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

ColumnType = Literal["string", "integer", "float", "decimal", "boolean", "date", "timestamp"]
AggregationOp = Literal["count", "sum", "min", "max", "mean", "count_distinct"]
COLUMN_TYPES: tuple[str, ...] = (
    "string",
    "integer",
    "float",
    "decimal",
    "boolean",
    "date",
    "timestamp",
)
AGGREGATION_OPS: tuple[str, ...] = ("count", "sum", "min", "max", "mean", "count_distinct")
NUMERIC_TYPES = frozenset({"integer", "float", "decimal"})
ORDERED_TYPES = frozenset({"integer", "float", "decimal", "date", "timestamp"})

#: Names the engine uses for its own columns; a schema may not use them.
RESERVED_PREFIX = "__sw_"

DEFAULT_TRIGGER: dict[str, Any] = {
    "source": ["aws.s3"],
    "detail-type": ["Object Created"],
    "detail": {"object": {"key": [{"suffix": ".csv"}]}},
}

# Encodings a pipeline may declare, by the spellings people use; values are the
# canonical names Sluiceway works with.
_ENCODINGS = {
    "utf-8": "utf-8",
    "utf8": "utf-8",
    "utf-8-sig": "utf-8-sig",
    "utf8-sig": "utf-8-sig",
    "latin-1": "latin-1",
    "latin1": "latin-1",
    "iso-8859-1": "latin-1",
    "iso8859-1": "latin-1",
    "cp1252": "cp1252",
    "windows-1252": "cp1252",
    "ascii": "ascii",
    "us-ascii": "ascii",
    "utf-16": "utf-16",
    "utf16": "utf-16",
    "utf-16-le": "utf-16-le",
    "utf-16le": "utf-16-le",
    "utf-16-be": "utf-16-be",
    "utf-16be": "utf-16-be",
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class CsvDialect(_Model):
    """How the CSV is written."""

    delimiter: str = ","
    """One character between fields (``"\\t"`` for TSV)."""
    header: bool = True
    """Whether the first line names the columns (any order); without it, columns are in schema order."""
    quote: str = '"'
    """The quote character, or ``""`` for none."""
    escape: str = '"'
    """The character escaping a quote inside a quoted field (RFC 4180: the quote itself)."""
    encoding: str = "utf-8"
    """utf-8, utf-8-sig, latin-1, cp1252, ascii, utf-16, utf-16-le or utf-16-be."""
    newline: Literal["auto", "lf", "crlf", "cr"] = "auto"
    """The line terminator; ``auto`` takes the header line's."""
    null_values: list[str] = Field(default_factory=lambda: [""], min_length=1)  # DuckDB refuses an empty nullstr
    """Unquoted fields that mean "no value" (DuckDB's ``nullstr``, pandas' ``na_values``).

    The default ``[""]``: an unquoted empty field is null. A quoted field is always
    a value, so ``""`` is an empty string and ``"NA"`` the text NA (RFC 4180 readers
    and PostgreSQL's CSV format keep them apart the same way).
    """

    @field_validator("delimiter")
    @classmethod
    def _delimiter(cls, value: str) -> str:
        if len(value) != 1:
            raise ValueError("must be exactly one character")
        if value in "\r\n":
            raise ValueError("may not be a line break")
        return value

    @field_validator("quote", "escape")
    @classmethod
    def _quote(cls, value: str) -> str:
        if len(value) > 1:
            raise ValueError('must be one character, or "" for none')
        if value and value in "\r\n":
            raise ValueError("may not be a line break")
        return value

    @field_validator("encoding")
    @classmethod
    def _encoding(cls, value: str) -> str:
        canonical = _ENCODINGS.get(value.strip().lower().replace("_", "-"))
        if canonical is None:
            raise ValueError(f"unsupported encoding {value!r}; use one of: {', '.join(sorted(set(_ENCODINGS.values())))}")
        return canonical

    @field_validator("null_values")
    @classmethod
    def _null_values(cls, value: list[str]) -> list[str]:
        for marker in value:
            if any(ch in marker for ch in "\r\n\x00"):
                raise ValueError(f"{marker!r}: a null marker may not contain line breaks or NUL")
        return value

    @model_validator(mode="after")
    def _distinct_characters(self) -> CsvDialect:
        if self.quote and self.quote == self.delimiter:
            raise ValueError("quote and delimiter must differ")
        for marker in self.null_values:
            if self.delimiter in marker or (self.quote and self.quote in marker):
                raise ValueError(f"null marker {marker!r} may not contain the delimiter or the quote")
        return self


class ColumnSpec(_Model):
    """One declared column and the rules its values must follow."""

    name: str
    type: ColumnType = "string"
    required: bool = False
    """A null value (see :attr:`CsvDialect.null_values`) is a reject, and so is an empty string
    (``""``) in a string column; otherwise a null stays NULL."""
    unique: bool = False
    """No two valid rows of the file may share a value (checked over the whole file)."""
    min: int | float | str | None = None
    """Smallest allowed value (integer, float, decimal, date or timestamp columns)."""
    max: int | float | str | None = None
    """Largest allowed value (integer, float, decimal, date or timestamp columns)."""
    regex: str | None = None
    """The whole raw text must match this RE2 pattern."""
    allowed: list[str | int | float | bool] | None = None
    """The value must be one of these."""
    format: str | None = None
    """strptime format of date/timestamp values (default: ISO 8601)."""
    precision: int | None = Field(default=None, ge=1, le=38)
    """Decimal digits in total (decimal columns, default 18)."""
    scale: int | None = Field(default=None, ge=0, le=38)
    """Decimal digits after the point (decimal columns, default 2); extra digits are rounded."""

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        if value.startswith(RESERVED_PREFIX):
            raise ValueError(f"names starting with {RESERVED_PREFIX!r} are reserved")
        if any(ch in value for ch in "\r\n\x00"):
            raise ValueError("must not contain line breaks or NUL")
        return value

    @field_validator("min", "max")
    @classmethod
    def _bound(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        kind = info.data.get("type", "string")
        if kind not in ORDERED_TYPES:
            raise ValueError(f"min/max apply to integer, float, decimal, date and timestamp columns, not {kind}")
        return _coerce(value, kind)

    @field_validator("allowed")
    @classmethod
    def _allowed(cls, value: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("must list at least one value")
        kind = info.data.get("type", "string")
        return [_coerce(item, kind) for item in value]

    @field_validator("format")
    @classmethod
    def _format(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is not None and info.data.get("type") not in ("date", "timestamp"):
            raise ValueError("format applies to date and timestamp columns")
        if value is not None and "%" not in value:
            raise ValueError("must be a strptime format such as %d/%m/%Y")
        return value

    @field_validator("precision", "scale")
    @classmethod
    def _decimal_only(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("type") != "decimal":
            raise ValueError("precision and scale apply to decimal columns")
        return value

    @model_validator(mode="after")
    def _scale_fits(self) -> ColumnSpec:
        if self.type == "decimal" and self.decimal_scale > self.decimal_precision:
            raise ValueError(f"scale {self.decimal_scale} exceeds precision {self.decimal_precision}")
        if self.min is not None and self.max is not None and _compare_key(self.min) > _compare_key(self.max):
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self

    @property
    def decimal_precision(self) -> int:
        return self.precision if self.precision is not None else 18

    @property
    def decimal_scale(self) -> int:
        return self.scale if self.scale is not None else 2


class SchemaSpec(_Model):
    """The columns every row has."""

    columns: list[ColumnSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> SchemaSpec:
        seen: set[str] = set()
        for column in self.columns:
            if column.name in seen:
                raise ValueError(f"column {column.name!r} is declared twice")
            seen.add(column.name)
        return self


class AggregationSpec(_Model):
    """One output value per group."""

    op: AggregationOp
    column: str | None = None
    """The input column (schema or derived); ``count`` without it counts rows."""

    @model_validator(mode="after")
    def _column_needed(self) -> AggregationSpec:
        if self.op != "count" and not self.column:
            raise ValueError(f"{self.op} needs a column")
        return self


class ProcessingSpec(_Model):
    """What to compute from the valid rows: aggregations, or one SQL query."""

    derived: dict[str, str] = Field(default_factory=dict)
    """New columns: name -> SQL expression over the row's typed columns (may use earlier derived ones)."""
    group_by: list[str] = Field(default_factory=list)
    aggregations: dict[str, AggregationSpec] = Field(default_factory=dict)
    sql: str | None = None
    """A DuckDB SELECT over the relation ``valid_rows`` (the typed valid rows)."""

    @model_validator(mode="after")
    def _one_mode(self) -> ProcessingSpec:
        if self.sql is not None:
            if self.derived or self.group_by or self.aggregations:
                raise ValueError("use either sql or derived/group_by/aggregations, not both")
            if not self.sql.strip():
                raise ValueError("sql is empty")
        elif not self.aggregations:
            raise ValueError("declare aggregations (with optional derived and group_by) or sql")
        return self

    @property
    def mode(self) -> Literal["aggregations", "sql"]:
        return "sql" if self.sql is not None else "aggregations"


class OutputSpec(_Model):
    """Where results go in the output bucket."""

    prefix: str = "results"

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        value = value.strip("/")
        if not value:
            raise ValueError("must not be empty")
        if value.startswith("_work") or any(part in ("", ".", "..") for part in value.split("/")):
            raise ValueError("must be a relative key prefix without '.', '..' or empty segments and not under _work/")
        return value


class PipelineConfig(_Model):
    """A whole pipeline: trigger, CSV dialect, schema, processing, output."""

    name: str
    description: str | None = None
    trigger: dict[str, Any] = Field(default_factory=lambda: json.loads(json.dumps(DEFAULT_TRIGGER)))
    """An EventBridge event pattern (stored as written; checked by the event bus)."""
    csv: CsvDialect = Field(default_factory=CsvDialect)
    schema_: SchemaSpec = Field(alias="schema")
    processing: ProcessingSpec
    chunk_size_mb: float = Field(default=128.0, gt=0, le=4096)
    """Largest byte range one ProcessChunk invocation reads.

    128 MB (the split size Spark and HDFS default to): every chunk costs a fixed
    amount (download, DuckDB start-up, partial files) and adds its distinct values
    to the merge, so fewer, bigger chunks are cheaper as long as there are enough
    of them to keep the workers busy.
    """
    max_concurrency: int = Field(default=4, ge=1, le=1000)
    """How many chunks run at once (the Map state's MaxConcurrency)."""
    output: OutputSpec = Field(default_factory=OutputSpec)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use 1-64 letters, digits, '_', '.' and '-', starting with a letter or digit")
        return value

    @field_validator("trigger")
    @classmethod
    def _trigger(cls, value: dict[str, Any]) -> dict[str, Any]:
        if not value:
            raise ValueError("an empty pattern would match every event")
        from .errors import EventPatternError
        from .events.patterns import compile_pattern

        try:
            compile_pattern(value)
        except (EventPatternError, TypeError) as exc:
            raise ValueError(f"not a valid EventBridge pattern: {exc}") from None
        return value

    # -- derived views ------------------------------------------------------

    @property
    def columns(self) -> list[ColumnSpec]:
        return list(self.schema_.columns)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.schema_.columns]

    def column(self, name: str) -> ColumnSpec:
        """The schema column called ``name``. Raises KeyError."""
        for column in self.schema_.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    @property
    def unique_columns(self) -> list[str]:
        return [c.name for c in self.schema_.columns if c.unique]

    @property
    def chunk_size_bytes(self) -> int:
        return max(1, int(self.chunk_size_mb * 1024 * 1024))

    def digest(self) -> str:
        """A stable fingerprint: the stages of one run must see the same config."""
        canonical = json.dumps(self.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


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


# -------------------------------------------------------------- value coercion


def _coerce(value: Any, kind: str) -> Any:
    """A rule value (min/max/allowed item) as the column's type, in a JSON-friendly form."""
    if kind == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise ValueError(f"{value!r} is not a boolean")
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"{value!r} is not an integer")
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an integer") from None
    if kind == "float":
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{value!r} is not a number") from None
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a finite number")
        return number
    if kind == "decimal":
        if isinstance(value, bool):
            raise ValueError(f"{value!r} is not a number")
        try:
            exact = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
        if not exact.is_finite():
            raise ValueError(f"{value!r} is not a finite number")
        return str(value)
    if kind == "date":
        try:
            return dt.date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not a date (YYYY-MM-DD)") from None
    if kind == "timestamp":
        try:
            return dt.datetime.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise ValueError(f"{value!r} is not a timestamp (YYYY-MM-DDTHH:MM:SS)") from None
    raise ValueError(f"unknown type {kind}")


def _compare_key(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return Decimal(str(value)) if isinstance(value, float) else value


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

    from .data import rules  # DuckDB is only needed once the config's shape is right

    types, sql_problems = rules.check_sql(config)
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
