-- A bucket's S3 configurations besides its notifications, one row per kind ("cors", "lifecycle",
-- "policy", "encryption", "ownership", "public_access_block", "accelerate", "versioning",
-- "tagging", "acl", ...), each the configuration as S3's API shapes it, in JSON. A kind without
-- a row has S3's default for it (which may be "none").
CREATE TABLE IF NOT EXISTS s3_bucket_settings (
    bucket  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    value   TEXT NOT NULL,
    PRIMARY KEY (bucket, kind)
);
