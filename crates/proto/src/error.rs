//! The crate's error type.

/// Why a wire value was refused.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A name (key name, custodian id) breaks the naming rule.
    #[error("invalid {what} {name:?}: {reason}")]
    BadName {
        /// What was being named ("key name", "custodian id").
        what: &'static str,
        /// The offending name (names are public).
        name: String,
        /// The rule it breaks.
        reason: &'static str,
    },
    /// A heartbeat's signature does not verify under the custodian's key.
    #[error("heartbeat signature does not verify")]
    BadHeartbeatSignature,
    /// A public key is not a valid encoding.
    #[error("invalid {what} public key")]
    BadPublicKey {
        /// Which key.
        what: &'static str,
    },
    /// Sealing a released share failed.
    #[error("sealing the released share failed")]
    Seal,
    /// A sealed share did not open: wrong key, wrong request or tampered.
    #[error("the sealed share does not open for this request")]
    Open,
    /// A ciphertext is malformed.
    #[error("malformed ciphertext: {reason}")]
    BadCiphertext {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A ciphertext failed authentication under the key.
    #[error(
        "the ciphertext does not decrypt under key {key:?} version {version}: wrong key or tampered"
    )]
    Decrypt {
        /// The key named in the ciphertext.
        key: String,
        /// The key version named in the ciphertext.
        version: u64,
    },
    /// A threshold key share package is malformed.
    #[error("malformed key share package: {reason}")]
    BadSharePackage {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A threshold value (key share, group key, partial result, ciphertext)
    /// was refused by the threshold scheme.
    #[error(transparent)]
    Threshold(#[from] symbolon_threshold::Error),
}
