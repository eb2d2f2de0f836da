//! Known-answer vectors: RFC 9591 Appendix E.1 (FROST(Ed25519, SHA-512))
//! through this crate's wrappers; this crate's encodings frozen under
//! `tests/data/` (seeded runs in `*_vectors.txt`, and `fail_*.hex` files that
//! must fail to decode with the stated error).
//!
//! Regenerate the data files (only after an intended format change) with
//! `SYMBOLON_BLESS_VECTORS=1 cargo test -p symbolon-threshold --test vectors`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use curve25519_dalek::Scalar;
use curve25519_dalek::edwards::EdwardsPoint;
use frost_ed25519 as frost;
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use symbolon_threshold::ed25519::{self, GroupKey, KeyShare, NonceBatch, SigningPackage};
use symbolon_threshold::{Error, tdh2};

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn blessing() -> bool {
    std::env::var_os("SYMBOLON_BLESS_VECTORS").is_some()
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).unwrap()
}

fn array32(s: &str) -> [u8; 32] {
    unhex(s).try_into().unwrap()
}

// RFC 9591, Appendix E.1: FROST(Ed25519, SHA-512), t = 2, n = 3.
const GROUP_SECRET: &str = "7b1c33d3f5291d85de664833beb1ad469f7fb6025a0ec78b3a790c6e13a98304";
const VERIFYING_KEY: &str = "15d21ccd7ee42959562fc8aa63224c8851fb3ec85a3faf66040d380fb9738673";
const MESSAGE: &str = "74657374";
const COEFFICIENT: &str = "178199860edd8c62f5212ee91eff1295d0d670ab4ed4506866bae57e7030b204";
const SHARES: [&str; 3] = [
    "929dcc590407aae7d388761cddb0c0db6f5627aea8e217f4a033f2ec83d93509",
    "a91e66e012e4364ac9aaa405fcafd370402d9859f7b6685c07eed76bf409e80d",
    "d3cb090a075eb154e82fdb4b3cb507f110040905468bb9c46da8bdea643a9a02",
];
/// Per signer (1 and 3): hiding nonce, binding nonce, their commitments,
/// and the signature share.
const SIGNERS: [(u16, [&str; 5]); 2] = [
    (
        1,
        [
            "ef6599dea4010581a72b3018c37c29a4341d7cab0773e8687ca74dcf14009701",
            "2baadfa0c69aa60d517ad4751de372a73f9d89cfc39026601f18458cdec12605",
            "9b116f12589591a7e23fe8048059ab10ab48e67739e7a2fb3890f61a7999478c",
            "c39b66b7dfccb122da24f13587f9a08c4347cae70046ca15169adf90ba65854d",
            "60997f0142e43e8005027fe5ab7447dac00d22c2d7ddd9571a02613ba7d81c08",
        ],
    ),
    (
        3,
        [
            "80f8d9a4b8f9366e1a0b618107c907cd3ee29fa9bb40b4691cc1bde696240005",
            "2610b664a5a187b4855e87d2ff485bebdf043dc2f161fcd4854cd01dc0276404",
            "e679a2a971748ccfaabead4dbe8ac1def61275c186c79d471e1e45091ad1e687",
            "b2a942478453fabb6bd3181c56ba657413447b4136e1daea2484d396d1a516b3",
            "79390e78bc59699c7af831f8f5fb478ec871a85f561a8641b5670ac4443f720f",
        ],
    ),
];
const SIGNATURE: &str = "154fb694ee7fcb37bf2381d94488c2a84b03b3352ad085feca81ad26d45852b7\
                         ecfe971ce4da95c4a95db93ac376b053897fca212ef85f99cf696bffeb178f07";

fn identifier(i: u16) -> frost::Identifier {
    frost::Identifier::try_from(i).unwrap()
}

fn signing_share(hex: &str) -> frost::keys::SigningShare {
    frost::keys::SigningShare::deserialize(&unhex(hex)).unwrap()
}

