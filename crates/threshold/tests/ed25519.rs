//! FROST(Ed25519) through the crate's wrappers: dealing, signing, cheater
//! detection, nonce handling, encodings.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeMap;

use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use symbolon_threshold::Error;
use symbolon_threshold::ed25519::{
    self, GroupKey, KeyShare, NonceBatch, Signature, SignatureShare, SigningCommitments,
    SigningPackage,
};

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn dealt(t: u16, n: u16, seed: u8) -> (GroupKey, Vec<KeyShare>) {
    let (group, dealt) = ed25519::deal(t, n, &mut rng(seed)).unwrap();
    let shares = dealt
        .iter()
        .map(|d| KeyShare::from_dealt(&d.to_bytes()).unwrap())
        .collect();
    (group, shares)
}

/// Runs both rounds for `signers`; returns the package and the shares.
fn sign_with(
    signers: &[&KeyShare],
    message: &[u8],
    rng: &mut ChaCha20Rng,
) -> (SigningPackage, BTreeMap<u16, SignatureShare>) {
    let mut nonces = Vec::new();
    let mut commitments = BTreeMap::new();
    for share in signers {
        let (n, c) = ed25519::commit(share, rng);
        assert_eq!(n.commitments(), c);
        nonces.push(n);
        commitments.insert(share.index(), c);
    }
    let package = SigningPackage::new(message, &commitments).unwrap();
    let shares = signers
        .iter()
        .zip(nonces)
        .map(|(share, n)| (share.index(), ed25519::sign(share, n, &package).unwrap()))
        .collect();
    (package, shares)
}

fn verify_strict(group: &GroupKey, message: &[u8], signature: &Signature) {
    let key = ed25519_dalek::VerifyingKey::from_bytes(&group.verifying_key_bytes()).unwrap();
    let sig = ed25519_dalek::Signature::from_bytes(&signature.to_bytes());
    key.verify_strict(message, &sig).unwrap();
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Any t (or more) of n dealt shares produce a signature that passes
    /// ed25519-dalek's verify_strict; every share verifies on its own.
    #[test]
    fn any_t_of_n_sign(
        seed in any::<u8>(),
        t in 2u16..5,
        extra in 0u16..3,
        chosen in any::<prop::sample::Index>(),
        message in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let n = t + extra;
        let (group, shares) = dealt(t, n, seed);
        prop_assert_eq!(group.threshold(), t);
        prop_assert_eq!(group.participants(), (1..=n).collect::<Vec<_>>());
        // A rotating window of t..=n signers.
        let count = usize::from(t) + chosen.index(usize::from(extra) + 1);
        let start = chosen.index(usize::from(n));
        let signers: Vec<&KeyShare> = (0..count).map(|k| &shares[(start + k) % usize::from(n)]).collect();
        let mut r = rng(seed.wrapping_add(1));
        let (package, sig_shares) = sign_with(&signers, &message, &mut r);
        for (&index, share) in &sig_shares {
            ed25519::verify_share(&group, index, share, &package).unwrap();
        }
        let signature = ed25519::aggregate(&package, &sig_shares, &group).unwrap();
        group.verify(&message, &signature).unwrap();
        verify_strict(&group, &message, &signature);
        prop_assert_eq!(
            group.verify(b"another message", &signature),
            Err(Error::InvalidSignature)
        );
    }
}

#[test]
fn invalid_thresholds_are_refused() {
    for (t, n) in [(1, 3), (0, 3), (4, 3), (2, 1)] {
        assert_eq!(
            ed25519::deal(t, n, &mut rng(1)).err(),
            Some(Error::InvalidThreshold {
                threshold: t,
                participants: n
            })
        );
    }
}

