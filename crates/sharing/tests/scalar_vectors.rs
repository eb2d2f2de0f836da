//! Known-answer vectors for `symbolon_sharing::scalar`: seeded splits (shares,
//! commitments, digests, public keys) and encodings that must fail to parse.
//!
//! `tests/data/scalar_split.txt` holds one block per case: the ChaCha20 seed,
//! the secret and `(t, n)` are inputs; everything else is the expected output
//! of `split(secret, t, n, ChaCha20Rng::from_seed(seed))`. Regenerate (only
//! after an intended format change) with `SYMBOLON_BLESS_VECTORS=1 cargo test
//! -p symbolon-sharing --test scalar_vectors`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fmt::Write as _;
use std::path::PathBuf;

use curve25519_dalek::{RistrettoPoint, Scalar};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use symbolon_sharing::Error;
use symbolon_sharing::scalar::{self, Commitments, Share};

const SPLIT_FILE: &str = "scalar_split.txt";
const FAIL_SHARES_FILE: &str = "scalar_fail_shares.txt";
const FAIL_COMMITMENTS_FILE: &str = "scalar_fail_commitments.txt";

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn blessing() -> bool {
    std::env::var_os("SYMBOLON_BLESS_VECTORS").is_some()
}

/// The cases frozen in `scalar_split.txt`: `(seed byte, threshold, shares)`.
const CASES: [(u8, usize, usize); 6] = [
    (1, 1, 1),
    (2, 2, 2),
    (3, 2, 3),
    (4, 3, 5),
    (5, 5, 9),
    (6, 10, 16),
];

/// One parsed block of `scalar_split.txt`.
#[derive(Default)]
struct Case {
    seed: Vec<u8>,
    secret: Vec<u8>,
    threshold: usize,
    shares: usize,
    commitments: Vec<u8>,
    digest: Vec<u8>,
    public_key: Vec<u8>,
    share: Vec<Vec<u8>>,
    verification_share: Vec<Vec<u8>>,
}

fn split_case(seed: [u8; 32], secret: &Scalar, t: usize, n: usize) -> (Vec<Share>, Commitments) {
    let mut rng = ChaCha20Rng::from_seed(seed);
    scalar::split(secret, t, n, &mut rng).unwrap()
}

fn render_split_file() -> String {
    let mut out = String::from(
        "# Known-answer vectors for symbolon_sharing::scalar::split (Shamir over the\n\
         # ristretto255 scalar field with Feldman commitments).\n\
         # Inputs: seed (ChaCha20Rng::from_seed), secret (canonical scalar, little-endian),\n\
         # threshold, shares. Outputs: commitments (version || t || t x compressed point),\n\
         # digest (Commitments::digest), public_key (A_0 compressed), then per share in\n\
         # index order: share (version || index || scalar) and verification_share (s_i G).\n",
    );
    for (seed_byte, t, n) in CASES {
        let seed = [seed_byte; 32];
        let secret = Scalar::from_bytes_mod_order(*blake3::hash(&[b's', seed_byte]).as_bytes());
        let (shares, commitments) = split_case(seed, &secret, t, n);
        writeln!(out).unwrap();
        writeln!(out, "seed = {}", hex::encode(seed)).unwrap();
        writeln!(out, "secret = {}", hex::encode(secret.to_bytes())).unwrap();
        writeln!(out, "threshold = {t}").unwrap();
        writeln!(out, "shares = {n}").unwrap();
        writeln!(out, "commitments = {}", hex::encode(commitments.to_bytes())).unwrap();
        writeln!(out, "digest = {}", hex::encode(commitments.digest())).unwrap();
        writeln!(
            out,
            "public_key = {}",
            hex::encode(commitments.public_key().compress().as_bytes())
        )
        .unwrap();
        for share in &shares {
            writeln!(out, "share = {}", hex::encode(*share.to_bytes())).unwrap();
            writeln!(
                out,
                "verification_share = {}",
                hex::encode(share.verification_share().compress().as_bytes())
            )
            .unwrap();
        }
    }
    out
}

