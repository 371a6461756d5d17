"""What a pipeline is: the checked models of a pipeline config.

A :class:`PipelineConfig` says which events start the pipeline, how its CSV
files are written (:class:`CsvDialect`), what every row must look like
(:class:`SchemaSpec` of :class:`ColumnSpec`), what to compute from the valid rows
(:class:`ProcessingSpec`) and where the results go (:class:`OutputSpec`). Each
model checks what it can see alone (a field, or the fields of one object); what
needs the whole config and DuckDB (references between fields, SQL compiled
against the schema) is checked where the YAML file is read,
:mod:`sluiceway.config`.

This module imports nothing from the data engine. The engine
(:mod:`sluiceway.data`) compiles these models to SQL, and the config loader uses
the engine to compile a config's SQL at load time, so the imports run one way::

    spec  <-  data  <-  config
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "AGGREGATION_OPS",
    "COLUMN_TYPES",
    "DEFAULT_TRIGGER",
    "NUMERIC_TYPES",
    "ORDERED_TYPES",
    "RESERVED_PREFIX",
    "AggregationSpec",
    "ColumnSpec",
    "CsvDialect",
    "OutputSpec",
    "PipelineConfig",
    "ProcessingSpec",
    "SchemaSpec",
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
