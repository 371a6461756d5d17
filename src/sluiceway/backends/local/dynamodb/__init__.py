"""DynamoDB on the data dir's SQLite database (see :mod:`.engine` for why there is one storage)."""

from __future__ import annotations

from .engine import LocalDynamoDb

__all__ = ["LocalDynamoDb"]
