//! Property tests of Krawczyk's short secret sharing (`ssms`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use proptest::prelude::*;
use proptest::sample::subsequence;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use symbolon_sharing::Error;
use symbolon_sharing::ssms::{self, SEGMENT_SIZE, Share, stripe_len};

const TAG: usize = 16;

fn secret_of(len: usize, seed: u64) -> Vec<u8> {
    let mut secret = vec![0u8; len];
    ChaCha20Rng::seed_from_u64(seed).fill_bytes(&mut secret);
    secret
}

fn pick(shares: &[Share], positions: &[usize]) -> Vec<Share> {
    positions.iter().map(|&i| shares[i].clone()).collect()
}

/// Upper bound of a fragment's length: the ciphertext (plaintext plus one
/// tag per segment) over `t`, plus under 64 bytes of padding per stripe.
fn fragment_bound(len: usize, t: usize) -> usize {
    let segments = len.div_ceil(SEGMENT_SIZE);
    let stripes = len.div_ceil(stripe_len(t));
    (len + TAG * segments).div_ceil(t) + 64 * stripes
}

/// `(t, n)` with `1 <= t <= n <= max_n`.
fn threshold_and_count(max_n: usize) -> impl Strategy<Value = (usize, usize)> {
    (1..=max_n).prop_flat_map(|n| (1..=n, Just(n)))
}

