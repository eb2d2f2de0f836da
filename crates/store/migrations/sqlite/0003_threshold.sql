-- Symbolon coordinator store, schema version 3 (SQLite): threshold keys.
-- Keep in step with ../postgres/0003_threshold.sql.
-- `public_key` is the public side of a threshold key version (the group
-- key and every custodian's verification share, in the threshold crate's
-- encoding); NULL for `secret` keys. Public data only.
ALTER TABLE key_versions ADD COLUMN public_key BLOB;

-- Partial results (signature or decryption shares) a custodian sent that
-- failed their proofs: how many, and the last one.
ALTER TABLE custodians ADD COLUMN faults INTEGER NOT NULL DEFAULT 0 CHECK (faults >= 0);
ALTER TABLE custodians ADD COLUMN last_fault TEXT;
ALTER TABLE custodians ADD COLUMN last_fault_at INTEGER;