fn parse_split_file(text: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    let mut current: Option<Case> = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') {
            continue;
        }
        if line.is_empty() {
            cases.extend(current.take());
            continue;
        }
        let (key, value) = line.split_once(" = ").expect("key = value");
        let case = current.get_or_insert_with(Case::default);
        match key {
            "seed" => case.seed = hex::decode(value).unwrap(),
            "secret" => case.secret = hex::decode(value).unwrap(),
            "threshold" => case.threshold = value.parse().unwrap(),
            "shares" => case.shares = value.parse().unwrap(),
            "commitments" => case.commitments = hex::decode(value).unwrap(),
            "digest" => case.digest = hex::decode(value).unwrap(),
            "public_key" => case.public_key = hex::decode(value).unwrap(),
            "share" => case.share.push(hex::decode(value).unwrap()),
            "verification_share" => case.verification_share.push(hex::decode(value).unwrap()),
            other => panic!("unknown key {other}"),
        }
    }
    cases.extend(current);
    cases
}

#[test]
fn split_vectors() {
    let path = data(SPLIT_FILE);
    if blessing() {
        std::fs::write(&path, render_split_file()).unwrap();
    }
    let cases = parse_split_file(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(cases.len(), CASES.len());
    for case in &cases {
        let seed: [u8; 32] = case.seed.as_slice().try_into().unwrap();
        let secret =
            Scalar::from_canonical_bytes(case.secret.as_slice().try_into().unwrap()).unwrap();
        let (t, n) = (case.threshold, case.shares);
        assert_eq!((case.share.len(), case.verification_share.len()), (n, n));

        // The split reproduces every byte.
        let (shares, commitments) = split_case(seed, &secret, t, n);
        assert_eq!(
            commitments.to_bytes(),
            case.commitments,
            "commitments, t={t} n={n}"
        );
        assert_eq!(
            commitments.digest().as_slice(),
            case.digest,
            "digest, t={t} n={n}"
        );
        assert_eq!(
            commitments.public_key().compress().as_bytes(),
            case.public_key.as_slice()
        );
        for ((share, encoded), y) in shares.iter().zip(&case.share).zip(&case.verification_share) {
            assert_eq!(
                share.to_bytes().as_slice(),
                encoded.as_slice(),
                "share {}",
                share.index()
            );
            assert_eq!(
                share.verification_share().compress().as_bytes(),
                y.as_slice()
            );
        }

        // The frozen encodings decode, verify and recombine on their own.
        let decoded = Commitments::from_bytes(&case.commitments).unwrap();
        assert_eq!(decoded.public_key(), RistrettoPoint::mul_base(&secret));
        let decoded_shares: Vec<Share> = case
            .share
            .iter()
            .map(|b| Share::from_bytes(b).unwrap())
            .collect();
        for (share, y) in decoded_shares.iter().zip(&case.verification_share) {
            scalar::verify(share, &decoded).unwrap();
            assert_eq!(
                decoded
                    .verification_share(share.index())
                    .unwrap()
                    .compress()
                    .as_bytes(),
                y.as_slice()
            );
        }
        let rebuilt = scalar::combine_verified(&decoded_shares[n - t..], &decoded).unwrap();
        assert_eq!(*rebuilt.expose_secret(), secret);
    }
}

/// Reads a `scalar_fail_*` file: one hex encoding (or `(empty)`) per
/// non-comment line, each with the expected error after `#`.
fn fail_lines(name: &str) -> Vec<(Vec<u8>, String)> {
    std::fs::read_to_string(data(name))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (hex_part, expected) = l.split_once('#').expect("hex # expected error");
            let hex_part = hex_part.trim();
            let bytes = if hex_part == "(empty)" {
                Vec::new()
            } else {
                hex::decode(hex_part).unwrap()
            };
            (bytes, expected.trim().to_owned())
        })
        .collect()
}

#[test]
fn malformed_shares_fail_to_parse() {
    let lines = fail_lines(FAIL_SHARES_FILE);
    assert!(lines.len() >= 8);
    for (bytes, expected) in lines {
        let err = Share::from_bytes(&bytes).unwrap_err();
        assert_eq!(
            format!("{err:?}"),
            expected,
            "input {}",
            hex::encode(&bytes)
        );
    }
}

#[test]
fn malformed_commitments_fail_to_parse() {
    let lines = fail_lines(FAIL_COMMITMENTS_FILE);
    assert!(lines.len() >= 8);
    for (bytes, expected) in lines {
        let err = Commitments::from_bytes(&bytes).unwrap_err();
        assert!(matches!(err, Error::MalformedCommitments { .. }));
        assert_eq!(
            format!("{err:?}"),
            expected,
            "input {}",
            hex::encode(&bytes)
        );
    }
}
