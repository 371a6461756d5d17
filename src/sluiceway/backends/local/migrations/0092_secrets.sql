-- Secrets Manager's secrets (backends/local/secrets.py). IF NOT EXISTS throughout: tests rewind
-- schema_version and replay migrations.

-- One row a secret, regional as on AWS: its ARN keeps the random six-character suffix it was
-- made with (a secret deleted and made again under the same name gets a new one). ``tags`` is
-- NULL until the secret is first tagged (DescribeSecret then answers ``Tags: []`` once they are
-- all removed, as AWS does); ``deleted_ms`` and ``purge_ms`` are set while it waits out its
-- recovery window.
CREATE TABLE IF NOT EXISTS sm_secrets (
    id                   INTEGER PRIMARY KEY AUTOINCREMENT,
    region               TEXT NOT NULL,
    name                 TEXT NOT NULL,
    arn                  TEXT NOT NULL UNIQUE,
    description          TEXT,
    kms_key_id           TEXT,
    tags                 TEXT,
    created_ms           INTEGER NOT NULL,
    changed_ms           INTEGER NOT NULL,
    accessed_day_ms      INTEGER,
    deleted_ms           INTEGER,
    purge_ms             INTEGER,
    rotation_lambda_arn  TEXT,
    rotation_rules       TEXT,
    rotation_enabled     INTEGER,
    rotated_ms           INTEGER,
    policy               TEXT,
    UNIQUE (region, name)
);

-- A secret's versions, oldest first by ``seq``; a version without staging labels is deprecated
-- (ListSecretVersionIds shows it only with IncludeDeprecated) until it is pruned.
CREATE TABLE IF NOT EXISTS sm_versions (
    secret_id        INTEGER NOT NULL REFERENCES sm_secrets (id) ON DELETE CASCADE,
    version_id       TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    secret_string    TEXT,
    secret_binary    BLOB,
    created_ms       INTEGER NOT NULL,
    accessed_day_ms  INTEGER,
    PRIMARY KEY (secret_id, version_id)
);

-- Each staging label is on at most one version of its secret.
CREATE TABLE IF NOT EXISTS sm_stages (
    secret_id   INTEGER NOT NULL,
    stage       TEXT NOT NULL,
    version_id  TEXT NOT NULL,
    PRIMARY KEY (secret_id, stage),
    FOREIGN KEY (secret_id, version_id) REFERENCES sm_versions (secret_id, version_id) ON DELETE CASCADE
);
