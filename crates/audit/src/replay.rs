//! Replaying the whole log as an auditor does: every entry, every signed
//! tree head, and the head saved at the last audit.
//!
//! A [`Replay`] is fed the log's entries in index order, each with the
//! signed tree head (C2SP signed note, see [`crate::checkpoint`]) that the
//! log stored with it, if any — the log signs a head after each of its
//! transactions and stores it with the transaction's last entry. It
//! rebuilds the RFC 9162 §2.1.1 Merkle tree from the entries themselves
//! (never from leaf hashes someone else computed) and checks, as it goes:
//!
//! 1. the indexes are dense (`0, 1, 2, …`): a gap names the missing entry;
//! 2. every entry decodes as an [`Entry`] ([`Entry::decode`] accepts only
//!    the one canonical encoding of an entry, so nothing is re-encoded);
//! 3. every stored head is signed by the log key, is for this log (its
//!    origin is the key's name), is for size `index + 1`, and its root is
//!    the root recomputed from the entries. A root that differs names the
//!    entries since the previous head that matched: one of them changed,
//!    moved, or was inserted (a transaction of one entry names it exactly);
//! 4. with a tree head saved at an earlier audit (`since`), signed by the
//!    same key: the log still has at least that many entries (else it was
//!    truncated) and the root of its first `since.size` entries is the saved
//!    root (else its history was rewritten — which only the holder of the
//!    log key can do without the stored heads giving it away).
//!
//! [`Replay::finish`] then checks the log's latest signed head (a log that
//! is shorter than its latest head lost entries) and returns a [`Report`];
//! [`Replay::check_witnessed`] checks a head cosigned by witnesses against
//! the same rebuilt tree.
//!
//! Together, 3 and 4 are a consistency check (RFC 9162 §2.1.4) done by
//! recomputation: every head is the root of a prefix of one sequence of
//! entries. The first error is final: the replay is poisoned and repeats it.

use core::fmt;

use crate::Error;
use crate::checkpoint::{SignedTreeHead, TreeHead};
use crate::entry::Entry;
use crate::hash::{EMPTY_ROOT, NodeHash};
use crate::note::NoteKey;
use crate::tree::Tree;

/// Which signed tree head an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HeadSource {
    /// The head stored with entry `index` (the last entry of a transaction).
    StoredWith {
        /// The entry's index.
        index: u64,
    },
    /// The head saved at an earlier audit (`since`).
    Saved,
    /// The log's latest head.
    Latest,
    /// The latest head cosigned by witnesses.
    Witnessed,
}

impl fmt::Display for HeadSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::StoredWith { index } => write!(f, "the tree head stored with entry {index}"),
            Self::Saved => f.write_str("the saved tree head"),
            Self::Latest => f.write_str("the latest tree head"),
            Self::Witnessed => f.write_str("the witnessed tree head"),
        }
    }
}

