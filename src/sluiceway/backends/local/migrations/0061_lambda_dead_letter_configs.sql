-- A function's dead-letter queue (its DeadLetterConfig.TargetArn: an SQS queue or an SNS topic).
-- Lambda keeps it in the function's configuration, not in EventInvokeConfig: one per function,
-- whatever the qualifier, and a function without a row has none. The asynchronous invocation
-- deliverer sends it each event it gives up on, beside the OnFailure destination's record.
-- IF NOT EXISTS: a test that rewinds schema_version to replay older migrations replays this one too.
CREATE TABLE IF NOT EXISTS lambda_dead_letter_configs (
    function       TEXT PRIMARY KEY,
    target_arn     TEXT NOT NULL,
    last_modified  REAL NOT NULL
);
