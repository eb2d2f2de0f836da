//! The protocol between the coordinator and custodians.
//!
//! Custodians serve (mutual TLS, coordinator certificates only):
//!
//! * `PUT /v1/keys/{key_id}/versions/{version}/share` — body: a binary shard
//!   envelope sealed to the custodian; answer [`StoreShareResponse`].
//! * `DELETE /v1/keys/{key_id}/versions/{version}/share` — 204, idempotent.
//! * `POST /v1/release` — [`ReleaseRequest`]; answer [`ReleaseResponse`].
//! * `POST /v1/partial` — [`PartialRequest`]; answer [`PartialResponse`]: a
//!   FROST signature share or a TDH2 decryption share, for a threshold key.
//! * `POST /v1/keys/{key_id}/versions/{version}/nonces` — [`NonceRequest`];
//!   answer [`NonceResponse`]: fresh single-use FROST round-1 commitments
//!   for an `ed25519` key, persisted by the custodian before it answers.
//! * `GET /v1/health` — [`CustodianHealth`].
//!
//! The coordinator serves custodians (custodian certificates, whose name must
//! equal the custodian id):
//!
//! * `POST /v1/custodians/register` — [`RegisterRequest`] → [`RegisterResponse`].
//! * `POST /v1/custodians/{id}/heartbeat` — [`SignedHeartbeat`] → 204.

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Error;
use crate::audit::{AuditEvidence, RequestStatement};
use crate::encoding::put_str;

/// What kind of custodian holds shares.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CustodianKind {
    /// A trusted execution environment.
    Tee,
    /// A hardware security module.
    Hsm,
    /// A TPM-sealed host.
    Tpm,
    /// An (ephemeral) virtual machine.
    Vm,
    /// Another organisation.
    Org,
}

impl CustodianKind {
    /// The lowercase name used on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tee => "tee",
            Self::Hsm => "hsm",
            Self::Tpm => "tpm",
            Self::Vm => "vm",
            Self::Org => "org",
        }
    }

    /// Parses [`CustodianKind::as_str`]'s output.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Tee, Self::Hsm, Self::Tpm, Self::Vm, Self::Org]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// Where a custodian is and what it is: used by placement constraints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Labels {
    /// Region, e.g. `eu-central`.
    pub region: String,
    /// ISO 3166 country code, e.g. `DE`.
    pub country: String,
    /// Hosting provider or organisation.
    pub provider: String,
    /// The custodian's kind.
    pub kind: CustodianKind,
}

/// A custodian introduces itself (first start, and every restart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// The shared join token that admits custodians to this cluster.
    pub join_token: String,
    /// The custodian's id (must equal its certificate's name).
    pub id: String,
    /// Its labels.
    pub labels: Labels,
    /// The HTTPS base URL the coordinator reaches it at.
    pub endpoint: String,
    /// Its HPKE recipient string (`symbolon1…`): shards are sealed to it.
    pub recipient: String,
    /// Its Ed25519 attestation key: heartbeats are signed with it.
    #[serde(with = "crate::hex32")]
    #[schema(value_type = String)]
    pub attestation_key: [u8; 32],
}

/// The coordinator's answer to a registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RegisterResponse {
    /// The coordinator's recipient string: its Ed25519 key signs every shard
    /// it deals, and custodians accept shards signed by it only.
    pub coordinator_recipient: String,
    /// How often to send heartbeats, in milliseconds.
    pub heartbeat_interval_ms: u64,
    /// The audit log's verifier key (`name+id+base64`): custodians pin it
    /// and act only on requests in a log signed by it.
    pub audit_log_key: String,
}

/// The digest of one stored shard, reported in heartbeats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShareDigest {
    /// The key id.
    pub key_id: String,
    /// The key version.
    pub version: u64,
    /// The share index.
    pub index: u16,
    /// BLAKE3 of the stored envelope bytes.
    #[serde(with = "crate::hex32")]
    #[schema(value_type = String)]
    pub digest: [u8; 32],
}

/// A custodian's periodic statement that it is alive and what it holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Heartbeat {
    /// The custodian's id.
    pub custodian_id: String,
    /// Strictly increasing across the custodian's whole life, restarts
    /// included: a replayed heartbeat is refused.
    pub seq: u64,
    /// When it was sent, Unix milliseconds.
    pub time_ms: u64,
    /// Every shard it holds.
    pub shares: Vec<ShareDigest>,
    /// How many of the audit log's leaf hashes it holds (the coordinator
    /// sends it only the ones after these).
    pub audit_size: u64,
}

