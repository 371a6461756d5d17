-- The tenant (Invoke's TenantId, Lambda tenant isolation) an asynchronous invocation runs for, when it
-- named one (backends/local/async_invocations.py). A table of its own rather than a column: IF NOT
-- EXISTS keeps the migration safe to replay, which ALTER TABLE ... ADD COLUMN is not.
CREATE TABLE IF NOT EXISTS lambda_async_tenants (
    invocation_id INTEGER PRIMARY KEY REFERENCES lambda_async_invocations (id) ON DELETE CASCADE,
    tenant_id     TEXT NOT NULL
);
