//! Property tests of the GF(2^8) byte-wise Shamir core: the algebraic
//! claims of `bytes` (split/combine, refresh, reshare, repair), agreement of
//! every kernel backend with the portable one, and interoperability with
//! vsss-rs's `Gf256` byte sharing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use proptest::prelude::*;
use rand::RngExt;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use symbolon_sharing::bytes::{
    self, Commitments, Dealing, Share, SubShare, refresh, repair, reshare,
};
use symbolon_sharing::field::{self, Backend, Matrix};
use symbolon_sharing::{Error, SecretBytes};

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn random_bytes(rng: &mut ChaCha20Rng, len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    rng.fill_bytes(&mut v);
    v
}

/// `count` distinct non-zero indices.
fn random_indices(rng: &mut ChaCha20Rng, count: usize) -> Vec<u8> {
    let mut all: Vec<u8> = (1..=255).collect();
    all.shuffle(rng);
    all.truncate(count);
    all
}

/// A random subset of `count` shares, in random order.
fn random_subset(rng: &mut ChaCha20Rng, shares: &[Share], count: usize) -> Vec<Share> {
    let mut v = shares.to_vec();
    v.shuffle(rng);
    v.truncate(count);
    v
}

/// `(t, n)` with `1 <= t <= n <= max_n`.
fn threshold_and_count(max_n: usize) -> impl Strategy<Value = (usize, usize)> {
    (1..=max_n).prop_flat_map(|n| (1..=n, Just(n)))
}

