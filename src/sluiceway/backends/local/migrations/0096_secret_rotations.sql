-- Secrets Manager rotations under way (backends/local/secrets.py): one row a secret while its
-- rotation function's steps run, holding the rotation's token, written in the transaction that
-- checks no other rotation runs. Rows left by a process that stopped are cleared when the next
-- one first serves Secrets Manager; what the function had done by then (AWSPENDING) stays.
CREATE TABLE IF NOT EXISTS sm_rotations (
    secret_id   INTEGER PRIMARY KEY REFERENCES sm_secrets (id) ON DELETE CASCADE,
    token       TEXT NOT NULL,
    started_ms  INTEGER NOT NULL
);