/// A split, the secret, and a random subset of `t` share positions.
fn split_and_subset(
    lens: impl Strategy<Value = usize>,
    max_n: usize,
) -> impl Strategy<Value = (Vec<u8>, usize, usize, u64, Vec<usize>)> {
    (lens, threshold_and_count(max_n), any::<u64>()).prop_flat_map(|(len, (t, n), seed)| {
        (
            Just(secret_of(len, seed)),
            Just(t),
            Just(n),
            Just(seed),
            subsequence((0..n).collect::<Vec<_>>(), t),
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any `t` of the `n` shares rebuild the secret, in any order.
    #[test]
    fn any_t_of_n_reconstruct(
        (secret, t, n, seed, subset) in split_and_subset(1usize..3000, 8),
        reverse in any::<bool>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let shares = ssms::split(&secret, t, n, &mut rng).unwrap();
        prop_assert_eq!(shares.len(), n);
        for (i, share) in shares.iter().enumerate() {
            prop_assert_eq!(usize::from(share.index()), i + 1);
            prop_assert_eq!(share.threshold(), t);
            prop_assert_eq!(share.share_count(), n);
            prop_assert_eq!(share.secret_len(), secret.len() as u64);
            prop_assert!(share.fragment().len() <= fragment_bound(secret.len(), t));
            prop_assert_eq!(share.verify(), Ok(()));
        }
        let mut picked = pick(&shares, &subset);
        if reverse {
            picked.reverse();
        }
        let combined = ssms::combine(&picked, t).unwrap();
        prop_assert_eq!(combined.expose_secret(), &secret[..]);
    }

    /// `t - 1` shares are refused.
    #[test]
    fn fewer_than_t_refused((secret, t, n, seed, subset) in split_and_subset(1usize..200, 6)) {
        prop_assume!(t >= 2);
        let shares = ssms::split(&secret, t, n, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
        let picked = pick(&shares, &subset[..t - 1]);
        prop_assert_eq!(
            ssms::combine(&picked, t).unwrap_err(),
            Error::NotEnoughShares { have: t - 1, need: t }
        );
    }

    /// A flipped byte anywhere in one fragment names that share.
    #[test]
    fn flipped_fragment_byte_names_the_share(
        (secret, t, n, seed, subset) in split_and_subset(1usize..5000, 6),
        victim in any::<prop::sample::Index>(),
        position in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let shares = ssms::split(&secret, t, n, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
        let mut picked = pick(&shares, &subset);
        let victim = victim.index(t);
        let fragment_len = picked[victim].fragment().len();
        let mut bytes = picked[victim].to_bytes();
        let at = bytes.len() - fragment_len + position.index(fragment_len);
        bytes[at] ^= 1 << bit;
        picked[victim] = Share::from_bytes(&bytes).unwrap();
        let index = picked[victim].index();
        prop_assert_eq!(ssms::combine(&picked, t).unwrap_err(), Error::InvalidShare { index });
    }

    /// Encoding round-trips, and is canonical.
    #[test]
    fn encoding_round_trips((secret, t, n, seed, _subset) in split_and_subset(1usize..3000, 6)) {
        let shares = ssms::split(&secret, t, n, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
        for share in &shares {
            let bytes = share.to_bytes();
            prop_assert_eq!(bytes.len(), share.encoded_len());
            prop_assert_eq!(bytes[0], ssms::SHARE_VERSION);
            prop_assert_eq!(bytes[1], share.index());
            let decoded = Share::from_bytes(&bytes).unwrap();
            prop_assert_eq!(&decoded, share);
            prop_assert_eq!(decoded.split_id(), share.split_id());
            prop_assert_eq!(&*decoded.to_bytes(), &*bytes);
            prop_assert_eq!(bytes.len(), 60 + 32 * n + share.fragment().len());
            // The copy-free conversions agree with the copying ones.
            let moved = Share::from_vec(bytes.to_vec()).unwrap();
            prop_assert_eq!(&moved, share);
            prop_assert_eq!(&*moved.into_bytes(), &*bytes);
            prop_assert_eq!(&*share.clone().into_bytes(), &*bytes);
        }
    }

    /// Every truncation and every extension of a valid encoding is refused as malformed.
    #[test]
    fn truncated_or_extended_encodings_are_malformed(
        (secret, t, n, seed, _subset) in split_and_subset(1usize..300, 5),
        extra in prop::collection::vec(any::<u8>(), 1..4),
    ) {
        let shares = ssms::split(&secret, t, n, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
        let bytes = shares[0].to_bytes();
        for cut in 0..bytes.len() {
            let malformed = matches!(Share::from_bytes(&bytes[..cut]), Err(Error::Malformed { .. }));
            prop_assert!(malformed, "prefix of {} bytes accepted", cut);
        }
        let mut longer = bytes.to_vec();
        longer.extend_from_slice(&extra);
        let malformed = matches!(Share::from_bytes(&longer), Err(Error::Malformed { .. }));
        prop_assert!(malformed);
    }

    /// Corrupting a header byte is refused by the decoder or by `combine`
    /// (only the fingerprints, which merely name culprits, may change
    /// unnoticed); it never panics and never yields a wrong secret.
    #[test]
    fn corrupted_headers_never_yield_a_wrong_secret(
        (secret, t, n, seed, subset) in split_and_subset(1usize..300, 5),
        position in 0usize..60,
        value in any::<u8>(),
    ) {
        let shares = ssms::split(&secret, t, n, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
        let mut picked = pick(&shares, &subset);
        let mut bytes = picked[0].to_bytes();
        let position = position.min(bytes.len() - 1);
        prop_assume!(bytes[position] != value);
        bytes[position] = value;
        if let Ok(share) = Share::from_bytes(&bytes) {
            picked[0] = share;
            if let Ok(combined) = ssms::combine(&picked, t) {
                // Only a change that does not matter may pass (e.g. another
                // share's fingerprint when this share is used alone).
                prop_assert_eq!(combined.expose_secret(), &secret[..]);
                prop_assert!(position >= 52, "corrupted header byte {} was accepted", position);
            }
        }
    }

    /// Arbitrary bytes never panic the decoders.
    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let copied = Share::from_bytes(&bytes);
        if let Err(e) = &copied {
            let malformed = matches!(e, Error::Malformed { .. });
            prop_assert!(malformed);
        }
        prop_assert_eq!(Share::from_vec(bytes).ok(), copied.ok());
    }

    /// Garbage behind a plausible header is still refused as malformed.
    #[test]
    fn plausible_header_then_garbage(
        t in 1u8..4, extra_n in 0u8..3, len in 1u64..1000, tail in prop::collection::vec(any::<u8>(), 0..600),
    ) {
        let n = t + extra_n;
        let mut bytes = vec![ssms::SHARE_VERSION, 1, t, n];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&(SEGMENT_SIZE as u32).to_be_bytes());
        bytes.extend_from_slice(&(2 * u32::from(t)).to_be_bytes());
        bytes.extend_from_slice(&tail);
        if let Err(e) = Share::from_bytes(&bytes) {
            let malformed = matches!(e, Error::Malformed { index: 1, .. });
            prop_assert!(malformed);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3))]

    /// A few MiB: several stripes, decoded from random subsets.
    #[test]
    fn megabytes_reconstruct(
        (secret, t, n, seed, subset) in split_and_subset((2usize << 20)..(4 << 20), 7),
    ) {
        let shares = ssms::split(&secret, t, n, &mut ChaCha20Rng::seed_from_u64(seed)).unwrap();
        for share in &shares {
            prop_assert!(share.fragment().len() <= fragment_bound(secret.len(), t));
        }
        let combined = ssms::combine(&pick(&shares, &subset), t).unwrap();
        prop_assert_eq!(combined.expose_secret(), &secret[..]);
    }
}

/// Lengths at and around the segment and stripe boundaries, decoded from
/// the original shards, the recovery shards, and a mix.
#[test]
fn segment_and_stripe_boundaries() {
    let stripe = stripe_len(3);
    let lens = [
        1,
        SEGMENT_SIZE - 1,
        SEGMENT_SIZE,
        SEGMENT_SIZE + 1,
        2 * SEGMENT_SIZE,
        stripe - 1,
        stripe,
        stripe + 1,
        stripe + SEGMENT_SIZE,
        2 * stripe,
    ];
    let mut rng = ChaCha20Rng::seed_from_u64(42);
    for (i, &len) in lens.iter().enumerate() {
        let secret = secret_of(len, i as u64);
        let shares = ssms::split(&secret, 3, 5, &mut rng).unwrap();
        for subset in [[0, 1, 2], [2, 3, 4], [0, 3, 4], [1, 2, 4]] {
            let combined = ssms::combine(&pick(&shares, &subset), 3).unwrap();
            assert_eq!(
                combined.expose_secret(),
                &secret[..],
                "len {len}, subset {subset:?}"
            );
        }
        for share in &shares {
            assert!(share.fragment().len() <= fragment_bound(len, 3));
        }
        // Full stripes are exactly t shards of sealed segments: no padding.
        if len % stripe == 0 {
            let sealed = len + TAG * len.div_ceil(SEGMENT_SIZE);
            assert_eq!(shares[0].fragment().len() * 3, sealed);
        }
    }
}

/// Each share is about |secret| / t: for 1 MiB at 3-of-5, within 0.05 %
/// plus the padding of the last stripe and the fixed header.
#[test]
fn share_size_is_about_secret_over_t() {
    let len = 1 << 20;
    let shares = ssms::split(&secret_of(len, 1), 3, 5, &mut ChaCha20Rng::seed_from_u64(1)).unwrap();
    for share in &shares {
        let ideal = len / 3;
        let encoded = share.encoded_len();
        assert!(encoded >= ideal);
        assert!(
            encoded - ideal <= ideal / 2000 + 64 + 60 + 32 * 5,
            "{encoded} vs {ideal}"
        );
    }
}

#[test]
fn more_than_t_shares_work_and_extra_shares_are_checked() {
    let secret = secret_of(1000, 3);
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let shares = ssms::split(&secret, 2, 4, &mut rng).unwrap();
    assert_eq!(
        ssms::combine(&shares, 2).unwrap().expose_secret(),
        &secret[..]
    );
    let other = ssms::split(&secret, 2, 4, &mut rng).unwrap();
    let mut mixed = shares.clone();
    mixed[3] = other[3].clone();
    assert_eq!(
        ssms::combine(&mixed, 2).unwrap_err(),
        Error::MixedShares { index: 4 }
    );
}

#[test]
fn shares_of_two_splits_are_refused() {
    let secret = secret_of(500, 4);
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let a = ssms::split(&secret, 2, 3, &mut rng).unwrap();
    let b = ssms::split(&secret, 2, 3, &mut rng).unwrap();
    assert_ne!(a[0].split_id(), b[0].split_id());
    assert_eq!(a[0].split_id(), a[2].split_id());
    assert_eq!(
        ssms::combine(&[a[0].clone(), b[1].clone()], 2).unwrap_err(),
        Error::MixedShares { index: 2 }
    );
    // The majority decides which share is the odd one out.
    assert_eq!(
        ssms::combine(&[b[0].clone(), a[1].clone(), a[2].clone()], 2).unwrap_err(),
        Error::MixedShares { index: 1 }
    );
    // Same secret, other parameters: refused too.
    let c = ssms::split(&secret, 2, 4, &mut rng).unwrap();
    assert_eq!(
        ssms::combine(&[a[0].clone(), c[1].clone()], 2).unwrap_err(),
        Error::MixedShares { index: 2 }
    );
}

#[test]
fn duplicates_and_wrong_threshold_are_refused() {
    let secret = secret_of(100, 5);
    let shares = ssms::split(&secret, 2, 3, &mut ChaCha20Rng::seed_from_u64(5)).unwrap();
    assert_eq!(
        ssms::combine(&[shares[1].clone(), shares[1].clone()], 2).unwrap_err(),
        Error::DuplicateIndex { index: 2 }
    );
    assert_eq!(
        ssms::combine(&shares, 3).unwrap_err(),
        Error::MixedShares { index: 1 }
    );
    assert_eq!(
        ssms::combine(&shares, 0).unwrap_err(),
        Error::InvalidThreshold {
            threshold: 0,
            shares: 3
        }
    );
    assert_eq!(
        ssms::combine(&[], 2).unwrap_err(),
        Error::NotEnoughShares { have: 0, need: 2 }
    );
}

#[test]
fn flipped_key_share_names_the_share() {
    let secret = secret_of(100_000, 6);
    let shares = ssms::split(&secret, 3, 5, &mut ChaCha20Rng::seed_from_u64(6)).unwrap();
    let mut bytes = shares[3].to_bytes();
    bytes[20 + 7] ^= 0x80; // inside the key share
    let bad = Share::from_bytes(&bytes).unwrap();
    assert_eq!(bad.verify(), Err(Error::InvalidShare { index: 4 }));
    assert_eq!(
        ssms::combine(&[shares[0].clone(), bad, shares[4].clone()], 3).unwrap_err(),
        Error::InvalidShare { index: 4 }
    );
}

#[test]
fn no_recovery_shards_when_n_equals_t() {
    let secret = secret_of(70_000, 7);
    for t in [1, 2, 5] {
        let shares = ssms::split(&secret, t, t, &mut ChaCha20Rng::seed_from_u64(7)).unwrap();
        let combined = ssms::combine(&shares, t).unwrap();
        assert_eq!(combined.expose_secret(), &secret[..]);
    }
}

#[test]
fn many_shares() {
    let secret = secret_of(10_000, 8);
    let shares = ssms::split(&secret, 200, 255, &mut ChaCha20Rng::seed_from_u64(8)).unwrap();
    let tail: Vec<Share> = shares[55..].to_vec();
    assert_eq!(
        ssms::combine(&tail, 200).unwrap().expose_secret(),
        &secret[..]
    );
}

#[test]
fn debug_is_redacted() {
    let shares = ssms::split(b"hunter2", 2, 2, &mut ChaCha20Rng::seed_from_u64(9)).unwrap();
    let key_share = &shares[0].to_bytes()[20..52];
    let shown = format!("{:?}", shares[0]);
    assert!(shown.contains("<redacted>"));
    assert!(!shown.contains(&hex::encode(key_share)));
    assert!(!shown.contains(&format!("{key_share:?}")[1..20]));
}
