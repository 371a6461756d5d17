-- The versions templates published of their functions (AWS::Lambda::Version, SAM's AutoPublishAlias),
-- kept apart from the stack's record: a version kept by DeletionPolicy Retain leaves the record but
-- stays published, and a number once used is never used again for that function
-- (backends/local/lambda_template_versions.py). IF NOT EXISTS keeps the migration safe to replay.
CREATE TABLE IF NOT EXISTS lambda_template_versions (
    function     TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    owner        TEXT    NOT NULL,  -- "<stack>/<logical id>" of the Version resource that published it
    description  TEXT    NOT NULL,
    code_sha256  TEXT    NOT NULL,
    published_at TEXT    NOT NULL,
    PRIMARY KEY (function, version)
);
CREATE TABLE IF NOT EXISTS lambda_template_version_numbers (
    function TEXT    PRIMARY KEY,
    highest  INTEGER NOT NULL  -- the highest number used: the number of a removed version is not used again
);
