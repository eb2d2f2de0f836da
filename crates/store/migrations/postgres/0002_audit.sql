-- Symbolon coordinator store, schema version 2 (PostgreSQL): the audit log.
-- Keep in step with ../sqlite/0002_audit.sql.
CREATE TABLE audit_entries (
    idx       BIGINT NOT NULL PRIMARY KEY CHECK (idx >= 0),
    entry     BYTEA  NOT NULL,
    leaf_hash BYTEA  NOT NULL CHECK (length(leaf_hash) = 32),
    head      TEXT
);
