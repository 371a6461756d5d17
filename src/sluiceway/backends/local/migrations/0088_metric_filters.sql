-- CloudWatch Logs metric filters (backends/local/metric_filters.py) and what their feed
-- (backends/local/_cw_metric_filter_feed.py) has published. IF NOT EXISTS throughout: tests
-- rewind schema_version and replay migrations.

-- One row a filter: its pattern and its one metric transformation as PutMetricFilter took them
-- (JSON, DescribeMetricFilters answers it back), when it was created (creationTime), and the
-- position in logs.db's events when it was created: it reads the events after that one (a
-- filter never counts the past; an update keeps the position).
CREATE TABLE IF NOT EXISTS logs_metric_filters (
    log_group       TEXT NOT NULL,
    name            TEXT NOT NULL,
    pattern         TEXT NOT NULL,
    transformation  TEXT NOT NULL,
    created_ms      INTEGER NOT NULL,
    applies_after   INTEGER NOT NULL,
    PRIMARY KEY (log_group, name)
);
CREATE INDEX IF NOT EXISTS logs_metric_filters_by_name ON logs_metric_filters (name, log_group);

-- The minutes (of the events' own time) in which a filter with a DefaultValue had events: whether
-- one matched, and whether the minute is closed (its DefaultValue, if no event matched, was
-- published then, once, however many feed batches that minute's events came in).
CREATE TABLE IF NOT EXISTS logs_metric_filter_defaults (
    log_group  TEXT NOT NULL,
    name       TEXT NOT NULL,
    minute     INTEGER NOT NULL,
    matched    INTEGER NOT NULL DEFAULT 0,
    closed     INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (log_group, name, minute)
);
CREATE INDEX IF NOT EXISTS logs_metric_filter_defaults_open ON logs_metric_filter_defaults (closed, minute);