/// Distributes dealings: recipient `r` gets the sub-share addressed to it
/// from every dealing, and every recipient gets all commitment lists.
fn deliver(dealings: Vec<Dealing>, recipient: u8) -> (Vec<SubShare>, Vec<Commitments>) {
    let mut received = Vec::new();
    let mut commitments = Vec::new();
    for dealing in dealings {
        let (subs, c) = dealing.into_parts();
        received.extend(subs.into_iter().filter(|s| s.recipient() == recipient));
        commitments.push(c);
    }
    (received, commitments)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any t of n shares, in any order, rebuild the secret.
    #[test]
    fn any_t_of_n_reconstruct(
        seed in any::<u64>(),
        (t, n) in threshold_and_count(20),
        secret in prop::collection::vec(any::<u8>(), 1..300),
    ) {
        let mut rng = rng(seed);
        let shares = bytes::split(&secret, t, n, &mut rng).unwrap();
        prop_assert_eq!(shares.len(), n);
        for (i, share) in shares.iter().enumerate() {
            prop_assert_eq!(usize::from(share.index()), i + 1);
            prop_assert_eq!(share.len(), secret.len());
        }
        for extra in [0, n - t] {
            let subset = random_subset(&mut rng, &shares, t + extra);
            prop_assert_eq!(bytes::combine(&subset, t).unwrap().expose_secret().to_vec(), secret.clone());
            prop_assert_eq!(bytes::interpolate(&subset, 0).unwrap().expose_secret().to_vec(), secret.clone());
        }
    }

    /// Shares at arbitrary indices work the same way, and interpolating at a
    /// share's index rebuilds that share.
    #[test]
    fn arbitrary_indices_reconstruct_secret_and_shares(
        seed in any::<u64>(),
        (t, n) in threshold_and_count(12),
        secret in prop::collection::vec(any::<u8>(), 1..100),
    ) {
        let mut rng = rng(seed);
        let indices = random_indices(&mut rng, n);
        let shares = bytes::split_with_indices(&secret, t, &indices, &mut rng).unwrap();
        let subset = random_subset(&mut rng, &shares, t);
        prop_assert_eq!(bytes::combine(&subset, t).unwrap().expose_secret().to_vec(), secret.clone());
        for share in &shares {
            let rebuilt = bytes::interpolate(&subset, share.index()).unwrap();
            prop_assert_eq!(rebuilt.expose_secret(), share.expose_secret());
        }
    }

    /// t - 1 shares are refused by combine, and interpolating them gives a
    /// value other than the secret (equality has probability 2^-128 here).
    #[test]
    fn fewer_than_t_shares_do_not_reveal_the_secret(
        seed in any::<u64>(),
        (t, n) in threshold_and_count(16).prop_filter("t >= 2", |(t, _)| *t >= 2),
        secret in prop::collection::vec(any::<u8>(), 16..64),
    ) {
        let mut rng = rng(seed);
        let shares = bytes::split(&secret, t, n, &mut rng).unwrap();
        let subset = random_subset(&mut rng, &shares, t - 1);
        prop_assert_eq!(
            bytes::combine(&subset, t).unwrap_err(),
            Error::NotEnoughShares { have: t - 1, need: t }
        );
        prop_assert_ne!(bytes::interpolate(&subset, 0).unwrap().expose_secret().to_vec(), secret.clone());
    }

    /// Every backend computes the same mul_acc / mul_add as the portable
    /// one, on odd lengths and misaligned starts.
    #[test]
    fn kernel_backends_agree_with_portable(
        seed in any::<u64>(),
        len in 0usize..700,
        dst_offset in 0usize..64,
        src_offset in 0usize..64,
        c in any::<u8>(),
    ) {
        let mut rng = rng(seed);
        let src_buf = random_bytes(&mut rng, len + src_offset);
        let dst_buf = random_bytes(&mut rng, len + dst_offset);
        let src = &src_buf[src_offset..];
        let portable = field::kernels(Backend::Portable).unwrap();
        let mut want_acc = dst_buf.clone();
        portable.mul_acc(&mut want_acc[dst_offset..], src, c);
        let mut want_add = dst_buf.clone();
        portable.mul_add(&mut want_add[dst_offset..], src, c);
        for i in 0..len {
            prop_assert_eq!(want_acc[dst_offset + i], dst_buf[dst_offset + i] ^ field::mul(c, src[i]));
            prop_assert_eq!(want_add[dst_offset + i], field::mul(c, dst_buf[dst_offset + i]) ^ src[i]);
        }
        for backend in Backend::available() {
            let k = field::kernels(backend).unwrap();
            let mut acc = dst_buf.clone();
            k.mul_acc(&mut acc[dst_offset..], src, c);
            prop_assert_eq!(&acc, &want_acc, "mul_acc {:?}", backend);
            let mut add = dst_buf.clone();
            k.mul_add(&mut add[dst_offset..], src, c);
            prop_assert_eq!(&add, &want_add, "mul_add {:?}", backend);
        }
    }

    /// Every backend computes the same matrix product as the portable one,
    /// for every group size (1..=20 outputs), including all-zero and
    /// all-one columns, odd lengths and misaligned slices.
    #[test]
    fn matrix_backends_agree_with_portable(
        seed in any::<u64>(),
        rows in 1usize..=20,
        cols in 0usize..=12,
        len in 0usize..1200,
        offset in 0usize..64,
    ) {
        let mut rng = rng(seed);
        let entries = random_bytes(&mut rng, rows * cols);
        let special = rng.random_range(0..4u8);
        let matrix = Matrix::new(rows, cols, |r, c| match (special, c) {
            (1, 0) => 0,
            (2, 0) => 1,
            _ => entries[r * cols + c],
        });
        let inputs_buf: Vec<Vec<u8>> = (0..cols).map(|_| random_bytes(&mut rng, len + offset)).collect();
        let inputs: Vec<&[u8]> = inputs_buf.iter().map(|b| &b[offset..]).collect();
        // Oracle: byte-wise scalar arithmetic.
        let mut want = vec![vec![0u8; len]; rows];
        for (r, out) in want.iter_mut().enumerate() {
            for (i, o) in out.iter_mut().enumerate() {
                for (c, input) in inputs.iter().enumerate() {
                    *o ^= field::mul(matrix.entry(r, c).unwrap(), input[i]);
                }
            }
        }
        for backend in Backend::available() {
            let mut outs_buf: Vec<Vec<u8>> = (0..rows).map(|_| random_bytes(&mut rng, len + offset)).collect();
            let mut outs: Vec<&mut [u8]> = outs_buf.iter_mut().map(|b| &mut b[offset..]).collect();
            field::kernels(backend).unwrap().mul_matrix(&matrix, &mut outs, &inputs);
            for (got, want) in outs.iter().zip(&want) {
                prop_assert_eq!(&got[..], &want[..], "{:?}", backend);
            }
        }
    }

    /// split and combine produce the same bytes under every backend.
    #[test]
    fn split_and_combine_agree_across_backends(
        seed in any::<u64>(),
        (t, n) in threshold_and_count(17),
        len in 1usize..5000,
    ) {
        let secret = random_bytes(&mut rng(seed ^ 1), len);
        let reference = field::with_backend(Backend::Portable, || {
            bytes::split(&secret, t, n, &mut rng(seed)).unwrap()
        }).unwrap();
        for backend in Backend::available() {
            let shares = field::with_backend(backend, || {
                bytes::split(&secret, t, n, &mut rng(seed)).unwrap()
            }).unwrap();
            prop_assert_eq!(&shares, &reference, "{:?}", backend);
            let combined = field::with_backend(backend, || {
                bytes::combine(&shares[n - t..], t).unwrap()
            }).unwrap();
            prop_assert_eq!(combined.expose_secret(), &secret[..], "{:?}", backend);
        }
    }

    /// Refresh keeps the secret, changes every share (for t >= 2), and
    /// shares of different epochs do not combine to the secret.
    #[test]
    fn refresh_keeps_secret_changes_shares_and_epochs_do_not_mix(
        seed in any::<u64>(),
        (t, n) in threshold_and_count(10).prop_filter("t >= 2", |(t, _)| *t >= 2),
        secret in prop::collection::vec(any::<u8>(), 16..80),
    ) {
        let mut rng = rng(seed);
        let old = bytes::split(&secret, t, n, &mut rng).unwrap();
        let holders: Vec<u8> = old.iter().map(Share::index).collect();
        // Any non-empty set of dealers works, as long as everyone uses it.
        let dealer_count = rng.random_range(1..=n);
        let dealers = &holders[..dealer_count];
        let ctx = b"key 7, epoch 3 -> 4";
        let dealings: Vec<Dealing> = dealers
            .iter()
            .map(|&d| refresh::deal(d, secret.len(), t, &holders, ctx, &mut rng).unwrap())
            .collect();
        let commitments: Vec<Commitments> = dealings.iter().map(|d| d.commitments().clone()).collect();
        let new: Vec<Share> = old
            .iter()
            .map(|share| {
                let received: Vec<SubShare> = dealings
                    .iter()
                    .flat_map(|d| d.sub_shares().iter().filter(|s| s.recipient() == share.index()).cloned())
                    .collect();
                refresh::apply(share, &received, &commitments, ctx).unwrap()
            })
            .collect();
        for (o, n) in old.iter().zip(&new) {
            prop_assert_eq!(o.index(), n.index());
            prop_assert_ne!(o.expose_secret(), n.expose_secret());
        }
        let subset = random_subset(&mut rng, &new, t);
        prop_assert_eq!(bytes::combine(&subset, t).unwrap().expose_secret().to_vec(), secret.clone());
        // t - 1 old shares and one new one (of another holder) do not fit.
        let mut mixed: Vec<Share> = old[..t - 1].to_vec();
        mixed.push(new[t - 1].clone());
        prop_assert_ne!(bytes::combine(&mixed, t).unwrap().expose_secret().to_vec(), secret.clone());
    }

    /// Resharing from any t old holders to a new committee with a new
    /// (t', n') keeps the secret.
    #[test]
    fn reshare_keeps_the_secret(
        seed in any::<u64>(),
        (t, n) in threshold_and_count(8),
        (t2, n2) in threshold_and_count(8),
        secret in prop::collection::vec(any::<u8>(), 1..80),
    ) {
        let mut rng = rng(seed);
        let old = bytes::split(&secret, t, n, &mut rng).unwrap();
        let dealers = random_subset(&mut rng, &old, t);
        let new_holders = random_indices(&mut rng, n2);
        let ctx = b"key 7, epoch 4 -> 5";
        let dealings: Vec<Dealing> = dealers
            .iter()
            .map(|s| reshare::deal(s, t2, &new_holders, ctx, &mut rng).unwrap())
            .collect();
        let commitments: Vec<Commitments> = dealings.iter().map(|d| d.commitments().clone()).collect();
        let new: Vec<Share> = new_holders
            .iter()
            .map(|&j| {
                let received: Vec<SubShare> = dealings
                    .iter()
                    .flat_map(|d| d.sub_shares().iter().filter(|s| s.recipient() == j).cloned())
                    .collect();
                reshare::combine(j, t, &received, &commitments, ctx).unwrap()
            })
            .collect();
        let subset = random_subset(&mut rng, &new, t2);
        prop_assert_eq!(bytes::combine(&subset, t2).unwrap().expose_secret().to_vec(), secret.clone());
        if t2 >= 2 {
            let short = random_subset(&mut rng, &new, t2 - 1);
            prop_assert_eq!(bytes::combine(&short, t2).unwrap_err(), Error::NotEnoughShares { have: t2 - 1, need: t2 });
        }
    }

    /// Repair rebuilds exactly the lost share, from any t helpers.
    #[test]
    fn repair_rebuilds_exactly_the_lost_share(
        seed in any::<u64>(),
        (t, n) in threshold_and_count(10).prop_filter("n > t", |(t, n)| n > t),
        secret in prop::collection::vec(any::<u8>(), 1..80),
    ) {
        let mut rng = rng(seed);
        let shares = bytes::split(&secret, t, n, &mut rng).unwrap();
        let lost = shares[rng.random_range(0..n)].clone();
        let others: Vec<Share> = shares.iter().filter(|s| s.index() != lost.index()).cloned().collect();
        let helpers_shares = random_subset(&mut rng, &others, t);
        let helpers: Vec<u8> = helpers_shares.iter().map(Share::index).collect();
        let deltas: Vec<Vec<repair::Delta>> = helpers_shares
            .iter()
            .map(|s| repair::compute_deltas(s, &helpers, lost.index(), t, &mut rng).unwrap())
            .collect();
        let sums: Vec<repair::DeltaSum> = helpers
            .iter()
            .map(|&h| {
                let received: Vec<repair::Delta> = deltas
                    .iter()
                    .flat_map(|d| d.iter().filter(|x| x.to() == h).cloned())
                    .collect();
                repair::sum_deltas(h, &helpers, lost.index(), &received).unwrap()
            })
            .collect();
        let repaired = repair::recover_share(lost.index(), &helpers, &sums).unwrap();
        prop_assert_eq!(&repaired, &lost);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4))]

    /// Megabyte-sized secrets across several blocks (few cases: slow).
    #[test]
    fn large_secrets_round_trip(seed in any::<u64>(), extra in 0usize..5000) {
        let mut rng = rng(seed);
        let secret = random_bytes(&mut rng, (1 << 20) + extra);
        let shares = bytes::split(&secret, 4, 7, &mut rng).unwrap();
        let subset = random_subset(&mut rng, &shares, 4);
        prop_assert!(bytes::combine(&subset, 4).unwrap().expose_secret() == &secret[..]);
    }
}