/// Domain separation for heartbeat signatures.
const HEARTBEAT_DOMAIN: &[u8] = b"symbolon heartbeat v1\0";

impl Heartbeat {
    /// The exact bytes the signature covers: a domain tag, then every field
    /// in order with big-endian integers and u16-length-prefixed strings.
    /// Independent of JSON formatting, so any serializer can carry it.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.shares.len() * 64);
        out.extend_from_slice(HEARTBEAT_DOMAIN);
        put_str(&mut out, &self.custodian_id);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.time_ms.to_be_bytes());
        out.extend_from_slice(&self.audit_size.to_be_bytes());
        out.extend_from_slice(
            &u32::try_from(self.shares.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
        for share in &self.shares {
            put_str(&mut out, &share.key_id);
            out.extend_from_slice(&share.version.to_be_bytes());
            out.extend_from_slice(&share.index.to_be_bytes());
            out.extend_from_slice(&share.digest);
        }
        out
    }

    /// Signs the heartbeat with the custodian's attestation key.
    pub fn sign(self, key: &SigningKey) -> SignedHeartbeat {
        let signature = key.sign(&self.signing_bytes()).to_bytes();
        SignedHeartbeat {
            heartbeat: self,
            signature,
        }
    }
}

/// A heartbeat with its Ed25519 signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignedHeartbeat {
    /// The statement.
    pub heartbeat: Heartbeat,
    /// Ed25519 over [`Heartbeat::signing_bytes`].
    #[serde(with = "crate::hex64")]
    #[schema(value_type = String)]
    pub signature: [u8; 64],
}

impl SignedHeartbeat {
    /// Checks the signature (strictly: canonical, no small-order points)
    /// against the custodian's registered attestation key.
    ///
    /// # Errors
    ///
    /// [`Error::BadPublicKey`] or [`Error::BadHeartbeatSignature`].
    pub fn verify(&self, attestation_key: &[u8; 32]) -> Result<(), Error> {
        let key = VerifyingKey::from_bytes(attestation_key).map_err(|_| Error::BadPublicKey {
            what: "attestation",
        })?;
        key.verify_strict(
            &self.heartbeat.signing_bytes(),
            &Signature::from_bytes(&self.signature),
        )
        .map_err(|_| Error::BadHeartbeatSignature)
    }
}

/// A custodian's acknowledgement that it verified and stored a shard.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StoreShareResponse {
    /// The custodian's id.
    pub custodian_id: String,
    /// The share index it holds.
    pub index: u16,
    /// BLAKE3 of the stored envelope bytes (as later reported in heartbeats).
    #[serde(with = "crate::hex32")]
    #[schema(value_type = String)]
    pub digest: [u8; 32],
}

/// The coordinator asks a custodian for its share of one key version, for
/// one request, sealed to a fresh ephemeral key.
///
/// The custodian acts only if the request is in the audit log: `evidence`
/// carries the `request.created` entry, whose digest must be
/// `statement.digest()`, its inclusion proof, and a signed tree head that
/// extends every head the custodian accepted before.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// The request (its digest is what the log recorded).
    pub statement: RequestStatement,
    /// Proof that the log holds the request.
    pub evidence: AuditEvidence,
}

/// A custodian's sealed share (see [`crate::release`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseResponse {
    /// The custodian's id.
    pub custodian_id: String,
    /// The share index.
    pub index: u16,
    /// HPKE encapsulated key.
    #[serde(with = "crate::hex32")]
    #[schema(value_type = String)]
    pub enc: [u8; 32],
    /// HPKE ciphertext of the shard's plaintext (blinding ‖ share), with tag.
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub sealed: Vec<u8>,
    /// How many of the log's leaf hashes the custodian now holds.
    pub witness_size: u64,
    /// The request's tree head, cosigned by the custodian's attestation key
    /// (key name = custodian id): a witness statement that it extends every
    /// head the custodian saw.
    pub cosigned_head: String,
}

/// The partial operation a custodian is asked for (the statement's `op`
/// must name the same one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "op", rename_all = "lowercase", deny_unknown_fields)]
pub enum PartialOperation {
    /// A FROST round-2 signature share.
    Sign {
        /// The signing package (`symbolon_threshold::ed25519::SigningPackage`
        /// bytes): the message and every signer's round-1 commitments,
        /// including one this custodian published and has not used.
        #[serde(with = "crate::b64")]
        #[schema(value_type = String, format = Byte)]
        package: Vec<u8>,
    },
    /// A TDH2 decryption share with its DLEQ proof.
    Decrypt {
        /// The whole ciphertext ([`crate::ciphertext`] threshold format):
        /// the custodian checks its proof under its label before anything
        /// else.
        #[serde(with = "crate::b64")]
        #[schema(value_type = String, format = Byte)]
        ciphertext: Vec<u8>,
    },
}

