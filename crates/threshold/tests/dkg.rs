//! Distributed key generation for both key kinds, with cheating
//! participants named.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeMap;

use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use symbolon_threshold::dkg::{
    self, Ed25519, Ristretto255, Round1Package, Round1Secret, Round2Package, Round2Secret, Suite,
};
use symbolon_threshold::{Error, ed25519, tdh2};

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

/// Everyone's round-1 output.
struct Round1<S: Suite> {
    secrets: BTreeMap<u16, Round1Secret<S>>,
    packages: BTreeMap<u16, Round1Package<S>>,
}

fn round1<S: Suite>(t: u16, n: u16, r: &mut ChaCha20Rng) -> Round1<S> {
    let mut secrets = BTreeMap::new();
    let mut packages = BTreeMap::new();
    for i in 1..=n {
        let (secret, package) = dkg::part1::<S, _>(i, t, n, r).unwrap();
        assert_eq!(secret.index(), i);
        secrets.insert(i, secret);
        packages.insert(i, package);
    }
    Round1 { secrets, packages }
}

fn others<V: Clone>(map: &BTreeMap<u16, V>, me: u16) -> BTreeMap<u16, V> {
    map.iter()
        .filter(|&(&i, _)| i != me)
        .map(|(&i, v)| (i, v.clone()))
        .collect()
}

/// Everyone's round-2 output: secrets, and packages by (sender, recipient).
struct Round2<S: Suite> {
    secrets: BTreeMap<u16, Round2Secret<S>>,
    sent: BTreeMap<(u16, u16), Round2Package<S>>,
}

fn round2<S: Suite>(r1: Round1<S>) -> (Round2<S>, BTreeMap<u16, Round1Package<S>>) {
    let mut secrets = BTreeMap::new();
    let mut sent = BTreeMap::new();
    for (i, secret) in r1.secrets {
        let (secret, outgoing) = dkg::part2(secret, &others(&r1.packages, i)).unwrap();
        secrets.insert(i, secret);
        for (j, package) in outgoing {
            sent.insert((i, j), package);
        }
    }
    (Round2 { secrets, sent }, r1.packages)
}

/// What participant `me` received in round 2.
fn inbox<S: Suite>(
    sent: &mut BTreeMap<(u16, u16), Round2Package<S>>,
    me: u16,
) -> BTreeMap<u16, Round2Package<S>> {
    let keys: Vec<(u16, u16)> = sent.keys().copied().filter(|&(_, to)| to == me).collect();
    keys.into_iter()
        .map(|k| (k.0, sent.remove(&k).unwrap()))
        .collect()
}

fn run<S: Suite>(t: u16, n: u16, seed: u8) -> Vec<(S::KeyShare, S::GroupKey)> {
    let mut r = rng(seed);
    let (mut r2, packages) = round2(round1::<S>(t, n, &mut r));
    (1..=n)
        .map(|i| {
            let received = inbox(&mut r2.sent, i);
            dkg::part3(&r2.secrets[&i], &others(&packages, i), &received).unwrap()
        })
        .collect()
}

#[test]
fn ed25519_dkg_then_sign() {
    let out = run::<Ed25519>(3, 5, 1);
    let group = out[0].1.clone();
    for (share, g) in &out {
        assert_eq!(g, &group);
        group.check_share(share).unwrap();
    }
    let signers = [&out[4].0, &out[1].0, &out[2].0];
    let mut r = rng(2);
    let mut commitments = BTreeMap::new();
    let mut nonces = Vec::new();
    for s in signers {
        let (n, c) = ed25519::commit(s, &mut r);
        commitments.insert(s.index(), c);
        nonces.push(n);
    }
    let package = ed25519::SigningPackage::new(b"dkg key", &commitments).unwrap();
    let shares: BTreeMap<u16, ed25519::SignatureShare> = signers
        .iter()
        .zip(nonces)
        .map(|(s, n)| (s.index(), ed25519::sign(s, n, &package).unwrap()))
        .collect();
    let signature = ed25519::aggregate(&package, &shares, &group).unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&group.verifying_key_bytes()).unwrap();
    key.verify_strict(
        b"dkg key",
        &ed25519_dalek::Signature::from_bytes(&signature.to_bytes()),
    )
    .unwrap();
}

