-- CloudWatch Logs account policies (backends/local/account_policies.py): what PutAccountPolicy
-- took, by type and name. Subscription filter policies are applied by the subscription feed
-- (backends/local/_cw_subscription_feed.py) to every log group they select; the other types are
-- kept and described only. IF NOT EXISTS: tests rewind schema_version and replay migrations.

-- One row a policy: its document and selection criteria as given, when it was last put
-- (lastUpdatedTime), and the position in logs.db's events when it was created: a subscription
-- filter policy delivers the events after that one (never the past; an update keeps the position).
CREATE TABLE IF NOT EXISTS logs_account_policies (
    policy_type    TEXT NOT NULL,
    name           TEXT NOT NULL,
    document       TEXT NOT NULL,
    scope          TEXT NOT NULL,
    selection      TEXT,
    updated_ms     INTEGER NOT NULL,
    applies_after  INTEGER NOT NULL,
    PRIMARY KEY (policy_type, name)
);
