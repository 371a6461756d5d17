-- Amazon SES (backends/local/ses.py, ses_mail.py). IF NOT EXISTS throughout: tests rewind
-- schema_version and replay migrations.

-- Verified identities, regional as on AWS: an email address or a domain. Locally verification
-- succeeds at once; ``token`` is the domain's TXT record value AWS would have asked for (v1's
-- verification token); ``dkim_tokens`` (JSON, a domain's three Easy DKIM tokens) are v2's and
-- CloudFormation's, distinct from it as on AWS.
CREATE TABLE IF NOT EXISTS ses_identities (
    region      TEXT NOT NULL,
    identity    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    token       TEXT,
    dkim_tokens TEXT,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (region, identity)
);

-- Email templates (v1 CreateTemplate and v2 CreateEmailTemplate share them, as on AWS).
CREATE TABLE IF NOT EXISTS ses_templates (
    region      TEXT NOT NULL,
    name        TEXT NOT NULL,
    subject     TEXT,
    text_part   TEXT,
    html_part   TEXT,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (region, name)
);

-- Configuration sets: kept as given (``body``, JSON); event destinations are not delivered.
CREATE TABLE IF NOT EXISTS ses_configuration_sets (
    region      TEXT NOT NULL,
    name        TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_ms  INTEGER NOT NULL,
    PRIMARY KEY (region, name)
);

-- Tags of v2's identities, templates and configuration sets (``resource``: ``identity/<name>``,
-- ``template/<name>`` or ``configuration-set/<name>``; ``tags``: JSON [{Key, Value}]).
CREATE TABLE IF NOT EXISTS ses_tags (
    region      TEXT NOT NULL,
    resource    TEXT NOT NULL,
    tags        TEXT NOT NULL,
    PRIMARY KEY (region, resource)
);

-- Every accepted message: its .eml under <data>/ses/, what it was, and its relay to the SMTP
-- server. ``status`` is ``captured`` or ``render-failed`` (a template that could not be
-- rendered: AWS accepts the send and fails it later); ``relay`` is ``pending`` while the SMTP
-- server still has to get it, ``sent``, ``rejected`` (a 5xx answer), or ``none`` (no server).
CREATE TABLE IF NOT EXISTS ses_messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id       TEXT NOT NULL UNIQUE,
    region           TEXT NOT NULL,
    operation        TEXT NOT NULL,
    source           TEXT NOT NULL,
    recipients       TEXT NOT NULL,
    subject          TEXT,
    status           TEXT NOT NULL,
    error            TEXT,
    file             TEXT,
    created_ms       INTEGER NOT NULL,
    relay            TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL DEFAULT 0,
    claimed_by       TEXT,
    last_error       TEXT,
    updated_at       TEXT
);

CREATE INDEX IF NOT EXISTS ses_messages_due ON ses_messages (relay, next_attempt_at);