/// Why a replay failed. Every variant that concerns particular entries names
/// them by index; [`ReplayError::first_bad_entry`] gives the first one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// An index was skipped: the entry at `index` is missing.
    #[error("{}", missing_text(*.index, *.next))]
    Missing {
        /// The first missing index.
        index: u64,
        /// The index that came instead.
        next: u64,
    },
    /// An entry came again, or out of order.
    #[error("entry {index} is out of order: entry {expected} was expected next")]
    OutOfOrder {
        /// The index given.
        index: u64,
        /// The index expected.
        expected: u64,
    },
    /// An entry does not decode.
    #[error("entry {index} is not a valid audit entry: {source}")]
    Undecodable {
        /// The entry's index.
        index: u64,
        /// Why it does not decode.
        source: Error,
    },
    /// The head stored with an entry is not a well-formed signed note.
    #[error("the tree head stored with entry {index} is malformed: {source}")]
    HeadUnreadable {
        /// The entry's index.
        index: u64,
        /// The parse error.
        source: Error,
    },
    /// A head is not signed by the log key (a forged or edited note).
    #[error("{head} is not signed by the log key: {source}")]
    HeadSignature {
        /// Which head.
        head: HeadSource,
        /// The verification error.
        source: Error,
    },
    /// A head is signed by the log key but for another log.
    #[error("{head} is for log {found:?}, not {expected:?}")]
    HeadOrigin {
        /// Which head.
        head: HeadSource,
        /// The log's origin (the log key's name).
        expected: String,
        /// The origin on the note.
        found: String,
    },
    /// The head stored with entry `index` is not for size `index + 1`.
    #[error("the tree head stored with entry {index} is for tree size {size}, not {}", .index.saturating_add(1))]
    HeadSize {
        /// The entry's index.
        index: u64,
        /// The size on the head.
        size: u64,
    },
    /// Entries `first..size` do not hash to the root that `head` signed at
    /// `size`: one of them was changed, moved or inserted.
    #[error("{}", mismatch_text(*.first, *.size, .head))]
    Mismatch {
        /// The first entry after the last head that matched.
        first: u64,
        /// The head's tree size.
        size: u64,
        /// Which head.
        head: HeadSource,
    },
    /// Entries at the end of the log are covered by no signed head.
    #[error("entries {first}..={last} are covered by no signed tree head")]
    Unsigned {
        /// The first such entry.
        first: u64,
        /// The last entry.
        last: u64,
    },
    /// The log has fewer entries than the head saved at an earlier audit.
    #[error("log truncated: the saved head had {saved} entries, the log now has {size}")]
    Truncated {
        /// The saved head's size.
        saved: u64,
        /// The number of entries now.
        size: u64,
    },
    /// The log's first `size` entries are not the ones the saved head signed.
    #[error(
        "the log was rewritten before entry {size}: its first {size} entries do not match the saved tree head"
    )]
    Rewritten {
        /// The saved head's size.
        size: u64,
    },
    /// A head (the latest, or the witnessed one) covers more entries than
    /// the log has: entries `entries..size` are missing.
    #[error(
        "{head} covers {size} entries, but the log has only {entries}: entry {entries} onwards is missing"
    )]
    HeadBeyondLog {
        /// Which head.
        head: HeadSource,
        /// The head's size.
        size: u64,
        /// The number of entries replayed.
        entries: u64,
    },
    /// Too few witnesses cosigned the witnessed head.
    #[error(
        "the witnessed tree head of size {size} has {valid} valid cosignatures, {required} are required"
    )]
    TooFewCosignatures {
        /// The witnessed head's size.
        size: u64,
        /// Valid cosignatures by distinct known witnesses.
        valid: usize,
        /// Cosignatures required.
        required: usize,
    },
}

fn missing_text(index: u64, next: u64) -> String {
    match index.checked_sub(1) {
        None => format!("entry 0 is missing: the log starts at entry {next}"),
        Some(last) => {
            format!("entry {index} is missing: the log goes from entry {last} to entry {next}")
        }
    }
}

fn mismatch_text(first: u64, size: u64, head: &HeadSource) -> String {
    match size {
        0 => format!("{head} is for the empty log but its root is not the empty tree's root"),
        _ if first.saturating_add(1) >= size => {
            format!("entry {first} does not match {head}, signed at tree size {size}")
        }
        _ => format!(
            "entries {first}..={} do not match {head}, signed at tree size {size}",
            size - 1
        ),
    }
}

impl ReplayError {
    /// The first entry the error is about, when it names one: the missing,
    /// misplaced or undecodable entry, the entry a bad head was stored with,
    /// the first entry of a span that does not match its head, or the first
    /// entry a truncated log lost.
    #[must_use]
    pub fn first_bad_entry(&self) -> Option<u64> {
        match self {
            Self::Missing { index, .. }
            | Self::OutOfOrder { index, .. }
            | Self::Undecodable { index, .. }
            | Self::HeadUnreadable { index, .. }
            | Self::HeadSize { index, .. }
            | Self::HeadSignature {
                head: HeadSource::StoredWith { index },
                ..
            }
            | Self::HeadOrigin {
                head: HeadSource::StoredWith { index },
                ..
            } => Some(*index),
            Self::Mismatch { first, .. } | Self::Unsigned { first, .. } => Some(*first),
            Self::Truncated { size, .. } => Some(*size),
            Self::HeadBeyondLog { entries, .. } => Some(*entries),
            Self::HeadSignature { .. }
            | Self::HeadOrigin { .. }
            | Self::Rewritten { .. }
            | Self::TooFewCosignatures { .. } => None,
        }
    }
}

/// What a successful replay established.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Entries replayed.
    pub size: u64,
    /// The root of all of them.
    pub root: NodeHash,
    /// Stored heads verified (one per transaction of the log).
    pub heads_checked: u64,
    /// The latest head, verified: the root of the first `latest.size`
    /// entries.
    pub latest: TreeHead,
    /// The saved head the log was checked against, if one was given.
    pub since: Option<TreeHead>,
}

/// An auditor's replay of the log. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct Replay {
    log_key: NoteKey,
    since: Option<TreeHead>,
    tree: Tree,
    /// Sizes of the stored heads verified so far, ascending.
    verified: Vec<u64>,
    poisoned: Option<ReplayError>,
}

