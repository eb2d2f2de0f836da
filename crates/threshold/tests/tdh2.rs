//! TDH2 threshold decryption: correctness, CCA checks, culprits, encodings.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::{RistrettoPoint, Scalar};
use proptest::prelude::*;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use symbolon_threshold::Error;
use symbolon_threshold::tdh2::{
    self, CIPHERTEXT_OVERHEAD, Ciphertext, DECRYPTION_SHARE_LEN, DecryptionShare, GroupPublic,
    KEY_SHARE_LEN, KeyShare,
};

const LABEL: &[u8] = b"key-7/v3 decrypt";

fn rng(seed: u8) -> ChaCha20Rng {
    ChaCha20Rng::from_seed([seed; 32])
}

fn partials(
    shares: &[&KeyShare],
    ciphertext: &Ciphertext,
    rng: &mut ChaCha20Rng,
) -> Vec<DecryptionShare> {
    shares
        .iter()
        .map(|s| tdh2::decrypt_share(s, ciphertext, LABEL, rng).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    /// Any t of n custodians decrypt; t − 1 are refused; a duplicate does
    /// not count twice.
    #[test]
    fn any_t_of_n_decrypt(
        seed in any::<u8>(),
        t in 2u16..5,
        extra in 0u16..3,
        subset in any::<prop::sample::Index>(),
        plaintext in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let n = t + extra;
        let mut r = rng(seed);
        let (group, shares) = tdh2::deal(t, n, &mut r).unwrap();
        for share in &shares {
            group.check_share(share).unwrap();
        }
        let ciphertext = tdh2::encrypt(&group, LABEL, &plaintext, &mut r).unwrap();
        ciphertext.verify(&group, LABEL).unwrap();
        prop_assert_eq!(ciphertext.plaintext_len(), plaintext.len());
        // t custodians starting at a random slot, in a rotated order.
        let start = subset.index(usize::from(n));
        let chosen: Vec<&KeyShare> =
            (0..usize::from(t)).map(|k| &shares[(start + k) % usize::from(n)]).collect();
        let parts = partials(&chosen, &ciphertext, &mut r);
        for p in &parts {
            tdh2::verify_decryption_share(&group, &ciphertext, p).unwrap();
        }
        let opened = tdh2::combine(&group, &ciphertext, LABEL, &parts).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());

        let fewer = &parts[..usize::from(t) - 1];
        prop_assert_eq!(
            tdh2::combine(&group, &ciphertext, LABEL, fewer),
            Err(Error::NotEnoughShares { have: usize::from(t) - 1, need: t })
        );
        let mut doubled = fewer.to_vec();
        doubled.push(parts[0]);
        prop_assert_eq!(
            tdh2::combine(&group, &ciphertext, LABEL, &doubled),
            Err(Error::DuplicateIndex { index: parts[0].index() })
        );
    }

    /// t − 1 honest decryption shares, interpolated as if they were enough,
    /// do not give the key: the body does not open.
    #[test]
    fn t_minus_one_shares_reveal_nothing_useful(seed in any::<u8>(), t in 3u16..5) {
        let mut r = rng(seed);
        let (group, shares) = tdh2::deal(t, t, &mut r).unwrap();
        let ciphertext = tdh2::encrypt(&group, LABEL, b"secret", &mut r).unwrap();
        let refs: Vec<&KeyShare> = shares.iter().take(usize::from(t) - 1).collect();
        let parts = partials(&refs, &ciphertext, &mut r);
        // A group key of threshold t − 1 over the same verification shares
        // cannot exist (they lie on a degree t − 1 polynomial)...
        let smaller = group_bytes_with_threshold(&group, t - 1);
        prop_assert_eq!(
            GroupPublic::from_bytes(&smaller).err(),
            Some(Error::InconsistentGroupKey)
        );
        // K = x·U, with x interpolated from all t secrets (test only).
        let indices: Vec<u16> = shares.iter().map(KeyShare::index).collect();
        let x: Scalar = shares
            .iter()
            .map(|s| lambda(&indices, s.index()) * s.expose_secret())
            .sum();
        prop_assert_eq!(RistrettoPoint::mul_base(&x).compress().to_bytes(), group.key_bytes());
        let u = CompressedRistretto(ciphertext.to_bytes()[5..37].try_into().unwrap())
            .decompress()
            .unwrap();
        // t shares interpolate to K; t − 1 interpolate to some other point.
        let all: Vec<&KeyShare> = shares.iter().collect();
        let full = partials(&all, &ciphertext, &mut r);
        prop_assert_eq!(interpolate(&full), x * u);
        prop_assert_ne!(interpolate(&parts), x * u);
        // ...and the honest group needs t.
        let need = t;
        prop_assert_eq!(
            tdh2::combine(&group, &ciphertext, LABEL, &parts),
            Err(Error::NotEnoughShares { have: usize::from(t) - 1, need })
        );
    }
}

