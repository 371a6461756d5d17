-- CloudWatch dashboards (backends/local/dashboards.py). IF NOT EXISTS throughout: tests rewind
-- schema_version and replay migrations.

-- One row a dashboard: its body exactly as PutDashboard was given it (GetDashboard answers it
-- byte for byte), when it was last put (ListDashboards' LastModified) and the tags it was
-- created with (PutDashboard ignores Tags when it updates a dashboard, as AWS does).
CREATE TABLE IF NOT EXISTS cw_dashboards (
    name              TEXT PRIMARY KEY,
    body              TEXT NOT NULL,
    last_modified_ms  INTEGER NOT NULL,
    tags              TEXT NOT NULL DEFAULT '[]'
);
