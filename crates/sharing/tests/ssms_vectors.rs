//! Known-answer vectors of the SSMS share format (version 1).
//!
//! `tests/data/ssms_small.txt` holds a whole split (seeded `ChaCha20Rng`,
//! every share's encoding in hex); `tests/data/ssms_large.txt` a split over
//! several segments and stripes, by BLAKE3 digest; every
//! `tests/data/ssms_fail_*.hex` must be refused by `Share::from_bytes`.
//!
//! To regenerate after a deliberate format change (bump the version!):
//! `SYMBOLON_REGENERATE_VECTORS=1 cargo test -p symbolon-sharing --test ssms_vectors`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use symbolon_sharing::Error;
use symbolon_sharing::ssms::{self, Share};

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn regenerate() -> bool {
    std::env::var_os("SYMBOLON_REGENERATE_VECTORS").is_some()
}

/// `key = value` lines (repeated keys kept in order); `#` starts a comment.
fn parse(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (key, value) = line.split_once('=').expect("key = value");
            (key.trim().to_owned(), value.trim().to_owned())
        })
        .collect()
}

fn get<'a>(fields: &'a [(String, String)], key: &str) -> &'a str {
    fields
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("missing {key}"))
}

fn all<'a>(fields: &'a [(String, String)], key: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
        .collect()
}

const SMALL_SEED: [u8; 32] = [0x5a; 32];
const SMALL_SECRET: &[u8] =
    b"Secret Sharing Made Short, H. Krawczyk, CRYPTO '93: encrypt, disperse, share the key.";

fn small_split() -> Vec<Share> {
    ssms::split(SMALL_SECRET, 2, 3, &mut ChaCha20Rng::from_seed(SMALL_SEED)).unwrap()
}

#[test]
fn small_vector() {
    let path = data_dir().join("ssms_small.txt");
    if regenerate() {
        let mut text = String::from(
            "# SSMS share format v1: a 2-of-3 split of `secret` with\n\
             # ChaCha20Rng::from_seed(seed) (the key is drawn first, then the\n\
             # GF(2^8) Shamir coefficients of the key).\n",
        );
        writeln!(text, "seed = {}", hex::encode(SMALL_SEED)).unwrap();
        writeln!(text, "threshold = 2\nshares = 3").unwrap();
        writeln!(text, "secret = {}", hex::encode(SMALL_SECRET)).unwrap();
        for share in small_split() {
            writeln!(text, "share = {}", hex::encode(&*share.to_bytes())).unwrap();
        }
        std::fs::write(&path, text).unwrap();
    }
    let fields = parse(&std::fs::read_to_string(&path).unwrap());
    let seed: [u8; 32] = hex::decode(get(&fields, "seed"))
        .unwrap()
        .try_into()
        .unwrap();
    let t: usize = get(&fields, "threshold").parse().unwrap();
    let n: usize = get(&fields, "shares").parse().unwrap();
    let secret = hex::decode(get(&fields, "secret")).unwrap();
    let encoded: Vec<Vec<u8>> = all(&fields, "share")
        .iter()
        .map(|s| hex::decode(s).unwrap())
        .collect();
    assert_eq!(encoded.len(), n);

    // The stored shares decode, re-encode identically, and combine.
    let shares: Vec<Share> = encoded
        .iter()
        .map(|b| Share::from_bytes(b).unwrap())
        .collect();
    for (share, bytes) in shares.iter().zip(&encoded) {
        assert_eq!(&*share.to_bytes(), &bytes[..]);
        assert_eq!(share.verify(), Ok(()));
    }
    for pair in [[0, 1], [0, 2], [1, 2]] {
        let used = [shares[pair[0]].clone(), shares[pair[1]].clone()];
        assert_eq!(
            ssms::combine(&used, t).unwrap().expose_secret(),
            &secret[..]
        );
    }

    // Splitting again with the same seed gives the same bytes.
    let again = ssms::split(&secret, t, n, &mut ChaCha20Rng::from_seed(seed)).unwrap();
    for (share, bytes) in again.iter().zip(&encoded) {
        assert_eq!(hex::encode(&*share.to_bytes()), hex::encode(bytes));
    }
}

const LARGE_SEED: [u8; 32] = [0xa5; 32];
/// Several stripes (at 3-of-5 a stripe is 6 segments), the last one short,
/// with a short last segment.
const LARGE_LEN: usize = 3 * (1 << 20) + 5 * 65536 + 12345;

fn large_secret() -> Vec<u8> {
    let mut secret = vec![0u8; LARGE_LEN];
    ChaCha20Rng::from_seed([0x33; 32]).fill_bytes(&mut secret);
    secret
}