/// The Lagrange coefficient `λ_i(0)` over `indices`.
fn lambda(indices: &[u16], i: u16) -> Scalar {
    let xi = Scalar::from(i);
    indices
        .iter()
        .filter(|&&j| j != i)
        .map(|&j| Scalar::from(j) * (Scalar::from(j) - xi).invert())
        .product()
}

/// `Σ λ_i(0)·U_i` over the shares' indices, from their encodings.
fn interpolate(shares: &[DecryptionShare]) -> RistrettoPoint {
    let indices: Vec<u16> = shares.iter().map(DecryptionShare::index).collect();
    shares
        .iter()
        .map(|share| {
            let bytes = share.to_bytes();
            let u_i = CompressedRistretto(bytes[7..39].try_into().unwrap())
                .decompress()
                .unwrap();
            u_i * lambda(&indices, share.index())
        })
        .sum()
}

fn group_bytes_with_threshold(group: &GroupPublic, t: u16) -> Vec<u8> {
    let mut bytes = group.to_bytes();
    bytes[5..7].copy_from_slice(&t.to_be_bytes());
    bytes
}

#[test]
fn empty_and_large_plaintexts() {
    let mut r = rng(1);
    let (group, shares) = tdh2::deal(2, 3, &mut r).unwrap();
    for plaintext in [Vec::new(), vec![0x5a; 1 << 16]] {
        let ciphertext = tdh2::encrypt(&group, LABEL, &plaintext, &mut r).unwrap();
        assert_eq!(
            ciphertext.to_bytes().len(),
            CIPHERTEXT_OVERHEAD + plaintext.len()
        );
        let parts = partials(&[&shares[2], &shares[0]], &ciphertext, &mut r);
        let opened = tdh2::combine(&group, &ciphertext, LABEL, &parts).unwrap();
        assert_eq!(opened.as_slice(), plaintext.as_slice());
    }
}

#[test]
fn encryption_is_randomised() {
    let mut r = rng(2);
    let (group, _) = tdh2::deal(2, 3, &mut r).unwrap();
    let a = tdh2::encrypt(&group, LABEL, b"same", &mut r).unwrap();
    let b = tdh2::encrypt(&group, LABEL, b"same", &mut r).unwrap();
    assert_ne!(a.to_bytes(), b.to_bytes());
}

