-- USER_SRP_AUTH (backends/local/_userpool_srp.py). Each user's SRP salt and password verifier
-- (v = g^x mod N, hex), made whenever a password is set: a table of its own rather than columns of
-- cognito_users, since IF NOT EXISTS keeps this migration safe to replay and ADD COLUMN is not.
CREATE TABLE IF NOT EXISTS cognito_srp_verifiers (
    pool_id       TEXT NOT NULL,
    username_key  TEXT NOT NULL,
    salt          TEXT NOT NULL,
    verifier      TEXT NOT NULL,
    PRIMARY KEY (pool_id, username_key),
    FOREIGN KEY (pool_id, username_key) REFERENCES cognito_users (pool_id, username_key) ON DELETE CASCADE
);
-- Outstanding PASSWORD_VERIFIER challenges, by the SHA-256 of their SECRET_BLOCK (never the block):
-- the server's b and the exchange's A and B (hex). Each is taken by the first answer; expired ones
-- are pruned by expiry (hence the index), and a user keeps only the latest few.
CREATE TABLE IF NOT EXISTS cognito_srp_challenges (
    block_hash    TEXT PRIMARY KEY,
    pool_id       TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    username_key  TEXT NOT NULL,
    srp_a         TEXT NOT NULL,
    srp_b         TEXT NOT NULL,
    b             TEXT NOT NULL,
    issued_at     REAL NOT NULL,
    expires_at    INTEGER NOT NULL,
    FOREIGN KEY (pool_id, username_key) REFERENCES cognito_users (pool_id, username_key) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS cognito_srp_challenges_user ON cognito_srp_challenges (pool_id, username_key, issued_at);
CREATE INDEX IF NOT EXISTS cognito_srp_challenges_expiry ON cognito_srp_challenges (expires_at);
