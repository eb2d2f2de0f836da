-- Symbolon coordinator store, schema version 2 (SQLite): the audit log.
-- Keep in step with ../postgres/0002_audit.sql.
-- One row per log entry, written in the same transaction as the state
-- change it records. `entry` is the canonical encoding (never a secret),
-- `leaf_hash` its RFC 6962 leaf hash, `head` the signed tree head the
-- coordinator signed when the transaction that wrote this row committed
-- (on the transaction's last row only).
CREATE TABLE audit_entries (
    idx       INTEGER NOT NULL PRIMARY KEY CHECK (idx >= 0),
    entry     BLOB    NOT NULL,
    leaf_hash BLOB    NOT NULL CHECK (length(leaf_hash) = 32),
    head      TEXT
) STRICT;
