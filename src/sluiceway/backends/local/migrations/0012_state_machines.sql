-- State machines created through the AWS-compatible endpoint (CreateStateMachine), and the
-- application's own as the endpoint first listed them: their definition text, type, role,
-- tags and dates are what DescribeStateMachine answers, and what a restarted stack registers.
CREATE TABLE state_machines (
    name           TEXT PRIMARY KEY,
    definition     TEXT NOT NULL,
    role_arn       TEXT NOT NULL,
    type           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    revision_id    TEXT NOT NULL,
    logging        TEXT,
    tracing        TEXT,
    tags           TEXT NOT NULL DEFAULT '{}',
    builtin        INTEGER NOT NULL DEFAULT 0
);

-- ListExecutions pages through one state machine's executions, newest first.
CREATE INDEX executions_by_machine ON executions (state_machine, started_at DESC, arn DESC);
