-- CloudWatch metrics and alarms (backends/local/cloudwatch.py). IF NOT EXISTS throughout: tests
-- rewind schema_version and replay migrations.

-- One row per metric: namespace, name and dimension set (canonical JSON: [[name, value], ...]
-- sorted by name, so that the same set in another order is the same metric, as in CloudWatch).
CREATE TABLE IF NOT EXISTS cw_metrics (
    id          INTEGER PRIMARY KEY,
    namespace   TEXT NOT NULL,
    name        TEXT NOT NULL,
    dimensions  TEXT NOT NULL,
    last_ms     INTEGER NOT NULL,
    UNIQUE (namespace, name, dimensions)
);
CREATE INDEX IF NOT EXISTS cw_metrics_name ON cw_metrics (name, namespace);

-- Each published value, value set or statistic set. `vals` holds [[value, count], ...] when the
-- values are known (percentiles need them); a statistic set has only the four statistics.
CREATE TABLE IF NOT EXISTS cw_datapoints (
    id          INTEGER PRIMARY KEY,
    metric      INTEGER NOT NULL REFERENCES cw_metrics (id) ON DELETE CASCADE,
    ts_ms       INTEGER NOT NULL,
    samples     REAL NOT NULL,
    total       REAL NOT NULL,
    minimum     REAL NOT NULL,
    maximum     REAL NOT NULL,
    vals        TEXT,
    unit        TEXT NOT NULL,
    resolution  INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS cw_datapoints_metric ON cw_datapoints (metric, ts_ms);
CREATE INDEX IF NOT EXISTS cw_datapoints_age ON cw_datapoints (ts_ms);

-- Metric alarms: `definition` is what PutMetricAlarm was given (JSON); the state as DescribeAlarms shows it.
CREATE TABLE IF NOT EXISTS cw_alarms (
    name                   TEXT PRIMARY KEY,
    definition             TEXT NOT NULL,
    actions_enabled        INTEGER NOT NULL,
    state                  TEXT NOT NULL,
    state_reason           TEXT NOT NULL,
    state_reason_data      TEXT,
    state_updated_ms       INTEGER NOT NULL,
    state_transitioned_ms  INTEGER NOT NULL,
    configuration_ms       INTEGER NOT NULL
);

-- DescribeAlarmHistory's items; kept after the alarm is deleted, as in CloudWatch, for 30 days.
CREATE TABLE IF NOT EXISTS cw_alarm_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    alarm       TEXT NOT NULL,
    ts_ms       INTEGER NOT NULL,
    item_type   TEXT NOT NULL,
    summary     TEXT NOT NULL,
    data        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cw_alarm_history_alarm ON cw_alarm_history (alarm, ts_ms);
CREATE INDEX IF NOT EXISTS cw_alarm_history_age ON cw_alarm_history (ts_ms);

-- How far each of AWS's own metric feeds has read its source (committed with the data points
-- it produced: each source record counts once, across restarts).
CREATE TABLE IF NOT EXISTS cw_feed_cursors (
    feed      TEXT PRIMARY KEY,
    position  INTEGER NOT NULL
);

-- Executions counted as started but not yet as ended (AWS/States' feed).
CREATE TABLE IF NOT EXISTS cw_open_executions (
    arn  TEXT PRIMARY KEY
);
