#![doc = include_str!("../README.md")]
//!
//! # Modules
//!
//! | module | what it holds |
//! | --- | --- |
//! | [`hash`] | [`NodeHash`], [`leaf_hash`], [`node_hash`], [`EMPTY_ROOT`]: RFC 9162 §2.1.1 hashing |
//! | [`tree`] | [`Tree`]: append, roots at past sizes, inclusion and consistency proofs |
//! | [`proof`] | [`verify_inclusion`], [`verify_consistency`] (RFC 9162 §2.1.3.2, §2.1.4.2) |
//! | [`note`] | C2SP signed notes: [`NoteKey`], [`NoteSignature`], key ids |
//! | [`checkpoint`] | [`TreeHead`], [`SignedTreeHead`]: C2SP tlog-checkpoint tree heads, log signature and witness cosignatures |
//! | [`entry`] | [`Entry`], [`EventKind`]: the canonical audit entry encoding |
#![forbid(unsafe_code)]

pub mod checkpoint;
pub mod entry;
mod error;
pub mod hash;
pub mod note;
pub mod proof;
pub mod replay;
pub mod tree;
pub mod witness;

pub use checkpoint::{SignedTreeHead, TreeHead};
pub use entry::{ENTRY_VERSION, Entry, EntryField, EventKind};
pub use error::Error;
pub use hash::{EMPTY_ROOT, HASH_LEN, NodeHash, leaf_hash, node_hash};
pub use note::{NoteDefect, NoteKey, NoteSignature};
pub use proof::{consistency_proof_len, inclusion_proof_len, verify_consistency, verify_inclusion};
pub use replay::{HeadSource, Replay, ReplayError, Report};
pub use tree::Tree;
pub use witness::{Accepted, Witness};