/// Deals a reshare of a 3-of-4 sharing from holders 1..=3 to new holders
/// 5..=9 (3-of-5), for the tamper tests.
fn reshare_setup() -> (Vec<Share>, Vec<Dealing>, &'static [u8]) {
    let mut rng = rng(11);
    let old = bytes::split(b"sixteen byte key", 3, 4, &mut rng).unwrap();
    let ctx: &'static [u8] = b"ctx";
    let dealings = old[..3]
        .iter()
        .map(|s| reshare::deal(s, 3, &[5, 6, 7, 8, 9], ctx, &mut rng).unwrap())
        .collect();
    (old, dealings, ctx)
}

#[test]
fn reshare_names_the_dealer_of_a_tampered_sub_share() {
    let (_, dealings, ctx) = reshare_setup();
    let (mut received, commitments) = deliver(dealings, 6);
    // Flip one bit of dealer 2's sub-share in transit.
    let pos = received.iter().position(|s| s.dealer() == 2).unwrap();
    let s = &received[pos];
    let mut value = s.expose_secret().to_vec();
    value[3] ^= 0x10;
    received[pos] = SubShare::new(2, 6, SecretBytes::new(value), *s.expose_blinding()).unwrap();
    assert_eq!(
        reshare::combine(6, 3, &received, &commitments, ctx).unwrap_err(),
        Error::InvalidSubShare {
            dealer: 2,
            recipient: 6
        }
    );
}

