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
}