#[test]
fn ristretto255_dkg_then_decrypt() {
    let out = run::<Ristretto255>(2, 4, 3);
    let group = out[0].1.clone();
    for (share, g) in &out {
        assert_eq!(g, &group);
        group.check_share(share).unwrap();
    }
    let mut r = rng(4);
    let ciphertext = tdh2::encrypt(&group, b"label", b"from a DKG key", &mut r).unwrap();
    let parts = [
        tdh2::decrypt_share(&out[3].0, &ciphertext, b"label", &mut r).unwrap(),
        tdh2::decrypt_share(&out[1].0, &ciphertext, b"label", &mut r).unwrap(),
    ];
    let plaintext = tdh2::combine(&group, &ciphertext, b"label", &parts).unwrap();
    assert_eq!(plaintext.as_slice(), b"from a DKG key");
}

/// frost-ristretto255 run on its own (dealer and DKG) yields TDH2 keys via
/// its encodings.
#[test]
fn frost_ristretto255_output_converts_to_tdh2_keys() {
    use frost_ristretto255 as frost;
    let os = rand_core_06::OsRng;
    let (shares, public) =
        frost::keys::generate_with_dealer(3, 2, frost::keys::IdentifierList::Default, os).unwrap();
    let group = tdh2::GroupPublic::from_frost_bytes(&public.serialize().unwrap()).unwrap();
    assert_eq!(group.threshold(), 2);
    assert_eq!(
        group.key_bytes().to_vec(),
        public.verifying_key().serialize().unwrap()
    );
    let packages: Vec<frost::keys::KeyPackage> = shares
        .into_values()
        .map(|s| frost::keys::KeyPackage::try_from(s).unwrap())
        .collect();
    let keys: Vec<tdh2::KeyShare> = packages
        .iter()
        .map(|p| tdh2::KeyShare::from_frost_bytes(&p.serialize().unwrap()).unwrap())
        .collect();
    // A package listing another participant's verification share is refused.
    let mismatched = frost::keys::KeyPackage::new(
        *packages[0].identifier(),
        *packages[0].signing_share(),
        *packages[1].verifying_share(),
        *packages[0].verifying_key(),
        *packages[0].min_signers(),
    );
    assert_eq!(
        tdh2::KeyShare::from_frost_bytes(&mismatched.serialize().unwrap()).err(),
        Some(Error::Malformed {
            what: "frost-ristretto255 key package",
            reason: "verification share does not match the signing share"
        })
    );
    let mut r = rng(5);
    let ciphertext = tdh2::encrypt(&group, b"", b"frost keys", &mut r).unwrap();
    let parts = [
        tdh2::decrypt_share(&keys[0], &ciphertext, b"", &mut r).unwrap(),
        tdh2::decrypt_share(&keys[2], &ciphertext, b"", &mut r).unwrap(),
    ];
    assert_eq!(
        tdh2::combine(&group, &ciphertext, b"", &parts)
            .unwrap()
            .as_slice(),
        b"frost keys"
    );
    // An Ed25519 package is refused.
    let (ed_shares, _) = frost_ed25519::keys::generate_with_dealer(
        3,
        2,
        frost_ed25519::keys::IdentifierList::Default,
        os,
    )
    .unwrap();
    let ed =
        frost_ed25519::keys::KeyPackage::try_from(ed_shares.into_values().next().unwrap()).unwrap();
    assert_eq!(
        tdh2::KeyShare::from_frost_bytes(&ed.serialize().unwrap()).err(),
        Some(Error::Malformed {
            what: "frost-ristretto255 key package",
            reason: "encoded for another ciphersuite"
        })
    );
}