#[test]
fn reshare_refuses_replays_missing_and_misaddressed_sub_shares() {
    let (_, dealings, ctx) = reshare_setup();
    let (received, commitments) = deliver(dealings, 7);
    // The same sub-shares under another session context fail.
    assert_eq!(
        reshare::combine(7, 3, &received, &commitments, b"other").unwrap_err(),
        Error::InvalidSubShare {
            dealer: 1,
            recipient: 7
        }
    );
    // Missing dealer 3's sub-share.
    let without: Vec<SubShare> = received
        .iter()
        .filter(|s| s.dealer() != 3)
        .cloned()
        .collect();
    assert_eq!(
        reshare::combine(7, 3, &without, &commitments, ctx).unwrap_err(),
        Error::MissingSubShare {
            dealer: 3,
            recipient: 7
        }
    );
    // Presented to the wrong recipient.
    assert_eq!(
        reshare::combine(8, 3, &received, &commitments, ctx).unwrap_err(),
        Error::UnexpectedSubShare {
            dealer: 1,
            recipient: 7
        }
    );
    // A repeated sub-share.
    let mut doubled = received.clone();
    doubled.push(received[0].clone());
    assert!(matches!(
        reshare::combine(7, 3, &doubled, &commitments, ctx).unwrap_err(),
        Error::UnexpectedSubShare { .. }
    ));
    // Fewer dealers than the old threshold.
    assert_eq!(
        reshare::combine(7, 4, &received, &commitments, ctx).unwrap_err(),
        Error::NotEnoughShares { have: 3, need: 4 }
    );
    // A dealer whose sub-share is swapped for another dealer's.
    let swapped: Vec<SubShare> = received
        .iter()
        .map(|s| {
            if s.dealer() == 1 {
                let other = received.iter().find(|o| o.dealer() == 2).unwrap();
                SubShare::new(
                    1,
                    7,
                    SecretBytes::from_slice(other.expose_secret()),
                    *other.expose_blinding(),
                )
                .unwrap()
            } else {
                s.clone()
            }
        })
        .collect();
    assert_eq!(
        reshare::combine(7, 3, &swapped, &commitments, ctx).unwrap_err(),
        Error::InvalidSubShare {
            dealer: 1,
            recipient: 7
        }
    );
    assert!(reshare::combine(7, 3, &received, &commitments, ctx).is_ok());
}

