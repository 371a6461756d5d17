-- Step Functions activities (backends/local/activities.py). IF NOT EXISTS throughout: tests rewind
-- schema_version and replay migrations.

-- One row an activity. Its ARN is made from its name, so an activity deleted and made again under
-- the same name has the same ARN (as on AWS). ``encryption`` is the EncryptionConfiguration it was
-- made with (JSON), ``tags`` its tags (JSON object).
CREATE TABLE IF NOT EXISTS sfn_activities (
    arn          TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    created_ms   INTEGER NOT NULL,
    encryption   TEXT NOT NULL,
    tags         TEXT NOT NULL
);

-- The activity tasks executions scheduled, oldest first by ``seq``: one row a task of an execution.
-- ``started_ms`` is set when GetActivityTask hands it to a worker (once); the rows of an execution
-- go when it ends.
CREATE TABLE IF NOT EXISTS sfn_activity_tasks (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_arn   TEXT NOT NULL,
    execution_arn  TEXT NOT NULL,
    task           TEXT NOT NULL,
    task_token     TEXT NOT NULL,
    input          TEXT NOT NULL,
    scheduled_ms   INTEGER NOT NULL,
    started_ms     INTEGER,
    worker_name    TEXT,
    UNIQUE (execution_arn, task)
);

CREATE INDEX IF NOT EXISTS sfn_activity_tasks_waiting ON sfn_activity_tasks (activity_arn, started_ms, seq);