/// A participant that sends a secret share inconsistent with its round-1
/// commitment is named by the recipient.
#[test]
fn a_corrupted_round2_package_is_named() {
    let mut r = rng(6);
    let (mut r2, packages) = round2(round1::<Ed25519>(2, 3, &mut r));
    let mut received = inbox(&mut r2.sent, 1);
    // Participant 2 sends participant 1 a different scalar.
    let random = frost_core::keys::SigningShare::<frost_ed25519::Ed25519Sha512>::deserialize(
        &curve25519_dalek::Scalar::from(12345u64).to_bytes(),
    )
    .unwrap();
    let forged = frost_ed25519::keys::dkg::round2::Package::new(random);
    received.insert(
        2,
        Round2Package::from_bytes(&forged.serialize().unwrap()).unwrap(),
    );
    assert_eq!(
        dkg::part3(&r2.secrets[&1], &others(&packages, 1), &received).err(),
        Some(Error::InvalidSecretShare { index: 2 })
    );
    // Participant 3 sends participant 2 the package meant for participant 1.
    let mut r = rng(7);
    let (mut r2, packages) = round2(round1::<Ristretto255>(2, 3, &mut r));
    let mut received = inbox(&mut r2.sent, 2);
    let meant_for_1 = r2.sent.remove(&(3, 1)).unwrap();
    received.insert(3, meant_for_1);
    assert_eq!(
        dkg::part3(&r2.secrets[&2], &others(&packages, 2), &received).err(),
        Some(Error::InvalidSecretShare { index: 3 })
    );
}

#[test]
fn a_bad_round1_package_is_named() {
    let mut r = rng(8);
    let r1 = round1::<Ed25519>(2, 3, &mut r);
    let mut packages = others(&r1.packages, 1);
    // Participant 3 replays participant 2's package: the proof of knowledge
    // is bound to the sender's index.
    packages.insert(3, r1.packages[&2].clone());
    let secret = Round1Secret::<Ed25519>::from_bytes(&r1.secrets[&1].to_bytes()).unwrap();
    assert_eq!(
        dkg::part2(secret, &packages).err(),
        Some(Error::InvalidProofOfKnowledge { index: 3 })
    );
    // Participant 2 commits to a polynomial of the wrong degree.
    let mut other = rng(9);
    let (_, wrong_degree) = dkg::part1::<Ed25519, _>(2, 3, 3, &mut other).unwrap();
    let mut packages = others(&r1.packages, 1);
    packages.insert(2, wrong_degree);
    let secret = Round1Secret::<Ed25519>::from_bytes(&r1.secrets[&1].to_bytes()).unwrap();
    assert_eq!(
        dkg::part2(secret, &packages).err(),
        Some(Error::InvalidPackage {
            index: 2,
            reason: "commits to a polynomial of the wrong degree"
        })
    );
}

#[test]
fn package_sets_are_checked() {
    let mut r = rng(10);
    let r1 = round1::<Ristretto255>(2, 4, &mut r);
    let fresh =
        |i: u16| Round1Secret::<Ristretto255>::from_bytes(&r1.secrets[&i].to_bytes()).unwrap();
    let mut missing = others(&r1.packages, 1);
    missing.remove(&3);
    assert_eq!(
        dkg::part2(fresh(1), &missing).err(),
        Some(Error::MissingPackage { index: 3 })
    );
    assert_eq!(
        dkg::part2(fresh(1), &r1.packages).err(),
        Some(Error::DuplicateIndex { index: 1 })
    );
    let mut stranger = others(&r1.packages, 1);
    stranger.insert(7, r1.packages[&2].clone());
    assert_eq!(
        dkg::part2(fresh(1), &stranger).err(),
        Some(Error::UnknownParticipant { index: 7 })
    );
    assert_eq!(
        dkg::part1::<Ristretto255, _>(5, 2, 4, &mut r).err(),
        Some(Error::InvalidIndex { index: 5 })
    );
    assert_eq!(
        dkg::part1::<Ristretto255, _>(1, 1, 4, &mut r).err(),
        Some(Error::InvalidThreshold {
            threshold: 1,
            participants: 4
        })
    );

    let (mut r2, packages) = round2(r1);
    let mut received = inbox(&mut r2.sent, 4);
    received.remove(&2);
    assert_eq!(
        dkg::part3(&r2.secrets[&4], &others(&packages, 4), &received).err(),
        Some(Error::MissingPackage { index: 2 })
    );
}