#[test]
fn dealt_share_is_checked_against_the_commitment() {
    let (group, dealt) = ed25519::deal(2, 3, &mut rng(2)).unwrap();
    for d in &dealt {
        let share = KeyShare::from_dealt(&d.to_bytes()).unwrap();
        assert_eq!(share.index(), d.index());
        assert_eq!(share.threshold(), 2);
        assert_eq!(share.verifying_key_bytes(), group.verifying_key_bytes());
        group.check_share(&share).unwrap();
    }
    // Replace participant 2's secret share, keeping the dealer's commitment.
    let original = frost_ed25519::keys::SecretShare::deserialize(&dealt[1].to_bytes()).unwrap();
    let other = frost_ed25519::keys::SecretShare::deserialize(&dealt[2].to_bytes()).unwrap();
    let forged = frost_ed25519::keys::SecretShare::new(
        *original.identifier(),
        *other.signing_share(),
        original.commitment().clone(),
    );
    assert_eq!(
        KeyShare::from_dealt(&forged.serialize().unwrap()),
        Err(Error::InvalidDealtShare)
    );
    // A share with its identifier swapped does not match either.
    let moved = frost_ed25519::keys::SecretShare::new(
        *other.identifier(),
        *original.signing_share(),
        original.commitment().clone(),
    );
    assert_eq!(
        KeyShare::from_dealt(&moved.serialize().unwrap()),
        Err(Error::InvalidDealtShare)
    );
}

#[test]
fn shares_of_another_key_do_not_belong() {
    let (group, _) = dealt(2, 3, 3);
    let (_, other) = dealt(2, 3, 4);
    assert_eq!(
        group.check_share(&other[0]),
        Err(Error::KeyMismatch { index: 1 })
    );
    let (_, bigger) = dealt(2, 5, 4);
    assert_eq!(
        group.check_share(&bigger[4]),
        Err(Error::UnknownParticipant { index: 5 })
    );
}

#[test]
fn a_bad_signature_share_is_named() {
    let (group, shares) = dealt(3, 5, 5);
    let signers = [&shares[0], &shares[2], &shares[4]];
    let mut r = rng(6);
    let (package, mut sig_shares) = sign_with(&signers, b"msg", &mut r);
    // Participant 3 sends participant 5's share instead of its own.
    let stolen = sig_shares[&5];
    sig_shares.insert(3, stolen);
    assert_eq!(
        ed25519::verify_share(&group, 3, &stolen, &package),
        Err(Error::InvalidSignatureShare { index: 3 })
    );
    ed25519::verify_share(&group, 5, &stolen, &package).unwrap();
    assert_eq!(
        ed25519::aggregate(&package, &sig_shares, &group),
        Err(Error::InvalidSignatureShare { index: 3 })
    );
    // A share made for another message is just as bad.
    let (_, other) = sign_with(&signers, b"other", &mut r);
    sig_shares.insert(3, other[&3]);
    assert_eq!(
        ed25519::aggregate(&package, &sig_shares, &group),
        Err(Error::InvalidSignatureShare { index: 3 })
    );
    assert_eq!(
        ed25519::verify_share(&group, 2, &stolen, &package),
        Err(Error::UnknownParticipant { index: 2 })
    );
    assert_eq!(
        ed25519::verify_share(&group, 9, &stolen, &package),
        Err(Error::UnknownParticipant { index: 9 })
    );
}

#[test]
fn aggregate_checks_the_signer_set() {
    let (group, shares) = dealt(2, 3, 7);
    let mut r = rng(8);
    let (package, sig_shares) = sign_with(&[&shares[0], &shares[1]], b"m", &mut r);
    let mut missing = sig_shares.clone();
    missing.remove(&2);
    assert_eq!(
        ed25519::aggregate(&package, &missing, &group),
        Err(Error::MissingPackage { index: 2 })
    );
    let mut extra = sig_shares.clone();
    extra.insert(3, sig_shares[&1]);
    assert_eq!(
        ed25519::aggregate(&package, &extra, &group),
        Err(Error::UnknownParticipant { index: 3 })
    );
    let (small_group, _) = dealt(2, 2, 7);
    let (_, big) = dealt(2, 3, 9);
    let (package3, shares3) = sign_with(&[&big[0], &big[2]], b"m", &mut r);
    assert_eq!(
        ed25519::aggregate(&package3, &shares3, &small_group),
        Err(Error::UnknownParticipant { index: 3 })
    );
}

