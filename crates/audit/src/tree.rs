//! The append-only Merkle tree of RFC 9162 §2.1 and the proofs it serves.
//!
//! # Construction
//!
//! RFC 9162 §2.1.1 defines the Merkle Tree Hash of `n` leaves recursively:
//! `MTH({}) = SHA-256()`, `MTH({d0}) = SHA-256(0x00 ‖ d0)`, and for `n > 1`,
//! with `k` the largest power of two smaller than `n`,
//! `MTH(D[n]) = SHA-256(0x01 ‖ MTH(D[0:k]) ‖ MTH(D[k:n]))`.
//!
//! Every node that this recursion visits for any tree size is either a
//! *perfect* subtree — `2^h` leaves starting at a multiple of `2^h` — or the
//! right edge `D[a:n]` of the tree, which is itself the right-to-left fold of
//! the perfect subtrees given by the binary digits of `n - a`. [`Tree`]
//! therefore stores every perfect subtree hash once, level by level, as the
//! leaves arrive (amortised one node hash per append, about `2n` hashes of
//! memory). Then:
//!
//! * `root(size)` folds the `popcount(size)` perfect subtrees: O(log n);
//! * `inclusion_proof(index, size)` walks the RFC 9162 §2.1.3.1 `PATH`
//!   recursion top-down; every sibling is a stored perfect subtree except at
//!   most one right-edge node: O(log n);
//! * `consistency_proof(old, new)` walks RFC 9162 §2.1.4.1 `SUBPROOF` the same
//!   way: O(log n).
//!
//! Past sizes are answered from the same store: a perfect subtree of a
//! smaller tree is a perfect subtree of the bigger one.
//!
//! Proofs are lists of [`NodeHash`]es in the order RFC 9162 gives them
//! (deepest first), so they are byte-compatible with other RFC 6962 logs.

use crate::Error;
use crate::hash::{EMPTY_ROOT, NodeHash, leaf_hash, node_hash};

/// An in-memory append-only Merkle tree over leaf hashes.
///
/// It holds leaf hashes only, never entries: a store can persist the leaf
/// hashes and rebuild the tree with [`Tree::from_leaf_hashes`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Tree {
    /// `levels[h][i]` is the hash of the perfect subtree of `2^h` leaves
    /// starting at leaf `i·2^h`. `levels[0]` are the leaf hashes.
    levels: Vec<Vec<NodeHash>>,
    /// Number of leaves.
    size: u64,
}

impl core::fmt::Debug for Tree {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tree")
            .field("size", &self.size)
            .field("root", &self.current_root())
            .finish()
    }
}

/// The largest power of two strictly smaller than `n`, for `n >= 2`
/// (the `k` of RFC 9162 §2.1.1).
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

impl Tree {
    /// An empty tree.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a tree from its leaf hashes, in log order.
    pub fn from_leaf_hashes<I: IntoIterator<Item = NodeHash>>(leaves: I) -> Self {
        let mut tree = Self::new();
        for leaf in leaves {
            tree.append(leaf);
        }
        tree
    }

    /// Number of leaves.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Whether the tree has no leaves.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// Appends a leaf hash (see [`crate::leaf_hash`]) and returns its index.
    pub fn append(&mut self, leaf: NodeHash) -> u64 {
        let index = self.size;
        let mut hash = leaf;
        let mut position = index;
        let mut height = 0usize;
        loop {
            if self.levels.len() <= height {
                self.levels.push(Vec::new());
            }
            let Some(level) = self.levels.get_mut(height) else {
                // Unreachable: the level was created just above.
                break;
            };
            level.push(hash);
            // A right child completes its parent.
            if position & 1 == 0 {
                break;
            }
            let [.., left, right] = level.as_slice() else {
                break;
            };
            hash = node_hash(left, right);
            position >>= 1;
            height += 1;
        }
        self.size += 1;
        index
    }

    /// Drops every leaf from index `size` on, as if they had never been
    /// appended (a caller undoing appends whose storage failed). A `size`
    /// at or beyond the current size changes nothing.
    pub fn truncate(&mut self, size: u64) {
        if size >= self.size {
            return;
        }
        for (height, level) in self.levels.iter_mut().enumerate() {
            // Perfect subtrees of 2^height leaves that end at or before `size`.
            let keep = usize::try_from(size >> height).unwrap_or(usize::MAX);
            level.truncate(keep);
        }
        while self.levels.last().is_some_and(Vec::is_empty) {
            self.levels.pop();
        }
        self.size = size;
    }

