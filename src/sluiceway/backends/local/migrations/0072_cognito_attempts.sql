-- Failed attempts per user and action (backends/local/_userpool_auth.py, _userpool_users.py):
-- `sign_in` (wrong passwords: Cognito's lockout, "Password attempts exceeded") and
-- `confirm_sign_up` (wrong confirmation codes: LimitExceededException). See cognito/lockout.py.
-- A table of its own rather than columns of cognito_users: IF NOT EXISTS makes this migration
-- safe to replay (tests rewind schema_version), which ALTER TABLE ... ADD COLUMN is not.
CREATE TABLE IF NOT EXISTS cognito_attempts (
    pool_id          TEXT NOT NULL,
    username_key     TEXT NOT NULL,
    action           TEXT NOT NULL,
    failures         INTEGER NOT NULL,
    last_failure_at  REAL NOT NULL,
    locked_until     REAL NOT NULL,
    PRIMARY KEY (pool_id, username_key, action),
    FOREIGN KEY (pool_id, username_key) REFERENCES cognito_users (pool_id, username_key) ON DELETE CASCADE
);
-- Sluiceway's own pool guards the management API: users are made by admins, never by signing up
-- (as the deployed template's pool, AllowAdminCreateUserOnly). Pools made before this said otherwise.
UPDATE cognito_pools SET document = json_set(document, '$.AdminCreateUserConfig.AllowAdminCreateUserOnly', json('true'))
    WHERE pool_id IN (SELECT pool_id FROM cognito_defaults WHERE name = 'sluiceway');