/// Every message and secret state survives its encoding, and the DKG
/// completes from decoded values (a custodian restarting between rounds).
#[test]
fn dkg_state_round_trips_through_bytes() {
    let mut r = rng(11);
    let r1 = round1::<Ed25519>(2, 3, &mut r);
    let r1_secret_bytes = r1.secrets[&1].to_bytes();
    let r1 = Round1 {
        secrets: r1
            .secrets
            .iter()
            .map(|(&i, s)| (i, Round1Secret::from_bytes(&s.to_bytes()).unwrap()))
            .collect(),
        packages: r1
            .packages
            .iter()
            .map(|(&i, p)| {
                let back = Round1Package::from_bytes(&p.to_bytes()).unwrap();
                assert_eq!(&back, p);
                (i, back)
            })
            .collect(),
    };
    let (mut r2, packages) = round2(r1);
    r2.secrets = r2
        .secrets
        .iter()
        .map(|(&i, s)| (i, Round2Secret::from_bytes(&s.to_bytes()).unwrap()))
        .collect();
    r2.sent = r2
        .sent
        .iter()
        .map(|(&k, p)| (k, Round2Package::from_bytes(&p.to_bytes()).unwrap()))
        .collect();
    let mut groups = Vec::new();
    for i in 1..=3 {
        let received = inbox(&mut r2.sent, i);
        let (share, group) = dkg::part3(&r2.secrets[&i], &others(&packages, i), &received).unwrap();
        group.check_share(&share).unwrap();
        groups.push(group);
    }
    assert!(groups.windows(2).all(|w| w[0] == w[1]));

    // Strict decoding.
    let bytes = packages[&1].to_bytes();
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        Round1Package::<Ed25519>::from_bytes(&trailing).err(),
        Some(Error::TrailingBytes {
            what: "round-1 package",
            extra: 1
        })
    );
    assert_eq!(
        Round1Package::<Ristretto255>::from_bytes(&bytes).err(),
        Some(Error::Malformed {
            what: "round-1 package",
            reason: "encoded for another ciphersuite"
        })
    );
    let secret = Round1Secret::<Ed25519>::from_bytes(&r1_secret_bytes)
        .unwrap()
        .to_bytes();
    assert_eq!(
        Round1Secret::<Ristretto255>::from_bytes(&secret).err(),
        Some(Error::Malformed {
            what: "round-1 secret",
            reason: "encoded for another ciphersuite"
        })
    );
    let mut trailing = secret.to_vec();
    trailing.push(7);
    assert_eq!(
        Round1Secret::<Ed25519>::from_bytes(&trailing).err(),
        Some(Error::TrailingBytes {
            what: "round-1 secret",
            extra: 1
        })
    );
    assert_eq!(
        Round2Secret::<Ed25519>::from_bytes(&secret).err(),
        Some(Error::BadMagic {
            what: "round-2 secret"
        })
    );
}

#[test]
fn dkg_secrets_are_redacted() {
    let mut r = rng(12);
    let r1 = round1::<Ristretto255>(2, 3, &mut r);
    let shown = format!("{:?}", r1.secrets[&1]);
    assert!(shown.contains("redacted") && shown.contains("ristretto255"));
    let (r2, _) = round2(r1);
    let shown = format!("{:?} {:?}", r2.secrets[&1], r2.sent[&(1, 2)]);
    assert_eq!(shown.matches("redacted").count(), 2, "{shown}");
    let share_hex = {
        let package = frost_ristretto255::keys::dkg::round2::Package::deserialize(
            &r2.sent[&(1, 2)].to_bytes(),
        )
        .unwrap();
        hex::encode(package.signing_share().serialize())
    };
    assert!(!shown.contains(&share_hex));
}