impl PartialOperation {
    /// The operation's name, as in [`RequestStatement::op`].
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sign { .. } => "sign",
            Self::Decrypt { .. } => "decrypt",
        }
    }
}

/// The coordinator asks a custodian for its partial result with a threshold
/// key, for one logged request (the same evidence as [`ReleaseRequest`]).
/// The statement's `payload_digest` must be the digest of the message being
/// signed or of the ciphertext being decrypted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartialRequest {
    /// The request (its digest is what the log recorded).
    pub statement: RequestStatement,
    /// Proof that the log holds the request.
    pub evidence: AuditEvidence,
    /// What to compute.
    pub operation: PartialOperation,
}

/// A custodian's partial result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PartialResponse {
    /// The custodian's id.
    pub custodian_id: String,
    /// Its share index.
    pub index: u16,
    /// The signature share (32 bytes) or the decryption share with its
    /// proof, in the threshold crate's encoding. Public: the coordinator
    /// checks it against the custodian's verification share.
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub partial: Vec<u8>,
    /// How many of the log's leaf hashes the custodian now holds.
    pub witness_size: u64,
    /// The request's tree head, cosigned by the custodian (see
    /// [`ReleaseResponse::cosigned_head`]).
    pub cosigned_head: String,
}

/// The most FROST commitments one [`NonceRequest`] may ask for.
pub const MAX_NONCES_PER_REQUEST: u16 = 1024;

/// Asks a custodian for fresh single-use FROST round-1 commitments.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NonceRequest {
    /// How many (1 to [`MAX_NONCES_PER_REQUEST`]).
    pub count: u16,
}

/// Fresh commitments: each may appear in at most one signing package; the
/// custodian persisted their nonces before answering, and signs with each
/// at most once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NonceResponse {
    /// The custodian's id.
    pub custodian_id: String,
    /// Its share index for the key version.
    pub index: u16,
    /// The commitments (`symbolon_threshold::ed25519::SigningCommitments`
    /// bytes), base64.
    #[schema(value_type = Vec<String>)]
    pub commitments: Vec<B64>,
}

/// Bytes that travel as one base64 string (for lists of byte strings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct B64(#[serde(with = "crate::b64")] pub Vec<u8>);

/// A custodian's liveness answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustodianHealth {
    /// The custodian's id.
    pub id: String,
    /// How many shards it holds.
    pub shares: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heartbeat() -> Heartbeat {
        Heartbeat {
            custodian_id: "c1".into(),
            seq: 7,
            time_ms: 1_700_000_000_000,
            shares: vec![ShareDigest {
                key_id: "k".into(),
                version: 1,
                index: 2,
                digest: [9; 32],
            }],
            audit_size: 12,
        }
    }

    #[test]
    fn heartbeat_signature_round_trip_and_tamper() {
        let key = SigningKey::from_bytes(&[5; 32]);
        let public = key.verifying_key().to_bytes();
        let signed = heartbeat().sign(&key);
        signed.verify(&public).unwrap();
        let json = serde_json::to_string(&signed).unwrap();
        let back: SignedHeartbeat = serde_json::from_str(&json).unwrap();
        back.verify(&public).unwrap();

        let mut replay = signed.clone();
        replay.heartbeat.seq += 1;
        assert_eq!(replay.verify(&public), Err(Error::BadHeartbeatSignature));
        let mut shrunk = signed.clone();
        shrunk.heartbeat.audit_size = 0;
        assert_eq!(shrunk.verify(&public), Err(Error::BadHeartbeatSignature));
        let mut moved = signed.clone();
        moved.heartbeat.shares[0].digest[0] ^= 1;
        assert_eq!(moved.verify(&public), Err(Error::BadHeartbeatSignature));
        let other = SigningKey::from_bytes(&[6; 32]).verifying_key().to_bytes();
        assert_eq!(signed.verify(&other), Err(Error::BadHeartbeatSignature));
    }

    #[test]
    fn bad_hex_is_a_serde_error() {
        let json = r#"{"custodian_id":"c","index":1,"digest":"zz"}"#;
        let err = serde_json::from_str::<StoreShareResponse>(json).unwrap_err();
        assert!(err.to_string().contains("hex"), "{err}");
    }
}
