//! The audit log on the wire: what the coordinator serves to auditors
//! (`/v1/audit/...`), what it hands custodians as evidence that a request is
//! in the log, and the canonical request statement whose digest the log
//! records.
//!
//! Coordinator endpoints (client certificates):
//!
//! * `GET /v1/audit/head` — [`AuditHead`].
//! * `GET /v1/audit/entries?start=N&limit=M` — [`AuditEntries`] (at most
//!   [`MAX_ENTRIES_PER_PAGE`]).
//! * `GET /v1/audit/entries/{index}` — [`AuditEntryView`].
//! * `GET /v1/audit/proof/inclusion?index=N[&size=S]` — [`InclusionProof`]
//!   against the signed head of size `S` (the latest when absent).
//! * `GET /v1/audit/proof/consistency?from=A&to=B` — [`ConsistencyProof`].

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use symbolon_audit::Entry;
use utoipa::ToSchema;

use crate::encoding::put_str;

/// The most entries one page of `GET /v1/audit/entries` returns.
pub const MAX_ENTRIES_PER_PAGE: u64 = 1000;

/// The latest signed tree head and the log's public key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    /// The latest tree head as a C2SP signed note: the log's signature and
    /// any witness (custodian) cosignatures collected so far.
    pub note: String,
    /// Its tree size (also on the note's second line).
    pub size: u64,
    /// The log's verifier key (`name+id+base64`, signed-note `vkey` form).
    pub log_key: String,
    /// The most recent tree head that custodians cosigned, with their
    /// cosignatures; `None` before any custodian cosigned one.
    pub witnessed: Option<String>,
    /// The witnesses' verifier keys (one per registered custodian, named by
    /// custodian id), as the coordinator knows them.
    pub witness_keys: Vec<String>,
}

/// One log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEntryView {
    /// Its index in the log (0-based).
    pub index: u64,
    /// The canonical encoding (whose RFC 6962 leaf hash is in the tree).
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub encoded: Vec<u8>,
    /// The entry, decoded for humans. Informative only: tools verify
    /// `encoded`.
    #[schema(value_type = Object)]
    pub entry: Option<Entry>,
    /// The signed tree head that the coordinator signed when this entry was
    /// committed, if it was the last entry of its transaction.
    pub head: Option<String>,
}

/// A page of entries.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEntries {
    /// Entries `start..start + entries.len()`, in order.
    pub entries: Vec<AuditEntryView>,
    /// The log's size when the page was read.
    pub size: u64,
}

/// An inclusion proof with the signed head it is against.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InclusionProof {
    /// The entry's index.
    pub index: u64,
    /// The entry's canonical encoding.
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub encoded: Vec<u8>,
    /// The signed tree head (C2SP signed note) the proof is against.
    pub head: String,
    /// The audit path, deepest first, as hex hashes (RFC 9162 §2.1.3).
    pub proof: Vec<String>,
}

/// A consistency proof between two tree sizes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// The proof, as hex hashes (RFC 9162 §2.1.4).
    pub proof: Vec<String>,
}

/// What a custodian needs to check that a request is in the log, and that
/// the log it is in extends everything the custodian has seen.
///
/// A custodian keeps the log's leaf hashes (32 bytes per entry, never the
/// entries), so the coordinator sends it the leaf hashes it has not seen
/// yet — from `first_leaf` on — instead of a consistency proof from one
/// particular head: the custodian recomputes the root of `head` itself, so
/// requests that arrive out of order never race, and a fork is caught at
/// the exact entry where the views diverge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditEvidence {
    /// The log's signed tree head (C2SP signed note) covering the request.
    pub head: String,
    /// The index of the `request.created` entry.
    pub index: u64,
    /// That entry's canonical encoding.
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub entry: Vec<u8>,
    /// Its audit path to `head` (RFC 9162 inclusion proof), hex.
    pub inclusion: Vec<String>,
    /// The index of the first leaf hash in `leaves`.
    pub first_leaf: u64,
    /// Leaf hashes `first_leaf..head.size`, concatenated (32 bytes each).
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub leaves: Vec<u8>,
}

/// The most leaf hashes the coordinator sends a custodian in one request;
/// a custodian further behind is first brought up to date with
/// [`AuditSync`] requests of at most this many.
pub const MAX_LEAVES_PER_REQUEST: u64 = 16_384;

/// Brings a custodian's copy of the log's leaf hashes up to a signed tree
/// head (`POST /v1/audit/sync` on the custodian), when it is too far behind
/// to receive them with a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSync {
    /// A signed tree head of the log (C2SP signed note).
    pub head: String,
    /// The index of the first leaf hash in `leaves`.
    pub first_leaf: u64,
    /// Leaf hashes `first_leaf..head.size`, concatenated (32 bytes each).
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub leaves: Vec<u8>,
}

