-- DynamoDB Streams: each table's streams, their records, and the checkpoints of the
-- Lambda event source mappings that read them.
-- A stream is one shard locally (AWS splits and rolls shards; one reader per stream
-- sees the same order either way). A disabled stream (or the stream of a deleted
-- table) stays readable for the 24 hours its records live, as on AWS. A table whose
-- stream was enabled before this migration gets its stream row on its next write.
CREATE TABLE dynamodb_streams (
    arn             TEXT PRIMARY KEY,
    table_name      TEXT NOT NULL,
    -- The table's TableId: a table made again under the same name is another table.
    table_id        TEXT NOT NULL,
    label           TEXT NOT NULL,
    view_type       TEXT NOT NULL,
    key_schema      TEXT NOT NULL,
    created         REAL NOT NULL,
    shard_id        TEXT NOT NULL,
    -- The first sequence number the shard can hold, fixed when the stream is enabled.
    start_seq       INTEGER NOT NULL,
    -- ENABLED, or DISABLED (the shard is closed: end_seq is its last sequence number).
    status          TEXT NOT NULL,
    end_seq         INTEGER,
    disabled_at     REAL,
    -- Records up to here are gone (older than 24 hours): reading from before it is refused.
    trimmed_through INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX dynamodb_streams_table ON dynamodb_streams (table_name, created);

-- One row per item change, written in the transaction of the change. seq is the
-- record's sequence number (increasing across every stream, so in each stream too);
-- body holds eventID, eventName and the images in storage form (see values.to_storage).
CREATE TABLE dynamodb_stream_records (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_arn  TEXT NOT NULL,
    created     REAL NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX dynamodb_stream_records_stream ON dynamodb_stream_records (stream_arn, seq);
CREATE INDEX dynamodb_stream_records_age ON dynamodb_stream_records (stream_arn, created);

-- Where each stream event source mapping stands: every record up to position was handled
-- (invoked, filtered out or sent to the on-failure destination). A mapping that starts
-- again resumes after it; a process killed mid-batch runs that batch again.
CREATE TABLE lambda_stream_checkpoints (
    mapping_uuid  TEXT PRIMARY KEY,
    stream_arn    TEXT NOT NULL,
    function_name TEXT NOT NULL,
    position      INTEGER NOT NULL,
    updated       REAL NOT NULL
);
