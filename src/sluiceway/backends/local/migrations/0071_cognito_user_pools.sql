-- Cognito-compatible user pools (backends/local/userpools.py). Pools, app clients, groups,
-- resource servers and domains keep their document as Cognito's Describe* operations show it
-- (JSON); users, memberships, refresh tokens and challenge sessions are rows of their own,
-- since sign-in looks them up by key.
CREATE TABLE IF NOT EXISTS cognito_pools (
    pool_id     TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    -- The pool's RS256 signing key (PKCS#8 PEM) and its kid, made once with the pool.
    key_pem     BLOB NOT NULL,
    kid         TEXT NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cognito_clients (
    client_id   TEXT PRIMARY KEY,
    pool_id     TEXT NOT NULL REFERENCES cognito_pools (pool_id) ON DELETE CASCADE,
    document    TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS cognito_clients_pool ON cognito_clients (pool_id);
CREATE TABLE IF NOT EXISTS cognito_groups (
    pool_id     TEXT NOT NULL REFERENCES cognito_pools (pool_id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (pool_id, name)
);
CREATE TABLE IF NOT EXISTS cognito_resource_servers (
    pool_id     TEXT NOT NULL REFERENCES cognito_pools (pool_id) ON DELETE CASCADE,
    identifier  TEXT NOT NULL,
    document    TEXT NOT NULL,
    PRIMARY KEY (pool_id, identifier)
);
CREATE TABLE IF NOT EXISTS cognito_domains (
    domain      TEXT PRIMARY KEY,
    pool_id     TEXT NOT NULL UNIQUE REFERENCES cognito_pools (pool_id) ON DELETE CASCADE,
    document    TEXT NOT NULL
);
-- `username_key` is the username as sign-in looks it up (lower-cased in a case-insensitive pool).
CREATE TABLE IF NOT EXISTS cognito_users (
    pool_id         TEXT NOT NULL REFERENCES cognito_pools (pool_id) ON DELETE CASCADE,
    username_key    TEXT NOT NULL,
    username        TEXT NOT NULL,
    sub             TEXT NOT NULL,
    status          TEXT NOT NULL,
    enabled         INTEGER NOT NULL DEFAULT 1,
    password_hash   TEXT,
    attributes      TEXT NOT NULL,
    -- SignUp's confirmation code, hashed (there is no mail locally: it is logged once).
    code_hash       TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    PRIMARY KEY (pool_id, username_key),
    UNIQUE (pool_id, sub)
);
CREATE TABLE IF NOT EXISTS cognito_memberships (
    pool_id         TEXT NOT NULL,
    username_key    TEXT NOT NULL,
    group_name      TEXT NOT NULL,
    PRIMARY KEY (pool_id, username_key, group_name),
    FOREIGN KEY (pool_id, username_key) REFERENCES cognito_users (pool_id, username_key) ON DELETE CASCADE,
    FOREIGN KEY (pool_id, group_name) REFERENCES cognito_groups (pool_id, name) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS cognito_memberships_group ON cognito_memberships (pool_id, group_name);
-- One row per sign-in: its refresh token (SHA-256 of it, never the token) and the origin_jti every
-- token of that sign-in carries; revoked by RevokeToken and GlobalSignOut, which is how their
-- access tokens stop working too.
CREATE TABLE IF NOT EXISTS cognito_sign_ins (
    origin_jti      TEXT PRIMARY KEY,
    token_hash      TEXT NOT NULL UNIQUE,
    pool_id         TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    username_key    TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    auth_time       INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    revoked         INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (pool_id, username_key) REFERENCES cognito_users (pool_id, username_key) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS cognito_sign_ins_user ON cognito_sign_ins (pool_id, username_key);
-- Challenge sessions (NEW_PASSWORD_REQUIRED): the Session string's hash, valid a few minutes.
CREATE TABLE IF NOT EXISTS cognito_sessions (
    session_hash    TEXT PRIMARY KEY,
    pool_id         TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    username_key    TEXT NOT NULL,
    challenge       TEXT NOT NULL,
    expires_at      INTEGER NOT NULL,
    FOREIGN KEY (pool_id, username_key) REFERENCES cognito_users (pool_id, username_key) ON DELETE CASCADE
);
-- Sluiceway's own pools by role (`sluiceway` backs the management API), made once.
CREATE TABLE IF NOT EXISTS cognito_defaults (
    name        TEXT PRIMARY KEY,
    pool_id     TEXT NOT NULL REFERENCES cognito_pools (pool_id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL
);
