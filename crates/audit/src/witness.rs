//! A witness's view of the log: what a custodian checks before it acts on a
//! request the log is said to contain.
//!
//! A [`Witness`] holds the log's leaf hashes — 32 bytes per entry, never an
//! entry — and the last signed tree head it accepted. Shown a new signed
//! head together with the leaf hashes it has not seen, it
//!
//! 1. checks the log's signature on the head (and its origin),
//! 2. checks that the leaf hashes it already holds are the ones sent
//!    (a difference is a fork, named by its index),
//! 3. appends the new ones and recomputes the root at the head's size,
//!    which must equal the signed root.
//!
//! Step 3 is what a consistency proof (RFC 9162 §2.1.4) establishes, done by
//! recomputation: every head a witness accepts is the root of a prefix of
//! one sequence of leaves, so all of them are consistent with each other,
//! whatever order they arrive in. Inclusion of an entry is then checked
//! with its RFC 9162 audit path against the accepted head
//! ([`Witness::check_inclusion`]), and against the held leaf as well.
//!
//! The price is memory and storage linear in the log (about 64 bytes per
//! entry held in a [`Tree`]), which is what lets requests carrying
//! different heads arrive in any order without a retry.
//!
//! A log signs one head per batch of appends, so under load many requests
//! arrive with the same head. A witness remembers the last few
//! (text, log signature) pairs it verified and checks each signature once:
//! a remembered pair is byte-for-byte one that verified under the same log
//! key, so skipping the second check changes no answer.

use std::collections::VecDeque;

use crate::checkpoint::SignedTreeHead;
use crate::hash::{HASH_LEN, NodeHash, leaf_hash};
use crate::note::{NoteKey, NoteSignature};
use crate::proof::verify_inclusion;
use crate::tree::Tree;
use crate::{Error, TreeHead};

/// The result of [`Witness::accept`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The accepted head.
    pub head: TreeHead,
    /// Leaves held before the call; leaves `previous_size..` are new and
    /// should be persisted by the caller.
    pub previous_size: u64,
    /// Whether the head is newer than every head accepted before (the
    /// caller should persist it as its latest).
    pub newest: bool,
}

/// How many verified (text, log signature) pairs a witness remembers.
const VERIFIED_MEMORY: usize = 16;

/// A witness's copy of the log's leaf hashes and its latest accepted head.
#[derive(Debug, Clone)]
pub struct Witness {
    log_key: NoteKey,
    origin: String,
    tree: Tree,
    latest: Option<SignedTreeHead>,
    /// Heads whose log signature verified under `log_key`, newest last.
    verified: VecDeque<(String, NoteSignature)>,
}

impl Witness {
    /// A witness of the log signed by `log_key` under `origin`, holding
    /// `leaves` (in log order) and, if any, the last head it accepted.
    ///
    /// # Errors
    ///
    /// [`Error::HeadBeyondLeaves`] or [`Error::HeadMismatch`] if `latest`
    /// is not the root of a prefix of `leaves`; the errors of
    /// [`SignedTreeHead::verify`] if it is not signed by the log.
    pub fn new(
        log_key: NoteKey,
        origin: &str,
        leaves: impl IntoIterator<Item = NodeHash>,
        latest: Option<SignedTreeHead>,
    ) -> Result<Self, Error> {
        let witness = Self {
            log_key,
            origin: origin.to_owned(),
            tree: Tree::from_leaf_hashes(leaves),
            latest: None,
            verified: VecDeque::new(),
        };
        let latest = match latest {
            Some(head) => {
                let checked = witness.check_head(&head)?;
                if checked.size > witness.tree.size() {
                    return Err(Error::HeadBeyondLeaves {
                        size: checked.size,
                        held: witness.tree.size(),
                    });
                }
                if witness.tree.root(checked.size)? != checked.root_hash {
                    return Err(Error::HeadMismatch { size: checked.size });
                }
                Some(head)
            }
            None => None,
        };
        Ok(Self { latest, ..witness })
    }

    /// The log key heads must be signed with.
    #[must_use]
    pub fn log_key(&self) -> &NoteKey {
        &self.log_key
    }

