//! Property tests for `symbolon_sharing::scalar`: Shamir over the
//! ristretto255 scalar field with Feldman commitments, refresh, reshare and
//! repair. Elliptic-curve arithmetic is slow in test builds, so each property
//! runs few cases on small parameters.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use curve25519_dalek::{RistrettoPoint, Scalar};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::{Rng, SeedableRng};
use symbolon_sharing::Error;
use symbolon_sharing::scalar::{
    self, Commitments, DealerCommitments, SHARE_LEN, Share, SubShare, refresh, repair, reshare,
};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

fn random_scalar(rng: &mut ChaCha20Rng) -> Scalar {
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// A random subset of `k` elements of `items` (a partial Fisher–Yates shuffle).
fn choose<T: Clone>(items: &[T], k: usize, rng: &mut ChaCha20Rng) -> Vec<T> {
    let mut items = items.to_vec();
    for i in 0..k.min(items.len()) {
        let j = i + (rng.next_u32() as usize) % (items.len() - i);
        items.swap(i, j);
    }
    items.truncate(k);
    items
}

/// `(t, n)` with `1 <= t <= n <= max_n`.
fn params(max_n: usize) -> impl Strategy<Value = (usize, usize)> {
    (1..=max_n).prop_flat_map(|n| (1..=n, Just(n)))
}

/// Runs a full refresh among `shares` (every holder deals to every holder).
fn run_refresh(
    shares: &[Share],
    group: &Commitments,
    rng: &mut ChaCha20Rng,
) -> (Vec<Share>, Vec<Commitments>) {
    let indices: Vec<u8> = shares.iter().map(Share::index).collect();
    let dealings: Vec<_> = indices
        .iter()
        .map(|&d| refresh::deal(d, group, &indices, rng).unwrap())
        .collect();
    let public: Vec<DealerCommitments> = dealings.iter().map(|d| d.public().clone()).collect();
    shares
        .iter()
        .map(|share| {
            let received: Vec<SubShare> = dealings
                .iter()
                .map(|d| d.sub_share_for(share.index()).unwrap().clone())
                .collect();
            refresh::apply(share, group, &public, &received).unwrap()
        })
        .unzip()
}

/// Runs a full reshare from `dealers` to `new_indices` with threshold `new_t`.
fn run_reshare(
    dealers: &[Share],
    old: &Commitments,
    new_t: usize,
    new_indices: &[u8],
    rng: &mut ChaCha20Rng,
) -> (Vec<Share>, Vec<Commitments>) {
    let dealings: Vec<_> = dealers
        .iter()
        .map(|s| reshare::deal(s, new_t, new_indices, rng).unwrap())
        .collect();
    let public: Vec<DealerCommitments> = dealings.iter().map(|d| d.public().clone()).collect();
    new_indices
        .iter()
        .map(|&j| {
            let received: Vec<SubShare> = dealings
                .iter()
                .map(|d| d.sub_share_for(j).unwrap().clone())
                .collect();
            reshare::apply(j, old, new_t, &public, &received).unwrap()
        })
        .unzip()
}

proptest! {
    #![proptest_config(config(32))]

    #[test]
    fn any_t_of_n_reconstruct((t, n) in params(7), seed in any::<u64>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, commitments) = scalar::split(&secret, t, n, &mut rng).unwrap();
        prop_assert_eq!(shares.len(), n);
        prop_assert_eq!(commitments.threshold(), t);
        prop_assert_eq!(commitments.public_key(), RistrettoPoint::mul_base(&secret));
        for _ in 0..3 {
            let subset = choose(&shares, t, &mut rng);
            prop_assert_eq!(*scalar::combine(&subset, t).unwrap().expose_secret(), secret);
            prop_assert_eq!(
                *scalar::combine_verified(&subset, &commitments).unwrap().expose_secret(),
                secret
            );
        }
    }

    #[test]
    fn fewer_than_t_give_the_wrong_secret_or_are_refused(
        (t, n) in params(7).prop_filter("t >= 2", |(t, _)| *t >= 2),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, _) = scalar::split(&secret, t, n, &mut rng).unwrap();
        let subset = choose(&shares, t - 1, &mut rng);
        prop_assert_eq!(
            scalar::combine(&subset, t).unwrap_err(),
            Error::NotEnoughShares { have: t - 1, need: t }
        );
        // Interpolating t - 1 points yields a different polynomial.
        prop_assert_ne!(*scalar::interpolate(&subset, 0).unwrap().expose_secret(), secret);
    }

    #[test]
    fn verify_accepts_honest_shares_and_names_a_tampered_one(
        (t, n) in params(7),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, commitments) = scalar::split(&secret, t, n, &mut rng).unwrap();
        for share in &shares {
            scalar::verify(share, &commitments).unwrap();
            prop_assert_eq!(
                share.verification_share(),
                commitments.verification_share(share.index()).unwrap()
            );
        }
        let victim = &choose(&shares, 1, &mut rng)[0];
        let delta = random_scalar(&mut rng) + Scalar::ONE;
        let tampered = Share::new(victim.index(), victim.expose_secret() + delta).unwrap();
        prop_assert_eq!(
            scalar::verify(&tampered, &commitments).unwrap_err(),
            Error::InvalidShare { index: victim.index() }
        );
        // The right value under another index is no good either.
        let moved = Share::new(victim.index() % 255 + 1, *victim.expose_secret()).unwrap();
        if t > 1 {
            prop_assert_eq!(
                scalar::verify(&moved, &commitments).unwrap_err(),
                Error::InvalidShare { index: moved.index() }
            );
        }
    }

    #[test]
    fn encodings_round_trip((t, n) in params(6), seed in any::<u64>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, commitments) = scalar::split(&secret, t, n, &mut rng).unwrap();
        for share in &shares {
            let bytes = share.to_bytes();
            prop_assert_eq!(bytes.len(), SHARE_LEN);
            prop_assert_eq!(&Share::from_bytes(&*bytes).unwrap(), share);
        }
        let bytes = commitments.to_bytes();
        let decoded = Commitments::from_bytes(&bytes).unwrap();
        prop_assert_eq!(decoded.digest(), commitments.digest());
        prop_assert_eq!(decoded, commitments);
    }

    #[test]
    fn interpolating_at_j_rebuilds_share_j((t, n) in params(7), seed in any::<u64>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, _) = scalar::split(&secret, t, n, &mut rng).unwrap();
        let target = &choose(&shares, 1, &mut rng)[0];
        let subset = choose(&shares, t, &mut rng);
        let rebuilt = scalar::interpolate(&subset, target.index()).unwrap();
        prop_assert_eq!(rebuilt.expose_secret(), target.expose_secret());
    }
}