/// The RFC's key shares, as frost-core key packages, into our `KeyShare`.
fn rfc_key_share(i: u16) -> KeyShare {
    let share = signing_share(SHARES[usize::from(i) - 1]);
    let package = frost::keys::KeyPackage::new(
        identifier(i),
        share,
        frost::keys::VerifyingShare::from(share),
        frost::VerifyingKey::deserialize(&unhex(VERIFYING_KEY)).unwrap(),
        2,
    );
    KeyShare::from_bytes(&package.serialize().unwrap()).unwrap()
}

/// The RFC's group: its verifying key and the verification shares of its
/// three key shares, threshold 2, into our `GroupKey` (whose consistency
/// check interpolates the shares back to the verifying key).
fn rfc_group() -> GroupKey {
    let shares = (1..=3)
        .map(|i| {
            let share = signing_share(SHARES[usize::from(i) - 1]);
            (identifier(i), frost::keys::VerifyingShare::from(share))
        })
        .collect();
    let package = frost::keys::PublicKeyPackage::new(
        shares,
        frost::VerifyingKey::deserialize(&unhex(VERIFYING_KEY)).unwrap(),
        Some(2),
    );
    GroupKey::from_bytes(&package.serialize().unwrap()).unwrap()
}

#[test]
fn rfc9591_dealer_shares_lie_on_the_polynomial() {
    let secret = Scalar::from_canonical_bytes(array32(GROUP_SECRET)).unwrap();
    let coefficient = Scalar::from_canonical_bytes(array32(COEFFICIENT)).unwrap();
    assert_eq!(
        EdwardsPoint::mul_base(&secret).compress().to_bytes(),
        array32(VERIFYING_KEY)
    );
    for (i, share) in (1u64..).zip(SHARES) {
        assert_eq!(
            (secret + coefficient * Scalar::from(i)).to_bytes(),
            array32(share)
        );
    }
    let group = rfc_group();
    assert_eq!(group.verifying_key_bytes(), array32(VERIFYING_KEY));
    for i in 1..=3 {
        group.check_share(&rfc_key_share(i)).unwrap();
    }
}

#[test]
fn rfc9591_signing_through_the_wrappers() {
    let group = rfc_group();
    let message = unhex(MESSAGE);
    let mut commitments = BTreeMap::new();
    let mut nonces = Vec::new();
    for (i, [hiding, binding, hiding_commitment, binding_commitment, _]) in SIGNERS {
        // The RFC's nonces enter only through a stored nonce batch.
        let frost_nonces = frost::round1::SigningNonces::from_nonces(
            frost_core::round1::Nonce::<frost::Ed25519Sha512>::deserialize(&unhex(hiding)).unwrap(),
            frost_core::round1::Nonce::<frost::Ed25519Sha512>::deserialize(&unhex(binding))
                .unwrap(),
        );
        let entry = frost_nonces.serialize().unwrap();
        let mut stored = b"SYFN\x01\x00\x01".to_vec();
        stored.extend_from_slice(&u16::try_from(entry.len()).unwrap().to_be_bytes());
        stored.extend_from_slice(&entry);
        let mut batch = NonceBatch::from_bytes(&stored).unwrap();
        // The commitments are the RFC's.
        let expected = frost::round1::SigningCommitments::new(
            frost::round1::NonceCommitment::deserialize(&unhex(hiding_commitment)).unwrap(),
            frost::round1::NonceCommitment::deserialize(&unhex(binding_commitment)).unwrap(),
        );
        let expected =
            ed25519::SigningCommitments::from_bytes(&expected.serialize().unwrap()).unwrap();
        assert_eq!(batch.commitments(), vec![expected]);
        nonces.push((i, batch.take(&expected).unwrap()));
        commitments.insert(i, expected);
    }
    let package = SigningPackage::new(&message, &commitments).unwrap();
    let mut shares = BTreeMap::new();
    for ((i, n), (_, [.., sig_share])) in nonces.into_iter().zip(SIGNERS) {
        let share = ed25519::sign(&rfc_key_share(i), n, &package).unwrap();
        assert_eq!(hex::encode(share.to_bytes()), sig_share, "signer {i}");
        ed25519::verify_share(&group, i, &share, &package).unwrap();
        shares.insert(i, share);
    }
    let signature = ed25519::aggregate(&package, &shares, &group).unwrap();
    assert_eq!(hex::encode(signature.to_bytes()), SIGNATURE);
    let key = ed25519_dalek::VerifyingKey::from_bytes(&array32(VERIFYING_KEY)).unwrap();
    key.verify_strict(
        &message,
        &ed25519_dalek::Signature::from_bytes(&signature.to_bytes()),
    )
    .unwrap();
    group.verify(&message, &signature).unwrap();
}

