-- CloudWatch Logs subscription filters (backends/local/subscription_filters.py); their feed
-- (backends/local/_cw_subscription_feed.py) keeps its cursor in cw_feed_cursors. IF NOT EXISTS
-- throughout: tests rewind schema_version and replay migrations.

-- One row a filter, as PutSubscriptionFilter took it: its pattern and destination, when it was
-- created (creationTime), and the position in logs.db's events when it was created: it delivers
-- the events after that one (a filter never sends the past; an update keeps the position).
CREATE TABLE IF NOT EXISTS logs_subscription_filters (
    log_group        TEXT NOT NULL,
    name             TEXT NOT NULL,
    pattern          TEXT NOT NULL,
    destination_arn  TEXT NOT NULL,
    role_arn         TEXT,
    distribution     TEXT NOT NULL,
    transformed      INTEGER NOT NULL DEFAULT 0,
    selection        TEXT,
    system_fields    TEXT,
    created_ms       INTEGER NOT NULL,
    applies_after    INTEGER NOT NULL,
    PRIMARY KEY (log_group, name)
);