#[test]
fn large_vector() {
    let path = data_dir().join("ssms_large.txt");
    let secret = large_secret();
    let shares = ssms::split(&secret, 3, 5, &mut ChaCha20Rng::from_seed(LARGE_SEED)).unwrap();
    if regenerate() {
        let mut text = String::from(
            "# SSMS share format v1: a 3-of-5 split of a secret of secret_len bytes drawn\n\
             # from ChaCha20Rng::from_seed([0x33; 32]), split with ChaCha20Rng::from_seed(seed).\n\
             # share_blake3 is BLAKE3 of each share's encoding.\n",
        );
        writeln!(text, "seed = {}", hex::encode(LARGE_SEED)).unwrap();
        writeln!(text, "secret_len = {LARGE_LEN}").unwrap();
        writeln!(text, "secret_blake3 = {}", blake3::hash(&secret).to_hex()).unwrap();
        for share in &shares {
            writeln!(
                text,
                "share_blake3 = {}",
                blake3::hash(&share.to_bytes()).to_hex()
            )
            .unwrap();
        }
        std::fs::write(&path, text).unwrap();
    }
    let fields = parse(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(hex::decode(get(&fields, "seed")).unwrap(), LARGE_SEED);
    assert_eq!(get(&fields, "secret_len"), LARGE_LEN.to_string());
    assert_eq!(
        get(&fields, "secret_blake3"),
        blake3::hash(&secret).to_hex().as_str()
    );
    let digests = all(&fields, "share_blake3");
    assert_eq!(digests.len(), shares.len());
    for (share, digest) in shares.iter().zip(digests) {
        assert_eq!(blake3::hash(&share.to_bytes()).to_hex().as_str(), digest);
    }
    let used = [shares[1].clone(), shares[3].clone(), shares[4].clone()];
    assert_eq!(
        ssms::combine(&used, 3).unwrap().expose_secret(),
        &secret[..]
    );
}

/// Byte offsets in a 2-of-3 encoding.
const N: usize = 3;
const FRAGMENT_LEN_AT: usize = 52 + 32 * N;

fn failing_cases() -> Vec<(&'static str, Vec<u8>)> {
    let good = small_split()[0].to_bytes().to_vec();
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut bytes = good.clone();
        f(&mut bytes);
        bytes
    };
    vec![
        ("empty", Vec::new()),
        ("truncated_header", good[..11].to_vec()),
        (
            "truncated_fragment",
            edit(&|b| {
                b.pop();
            }),
        ),
        ("trailing_byte", edit(&|b| b.push(0))),
        ("unknown_version", edit(&|b| b[0] = 2)),
        ("index_zero", edit(&|b| b[1] = 0)),
        ("index_above_count", edit(&|b| b[1] = 4)),
        ("threshold_zero", edit(&|b| b[2] = 0)),
        ("threshold_above_count", edit(&|b| b[2] = 4)),
        ("secret_len_zero", edit(&|b| b[4..12].fill(0))),
        ("secret_len_huge", edit(&|b| b[4..12].fill(0xff))),
        ("segment_size_zero", edit(&|b| b[12..16].fill(0))),
        ("stripe_segments_zero", edit(&|b| b[16..20].fill(0))),
        (
            "fragment_len_mismatch",
            edit(&|b| {
                let declared =
                    u64::from_be_bytes(b[FRAGMENT_LEN_AT..FRAGMENT_LEN_AT + 8].try_into().unwrap());
                b[FRAGMENT_LEN_AT..FRAGMENT_LEN_AT + 8]
                    .copy_from_slice(&(declared + 2).to_be_bytes());
                b.extend_from_slice(&[0, 0]);
            }),
        ),
    ]
}

#[test]
fn fail_vectors_are_refused() {
    let dir = data_dir();
    if regenerate() {
        for (name, bytes) in failing_cases() {
            std::fs::write(
                dir.join(format!("ssms_fail_{name}.hex")),
                hex::encode(bytes) + "\n",
            )
            .unwrap();
        }
    }
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if !(name.starts_with("ssms_fail_") && name.ends_with(".hex")) {
            continue;
        }
        let bytes = hex::decode(std::fs::read_to_string(&path).unwrap().trim()).unwrap();
        let result = Share::from_bytes(&bytes);
        assert!(
            matches!(result, Err(Error::Malformed { .. })),
            "{name} was not refused as malformed: {result:?}"
        );
        seen += 1;
    }
    assert_eq!(seen, failing_cases().len());
}