#[test]
fn refresh_names_the_dealer_of_a_tampered_sub_share() {
    let mut rng = rng(12);
    let old = bytes::split(b"a secret", 2, 3, &mut rng).unwrap();
    let holders = [1, 2, 3];
    let dealings: Vec<Dealing> = holders
        .iter()
        .map(|&d| refresh::deal(d, 8, 2, &holders, b"e1", &mut rng).unwrap())
        .collect();
    let (mut received, commitments) = deliver(dealings, 1);
    let s = received.pop().unwrap();
    let mut value = s.expose_secret().to_vec();
    value[0] ^= 1;
    received
        .push(SubShare::new(s.dealer(), 1, SecretBytes::new(value), *s.expose_blinding()).unwrap());
    assert_eq!(
        refresh::apply(&old[0], &received, &commitments, b"e1").unwrap_err(),
        Error::InvalidSubShare {
            dealer: 3,
            recipient: 1
        }
    );
    // A refresh sub-share is not accepted as a reshare one.
    let (received, commitments) = {
        let dealings: Vec<Dealing> = holders
            .iter()
            .map(|&d| refresh::deal(d, 8, 2, &holders, b"e1", &mut rng).unwrap())
            .collect();
        deliver(dealings, 2)
    };
    assert!(refresh::apply(&old[1], &received, &commitments, b"e1").is_ok());
    assert!(matches!(
        reshare::combine(2, 2, &received, &commitments, b"e1").unwrap_err(),
        Error::InvalidSubShare { .. }
    ));
    // Bad dealing parameters.
    assert!(matches!(
        refresh::deal(1, 0, 2, &holders, b"e1", &mut rng).unwrap_err(),
        Error::EmptySecret
    ));
    assert_eq!(
        refresh::deal(4, 8, 2, &holders, b"e1", &mut rng).unwrap_err(),
        Error::InvalidIndex { index: 4 }
    );
    assert_eq!(
        refresh::apply(&old[0], &[], &[], b"e1").unwrap_err(),
        Error::NotEnoughShares { have: 0, need: 1 }
    );
}

