-- Executions: one row per execution; `state` is the interpreter's serialised state.
CREATE TABLE executions (
    arn            TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    state_machine  TEXT NOT NULL,
    status         TEXT NOT NULL,
    input          TEXT NOT NULL,
    output         TEXT,
    error          TEXT,
    cause          TEXT,
    started_at     TEXT NOT NULL,
    stopped_at     TEXT,
    state          TEXT,
    UNIQUE (state_machine, name)
);
CREATE INDEX executions_status ON executions (status, started_at);

-- Append-only history, AWS's event shapes in `body`.
CREATE TABLE history (
    execution_arn  TEXT NOT NULL REFERENCES executions (arn) ON DELETE CASCADE,
    event_id       INTEGER NOT NULL,
    body           TEXT NOT NULL,
    PRIMARY KEY (execution_arn, event_id)
);

-- The metadata table (DynamoDB-like): items keyed by table name + primary key.
CREATE TABLE items (
    table_name  TEXT NOT NULL,
    pk          TEXT NOT NULL,
    sk          TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    status      TEXT,
    ts          TEXT,
    PRIMARY KEY (table_name, pk, sk)
);
CREATE INDEX items_status ON items (table_name, status, ts);

-- Notification outbox: every published message, in order.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id  TEXT NOT NULL UNIQUE,
    topic       TEXT NOT NULL,
    subject     TEXT,
    message     TEXT NOT NULL,
    attributes  TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Events committed before their source is acknowledged; delivered at least once.
CREATE TABLE events (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     TEXT NOT NULL UNIQUE,
    dedupe_key   TEXT UNIQUE,
    body         TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    delivered_at TEXT
);
CREATE INDEX events_pending ON events (delivered_at, seq);