impl Replay {
    /// Starts a replay of the log signed by `log_key` (whose name is the
    /// log's origin), optionally against a head saved at an earlier audit.
    ///
    /// # Errors
    ///
    /// [`ReplayError::HeadSignature`] or [`ReplayError::HeadOrigin`] if
    /// `since` is not signed by `log_key` for this log;
    /// [`ReplayError::Rewritten`] if it is a head of the empty log whose
    /// root is not the empty tree's.
    ///
    /// # Security
    ///
    /// `log_key` must come from somewhere other than the log being checked
    /// (pinned, or published by the operator): with a key chosen by the
    /// coordinator, a replay only shows that the log is self-consistent.
    pub fn new(log_key: NoteKey, since: Option<&SignedTreeHead>) -> Result<Self, ReplayError> {
        let mut replay = Self {
            log_key,
            since: None,
            tree: Tree::new(),
            verified: Vec::new(),
            poisoned: None,
        };
        if let Some(saved) = since {
            let head = replay.check_signed(saved, HeadSource::Saved)?;
            if head.size == 0 && head.root_hash != EMPTY_ROOT {
                return Err(ReplayError::Rewritten { size: 0 });
            }
            replay.since = Some(head);
        }
        Ok(replay)
    }

    /// The number of entries replayed so far: the index expected next.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The number of stored heads verified so far.
    #[must_use]
    pub fn heads_checked(&self) -> u64 {
        self.verified.len() as u64
    }

    /// Replays entry `index` (its canonical encoding) and checks the head
    /// the log stored with it, if any.
    ///
    /// # Errors
    ///
    /// [`ReplayError::Missing`] if `index` skips entries,
    /// [`ReplayError::OutOfOrder`] if it repeats one,
    /// [`ReplayError::Undecodable`] for a bad entry,
    /// [`ReplayError::HeadUnreadable`],
    /// [`ReplayError::HeadSignature`], [`ReplayError::HeadOrigin`],
    /// [`ReplayError::HeadSize`] for a bad stored head,
    /// [`ReplayError::Mismatch`] if the entries since the previous verified
    /// head do not hash to the stored head's root, and
    /// [`ReplayError::Rewritten`] when the replay reaches the saved head's
    /// size with another root. After an error the replay is poisoned:
    /// every later call returns the same error.
    pub fn push(
        &mut self,
        index: u64,
        encoded: &[u8],
        head: Option<&str>,
    ) -> Result<(), ReplayError> {
        if let Some(error) = &self.poisoned {
            return Err(error.clone());
        }
        let result = self.step(index, encoded, head);
        if let Err(error) = &result {
            self.poisoned = Some(error.clone());
        }
        result
    }

    fn step(&mut self, index: u64, encoded: &[u8], head: Option<&str>) -> Result<(), ReplayError> {
        let expected = self.tree.size();
        if index > expected {
            return Err(ReplayError::Missing {
                index: expected,
                next: index,
            });
        }
        if index < expected {
            return Err(ReplayError::OutOfOrder { index, expected });
        }
        // Decoding is the whole check: `Entry::decode` accepts exactly the
        // canonical encodings, so the bytes hashed are the entry's one encoding.
        Entry::decode(encoded).map_err(|source| ReplayError::Undecodable { index, source })?;
        self.tree.append_entry(encoded);
        let size = self.tree.size();
        if let Some(note) = head {
            let signed = SignedTreeHead::parse(note)
                .map_err(|source| ReplayError::HeadUnreadable { index, source })?;
            let source = HeadSource::StoredWith { index };
            let checked = self.check_signed(&signed, source)?;
            if checked.size != size {
                return Err(ReplayError::HeadSize {
                    index,
                    size: checked.size,
                });
            }
            if checked.root_hash != self.tree.current_root() {
                return Err(ReplayError::Mismatch {
                    first: self.span_start(size),
                    size,
                    head: source,
                });
            }
            self.verified.push(size);
        }
        if let Some(since) = self.since
            && since.size == size
            && since.root_hash != self.tree.current_root()
        {
            return Err(ReplayError::Rewritten { size });
        }
        Ok(())
    }

    /// Checks the log's latest signed head against the replayed entries and
    /// reports what was verified.
    ///
    /// Entries beyond the latest head's size are allowed (the log grew
    /// after the head was read) if stored heads cover them.
    ///
    /// # Errors
    ///
    /// The poisoning error, if [`Replay::push`] failed;
    /// [`ReplayError::Truncated`] if fewer entries were replayed than the
    /// saved head has; [`ReplayError::HeadSignature`] /
    /// [`ReplayError::HeadOrigin`] if `latest` is not the log's;
    /// [`ReplayError::HeadBeyondLog`] if it covers more entries than were
    /// replayed; [`ReplayError::Mismatch`] if its root is not theirs;
    /// [`ReplayError::Unsigned`] if entries at the end are covered by no
    /// head.
    pub fn finish(&self, latest: &SignedTreeHead) -> Result<Report, ReplayError> {
        if let Some(error) = &self.poisoned {
            return Err(error.clone());
        }
        let size = self.tree.size();
        if let Some(since) = self.since
            && since.size > size
        {
            return Err(ReplayError::Truncated {
                saved: since.size,
                size,
            });
        }
        let head = self.check_covered(latest, HeadSource::Latest)?;
        let covered = self.verified.last().copied().unwrap_or(0).max(head.size);
        if covered < size {
            return Err(ReplayError::Unsigned {
                first: covered,
                last: size - 1,
            });
        }
        Ok(Report {
            size,
            root: self.tree.current_root(),
            heads_checked: self.heads_checked(),
            latest: head,
            since: self.since,
        })
    }

