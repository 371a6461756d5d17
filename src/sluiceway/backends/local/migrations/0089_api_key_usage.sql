-- API Gateway's API keys and usage plans of template stacks (endpoint/apigateway/usage_store.py). The keys
-- and plans themselves come from the template at every start; what the data dir keeps is what
-- API Gateway would keep across them. IF NOT EXISTS throughout: tests rewind schema_version and
-- replay migrations.

-- A key's creation time (GetApiKey's createdDate) and the value generated for a key the template
-- gives no Value (API Gateway generates it once; it must not change at the next start).
CREATE TABLE IF NOT EXISTS apigw_api_keys (
    key_id           TEXT PRIMARY KEY,
    generated_value  TEXT,
    created_ms       INTEGER NOT NULL
);

-- A usage plan's creation time: its quota's Offset applies to the period it was created in.
CREATE TABLE IF NOT EXISTS apigw_usage_plans (
    plan_id     TEXT PRIMARY KEY,
    created_ms  INTEGER NOT NULL
);

-- Requests a key made under a usage plan, by UTC day: a quota (DAY, WEEK, MONTH) sums the days of
-- its period, and GetUsage reports them day by day.
CREATE TABLE IF NOT EXISTS apigw_key_usage (
    plan_id  TEXT NOT NULL,
    key_id   TEXT NOT NULL,
    day      TEXT NOT NULL,
    used     INTEGER NOT NULL,
    PRIMARY KEY (plan_id, key_id, day)
);
