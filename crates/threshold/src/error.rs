//! The one error type of the threshold crate, and the mapping from
//! frost-core's errors onto it.

use frost_core::{Ciphersuite, FieldError, GroupError};

use crate::participant;

/// Everything that can go wrong in a threshold protocol step or while
/// decoding one of its messages.
///
/// Variants that blame a participant carry its index (its custodian slot,
/// `1..=n`), so a coordinator can exclude the culprit and retry with the
/// others. Decoding errors name what was being decoded (`what`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The threshold is below 2 or larger than the number of participants.
    #[error(
        "invalid threshold {threshold} for {participants} participants (need 2 <= threshold <= participants)"
    )]
    InvalidThreshold {
        /// Requested threshold `t`.
        threshold: u16,
        /// Requested number of participants `n`.
        participants: u16,
    },
    /// More participants than a key may have ([`crate::MAX_PARTICIPANTS`]).
    #[error("{participants} participants; a key may have at most {max}")]
    TooManyParticipants {
        /// Requested (or decoded) number of participants.
        participants: u16,
        /// The limit.
        max: u16,
    },
    /// A participant index is 0 or above the number of participants.
    #[error("participant index {index} is invalid (must be 1..=n)")]
    InvalidIndex {
        /// The offending index.
        index: u16,
    },
    /// A participant index is not part of the group key or of this signing
    /// session.
    #[error("participant {index} is not part of this group or session")]
    UnknownParticipant {
        /// The unknown index.
        index: u16,
    },
    /// The same participant appears twice.
    #[error("participant {index} appears more than once")]
    DuplicateIndex {
        /// The repeated index.
        index: u16,
    },
    /// Fewer shares (or signers) than the threshold.
    #[error("{have} shares supplied but {need} are needed")]
    NotEnoughShares {
        /// Shares supplied.
        have: usize,
        /// The threshold.
        need: u16,
    },
    /// A message expected from this participant is missing.
    #[error("the message from participant {index} is missing")]
    MissingPackage {
        /// Whose message is missing.
        index: u16,
    },
    /// A DKG package is inconsistent with the session (e.g. commits to a
    /// polynomial of the wrong degree).
    #[error("participant {index} sent an invalid package: {reason}")]
    InvalidPackage {
        /// Who sent it.
        index: u16,
        /// What was wrong, as a fixed description.
        reason: &'static str,
    },
    /// DKG round 1: a participant's proof of knowledge of its secret is
    /// invalid.
    #[error("participant {index} sent an invalid proof of knowledge")]
    InvalidProofOfKnowledge {
        /// The culprit.
        index: u16,
    },
    /// DKG round 2: a participant sent a secret share that does not match
    /// the commitment it broadcast in round 1.
    #[error("participant {index} sent a secret share that does not match its commitment")]
    InvalidSecretShare {
        /// The culprit.
        index: u16,
    },
    /// A share dealt by a trusted dealer does not match the dealer's
    /// commitment (the dealer, or the channel from it, is at fault).
    #[error("the dealt share does not match the dealer's commitment")]
    InvalidDealtShare,
    /// Signing: this participant's commitment is absent from the signing
    /// package.
    #[error("the signing package has no commitment for participant {index}")]
    MissingCommitment {
        /// The signer's own index.
        index: u16,
    },
    /// Signing: the commitment listed for this participant is not the one of
    /// the nonces supplied.
    #[error("the signing package's commitment for participant {index} does not match the nonces")]
    NonceMismatch {
        /// The signer's own index.
        index: u16,
    },
    /// A signature share is invalid.
    #[error("participant {index} sent an invalid signature share")]
    InvalidSignatureShare {
        /// The culprit.
        index: u16,
    },
    /// A signature does not verify under the group key.
    #[error("the signature is invalid")]
    InvalidSignature,
    /// A TDH2 ciphertext's proof does not verify for this group key and
    /// label: it was tampered with, or is presented with the wrong label or
    /// to the wrong key.
    #[error("the ciphertext's proof is invalid (tampered, wrong label or wrong key)")]
    InvalidCiphertextProof,
    /// A TDH2 decryption share's proof does not verify.
    #[error("participant {index} sent an invalid decryption share")]
    InvalidDecryptionShare {
        /// The culprit.
        index: u16,
    },
    /// The combined key did not authenticate the ciphertext body.
    #[error("decryption failed: the ciphertext body does not authenticate")]
    Decryption,
    /// The plaintext is too long for the AEAD.
    #[error("the plaintext is too long to encrypt")]
    PlaintextTooLong,
    /// The verification shares of a group key do not lie on one polynomial
    /// of degree `t - 1` through the group key.
    #[error("the group key's verification shares are inconsistent")]
    InconsistentGroupKey,
    /// A key share belongs to a different group key.
    #[error("the key share of participant {index} belongs to a different group key")]
    KeyMismatch {
        /// The share's index.
        index: u16,
    },
    /// An encoding has the wrong length.
    #[error("{what} is {len} bytes long, expected {expected}")]
    Length {
        /// What was being decoded.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The expected length.
        expected: usize,
    },
    /// An encoding is shorter than its smallest valid form.
    #[error("{what} is truncated ({len} bytes, at least {min} needed)")]
    Truncated {
        /// What was being decoded.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The minimum length.
        min: usize,
    },
    /// Bytes follow a complete encoding.
    #[error("{what} has {extra} trailing bytes")]
    TrailingBytes {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes follow.
        extra: usize,
    },
    /// The encoding does not start with the expected magic bytes.
    #[error("not a {what} (bad magic bytes)")]
    BadMagic {
        /// What was expected.
        what: &'static str,
    },
    /// The encoding's format version is not supported by this build.
    #[error("{what} has unsupported format version {version}")]
    UnsupportedVersion {
        /// What was being decoded.
        what: &'static str,
        /// The version found.
        version: u8,
    },
    /// A point encoding is invalid (not canonical, not on the curve or not
    /// in the prime-order group, or the identity where that is refused).
    #[error("{what} contains an invalid point encoding")]
    InvalidPoint {
        /// What was being decoded.
        what: &'static str,
    },
    /// A scalar encoding is not canonical (not below the group order), or
    /// is zero where that is refused.
    #[error("{what} contains an invalid scalar encoding")]
    InvalidScalar {
        /// What was being decoded.
        what: &'static str,
    },
    /// An encoding is malformed in some other way.
    #[error("{what} is malformed: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// What was wrong, as a fixed description.
        reason: &'static str,
    },
    /// frost-core reported an error this crate has no finer variant for.
    #[error("FROST error: {reason}")]
    Frost {
        /// frost-core's description.
        reason: &'static str,
    },
}

