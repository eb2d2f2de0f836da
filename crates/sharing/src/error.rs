//! The one error type of the sharing crate.

/// Everything that can go wrong while splitting, verifying or combining shares.
///
/// Variants that blame a share carry its index (its x-coordinate, 1..=255), so
/// a caller can exclude the culprit and retry with the others.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The threshold is zero or larger than the number of shares.
    #[error("invalid threshold {threshold} for {shares} shares (need 1 <= threshold <= shares)")]
    InvalidThreshold {
        /// Requested threshold `t`.
        threshold: usize,
        /// Requested number of shares `n`.
        shares: usize,
    },
    /// More shares were requested than the field has non-zero points.
    #[error("{shares} shares requested, at most {max} are supported")]
    TooManyShares {
        /// Requested number of shares.
        shares: usize,
        /// The supported maximum.
        max: usize,
    },
    /// A share index is zero (the x-coordinate of the secret itself) or out of range.
    #[error("share index {index} is invalid (must be 1..=255)")]
    InvalidIndex {
        /// The offending index.
        index: usize,
    },
    /// The secret to split is empty.
    #[error("the secret is empty")]
    EmptySecret,
    /// Fewer shares than the threshold were supplied.
    #[error("{have} shares supplied but {need} are needed")]
    NotEnoughShares {
        /// Shares supplied.
        have: usize,
        /// Shares required.
        need: usize,
    },
    /// Two shares carry the same index.
    #[error("share index {index} appears more than once")]
    DuplicateIndex {
        /// The repeated index.
        index: u8,
    },
    /// A share's length differs from the others'.
    #[error("share {index} is {len} bytes long, expected {expected}")]
    LengthMismatch {
        /// Index of the odd share.
        index: u8,
        /// Its length.
        len: usize,
        /// The length of the other shares.
        expected: usize,
    },
    /// A share (or sub-share) does not match its published commitment.
    #[error("share {index} does not match its commitment")]
    InvalidShare {
        /// Index of the share that failed verification.
        index: u8,
    },
    /// Shares belong to different splits, epochs or parameter sets.
    #[error("share {index} belongs to a different split or epoch")]
    MixedShares {
        /// Index of the share that does not fit with the first one.
        index: u8,
    },
    /// A share's encoding could not be parsed.
    #[error("share {index} is malformed: {reason}")]
    Malformed {
        /// Index of the malformed share (0 when the index itself is unreadable).
        index: u8,
        /// What was wrong, as a fixed description.
        reason: &'static str,
    },
    /// Authenticated decryption of the SSMS ciphertext failed.
    #[error("the reassembled ciphertext failed authentication")]
    Decryption,
    /// An encoded set of Feldman commitments could not be parsed.
    #[error("commitments are malformed: {reason}")]
    MalformedCommitments {
        /// What was wrong, as a fixed description.
        reason: &'static str,
    },
    /// A sub-share (refresh, reshare or repair) does not match the
    /// commitments its dealer published.
    #[error(
        "sub-share from dealer {dealer} to share {recipient} does not match the dealer's commitments"
    )]
    InvalidSubShare {
        /// Share index of the dealer that sent it.
        dealer: u8,
        /// Share index it was addressed to.
        recipient: u8,
    },
    /// A dealer's published commitments are not what the protocol step
    /// requires (wrong degree, a refresh dealing that is not a sharing of
    /// zero, a reshare dealing of something other than the dealer's share).
    #[error("dealer {dealer} published invalid commitments: {reason}")]
    InvalidDealing {
        /// Share index of the dealer at fault.
        dealer: u8,
        /// What was wrong, as a fixed description.
        reason: &'static str,
    },
    /// A dealer published commitments but its sub-share for this recipient is absent.
    #[error("no sub-share from dealer {dealer} to share {recipient}")]
    MissingSubShare {
        /// Share index of the dealer whose sub-share is missing.
        dealer: u8,
        /// Share index that should have received it.
        recipient: u8,
    },
    /// A sub-share comes from a dealer without published commitments, is
    /// addressed to another recipient, or repeats one already received.
    #[error("unexpected sub-share from dealer {dealer} to share {recipient}")]
    UnexpectedSubShare {
        /// Share index of the dealer named in the sub-share.
        dealer: u8,
        /// Share index named as its recipient.
        recipient: u8,
    },
    /// The secret is too long for the scheme (SSMS: more than 2^32 STREAM
    /// segments, or a length this platform cannot address).
    #[error("the secret is {len} bytes long, at most {max} are supported")]
    SecretTooLong {
        /// Length of the secret in bytes.
        len: u64,
        /// The supported maximum.
        max: u64,
    },
    /// An internal invariant did not hold: a bug in this crate, never the
    /// caller's input. Nothing was produced.
    #[error("internal error in {operation} (a bug: please report it)")]
    Internal {
        /// The step that failed, as a fixed description.
        operation: &'static str,
    },
}
