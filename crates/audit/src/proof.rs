//! Proof verification, written from RFC 9162 §2.1.3.2 (inclusion) and
//! §2.1.4.2 (consistency).
//!
//! Both verifiers first check that the proof has exactly the number of
//! hashes the RFC's algorithm consumes for the claimed sizes, so a wrong
//! length is reported as [`Error::WrongProofLength`] rather than as a root
//! mismatch. They never panic, whatever the input.

use crate::Error;
use crate::hash::{EMPTY_ROOT, NodeHash, node_hash};

/// Shifts `f` and `s` right together until `f` is odd or zero
/// (RFC 9162 §2.1.3.2 step 4.b.ii, §2.1.4.2 step 6.b.iii).
fn shift_to_odd(f: &mut u64, s: &mut u64) {
    while *f & 1 == 0 && *f != 0 {
        *f >>= 1;
        *s >>= 1;
    }
}

/// How many hashes the RFC 9162 loop consumes starting from `(fn, sn)`:
/// one per iteration until `sn` reaches 0.
fn path_len(mut f: u64, mut s: u64) -> usize {
    let mut n = 0;
    while s != 0 {
        if f & 1 == 1 || f == s {
            shift_to_odd(&mut f, &mut s);
        }
        f >>= 1;
        s >>= 1;
        n += 1;
    }
    n
}

/// The number of hashes in an inclusion proof for leaf `index` in a tree of
/// `size` leaves.
///
/// # Errors
///
/// [`Error::EmptyTree`] if `size` is 0, [`Error::IndexOutOfRange`] if
/// `index >= size`.
pub fn inclusion_proof_len(index: u64, size: u64) -> Result<usize, Error> {
    if size == 0 {
        return Err(Error::EmptyTree);
    }
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    Ok(path_len(index, size - 1))
}

/// The number of hashes in a consistency proof from `old_size` to
/// `new_size` (0 when `old_size` is 0 or equals `new_size`).
///
/// # Errors
///
/// [`Error::OldSizeLarger`] if `old_size > new_size`.
pub fn consistency_proof_len(old_size: u64, new_size: u64) -> Result<usize, Error> {
    if old_size > new_size {
        return Err(Error::OldSizeLarger { old_size, new_size });
    }
    if old_size == 0 || old_size == new_size {
        return Ok(0);
    }
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // The path the loop walks starts with one seed hash, which the verifier
    // supplies itself (the old root) when `old_size` is a power of two.
    let seed_given = usize::from(!old_size.is_power_of_two());
    Ok(path_len(f, s) + seed_given)
}

