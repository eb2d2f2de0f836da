//! The crate's one error type.

/// Everything that can go wrong while building, encoding, decoding,
/// verifying or opening a shard envelope, an identity or a recipient.
///
/// Decoding errors name the field that was wrong (`field`), so a user can
/// tell a truncated download from a tampered file. Errors never carry secret
/// bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input does not start with the shard magic bytes `SYMB` (binary)
    /// or an armor line (text).
    #[error(
        "not a Symbolon shard: the input starts with neither the magic bytes \"SYMB\" nor an armor line"
    )]
    BadMagic,
    /// The format version is not one this build reads.
    #[error("unsupported format version {found} (this build reads version 1)")]
    UnsupportedVersion {
        /// The version byte found in the input.
        found: u8,
    },
    /// The input ended in the middle of a field.
    #[error("truncated input: it ends inside the {field} field")]
    Truncated {
        /// The field being read when the input ran out.
        field: &'static str,
    },
    /// Bytes follow the end of a complete structure.
    #[error("{count} unexpected trailing byte(s) after the end of the structure")]
    TrailingBytes {
        /// How many bytes were left over.
        count: usize,
    },
    /// The scheme code is not one this build knows.
    #[error("unknown sharing scheme code {code}")]
    UnknownScheme {
        /// The scheme code found.
        code: u8,
    },
    /// A tag byte (option presence or payload kind) has a value outside its
    /// defined set.
    #[error("invalid tag {tag} in the {field} field")]
    InvalidTag {
        /// The field holding the tag.
        field: &'static str,
        /// The tag value found.
        tag: u8,
    },
    /// A text field is not valid UTF-8.
    #[error("the {field} field is not valid UTF-8")]
    InvalidUtf8 {
        /// The field that failed to decode.
        field: &'static str,
    },
    /// The metadata is structurally valid but breaks a rule (index out of
    /// range, threshold above the share count, expiry before creation, ...).
    #[error("invalid metadata: {reason}")]
    InvalidMetadata {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// The share to seal, or the share in a decoded envelope, is empty (for
    /// hash-committed schemes: the payload holds nothing after the
    /// blinding).
    #[error("the share is empty")]
    EmptyShare,
    /// The signer public key in an envelope is not a valid, canonical,
    /// full-order Ed25519 point.
    #[error("the signer key is not a valid Ed25519 public key")]
    InvalidSignerKey,
    /// The Ed25519 signature does not verify (the envelope was altered or
    /// was not signed by the key it names).
    #[error("bad signature: the shard was altered or not signed by the key it names")]
    BadSignature,
    /// The envelope is sealed to a different recipient than the identity
    /// given.
    #[error("this shard is sealed to a different recipient than the identity given")]
    NotRecipient,
    /// The envelope is sealed and no identity was given to open it.
    #[error("this shard is sealed: an identity is needed to open it")]
    IdentityRequired,
    /// `seal` was given a recipient whose fingerprint differs from the one in
    /// the metadata.
    #[error("the recipient's fingerprint does not match metadata.recipient.fingerprint")]
    RecipientMismatch,
    /// HPKE encryption failed (the recipient's X25519 key is unusable).
    #[error("HPKE encryption to the recipient failed")]
    Encryption,
    /// HPKE decryption failed: the ciphertext, the encapsulated key or the
    /// metadata bound to it was altered, or the identity is not the right one.
    #[error("decryption failed: the sealed payload or its metadata was altered")]
    Decryption,
    /// The share does not match the commitment in the metadata.
    #[error("the share does not match the commitment in the metadata")]
    CommitmentMismatch,
    /// The envelope has expired.
    #[error("the shard expired at {expires_at} (Unix seconds); it is now {now}")]
    Expired {
        /// The envelope's `expires_at` (Unix seconds).
        expires_at: u64,
        /// The time the check was made at (Unix seconds).
        now: u64,
    },
    /// The armored text form is malformed.
    #[error("bad armor: {reason}")]
    BadArmor {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A recipient string (`symbolon1...`) is malformed.
    #[error("bad recipient: {reason}")]
    BadRecipient {
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An identity's binary form is malformed.
    #[error("bad identity: {reason}")]
    BadIdentity {
        /// What is wrong with it.
        reason: &'static str,
    },
}