/// A custodian's answer to [`AuditSync`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AuditSynced {
    /// How many leaf hashes it holds now.
    pub witness_size: u64,
}

/// Domain separation of request digests.
/// `v2` added the payload digest.
const REQUEST_DOMAIN: &[u8] = b"symbolon request v2\0";

/// The payload digest of an operation whose payload custodians never see
/// (encrypt and release with a `secret` key): all zeros.
pub const NO_PAYLOAD: [u8; 32] = [0; 32];

/// SHA-256 of an operation's payload, domain-separated: the message to
/// sign or the whole ciphertext to decrypt. A custodian that computes a
/// partial result over a payload checks it against the digest the log
/// recorded, so the coordinator cannot log one message and sign another.
pub fn payload_digest(payload: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"symbolon request payload v1\0");
    hash.update(payload);
    hash.finalize().into()
}

/// The canonical statement of one operation request: the coordinator logs
/// its SHA-256 digest in `request.created`, and custodians recompute it from
/// the fields they are sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RequestStatement {
    /// The request id.
    pub request_id: String,
    /// The key id.
    pub key_id: String,
    /// The key version.
    pub version: u64,
    /// The operation (`encrypt`, `decrypt`, `release`, …).
    pub op: String,
    /// The principal that asked.
    pub requester: String,
    /// When it was created, Unix milliseconds.
    pub created_at_ms: u64,
    /// After this (Unix milliseconds) custodians refuse it.
    pub expires_at_ms: u64,
    /// The ephemeral X25519 key shares are sealed to (reconstruct mode).
    #[serde(with = "crate::hex32")]
    #[schema(value_type = String)]
    pub ephemeral_public: [u8; 32],
    /// [`payload_digest`] of the message to sign or the ciphertext to
    /// decrypt with a threshold key; [`NO_PAYLOAD`] otherwise.
    #[serde(with = "crate::hex32")]
    #[schema(value_type = String)]
    pub payload_digest: [u8; 32],
}

impl RequestStatement {
    /// The canonical bytes: a domain tag, then each field in order (strings
    /// u16-length-prefixed, integers big-endian).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(160);
        out.extend_from_slice(REQUEST_DOMAIN);
        put_str(&mut out, &self.request_id);
        put_str(&mut out, &self.key_id);
        out.extend_from_slice(&self.version.to_be_bytes());
        put_str(&mut out, &self.op);
        put_str(&mut out, &self.requester);
        out.extend_from_slice(&self.created_at_ms.to_be_bytes());
        out.extend_from_slice(&self.expires_at_ms.to_be_bytes());
        out.extend_from_slice(&self.ephemeral_public);
        out.extend_from_slice(&self.payload_digest);
        out
    }

    /// SHA-256 of [`RequestStatement::canonical_bytes`]: the digest the
    /// audit entry records.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.canonical_bytes()).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statement() -> RequestStatement {
        RequestStatement {
            request_id: "r1".into(),
            key_id: "k1".into(),
            version: 1,
            op: "decrypt".into(),
            requester: "alice".into(),
            created_at_ms: 1,
            expires_at_ms: 2,
            ephemeral_public: [7; 32],
            payload_digest: NO_PAYLOAD,
        }
    }

    #[test]
    fn every_field_changes_the_digest() {
        let base = statement().digest();
        let mut variants = Vec::new();
        let mut s = statement();
        s.request_id.push('x');
        variants.push(s);
        let mut s = statement();
        s.key_id.push('x');
        variants.push(s);
        let mut s = statement();
        s.version += 1;
        variants.push(s);
        let mut s = statement();
        s.op = "release".into();
        variants.push(s);
        let mut s = statement();
        s.requester.push('x');
        variants.push(s);
        let mut s = statement();
        s.created_at_ms += 1;
        variants.push(s);
        let mut s = statement();
        s.expires_at_ms += 1;
        variants.push(s);
        let mut s = statement();
        s.ephemeral_public[31] ^= 1;
        variants.push(s);
        let mut s = statement();
        s.payload_digest = payload_digest(b"");
        variants.push(s);
        for v in variants {
            assert_ne!(v.digest(), base, "{v:?}");
        }
        // Moving a byte across a field boundary changes the digest too.
        let mut a = statement();
        a.request_id = "r1k".into();
        a.key_id = "1".into();
        let mut b = statement();
        b.key_id = "k1".into();
        assert_ne!(a.digest(), b.digest());
    }
}
