-- What EventBridge's AWS/Events metrics need of a delivery and `deliveries` does not keep: when
-- its first attempt started (IngestionToInvocationStartLatency; the row's times are overwritten
-- by each attempt) and how it ended (Invocations, FailedInvocations, InvocationsSentToDlq), each
-- written once, in the transaction that claims or ends the delivery. Rows are appended in commit
-- order, so the AWS/Events feed reads them exactly once behind a cursor, like the log feed reads
-- log events. A delivery's rows are kept as long as the delivery (the bus's prune drops them with
-- it): UNIQUE (delivery, kind) is what keeps a second claim or outcome of it from being noted again.
-- A table of its own rather than columns of `deliveries`: IF NOT EXISTS makes this migration
-- safe to replay (tests rewind schema_version), which ALTER TABLE ... ADD COLUMN is not.
CREATE TABLE IF NOT EXISTS event_invocations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery     INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('started', 'ended')),
    bus          TEXT NOT NULL,
    rule         TEXT NOT NULL,
    at_ms        INTEGER NOT NULL,
    -- started: milliseconds from the event's ingestion (a replay's start, for a replayed event)
    latency_ms   REAL,
    -- ended: the final status (delivered, dead-lettered or dropped; a cancelled delivery is no
    -- invocation) and its failed attempts
    status       TEXT,
    attempts     INTEGER,
    UNIQUE (delivery, kind)
);
CREATE INDEX IF NOT EXISTS event_invocations_age ON event_invocations (at_ms);