    /// Hashes `entry` as a leaf (`SHA-256(0x00 ‖ entry)`), appends it and
    /// returns its index.
    pub fn append_entry(&mut self, entry: &[u8]) -> u64 {
        self.append(leaf_hash(entry))
    }

    /// The leaf hash at `index`, if there is one.
    #[must_use]
    pub fn leaf(&self, index: u64) -> Option<NodeHash> {
        self.perfect(0, index)
    }

    /// The root of the tree as it is now.
    #[must_use]
    pub fn current_root(&self) -> NodeHash {
        // Cannot fail: every perfect subtree of the current size is stored.
        self.subtree(0, self.size).unwrap_or(EMPTY_ROOT)
    }

    /// The root of the tree as it was when it had `size` leaves
    /// (`MTH(D[0:size])`, RFC 9162 §2.1.1). O(log n).
    ///
    /// # Errors
    ///
    /// [`Error::SizeOutOfRange`] if `size` is larger than the tree.
    pub fn root(&self, size: u64) -> Result<NodeHash, Error> {
        self.check_size(size)?;
        self.subtree(0, size).ok_or(Error::SizeOutOfRange {
            size,
            tree_size: self.size,
        })
    }

    /// The inclusion proof (audit path, RFC 9162 §2.1.3.1) of leaf `index`
    /// in the tree of size `size`. O(log n).
    ///
    /// # Errors
    ///
    /// [`Error::SizeOutOfRange`] if `size` is larger than the tree,
    /// [`Error::EmptyTree`] if `size` is 0, [`Error::IndexOutOfRange`] if
    /// `index >= size`.
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<NodeHash>, Error> {
        self.check_size(size)?;
        if size == 0 {
            return Err(Error::EmptyTree);
        }
        if index >= size {
            return Err(Error::IndexOutOfRange { index, size });
        }
        let missing = Error::SizeOutOfRange {
            size,
            tree_size: self.size,
        };
        // PATH(m, D[lo:hi]) unrolled top-down; the siblings come out
        // root-first, RFC 9162 lists them leaf-first.
        let mut proof = Vec::with_capacity(64);
        let (mut lo, mut hi) = (0u64, size);
        while hi - lo > 1 {
            let mid = lo + split_point(hi - lo);
            if index < mid {
                proof.push(self.subtree(mid, hi).ok_or(missing.clone())?);
                hi = mid;
            } else {
                proof.push(self.subtree(lo, mid).ok_or(missing.clone())?);
                lo = mid;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// The consistency proof (RFC 9162 §2.1.4.1) that the tree of size
    /// `old_size` is a prefix of the tree of size `new_size`. O(log n).
    ///
    /// The proof is empty when `old_size` is 0 or equal to `new_size`
    /// (RFC 9162 defines proofs for `0 < old_size < new_size` only; in the two
    /// edge cases nothing beyond the roots is needed).
    ///
    /// # Errors
    ///
    /// [`Error::SizeOutOfRange`] if `new_size` is larger than the tree,
    /// [`Error::OldSizeLarger`] if `old_size > new_size`.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<NodeHash>, Error> {
        self.check_size(new_size)?;
        if old_size > new_size {
            return Err(Error::OldSizeLarger { old_size, new_size });
        }
        if old_size == 0 || old_size == new_size {
            return Ok(Vec::new());
        }
        let missing = Error::SizeOutOfRange {
            size: new_size,
            tree_size: self.size,
        };
        // SUBPROOF(m, D[lo:hi], b) unrolled top-down, m = old_size - lo.
        let mut proof = Vec::with_capacity(64);
        let (mut lo, mut hi, mut whole_old_tree) = (0u64, new_size, true);
        loop {
            let n = hi - lo;
            let m = old_size - lo;
            if m == n {
                // The old tree's own root is known to the verifier; any other
                // node on the old edge must be given.
                if !whole_old_tree {
                    proof.push(self.subtree(lo, hi).ok_or(missing)?);
                }
                break;
            }
            let mid = lo + split_point(n);
            if m <= mid - lo {
                proof.push(self.subtree(mid, hi).ok_or(missing.clone())?);
                hi = mid;
            } else {
                proof.push(self.subtree(lo, mid).ok_or(missing.clone())?);
                lo = mid;
                whole_old_tree = false;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    fn check_size(&self, size: u64) -> Result<(), Error> {
        if size > self.size {
            return Err(Error::SizeOutOfRange {
                size,
                tree_size: self.size,
            });
        }
        Ok(())
    }

    /// The stored hash of the perfect subtree of height `height` with
    /// position `position` on its level.
    fn perfect(&self, height: u32, position: u64) -> Option<NodeHash> {
        let level = self.levels.get(usize::try_from(height).ok()?)?;
        level.get(usize::try_from(position).ok()?).copied()
    }

    /// `MTH(D[start:end])` for a node of the RFC recursion: `start` is a
    /// multiple of the largest power of two not above `end - start`. The
    /// range splits into perfect subtrees by the binary digits of its length
    /// (largest first); the RFC recursion folds them right to left.
    fn subtree(&self, start: u64, end: u64) -> Option<NodeHash> {
        if end <= start {
            return (end == start).then_some(EMPTY_ROOT);
        }
        let mut remaining = end - start;
        let mut right_end = end;
        let mut acc: Option<NodeHash> = None;
        while remaining != 0 {
            let height = remaining.trailing_zeros();
            let width = 1u64 << height;
            let first = right_end - width;
            let hash = self.perfect(height, first >> height)?;
            acc = Some(match acc {
                None => hash,
                Some(right) => node_hash(&hash, &right),
            });
            right_end = first;
            remaining &= remaining - 1;
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The RFC 9162 §2.1.1 definition, literally, over a slice.
    fn mth(leaves: &[NodeHash]) -> NodeHash {
        match leaves.len() {
            0 => EMPTY_ROOT,
            1 => leaves[0],
            n => {
                let k = split_point(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<NodeHash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn split_point_is_largest_power_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(8), 4);
        assert_eq!(split_point(9), 8);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn roots_match_the_recursive_definition_at_every_past_size() {
        let all = leaves(70);
        let tree = Tree::from_leaf_hashes(all.iter().copied());
        for size in 0..=70 {
            assert_eq!(
                tree.root(size).unwrap(),
                mth(&all[..size as usize]),
                "size {size}"
            );
        }
        assert_eq!(tree.current_root(), mth(&all));
        assert_eq!(
            tree.root(71),
            Err(Error::SizeOutOfRange {
                size: 71,
                tree_size: 70
            })
        );
    }

    #[test]
    fn stored_levels_are_the_perfect_subtrees() {
        let all = leaves(13);
        let tree = Tree::from_leaf_hashes(all.iter().copied());
        for (height, level) in tree.levels.iter().enumerate() {
            let width = 1usize << height;
            assert_eq!(level.len(), 13 / width);
            for (i, hash) in level.iter().enumerate() {
                assert_eq!(*hash, mth(&all[i * width..(i + 1) * width]));
            }
        }
    }

    #[test]
    fn bad_queries_are_refused() {
        let tree = Tree::from_leaf_hashes(leaves(5));
        assert_eq!(tree.inclusion_proof(0, 0), Err(Error::EmptyTree));
        assert_eq!(
            tree.inclusion_proof(5, 5),
            Err(Error::IndexOutOfRange { index: 5, size: 5 })
        );
        assert_eq!(
            tree.inclusion_proof(0, 6),
            Err(Error::SizeOutOfRange {
                size: 6,
                tree_size: 5
            })
        );
        assert_eq!(
            tree.consistency_proof(4, 3),
            Err(Error::OldSizeLarger {
                old_size: 4,
                new_size: 3
            })
        );
        assert_eq!(
            tree.consistency_proof(1, 6),
            Err(Error::SizeOutOfRange {
                size: 6,
                tree_size: 5
            })
        );
        assert_eq!(tree.consistency_proof(0, 5), Ok(vec![]));
        assert_eq!(tree.consistency_proof(5, 5), Ok(vec![]));
        assert_eq!(tree.leaf(5), None);
        assert_eq!(Tree::new().current_root(), EMPTY_ROOT);
    }

    #[test]
    fn truncate_is_the_tree_before_the_appends() {
        for total in [1u64, 2, 3, 7, 8, 9, 33] {
            let mut tree = Tree::new();
            for i in 0..total {
                tree.append_entry(&i.to_be_bytes());
            }
            for size in 0..=total {
                let mut cut = tree.clone();
                cut.truncate(size);
                let mut fresh = Tree::new();
                for i in 0..size {
                    fresh.append_entry(&i.to_be_bytes());
                }
                assert_eq!(cut, fresh, "{total} -> {size}");
                // And it grows again exactly like the original.
                for i in size..total {
                    cut.append_entry(&i.to_be_bytes());
                }
                assert_eq!(cut, tree);
            }
        }
    }
}