#[test]
fn sign_checks_the_package() {
    let (_, shares) = dealt(2, 3, 10);
    let mut r = rng(11);
    let (n1, c1) = ed25519::commit(&shares[0], &mut r);
    let (_, c2) = ed25519::commit(&shares[1], &mut r);
    let (_, c3) = ed25519::commit(&shares[2], &mut r);
    let without_me = SigningPackage::new(b"m", &BTreeMap::from([(2, c2), (3, c3)])).unwrap();
    assert_eq!(
        ed25519::sign(&shares[0], n1, &without_me).err(),
        Some(Error::MissingCommitment { index: 1 })
    );
    // Those nonces are gone; fresh ones that are not the listed ones:
    let (n1, _) = ed25519::commit(&shares[0], &mut r);
    let wrong = SigningPackage::new(b"m", &BTreeMap::from([(1, c1), (2, c2)])).unwrap();
    assert_eq!(
        ed25519::sign(&shares[0], n1, &wrong).err(),
        Some(Error::NonceMismatch { index: 1 })
    );
    let (n1, c1) = ed25519::commit(&shares[0], &mut r);
    let alone = SigningPackage::new(b"m", &BTreeMap::from([(1, c1)])).unwrap();
    assert_eq!(
        ed25519::sign(&shares[0], n1, &alone).err(),
        Some(Error::NotEnoughShares { have: 1, need: 2 })
    );
    assert_eq!(
        SigningPackage::new(b"m", &BTreeMap::from([(0, c1)])).err(),
        Some(Error::InvalidIndex { index: 0 })
    );
}

/// A persisted nonce batch yields each nonce pair once: `take` removes it,
/// and a batch stored after the take no longer holds it.
#[test]
fn nonce_batch_hands_out_each_nonce_once() {
    let (group, shares) = dealt(2, 3, 12);
    let mut r = rng(13);
    let (batch, published) = NonceBatch::generate(&shares[0], 4, &mut r);
    assert_eq!(batch.len(), 4);
    assert_eq!(batch.commitments(), published);
    let stored = batch.to_bytes();
    drop(batch);

    let mut batch = NonceBatch::from_bytes(&stored).unwrap();
    let nonces = batch.take(&published[2]).unwrap();
    assert_eq!(nonces.commitments(), published[2]);
    assert!(batch.take(&published[2]).is_none());
    let stored = batch.to_bytes(); // persisted before signing
    assert_eq!(batch.len(), 3);

    let (n2, c2) = ed25519::commit(&shares[1], &mut r);
    let package = SigningPackage::new(
        b"pre-committed",
        &BTreeMap::from([(1, published[2]), (2, c2)]),
    )
    .unwrap();
    let s1 = ed25519::sign(&shares[0], nonces, &package).unwrap();
    let s2 = ed25519::sign(&shares[1], n2, &package).unwrap();
    let signature =
        ed25519::aggregate(&package, &BTreeMap::from([(1, s1), (2, s2)]), &group).unwrap();
    verify_strict(&group, b"pre-committed", &signature);

    let mut reloaded = NonceBatch::from_bytes(&stored).unwrap();
    assert!(reloaded.take(&published[2]).is_none());
    assert_eq!(reloaded.commitments().len(), 3);
    for c in [&published[0], &published[1], &published[3]] {
        assert!(reloaded.take(c).is_some());
    }
    assert!(reloaded.is_empty());
}