/// Verifies that `leaf_hash` is the leaf at `index` in the tree of `size`
/// leaves whose root is `root` (RFC 9162 §2.1.3.2).
///
/// # Errors
///
/// [`Error::EmptyTree`] if `size` is 0, [`Error::IndexOutOfRange`] if
/// `index >= size`, [`Error::WrongProofLength`] if the proof does not have
/// the number of hashes these sizes need, [`Error::InclusionMismatch`] if
/// the proof does not lead to `root`.
///
/// # Security
///
/// `leaf_hash` must be computed by the verifier from the entry it holds
/// (see [`crate::leaf_hash`]); a leaf hash taken from the prover proves
/// nothing about the entry. An RFC 9162 proof does not encode the tree
/// size: some other sizes give the same path shape, so `size` and `root`
/// must both come from one verified [`crate::SignedTreeHead`].
pub fn verify_inclusion(
    leaf_hash: &NodeHash,
    index: u64,
    size: u64,
    proof: &[NodeHash],
    root: &NodeHash,
) -> Result<(), Error> {
    let expected = inclusion_proof_len(index, size)?;
    let wrong_length = Error::WrongProofLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    // Steps 2-3.
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf_hash;
    // Step 4.
    for p in proof {
        if s == 0 {
            return Err(wrong_length);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            shift_to_odd(&mut f, &mut s);
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    // Step 5.
    if s != 0 {
        return Err(wrong_length);
    }
    if r != *root {
        return Err(Error::InclusionMismatch { index, size });
    }
    Ok(())
}

/// Verifies that the tree of `old_size` leaves with root `old_root` is a
/// prefix of the tree of `new_size` leaves with root `new_root`
/// (RFC 9162 §2.1.4.2).
///
/// Edge cases the RFC leaves to the caller: when `old_size == new_size` the
/// proof must be empty and the roots equal; when `old_size` is 0 the proof
/// must be empty and `old_root` must be the empty-tree hash (every tree
/// extends the empty tree).
///
/// # Errors
///
/// [`Error::OldSizeLarger`] if `old_size > new_size`,
/// [`Error::WrongProofLength`] if the proof does not have the number of
/// hashes these sizes need, [`Error::OldRootMismatch`] /
/// [`Error::NewRootMismatch`] if the proof does not reproduce the roots.
///
/// # Security
///
/// A custodian keeps the last tree head it accepted and accepts a new one
/// only when this check passes: this is what rules out split views and
/// rewritten history (DESIGN §8).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &NodeHash,
    new_root: &NodeHash,
    proof: &[NodeHash],
) -> Result<(), Error> {
    let expected = consistency_proof_len(old_size, new_size)?;
    let wrong_length = Error::WrongProofLength {
        expected,
        actual: proof.len(),
    };
    if proof.len() != expected {
        return Err(wrong_length);
    }
    if old_size == 0 {
        if *old_root != EMPTY_ROOT {
            return Err(Error::OldRootMismatch { old_size, new_size });
        }
        return Ok(());
    }
    if old_size == new_size {
        if old_root != new_root {
            return Err(Error::NewRootMismatch { old_size, new_size });
        }
        return Ok(());
    }
    // Step 2: a power-of-two old tree is itself a node of the new tree; its
    // root seeds the path.
    let seed: &[NodeHash] = if old_size.is_power_of_two() {
        core::slice::from_ref(old_root)
    } else {
        &[]
    };
    let mut path = seed.iter().chain(proof);
    // Step 1 (an empty path) cannot happen after the length check; refuse anyway.
    let Some(first) = path.next() else {
        return Err(wrong_length);
    };
    // Steps 3-4.
    let (mut f, mut s) = (old_size - 1, new_size - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (*first, *first);
    // Step 6.
    for c in path {
        if s == 0 {
            return Err(wrong_length);
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            shift_to_odd(&mut f, &mut s);
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    // Step 7.
    if s != 0 {
        return Err(wrong_length);
    }
    if fr != *old_root {
        return Err(Error::OldRootMismatch { old_size, new_size });
    }
    if sr != *new_root {
        return Err(Error::NewRootMismatch { old_size, new_size });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::tree::Tree;

    #[test]
    fn lengths_match_what_the_tree_produces() {
        let tree = Tree::from_leaf_hashes((0u32..40).map(|i| leaf_hash(&i.to_le_bytes())));
        for size in 1..=40 {
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).unwrap();
                assert_eq!(inclusion_proof_len(index, size).unwrap(), proof.len());
            }
            for old in 0..=size {
                let proof = tree.consistency_proof(old, size).unwrap();
                assert_eq!(consistency_proof_len(old, size).unwrap(), proof.len());
            }
        }
    }

    #[test]
    fn extreme_sizes_do_not_panic() {
        let h = leaf_hash(b"x");
        let proof = vec![h; 64];
        for (index, size) in [(0, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX)] {
            assert!(matches!(
                verify_inclusion(&h, index, size, &proof, &h),
                Err(Error::InclusionMismatch { .. } | Error::WrongProofLength { .. })
            ));
        }
        for (old, new) in [(1, u64::MAX), (u64::MAX - 1, u64::MAX), (1 << 63, u64::MAX)] {
            assert!(verify_consistency(old, new, &h, &h, &proof).is_err());
        }
        assert_eq!(
            verify_inclusion(&h, u64::MAX, u64::MAX, &[], &h),
            Err(Error::IndexOutOfRange {
                index: u64::MAX,
                size: u64::MAX
            })
        );
    }

    #[test]
    fn trivial_consistency_cases() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        assert_eq!(verify_consistency(0, 5, &EMPTY_ROOT, &a, &[]), Ok(()));
        assert_eq!(
            verify_consistency(0, 5, &a, &a, &[]),
            Err(Error::OldRootMismatch {
                old_size: 0,
                new_size: 5
            })
        );
        assert_eq!(
            verify_consistency(0, 5, &EMPTY_ROOT, &a, &[b]),
            Err(Error::WrongProofLength {
                expected: 0,
                actual: 1
            })
        );
        assert_eq!(verify_consistency(3, 3, &a, &a, &[]), Ok(()));
        assert_eq!(
            verify_consistency(3, 3, &a, &b, &[]),
            Err(Error::NewRootMismatch {
                old_size: 3,
                new_size: 3
            })
        );
        assert_eq!(
            verify_consistency(4, 3, &a, &b, &[]),
            Err(Error::OldSizeLarger {
                old_size: 4,
                new_size: 3
            })
        );
    }
}
