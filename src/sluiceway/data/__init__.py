"""Sluiceway's data engine: CSV scanning, row validation and aggregation on DuckDB.

``scan``      sniffing a file and cutting it into line-aligned, quote-aware chunks
``validate``  one chunk through DuckDB: rejects, partial aggregates, unique keys
``reader``    DuckDB's CSV reader over a chunk, and running a pass with it
``records``   the records DuckDB refused or lost, every one accounted for, and their lines
``keys``      the values of unique columns: kept per chunk, settled, found again
``rules``     the schema compiled to SQL (typed values, validity, reasons)
``lines``     physical line numbers for parsed rows
``aggregate`` partial aggregates and their exact merge; the ``sql`` mode query
``sqlcheck``  a config's SQL compiled against its schema at load time
``sqltypes``  column types in Sluiceway's words and in DuckDB's
``samples``   the deterministic demo and benchmark datasets

The engine takes the pipeline's models from :mod:`sluiceway.spec` and never
imports :mod:`sluiceway.config`, which uses the engine (``sqlcheck``) to check a
config's SQL when it reads the file.
"""

from __future__ import annotations
