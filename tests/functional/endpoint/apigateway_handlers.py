"""Handlers behind the API Gateway tests' routes: steered by the request's query string.

``?return=<json>`` returns that JSON as the function's result, ``?raise=msg`` raises, and with
neither the function answers 200 with the event it received as a JSON body.
"""

from __future__ import annotations

import json
from typing import Any


def steer(event: dict[str, Any], context: Any) -> Any:
    params = event.get("queryStringParameters") or {}
    if "raise" in params:
        raise RuntimeError(params["raise"])
    if "return" in params:
        return json.loads(params["return"])
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(event)}
