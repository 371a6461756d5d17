"""The commented starter config that ``sluiceway init`` writes.

It is a valid pipeline config (a test loads it) and a short manual: every
section says what it is for and lists the values it takes.
"""

from __future__ import annotations

__all__ = ["STARTER_CONFIG"]

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
