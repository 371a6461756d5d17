"""Kinesis Data Streams on the data dir's SQLite database (see :mod:`.store`)."""

from __future__ import annotations

from .store import KinesisRecord, KinesisShard, KinesisStream, PutEntry, SqliteKinesis

__all__ = ["KinesisRecord", "KinesisShard", "KinesisStream", "PutEntry", "SqliteKinesis"]
