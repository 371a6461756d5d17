"""Custom resources' answers: the presigned ``ResponseURL`` a function PUTs its result to, served by the endpoint.

Each request gets a slot named by a fresh request id; the endpoint's
``PUT /_sluiceway/cloudformation/responses/<id>`` fills it (a slot that was never
opened, or is filled already, refuses: a guessed or replayed URL changes nothing).
"""

from __future__ import annotations

import json
import threading
from typing import Any

__all__ = ["RESPONSE_PATH", "ResponseSlots"]

RESPONSE_PATH = "/_sluiceway/cloudformation/responses/"
_MAX_RESPONSE_BYTES = 4096  # CloudFormation's limit for a custom resource's response


class ResponseSlots:
    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._open: set[str] = set()
        self._filled: dict[str, dict[str, Any]] = {}

    def open(self, request_id: str) -> None:
        with self._lock:
            self._open.add(request_id)

    def put(self, request_id: str, body: bytes) -> tuple[int, str]:
        """Fill the slot: (HTTP status, message) for the caller."""
        if len(body) > _MAX_RESPONSE_BYTES:
            return 400, f"a custom resource response may have at most {_MAX_RESPONSE_BYTES} bytes"
        try:
            document = json.loads(body)
        except ValueError:
            return 400, "the response is not JSON"
        if not isinstance(document, dict):
            return 400, "the response must be a JSON object"
        with self._lock:
            if request_id not in self._open:
                return 403, "no custom resource request is waiting for this response"
            self._open.discard(request_id)
            self._filled[request_id] = document
            self._lock.notify_all()
        return 200, ""

    def wait(self, request_id: str, timeout_s: float) -> dict[str, Any] | None:
        with self._lock:
            self._lock.wait_for(lambda: request_id in self._filled, timeout=timeout_s)
            self._open.discard(request_id)
            return self._filled.pop(request_id, None)
