-- A verification code is for one address (backends/local/_userpool_codes.py): `target_hash` is the
-- SHA-256 of the email or phone number it was sent to, and VerifyUserAttribute refuses it once the
-- attribute holds another value (else a code sent to one's own address would verify any other).
ALTER TABLE cognito_codes ADD COLUMN target_hash TEXT;
-- Wrong password-reset codes given for usernames that do not exist, counted as a real user's are
-- (ConfirmForgotPassword with PreventUserExistenceErrors): keyed by a hash of the name, no row of
-- cognito_users to hang them on, so that the lockout does not tell who exists.
CREATE TABLE IF NOT EXISTS cognito_unknown_attempts (
    pool_id          TEXT NOT NULL,
    name_hash        TEXT NOT NULL,
    action           TEXT NOT NULL,
    failures         INTEGER NOT NULL,
    last_failure_at  REAL NOT NULL,
    locked_until     REAL NOT NULL,
    PRIMARY KEY (pool_id, name_hash, action),
    FOREIGN KEY (pool_id) REFERENCES cognito_pools (pool_id) ON DELETE CASCADE
);