/// Every part of the ciphertext and the label is covered by its proof:
/// custodians refuse before computing anything, and so does the combiner.
#[test]
fn tampered_ciphertexts_and_labels_are_refused() {
    let mut r = rng(3);
    let (group, shares) = tdh2::deal(2, 3, &mut r).unwrap();
    let ciphertext = tdh2::encrypt(&group, LABEL, b"wrapped key", &mut r).unwrap();
    let parts = partials(&[&shares[0], &shares[1]], &ciphertext, &mut r);
    let bytes = ciphertext.to_bytes();
    let other_point = RistrettoPoint::random(&mut r).compress().to_bytes();
    let other_scalar = Scalar::random(&mut r).to_bytes();

    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut u = bytes.clone();
    u[5..37].copy_from_slice(&other_point);
    cases.push(("U", u));
    let mut u_bar = bytes.clone();
    u_bar[37..69].copy_from_slice(&other_point);
    cases.push(("U-bar", u_bar));
    let mut e = bytes.clone();
    e[69..101].copy_from_slice(&other_scalar);
    cases.push(("e", e));
    let mut f = bytes.clone();
    f[101..133].copy_from_slice(&other_scalar);
    cases.push(("f", f));
    let mut body = bytes.clone();
    body[140] ^= 1;
    cases.push(("body", body));
    let mut tag = bytes.clone();
    *tag.last_mut().unwrap() ^= 0x80;
    cases.push(("tag", tag));
    let mut extended = bytes.clone();
    extended.push(0);
    cases.push(("extended body", extended));

    for (what, tampered) in cases {
        let tampered = Ciphertext::from_bytes(&tampered).unwrap();
        assert_eq!(
            tampered.verify(&group, LABEL),
            Err(Error::InvalidCiphertextProof),
            "{what}"
        );
        assert_eq!(
            tdh2::decrypt_share(&shares[0], &tampered, LABEL, &mut r),
            Err(Error::InvalidCiphertextProof),
            "{what}"
        );
        assert_eq!(
            tdh2::combine(&group, &tampered, LABEL, &parts),
            Err(Error::InvalidCiphertextProof),
            "{what}"
        );
    }
    for label in [&b""[..], b"key-7/v3 decrypT", b"key-7/v3 decrypt "] {
        assert_eq!(
            tdh2::decrypt_share(&shares[0], &ciphertext, label, &mut r),
            Err(Error::InvalidCiphertextProof)
        );
        assert_eq!(
            tdh2::combine(&group, &ciphertext, label, &parts),
            Err(Error::InvalidCiphertextProof)
        );
    }
    // The untouched ciphertext still decrypts.
    tdh2::combine(&group, &ciphertext, LABEL, &parts).unwrap();
}

#[test]
fn a_ciphertext_for_another_key_is_refused() {
    let mut r = rng(4);
    let (group_a, _) = tdh2::deal(2, 3, &mut r).unwrap();
    let (group_b, shares_b) = tdh2::deal(2, 3, &mut r).unwrap();
    let ciphertext = tdh2::encrypt(&group_a, LABEL, b"for a", &mut r).unwrap();
    assert_eq!(
        tdh2::decrypt_share(&shares_b[0], &ciphertext, LABEL, &mut r),
        Err(Error::InvalidCiphertextProof)
    );
    assert_eq!(
        ciphertext.verify(&group_b, LABEL),
        Err(Error::InvalidCiphertextProof)
    );
    assert_eq!(
        tdh2::combine(&group_b, &ciphertext, LABEL, &[]),
        Err(Error::InvalidCiphertextProof)
    );
}

/// A custodian that uses a wrong secret (and proves honestly for it) is
/// named, one by one and in combine, wherever it sits in the list.
#[test]
fn a_wrong_decryption_share_is_named() {
    let mut r = rng(5);
    let (group, shares) = tdh2::deal(3, 5, &mut r).unwrap();
    let ciphertext = tdh2::encrypt(&group, LABEL, b"payload", &mut r).unwrap();

    // Participant 4 replaces x_4 by another scalar, keeping index and group.
    let mut forged_bytes = shares[3].to_bytes();
    forged_bytes[9..41].copy_from_slice(&Scalar::random(&mut r).to_bytes());
    let forged = KeyShare::from_bytes(forged_bytes.as_slice()).unwrap();
    assert_eq!(
        group.check_share(&forged),
        Err(Error::KeyMismatch { index: 4 })
    );
    let bad = tdh2::decrypt_share(&forged, &ciphertext, LABEL, &mut r).unwrap();
    assert_eq!(
        tdh2::verify_decryption_share(&group, &ciphertext, &bad),
        Err(Error::InvalidDecryptionShare { index: 4 })
    );
    let good = partials(&[&shares[0], &shares[1], &shares[4]], &ciphertext, &mut r);
    for position in 0..=3 {
        let mut list = good.clone();
        list.insert(position, bad);
        assert_eq!(
            tdh2::combine(&group, &ciphertext, LABEL, &list),
            Err(Error::InvalidDecryptionShare { index: 4 }),
            "bad share at position {position}"
        );
    }
    tdh2::combine(&group, &ciphertext, LABEL, &good).unwrap();

    // A share relabelled with another custodian's index fails its proof.
    let mut relabelled = good[0].to_bytes();
    relabelled[5..7].copy_from_slice(&2u16.to_be_bytes());
    let relabelled = DecryptionShare::from_bytes(&relabelled).unwrap();
    assert_eq!(
        tdh2::verify_decryption_share(&group, &ciphertext, &relabelled),
        Err(Error::InvalidDecryptionShare { index: 2 })
    );
    // A share for another ciphertext fails too.
    let other = tdh2::encrypt(&group, LABEL, b"payload", &mut r).unwrap();
    let replayed = tdh2::decrypt_share(&shares[1], &other, LABEL, &mut r).unwrap();
    assert_eq!(
        tdh2::combine(&group, &ciphertext, LABEL, &[good[0], replayed, good[2]]),
        Err(Error::InvalidDecryptionShare { index: 2 })
    );
    // An index outside the group.
    let mut stranger = good[0].to_bytes();
    stranger[5..7].copy_from_slice(&9u16.to_be_bytes());
    let stranger = DecryptionShare::from_bytes(&stranger).unwrap();
    assert_eq!(
        tdh2::combine(&group, &ciphertext, LABEL, &[stranger, good[1], good[2]]),
        Err(Error::UnknownParticipant { index: 9 })
    );
}

