"""Sluiceway's data engine: CSV scanning, row validation and aggregation on DuckDB.

``scan``      sniffing a file and cutting it into line-aligned, quote-aware chunks
``rules``     the schema compiled to SQL (typed values, validity, reasons)
``validate``  one chunk through DuckDB: rejects, partial aggregates, unique keys
``lines``     physical line numbers for parsed rows
``aggregate`` partial aggregates and their exact merge; the ``sql`` mode query
``samples``   the deterministic demo and benchmark datasets
"""

from __future__ import annotations
