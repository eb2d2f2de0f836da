//! Property tests: inclusion at every later size, consistency between any
//! two sizes, tampering refused, entry encoding canonical.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use proptest::prelude::*;
use symbolon_audit::{
    Entry, Error, EventKind, NodeHash, Tree, leaf_hash, verify_consistency, verify_inclusion,
};

fn tree_of(n: u64, salt: u8) -> Tree {
    Tree::from_leaf_hashes((0..n).map(|i| {
        let mut e = i.to_be_bytes().to_vec();
        e.push(salt);
        leaf_hash(&e)
    }))
}

fn flip(hash: &NodeHash, bit: u8) -> NodeHash {
    let mut bytes = hash.to_bytes();
    bytes[usize::from(bit / 8) % 32] ^= 1 << (bit % 8);
    NodeHash::from_bytes(bytes)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every entry is provably included at every size from its own onward.
    #[test]
    fn included_at_every_later_size(n in 1u64..200, salt: u8, pick: prop::sample::Index) {
        let tree = tree_of(n, salt);
        let index = pick.index(n as usize) as u64;
        let leaf = tree.leaf(index).unwrap();
        for size in index + 1..=n {
            let root = tree.root(size).unwrap();
            let proof = tree.inclusion_proof(index, size).unwrap();
            prop_assert!(proof.len() <= 64 - (size - 1).leading_zeros() as usize + 1);
            verify_inclusion(&leaf, index, size, &proof, &root).unwrap();
        }
    }

    /// Any two sizes are consistent.
    #[test]
    fn consistent_between_any_two_sizes(n in 1u64..300, salt: u8, a: prop::sample::Index, b: prop::sample::Index) {
        let tree = tree_of(n, salt);
        let (x, y) = (a.index(n as usize + 1) as u64, b.index(n as usize + 1) as u64);
        let (old, new) = (x.min(y), x.max(y));
        let proof = tree.consistency_proof(old, new).unwrap();
        verify_consistency(old, new, &tree.root(old).unwrap(), &tree.root(new).unwrap(), &proof).unwrap();
    }

    /// A tampered proof, a wrong index, a wrong size or a wrong root is refused.
    #[test]
    fn tampered_inclusion_is_refused(n in 2u64..200, salt: u8, pick: prop::sample::Index, which: prop::sample::Index, bit: u8) {
        let tree = tree_of(n, salt);
        let index = pick.index(n as usize) as u64;
        let leaf = tree.leaf(index).unwrap();
        let root = tree.current_root();
        let proof = tree.inclusion_proof(index, n).unwrap();

        // A flipped bit anywhere in the proof.
        let mut bad = proof.clone();
        let k = which.index(bad.len());
        bad[k] = flip(&bad[k], bit);
        prop_assert_eq!(verify_inclusion(&leaf, index, n, &bad, &root), Err(Error::InclusionMismatch { index, size: n }));
        // A hash dropped or added.
        let dropped = verify_inclusion(&leaf, index, n, &proof[1..], &root);
        prop_assert!(matches!(dropped, Err(Error::WrongProofLength { .. })), "{:?}", dropped);
        let mut longer = proof.clone();
        longer.push(root);
        let added = verify_inclusion(&leaf, index, n, &longer, &root);
        prop_assert!(matches!(added, Err(Error::WrongProofLength { .. })), "{:?}", added);
        // Wrong leaf, wrong root.
        prop_assert!(verify_inclusion(&flip(&leaf, bit), index, n, &proof, &root).is_err());
        prop_assert!(verify_inclusion(&leaf, index, n, &proof, &flip(&root, bit)).is_err());
        // Wrong index (every other index).
        for other in (0..n).filter(|&o| o != index) {
            prop_assert!(verify_inclusion(&leaf, other, n, &proof, &root).is_err(), "index {}", other);
        }
        // Wrong size: the proof for size n does not verify for any other
        // size, against the root of the log at that size (the log grown to
        // 2n). Against the *same* root a few sizes share the proof's shape
        // (RFC 9162 proofs do not encode the size; the signed tree head binds
        // it), so the root is taken from the claimed size.
        let grown = tree_of(2 * n, salt);
        for other in (index + 1..=2 * n).filter(|&s| s != n) {
            let other_root = grown.root(other).unwrap();
            prop_assert!(verify_inclusion(&leaf, index, other, &proof, &other_root).is_err(), "size {}", other);
        }
    }

    #[test]
    fn tampered_consistency_is_refused(n in 3u64..200, salt: u8, a: prop::sample::Index, which: prop::sample::Index, bit: u8) {
        let tree = tree_of(n, salt);
        let old = 1 + a.index(n as usize - 1) as u64; // 1..n
        let (old_root, new_root) = (tree.root(old).unwrap(), tree.current_root());
        let proof = tree.consistency_proof(old, n).unwrap();
        prop_assert!(!proof.is_empty());

        let mut bad = proof.clone();
        let k = which.index(bad.len());
        bad[k] = flip(&bad[k], bit);
        prop_assert!(verify_consistency(old, n, &old_root, &new_root, &bad).is_err());
        prop_assert!(verify_consistency(old, n, &flip(&old_root, bit), &new_root, &proof).is_err());
        prop_assert_eq!(
            verify_consistency(old, n, &old_root, &flip(&new_root, bit), &proof),
            Err(Error::NewRootMismatch { old_size: old, new_size: n })
        );
        // A different history of the same size is not an extension.
        let other = tree_of(n, salt.wrapping_add(1));
        prop_assert!(verify_consistency(old, n, &old_root, &other.current_root(), &proof).is_err());
        // Wrong sizes, each with the log's real root at that size.
        let grown = tree_of(2 * n, salt);
        for o in (1..n).filter(|&o| o != old) {
            let o_root = grown.root(o).unwrap();
            prop_assert!(verify_consistency(o, n, &o_root, &new_root, &proof).is_err(), "old {}", o);
        }
        for s in (old + 1..=2 * n).filter(|&s| s != n) {
            let s_root = grown.root(s).unwrap();
            prop_assert!(verify_consistency(old, s, &old_root, &s_root, &proof).is_err(), "new {}", s);
        }
    }
}