#[test]
fn invalid_thresholds_are_refused() {
    for (t, n) in [(1, 3), (0, 0), (4, 3)] {
        assert_eq!(
            tdh2::deal(t, n, &mut rng(6)).err(),
            Some(Error::InvalidThreshold {
                threshold: t,
                participants: n
            })
        );
    }
}

#[test]
fn encodings_round_trip() {
    let mut r = rng(7);
    let (group, shares) = tdh2::deal(3, 4, &mut r).unwrap();
    assert_eq!(GroupPublic::from_bytes(&group.to_bytes()).unwrap(), group);
    assert_eq!(group.to_bytes().len(), 4 + 1 + 2 + 2 + 32 + 4 * 34);
    for share in &shares {
        let bytes = share.to_bytes();
        assert_eq!(bytes.len(), KEY_SHARE_LEN);
        let back = KeyShare::from_bytes(bytes.as_slice()).unwrap();
        assert_eq!(&back, share);
        assert_eq!(
            back.verification_share_bytes(),
            share.verification_share_bytes()
        );
        assert_eq!(
            group.verification_share_bytes(share.index()),
            Some(share.verification_share_bytes())
        );
        assert_eq!(back.group_key_bytes(), group.key_bytes());
    }
    let ciphertext = tdh2::encrypt(&group, LABEL, b"abc", &mut r).unwrap();
    assert_eq!(
        Ciphertext::from_bytes(&ciphertext.to_bytes()).unwrap(),
        ciphertext
    );
    let share = tdh2::decrypt_share(&shares[2], &ciphertext, LABEL, &mut r).unwrap();
    assert_eq!(share.to_bytes().len(), DECRYPTION_SHARE_LEN);
    assert_eq!(
        DecryptionShare::from_bytes(&share.to_bytes()).unwrap(),
        share
    );
    assert_eq!(share.index(), 3);
}

