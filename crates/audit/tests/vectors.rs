//! Known-answer vectors.
//!
//! The Merkle vectors are the RFC 6962 test tree of the
//! certificate-transparency test suite as published in
//! transparency-dev/merkle `testonly/constants.go` (leaf inputs, every
//! perfect subtree hash, the root at every size 0..=8); the proofs listed
//! below are the well-known ones of that suite and follow from the subtree
//! hashes by RFC 9162 §2.1.3.1 / §2.1.4.1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use ed25519_dalek::SigningKey;
use symbolon_audit::{
    EMPTY_ROOT, Entry, EventKind, NodeHash, NoteKey, SignedTreeHead, Tree, TreeHead,
    verify_consistency, verify_inclusion,
};

fn h(s: &str) -> NodeHash {
    NodeHash::from_bytes(hex::decode(s).unwrap().try_into().unwrap())
}

const LEAVES: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Perfect subtree hashes by level (transparency-dev `NodeHashes()`).
const NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

fn reference_tree() -> Tree {
    let mut tree = Tree::new();
    for leaf in LEAVES {
        tree.append_entry(&hex::decode(leaf).unwrap());
    }
    tree
}

#[test]
fn roots_at_every_size() {
    let tree = reference_tree();
    assert_eq!(EMPTY_ROOT, h(ROOTS[0]));
    for (size, root) in ROOTS.iter().enumerate() {
        assert_eq!(tree.root(size as u64).unwrap(), h(root), "size {size}");
    }
}

#[test]
fn perfect_subtrees_are_the_published_node_hashes() {
    let tree = reference_tree();
    for (i, node) in NODES[0].iter().enumerate() {
        assert_eq!(tree.leaf(i as u64).unwrap(), h(node));
    }
    // A perfect subtree of 2^k leaves is the root of a tree of that size
    // when it starts at 0, and the first inclusion-path element otherwise.
    for (level, nodes) in NODES.iter().enumerate() {
        assert_eq!(tree.root(1 << level).unwrap(), h(nodes[0]));
    }
}

#[test]
fn inclusion_vectors() {
    let tree = reference_tree();
    let cases: &[(u64, u64, &[&str])] = &[
        (0, 1, &[]),
        (0, 8, &[NODES[0][1], NODES[1][1], NODES[2][1]]),
        (5, 8, &[NODES[0][4], NODES[1][3], NODES[2][0]]),
        (2, 3, &[NODES[1][0]]),
        (1, 5, &[NODES[0][0], NODES[1][1], NODES[0][4]]),
    ];
    for &(index, size, expected) in cases {
        let expected: Vec<_> = expected.iter().map(|s| h(s)).collect();
        assert_eq!(
            tree.inclusion_proof(index, size).unwrap(),
            expected,
            "{index} in {size}"
        );
        let leaf = tree.leaf(index).unwrap();
        verify_inclusion(&leaf, index, size, &expected, &h(ROOTS[size as usize])).unwrap();
    }
    // The well-known literal forms.
    assert_eq!(
        NODES[0][1],
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
    );
    assert_eq!(
        NODES[2][1],
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
    );
}

#[test]
fn consistency_vectors() {
    let tree = reference_tree();
    let cases: &[(u64, u64, &[&str])] = &[
        (1, 1, &[]),
        (1, 8, &[NODES[0][1], NODES[1][1], NODES[2][1]]),
        (6, 8, &[NODES[1][2], NODES[1][3], NODES[2][0]]),
        (2, 5, &[NODES[1][1], NODES[0][4]]),
    ];
    for &(old, new, expected) in cases {
        let expected: Vec<_> = expected.iter().map(|s| h(s)).collect();
        assert_eq!(
            tree.consistency_proof(old, new).unwrap(),
            expected,
            "{old} -> {new}"
        );
        verify_consistency(
            old,
            new,
            &h(ROOTS[old as usize]),
            &h(ROOTS[new as usize]),
            &expected,
        )
        .unwrap();
    }
}

/// The signed tree head of the reference tree under fixed keys. Ed25519 is
/// deterministic, so the whole note is a known answer; it is frozen in
/// `tests/data/checkpoint.note`.
#[test]
fn checkpoint_known_answer() {
    let log_key = SigningKey::from_bytes(&[1; 32]);
    let witness_key = SigningKey::from_bytes(&[2; 32]);
    let head = TreeHead {
        size: 8,
        root_hash: h(ROOTS[8]),
        timestamp_ms: 1_700_000_000_000,
    };
    let mut signed = head
        .sign("symbolon.example/log", "symbolon.example/log", &log_key)
        .unwrap();
    signed.cosign("witness.example/w1", &witness_key).unwrap();
    let note = signed.to_note();
    assert!(note.starts_with(
        "symbolon.example/log\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\ntimestamp_ms 1700000000000\n\n\u{2014} symbolon.example/log "
    ));
    let frozen = include_str!("data/checkpoint.note");
    assert_eq!(note, frozen);
    let parsed = SignedTreeHead::parse(frozen).unwrap();
    let log = NoteKey::new("symbolon.example/log", log_key.verifying_key()).unwrap();
    assert_eq!(*parsed.verify(&log).unwrap(), head);
    let witness = NoteKey::new("witness.example/w1", witness_key.verifying_key()).unwrap();
    assert_eq!(
        parsed.count_valid_cosignatures(std::slice::from_ref(&witness)),
        1
    );
    // Key ids and both signatures were checked independently with Python's
    // hashlib and `cryptography` (OpenSSL Ed25519) when the note was frozen.
    assert_eq!(log.key_id(), [0x5a, 0x54, 0x7f, 0xbf]);
    assert_eq!(witness.key_id(), [0x9e, 0x22, 0x51, 0x79]);
}

/// Every `tests/data/fail_*.note` must be refused by the parser.
#[test]
fn fail_notes_are_refused() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut seen = 0;
    for file in std::fs::read_dir(dir).unwrap() {
        let path = file.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("fail_") && name.ends_with(".note") {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(SignedTreeHead::parse(&text).is_err(), "{name} parsed");
            seen += 1;
        }
    }
    assert!(seen >= 3);
}

/// A full entry, frozen in `tests/data/entry_v1.hex`.
#[test]
fn entry_known_answer() {
    let mut entry = Entry::new(EventKind::RequestCompleted, 1_700_000_000_123, "alice");
    entry.key_id = Some("payments".into());
    entry.key_version = Some(3);
    entry.request_digest = Some([0xab; 32]);
    entry.custodians = vec!["c1".into(), "c2".into(), "c3".into()];
    entry.outcome = Some("ok".into());
    entry.detail = Some("sign, 3 of 5".into());
    let encoded = hex::encode(entry.encode().unwrap());
    let frozen = include_str!("data/entry_v1.hex").trim();
    assert_eq!(encoded, frozen);
    assert_eq!(Entry::decode(&hex::decode(frozen).unwrap()).unwrap(), entry);
    let json = serde_json::to_value(&entry).unwrap();
    assert_eq!(json["event"], "request.completed");
    assert_eq!(json["request_digest"], "ab".repeat(32));
    let back: Entry = serde_json::from_value(json).unwrap();
    assert_eq!(back, entry);
}
