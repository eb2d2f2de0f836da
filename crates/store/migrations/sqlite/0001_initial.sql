-- Symbolon coordinator store, schema version 1 (SQLite).
-- Keep in step with ../postgres/0001_initial.sql: same tables, columns,
-- keys and constraints; only the type names differ.
-- Public metadata only: no share, key or private key is ever stored here.

CREATE TABLE custodians (
    id                TEXT    NOT NULL PRIMARY KEY,
    endpoint          TEXT    NOT NULL,
    region            TEXT    NOT NULL,
    country           TEXT    NOT NULL,
    provider          TEXT    NOT NULL,
    kind              TEXT    NOT NULL,
    recipient         TEXT    NOT NULL,
    attestation_key   BLOB    NOT NULL CHECK (length(attestation_key) = 32),
    registered_at     INTEGER NOT NULL,
    last_heartbeat_at INTEGER,
    last_seq          INTEGER,
    reported_shares   TEXT    NOT NULL DEFAULT '[]'
) STRICT;

CREATE TABLE keys (
    id              TEXT    NOT NULL PRIMARY KEY,
    name            TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    threshold       INTEGER NOT NULL,
    shares          INTEGER NOT NULL,
    distinct_label  TEXT,
    current_version INTEGER NOT NULL CHECK (current_version >= 1),
    created_at      INTEGER NOT NULL,
    created_by      TEXT    NOT NULL,
    CHECK (threshold >= 1 AND threshold <= shares)
) STRICT;

CREATE TABLE key_versions (
    key_id     TEXT    NOT NULL REFERENCES keys (id),
    version    INTEGER NOT NULL CHECK (version >= 1),
    split_id   BLOB    NOT NULL CHECK (length(split_id) = 16),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, version)
) STRICT, WITHOUT ROWID;

CREATE TABLE placements (
    key_id          TEXT    NOT NULL,
    version         INTEGER NOT NULL,
    share_index     INTEGER NOT NULL CHECK (share_index >= 1),
    custodian_id    TEXT    NOT NULL REFERENCES custodians (id),
    metadata        BLOB    NOT NULL,
    envelope_digest BLOB    NOT NULL CHECK (length(envelope_digest) = 32),
    acknowledged_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, version, share_index),
    -- One share per custodian per key version: a custodian holding two
    -- shares would break the threshold.
    UNIQUE (key_id, version, custodian_id),
    FOREIGN KEY (key_id, version) REFERENCES key_versions (key_id, version)
) STRICT, WITHOUT ROWID;

CREATE INDEX placements_by_custodian ON placements (custodian_id);

CREATE TABLE principals (
    name       TEXT    NOT NULL PRIMARY KEY,
    role       TEXT    NOT NULL,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL
) STRICT;

-- No foreign key to keys: a refused request may name a key that does not
-- exist, and the request log must outlive retired keys. Written once per
-- operation, so it carries no secondary index.
CREATE TABLE requests (
    id           TEXT    NOT NULL PRIMARY KEY,
    key_id       TEXT    NOT NULL,
    version      INTEGER NOT NULL,
    op           TEXT    NOT NULL,
    requester    TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    completed_at INTEGER,
    outcome      TEXT,
    custodians   TEXT,
    detail       TEXT
) STRICT, WITHOUT ROWID;