fn event() -> impl Strategy<Value = EventKind> {
    prop::sample::select(EventKind::ALL.to_vec())
}

fn name() -> impl Strategy<Value = String> {
    prop::string::string_regex("[a-z0-9._@-]{0,20}|\\PC{0,8}").unwrap()
}

prop_compose! {
    fn entry()(
        event in event(),
        time_ms: u64,
        actor in name(),
        key_id in prop::option::of(name()),
        key_version in prop::option::of(any::<u64>()),
        request_digest in prop::option::of(any::<[u8; 32]>()),
        custodians in prop::collection::vec(name(), 0..6),
        outcome in prop::option::of(name()),
        detail in prop::option::of(name()),
    ) -> Entry {
        Entry { version: 1, event, time_ms, actor, key_id, key_version, request_digest, custodians, outcome, detail }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn entry_round_trips(e in entry()) {
        let bytes = e.encode().unwrap();
        prop_assert_eq!(&Entry::decode(&bytes).unwrap(), &e);
        let json = serde_json::to_string(&e).unwrap();
        prop_assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), e);
    }

    /// Every truncation is refused; every single-bit flip is refused or
    /// decodes to a different entry (which then re-encodes to the flipped
    /// bytes: the encoding is canonical).
    #[test]
    fn truncations_and_flips(e in entry()) {
        let bytes = e.encode().unwrap();
        for len in 0..bytes.len() {
            prop_assert!(Entry::decode(&bytes[..len]).is_err(), "prefix of {} bytes", len);
        }
        let mut longer = bytes.clone();
        longer.push(0);
        prop_assert_eq!(Entry::decode(&longer), Err(Error::EntryTrailingBytes { extra: 1 }));
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                if let Ok(other) = Entry::decode(&flipped) {
                    prop_assert_ne!(&other, &e);
                    prop_assert_eq!(other.encode().unwrap(), flipped);
                }
            }
        }
    }

    /// Any byte string that decodes re-encodes to itself.
    #[test]
    fn decode_is_canonical(bytes in prop::collection::vec(any::<u8>(), 0..80)) {
        if let Ok(e) = Entry::decode(&bytes) {
            prop_assert_eq!(e.encode().unwrap(), bytes);
        }
    }
}