/// Maps a frost-core protocol error, turning culprit identifiers into
/// participant indices.
pub(crate) fn from_frost<C: Ciphersuite>(error: frost_core::Error<C>) -> Error {
    use frost_core::Error as F;
    let culprit = |id: &frost_core::Identifier<C>| participant::index_of(id);
    match &error {
        F::InvalidSignatureShare { culprits } => match culprits.first().and_then(culprit) {
            Some(index) => Error::InvalidSignatureShare { index },
            None => Error::Frost {
                reason: "invalid signature share from an unknown identifier",
            },
        },
        F::InvalidSecretShare { culprit: None } => Error::InvalidDealtShare,
        F::InvalidSecretShare { culprit: Some(id) } => match culprit(id) {
            Some(index) => Error::InvalidSecretShare { index },
            None => Error::InvalidDealtShare,
        },
        F::InvalidProofOfKnowledge { culprit: id } => match culprit(id) {
            Some(index) => Error::InvalidProofOfKnowledge { index },
            None => Error::Frost {
                reason: "invalid proof of knowledge from an unknown identifier",
            },
        },
        F::InvalidSignature => Error::InvalidSignature,
        _ => Error::Frost {
            reason: frost_reason(&error),
        },
    }
}

/// Maps a frost-core error met while decoding `what`.
pub(crate) fn from_frost_decode<C: Ciphersuite>(
    what: &'static str,
) -> impl Fn(frost_core::Error<C>) -> Error {
    use frost_core::Error as F;
    move |error| match error {
        F::FieldError(_) | F::MalformedSigningKey => Error::InvalidScalar { what },
        F::GroupError(_) | F::MalformedVerifyingKey => Error::InvalidPoint { what },
        F::MalformedIdentifier => Error::Malformed {
            what,
            reason: "invalid participant identifier",
        },
        F::MalformedSignature => Error::Malformed {
            what,
            reason: "invalid signature encoding",
        },
        F::DeserializationError => Error::Malformed {
            what,
            reason: "invalid frost-core encoding (truncated, or a field out of range)",
        },
        other => Error::Malformed {
            what,
            reason: frost_reason(&other),
        },
    }
}

/// A fixed description of a frost-core error.
fn frost_reason<C: Ciphersuite>(error: &frost_core::Error<C>) -> &'static str {
    use frost_core::Error as F;
    match error {
        F::InvalidMinSigners => "min_signers must be at least 2 and at most max_signers",
        F::InvalidMaxSigners => "max_signers must be at least 2",
        F::InvalidCoefficients => "wrong number of coefficients",
        F::MalformedIdentifier => "malformed identifier",
        F::DuplicatedIdentifier => "duplicated identifier",
        F::UnknownIdentifier => "unknown identifier",
        F::IncorrectNumberOfIdentifiers => "incorrect number of identifiers",
        F::MalformedSigningKey => "malformed signing key",
        F::MalformedVerifyingKey => "malformed verifying key",
        F::MalformedSignature => "malformed signature",
        F::InvalidSignature => "invalid signature",
        F::DuplicatedShares => "duplicated shares",
        F::IncorrectNumberOfShares => "incorrect number of shares",
        F::IdentityCommitment => "commitment equals the identity",
        F::MissingCommitment => "missing commitment",
        F::IncorrectCommitment => "incorrect commitment",
        F::IncorrectNumberOfCommitments => "incorrect number of commitments",
        F::InvalidSignatureShare { .. } => "invalid signature share",
        F::InvalidSecretShare { .. } => "invalid secret share",
        F::PackageNotFound => "package not found",
        F::IncorrectNumberOfPackages => "incorrect number of packages",
        F::IncorrectPackage => "incorrect package",
        F::DKGNotSupported => "DKG not supported",
        F::InvalidProofOfKnowledge { .. } => "invalid proof of knowledge",
        F::FieldError(FieldError::InvalidZeroScalar) => "zero scalar",
        F::FieldError(_) => "malformed scalar",
        F::GroupError(GroupError::InvalidIdentityElement) => "identity element",
        F::GroupError(GroupError::InvalidNonPrimeOrderElement) => "element not of prime order",
        F::GroupError(_) => "malformed element",
        F::InvalidCoefficient => "invalid coefficient",
        F::IdentifierDerivationNotSupported => "identifier derivation not supported",
        F::SerializationError => "serialization failed",
        F::DeserializationError => "deserialization failed",
        _ => "unclassified frost-core error",
    }
}
