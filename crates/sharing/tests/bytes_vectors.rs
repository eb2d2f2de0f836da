//! Known-answer vectors for the GF(2^8) byte sharing, so that any change of
//! output (field, polynomial layout, RNG consumption order, `BLOCK`,
//! commitment hashing) is caught.
//!
//! * `tests/data/gf256_split_vectors.txt`: `bytes::split` with
//!   `ChaCha20Rng::from_seed(seed)` (rand_chacha 0.10); each vector's
//!   shares are also combined with vsss-rs as an independent check.
//! * `tests/data/gf256_dealing_vectors.txt`: `refresh::deal`,
//!   `reshare::deal` (sub-shares, blindings, commitments) and
//!   `repair::compute_deltas`, same RNG.
//!
//! Format: one record per line, `key=value` fields separated by spaces, hex
//! for bytes; `#` starts a comment. To regenerate after an *intended*
//! change: `SYMBOLON_REGENERATE_VECTORS=1 cargo test -p symbolon-sharing
//! --test bytes_vectors`, and say why in the commit.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use symbolon_sharing::SecretBytes;
use symbolon_sharing::bytes::{self, Share, refresh, repair, reshare};

fn data_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn seed(n: u8) -> [u8; 32] {
    let mut s = [0u8; 32];
    for (i, b) in s.iter_mut().enumerate() {
        *b = n.wrapping_mul(31).wrapping_add(i as u8);
    }
    s
}

fn list(v: &[u8]) -> String {
    v.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

fn parse_list(s: &str) -> Vec<u8> {
    s.split(',').map(|x| x.parse().unwrap()).collect()
}

/// A secret of `len` bytes that is easy to recognise.
fn secret(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + 3) as u8).collect()
}

/// Split cases: (seed, t, n, secret length). Covers t = 1, t = n, odd
/// lengths and secrets spanning several coefficient blocks.
const SPLIT_CASES: [(u8, usize, usize, usize); 8] = [
    (1, 1, 1, 1),
    (2, 1, 3, 5),
    (3, 2, 2, 16),
    (4, 2, 3, 31),
    (5, 3, 5, 32),
    (6, 5, 5, 33),
    (7, 10, 16, 100),
    (8, 2, 3, bytes::BLOCK + 17),
];

fn split_vectors() -> String {
    let mut out = String::from(
        "# bytes::split(secret, t, n, ChaCha20Rng::from_seed(seed)); shares i = 1..=n\n",
    );
    for (s, t, n, len) in SPLIT_CASES {
        let secret = secret(len);
        let seed = seed(s);
        let shares = bytes::split(&secret, t, n, &mut ChaCha20Rng::from_seed(seed)).unwrap();
        writeln!(
            out,
            "split seed={} t={t} n={n} secret={}",
            hex::encode(seed),
            hex::encode(&secret)
        )
        .unwrap();
        for share in shares {
            writeln!(
                out,
                "share index={} value={}",
                share.index(),
                hex::encode(share.expose_secret())
            )
            .unwrap();
        }
    }
    out
}

