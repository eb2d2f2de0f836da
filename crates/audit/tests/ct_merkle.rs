//! Differential test against `ct-merkle` 0.3, an independent RFC 6962
//! implementation (it says it is not audited; it is a cross-check here, not a
//! reference).
//!
//! For every tree size 1..=70, after each append, both trees are compared on:
//! * the root hash;
//! * the inclusion proof of every index (byte for byte: both use the RFC 9162
//!   proof layout, a concatenation of hashes leaf-first), and each side's
//!   verifier accepts the other side's proof;
//! * the consistency proof from every old size 1..size to size (byte for
//!   byte), and each side's verifier accepts the other side's proof.
//!
//! Roots at past sizes from our tree are checked against the roots ct-merkle
//! had at those sizes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use sha2::Sha256;
use symbolon_audit::{NodeHash, Tree, leaf_hash, verify_consistency, verify_inclusion};

const MAX_SIZE: u64 = 70;

fn entry(i: u64) -> Vec<u8> {
    // Entries of varying length, including the empty one.
    (0..(i % 7) * 3).map(|j| (i * 31 + j) as u8).collect()
}

fn bytes(hashes: &[NodeHash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.to_bytes()).collect()
}

fn hashes(bytes: &[u8]) -> Vec<NodeHash> {
    bytes
        .chunks_exact(32)
        .map(|c| NodeHash::from_bytes(c.try_into().unwrap()))
        .collect()
}

fn ct_root(hash: &NodeHash, size: u64) -> RootHash<Sha256> {
    RootHash::new(hash.to_bytes().into(), size)
}

#[test]
fn agrees_with_ct_merkle_at_every_size_index_and_old_size() {
    let mut theirs = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    let mut ours = Tree::new();
    let mut their_roots: Vec<NodeHash> = Vec::new();
    let mut compared = (0usize, 0usize);

    for i in 0..MAX_SIZE {
        theirs.push(entry(i));
        ours.append_entry(&entry(i));
        let size = i + 1;
        assert_eq!(ours.size(), size);
        assert_eq!(theirs.len(), size);

        let their_root = theirs.root();
        let root = NodeHash::from_bytes(their_root.as_bytes().as_slice().try_into().unwrap());
        assert_eq!(ours.current_root(), root, "root at size {size}");
        their_roots.push(root);

        for index in 0..size {
            let their_proof = theirs.prove_inclusion(index as usize);
            let our_proof = ours.inclusion_proof(index, size).unwrap();
            assert_eq!(
                bytes(&our_proof),
                their_proof.as_bytes(),
                "inclusion proof of {index} in {size}"
            );
            // Our verifier on their proof, theirs on ours.
            verify_inclusion(
                &leaf_hash(&entry(index)),
                index,
                size,
                &hashes(their_proof.as_bytes()),
                &root,
            )
            .unwrap();
            let ours_as_theirs =
                InclusionProof::<Sha256>::try_from_bytes(bytes(&our_proof)).unwrap();
            their_root
                .verify_inclusion(&entry(index), index, &ours_as_theirs)
                .unwrap();
            compared.0 += 1;
        }

        for old in 1..size {
            let their_proof = theirs.prove_consistency((size - old) as usize);
            let our_proof = ours.consistency_proof(old, size).unwrap();
            assert_eq!(
                bytes(&our_proof),
                their_proof.as_bytes(),
                "consistency proof {old} -> {size}"
            );
            let old_root = their_roots[(old - 1) as usize];
            verify_consistency(old, size, &old_root, &root, &hashes(their_proof.as_bytes()))
                .unwrap();
            let ours_as_theirs =
                ConsistencyProof::<Sha256>::try_from_bytes(bytes(&our_proof)).unwrap();
            their_root
                .verify_consistency(&ct_root(&old_root, old), &ours_as_theirs)
                .unwrap();
            compared.1 += 1;
        }
    }

    // Past sizes, answered by the full tree, match what ct-merkle said then.
    for (k, root) in their_roots.iter().enumerate() {
        assert_eq!(ours.root(k as u64 + 1).unwrap(), *root);
    }
    // 70·71/2 inclusion proofs, 69·70/2 consistency proofs.
    assert_eq!(compared, (2485, 2415));
}

#[test]
fn ct_merkle_refuses_our_proofs_for_the_wrong_leaf() {
    let mut theirs = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    let mut ours = Tree::new();
    for i in 0..13 {
        theirs.push(entry(i));
        ours.append_entry(&entry(i));
    }
    let proof =
        InclusionProof::<Sha256>::try_from_bytes(bytes(&ours.inclusion_proof(5, 13).unwrap()))
            .unwrap();
    assert!(
        theirs
            .root()
            .verify_inclusion(&entry(6), 5, &proof)
            .is_err()
    );
    assert!(theirs.root().verify_inclusion(&entry(5), 5, &proof).is_ok());
}