    /// Checks a head cosigned by witnesses: signed by the log, the root of
    /// the replayed entries at its size, and cosigned by at least
    /// `required` of `witnesses` (distinct keys with valid signatures).
    /// Returns the number of valid cosignatures.
    ///
    /// # Errors
    ///
    /// The poisoning error, if [`Replay::push`] failed; as
    /// [`Replay::finish`] for the head itself;
    /// [`ReplayError::TooFewCosignatures`].
    pub fn check_witnessed(
        &self,
        witnessed: &SignedTreeHead,
        witnesses: &[NoteKey],
        required: usize,
    ) -> Result<usize, ReplayError> {
        if let Some(error) = &self.poisoned {
            return Err(error.clone());
        }
        let head = self.check_covered(witnessed, HeadSource::Witnessed)?;
        let valid = witnessed.count_valid_cosignatures(witnesses);
        if valid < required {
            return Err(ReplayError::TooFewCosignatures {
                size: head.size,
                valid,
                required,
            });
        }
        Ok(valid)
    }

    /// Checks the log's signature and origin on `head`.
    fn check_signed(
        &self,
        head: &SignedTreeHead,
        source: HeadSource,
    ) -> Result<TreeHead, ReplayError> {
        let checked = *head
            .verify(&self.log_key)
            .map_err(|error| ReplayError::HeadSignature {
                head: source,
                source: error,
            })?;
        if head.origin() != self.log_key.name() {
            return Err(ReplayError::HeadOrigin {
                head: source,
                expected: self.log_key.name().to_owned(),
                found: head.origin().to_owned(),
            });
        }
        Ok(checked)
    }

    /// Checks that `head` is signed by the log and is the root of the
    /// replayed entries at its size.
    fn check_covered(
        &self,
        head: &SignedTreeHead,
        source: HeadSource,
    ) -> Result<TreeHead, ReplayError> {
        let checked = self.check_signed(head, source)?;
        let entries = self.tree.size();
        if checked.size > entries {
            return Err(ReplayError::HeadBeyondLog {
                head: source,
                size: checked.size,
                entries,
            });
        }
        if self.tree.root(checked.size).ok() != Some(checked.root_hash) {
            return Err(ReplayError::Mismatch {
                first: self.span_start(checked.size),
                size: checked.size,
                head: source,
            });
        }
        Ok(checked)
    }