#[test]
fn repair_refuses_bad_helper_sets_and_pieces() {
    let mut rng = rng(13);
    let shares = bytes::split(b"0123456789", 3, 5, &mut rng).unwrap();
    let helpers = [1u8, 2, 3];
    assert_eq!(
        repair::compute_deltas(&shares[0], &helpers[..2], 5, 3, &mut rng).unwrap_err(),
        Error::NotEnoughShares { have: 2, need: 3 }
    );
    assert_eq!(
        repair::compute_deltas(&shares[0], &helpers, 3, 3, &mut rng).unwrap_err(),
        Error::InvalidIndex { index: 3 }
    );
    assert_eq!(
        repair::compute_deltas(&shares[3], &helpers, 5, 3, &mut rng).unwrap_err(),
        Error::InvalidIndex { index: 4 }
    );
    let deltas: Vec<repair::Delta> = shares[..3]
        .iter()
        .flat_map(|s| repair::compute_deltas(s, &helpers, 5, 3, &mut rng).unwrap())
        .collect();
    // Each piece alone says nothing; the pieces for helper 1 are those addressed to it.
    let for_1: Vec<repair::Delta> = deltas.iter().filter(|d| d.to() == 1).cloned().collect();
    assert_eq!(for_1.len(), 3);
    assert!(format!("{:?}", for_1[0]).contains("<redacted>"));
    assert_eq!(
        repair::sum_deltas(1, &helpers, 5, &for_1[..2]).unwrap_err(),
        Error::MissingSubShare {
            dealer: 3,
            recipient: 1
        }
    );
    assert_eq!(
        repair::sum_deltas(2, &helpers, 5, &for_1).unwrap_err(),
        Error::UnexpectedSubShare {
            dealer: 1,
            recipient: 2
        }
    );
    assert_eq!(
        repair::sum_deltas(1, &helpers, 4, &for_1).unwrap_err(),
        Error::UnexpectedSubShare {
            dealer: 1,
            recipient: 1
        }
    );
    let sum = repair::sum_deltas(1, &helpers, 5, &for_1).unwrap();
    assert_eq!(
        repair::recover_share(5, &helpers, std::slice::from_ref(&sum)).unwrap_err(),
        Error::MissingSubShare {
            dealer: 2,
            recipient: 5
        }
    );
}

/// vsss-rs's `Gf256` byte sharing uses the same field (AES polynomial
/// 0x11b, vsss-rs `gf256_mul`) and x = participant identifier, 1..=n by
/// default; a vsss-rs share is `[x] || y`. So our shares combine with
/// vsss-rs's `combine_bytes` and the other way round. (blahaj uses the
/// polynomial 0x11d, so its shares do not interoperate.)
#[test]
fn shares_interoperate_with_vsss_rs() {
    use vsss_rs::Gf256;
    let mut rng = rng(14);
    for (t, n, len) in [(2, 2, 1), (3, 5, 33), (5, 9, 1000), (10, 16, 4097)] {
        let secret = random_bytes(&mut rng, len);
        // Ours -> vsss-rs.
        let ours = bytes::split(&secret, t, n, &mut rng).unwrap();
        let as_vsss: Vec<Vec<u8>> = ours[n - t..]
            .iter()
            .map(|s| [&[s.index()][..], s.expose_secret()].concat())
            .collect();
        assert_eq!(
            Gf256::combine_bytes(&as_vsss).unwrap(),
            secret,
            "({t}, {n})"
        );
        // vsss-rs -> ours.
        let theirs = Gf256::split_bytes(t, n, &secret, &mut rng).unwrap();
        let as_ours: Vec<Share> = theirs
            .iter()
            .map(|v| Share::new(v[0], SecretBytes::from_slice(&v[1..])).unwrap())
            .collect();
        assert_eq!(
            as_ours.iter().map(Share::index).collect::<Vec<_>>(),
            (1..=n as u8).collect::<Vec<_>>()
        );
        let subset = random_subset(&mut rng, &as_ours, t);
        assert_eq!(
            bytes::combine(&subset, t).unwrap().expose_secret(),
            &secret[..]
        );
    }
}

#[test]
fn field_multiplication_matches_vsss_rs() {
    use vsss_rs::Gf256;
    for a in 0..=255u8 {
        for b in 0..=255u8 {
            assert_eq!(field::mul(a, b), (Gf256(a) * Gf256(b)).0);
        }
    }
}