proptest! {
    #![proptest_config(config(16))]

    #[test]
    fn refresh_keeps_secret_and_public_key_and_changes_every_share(
        (t, n) in params(5),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, group) = scalar::split(&secret, t, n, &mut rng).unwrap();
        let (fresh, views) = run_refresh(&shares, &group, &mut rng);
        let new_group = views[0].clone();
        // Every holder derived the same commitments.
        for view in &views {
            prop_assert_eq!(view.digest(), new_group.digest());
        }
        prop_assert_eq!(new_group.public_key(), group.public_key());
        prop_assert_eq!(new_group.threshold(), t);
        for (old, new) in shares.iter().zip(&fresh) {
            prop_assert_eq!(old.index(), new.index());
            // With t = 1 every share is the secret itself and cannot change.
            if t > 1 {
                prop_assert_ne!(old.expose_secret(), new.expose_secret());
            }
            scalar::verify(new, &new_group).unwrap();
        }
        let subset = choose(&fresh, t, &mut rng);
        prop_assert_eq!(*scalar::combine(&subset, t).unwrap().expose_secret(), secret);
        if t > 1 {
            // Higher commitments change with the shares.
            prop_assert_ne!(new_group.digest(), group.digest());
        }
    }

    #[test]
    fn old_and_new_epochs_do_not_mix(
        (t, n) in params(5).prop_filter("t >= 2", |(t, _)| *t >= 2),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, group) = scalar::split(&secret, t, n, &mut rng).unwrap();
        let (fresh, views) = run_refresh(&shares, &group, &mut rng);
        let new_group = &views[0];
        let old = &choose(&shares, 1, &mut rng)[0];
        prop_assert_eq!(
            scalar::verify(old, new_group).unwrap_err(),
            Error::InvalidShare { index: old.index() }
        );
        let mut mixed: Vec<Share> = fresh
            .iter()
            .filter(|s| s.index() != old.index())
            .take(t - 1)
            .cloned()
            .collect();
        mixed.push(old.clone());
        prop_assert_ne!(*scalar::combine(&mixed, t).unwrap().expose_secret(), secret);
        prop_assert_eq!(
            scalar::combine_verified(&mixed, new_group).unwrap_err(),
            Error::InvalidShare { index: old.index() }
        );
    }

    #[test]
    fn reshare_to_new_committee_keeps_secret_and_public_key(
        (t, n) in params(5),
        (new_t, new_n) in params(5),
        extra_dealers in 0usize..2,
        first_new_index in 1u8..=250,
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, old) = scalar::split(&secret, t, n, &mut rng).unwrap();
        let dealers = choose(&shares, (t + extra_dealers).min(n), &mut rng);
        let new_indices: Vec<u8> = (0..new_n).map(|k| first_new_index + k as u8).collect();
        let (new_shares, views) = run_reshare(&dealers, &old, new_t, &new_indices, &mut rng);
        let new_group = views[0].clone();
        for view in &views {
            prop_assert_eq!(view, &new_group);
        }
        prop_assert_eq!(new_group.public_key(), old.public_key());
        prop_assert_eq!(new_group.threshold(), new_t);
        for share in &new_shares {
            scalar::verify(share, &new_group).unwrap();
        }
        let subset = choose(&new_shares, new_t, &mut rng);
        prop_assert_eq!(*scalar::combine(&subset, new_t).unwrap().expose_secret(), secret);
    }

    #[test]
    fn a_cheating_reshare_dealer_is_named(
        (t, n) in params(5),
        (new_t, new_n) in params(4),
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, old) = scalar::split(&secret, t, n, &mut rng).unwrap();
        let dealers = choose(&shares, t, &mut rng);
        let new_indices: Vec<u8> = (1..=new_n as u8).collect();
        let mut dealings: Vec<_> = dealers
            .iter()
            .map(|s| reshare::deal(s, new_t, &new_indices, &mut rng).unwrap())
            .collect();
        let cheat = (rng.next_u32() as usize) % dealings.len();
        let cheater = dealers[cheat].index();
        let victim = new_indices[(rng.next_u32() as usize) % new_n];

        // 1. A tampered sub-share is caught by the victim and blames the dealer.
        let received = |dealings: &[symbolon_sharing::scalar::Dealing], j: u8, tamper: bool| {
            dealings
                .iter()
                .map(|d| {
                    let s = d.sub_share_for(j).unwrap();
                    if tamper && d.public().dealer() == cheater {
                        SubShare::new(s.dealer(), j, s.expose_secret() + Scalar::ONE).unwrap()
                    } else {
                        s.clone()
                    }
                })
                .collect::<Vec<_>>()
        };
        let public: Vec<_> = dealings.iter().map(|d| d.public().clone()).collect();
        prop_assert_eq!(
            reshare::apply(victim, &old, new_t, &public, &received(&dealings, victim, true))
                .unwrap_err(),
            Error::InvalidSubShare { dealer: cheater, recipient: victim }
        );

        // 2. A missing sub-share names its dealer; too few dealers are refused.
        let mut partial = received(&dealings, victim, false);
        partial.retain(|s| s.dealer() != cheater);
        prop_assert_eq!(
            reshare::apply(victim, &old, new_t, &public, &partial).unwrap_err(),
            Error::MissingSubShare { dealer: cheater, recipient: victim }
        );
        prop_assert_eq!(
            reshare::apply(victim, &old, new_t, &public[1..], &partial).unwrap_err(),
            Error::NotEnoughShares { have: t - 1, need: t }
        );

        // 3. A dealer that re-shares something other than its share is caught by everyone.
        let fake = Share::new(cheater, dealers[cheat].expose_secret() + Scalar::ONE).unwrap();
        dealings[cheat] = reshare::deal(&fake, new_t, &new_indices, &mut rng).unwrap();
        let public: Vec<_> = dealings.iter().map(|d| d.public().clone()).collect();
        prop_assert_eq!(
            reshare::apply(victim, &old, new_t, &public, &received(&dealings, victim, false))
                .unwrap_err(),
            Error::InvalidDealing {
                dealer: cheater,
                reason: "constant term is not the dealer's verification share",
            }
        );
        let blamed = matches!(
            reshare::verify_dealing(&old, new_t, &public[cheat]),
            Err(Error::InvalidDealing { dealer, .. }) if dealer == cheater
        );
        prop_assert!(blamed);
    }

    #[test]
    fn a_cheating_refresh_dealer_is_named((t, n) in params(5), seed in any::<u64>()) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, group) = scalar::split(&secret, t, n, &mut rng).unwrap();
        let indices: Vec<u8> = shares.iter().map(Share::index).collect();
        let cheater = indices[(rng.next_u32() as usize) % n];
        let victim = &shares[(rng.next_u32() as usize) % n];
        let dealings: Vec<_> = indices
            .iter()
            .map(|&d| refresh::deal(d, &group, &indices, &mut rng).unwrap())
            .collect();
        let public: Vec<_> = dealings.iter().map(|d| d.public().clone()).collect();
        let mut received: Vec<SubShare> = dealings
            .iter()
            .map(|d| d.sub_share_for(victim.index()).unwrap().clone())
            .collect();
        let slot = received.iter().position(|s| s.dealer() == cheater).unwrap();
        received[slot] = SubShare::new(
            cheater,
            victim.index(),
            received[slot].expose_secret() + Scalar::ONE,
        )
        .unwrap();
        prop_assert_eq!(
            refresh::apply(victim, &group, &public, &received).unwrap_err(),
            Error::InvalidSubShare { dealer: cheater, recipient: victim.index() }
        );

        // A "refresh" that moves the secret (not a sharing of zero) is refused.
        let (_, nonzero) = scalar::split(&random_scalar(&mut rng), t, n, &mut rng).unwrap();
        let mut public = public;
        public[slot] = DealerCommitments::new(cheater, nonzero).unwrap();
        prop_assert_eq!(
            refresh::verify_dealing(&group, &public[slot]).unwrap_err(),
            Error::InvalidDealing { dealer: cheater, reason: "refresh dealing is not a sharing of zero" }
        );
        prop_assert!(refresh::new_commitments(&group, &public).is_err());
    }

    #[test]
    fn repair_rebuilds_exactly_the_lost_share(
        (t, n) in params(6).prop_filter("a helper set needs t < n", |(t, n)| t < n),
        extra_helpers in 0usize..2,
        seed in any::<u64>(),
    ) {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let secret = random_scalar(&mut rng);
        let (shares, group) = scalar::split(&secret, t, n, &mut rng).unwrap();
        let lost = choose(&shares, 1, &mut rng).remove(0);
        let others: Vec<Share> = shares.iter().filter(|s| s.index() != lost.index()).cloned().collect();
        let helpers = choose(&others, (t + extra_helpers).min(n - 1), &mut rng);
        let helper_indices: Vec<u8> = helpers.iter().map(Share::index).collect();

        let dealings: Vec<_> = helpers
            .iter()
            .map(|h| repair::deal(h, &helper_indices, lost.index(), &mut rng).unwrap())
            .collect();
        let public: Vec<_> = dealings.iter().map(|d| d.public().clone()).collect();
        let pieces_for = |k: u8| -> Vec<SubShare> {
            dealings
                .iter()
                .map(|d| d.pieces().iter().find(|p| p.recipient() == k).unwrap().clone())
                .collect()
        };
        let sums: Vec<SubShare> = helper_indices
            .iter()
            .map(|&k| repair::aggregate(k, &group, &public, &pieces_for(k)).unwrap())
            .collect();
        let repaired = repair::recover(&group, &public, &sums).unwrap();
        prop_assert_eq!(&repaired, &lost);

        // A tampered piece is caught by its recipient and blames the sender.
        let sender = helper_indices[(rng.next_u32() as usize) % helper_indices.len()];
        let receiver = helper_indices[(rng.next_u32() as usize) % helper_indices.len()];
        let mut pieces = pieces_for(receiver);
        let slot = pieces.iter().position(|p| p.dealer() == sender).unwrap();
        pieces[slot] = SubShare::new(sender, receiver, pieces[slot].expose_secret() + Scalar::ONE).unwrap();
        prop_assert_eq!(
            repair::aggregate(receiver, &group, &public, &pieces).unwrap_err(),
            Error::InvalidSubShare { dealer: sender, recipient: receiver }
        );

        // A tampered sum is caught by the new holder and blames the helper.
        let mut bad_sums = sums.clone();
        let slot = bad_sums.iter().position(|s| s.dealer() == sender).unwrap();
        bad_sums[slot] = SubShare::new(sender, lost.index(), bad_sums[slot].expose_secret() + Scalar::ONE).unwrap();
        prop_assert_eq!(
            repair::recover(&group, &public, &bad_sums).unwrap_err(),
            Error::InvalidSubShare { dealer: sender, recipient: lost.index() }
        );

        // A helper that deals pieces of the wrong value (consistently with its
        // own published commitments) is named by everyone.
        let position = helper_indices.iter().position(|&h| h == sender).unwrap();
        let fake = Share::new(sender, helpers[position].expose_secret() + Scalar::ONE).unwrap();
        let mut cheating_public = public.clone();
        cheating_public[position] = repair::deal(&fake, &helper_indices, lost.index(), &mut rng)
            .unwrap()
            .public()
            .clone();
        prop_assert_eq!(
            repair::recover(&group, &cheating_public, &sums).unwrap_err(),
            Error::InvalidDealing { dealer: sender, reason: "pieces do not sum to the helper's share" }
        );
    }
}

