-- Effects of Task states that ran, by execution and task token: a task run again after a
-- crash (its outcome was not committed) gets the recorded outcome instead of a second effect.
-- An execution's rows go when it ends: no task of it can run again after that.
CREATE TABLE task_effects (
    task_key       TEXT PRIMARY KEY,
    execution_arn  TEXT NOT NULL,
    outcome        TEXT NOT NULL,
    created_at     TEXT NOT NULL
);
CREATE INDEX task_effects_execution ON task_effects (execution_arn);

-- Who holds a claimed delivery (a process owner id, see ProcessOwner): when that process is
-- gone its claims are released at once instead of after the lease.
ALTER TABLE deliveries ADD COLUMN claimed_by TEXT;
ALTER TABLE topic_deliveries ADD COLUMN claimed_by TEXT;
