-- FIFO topics: a message's group, deduplication id and sequence number travel with it to
-- its subscribers (FIFO queues keep them as their own message's).
ALTER TABLE topic_messages ADD COLUMN group_id TEXT;
ALTER TABLE topic_messages ADD COLUMN dedup_id TEXT;
ALTER TABLE topic_messages ADD COLUMN sequence_number TEXT;

-- Deduplication ids a FIFO topic has seen: a publish repeating one before `expires_at`
-- (epoch seconds, five minutes after the first) is accepted but delivered to no one.
-- `scope` is '' for topic-wide deduplication or the message group's id
-- (FifoThroughputScope MessageGroup).
CREATE TABLE IF NOT EXISTS topic_dedup (
    topic            TEXT NOT NULL REFERENCES topics (name) ON DELETE CASCADE,
    scope            TEXT NOT NULL,
    dedup_id         TEXT NOT NULL,
    message_id       TEXT NOT NULL,
    sequence_number  TEXT NOT NULL,
    expires_at       REAL NOT NULL,
    PRIMARY KEY (topic, scope, dedup_id)
);

-- When each queue was last purged (epoch seconds): SQS allows one PurgeQueue a minute,
-- and a restart must not reset that.
ALTER TABLE queues ADD COLUMN purged_at REAL;