#[test]
fn repair_rejects_bad_helper_sets() {
    let mut rng = ChaCha20Rng::seed_from_u64(11);
    let (shares, group) = scalar::split(&Scalar::from(42u8), 2, 4, &mut rng).unwrap();
    assert_eq!(
        repair::deal(&shares[0], &[1, 2], 2, &mut rng).unwrap_err(),
        Error::InvalidIndex { index: 2 }
    );
    assert_eq!(
        repair::deal(&shares[0], &[2, 3], 4, &mut rng).unwrap_err(),
        Error::InvalidIndex { index: 1 }
    );
    let one = repair::deal(&shares[0], &[1], 4, &mut rng).unwrap();
    assert_eq!(
        repair::recover(&group, &[one.public().clone()], &[]).unwrap_err(),
        Error::NotEnoughShares { have: 1, need: 2 }
    );
}

#[test]
fn sub_share_debug_is_redacted() {
    let value = Scalar::from(0xdead_beef_u64);
    let sub = SubShare::new(1, 2, value).unwrap();
    let shown = format!("{sub:?}");
    assert!(shown.contains("redacted"));
    assert!(!shown.contains(&format!("{value:?}")));
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let (_, group) = scalar::split(&value, 2, 3, &mut rng).unwrap();
    let dealing = refresh::deal(1, &group, &[1, 2, 3], &mut rng).unwrap();
    assert!(format!("{dealing:?}").contains("redacted"));
}

