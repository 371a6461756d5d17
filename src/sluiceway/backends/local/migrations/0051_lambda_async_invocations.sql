-- Lambda's asynchronous invocation queue: every invocation that was acknowledged (Invoke with
-- InvocationType=Event, S3 notifications, ...) waits here, committed before the caller hears
-- back, until a deliverer has run it, retried it or given it up. A deliverer claims a due row
-- (claimed_by = its process owner, next_attempt_at = the end of its lease), invokes, and then
-- deletes the row (delivered) or records why it gave up (status 'failed' or 'expired').
CREATE TABLE lambda_async_invocations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    function         TEXT NOT NULL,
    payload          TEXT NOT NULL,
    request_id       TEXT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  REAL NOT NULL,
    enqueued_at      REAL NOT NULL,
    claimed_by       TEXT,
    last_error       TEXT,
    updated_at       TEXT NOT NULL
);

CREATE INDEX lambda_async_invocations_due ON lambda_async_invocations (status, next_attempt_at);

-- PutFunctionEventInvokeConfig: how a function's (and qualifier's) asynchronous invocations are
-- retried and how old they may get; NULL is "not set" (Lambda's defaults apply, and Get omits it).
CREATE TABLE lambda_event_invoke_configs (
    function                 TEXT NOT NULL,
    qualifier                TEXT NOT NULL,
    maximum_retry_attempts   INTEGER,
    maximum_event_age_s      INTEGER,
    on_success               TEXT,
    on_failure               TEXT,
    last_modified            REAL NOT NULL,
    PRIMARY KEY (function, qualifier)
);

-- S3 notifications to functions waited in their own table before this queue existed: those still
-- pending move here, attempts and all, so that an upgrade loses none of them. A claim of theirs was
-- a process's that is gone (migrations run before anything claims): due at once. Each gets a
-- request id of Lambda's shape (a version 4 UUID).
INSERT INTO lambda_async_invocations
    (function, payload, request_id, status, attempts, next_attempt_at, enqueued_at, last_error, updated_at)
SELECT function, payload,
       printf('%08x-%04x-4%03x-%04x-%012x', abs(random()) % 4294967296, abs(random()) % 65536,
              abs(random()) % 4096, 32768 + abs(random()) % 16384, abs(random()) % 281474976710656),
       'pending', attempts,
       CASE WHEN claimed_by IS NULL THEN next_attempt_at ELSE CAST(strftime('%s', 'now') AS REAL) END,
       coalesce((julianday(created_at) - 2440587.5) * 86400.0, next_attempt_at),
       last_error, created_at
FROM s3_lambda_notifications WHERE status = 'pending';

DELETE FROM s3_lambda_notifications WHERE status = 'pending';
