-- What S3 keeps about a bucket created through CreateBucket: its region, when it was made, and its
-- notification configuration as JSON ({"eventbridge": bool, "destinations": [...]}). A bucket
-- without a row (the stack's own, or one made by a write) keeps EventBridge notifications on.
CREATE TABLE s3_buckets (
    name          TEXT PRIMARY KEY,
    region        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    notification  TEXT NOT NULL
);

-- S3 notifications waiting for their Lambda function, committed with the write's event; the
-- deliverer claims a due row (claimed_by = its process), invokes, and deletes it once delivered.
CREATE TABLE s3_lambda_notifications (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    function         TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,
    claimed_by       TEXT,
    last_error       TEXT,
    created_at       TEXT NOT NULL
);

CREATE INDEX s3_lambda_notifications_due ON s3_lambda_notifications (status, next_attempt_at);