fn dealing_vectors() -> String {
    let mut out = String::from(
        "# refresh::deal / reshare::deal / repair::compute_deltas with ChaCha20Rng::from_seed(seed)\n",
    );
    // Refresh: dealer 2 of holders 1,2,3,4 at threshold 3.
    let (seed1, holders, ctx) = (seed(20), [1u8, 2, 3, 4], b"key 1 epoch 1->2");
    let dealing =
        refresh::deal(2, 21, 3, &holders, ctx, &mut ChaCha20Rng::from_seed(seed1)).unwrap();
    writeln!(
        out,
        "refresh seed={} dealer=2 len=21 t=3 holders={} context={}",
        hex::encode(seed1),
        list(&holders),
        hex::encode(ctx)
    )
    .unwrap();
    for (sub, (recipient, commitment)) in dealing
        .sub_shares()
        .iter()
        .zip(dealing.commitments().entries())
    {
        assert_eq!(sub.recipient(), *recipient);
        writeln!(
            out,
            "sub recipient={} value={} blinding={} commitment={}",
            recipient,
            hex::encode(sub.expose_secret()),
            hex::encode(sub.expose_blinding()),
            hex::encode(commitment)
        )
        .unwrap();
    }
    // Reshare: old share 3 to new holders 5..=9 at threshold 2.
    let (seed2, new_holders, ctx) = (seed(21), [5u8, 6, 7, 8, 9], b"key 1 epoch 2->3");
    let share = Share::new(3, SecretBytes::new(secret(19))).unwrap();
    let dealing = reshare::deal(
        &share,
        2,
        &new_holders,
        ctx,
        &mut ChaCha20Rng::from_seed(seed2),
    )
    .unwrap();
    writeln!(
        out,
        "reshare seed={} index=3 share={} t=2 holders={} context={}",
        hex::encode(seed2),
        hex::encode(share.expose_secret()),
        list(&new_holders),
        hex::encode(ctx)
    )
    .unwrap();
    for (sub, (recipient, commitment)) in dealing
        .sub_shares()
        .iter()
        .zip(dealing.commitments().entries())
    {
        writeln!(
            out,
            "sub recipient={} value={} blinding={} commitment={}",
            recipient,
            hex::encode(sub.expose_secret()),
            hex::encode(sub.expose_blinding()),
            hex::encode(commitment)
        )
        .unwrap();
    }
    // Repair: helper 2 of helpers 1,2,4 rebuilding share 7.
    let (seed3, helpers) = (seed(22), [1u8, 2, 4]);
    let share = Share::new(2, SecretBytes::new(secret(9))).unwrap();
    let deltas =
        repair::compute_deltas(&share, &helpers, 7, 3, &mut ChaCha20Rng::from_seed(seed3)).unwrap();
    writeln!(
        out,
        "repair seed={} index=2 share={} helpers={} target=7 t=3",
        hex::encode(seed3),
        hex::encode(share.expose_secret()),
        list(&helpers)
    )
    .unwrap();
    for delta in deltas {
        writeln!(
            out,
            "delta to={} value={}",
            delta.to(),
            hex::encode(delta.expose_secret())
        )
        .unwrap();
    }
    out
}

/// Parses `kind key=value ...` records (ignoring comments and blank lines).
fn records(text: &str) -> Vec<(String, BTreeMap<String, String>)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let mut parts = l.split_whitespace();
            let kind = parts.next().unwrap().to_string();
            let fields = parts
                .map(|p| {
                    let (k, v) = p.split_once('=').unwrap();
                    (k.to_string(), v.to_string())
                })
                .collect();
            (kind, fields)
        })
        .collect()
}

fn bytes_of(fields: &BTreeMap<String, String>, key: &str) -> Vec<u8> {
    hex::decode(&fields[key]).unwrap()
}

fn seed_of(fields: &BTreeMap<String, String>) -> [u8; 32] {
    bytes_of(fields, "seed").try_into().unwrap()
}

#[test]
fn split_matches_known_answers() {
    let text = std::fs::read_to_string(data_path("gf256_split_vectors.txt")).unwrap();
    let recs = records(&text);
    let mut checked = 0;
    let mut i = 0;
    while i < recs.len() {
        let (kind, f) = &recs[i];
        assert_eq!(kind, "split");
        let (t, n): (usize, usize) = (f["t"].parse().unwrap(), f["n"].parse().unwrap());
        let secret = bytes_of(f, "secret");
        let shares = bytes::split(&secret, t, n, &mut ChaCha20Rng::from_seed(seed_of(f))).unwrap();
        let expected = &recs[i + 1..i + 1 + n];
        let mut vsss = Vec::new();
        for (share, (kind, e)) in shares.iter().zip(expected) {
            assert_eq!(kind, "share");
            assert_eq!(share.index().to_string(), e["index"]);
            assert_eq!(
                hex::encode(share.expose_secret()),
                e["value"],
                "share {} of vector {}",
                e["index"],
                checked
            );
            let mut v = vec![share.index()];
            v.extend_from_slice(&bytes_of(e, "value"));
            vsss.push(v);
        }
        // Independent check of the stored shares: vsss-rs rebuilds the secret.
        let rebuilt = if t >= 2 {
            vsss_rs::Gf256::combine_bytes(&vsss[n - t..]).unwrap()
        } else {
            vsss[0][1..].to_vec()
        };
        assert_eq!(rebuilt, secret);
        checked += 1;
        i += 1 + n;
    }
    assert_eq!(checked, SPLIT_CASES.len());
}