#[test]
fn malformed_encodings_are_refused_precisely() {
    let mut r = rng(8);
    let (group, shares) = tdh2::deal(2, 3, &mut r).unwrap();
    let ciphertext = tdh2::encrypt(&group, LABEL, b"abc", &mut r).unwrap();
    let ct = ciphertext.to_bytes();
    const CT: &str = "tdh2 ciphertext";

    assert_eq!(
        Ciphertext::from_bytes(&ct[..CIPHERTEXT_OVERHEAD - 1]).err(),
        Some(Error::Truncated {
            what: CT,
            len: CIPHERTEXT_OVERHEAD - 1,
            min: CIPHERTEXT_OVERHEAD
        })
    );
    assert_eq!(
        Ciphertext::from_bytes(&ct[..20]).err(),
        Some(Error::Truncated {
            what: CT,
            len: 20,
            min: 37
        })
    );
    let mut magic = ct.clone();
    magic[0] = b'X';
    assert_eq!(
        Ciphertext::from_bytes(&magic).err(),
        Some(Error::BadMagic { what: CT })
    );
    let mut version = ct.clone();
    version[4] = 2;
    assert_eq!(
        Ciphertext::from_bytes(&version).err(),
        Some(Error::UnsupportedVersion {
            what: CT,
            version: 2
        })
    );
    let mut invalid_u = ct.clone();
    invalid_u[5..37].copy_from_slice(&[0xff; 32]);
    assert_eq!(
        Ciphertext::from_bytes(&invalid_u).err(),
        Some(Error::InvalidPoint { what: CT })
    );
    let mut identity_u = ct.clone();
    identity_u[5..37].copy_from_slice(&[0; 32]);
    assert_eq!(
        Ciphertext::from_bytes(&identity_u).err(),
        Some(Error::InvalidPoint { what: CT })
    );
    let mut wide_e = ct.clone();
    wide_e[69..101].copy_from_slice(&[0xff; 32]);
    assert_eq!(
        Ciphertext::from_bytes(&wide_e).err(),
        Some(Error::InvalidScalar { what: CT })
    );

    const DS: &str = "tdh2 decryption share";
    let share = tdh2::decrypt_share(&shares[0], &ciphertext, LABEL, &mut r)
        .unwrap()
        .to_bytes();
    assert_eq!(
        DecryptionShare::from_bytes(&share[..50]).err(),
        Some(Error::Length {
            what: DS,
            len: 50,
            expected: DECRYPTION_SHARE_LEN
        })
    );
    let mut zero = share;
    zero[5..7].copy_from_slice(&[0, 0]);
    assert_eq!(
        DecryptionShare::from_bytes(&zero).err(),
        Some(Error::InvalidIndex { index: 0 })
    );
    let mut point = share;
    point[7..39].copy_from_slice(&[0xff; 32]);
    assert_eq!(
        DecryptionShare::from_bytes(&point).err(),
        Some(Error::InvalidPoint { what: DS })
    );
    let mut f = share;
    f[71..103].copy_from_slice(&[0xff; 32]);
    assert_eq!(
        DecryptionShare::from_bytes(&f).err(),
        Some(Error::InvalidScalar { what: DS })
    );

    const KS: &str = "tdh2 key share";
    let key = shares[0].to_bytes();
    let mut zero_secret = *key;
    zero_secret[9..41].copy_from_slice(&[0; 32]);
    assert_eq!(
        KeyShare::from_bytes(&zero_secret).err(),
        Some(Error::InvalidScalar { what: KS })
    );
    let mut t1 = *key;
    t1[7..9].copy_from_slice(&1u16.to_be_bytes());
    assert_eq!(
        KeyShare::from_bytes(&t1).err(),
        Some(Error::Malformed {
            what: KS,
            reason: "threshold below 2"
        })
    );
    let mut identity = *key;
    identity[41..73].copy_from_slice(&[0; 32]);
    assert_eq!(
        KeyShare::from_bytes(&identity).err(),
        Some(Error::InvalidPoint { what: KS })
    );
    let mut long = key.to_vec();
    long.push(1);
    assert_eq!(
        KeyShare::from_bytes(&long).err(),
        Some(Error::TrailingBytes { what: KS, extra: 1 })
    );

    const GP: &str = "tdh2 group key";
    let g = group.to_bytes();
    // Swap the first two verification shares (indices stay in order).
    let mut swapped = g.clone();
    let (a, b) = (g[43..75].to_vec(), g[77..109].to_vec());
    swapped[43..75].copy_from_slice(&b);
    swapped[77..109].copy_from_slice(&a);
    assert_eq!(
        GroupPublic::from_bytes(&swapped).err(),
        Some(Error::InconsistentGroupKey)
    );
    let mut unordered = g.clone();
    unordered[75..77].copy_from_slice(&1u16.to_be_bytes());
    assert_eq!(
        GroupPublic::from_bytes(&unordered).err(),
        Some(Error::Malformed {
            what: GP,
            reason: "participant indices are not strictly increasing"
        })
    );
    let mut high = g.clone();
    high[5..7].copy_from_slice(&4u16.to_be_bytes());
    assert_eq!(
        GroupPublic::from_bytes(&high).err(),
        Some(Error::InvalidThreshold {
            threshold: 4,
            participants: 3
        })
    );
    assert_eq!(
        GroupPublic::from_bytes(&g[..g.len() - 1]).err(),
        Some(Error::Truncated {
            what: GP,
            len: g.len() - 1,
            min: g.len()
        })
    );
}

