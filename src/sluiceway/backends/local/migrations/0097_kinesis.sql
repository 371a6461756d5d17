-- Kinesis Data Streams (backends/local/kinesis/store.py). IF NOT EXISTS throughout: tests rewind
-- schema_version and replay migrations.

-- One row a stream. ``mode`` is PROVISIONED or ON_DEMAND; ``retention_hours`` 24..8760.
CREATE TABLE IF NOT EXISTS kinesis_streams (
    name             TEXT PRIMARY KEY,
    status           TEXT NOT NULL,
    mode             TEXT NOT NULL,
    retention_hours  INTEGER NOT NULL,
    created_ms       INTEGER NOT NULL,
    encryption_type  TEXT NOT NULL,
    key_id           TEXT
);

-- A stream's shards, open and closed, in the order they were made (``ordinal``). Hash keys are
-- decimal text: they are 128-bit integers, past what SQLite's INTEGER holds. ``start_position`` is
-- the last record position when the shard opened (its starting sequence number encodes it);
-- ``end_position`` is set once the shard is closed.
CREATE TABLE IF NOT EXISTS kinesis_shards (
    stream           TEXT NOT NULL REFERENCES kinesis_streams(name) ON DELETE CASCADE,
    shard_id         TEXT NOT NULL,
    ordinal          INTEGER NOT NULL,
    start_hash       TEXT NOT NULL,
    end_hash         TEXT NOT NULL,
    start_position   INTEGER NOT NULL,
    end_position     INTEGER,
    parent           TEXT,
    adjacent_parent  TEXT,
    PRIMARY KEY (stream, shard_id)
);

-- The records. AUTOINCREMENT: a position is never reused, even after the newest records were
-- trimmed or their stream deleted, so that a reader's "after this position" stays true.
CREATE TABLE IF NOT EXISTS kinesis_records (
    position         INTEGER PRIMARY KEY AUTOINCREMENT,
    stream           TEXT NOT NULL REFERENCES kinesis_streams(name) ON DELETE CASCADE,
    shard_id         TEXT NOT NULL,
    ordinal          INTEGER NOT NULL,
    partition_key    TEXT NOT NULL,
    data             BLOB NOT NULL,
    arrival_ms       INTEGER NOT NULL,
    encryption_type  TEXT NOT NULL
);

CREATE INDEX IF NOT EXISTS kinesis_records_by_shard ON kinesis_records (stream, shard_id, position);

CREATE TABLE IF NOT EXISTS kinesis_tags (
    stream     TEXT NOT NULL REFERENCES kinesis_streams(name) ON DELETE CASCADE,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (stream, tag_key)
);