/// `name hex` lines.
type Entries = Vec<(String, Vec<u8>)>;

fn render(header: &str, entries: &Entries) -> String {
    let mut out = String::from(header);
    for (name, bytes) in entries {
        out.push_str(&format!("{name} {}\n", hex::encode(bytes)));
    }
    out
}

fn parse(text: &str) -> BTreeMap<String, Vec<u8>> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (name, hex) = l.split_once(' ').unwrap();
            (name.to_owned(), unhex(hex.trim()))
        })
        .collect()
}

/// Checks (or blesses) a vectors file against freshly computed entries.
fn check_file(name: &str, header: &str, entries: &Entries) -> BTreeMap<String, Vec<u8>> {
    let path = data(name);
    if blessing() {
        std::fs::write(&path, render(header, entries)).unwrap();
    }
    let stored = parse(&std::fs::read_to_string(&path).unwrap());
    assert_eq!(stored.len(), entries.len(), "{name}: entry count");
    for (entry, bytes) in entries {
        assert_eq!(
            hex::encode(&stored[entry]),
            hex::encode(bytes),
            "{name}: {entry} differs"
        );
    }
    stored
}

const TDH2_LABEL: &[u8] = b"symbolon kat label";
const TDH2_PLAINTEXT: &[u8] = b"attack at dawn";

fn tdh2_entries() -> Entries {
    let mut rng = ChaCha20Rng::from_seed([42; 32]);
    let (group, shares) = tdh2::deal(2, 3, &mut rng).unwrap();
    let ciphertext = tdh2::encrypt(&group, TDH2_LABEL, TDH2_PLAINTEXT, &mut rng).unwrap();
    let mut entries = vec![("group".to_owned(), group.to_bytes())];
    for share in &shares {
        entries.push((
            format!("key_share_{}", share.index()),
            share.to_bytes().to_vec(),
        ));
    }
    entries.push(("ciphertext".to_owned(), ciphertext.to_bytes()));
    for share in [&shares[0], &shares[2]] {
        let partial = tdh2::decrypt_share(share, &ciphertext, TDH2_LABEL, &mut rng).unwrap();
        entries.push((
            format!("decryption_share_{}", share.index()),
            partial.to_bytes().to_vec(),
        ));
    }
    entries
}

#[test]
fn tdh2_known_answers() {
    let stored = check_file(
        "tdh2_vectors.txt",
        "# symbolon_threshold::tdh2 known answers: ChaCha20Rng::from_seed([42; 32]);\n\
         # deal(2, 3), encrypt(label \"symbolon kat label\", plaintext \"attack at dawn\"),\n\
         # decrypt_share by 1 then 3, all drawing from the same RNG in this order.\n",
        &tdh2_entries(),
    );
    // The stored encodings decode and decrypt on their own.
    let group = tdh2::GroupPublic::from_bytes(&stored["group"]).unwrap();
    let ciphertext = tdh2::Ciphertext::from_bytes(&stored["ciphertext"]).unwrap();
    let shares: Vec<tdh2::DecryptionShare> = ["decryption_share_1", "decryption_share_3"]
        .iter()
        .map(|k| tdh2::DecryptionShare::from_bytes(&stored[*k]).unwrap())
        .collect();
    let plaintext = tdh2::combine(&group, &ciphertext, TDH2_LABEL, &shares).unwrap();
    assert_eq!(plaintext.as_slice(), TDH2_PLAINTEXT);
    let key = tdh2::KeyShare::from_bytes(&stored["key_share_2"]).unwrap();
    group.check_share(&key).unwrap();
}

