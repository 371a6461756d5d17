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

``loading``  text or file in, a checked config or one ConfigError out
``_yaml``    YAML 1.2 read safely, and the line behind every field path
``checks``   what needs the whole config, its SQL compiled by the data engine
``starter``  the commented config ``sluiceway init`` writes

The models themselves live in :mod:`sluiceway.spec` (re-exported here), below the
data engine: the engine compiles them to SQL, and this package uses the engine to
check a config's SQL, so the imports run ``spec <- data <- config``.
"""

from __future__ import annotations

from ..spec import (
    AGGREGATION_OPS,
    COLUMN_TYPES,
    DEFAULT_TRIGGER,
    AggregationSpec,
    ColumnSpec,
    CsvDialect,
    OutputSpec,
    PipelineConfig,
    ProcessingSpec,
    SchemaSpec,
)
from .loading import load_config, packaged_config_path, parse_config
from .starter import STARTER_CONFIG

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
