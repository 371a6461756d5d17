-- S3 notifications to functions now go to Lambda's one asynchronous queue (lambda_async_invocations,
-- migration 0051), as on AWS, where S3 hands its event to Lambda and is done. Whatever the old table
-- still holds moves there, attempts and all: those enqueued since 0051 by a stack of the previous
-- version, and the ones given up on ('failed', kept with their last error as the queue keeps its
-- own). A pending one's claim was a process's that is gone (migrations run before anything claims):
-- due at once. Each gets a request id of Lambda's shape (a version 4 UUID).
INSERT INTO lambda_async_invocations
    (function, payload, request_id, status, attempts, next_attempt_at, enqueued_at, last_error, updated_at)
SELECT function, payload,
       printf('%08x-%04x-4%03x-%04x-%012x', abs(random()) % 4294967296, abs(random()) % 65536,
              abs(random()) % 4096, 32768 + abs(random()) % 16384, abs(random()) % 281474976710656),
       status, attempts,
       CASE WHEN claimed_by IS NULL THEN next_attempt_at ELSE CAST(strftime('%s', 'now') AS REAL) END,
       coalesce((julianday(created_at) - 2440587.5) * 86400.0, next_attempt_at),
       last_error, created_at
FROM s3_lambda_notifications ORDER BY id;

DROP TABLE s3_lambda_notifications;
