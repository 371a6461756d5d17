"""What a stream event source mapping reads: a table's stream as Lambda's records, and where each mapping stands.

:class:`LocalStreamSource` gives the runtime's pollers (``runtime/messaging/streams.py``)
the records of a stream in Lambda's event shape and wakes them when a write commits;
:class:`SqliteStreamCheckpoints` keeps each mapping's checkpoint in the data dir, so a
restarted stack carries on after the last batch it finished.
"""

from __future__ import annotations

from typing import Any, Final

from ....ports import Clock
from .._sqlite import Database
from .stream_records import lambda_record
from .streams import StreamLog

__all__ = ["LocalStreamSource", "SqliteStreamCheckpoints"]

_PAYLOAD_BUDGET: Final = 6_291_456 - 65_536
"""Lambda's 6 MB synchronous payload, less room for the event's own keys: a batch stops growing there."""


class LocalStreamSource:
    """The streams of one data dir's tables, read as an event source mapping reads them."""

    def __init__(self, db: Database, clock: Clock, *, region: str, account_id: str) -> None:
        self.log = StreamLog(db, clock, region=region, account_id=account_id)
        self.region = region
        self.account_id = account_id

    def stream_arn(self, source: str) -> str | None:
        """The stream a mapping's source names: a stream ARN, or a table (name or ARN) for its enabled stream."""
        if "/stream/" in source:
            stream = self.log.get(source)
            return stream.arn if stream is not None else None
        table = source.split(":table/", 1)[1] if ":table/" in source else source
        stream = self.log.enabled(self.log.db.connection(), table)
        return stream.arn if stream is not None else None

    def shard_id(self, stream_arn: str) -> str | None:
        stream = self.log.get(stream_arn)
        return stream.shard_id if stream is not None else None

    def exists(self, stream_arn: str) -> bool:
        return self.log.get(stream_arn) is not None

    def read(self, stream_arn: str, after: int, limit: int) -> list[dict[str, Any]]:
        """Up to ``limit`` records after sequence number ``after``, oldest first, as Lambda's event has them
        (fewer when they would pass Lambda's 6 MB payload; always at least one when there is one)."""
        found = self.log.records(stream_arn, after, limit, max_bytes=_PAYLOAD_BUDGET)
        return [lambda_record(r.body, sequence=r.sequence, created=r.created, region=self.region, stream_arn=stream_arn) for r in found]

    def latest_position(self, stream_arn: str) -> int:
        """The position just after the stream's newest record (where ``LATEST`` starts)."""
        stream = self.log.get(stream_arn)
        last = self.log.last_sequence(stream_arn)
        return max(last or 0, stream.trimmed_through if stream is not None else 0)

    def trim_horizon(self, stream_arn: str) -> int:
        """The position just before the stream's oldest record kept (where ``TRIM_HORIZON`` starts)."""
        stream = self.log.get(stream_arn)
        return stream.trimmed_through if stream is not None else 0

    @property
    def generation(self) -> int:
        """Bumped when a write in this process commits stream records (read it before looking)."""
        return self.log.signal.generation

    def wait(self, since: int, timeout: float) -> int:
        """Block until a write commits after ``since`` (the generation read before looking) or ``timeout`` passes."""
        return self.log.signal.wait(since, timeout)

    def wake(self) -> None:
        """Wake every waiter (a mapping that stops)."""
        self.log.signal.notify()


class SqliteStreamCheckpoints:
    """Each mapping's position in its stream, in ``lambda_stream_checkpoints``."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    def get(self, mapping_uuid: str) -> int | None:
        row = (
            self.db.connection().execute("SELECT position FROM lambda_stream_checkpoints WHERE mapping_uuid=?", (mapping_uuid,)).fetchone()
        )
        return None if row is None else int(row["position"])

    def put(self, mapping_uuid: str, stream_arn: str, function: str, position: int) -> None:
        with self.db.transaction() as conn:
            conn.execute(
                "INSERT INTO lambda_stream_checkpoints (mapping_uuid, stream_arn, function_name, position, updated)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (mapping_uuid) DO UPDATE SET"
                " stream_arn=excluded.stream_arn, function_name=excluded.function_name,"
                " position=excluded.position, updated=excluded.updated",
                (mapping_uuid, stream_arn, function, position, self.clock.now().timestamp()),
            )

    def delete(self, mapping_uuid: str) -> None:
        with self.db.transaction() as conn:
            conn.execute("DELETE FROM lambda_stream_checkpoints WHERE mapping_uuid=?", (mapping_uuid,))
