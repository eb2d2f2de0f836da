//! The coordinator's public API (`/v1/...`, JSON over mutual TLS).
//!
//! | method and path | body | answer |
//! | --- | --- | --- |
//! | `GET /v1/status` | — | [`StatusResponse`] |
//! | `GET /v1/keys` | — | [`KeyList`] |
//! | `POST /v1/keys` | [`CreateKeyRequest`] | 201 [`KeyInfo`] |
//! | `GET /v1/keys/{name}` | — | [`KeyInfo`] |
//! | `POST /v1/keys/{name}/encrypt` | [`EncryptRequest`] | [`EncryptResponse`] |
//! | `POST /v1/keys/{name}/decrypt` | [`DecryptRequest`] | [`DecryptResponse`] |
//! | `POST /v1/keys/{name}/release` | [`ReleaseKeyRequest`] | [`ReleaseKeyResponse`] |
//! | `POST /v1/keys/{name}/sign` | [`SignRequest`] | [`SignResponse`] |
//! | `GET /v1/openapi.json` | — | the OpenAPI 3.1 document |
//! | `GET /metrics` | — | Prometheus text format |
//!
//! Errors are [`crate::Problem`] documents.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::custodian::Labels;

/// What a key is and how it is used (DESIGN §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeyKind {
    /// Opaque bytes shared byte-wise over GF(2^8); rebuilt for one
    /// operation at a time.
    Secret,
    /// A FROST threshold Ed25519 signing key.
    Ed25519,
    /// A threshold ristretto255 decryption key.
    Ristretto255,
}

impl KeyKind {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Secret => "secret",
            Self::Ed25519 => "ed25519",
            Self::Ristretto255 => "ristretto255",
        }
    }

    /// Parses [`KeyKind::as_str`]'s output.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Secret, Self::Ed25519, Self::Ristretto255]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// A custodian label that a placement constraint can require to differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DistinctLabel {
    /// No two shares in one country.
    Country,
    /// No two shares in one region.
    Region,
    /// No two shares with one provider.
    Provider,
}

impl DistinctLabel {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Country => "country",
            Self::Region => "region",
            Self::Provider => "provider",
        }
    }

    /// Parses [`DistinctLabel::as_str`]'s output.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Country, Self::Region, Self::Provider]
            .into_iter()
            .find(|k| k.as_str() == name)
    }

    /// The value of this label on `labels`.
    pub fn of(self, labels: &Labels) -> &str {
        match self {
            Self::Country => &labels.country,
            Self::Region => &labels.region,
            Self::Provider => &labels.provider,
        }
    }
}

/// `POST /v1/keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// The key's name (see [`crate::validate_name`]).
    pub name: String,
    /// Its kind.
    pub kind: KeyKind,
    /// How many custodians must take part in an operation.
    pub threshold: u16,
    /// How many custodians hold a share.
    pub shares: u16,
    /// Require every share on a custodian with a different value of this
    /// label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct: Option<DistinctLabel>,
    /// Import these bytes (base64) as the secret instead of generating 32
    /// random bytes. Travels only inside the TLS channel; wiped when the
    /// request is dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<crate::SecretData>,
    /// For `ed25519` and `ristretto255`: the custodians generate the key
    /// among themselves (FROST's DKG, [`crate::dkg`]), so it never exists
    /// anywhere, not even in the coordinator while dealing.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dkg: bool,
}

/// Where one share of a key version lives.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PlacementInfo {
    /// The share index (1-based).
    pub index: u16,
    /// The custodian holding it.
    pub custodian: String,
}

/// A key, as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyInfo {
    /// The key's name.
    pub name: String,
    /// Its stable id (used in shard envelopes).
    pub id: String,
    /// Its kind.
    pub kind: KeyKind,
    /// The threshold.
    pub threshold: u16,
    /// The number of shares.
    pub shares: u16,
    /// The current version.
    pub version: u64,
    /// The placement constraint it was created with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct: Option<DistinctLabel>,
    /// When it was created, RFC 3339.
    pub created_at: String,
    /// Who created it.
    pub created_by: String,
    /// The current version's placement.
    pub placement: Vec<PlacementInfo>,
    /// The current version's group public key, lowercase hex (threshold
    /// kinds only): the RFC 8032 Ed25519 public key, or the ristretto255
    /// key anyone encrypts to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
}

/// `GET /v1/keys`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    /// Every key, by name.
    pub keys: Vec<KeyInfo>,
}

/// `POST /v1/keys/{name}/encrypt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EncryptRequest {
    /// The plaintext, base64.
    pub plaintext: crate::SecretData,
}