fn ed25519_entries() -> Entries {
    let mut rng = ChaCha20Rng::from_seed([43; 32]);
    let (group, dealt) = ed25519::deal(2, 3, &mut rng).unwrap();
    let mut entries = vec![("group_key".to_owned(), group.to_bytes())];
    let shares: Vec<KeyShare> = dealt
        .iter()
        .map(|d| {
            entries.push((format!("dealt_share_{}", d.index()), d.to_bytes().to_vec()));
            KeyShare::from_dealt(&d.to_bytes()).unwrap()
        })
        .collect();
    entries.push(("key_share_1".to_owned(), shares[0].to_bytes().to_vec()));
    let (batch, published) = NonceBatch::generate(&shares[0], 2, &mut rng);
    entries.push(("nonce_batch_1".to_owned(), batch.to_bytes().to_vec()));
    let (nonces_2, commitments_2) = ed25519::commit(&shares[1], &mut rng);
    let commitments = BTreeMap::from([(1, published[0]), (2, commitments_2)]);
    entries.push(("commitments_2".to_owned(), commitments_2.to_bytes()));
    let package = SigningPackage::new(b"symbolon kat message", &commitments).unwrap();
    entries.push(("signing_package".to_owned(), package.to_bytes()));
    let mut batch = batch;
    let s1 = ed25519::sign(&shares[0], batch.take(&published[0]).unwrap(), &package).unwrap();
    let s2 = ed25519::sign(&shares[1], nonces_2, &package).unwrap();
    entries.push(("signature_share_1".to_owned(), s1.to_bytes().to_vec()));
    entries.push(("signature_share_2".to_owned(), s2.to_bytes().to_vec()));
    let signature =
        ed25519::aggregate(&package, &BTreeMap::from([(1, s1), (2, s2)]), &group).unwrap();
    entries.push(("signature".to_owned(), signature.to_bytes().to_vec()));
    entries
}

#[test]
fn ed25519_known_answers() {
    let stored = check_file(
        "ed25519_vectors.txt",
        "# symbolon_threshold::ed25519 known answers: ChaCha20Rng::from_seed([43; 32]);\n\
         # deal(2, 3), NonceBatch::generate(share 1, 2), commit(share 2), sign\n\
         # \"symbolon kat message\" with batch nonce 0 and share 2's nonces.\n",
        &ed25519_entries(),
    );
    let group = GroupKey::from_bytes(&stored["group_key"]).unwrap();
    let package = SigningPackage::from_bytes(&stored["signing_package"]).unwrap();
    let signature = ed25519::Signature::from_bytes(&stored["signature"]).unwrap();
    group.verify(package.message(), &signature).unwrap();
    for i in 1..=3 {
        let share = KeyShare::from_dealt(&stored[&format!("dealt_share_{i}")]).unwrap();
        group.check_share(&share).unwrap();
    }
    let batch = NonceBatch::from_bytes(&stored["nonce_batch_1"]).unwrap();
    assert_eq!(batch.commitments()[0], package.commitment(1).unwrap());
}

/// A decoder under test, returning its error.
type Decoder = fn(&[u8]) -> Option<Error>;