#[test]
fn nonce_batch_decoding_is_strict() {
    let (_, shares) = dealt(2, 3, 14);
    let (batch, _) = NonceBatch::generate(&shares[0], 2, &mut rng(15));
    let bytes = batch.to_bytes().to_vec();
    let mut trailing = bytes.clone();
    trailing.push(0);
    assert_eq!(
        NonceBatch::from_bytes(&trailing).err(),
        Some(Error::TrailingBytes {
            what: "nonce batch",
            extra: 1
        })
    );
    assert_eq!(
        NonceBatch::from_bytes(&bytes[..bytes.len() - 1]).err(),
        Some(Error::Truncated {
            what: "nonce batch",
            len: bytes.len() - 1,
            min: bytes.len()
        })
    );
    // The same entry twice: count 2, entry 0 repeated.
    let entry_len = usize::from(u16::from_be_bytes([bytes[7], bytes[8]]));
    let entry = &bytes[7..9 + entry_len];
    let mut doubled = bytes[..7].to_vec();
    doubled.extend_from_slice(entry);
    doubled.extend_from_slice(entry);
    assert_eq!(
        NonceBatch::from_bytes(&doubled).err(),
        Some(Error::Malformed {
            what: "nonce batch",
            reason: "the same nonces appear twice"
        })
    );
    // An entry whose stored commitments are not those of its nonces.
    let (other, _) = NonceBatch::generate(&shares[0], 1, &mut rng(16));
    let other = other.to_bytes();
    let frost_a = frost_ed25519::round1::SigningNonces::deserialize(&entry[2..]).unwrap();
    let frost_b = frost_ed25519::round1::SigningNonces::deserialize(&other[9..]).unwrap();
    let mut mixed = frost_a.serialize().unwrap();
    let commitments_a = frost_a.commitments().serialize().unwrap();
    let commitments_b = frost_b.commitments().serialize().unwrap();
    let at = mixed
        .windows(commitments_a.len())
        .position(|w| w == commitments_a.as_slice())
        .unwrap();
    mixed[at..at + commitments_b.len()].copy_from_slice(&commitments_b);
    let mut forged = bytes[..5].to_vec();
    forged.extend_from_slice(&1u16.to_be_bytes());
    forged.extend_from_slice(&u16::try_from(mixed.len()).unwrap().to_be_bytes());
    forged.extend_from_slice(&mixed);
    assert_eq!(
        NonceBatch::from_bytes(&forged).err(),
        Some(Error::Malformed {
            what: "nonce batch",
            reason: "commitments do not match the nonces"
        })
    );
    assert_eq!(
        NonceBatch::from_bytes(b"SYFX\x01\x00\x00").err(),
        Some(Error::BadMagic {
            what: "nonce batch"
        })
    );
}

#[test]
fn encodings_round_trip() {
    let (group, dealt_shares) = ed25519::deal(2, 3, &mut rng(17)).unwrap();
    let share = ed25519::DealtShare::from_bytes(&dealt_shares[0].to_bytes()).unwrap();
    assert_eq!(share.index(), 1);
    assert_eq!(share.to_bytes(), dealt_shares[0].to_bytes());
    let key_share = KeyShare::from_dealt(&share.to_bytes()).unwrap();
    assert_eq!(
        KeyShare::from_bytes(&key_share.to_bytes()).unwrap(),
        key_share
    );
    assert_eq!(GroupKey::from_bytes(&group.to_bytes()).unwrap(), group);

    let shares: Vec<KeyShare> = dealt_shares
        .iter()
        .map(|d| KeyShare::from_dealt(&d.to_bytes()).unwrap())
        .collect();
    let mut r = rng(18);
    let (package, sig_shares) = sign_with(&[&shares[0], &shares[1]], b"rt", &mut r);
    assert_eq!(
        SigningPackage::from_bytes(&package.to_bytes()).unwrap(),
        package
    );
    let decoded = SigningPackage::from_bytes(&package.to_bytes()).unwrap();
    assert_eq!(decoded.participants(), &[1, 2]);
    assert_eq!(decoded.message(), b"rt");
    let c1 = package.commitment(1).unwrap();
    assert_eq!(SigningCommitments::from_bytes(&c1.to_bytes()).unwrap(), c1);
    assert!(package.commitment(3).is_none());
    for s in sig_shares.values() {
        assert_eq!(SignatureShare::from_bytes(&s.to_bytes()).unwrap(), *s);
    }
    let signature = ed25519::aggregate(&package, &sig_shares, &group).unwrap();
    assert_eq!(
        Signature::from_bytes(&signature.to_bytes()).unwrap(),
        signature
    );
}

