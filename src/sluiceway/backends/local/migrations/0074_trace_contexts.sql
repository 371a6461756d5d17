-- The trace context (W3C traceparent: 00-<trace id>-<span id>-<flags>) of the span that
-- committed an event, an SNS message or an asynchronous invocation, written in the same
-- transaction, so that what delivers it later continues that trace: one upload is one trace
-- from its PutObject to its notification. Rows exist only while tracing is on (it is off by
-- default), beside the rows they belong to and gone with them; the JSON that targets,
-- subscribers and functions get is unchanged.
CREATE TABLE IF NOT EXISTS event_trace_contexts (
    seq           INTEGER PRIMARY KEY REFERENCES events (seq) ON DELETE CASCADE,
    trace_parent  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS topic_message_trace_contexts (
    message_seq   INTEGER PRIMARY KEY REFERENCES topic_messages (seq) ON DELETE CASCADE,
    trace_parent  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lambda_async_trace_contexts (
    invocation_id INTEGER PRIMARY KEY REFERENCES lambda_async_invocations (id) ON DELETE CASCADE,
    trace_parent  TEXT NOT NULL
);