fn fail_cases() -> Vec<(&'static str, Vec<u8>, Decoder, Error)> {
    let tdh2 = parse(&render("", &tdh2_entries()));
    let ed = parse(&render("", &ed25519_entries()));
    let ct = &tdh2["ciphertext"];
    let ds = &tdh2["decryption_share_1"];
    let ks = &tdh2["key_share_1"];
    let gp = &tdh2["group"];
    let with = |bytes: &Vec<u8>, at: usize, patch: &[u8]| {
        let mut out = bytes.clone();
        out[at..at + patch.len()].copy_from_slice(patch);
        out
    };
    let appended = |bytes: &Vec<u8>| {
        let mut out = bytes.clone();
        out.push(0);
        out
    };
    let ciphertext: Decoder = |b| tdh2::Ciphertext::from_bytes(b).err();
    let decryption_share: Decoder = |b| tdh2::DecryptionShare::from_bytes(b).err();
    let tdh2_key_share: Decoder = |b| tdh2::KeyShare::from_bytes(b).err();
    let group: Decoder = |b| tdh2::GroupPublic::from_bytes(b).err();
    let ed_key_share: Decoder = |b| KeyShare::from_bytes(b).err();
    let dealt: Decoder = |b| KeyShare::from_dealt(b).err();
    let signature: Decoder = |b| ed25519::Signature::from_bytes(b).err();
    let batch: Decoder = |b| NonceBatch::from_bytes(b).err();
    let ristretto_header = {
        // frost-ristretto255's header, from one of its encodings.
        let one =
            frost_ristretto255::keys::SigningShare::deserialize(&Scalar::ONE.to_bytes()).unwrap();
        frost_ristretto255::keys::dkg::round2::Package::new(one)
            .serialize()
            .unwrap()[..5]
            .to_vec()
    };
    let forged_dealt = {
        let one = frost::keys::SecretShare::deserialize(&ed["dealt_share_1"]).unwrap();
        let two = frost::keys::SecretShare::deserialize(&ed["dealt_share_2"]).unwrap();
        frost::keys::SecretShare::new(
            *one.identifier(),
            *two.signing_share(),
            one.commitment().clone(),
        )
        .serialize()
        .unwrap()
    };
    let doubled_batch = {
        let b = &ed["nonce_batch_1"];
        let len = usize::from(u16::from_be_bytes([b[7], b[8]]));
        let mut out = b[..7].to_vec();
        out.extend_from_slice(&b[7..9 + len]);
        out.extend_from_slice(&b[7..9 + len]);
        out
    };
    const CT: &str = "tdh2 ciphertext";
    const DS: &str = "tdh2 decryption share";
    const KS: &str = "tdh2 key share";
    const GP: &str = "tdh2 group key";
    const EKS: &str = "ed25519 key share";
    vec![
        (
            "fail_tdh2_ciphertext_truncated.hex",
            ct[..140].to_vec(),
            ciphertext,
            Error::Truncated {
                what: CT,
                len: 140,
                min: tdh2::CIPHERTEXT_OVERHEAD,
            },
        ),
        (
            "fail_tdh2_ciphertext_bad_magic.hex",
            with(ct, 0, b"SYTD"),
            ciphertext,
            Error::BadMagic { what: CT },
        ),
        (
            "fail_tdh2_ciphertext_version_2.hex",
            with(ct, 4, &[2]),
            ciphertext,
            Error::UnsupportedVersion {
                what: CT,
                version: 2,
            },
        ),
        (
            "fail_tdh2_ciphertext_identity_u.hex",
            with(ct, 5, &[0; 32]),
            ciphertext,
            Error::InvalidPoint { what: CT },
        ),
        (
            "fail_tdh2_ciphertext_noncanonical_u_bar.hex",
            with(ct, 37, &[0xff; 32]),
            ciphertext,
            Error::InvalidPoint { what: CT },
        ),
        (
            "fail_tdh2_ciphertext_noncanonical_f.hex",
            with(ct, 101, &[0xff; 32]),
            ciphertext,
            Error::InvalidScalar { what: CT },
        ),
        (
            "fail_tdh2_decryption_share_index_zero.hex",
            with(ds, 5, &[0, 0]),
            decryption_share,
            Error::InvalidIndex { index: 0 },
        ),
        (
            "fail_tdh2_decryption_share_trailing_byte.hex",
            appended(ds),
            decryption_share,
            Error::Length {
                what: DS,
                len: tdh2::DECRYPTION_SHARE_LEN + 1,
                expected: tdh2::DECRYPTION_SHARE_LEN,
            },
        ),
        (
            "fail_tdh2_decryption_share_invalid_point.hex",
            with(ds, 7, &[0xff; 32]),
            decryption_share,
            Error::InvalidPoint { what: DS },
        ),
        (
            "fail_tdh2_key_share_zero_secret.hex",
            with(ks, 9, &[0; 32]),
            tdh2_key_share,
            Error::InvalidScalar { what: KS },
        ),
        (
            "fail_tdh2_key_share_noncanonical_secret.hex",
            with(ks, 9, &[0xff; 32]),
            tdh2_key_share,
            Error::InvalidScalar { what: KS },
        ),
        (
            "fail_tdh2_key_share_index_zero.hex",
            with(ks, 5, &[0, 0]),
            tdh2_key_share,
            Error::InvalidIndex { index: 0 },
        ),
        (
            "fail_tdh2_group_inconsistent.hex",
            with(gp, 43, &gp[77..109]),
            group,
            Error::InconsistentGroupKey,
        ),
        (
            "fail_tdh2_group_unordered.hex",
            with(gp, 75, &[0, 1]),
            group,
            Error::Malformed {
                what: GP,
                reason: "participant indices are not strictly increasing",
            },
        ),
        (
            "fail_tdh2_group_threshold_above_count.hex",
            with(gp, 5, &[0, 4]),
            group,
            Error::InvalidThreshold {
                threshold: 4,
                participants: 3,
            },
        ),
        (
            "fail_ed25519_key_share_trailing_byte.hex",
            appended(&ed["key_share_1"]),
            ed_key_share,
            Error::TrailingBytes {
                what: EKS,
                extra: 1,
            },
        ),
        (
            "fail_ed25519_key_share_wrong_suite.hex",
            with(&ed["key_share_1"], 0, &ristretto_header),
            ed_key_share,
            Error::Malformed {
                what: EKS,
                reason: "encoded for another ciphersuite",
            },
        ),
        (
            "fail_ed25519_dealt_share_forged.hex",
            forged_dealt,
            dealt,
            Error::InvalidDealtShare,
        ),
        (
            "fail_ed25519_signature_noncanonical_s.hex",
            with(&ed["signature"], 32, &[0xff; 32]),
            signature,
            Error::InvalidScalar { what: "signature" },
        ),
        (
            "fail_ed25519_nonce_batch_duplicate.hex",
            doubled_batch,
            batch,
            Error::Malformed {
                what: "nonce batch",
                reason: "the same nonces appear twice",
            },
        ),
    ]
}

#[test]
fn fail_files_fail_as_stated() {
    let cases = fail_cases();
    for (name, bytes, decode, expected) in &cases {
        let path = data(name);
        if blessing() {
            std::fs::write(&path, format!("{}\n", hex::encode(bytes))).unwrap();
        }
        let stored = unhex(std::fs::read_to_string(&path).unwrap().trim());
        assert_eq!(decode(&stored), Some(expected.clone()), "{name}");
    }
    // Every fail_* file in tests/data is one of the cases above.
    let known: Vec<&str> = cases.iter().map(|c| c.0).collect();
    for entry in std::fs::read_dir(data("")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.starts_with("fail_") {
            assert!(known.contains(&name.as_str()), "unexpected {name}");
        }
    }
}
