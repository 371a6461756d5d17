-- Queues (SQS semantics). Times are epoch seconds (REAL) from the injected clock.
CREATE TABLE queues (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    name                  TEXT NOT NULL UNIQUE,
    fifo                  INTEGER NOT NULL,
    content_based_dedup   INTEGER NOT NULL,
    visibility_timeout_s  INTEGER NOT NULL,
    retention_s           INTEGER NOT NULL,
    delay_s               INTEGER NOT NULL,
    receive_wait_s        INTEGER NOT NULL,
    dead_letter_queue     TEXT,
    max_receive_count     INTEGER,
    created_at            REAL NOT NULL
);

-- One row per message. `seq` orders FIFO groups and is never reused (AUTOINCREMENT),
-- `receipt` is the token of the latest receive (a receipt handle names seq and token),
-- `enqueued_at` drives retention, `arrived_at` the age of the oldest message.
-- In flight: receive_count > 0 and visible_at > now. Delayed: receive_count = 0 and visible_at > now.
CREATE TABLE queue_messages (
    seq                 INTEGER PRIMARY KEY AUTOINCREMENT,
    queue_id            INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    message_id          TEXT NOT NULL,
    body                TEXT NOT NULL,
    attributes          TEXT,
    group_id            TEXT,
    dedup_id            TEXT,
    sent_at             REAL NOT NULL,
    enqueued_at         REAL NOT NULL,
    arrived_at          REAL NOT NULL,
    visible_at          REAL NOT NULL,
    receive_count       INTEGER NOT NULL DEFAULT 0,
    receipt             TEXT,
    received_at         REAL,
    dead_letter_source  TEXT
);
-- The receive query: visible messages of one queue, oldest visibility first.
CREATE INDEX queue_messages_visible ON queue_messages (queue_id, visible_at);
-- FIFO receives walk a queue in send order. Partial: standard queues without group ids do not pay for it.
CREATE INDEX queue_messages_fifo ON queue_messages (queue_id, seq) WHERE group_id IS NOT NULL;

-- FIFO deduplication ids accepted in the last five minutes (kept across deletes, as SQS does).
CREATE TABLE queue_dedup (
    queue_id    INTEGER NOT NULL REFERENCES queues (id) ON DELETE CASCADE,
    dedup_id    TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    expires_at  REAL NOT NULL,
    PRIMARY KEY (queue_id, dedup_id)
) WITHOUT ROWID;
CREATE INDEX queue_dedup_expiry ON queue_dedup (expires_at);
