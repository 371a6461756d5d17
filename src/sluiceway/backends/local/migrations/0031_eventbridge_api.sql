-- What EventBridge's API keeps beside the bus's log: bus descriptions, scheduled rules,
-- archives as named resources, replays of an archive to some rules, and tags.

ALTER TABLE event_buses ADD COLUMN description TEXT;
ALTER TABLE event_buses ADD COLUMN updated_at TEXT;

-- A rule's ScheduleExpression (rate or cron, default bus only) and its next occurrence not yet
-- fired (seconds since the epoch): a fire moves it on in the transaction that commits the
-- scheduled event, so an occurrence is fired once whatever crashes. A rule with a schedule and
-- no event pattern keeps '' as its pattern.
ALTER TABLE rules ADD COLUMN schedule TEXT;
ALTER TABLE rules ADD COLUMN schedule_next REAL;
ALTER TABLE rules ADD COLUMN role_arn TEXT;
CREATE INDEX rules_schedule ON rules (schedule_next) WHERE schedule_next IS NOT NULL;

-- Archives: which events of a bus (those matching `pattern`, '' for all) arrived after the
-- archive was made; the events themselves stay in `events`.
CREATE TABLE event_archives (
    name            TEXT PRIMARY KEY,
    bus             TEXT NOT NULL,
    description     TEXT,
    pattern         TEXT NOT NULL DEFAULT '',
    retention_days  INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);

-- A replay of an archive: `archive` names it (NULL: the CLI's replay of the bus's whole log);
-- `rule` holds the rule names of Destination.FilterArns joined by ',' (names have no comma).
ALTER TABLE replays ADD COLUMN archive TEXT;
ALTER TABLE replays ADD COLUMN description TEXT;
ALTER TABLE replays ADD COLUMN cancelled_at TEXT;

CREATE TABLE event_tags (
    arn    TEXT NOT NULL,
    key    TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (arn, key)
);
