-- State machine versions and aliases (PublishStateMachineVersion, CreateStateMachineAlias).
-- A version is a numbered, immutable pointer to one stored revision: the revision's row in
-- state_machine_revisions stays while a version references it. Numbers are never reused
-- (AWS publishes 3 after 2 was deleted), hence the counter kept apart from the versions.
CREATE TABLE IF NOT EXISTS state_machine_version_counters (
    state_machine  TEXT PRIMARY KEY,
    last_version   INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS state_machine_versions (
    state_machine  TEXT NOT NULL,
    version        INTEGER NOT NULL,
    revision_id    TEXT NOT NULL,
    description    TEXT,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (state_machine, version),
    FOREIGN KEY (state_machine, revision_id) REFERENCES state_machine_revisions (state_machine, revision_id)
);
CREATE INDEX IF NOT EXISTS state_machine_versions_by_revision ON state_machine_versions (state_machine, revision_id);

-- An alias routes StartExecution to one or two versions by weight: `routing` is JSON,
-- [[version, weight], ...] in the order it was given (DescribeStateMachineAlias keeps it).
CREATE TABLE IF NOT EXISTS state_machine_aliases (
    state_machine  TEXT NOT NULL,
    name           TEXT NOT NULL,
    description    TEXT,
    routing        TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    PRIMARY KEY (state_machine, name)
);

-- The version (and alias) an execution was started through: DescribeExecution and
-- ListExecutions show them, and ListExecutions filters by them. Kept after the version or
-- alias is deleted, as AWS keeps describing the execution with them.
CREATE TABLE IF NOT EXISTS execution_versions (
    execution_arn  TEXT PRIMARY KEY REFERENCES executions (arn) ON DELETE CASCADE,
    state_machine  TEXT NOT NULL,
    version        INTEGER NOT NULL,
    alias          TEXT
);
CREATE INDEX IF NOT EXISTS execution_versions_by_version ON execution_versions (state_machine, version);
CREATE INDEX IF NOT EXISTS execution_versions_by_alias ON execution_versions (state_machine, alias);