#[test]
fn malformed_encodings_are_refused_precisely() {
    let (group, shares) = dealt(2, 3, 19);
    let key_bytes = shares[0].to_bytes().to_vec();

    assert_eq!(
        KeyShare::from_bytes(&key_bytes[..3]).err(),
        Some(Error::Truncated {
            what: "ed25519 key share",
            len: 3,
            min: 5
        })
    );
    assert_eq!(
        KeyShare::from_bytes(&key_bytes[..key_bytes.len() - 1]).err(),
        Some(Error::Malformed {
            what: "ed25519 key share",
            reason: "invalid frost-core encoding (truncated, or a field out of range)"
        })
    );
    // A key package whose verification share is another participant's.
    let package = frost_ed25519::keys::KeyPackage::deserialize(&key_bytes).unwrap();
    let other = frost_ed25519::keys::KeyPackage::deserialize(&shares[1].to_bytes()).unwrap();
    let mismatched = frost_ed25519::keys::KeyPackage::new(
        *package.identifier(),
        *package.signing_share(),
        *other.verifying_share(),
        *package.verifying_key(),
        *package.min_signers(),
    );
    assert_eq!(
        KeyShare::from_bytes(&mismatched.serialize().unwrap()).err(),
        Some(Error::Malformed {
            what: "ed25519 key share",
            reason: "verification share does not match the signing share"
        })
    );
    let mut trailing = key_bytes.clone();
    trailing.extend_from_slice(b"xx");
    assert_eq!(
        KeyShare::from_bytes(&trailing).err(),
        Some(Error::TrailingBytes {
            what: "ed25519 key share",
            extra: 2
        })
    );
    let mut version = key_bytes.clone();
    version[0] = 1;
    assert_eq!(
        KeyShare::from_bytes(&version).err(),
        Some(Error::UnsupportedVersion {
            what: "ed25519 key share",
            version: 1
        })
    );
    // A ristretto255 key package is not an Ed25519 key share.
    let (frost_shares, _) = frost_ristretto255::keys::generate_with_dealer(
        3,
        2,
        frost_ristretto255::keys::IdentifierList::Default,
        rand_core_06_rng(),
    )
    .unwrap();
    let package =
        frost_ristretto255::keys::KeyPackage::try_from(frost_shares.into_values().next().unwrap())
            .unwrap();
    assert_eq!(
        KeyShare::from_bytes(&package.serialize().unwrap()).err(),
        Some(Error::Malformed {
            what: "ed25519 key share",
            reason: "encoded for another ciphersuite"
        })
    );

    // Signature shares and signatures: raw RFC encodings.
    assert_eq!(
        SignatureShare::from_bytes(&[0; 31]).err(),
        Some(Error::Length {
            what: "signature share",
            len: 31,
            expected: 32
        })
    );
    assert_eq!(
        SignatureShare::from_bytes(&[0xff; 32]).err(),
        Some(Error::InvalidScalar {
            what: "signature share"
        })
    );
    let mut r = rng(20);
    let (package, sig_shares) = sign_with(&[&shares[0], &shares[1]], b"x", &mut r);
    let signature = ed25519::aggregate(&package, &sig_shares, &group).unwrap();
    let mut bad_s = signature.to_bytes();
    bad_s[32..].copy_from_slice(&[0xff; 32]);
    assert_eq!(
        Signature::from_bytes(&bad_s).err(),
        Some(Error::InvalidScalar { what: "signature" })
    );
    let mut bad_r = signature.to_bytes();
    bad_r[..32].copy_from_slice(&not_a_point());
    assert_eq!(
        Signature::from_bytes(&bad_r).err(),
        Some(Error::InvalidPoint { what: "signature" })
    );
    assert_eq!(
        Signature::from_bytes(&[0; 63]).err(),
        Some(Error::Length {
            what: "signature",
            len: 63,
            expected: 64
        })
    );
}