/// Cross-check against the audited `vsss-rs` crate: it combines our shares,
/// and its Feldman shares verify and combine here.
mod vsss_cross_check {
    use super::*;
    use vsss_rs::{DefaultShare, IdentifierPrimeField, ReadableShareSet, ValueGroup, feldman};

    type VsssShare = DefaultShare<IdentifierPrimeField<Scalar>, IdentifierPrimeField<Scalar>>;

    proptest! {
        #![proptest_config(config(24))]

        #[test]
        fn vsss_combines_our_shares(
            (t, n) in params(7).prop_filter("vsss-rs needs t >= 2", |(t, _)| *t >= 2),
            seed in any::<u64>(),
        ) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let secret = random_scalar(&mut rng);
            let (shares, _) = scalar::split(&secret, t, n, &mut rng).unwrap();
            let theirs: Vec<VsssShare> = choose(&shares, t, &mut rng)
                .iter()
                .map(|s| VsssShare {
                    identifier: IdentifierPrimeField(Scalar::from(s.index())),
                    value: IdentifierPrimeField(*s.expose_secret()),
                })
                .collect();
            prop_assert_eq!(theirs.combine().unwrap().0, secret);
        }

        #[test]
        fn vsss_feldman_shares_verify_and_combine_here(
            (t, n) in params(7).prop_filter("vsss-rs needs t >= 2", |(t, _)| *t >= 2),
            seed in any::<u64>(),
        ) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let secret = random_scalar(&mut rng);
            let (theirs, verifiers) = feldman::split_secret::<VsssShare, ValueGroup<RistrettoPoint>>(
                t,
                n,
                &IdentifierPrimeField(secret),
                None,
                &mut rng,
            )
            .unwrap();
            // vsss-rs's verifier set is [generator, A_0, ..., A_{t-1}].
            prop_assert_eq!(verifiers[0].0, curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT);
            let commitments =
                Commitments::from_points(verifiers[1..].iter().map(|v| v.0).collect()).unwrap();
            let ours: Vec<Share> = theirs
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    // vsss-rs numbers participants 1, 2, ... by default.
                    prop_assert_eq!(s.identifier.0, Scalar::from(i as u8 + 1));
                    Ok(Share::new(i as u8 + 1, s.value.0).unwrap())
                })
                .collect::<Result<_, TestCaseError>>()?;
            for share in &ours {
                scalar::verify(share, &commitments).unwrap();
            }
            let subset = choose(&ours, t, &mut rng);
            prop_assert_eq!(
                *scalar::combine_verified(&subset, &commitments).unwrap().expose_secret(),
                secret
            );
        }
    }
}
