-- Symbolon coordinator store, schema version 1 (PostgreSQL).
-- Keep in step with ../sqlite/0001_initial.sql: same tables, columns,
-- keys and constraints; only the type names differ.
-- Public metadata only: no share, key or private key is ever stored here.
-- Only exercised by the opt-in smoke test tests/postgres.rs, not by CI.

CREATE TABLE custodians (
    id                TEXT   NOT NULL PRIMARY KEY,
    endpoint          TEXT   NOT NULL,
    region            TEXT   NOT NULL,
    country           TEXT   NOT NULL,
    provider          TEXT   NOT NULL,
    kind              TEXT   NOT NULL,
    recipient         TEXT   NOT NULL,
    attestation_key   BYTEA  NOT NULL CHECK (octet_length(attestation_key) = 32),
    registered_at     BIGINT NOT NULL,
    last_heartbeat_at BIGINT,
    last_seq          BIGINT,
    reported_shares   TEXT   NOT NULL DEFAULT '[]'
);

CREATE TABLE keys (
    id              TEXT   NOT NULL PRIMARY KEY,
    name            TEXT   NOT NULL UNIQUE,
    kind            TEXT   NOT NULL,
    threshold       BIGINT NOT NULL,
    shares          BIGINT NOT NULL,
    distinct_label  TEXT,
    current_version BIGINT NOT NULL CHECK (current_version >= 1),
    created_at      BIGINT NOT NULL,
    created_by      TEXT   NOT NULL,
    CHECK (threshold >= 1 AND threshold <= shares)
);

CREATE TABLE key_versions (
    key_id     TEXT   NOT NULL REFERENCES keys (id),
    version    BIGINT NOT NULL CHECK (version >= 1),
    split_id   BYTEA  NOT NULL CHECK (octet_length(split_id) = 16),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, version)
);

CREATE TABLE placements (
    key_id          TEXT   NOT NULL,
    version         BIGINT NOT NULL,
    share_index     BIGINT NOT NULL CHECK (share_index >= 1),
    custodian_id    TEXT   NOT NULL REFERENCES custodians (id),
    metadata        BYTEA  NOT NULL,
    envelope_digest BYTEA  NOT NULL CHECK (octet_length(envelope_digest) = 32),
    acknowledged_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, version, share_index),
    -- One share per custodian per key version: a custodian holding two
    -- shares would break the threshold.
    UNIQUE (key_id, version, custodian_id),
    FOREIGN KEY (key_id, version) REFERENCES key_versions (key_id, version)
);

CREATE INDEX placements_by_custodian ON placements (custodian_id);

CREATE TABLE principals (
    name       TEXT   NOT NULL PRIMARY KEY,
    role       TEXT   NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL
);

-- No foreign key to keys: a refused request may name a key that does not
-- exist, and the request log must outlive retired keys. Written once per
-- operation, so it carries no secondary index.
CREATE TABLE requests (
    id           TEXT   NOT NULL PRIMARY KEY,
    key_id       TEXT   NOT NULL,
    version      BIGINT NOT NULL,
    op           TEXT   NOT NULL,
    requester    TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    completed_at BIGINT,
    outcome      TEXT,
    custodians   TEXT,
    detail       TEXT
);
