-- An asynchronous invocation's request id names it: a caller that derives the id from what it
-- delivers (EventBridge: the event, rule and target) and delivers again after a crash between
-- queueing the invocation and recording the delivery must find it queued, not queue a second one
-- (enqueue is INSERT OR IGNORE on this index).
--
-- Ids drawn at random so far (0051, 0052, uuid4) never repeat in practice; should two rows still
-- share one, they are two invocations, and the later gets a fresh id rather than fail the upgrade.
UPDATE lambda_async_invocations
SET request_id = printf('%08x-%04x-4%03x-%04x-%012x', abs(random()) % 4294967296, abs(random()) % 65536,
                        abs(random()) % 4096, 32768 + abs(random()) % 16384, abs(random()) % 281474976710656)
WHERE EXISTS (
    SELECT 1 FROM lambda_async_invocations AS earlier
    WHERE earlier.request_id = lambda_async_invocations.request_id AND earlier.id < lambda_async_invocations.id
);

CREATE UNIQUE INDEX IF NOT EXISTS lambda_async_invocations_request_id ON lambda_async_invocations (request_id);

-- 0051 moved the pending S3 notifications without an ORDER BY, so their ids (the queue's order)
-- may not follow the old table's. Nothing here can restore it: the old table is gone (0052), and
-- the moved rows cannot be told from the ones queued since.
