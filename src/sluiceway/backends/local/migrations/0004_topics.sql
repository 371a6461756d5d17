-- Topics (SNS semantics). A topic is named; its ARN is built from the stack's region and account.
CREATE TABLE topics (
    name        TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);

-- Subscriptions: protocol + endpoint per topic, with their delivery attributes.
-- `filter_policy` is the policy's JSON text as given; `delivery_policy` SNS's JSON;
-- `secret` signs webhook deliveries.
CREATE TABLE subscriptions (
    id                   TEXT PRIMARY KEY,
    topic                TEXT NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    protocol             TEXT NOT NULL CHECK (protocol IN ('sqs', 'lambda', 'email', 'email-json', 'http', 'https', 'outbox')),
    endpoint             TEXT NOT NULL,
    raw_message_delivery INTEGER NOT NULL DEFAULT 0,
    filter_policy        TEXT,
    filter_policy_scope  TEXT NOT NULL DEFAULT 'MessageAttributes',
    delivery_policy      TEXT,
    dead_letter_queue    TEXT,
    secret               TEXT,
    created_at           TEXT NOT NULL,
    UNIQUE (topic, protocol, endpoint)
);

-- Every published message, committed with one delivery row per matching subscription
-- in the same transaction. `attributes` is {"name": {"Type": ..., "Value": ...}}.
CREATE TABLE topic_messages (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id    TEXT NOT NULL UNIQUE,
    topic         TEXT NOT NULL,
    published_as  TEXT NOT NULL,
    subject       TEXT,
    message       TEXT NOT NULL,
    attributes    TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE INDEX topic_messages_topic ON topic_messages (topic, seq);

-- One row per (message, subscription): the attempts and the next attempt survive
-- restarts; a subscription that took the message is never tried again for it.
-- Protocol and endpoint are copied so that the history outlives the subscription.
-- `next_attempt_at` is epoch seconds (REAL) so that due rows come from the index.
CREATE TABLE topic_deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    message_seq      INTEGER NOT NULL REFERENCES topic_messages (seq) ON DELETE CASCADE,
    subscription     TEXT NOT NULL,
    protocol         TEXT NOT NULL,
    endpoint         TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,
    last_error       TEXT,
    updated_at       TEXT NOT NULL,
    UNIQUE (message_seq, subscription)
);
CREATE INDEX topic_deliveries_due ON topic_deliveries (status, next_attempt_at);
CREATE INDEX topic_deliveries_subscription ON topic_deliveries (subscription, id);

-- Topics published to before this migration keep their outbox subscription.
INSERT INTO topics (name, created_at)
    SELECT DISTINCT CASE WHEN topic LIKE 'arn:%' THEN replace(topic, rtrim(topic, replace(topic, ':', '')), '') ELSE topic END,
           '1970-01-01T00:00:00+00:00'
    FROM outbox;
INSERT INTO subscriptions (id, topic, protocol, endpoint, created_at)
    SELECT lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))), 2)
           || '-a' || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
           name, 'outbox', 'outbox', '1970-01-01T00:00:00+00:00'
    FROM topics;
