"""The function's entry point: the seed's handler (``lambda_function.py``, verbatim), run once per S3 write.

S3 delivers its events at least once. The seed's handler writes the document with an unconditional
``put_item`` (a second delivery writes the same item again: harmless) and then publishes to SNS (a
second delivery notifies twice: not harmless). Its code stays as the source document has it; this
module hands it each record of the event only on the record's first delivery (:mod:`idempotency`).
"""

from __future__ import annotations

from typing import Any

from idempotency import once
from lambda_function import lambda_handler as record_and_notify


def lambda_handler(event: dict[str, Any], context: Any) -> None:
    for record in event["Records"]:
        with once(record, context) as first:
            if first:
                record_and_notify({**event, "Records": [record]}, context)
