-- What SQS and SNS keep beyond the ports, for the AWS-compatible endpoint.

-- Queues: MaximumMessageSize; attributes kept as given (Policy, RedriveAllowPolicy,
-- encryption and FIFO throughput settings, JSON); tags (JSON); LastModifiedTimestamp.
ALTER TABLE queues ADD COLUMN max_message_bytes INTEGER NOT NULL DEFAULT 1048576;
ALTER TABLE queues ADD COLUMN settings TEXT;
ALTER TABLE queues ADD COLUMN tags TEXT;
ALTER TABLE queues ADD COLUMN modified_at REAL;

-- Messages: the AWSTraceHeader system attribute and the first receive's time.
ALTER TABLE queue_messages ADD COLUMN trace_header TEXT;
ALTER TABLE queue_messages ADD COLUMN first_received_at REAL;

-- Message move tasks (StartMessageMoveTask), kept for ListMessageMoveTasks.
CREATE TABLE queue_move_tasks (
    handle        TEXT PRIMARY KEY,
    source        TEXT NOT NULL,
    destination   TEXT,
    status        TEXT NOT NULL,
    started_at    REAL NOT NULL,
    moved         INTEGER NOT NULL DEFAULT 0,
    to_move       INTEGER NOT NULL DEFAULT 0,
    max_per_second INTEGER,
    failure_reason TEXT
);
CREATE INDEX queue_move_tasks_source ON queue_move_tasks (source, started_at);

-- Topics: settable attributes (DisplayName, Policy, DeliveryPolicy, ..., JSON) and tags (JSON).
ALTER TABLE topics ADD COLUMN attributes TEXT;
ALTER TABLE topics ADD COLUMN tags TEXT;

-- Messages published with MessageStructure=json: the per-protocol messages (JSON);
-- `message` holds the default one.
ALTER TABLE topic_messages ADD COLUMN structure TEXT;
