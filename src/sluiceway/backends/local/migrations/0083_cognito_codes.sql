-- One-time codes Cognito would mail or text, by user and purpose (backends/local/_userpool_codes.py):
-- `forgot_password` (ForgotPassword, AdminResetUserPassword -> ConfirmForgotPassword) and
-- `verify_email` / `verify_phone_number` (UpdateUserAttributes -> VerifyUserAttribute). Only a hash
-- is kept, with the time the code stops working. A table of its own (not columns of cognito_users):
-- IF NOT EXISTS keeps the migration safe to replay, which ALTER TABLE ... ADD COLUMN is not.
CREATE TABLE IF NOT EXISTS cognito_codes (
    pool_id       TEXT NOT NULL,
    username_key  TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    code_hash     TEXT NOT NULL,
    expires_at    REAL NOT NULL,
    PRIMARY KEY (pool_id, username_key, purpose),
    FOREIGN KEY (pool_id, username_key) REFERENCES cognito_users (pool_id, username_key) ON DELETE CASCADE
);
