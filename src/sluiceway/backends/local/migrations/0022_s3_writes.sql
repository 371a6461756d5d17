-- The S3 writes whose event and notifications are committed: one row per write (bucket, key and
-- the write's sequencer; 'created' or 'removed'). Whoever announces a write (its writer, the folder
-- watcher, a restart's reconciliation, the recovery of a writer that died) commits its event and
-- notifications only together with the insert of this row, so each write is announced once.
-- Rows of writes that can no longer be announced again (a key's older writes) are pruned.
CREATE TABLE s3_announced_writes (
    bucket      TEXT NOT NULL,
    key         TEXT NOT NULL,
    sequencer   TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('created', 'removed')),
    created_at  REAL NOT NULL,
    PRIMARY KEY (bucket, key, sequencer, kind)
) WITHOUT ROWID;

CREATE INDEX s3_announced_writes_age ON s3_announced_writes (created_at);

-- Writes under way: committed before the object's file is renamed into place (or removed), and
-- deleted in the transaction that announces the write. A row whose writer is gone (owner: its
-- ProcessOwner id) is a write that may have landed unannounced: the recovery looks at the bucket
-- and announces the write if it is there (write_id: the id the object's sidecar records).
CREATE TABLE s3_pending_writes (
    write_id    TEXT PRIMARY KEY,
    bucket      TEXT NOT NULL,
    key         TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('created', 'removed')),
    reason      TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    owner       TEXT NOT NULL,
    created_at  REAL NOT NULL
);
