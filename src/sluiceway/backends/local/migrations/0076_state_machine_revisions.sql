-- Every revision of a state machine that an execution may need: an execution runs to its end,
-- is resumed after a restart and is redriven with the definition and role it started with,
-- and DescribeStateMachineForExecution answers that revision, not the machine's current one.
-- A revision is written in the transaction that creates or updates the machine and never
-- changes; `initial` marks the one CreateStateMachine made (AWS gives it no revisionId).
-- Tables of their own rather than columns of `state_machines`/`executions`: IF NOT EXISTS
-- makes this migration safe to replay (tests rewind schema_version), ALTER TABLE is not.
CREATE TABLE IF NOT EXISTS state_machine_revisions (
    state_machine  TEXT NOT NULL,
    revision_id    TEXT NOT NULL,
    definition     TEXT NOT NULL,
    role_arn       TEXT NOT NULL,
    type           TEXT NOT NULL,
    logging        TEXT,
    tracing        TEXT,
    updated_at     TEXT NOT NULL,
    initial        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (state_machine, revision_id)
);

-- The revision each execution started with, written in the execution's start transaction.
-- Executions started before this migration have no row: they run with the current definition.
CREATE TABLE IF NOT EXISTS execution_revisions (
    execution_arn  TEXT PRIMARY KEY REFERENCES executions (arn) ON DELETE CASCADE,
    state_machine  TEXT NOT NULL,
    revision_id    TEXT NOT NULL,
    FOREIGN KEY (state_machine, revision_id) REFERENCES state_machine_revisions (state_machine, revision_id)
);
-- DeleteStateMachine keeps the revisions its executions still reference.
CREATE INDEX IF NOT EXISTS execution_revisions_by_revision ON execution_revisions (state_machine, revision_id);

-- The machines stored before this migration: their current configuration is a revision that
-- executions started from now on reference. A machine never updated is at its initial revision.
INSERT OR IGNORE INTO state_machine_revisions
    (state_machine, revision_id, definition, role_arn, type, logging, tracing, updated_at, initial)
SELECT name, revision_id, definition, role_arn, type, logging, tracing, updated_at, updated_at = created_at
FROM state_machines;
