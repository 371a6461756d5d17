-- EventBridge connections and API destinations (backends/local/api_destinations.py). A connection's
-- credentials are in its Secrets Manager secret (sm_secrets), never here: auth_parameters is what
-- DescribeConnection shows. IF NOT EXISTS: tests rewind schema_version and replay migrations.

CREATE TABLE IF NOT EXISTS events_connections (
    name             TEXT PRIMARY KEY,
    arn              TEXT NOT NULL UNIQUE,
    auth_type        TEXT NOT NULL,
    auth_parameters  TEXT NOT NULL,
    secret_arn       TEXT NOT NULL,
    state            TEXT NOT NULL,
    state_reason     TEXT,
    description      TEXT,
    created_at       TEXT NOT NULL,
    modified_at      TEXT NOT NULL,
    authorized_at    TEXT
);

CREATE TABLE IF NOT EXISTS events_api_destinations (
    name             TEXT PRIMARY KEY,
    arn              TEXT NOT NULL UNIQUE,
    connection_arn   TEXT NOT NULL,
    endpoint         TEXT NOT NULL,
    http_method      TEXT NOT NULL,
    rate_limit       INTEGER NOT NULL,
    description      TEXT,
    created_at       TEXT NOT NULL,
    modified_at      TEXT NOT NULL
);
