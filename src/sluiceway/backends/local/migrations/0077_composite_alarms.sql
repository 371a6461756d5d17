-- CloudWatch composite alarms (backends/local/cloudwatch.py). IF NOT EXISTS throughout: tests
-- rewind schema_version and replay migrations.

-- Composite alarms: `definition` is what PutCompositeAlarm was given (JSON); the state as
-- DescribeAlarms shows it. A name is a metric alarm's or a composite alarm's, never both.
CREATE TABLE IF NOT EXISTS cw_composite_alarms (
    name                   TEXT PRIMARY KEY,
    definition             TEXT NOT NULL,
    actions_enabled        INTEGER NOT NULL,
    state                  TEXT NOT NULL,
    state_reason           TEXT NOT NULL,
    state_reason_data      TEXT,
    state_updated_ms       INTEGER NOT NULL,
    state_transitioned_ms  INTEGER NOT NULL,
    configuration_ms       INTEGER NOT NULL,
    -- Actions suppression: by what (WaitPeriod, Alarm, ExtensionPeriod) and until when (NULL
    -- while the suppressor is in ALARM); `pending_from` is the state the held-back transition
    -- left (NULL: no actions held back).
    suppressed_by          TEXT,
    suppressed_reason      TEXT,
    suppressed_until_ms    INTEGER,
    pending_from           TEXT
);
CREATE INDEX IF NOT EXISTS cw_composite_alarms_suppressed ON cw_composite_alarms (suppressed_until_ms);

-- The alarms each composite alarm depends on, by name: those its rule references (role 'rule':
-- a change of their state evaluates the rule again) and its actions suppressor (role
-- 'suppressor'). Neither kind may be deleted while the composite alarm exists.
CREATE TABLE IF NOT EXISTS cw_composite_children (
    parent  TEXT NOT NULL REFERENCES cw_composite_alarms (name) ON DELETE CASCADE,
    child   TEXT NOT NULL,
    role    TEXT NOT NULL,
    PRIMARY KEY (parent, child, role)
);
CREATE INDEX IF NOT EXISTS cw_composite_children_child ON cw_composite_children (child, role);

-- The alarm type of history items that are not a metric alarm's (DescribeAlarmHistory's
-- AlarmType); kept beside cw_alarm_history so that its rows and readers stay as they were.
CREATE TABLE IF NOT EXISTS cw_alarm_history_types (
    id          INTEGER PRIMARY KEY REFERENCES cw_alarm_history (id) ON DELETE CASCADE,
    alarm_type  TEXT NOT NULL
);