/// The answer to [`EncryptRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EncryptResponse {
    /// The ciphertext ([`crate::ciphertext`] format), base64.
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub ciphertext: Vec<u8>,
    /// The key version used.
    pub version: u64,
    /// The custodians whose shares rebuilt the key.
    pub custodians: Vec<String>,
    /// Custodians that were asked but did not contribute, and why (for
    /// example a share that failed its commitment). The operation succeeded
    /// without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<crate::CustodianFailure>,
}

/// `POST /v1/keys/{name}/decrypt`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecryptRequest {
    /// The ciphertext, base64.
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub ciphertext: Vec<u8>,
}

/// The answer to [`DecryptRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DecryptResponse {
    /// The plaintext, base64.
    pub plaintext: crate::SecretData,
    /// The custodians whose shares rebuilt the key.
    pub custodians: Vec<String>,
    /// Custodians that were asked but did not contribute, and why (for
    /// example a share that failed its commitment). The operation succeeded
    /// without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<crate::CustodianFailure>,
}

/// `POST /v1/keys/{name}/release`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReleaseKeyRequest {
    /// The client's recipient string (`symbolon1…`) to seal the secret to.
    pub recipient: String,
}

/// The answer to [`ReleaseKeyRequest`]: the secret as a 1-of-1 shard
/// envelope sealed to the recipient and signed by the coordinator, which
/// `symbolon combine --identity` opens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReleaseKeyResponse {
    /// The armored envelope.
    pub envelope: String,
    /// The custodians whose shares rebuilt the key.
    pub custodians: Vec<String>,
    /// Custodians that were asked but did not contribute, and why (for
    /// example a share that failed its commitment). The operation succeeded
    /// without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<crate::CustodianFailure>,
}

/// `POST /v1/keys/{name}/sign` (an `ed25519` key).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignRequest {
    /// The message, base64 (signed as is: Ed25519 hashes it itself).
    #[serde(with = "crate::b64")]
    #[schema(value_type = String, format = Byte)]
    pub message: Vec<u8>,
}

/// The answer to [`SignRequest`]: a plain RFC 8032 signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SignResponse {
    /// The 64-byte Ed25519 signature, lowercase hex.
    #[serde(with = "crate::hex64")]
    #[schema(value_type = String)]
    pub signature: [u8; 64],
    /// The group public key it verifies under, lowercase hex.
    #[serde(with = "crate::hex32")]
    #[schema(value_type = String)]
    pub public_key: [u8; 32],
    /// The key version used.
    pub version: u64,
    /// The custodians whose signature shares make up the signature.
    pub custodians: Vec<String>,
    /// Custodians that were asked but did not contribute, and why (a bad
    /// signature share names its custodian here). The operation succeeded
    /// without them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<crate::CustodianFailure>,
}

/// A custodian's health as the coordinator sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum HealthState {
    /// Heartbeats arrive on time.
    Healthy,
    /// Heartbeats were missed.
    Suspect,
    /// No heartbeat for long enough to count it lost.
    Failed,
}

impl HealthState {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "healthy",
            Self::Suspect => "suspect",
            Self::Failed => "failed",
        }
    }
}

/// One custodian in [`StatusResponse`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustodianStatus {
    /// Its id.
    pub id: String,
    /// healthy, suspect or failed.
    pub state: HealthState,
    /// Its labels.
    pub labels: Labels,
    /// Where the coordinator reaches it.
    pub endpoint: String,
    /// Its last heartbeat, RFC 3339 (`None` if none since registering).
    #[serde(default)]
    pub last_heartbeat: Option<String>,
    /// Milliseconds since its last heartbeat (or registration).
    pub silent_for_ms: u64,
    /// The last heartbeat's sequence number.
    #[serde(default)]
    pub last_seq: Option<u64>,
    /// How many shards it reported holding.
    pub shares: usize,
    /// How many times it sent a partial result (signature or decryption
    /// share) that failed its proof.
    #[serde(default)]
    pub faults: u64,
    /// The last such fault: when (RFC 3339) and what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_fault: Option<String>,
}

/// `GET /v1/status`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StatusResponse {
    /// Every registered custodian, by id.
    pub custodians: Vec<CustodianStatus>,
    /// How many keys exist.
    pub keys: usize,
    /// The coordinator's version.
    pub version: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_by_name() {
        for k in [KeyKind::Secret, KeyKind::Ed25519, KeyKind::Ristretto255] {
            assert_eq!(KeyKind::from_name(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_string(&k).unwrap(),
                format!("\"{}\"", k.as_str())
            );
        }
        for d in [
            DistinctLabel::Country,
            DistinctLabel::Region,
            DistinctLabel::Provider,
        ] {
            assert_eq!(DistinctLabel::from_name(d.as_str()), Some(d));
        }
        assert_eq!(KeyKind::from_name("aes"), None);
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<CreateKeyRequest>(
            r#"{"name":"k","kind":"secret","threshold":2,"shares":3,"thresold":1}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field"), "{err}");
    }
}