#[test]
fn key_shares_are_redacted() {
    let (_, shares) = tdh2::deal(2, 3, &mut rng(9)).unwrap();
    let secret = hex::encode(shares[0].expose_secret().to_bytes());
    let shown = format!("{:?}", shares[0]);
    assert!(shown.contains("redacted"));
    assert!(!shown.contains(&secret));
}

#[test]
fn encrypting_to_the_bare_group_key_decrypts_through_the_group() {
    let mut r = rng(41);
    let (group, shares) = tdh2::deal(2, 3, &mut r).unwrap();
    let key = tdh2::EncryptionKey::from_bytes(group.key_bytes()).unwrap();
    assert_eq!(key, group.encryption_key());
    assert_eq!(key.to_bytes(), group.key_bytes());
    let ciphertext = tdh2::encrypt_to(&key, LABEL, b"offline", &mut r).unwrap();
    ciphertext.verify(&group, LABEL).unwrap();
    let parts = partials(&[&shares[0], &shares[1]], &ciphertext, &mut r);
    let opened = tdh2::combine(&group, &ciphertext, LABEL, &parts).unwrap();
    assert_eq!(opened.as_slice(), b"offline");
    // The identity and non-canonical encodings are not keys.
    assert_eq!(
        tdh2::EncryptionKey::from_bytes([0; 32]),
        Err(Error::InvalidPoint {
            what: "tdh2 encryption key"
        })
    );
    assert_eq!(
        tdh2::EncryptionKey::from_bytes([0xff; 32]),
        Err(Error::InvalidPoint {
            what: "tdh2 encryption key"
        })
    );
}

#[test]
fn the_combiner_checks_each_share_once_and_takes_only_its_own() {
    let mut r = rng(43);
    let (group, shares) = tdh2::deal(2, 3, &mut r).unwrap();
    let ciphertext = tdh2::encrypt(&group, LABEL, b"as they arrive", &mut r).unwrap();
    let other = tdh2::encrypt(&group, LABEL, b"another one", &mut r).unwrap();
    assert_eq!(
        tdh2::Combiner::new(&group, &ciphertext, b"other label").unwrap_err(),
        Error::InvalidCiphertextProof
    );
    let combiner = tdh2::Combiner::new(&group, &ciphertext, LABEL).unwrap();
    let parts = partials(&[&shares[2], &shares[0]], &ciphertext, &mut r);
    let checked: Vec<_> = parts.iter().map(|p| combiner.check(*p).unwrap()).collect();
    assert_eq!(checked[0].index(), 3);
    assert_eq!(
        combiner.combine(&checked).unwrap().as_slice(),
        b"as they arrive"
    );
    assert_eq!(
        combiner.combine(&checked[..1]).unwrap_err(),
        Error::NotEnoughShares { have: 1, need: 2 }
    );
    assert_eq!(
        combiner.combine(&[checked[0], checked[0]]).unwrap_err(),
        Error::DuplicateIndex { index: 3 }
    );
    // A share of another ciphertext fails its proof here…
    let foreign = partials(&[&shares[1]], &other, &mut r);
    assert_eq!(
        combiner.check(foreign[0]).unwrap_err(),
        Error::InvalidDecryptionShare { index: 2 }
    );
    // …and one checked by another combiner is not taken.
    let other_combiner = tdh2::Combiner::new(&group, &other, LABEL).unwrap();
    let foreign = other_combiner.check(foreign[0]).unwrap();
    let by_another = Error::Malformed {
        what: "decryption share",
        reason: "checked by another combiner",
    };
    assert_eq!(
        combiner.combine(&[checked[0], foreign]).unwrap_err(),
        by_another
    );
    // Nor one checked for the same ciphertext against another group value
    // (here a copy: the combiner cannot tell another sharing of the same
    // key from it).
    let copy = group.clone();
    let twin = tdh2::Combiner::new(&copy, &ciphertext, LABEL).unwrap();
    let lent = twin.check(parts[1]).unwrap();
    assert_eq!(
        combiner.combine(&[checked[0], lent]).unwrap_err(),
        by_another
    );
    assert_eq!(
        twin.combine(&[lent, twin.check(parts[0]).unwrap()])
            .unwrap()
            .as_slice(),
        b"as they arrive"
    );
}
