//! The crate's one error type.

use crate::entry::EntryField;
use crate::note::NoteDefect;

/// Everything that can go wrong in this crate.
///
/// Proof verification failures name the sizes and index involved so that a
/// custodian can report exactly which tree head it refused; note parsing
/// failures name the (1-based) line and the defect; entry decoding failures
/// name the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An inclusion proof was asked for, or checked against, a tree of size 0.
    #[error("the empty tree has no leaves and no inclusion proofs")]
    EmptyTree,
    /// A leaf index is not below the tree size.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// The leaf index asked for.
        index: u64,
        /// The tree size it was asked against.
        size: u64,
    },
    /// A tree size larger than the tree held was asked for.
    #[error("tree size {size} was asked for but the tree holds only {tree_size} leaves")]
    SizeOutOfRange {
        /// The size asked for.
        size: u64,
        /// The number of leaves actually held.
        tree_size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("old tree size {old_size} is larger than new tree size {new_size}")]
    OldSizeLarger {
        /// The old (claimed prefix) size.
        old_size: u64,
        /// The new size.
        new_size: u64,
    },
    /// A proof has the wrong number of hashes for the sizes (and index) it claims.
    #[error("proof has {actual} hashes, but {expected} are needed for these sizes")]
    WrongProofLength {
        /// The number of hashes RFC 9162 prescribes.
        expected: usize,
        /// The number of hashes given.
        actual: usize,
    },
    /// An inclusion proof does not lead to the given root.
    #[error(
        "inclusion proof for leaf {index} does not lead to the root of the tree of size {size}"
    )]
    InclusionMismatch {
        /// The leaf index.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof does not reproduce the old root.
    #[error("consistency proof from size {old_size} to {new_size} does not reproduce the old root")]
    OldRootMismatch {
        /// The old size.
        old_size: u64,
        /// The new size.
        new_size: u64,
    },
    /// A consistency proof does not reproduce the new root (the new tree is
    /// not an extension of the old one: a split view or a rewritten history).
    #[error("consistency proof from size {old_size} to {new_size} does not reproduce the new root")]
    NewRootMismatch {
        /// The old size.
        old_size: u64,
        /// The new size.
        new_size: u64,
    },
    /// A signed note (tree head) could not be parsed.
    #[error("malformed signed tree head at line {line}: {defect}")]
    MalformedNote {
        /// 1-based line number of the offending line (0 when the defect
        /// concerns the note as a whole).
        line: usize,
        /// What is wrong with it.
        defect: NoteDefect,
    },
    /// A key name is empty, too long, or contains a space or `+`.
    #[error(
        "invalid key name (must be 1..={max} bytes, without Unicode spaces, `+` or control characters)"
    )]
    InvalidKeyName {
        /// The maximum length in bytes.
        max: usize,
    },
    /// A log origin is empty, too long, or contains a space, `+` or a control character.
    #[error(
        "invalid log origin (must be 1..={max} bytes, without Unicode spaces, `+` or control characters)"
    )]
    InvalidOrigin {
        /// The maximum length in bytes.
        max: usize,
    },
    /// The note carries no signature by the log key.
    #[error("the tree head carries no signature by the log key {key_name:?}")]
    LogSignatureMissing {
        /// The log key's name.
        key_name: String,
    },
    /// A signature by a known key does not verify.
    #[error("the signature by {key_name:?} on the tree head does not verify")]
    BadSignature {
        /// The signing key's name.
        key_name: String,
    },
    /// The note already carries a signature by this key.
    #[error("the tree head already carries a signature by {key_name:?}")]
    AlreadySigned {
        /// The signing key's name.
        key_name: String,
    },
    /// The note would carry more signatures than [`crate::note::MAX_SIGNATURES`].
    #[error("a tree head may carry at most {max} signatures")]
    TooManySignatures {
        /// The limit.
        max: usize,
    },
    /// The encoded entry is cut short.
    #[error("audit entry is truncated in field {field}")]
    EntryTruncated {
        /// The field being read when the bytes ran out.
        field: EntryField,
    },
    /// Bytes follow a complete entry.
    #[error("{extra} trailing bytes after the audit entry")]
    EntryTrailingBytes {
        /// How many bytes are left over.
        extra: usize,
    },
    /// The entry's version byte is not one this crate reads.
    #[error("unknown audit entry version {version}")]
    UnknownEntryVersion {
        /// The version found.
        version: u8,
    },
    /// The entry's event code is not one this crate knows.
    #[error("unknown audit event code {code}")]
    UnknownEventCode {
        /// The code found.
        code: u16,
    },
    /// An event name is not one this crate knows.
    #[error("unknown audit event name")]
    UnknownEventName,
    /// A field (string, list) is longer than the format allows.
    #[error("audit entry field {field} has length {len}, the maximum is {max}")]
    EntryFieldTooLong {
        /// The field.
        field: EntryField,
        /// Its length (bytes for strings, items for lists).
        len: usize,
        /// The maximum.
        max: usize,
    },
    /// A string field is not valid UTF-8.
    #[error("audit entry field {field} is not valid UTF-8")]
    EntryNotUtf8 {
        /// The field.
        field: EntryField,
    },
    /// An optional field's presence byte is neither 0 nor 1.
    #[error("audit entry field {field} has presence byte {tag}, expected 0 or 1")]
    EntryBadPresence {
        /// The field.
        field: EntryField,
        /// The byte found.
        tag: u8,
    },

    /// A verifier key string is not `name+hexid+base64(0x01 ‖ key)`.
    #[error("malformed verifier key: {defect}")]
    MalformedVerifierKey {
        /// What is wrong.
        defect: &'static str,
    },

    /// Two notes that were to be merged sign different texts.
    #[error("the cosigned tree head is not the same tree head")]
    DifferentText,

    /// A witness was shown a leaf hash that differs from the one it holds:
    /// the log forked or was rewritten at that index.
    #[error("the log forked: leaf {index} differs from the one this witness accepted earlier")]
    ForkedLeaf {
        /// The first index where the views differ.
        index: u64,
    },

    /// A witness was sent leaf hashes that start beyond the ones it holds.
    #[error(
        "leaf hashes start at index {first}, but this witness holds only {held}; send from {held}"
    )]
    LeavesGap {
        /// The first index sent.
        first: u64,
        /// How many leaves the witness holds.
        held: u64,
    },

    /// Leaf hashes were not a whole number of 32-byte hashes.
    #[error("{len} bytes of leaf hashes is not a multiple of 32")]
    LeavesLength {
        /// The byte length received.
        len: usize,
    },

    /// A signed tree head's root is not the root of the leaves the witness
    /// holds for that size.
    #[error("the signed tree head of size {size} does not match the log this witness has seen")]
    HeadMismatch {
        /// The tree size.
        size: u64,
    },

    /// A signed tree head is for a larger tree than the leaves available.
    #[error("the signed tree head has size {size}, but only {held} leaf hashes are known")]
    HeadBeyondLeaves {
        /// The head's size.
        size: u64,
        /// Leaves known.
        held: u64,
    },

    /// A signed tree head is from another log.
    #[error("the tree head is for log {found:?}, not {expected:?}")]
    WrongOrigin {
        /// The expected origin.
        expected: String,
        /// The origin on the note.
        found: String,
    },
}
