-- DynamoDB tables: the catalog, typed items and secondary index entries.
-- Items of every table (the pipeline's metadata table and tables made through the
-- endpoint) stay in `items`; from now on their body is DynamoDB JSON ({"S": ...}),
-- marked typed = 1. Rows written before (plain JSON) keep typed = 0 and are read as
-- DynamoDB would have stored them.
CREATE TABLE dynamodb_tables (
    name        TEXT PRIMARY KEY,
    spec        TEXT NOT NULL
);

-- One row per item per secondary index the item is in (indexes are sparse);
-- ipk/isk hold the index key values as order-preserving text (see sluiceway.dynamodb.keys).
CREATE TABLE item_index (
    table_name  TEXT NOT NULL,
    index_name  TEXT NOT NULL,
    ipk         TEXT NOT NULL,
    isk         TEXT NOT NULL DEFAULT '',
    pk          TEXT NOT NULL,
    sk          TEXT NOT NULL,
    PRIMARY KEY (table_name, index_name, ipk, isk, pk, sk)
);
CREATE INDEX item_index_item ON item_index (table_name, pk, sk);

ALTER TABLE items ADD COLUMN typed INTEGER NOT NULL DEFAULT 0;

-- The StatusTimeIndex of every table written so far, from the columns that served it.
INSERT INTO item_index (table_name, index_name, ipk, isk, pk, sk)
    SELECT table_name, 'StatusTimeIndex', status, ts, pk, sk FROM items
    WHERE status IS NOT NULL AND status != '' AND ts IS NOT NULL AND ts != '';

DROP INDEX items_status;
ALTER TABLE items DROP COLUMN status;
ALTER TABLE items DROP COLUMN ts;
