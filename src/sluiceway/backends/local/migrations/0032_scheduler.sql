-- EventBridge Scheduler: schedule groups (`default` always exists), schedules, and one row per
-- occurrence fired, delivered with retries like an event delivery.
CREATE TABLE schedule_groups (
    name        TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
INSERT INTO schedule_groups (name, created_at, updated_at)
    VALUES ('default', '1970-01-01T00:00:00.000000+00:00', '1970-01-01T00:00:00.000000+00:00');

-- `body` is the schedule's members as AWS shapes them (JSON); `next_fire_at` (seconds since the
-- epoch) is the next occurrence not yet fired, NULL once there is none.
CREATE TABLE schedules (
    grp           TEXT NOT NULL REFERENCES schedule_groups (name) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    body          TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('ENABLED', 'DISABLED')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    next_fire_at  REAL,
    PRIMARY KEY (grp, name)
);
CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE next_fire_at IS NOT NULL;

-- A fire is inserted in the transaction that moves its schedule's `next_fire_at` on; its
-- execution id is derived from the schedule and the occurrence, so it is unique twice over.
CREATE TABLE schedule_fires (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    grp              TEXT NOT NULL,
    name             TEXT NOT NULL,
    schedule_arn     TEXT NOT NULL,
    scheduled_at     REAL NOT NULL,
    target           TEXT NOT NULL,
    execution_id     TEXT NOT NULL UNIQUE,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    age_from         REAL NOT NULL,
    next_attempt_at  REAL NOT NULL,
    last_error       TEXT,
    updated_at       TEXT NOT NULL,
    claimed_by       TEXT
);
CREATE INDEX schedule_fires_due ON schedule_fires (status, next_attempt_at);

CREATE TABLE scheduler_tags (
    arn    TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