    /// How many leaf hashes this witness holds.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.tree.size()
    }

    /// The leaf hash at `index`, if held.
    #[must_use]
    pub fn leaf(&self, index: u64) -> Option<NodeHash> {
        self.tree.leaf(index)
    }

    /// The latest head accepted.
    #[must_use]
    pub fn latest(&self) -> Option<&SignedTreeHead> {
        self.latest.as_ref()
    }

    fn check_head(&self, head: &SignedTreeHead) -> Result<TreeHead, Error> {
        if head.origin() != self.origin {
            return Err(Error::WrongOrigin {
                expected: self.origin.clone(),
                found: head.origin().to_owned(),
            });
        }
        Ok(*head.verify(&self.log_key)?)
    }

    /// [`Self::check_head`], once per distinct (text, log signature): a
    /// pair that verified before is not verified again.
    fn check_head_once(&mut self, head: &SignedTreeHead) -> Result<TreeHead, Error> {
        let line = head.signatures().iter().find(|s| self.log_key.matches(s));
        if let Some(line) = line
            && head.origin() == self.origin
            && self
                .verified
                .iter()
                .any(|(text, seen)| seen == line && text == head.text())
        {
            return Ok(*head.head());
        }
        let checked = self.check_head(head)?;
        if let Some(line) = line {
            if self.verified.len() == VERIFIED_MEMORY {
                self.verified.pop_front();
            }
            self.verified
                .push_back((head.text().to_owned(), line.clone()));
        }
        Ok(checked)
    }

    /// Accepts `head` if the log signed it and it is the root of the leaves
    /// this witness holds extended by `leaves` (concatenated 32-byte leaf
    /// hashes starting at index `first`).
    ///
    /// Nothing changes unless the head is accepted.
    ///
    /// # Errors
    ///
    /// [`Error::LeavesLength`], the errors of [`SignedTreeHead::verify`],
    /// [`Error::WrongOrigin`], [`Error::LeavesGap`] if `first` is beyond
    /// the leaves held, [`Error::ForkedLeaf`] if a leaf sent differs from
    /// one held, [`Error::HeadBeyondLeaves`] if the head is larger than the
    /// leaves known, [`Error::HeadMismatch`] if its root is not theirs.
    pub fn accept(
        &mut self,
        head: &SignedTreeHead,
        first: u64,
        leaves: &[u8],
    ) -> Result<Accepted, Error> {
        let (chunks, rest) = leaves.as_chunks::<HASH_LEN>();
        if !rest.is_empty() {
            return Err(Error::LeavesLength { len: leaves.len() });
        }
        let checked = self.check_head_once(head)?;
        let held = self.tree.size();
        if first > held {
            return Err(Error::LeavesGap { first, held });
        }
        // Leaves we hold must be the ones sent.
        let mut extension = Vec::new();
        for (offset, chunk) in chunks.iter().enumerate() {
            let index = first.saturating_add(offset as u64);
            let sent = NodeHash::from_bytes(*chunk);
            match self.tree.leaf(index) {
                Some(mine) if mine == sent => {}
                Some(_) => return Err(Error::ForkedLeaf { index }),
                None => extension.push(sent),
            }
        }
        let known = held.saturating_add(extension.len() as u64);
        if checked.size > known {
            return Err(Error::HeadBeyondLeaves {
                size: checked.size,
                held: known,
            });
        }
        // Only the leaves the head covers are taken.
        let needed = usize::try_from(checked.size.saturating_sub(held)).unwrap_or(usize::MAX);
        extension.truncate(needed);
        if checked.size <= held {
            if self.tree.root(checked.size)? != checked.root_hash {
                return Err(Error::HeadMismatch { size: checked.size });
            }
        } else {
            // Extend in place; a head that does not match is undone, so a
            // bad head changes nothing (no copy of the tree per call).
            for leaf in &extension {
                self.tree.append(*leaf);
            }
            let matches = self
                .tree
                .root(checked.size)
                .is_ok_and(|root| root == checked.root_hash);
            if !matches {
                self.tree.truncate(held);
                return Err(Error::HeadMismatch { size: checked.size });
            }
        }
        let newest = self
            .latest
            .as_ref()
            .is_none_or(|latest| checked.size > latest.head().size);
        if newest {
            self.latest = Some(head.clone());
        }
        Ok(Accepted {
            head: checked,
            previous_size: held,
            newest,
        })
    }

    /// Checks that `entry` is leaf `index` of the accepted tree head `head`,
    /// by its audit path and by the leaf hash held.
    ///
    /// # Errors
    ///
    /// [`Error::IndexOutOfRange`], [`Error::InclusionMismatch`] and the
    /// other errors of [`verify_inclusion`]; [`Error::HeadMismatch`] if the
    /// held leaf differs.
    pub fn check_inclusion(
        &self,
        head: &TreeHead,
        index: u64,
        entry: &[u8],
        proof: &[NodeHash],
    ) -> Result<(), Error> {
        let leaf = leaf_hash(entry);
        verify_inclusion(&leaf, index, head.size, proof, &head.root_hash)?;
        if self.tree.leaf(index) != Some(leaf) {
            return Err(Error::HeadMismatch { size: head.size });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    const ORIGIN: &str = "symbolon.test/log";

    fn key() -> (SigningKey, NoteKey) {
        let signing = SigningKey::from_bytes(&[3; 32]);
        let note = NoteKey::new("log", signing.verifying_key()).unwrap();
        (signing, note)
    }

    fn leaves(n: u64, salt: u8) -> Vec<NodeHash> {
        (0..n)
            .map(|i| leaf_hash(&[salt, (i & 0xff) as u8, (i >> 8) as u8]))
            .collect()
    }

    fn signed(tree: &Tree, size: u64, key: &SigningKey) -> SignedTreeHead {
        TreeHead {
            size,
            root_hash: tree.root(size).unwrap(),
            timestamp_ms: 1,
        }
        .sign(ORIGIN, "log", key)
        .unwrap()
    }

    fn bytes(leaves: &[NodeHash]) -> Vec<u8> {
        leaves.iter().flat_map(|l| *l.as_bytes()).collect()
    }

    #[test]
    fn out_of_order_heads_are_all_accepted() {
        let (signing, log) = key();
        let all = leaves(40, 1);
        let tree = Tree::from_leaf_hashes(all.clone());
        let mut witness = Witness::new(log, ORIGIN, [], None).unwrap();
        let big = signed(&tree, 30, &signing);
        let accepted = witness.accept(&big, 0, &bytes(&all[..30])).unwrap();
        assert!(accepted.newest);
        assert_eq!(witness.size(), 30);
        // An older head, sent with leaves the witness already has.
        let small = signed(&tree, 12, &signing);
        let accepted = witness.accept(&small, 5, &bytes(&all[5..12])).unwrap();
        assert!(!accepted.newest);
        assert_eq!(witness.latest().unwrap().head().size, 30);
        // A newer one with only the missing leaves.
        let newer = signed(&tree, 40, &signing);
        witness.accept(&newer, 30, &bytes(&all[30..])).unwrap();
        assert_eq!(witness.size(), 40);
        let proof = tree.inclusion_proof(7, 40).unwrap();
        witness
            .check_inclusion(newer.head(), 7, &[1, 7, 0], &proof)
            .unwrap();
        assert!(matches!(
            witness.check_inclusion(newer.head(), 7, &[1, 8, 0], &proof),
            Err(Error::InclusionMismatch { .. })
        ));
    }

    /// The note of `head` with one bit of its log signature flipped: the
    /// same text, key name and key id, a signature that does not verify.
    fn forged(head: &SignedTreeHead) -> SignedTreeHead {
        use base64::Engine as _;
        let engine = base64::engine::general_purpose::STANDARD;
        let note = head.to_note();
        let (body, line) = note.trim_end().rsplit_once('\n').unwrap();
        let (prefix, encoded) = line.rsplit_once(' ').unwrap();
        let mut raw = engine.decode(encoded).unwrap();
        *raw.last_mut().unwrap() ^= 1;
        let note = format!("{body}\n{prefix} {}\n", engine.encode(raw));
        SignedTreeHead::parse(&note).unwrap()
    }

    #[test]
    fn a_head_seen_before_is_accepted_again_and_a_forgery_of_it_is_not() {
        let (signing, log) = key();
        let all = leaves(10, 4);
        let tree = Tree::from_leaf_hashes(all.clone());
        let mut witness = Witness::new(log, ORIGIN, [], None).unwrap();
        let head = signed(&tree, 10, &signing);
        let bad = forged(&head);
        assert_eq!(bad.text(), head.text());
        // Refused before, and after the genuine head was verified and
        // remembered: the memory holds signatures, not texts.
        assert!(matches!(
            witness.accept(&bad, 0, &bytes(&all)),
            Err(Error::BadSignature { .. })
        ));
        assert_eq!(witness.size(), 0);
        witness.accept(&head, 0, &bytes(&all)).unwrap();
        for _ in 0..3 {
            let again = witness.accept(&head, 10, &[]).unwrap();
            assert!(!again.newest);
            assert_eq!(again.head, *head.head());
        }
        assert!(matches!(
            witness.accept(&bad, 10, &[]),
            Err(Error::BadSignature { .. })
        ));
        // A remembered head is still checked against the leaves held.
        let mut fork = all.clone();
        fork[9] = leaf_hash(b"fork");
        assert!(matches!(
            witness.accept(&head, 9, &bytes(&fork[9..])),
            Err(Error::ForkedLeaf { index: 9 })
        ));
    }

    #[test]
    fn a_fork_is_named_at_its_first_differing_leaf() {
        let (signing, log) = key();
        let honest = leaves(20, 1);
        let mut forked = honest.clone();
        forked[13] = leaf_hash(b"rewritten");
        let honest_tree = Tree::from_leaf_hashes(honest.clone());
        let forked_tree = Tree::from_leaf_hashes(forked.clone());
        let mut witness = Witness::new(log, ORIGIN, [], None).unwrap();
        witness
            .accept(
                &signed(&honest_tree, 16, &signing),
                0,
                &bytes(&honest[..16]),
            )
            .unwrap();
        // The forked log, signed by the same (compromised) key.
        let err = witness
            .accept(
                &signed(&forked_tree, 20, &signing),
                10,
                &bytes(&forked[10..]),
            )
            .unwrap_err();
        assert_eq!(err, Error::ForkedLeaf { index: 13 });
        // Sending only the new leaves does not hide it: the root is wrong.
        let err = witness
            .accept(
                &signed(&forked_tree, 20, &signing),
                16,
                &bytes(&forked[16..]),
            )
            .unwrap_err();
        assert_eq!(err, Error::HeadMismatch { size: 20 });
        assert_eq!(witness.size(), 16, "a refused head changes nothing");
        // A smaller head of the fork does not match either.
        let err = witness
            .accept(&signed(&forked_tree, 15, &signing), 16, &[])
            .unwrap_err();
        assert_eq!(err, Error::HeadMismatch { size: 15 });
    }

    #[test]
    fn gaps_foreign_keys_and_origins_are_refused() {
        let (signing, log) = key();
        let all = leaves(10, 2);
        let tree = Tree::from_leaf_hashes(all.clone());
        let mut witness = Witness::new(log, ORIGIN, all[..4].iter().copied(), None).unwrap();
        let head = signed(&tree, 10, &signing);
        assert_eq!(
            witness.accept(&head, 6, &bytes(&all[6..])).unwrap_err(),
            Error::LeavesGap { first: 6, held: 4 }
        );
        assert_eq!(
            witness.accept(&head, 4, &bytes(&all[4..8])).unwrap_err(),
            Error::HeadBeyondLeaves { size: 10, held: 8 }
        );
        assert_eq!(
            witness.accept(&head, 4, &[0; 33]).unwrap_err(),
            Error::LeavesLength { len: 33 }
        );
        let other = SigningKey::from_bytes(&[4; 32]);
        assert!(matches!(
            witness.accept(&signed(&tree, 10, &other), 4, &bytes(&all[4..])),
            Err(Error::BadSignature { .. } | Error::LogSignatureMissing { .. })
        ));
        let elsewhere = TreeHead {
            size: 10,
            root_hash: tree.root(10).unwrap(),
            timestamp_ms: 1,
        }
        .sign("elsewhere", "log", &signing)
        .unwrap();
        assert!(matches!(
            witness.accept(&elsewhere, 4, &bytes(&all[4..])),
            Err(Error::WrongOrigin { .. })
        ));
        assert_eq!(witness.size(), 4);
    }

    #[test]
    fn restored_state_must_match_its_head() {
        let (signing, log) = key();
        let all = leaves(8, 3);
        let tree = Tree::from_leaf_hashes(all.clone());
        let head = signed(&tree, 8, &signing);
        Witness::new(log.clone(), ORIGIN, all.clone(), Some(head.clone())).unwrap();
        let mut edited = all.clone();
        edited[2] = leaf_hash(b"x");
        assert_eq!(
            Witness::new(log.clone(), ORIGIN, edited, Some(head.clone())).unwrap_err(),
            Error::HeadMismatch { size: 8 }
        );
        assert_eq!(
            Witness::new(log, ORIGIN, all[..5].iter().copied(), Some(head)).unwrap_err(),
            Error::HeadBeyondLeaves { size: 8, held: 5 }
        );
    }
}
