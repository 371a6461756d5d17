"""Stream mappings' checkpoints, shard by shard: a Kinesis mapping keeps one per shard of its stream.

A DynamoDB stream mapping's checkpoint is kept under its UUID (its stream has one shard locally);
a Kinesis mapping's under ``<UUID>/<shard id>`` for each shard. Forgetting a deleted mapping
forgets them all, also those of shards its pollers never read in this process.
"""

from __future__ import annotations

from .dynamodb.stream_source import SqliteStreamCheckpoints

__all__ = ["SqliteShardCheckpoints"]


class SqliteShardCheckpoints(SqliteStreamCheckpoints):
    """Each mapping's position in each shard of its stream, in ``lambda_stream_checkpoints``."""

    def delete(self, mapping_uuid: str) -> None:
        """Forget the checkpoint under ``mapping_uuid``; a bare UUID also takes its shards' (``<UUID>/...``)."""
        with self.db.transaction() as conn:
            # A UUID has no "/" (nor LIKE's wildcards): the prefix matches that mapping's shards only.
            conn.execute("DELETE FROM lambda_stream_checkpoints WHERE mapping_uuid=?", (mapping_uuid,))
            if "/" not in mapping_uuid:
                # Not LIKE: the UUID is matched as it is, character for character.
                conn.execute(
                    "DELETE FROM lambda_stream_checkpoints WHERE substr(mapping_uuid, 1, ?) = ?",
                    (len(mapping_uuid) + 1, mapping_uuid + "/"),
                )