#[test]
fn dealings_match_known_answers() {
    let text = std::fs::read_to_string(data_path("gf256_dealing_vectors.txt")).unwrap();
    let recs = records(&text);
    let mut kinds = Vec::new();
    let mut i = 0;
    while i < recs.len() {
        let (kind, f) = &recs[i];
        kinds.push(kind.clone());
        let mut rng = ChaCha20Rng::from_seed(seed_of(f));
        match kind.as_str() {
            "refresh" | "reshare" => {
                let context = bytes_of(f, "context");
                let holders = parse_list(&f["holders"]);
                let t: usize = f["t"].parse().unwrap();
                let dealing = if kind == "refresh" {
                    let len: usize = f["len"].parse().unwrap();
                    refresh::deal(
                        f["dealer"].parse().unwrap(),
                        len,
                        t,
                        &holders,
                        &context,
                        &mut rng,
                    )
                    .unwrap()
                } else {
                    let share = Share::new(
                        f["index"].parse().unwrap(),
                        SecretBytes::new(bytes_of(f, "share")),
                    )
                    .unwrap();
                    reshare::deal(&share, t, &holders, &context, &mut rng).unwrap()
                };
                let expected = &recs[i + 1..i + 1 + holders.len()];
                for ((sub, (recipient, commitment)), (k, e)) in dealing
                    .sub_shares()
                    .iter()
                    .zip(dealing.commitments().entries())
                    .zip(expected)
                {
                    assert_eq!(k, "sub");
                    assert_eq!(recipient.to_string(), e["recipient"]);
                    assert_eq!(
                        hex::encode(sub.expose_secret()),
                        e["value"],
                        "{kind} to {recipient}"
                    );
                    assert_eq!(hex::encode(sub.expose_blinding()), e["blinding"]);
                    assert_eq!(hex::encode(commitment), e["commitment"]);
                }
                i += 1 + holders.len();
            }
            "repair" => {
                let helpers = parse_list(&f["helpers"]);
                let share = Share::new(
                    f["index"].parse().unwrap(),
                    SecretBytes::new(bytes_of(f, "share")),
                )
                .unwrap();
                let deltas = repair::compute_deltas(
                    &share,
                    &helpers,
                    f["target"].parse().unwrap(),
                    f["t"].parse().unwrap(),
                    &mut rng,
                )
                .unwrap();
                let expected = &recs[i + 1..i + 1 + helpers.len()];
                for (delta, (k, e)) in deltas.iter().zip(expected) {
                    assert_eq!(k, "delta");
                    assert_eq!(delta.to().to_string(), e["to"]);
                    assert_eq!(hex::encode(delta.expose_secret()), e["value"]);
                }
                i += 1 + helpers.len();
            }
            other => panic!("unknown record {other}"),
        }
    }
    assert_eq!(kinds, ["refresh", "reshare", "repair"]);
}

/// The vector files are exactly what the current code generates; with
/// `SYMBOLON_REGENERATE_VECTORS=1` they are rewritten instead (see the module docs).
#[test]
fn vector_files_match_the_generator() {
    let files = [
        ("gf256_split_vectors.txt", split_vectors()),
        ("gf256_dealing_vectors.txt", dealing_vectors()),
    ];
    for (name, generated) in files {
        if std::env::var_os("SYMBOLON_REGENERATE_VECTORS").is_some() {
            std::fs::write(data_path(name), &generated).unwrap();
        }
        let stored = std::fs::read_to_string(data_path(name)).unwrap();
        assert_eq!(
            stored, generated,
            "{name} differs from the generator's output"
        );
    }
}