#[test]
fn over_long_fields_and_unknown_codes_are_refused() {
    use symbolon_audit::EntryField;
    let mut e = Entry::new(EventKind::KeyCreated, 1, "a".repeat(257));
    assert_eq!(
        e.encode(),
        Err(Error::EntryFieldTooLong {
            field: EntryField::Actor,
            len: 257,
            max: 256
        })
    );
    e.actor = "a".into();
    e.detail = Some("d".repeat(4097));
    assert_eq!(
        e.encode(),
        Err(Error::EntryFieldTooLong {
            field: EntryField::Detail,
            len: 4097,
            max: 4096
        })
    );
    e.detail = None;
    e.custodians = vec!["c".into(); 257];
    assert_eq!(
        e.encode(),
        Err(Error::EntryFieldTooLong {
            field: EntryField::Custodians,
            len: 257,
            max: 256
        })
    );
    e.custodians.clear();
    e.version = 2;
    assert_eq!(e.encode(), Err(Error::UnknownEntryVersion { version: 2 }));
    e.version = 1;

    let good = e.encode().unwrap();
    let mut bad = good.clone();
    bad[0] = 2;
    assert_eq!(
        Entry::decode(&bad),
        Err(Error::UnknownEntryVersion { version: 2 })
    );
    let mut bad = good.clone();
    bad[1..3].copy_from_slice(&0x0999u16.to_be_bytes());
    assert_eq!(
        Entry::decode(&bad),
        Err(Error::UnknownEventCode { code: 0x0999 })
    );
    // Actor length prefix claiming 300 bytes.
    let mut bad = good.clone();
    bad[11..13].copy_from_slice(&300u16.to_be_bytes());
    assert_eq!(
        Entry::decode(&bad),
        Err(Error::EntryFieldTooLong {
            field: EntryField::Actor,
            len: 300,
            max: 256
        })
    );
    // key_id presence byte 2.
    let mut bad = good.clone();
    bad[14] = 2;
    assert_eq!(
        Entry::decode(&bad),
        Err(Error::EntryBadPresence {
            field: EntryField::KeyId,
            tag: 2
        })
    );
    // Invalid UTF-8 in the actor.
    let mut bad = good;
    bad[13] = 0xff;
    assert_eq!(
        Entry::decode(&bad),
        Err(Error::EntryNotUtf8 {
            field: EntryField::Actor
        })
    );
    // JSON refuses unknown fields and events.
    let json = serde_json::to_value(&e).unwrap();
    let mut extra = json.clone();
    extra["secret"] = "x".into();
    assert!(serde_json::from_value::<Entry>(extra).is_err());
    let mut unknown = json.clone();
    unknown["event"] = "key.stolen".into();
    assert!(serde_json::from_value::<Entry>(unknown).is_err());
    // The request digest: 64 lower-case hex digits, one spelling only.
    let mut digest = json;
    digest["request_digest"] = "ab".repeat(32).into();
    let parsed = serde_json::from_value::<Entry>(digest.clone()).unwrap();
    assert_eq!(parsed.request_digest, Some([0xab; 32]));
    assert_eq!(serde_json::to_value(&parsed).unwrap(), digest);
    for bad in ["AB".repeat(32), "ab".repeat(31), "zz".repeat(32)] {
        digest["request_digest"] = bad.into();
        let err = serde_json::from_value::<Entry>(digest.clone()).unwrap_err();
        assert!(err.to_string().contains("64 lower-case hex"), "{err}");
    }
}