    /// The first entry after the last verified stored head below `size`.
    fn span_start(&self, size: u64) -> u64 {
        let below = self.verified.partition_point(|&s| s < size);
        below
            .checked_sub(1)
            .and_then(|i| self.verified.get(i))
            .copied()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EventKind;
    use ed25519_dalek::SigningKey;
    use proptest::prelude::*;

    const ORIGIN: &str = "symbolon/test";

    /// One row as the API serves it.
    #[derive(Clone, Debug)]
    struct Row {
        index: u64,
        encoded: Vec<u8>,
        head: Option<String>,
    }

    struct Log {
        signing: SigningKey,
        key: NoteKey,
        rows: Vec<Row>,
        tree: Tree,
    }

    impl Log {
        fn sign(&self, size: u64) -> SignedTreeHead {
            TreeHead {
                size,
                root_hash: self.tree.root(size).unwrap(),
                timestamp_ms: 1_700_000_000_000 + size,
            }
            .sign(ORIGIN, ORIGIN, &self.signing)
            .unwrap()
        }

        fn latest(&self) -> SignedTreeHead {
            self.sign(self.tree.size())
        }

        fn replay(&self, since: Option<&SignedTreeHead>) -> Result<Report, ReplayError> {
            replay_rows(&self.key, &self.rows, since, &self.latest())
        }
    }

    fn entry(i: u64, salt: u8) -> Vec<u8> {
        let event = EventKind::ALL[(i as usize) % EventKind::ALL.len()];
        let mut e = Entry::new(event, 1_700_000_000_000 + i, format!("actor-{i}-{salt}"));
        e.key_id = Some(format!("key-{}", i % 3));
        e.key_version = Some(1);
        e.custodians = vec!["c1".into(), "c2".into()];
        e.outcome = Some("ok".into());
        e.encode().unwrap()
    }

    /// A log whose transactions have the given numbers of entries; the last
    /// entry of each carries the head signed after it.
    fn log_with_key(transactions: &[usize], seed: u8, salt: u8) -> Log {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let key = NoteKey::new(ORIGIN, signing.verifying_key()).unwrap();
        let mut log = Log {
            signing,
            key,
            rows: Vec::new(),
            tree: Tree::new(),
        };
        for &count in transactions {
            for _ in 0..count {
                let index = log.tree.size();
                let encoded = entry(index, salt);
                log.tree.append_entry(&encoded);
                log.rows.push(Row {
                    index,
                    encoded,
                    head: None,
                });
            }
            if count > 0 {
                let head = log.sign(log.tree.size()).to_note();
                log.rows.last_mut().unwrap().head = Some(head);
            }
        }
        log
    }

    fn log(transactions: &[usize]) -> Log {
        log_with_key(transactions, 7, 0)
    }

    fn replay_rows(
        key: &NoteKey,
        rows: &[Row],
        since: Option<&SignedTreeHead>,
        latest: &SignedTreeHead,
    ) -> Result<Report, ReplayError> {
        let mut replay = Replay::new(key.clone(), since)?;
        for row in rows {
            replay.push(row.index, &row.encoded, row.head.as_deref())?;
        }
        replay.finish(latest)
    }

    /// The first index of the transaction holding entry `i`.
    fn span_of(transactions: &[usize], i: u64) -> u64 {
        let mut start = 0u64;
        for &count in transactions {
            let end = start + count as u64;
            if i < end {
                return start;
            }
            start = end;
        }
        unreachable!()
    }

    #[test]
    fn an_honest_log_passes() {
        let log = log(&[2, 1, 1, 3, 1]);
        let report = log.replay(None).unwrap();
        assert_eq!(report.size, 8);
        assert_eq!(report.heads_checked, 5);
        assert_eq!(report.root, log.tree.current_root());
        assert_eq!(report.latest.size, 8);
        assert_eq!(report.since, None);

        let saved = log.sign(3);
        let report = log.replay(Some(&saved)).unwrap();
        assert_eq!(report.since.map(|h| h.size), Some(3));
    }

    #[test]
    fn the_empty_log_passes() {
        let log = log(&[]);
        let report = log.replay(None).unwrap();
        assert_eq!(report.size, 0);
        assert_eq!(report.root, EMPTY_ROOT);
        assert_eq!(report.heads_checked, 0);
        // A head of size 0 saved earlier is consistent with everything.
        let report = log.replay(Some(&log.sign(0))).unwrap();
        assert_eq!(report.since.map(|h| h.size), Some(0));
    }

    #[test]
    fn an_edited_entry_is_named() {
        let mut log = log(&[2, 1, 1, 3]);
        // Entry 2 is alone in its transaction: named exactly. The edit keeps
        // the entry decodable (a letter of the actor).
        let bytes = &mut log.rows[2].encoded;
        let at = bytes.windows(5).position(|w| w == b"actor").unwrap();
        bytes[at] = b'b';
        let err = log.replay(None).unwrap_err();
        assert_eq!(
            err,
            ReplayError::Mismatch {
                first: 2,
                size: 3,
                head: HeadSource::StoredWith { index: 2 }
            }
        );
        assert_eq!(err.first_bad_entry(), Some(2));
        assert_eq!(
            err.to_string(),
            "entry 2 does not match the tree head stored with entry 2, signed at tree size 3"
        );
    }

    #[test]
    fn an_edit_in_a_longer_transaction_names_its_span() {
        let mut log = log(&[2, 1, 1, 3]);
        let bytes = &mut log.rows[5].encoded;
        let last = bytes.len() - 1;
        // The outcome's last letter: "ok" becomes "oj".
        bytes[last - 1] ^= 1;
        let err = log.replay(None).unwrap_err();
        assert_eq!(
            err,
            ReplayError::Mismatch {
                first: 4,
                size: 7,
                head: HeadSource::StoredWith { index: 6 }
            }
        );
        assert_eq!(
            err.to_string(),
            "entries 4..=6 do not match the tree head stored with entry 6, signed at tree size 7"
        );
    }

    #[test]
    fn an_undecodable_entry_is_named() {
        let mut log = log(&[1, 1, 1]);
        log.rows[1].encoded[0] = 9;
        let err = log.replay(None).unwrap_err();
        assert_eq!(
            err,
            ReplayError::Undecodable {
                index: 1,
                source: Error::UnknownEntryVersion { version: 9 }
            }
        );
        let mut log = self::log(&[1, 1, 1]);
        log.rows[2].encoded.push(0);
        assert_eq!(
            log.replay(None).unwrap_err(),
            ReplayError::Undecodable {
                index: 2,
                source: Error::EntryTrailingBytes { extra: 1 }
            }
        );
    }

    #[test]
    fn a_deleted_entry_is_named() {
        let mut log = log(&[1, 2, 1, 1]);
        log.rows.remove(2);
        let err = log.replay(None).unwrap_err();
        assert_eq!(err, ReplayError::Missing { index: 2, next: 3 });
        assert_eq!(err.first_bad_entry(), Some(2));
        assert_eq!(
            err.to_string(),
            "entry 2 is missing: the log goes from entry 1 to entry 3"
        );

        // The first entry has no predecessor to name.
        let mut log = self::log(&[1, 1]);
        log.rows.remove(0);
        let err = log.replay(None).unwrap_err();
        assert_eq!(err, ReplayError::Missing { index: 0, next: 1 });
        assert_eq!(
            err.to_string(),
            "entry 0 is missing: the log starts at entry 1"
        );
    }

    #[test]
    fn deleted_entries_renumbered_to_hide_the_gap_are_named() {
        let mut log = log(&[1, 1, 1, 1]);
        log.rows.remove(1);
        for (i, row) in log.rows.iter_mut().enumerate() {
            row.index = i as u64;
        }
        // Entry 1 now carries the head signed at size 3.
        assert_eq!(
            log.replay(None).unwrap_err(),
            ReplayError::HeadSize { index: 1, size: 3 }
        );
    }

    #[test]
    fn swapped_entries_are_named() {
        let mut log = log(&[1, 1, 2, 1, 1]);
        // Swap the entries (not the heads) of rows 1 and 4.
        let a = log.rows[1].encoded.clone();
        log.rows[1].encoded = log.rows[4].encoded.clone();
        log.rows[4].encoded = a;
        let err = log.replay(None).unwrap_err();
        assert_eq!(
            err,
            ReplayError::Mismatch {
                first: 1,
                size: 2,
                head: HeadSource::StoredWith { index: 1 }
            }
        );
    }

    #[test]
    fn out_of_order_and_repeated_indexes_are_refused() {
        let log = log(&[1, 1, 1]);
        let mut replay = Replay::new(log.key.clone(), None).unwrap();
        let row = &log.rows[0];
        replay.push(0, &row.encoded, row.head.as_deref()).unwrap();
        assert_eq!(
            replay.push(0, &row.encoded, None).unwrap_err(),
            ReplayError::OutOfOrder {
                index: 0,
                expected: 1
            }
        );
        // Poisoned: the honest next entry is refused with the same error.
        let next = &log.rows[1];
        assert_eq!(
            replay
                .push(1, &next.encoded, next.head.as_deref())
                .unwrap_err(),
            ReplayError::OutOfOrder {
                index: 0,
                expected: 1
            }
        );
        assert!(replay.finish(&log.latest()).is_err());
    }

    #[test]
    fn an_edited_head_note_is_named() {
        let log = log(&[1, 2, 1]);
        // Change the root line of the head stored with entry 2, keeping it
        // well-formed: the signature no longer verifies.
        let mut edited = log.rows.clone();
        let note = edited[2].head.clone().unwrap();
        let other = log.sign(1).to_note();
        let root_line = |n: &str| n.lines().nth(2).unwrap().to_owned();
        edited[2].head = Some(note.replacen(&root_line(&note), &root_line(&other), 1));
        let err = replay_rows(&log.key, &edited, None, &log.latest()).unwrap_err();
        assert!(
            matches!(
                err,
                ReplayError::HeadSignature {
                    head: HeadSource::StoredWith { index: 2 },
                    source: Error::BadSignature { .. }
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.first_bad_entry(), Some(2));

        // An unparseable note.
        let mut garbled = log.rows.clone();
        garbled[0].head = Some("not a note".into());
        assert!(matches!(
            replay_rows(&log.key, &garbled, None, &log.latest()).unwrap_err(),
            ReplayError::HeadUnreadable { index: 0, .. }
        ));

        // A head signed by another key.
        let stranger = log_with_key(&[1, 2, 1], 8, 0);
        let mut foreign = log.rows.clone();
        foreign[0].head = stranger.rows[0].head.clone();
        assert!(matches!(
            replay_rows(&log.key, &foreign, None, &log.latest()).unwrap_err(),
            ReplayError::HeadSignature {
                head: HeadSource::StoredWith { index: 0 },
                source: Error::LogSignatureMissing { .. }
            }
        ));
    }

    #[test]
    fn a_head_for_another_origin_is_refused() {
        let log = log(&[1]);
        let wrong = TreeHead {
            size: 1,
            root_hash: log.tree.root(1).unwrap(),
            timestamp_ms: 1,
        }
        .sign("elsewhere", ORIGIN, &log.signing)
        .unwrap();
        let mut rows = log.rows.clone();
        rows[0].head = Some(wrong.to_note());
        assert_eq!(
            replay_rows(&log.key, &rows, None, &log.latest()).unwrap_err(),
            ReplayError::HeadOrigin {
                head: HeadSource::StoredWith { index: 0 },
                expected: ORIGIN.into(),
                found: "elsewhere".into()
            }
        );
    }

    #[test]
    fn truncation_is_found_against_the_saved_head() {
        let log = log(&[1, 2, 1, 1]);
        let saved = log.latest();
        // Drop the last two transactions; the log and its latest head are
        // otherwise self-consistent.
        let rows = &log.rows[..3];
        let latest = log.sign(3);
        assert!(replay_rows(&log.key, rows, None, &latest).is_ok());
        let err = replay_rows(&log.key, rows, Some(&saved), &latest).unwrap_err();
        assert_eq!(err, ReplayError::Truncated { saved: 5, size: 3 });
        assert_eq!(
            err.to_string(),
            "log truncated: the saved head had 5 entries, the log now has 3"
        );
        assert_eq!(err.first_bad_entry(), Some(3));
    }

    #[test]
    fn a_log_shorter_than_its_latest_head_is_refused() {
        let log = log(&[1, 2, 1, 1]);
        let err = replay_rows(&log.key, &log.rows[..3], None, &log.latest()).unwrap_err();
        assert_eq!(
            err,
            ReplayError::HeadBeyondLog {
                head: HeadSource::Latest,
                size: 5,
                entries: 3
            }
        );
        assert_eq!(err.first_bad_entry(), Some(3));
    }

    #[test]
    fn a_rewrite_with_the_same_key_is_found_against_the_saved_head() {
        let honest = log(&[1, 2, 1, 1]);
        let saved = honest.sign(4);
        // The same key re-signs a log whose entries differ from entry 0 on:
        // every stored head verifies.
        let forged = log_with_key(&[1, 2, 1, 1, 1], 7, 1);
        assert!(forged.replay(None).is_ok());
        let err = forged.replay(Some(&saved)).unwrap_err();
        assert_eq!(err, ReplayError::Rewritten { size: 4 });
        assert_eq!(
            err.to_string(),
            "the log was rewritten before entry 4: its first 4 entries do not match the saved tree head"
        );
    }

    #[test]
    fn a_saved_head_by_another_key_is_refused() {
        let log = log(&[1, 1]);
        let other = log_with_key(&[1, 1], 9, 0);
        let err = Replay::new(log.key.clone(), Some(&other.latest())).unwrap_err();
        assert!(
            matches!(
                err,
                ReplayError::HeadSignature {
                    head: HeadSource::Saved,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(err.first_bad_entry(), None);
    }

    #[test]
    fn a_forged_or_foreign_latest_head_is_refused() {
        let log = log(&[1, 1]);
        let other = log_with_key(&[1, 1], 9, 0);
        assert!(matches!(
            replay_rows(&log.key, &log.rows, None, &other.latest()),
            Err(ReplayError::HeadSignature {
                head: HeadSource::Latest,
                ..
            })
        ));
        // Signed by the log key but over a root the entries do not have.
        let lie = TreeHead {
            size: 2,
            root_hash: log.tree.root(1).unwrap(),
            timestamp_ms: 1,
        }
        .sign(ORIGIN, ORIGIN, &log.signing)
        .unwrap();
        assert_eq!(
            replay_rows(&log.key, &log.rows, None, &lie).unwrap_err(),
            ReplayError::Mismatch {
                first: 1,
                size: 2,
                head: HeadSource::Latest
            }
        );
    }

    #[test]
    fn entries_covered_by_no_head_are_refused() {
        let mut log = log(&[1, 2, 1]);
        log.rows[3].head = None;
        let latest = log.sign(3);
        assert_eq!(
            replay_rows(&log.key, &log.rows, None, &latest).unwrap_err(),
            ReplayError::Unsigned { first: 3, last: 3 }
        );
        // The latest head covers them: fine.
        assert!(replay_rows(&log.key, &log.rows, None, &log.latest()).is_ok());
    }

    #[test]
    fn witnessed_heads_are_checked() {
        let log = log(&[1, 2, 1]);
        let mut replay = Replay::new(log.key.clone(), None).unwrap();
        for row in &log.rows {
            replay
                .push(row.index, &row.encoded, row.head.as_deref())
                .unwrap();
        }
        let mut witnessed = log.sign(3);
        let keys: Vec<(SigningKey, NoteKey)> = (1..=3u8)
            .map(|i| {
                let k = SigningKey::from_bytes(&[40 + i; 32]);
                let name = format!("c{i}");
                let note = NoteKey::new(&name, k.verifying_key()).unwrap();
                (k, note)
            })
            .collect();
        for (k, note) in &keys[..2] {
            witnessed.cosign(note.name(), k).unwrap();
        }
        let known: Vec<NoteKey> = keys.iter().map(|(_, n)| n.clone()).collect();
        assert_eq!(replay.check_witnessed(&witnessed, &known, 2), Ok(2));
        assert_eq!(
            replay.check_witnessed(&witnessed, &known, 3),
            Err(ReplayError::TooFewCosignatures {
                size: 3,
                valid: 2,
                required: 3
            })
        );
        let beyond = log_with_key(&[1, 2, 1, 1], 7, 0).latest();
        assert_eq!(
            replay.check_witnessed(&beyond, &known, 0),
            Err(ReplayError::HeadBeyondLog {
                head: HeadSource::Witnessed,
                size: 5,
                entries: 4
            })
        );
    }

    fn transactions() -> impl Strategy<Value = Vec<usize>> {
        prop::collection::vec(1usize..4, 1..12)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

        /// Any honest log passes, with one head checked per transaction.
        #[test]
        fn honest_logs_pass(txs in transactions(), saved in any::<prop::sample::Index>()) {
            let log = log(&txs);
            let n = log.tree.size();
            let since = log.sign(saved.index(n as usize + 1) as u64);
            let report = log.replay(Some(&since)).unwrap();
            prop_assert_eq!(report.size, n);
            prop_assert_eq!(report.heads_checked, txs.len() as u64);
            prop_assert_eq!(report.root, log.tree.current_root());
        }

        /// A flipped bit in any entry is caught and the error's first entry
        /// is the flipped one, or the start of its transaction.
        #[test]
        fn any_flipped_bit_is_named(txs in transactions(), pick in any::<prop::sample::Index>(), bit in any::<prop::sample::Index>()) {
            let mut log = log(&txs);
            let n = log.rows.len();
            let i = pick.index(n);
            let bytes = &mut log.rows[i].encoded;
            let b = bit.index(bytes.len() * 8);
            bytes[b / 8] ^= 1 << (b % 8);
            let err = log.replay(None).unwrap_err();
            let first = err.first_bad_entry().unwrap();
            let i = i as u64;
            prop_assert!(first == i || first == span_of(&txs, i), "{err} for entry {i}");
            if let ReplayError::Mismatch { first, size, .. } = err {
                prop_assert!(first <= i && i < size);
            }
        }

        /// Deleting any entry but the last names it; deleting the last is a
        /// log shorter than its head.
        #[test]
        fn any_deleted_entry_is_named(txs in transactions(), pick in any::<prop::sample::Index>()) {
            let mut log = log(&txs);
            let n = log.rows.len();
            let i = pick.index(n);
            log.rows.remove(i);
            let err = log.replay(None).unwrap_err();
            prop_assert_eq!(err.first_bad_entry(), Some(i as u64), "{}", err);
        }

        /// Swapping two different entries names the first one's transaction.
        #[test]
        fn any_swap_is_named(txs in transactions(), a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
            let mut log = log(&txs);
            let n = log.rows.len();
            let (i, j) = (a.index(n), b.index(n));
            prop_assume!(i != j);
            let (i, j) = (i.min(j), i.max(j));
            let first = log.rows[i].encoded.clone();
            log.rows[i].encoded = log.rows[j].encoded.clone();
            log.rows[j].encoded = first;
            let err = log.replay(None).unwrap_err();
            prop_assert_eq!(err.first_bad_entry(), Some(span_of(&txs, i as u64)), "{}", err);
        }

        /// Cutting whole transactions off the end is found against any saved
        /// head beyond the cut, and passes without one.
        #[test]
        fn any_truncation_is_found(txs in transactions(), keep in any::<prop::sample::Index>()) {
            prop_assume!(txs.len() >= 2);
            let log = log(&txs);
            let kept_txs = keep.index(txs.len());
            let kept: u64 = txs[..kept_txs].iter().map(|&c| c as u64).sum();
            let rows = &log.rows[..kept as usize];
            let latest = log.sign(kept);
            prop_assert!(replay_rows(&log.key, rows, None, &latest).is_ok());
            let saved = log.latest();
            prop_assert_eq!(
                replay_rows(&log.key, rows, Some(&saved), &latest).unwrap_err(),
                ReplayError::Truncated { saved: log.tree.size(), size: kept }
            );
        }
    }
}
