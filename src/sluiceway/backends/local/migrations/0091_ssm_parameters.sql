-- SSM Parameter Store (backends/local/parameters.py). IF NOT EXISTS throughout: tests rewind
-- schema_version and replay migrations.

-- One row a version of a parameter. ``key`` is the name as Parameter Store looks it up: "/db" and
-- "db" are one parameter (a leading slash is dropped from a name of one level), while ``name`` is
-- the name as it was created (what the answers show). Parameter Store keeps the 100 latest versions.
CREATE TABLE IF NOT EXISTS ssm_parameter_versions (
    key              TEXT NOT NULL,
    version          INTEGER NOT NULL,
    name             TEXT NOT NULL,
    type             TEXT NOT NULL,
    value            TEXT NOT NULL,
    description      TEXT,
    key_id           TEXT,
    allowed_pattern  TEXT,
    data_type        TEXT NOT NULL,
    tier             TEXT NOT NULL,
    policies         TEXT,
    modified_ms      INTEGER NOT NULL,
    modified_by      TEXT NOT NULL,
    PRIMARY KEY (key, version)
);

-- A label names one version of a parameter at a time (moving it to another version moves the row).
CREATE TABLE IF NOT EXISTS ssm_parameter_labels (
    key      TEXT NOT NULL,
    label    TEXT NOT NULL,
    version  INTEGER NOT NULL,
    PRIMARY KEY (key, label)
);

-- A parameter's tags (they belong to the parameter, not to one version).
CREATE TABLE IF NOT EXISTS ssm_parameter_tags (
    key        TEXT NOT NULL,
    tag_key    TEXT NOT NULL,
    tag_value  TEXT NOT NULL,
    PRIMARY KEY (key, tag_key)
);
