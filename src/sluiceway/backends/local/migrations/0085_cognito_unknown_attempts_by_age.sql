-- The forgotten-name lockouts are pruned by age on each call for an unknown name (and evicted
-- oldest first past the cap): an index keeps that cheap however many names a flood made up.
CREATE INDEX IF NOT EXISTS cognito_unknown_attempts_by_age ON cognito_unknown_attempts (pool_id, last_failure_at);