/// A 32-byte string that is not the encoding of an Edwards point.
fn not_a_point() -> [u8; 32] {
    (2u8..)
        .map(|b| {
            let mut bytes = [0u8; 32];
            bytes[0] = b;
            bytes
        })
        .find(|bytes| {
            curve25519_dalek::edwards::CompressedEdwardsY(*bytes)
                .decompress()
                .is_none()
        })
        .unwrap()
}

fn rand_core_06_rng() -> impl rand_core_06::RngCore + rand_core_06::CryptoRng {
    rand_core_06::OsRng
}

#[test]
fn inconsistent_group_key_is_refused() {
    let (group, _) = dealt(2, 3, 21);
    let package = frost_ed25519::keys::PublicKeyPackage::deserialize(&group.to_bytes()).unwrap();
    let shares = package.verifying_shares();
    let ids: Vec<_> = shares.keys().copied().collect();
    let mut swapped = shares.clone();
    swapped.insert(ids[0], shares[&ids[1]]);
    swapped.insert(ids[1], shares[&ids[0]]);
    let forged =
        frost_ed25519::keys::PublicKeyPackage::new(swapped, *package.verifying_key(), Some(2));
    assert_eq!(
        GroupKey::from_bytes(&forged.serialize().unwrap()).err(),
        Some(Error::InconsistentGroupKey)
    );
    let without_threshold =
        frost_ed25519::keys::PublicKeyPackage::new(shares.clone(), *package.verifying_key(), None);
    assert_eq!(
        GroupKey::from_bytes(&without_threshold.serialize().unwrap()).err(),
        Some(Error::Malformed {
            what: "ed25519 group key",
            reason: "no threshold (a frost-core 2 package)"
        })
    );
    let too_high = frost_ed25519::keys::PublicKeyPackage::new(
        shares.clone(),
        *package.verifying_key(),
        Some(4),
    );
    assert_eq!(
        GroupKey::from_bytes(&too_high.serialize().unwrap()).err(),
        Some(Error::InvalidThreshold {
            threshold: 4,
            participants: 3
        })
    );
}

#[test]
fn secrets_are_redacted() {
    let (group, dealt_shares) = ed25519::deal(2, 3, &mut rng(22)).unwrap();
    let share = KeyShare::from_dealt(&dealt_shares[0].to_bytes()).unwrap();
    let secret_hex = {
        let package = frost_ed25519::keys::KeyPackage::deserialize(&share.to_bytes()).unwrap();
        hex::encode(package.signing_share().serialize())
    };
    let (nonces, _) = ed25519::commit(&share, &mut rng(23));
    let (batch, _) = NonceBatch::generate(&share, 1, &mut rng(24));
    // The batch's one entry follows its 9-byte header and entry length.
    let stored = frost_ed25519::round1::SigningNonces::deserialize(&batch.to_bytes()[9..]).unwrap();
    let nonce_hex = [stored.hiding().serialize(), stored.binding().serialize()].map(hex::encode);
    for shown in [
        format!("{share:?}"),
        format!("{:?}", dealt_shares[0]),
        format!("{nonces:?}"),
        format!("{batch:?}"),
    ] {
        assert!(shown.contains("redacted"), "{shown}");
        assert!(!shown.contains(&secret_hex), "{shown}");
        for nonce in &nonce_hex {
            assert!(!shown.contains(nonce.as_str()), "{shown}");
        }
    }
    assert!(format!("{group:?}").contains(&hex::encode(group.verifying_key_bytes())));
}
