-- Event buses: `default` always exists; named buses are created and deleted by users.
CREATE TABLE event_buses (
    name        TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);
INSERT INTO event_buses (name, created_at) VALUES ('default', '1970-01-01T00:00:00.000000+00:00');

-- Every event belongs to one bus; `delivered_at` now means "routed": matched against
-- the bus's rules and fanned out into `deliveries`. Events stay as the bus's archive
-- until they are older than the retention.
ALTER TABLE events ADD COLUMN bus TEXT NOT NULL DEFAULT 'default';
CREATE INDEX events_archive ON events (bus, created_at);

-- Rules stored for every process to see; targets are AWS's PutTargets shape (JSON).
CREATE TABLE rules (
    bus          TEXT NOT NULL REFERENCES event_buses (name),
    name         TEXT NOT NULL,
    pattern      TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('ENABLED', 'DISABLED')),
    description  TEXT NOT NULL DEFAULT '',
    targets      TEXT NOT NULL DEFAULT '[]',
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (bus, name)
);

-- Bumped on every rule change so routers reload their rule indexes only then.
CREATE TABLE event_bus_state (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    rules_version  INTEGER NOT NULL
);
INSERT INTO event_bus_state (id, rules_version) VALUES (1, 0);

-- One row per (event, replay, rule, target): the attempts and the next attempt survive
-- restarts, and a target that got the event is never tried again for it.
-- Times are seconds since the epoch (REAL) so that due rows are found by an index.
CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    seq              INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    replay           TEXT NOT NULL DEFAULT '',
    bus              TEXT NOT NULL,
    rule             TEXT NOT NULL,
    target           TEXT NOT NULL,
    origin           TEXT NOT NULL CHECK (origin IN ('stored', 'process')),
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    age_from         REAL NOT NULL,
    next_attempt_at  REAL NOT NULL,
    last_error       TEXT,
    updated_at       TEXT NOT NULL,
    UNIQUE (seq, replay, bus, rule, target)
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);

-- Replays of archived events; routers fan them out batch by batch from `cursor`.
-- `until` NULL: every event up to `last_seq` (the last one when the replay started).
CREATE TABLE replays (
    name        TEXT PRIMARY KEY,
    bus         TEXT NOT NULL,
    rule        TEXT,
    since       TEXT NOT NULL,
    until       TEXT,
    last_seq    INTEGER NOT NULL,
    cursor      INTEGER NOT NULL DEFAULT 0,
    state       TEXT NOT NULL CHECK (state IN ('RUNNING', 'COMPLETED')),
    started_at  TEXT NOT NULL,
    ended_at    TEXT
);
