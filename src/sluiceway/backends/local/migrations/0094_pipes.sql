-- EventBridge Pipes' pipes (backends/local/pipes.py). IF NOT EXISTS throughout: tests rewind
-- schema_version and replay migrations.

-- One row a pipe, regional as on AWS. ``config`` is the pipe's definition as the API gave it
-- (Source, Target, their parameters, the enrichment, the role, the description...), JSON text;
-- ``desired_state`` and ``current_state`` are Pipes' words (RUNNING, STOPPED...); ``tags`` JSON.
CREATE TABLE IF NOT EXISTS pipes (
    region         TEXT NOT NULL,
    name           TEXT NOT NULL,
    arn            TEXT NOT NULL UNIQUE,
    config         TEXT NOT NULL,
    desired_state  TEXT NOT NULL,
    current_state  TEXT NOT NULL,
    state_reason   TEXT,
    tags           TEXT NOT NULL DEFAULT '{}',
    created_ms     INTEGER NOT NULL,
    modified_ms    INTEGER NOT NULL,
    PRIMARY KEY (region, name)
);
