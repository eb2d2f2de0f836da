//! Known-answer vectors: every `kat_*` file in `tests/data/` parses to exactly
//! the values in `kat_expected.txt` (and re-encodes byte for byte), and every
//! `fail_*` file is refused with the error listed here.
//!
//! The files are made by `examples/gen_vectors.rs`; they freeze format
//! version 1.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;

use rand_chacha::ChaCha20Rng;
use rand_core::{Rng as _, SeedableRng};
use symbolon_envelope::{
    BLINDING_LEN, Envelope, Error, Identity, Metadata, Recipient, RecipientInfo, Scheme,
    share_commitment,
};

type Section = BTreeMap<String, String>;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn read(name: &str) -> Vec<u8> {
    fs::read(data_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn read_text(name: &str) -> String {
    String::from_utf8(read(name)).unwrap()
}

/// `kat_expected.txt`: `[file]` sections of `key = value` lines.
fn expected() -> BTreeMap<String, Section> {
    let mut sections = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in read_text("kat_expected.txt").lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            sections.insert(name.to_string(), Section::new());
            current = Some(name.to_string());
            continue;
        }
        let (key, value) = line.split_once('=').unwrap();
        let section = sections.get_mut(current.as_ref().unwrap()).unwrap();
        section.insert(key.trim().to_string(), value.trim().to_string());
    }
    sections
}

fn field<'a>(section: &'a Section, key: &str) -> &'a str {
    section.get(key).unwrap_or_else(|| panic!("missing {key}"))
}

fn hex_array<const N: usize>(section: &Section, key: &str) -> [u8; N] {
    hex::decode(field(section, key))
        .unwrap()
        .try_into()
        .unwrap()
}

fn number<T: std::str::FromStr>(section: &Section, key: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    field(section, key).parse().unwrap()
}

fn identity(name: &str) -> Identity {
    Identity::from_armored(&read_text(&format!("kat_identity_{name}.asc"))).unwrap()
}

fn expected_metadata(s: &Section) -> Metadata {
    let recipient = match s.get("recipient").map(String::as_str) {
        Some("none") => None,
        None => Some(RecipientInfo {
            id: field(s, "recipient.id").to_string(),
            fingerprint: hex_array(s, "recipient.fingerprint"),
        }),
        Some(other) => panic!("recipient = {other}"),
    };
    Metadata {
        split_id: hex_array(s, "split_id"),
        key_id: field(s, "key_id").to_string(),
        epoch: number(s, "epoch"),
        scheme: Scheme::from_name(field(s, "scheme")).unwrap(),
        index: number(s, "index"),
        threshold: number(s, "threshold"),
        shares: number(s, "shares"),
        recipient,
        created_at: number(s, "created_at"),
        expires_at: match field(s, "expires_at") {
            "none" => None,
            e => Some(e.parse().unwrap()),
        },
        commitment: hex_array(s, "commitment"),
        label: field(s, "label").to_string(),
    }
}

fn envelope_sections() -> Vec<(String, Section)> {
    let sections: Vec<_> = expected()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("kat_identity_"))
        .collect();
    assert_eq!(
        sections.len(),
        4,
        "kat_clear, kat_sealed (.sym, .asc), kat_feldman"
    );
    sections
}

#[test]
fn identities_match_their_expected_values() {
    let sections: Vec<_> = expected()
        .into_iter()
        .filter(|(name, _)| name.starts_with("kat_identity_"))
        .collect();
    assert_eq!(sections.len(), 3);
    for (name, s) in sections {
        let text = read_text(&name);
        let id = Identity::from_armored(&text).unwrap();
        let r = id.recipient();
        assert_eq!(r.to_string(), field(&s, "recipient"), "{name}");
        assert_eq!(r.fingerprint(), hex_array(&s, "fingerprint"), "{name}");
        assert_eq!(
            r.signing_key_bytes(),
            hex_array(&s, "signing_key"),
            "{name}"
        );
        assert_eq!(
            r.encryption_key_bytes(),
            hex_array(&s, "encryption_key"),
            "{name}"
        );
        assert_eq!(field(&s, "recipient").parse::<Recipient>().unwrap(), r);
        // The file re-encodes byte for byte, and regenerates from its seed.
        assert_eq!(*id.to_armored(), text, "{name}");
        let seed = hex_array(&s, "seed");
        let regenerated = Identity::generate(&mut ChaCha20Rng::from_seed(seed));
        assert_eq!(*regenerated.to_armored(), text, "{name}");
    }
}

#[test]
fn envelopes_match_their_expected_values() {
    let dealer = identity("dealer");
    for (name, s) in envelope_sections() {
        let bytes = read(&name);
        let env = Envelope::parse(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(env.metadata(), &expected_metadata(&s), "{name}");
        assert_eq!(env.signer(), hex_array(&s, "signer"), "{name}");
        assert_eq!(env.signer(), dealer.recipient().signing_key_bytes());
        assert_eq!(env.is_sealed(), number::<bool>(&s, "sealed"), "{name}");
        assert_eq!(
            env.payload_len(),
            number::<usize>(&s, "payload_len"),
            "{name}"
        );
        assert_eq!(env.verify_signature(), Ok(()), "{name}");
        assert!(!env.is_expired(env.metadata().created_at));

        // Canonical: the same bytes come back out.
        if name.ends_with(".asc") {
            assert_eq!(env.to_armored().as_bytes(), bytes, "{name}");
            assert_eq!(
                Envelope::from_armored(&read_text(&name)).unwrap().encode(),
                env.encode()
            );
        } else {
            assert_eq!(env.encode(), bytes, "{name}");
            assert_eq!(Envelope::decode(&bytes).unwrap().encode(), bytes);
        }

        let share = hex::decode(field(&s, "share")).unwrap();
        match field(&s, "opened_by") {
            "none" => {
                assert!(!env.is_sealed());
                assert_eq!(*env.open(None).unwrap(), share, "{name}");
            }
            who => {
                assert!(env.is_sealed());
                assert_eq!(*env.open(Some(&identity(who))).unwrap(), share, "{name}");
                assert_eq!(env.open(None).unwrap_err(), Error::IdentityRequired);
                assert_eq!(env.open(Some(&dealer)).unwrap_err(), Error::NotRecipient);
                assert_eq!(
                    env.open(Some(&identity("other"))).unwrap_err(),
                    Error::NotRecipient
                );
                let fingerprint = identity(who).recipient().fingerprint();
                assert_eq!(
                    env.metadata().recipient.as_ref().unwrap().fingerprint,
                    fingerprint
                );
            }
        }
    }
    // The armored and binary sealed vectors are the same envelope.
    assert_eq!(
        Envelope::parse(&read("kat_sealed.asc")).unwrap().encode(),
        read("kat_sealed.sym")
    );
}

/// Sealing the expected metadata and share again with the recorded RNG seed
/// gives the same bytes: `seal` draws the blinding (hash-committed schemes)
/// and then the HPKE ephemeral key (RFC 9180 `DeriveKeyPair`) from it, and
/// Ed25519 is deterministic.
#[test]
fn vectors_regenerate_byte_for_byte() {
    let dealer = identity("dealer");
    for (name, s) in envelope_sections() {
        if !name.ends_with(".sym") {
            continue;
        }
        let share = hex::decode(field(&s, "share")).unwrap();
        let recipient = match field(&s, "opened_by") {
            "none" => None,
            who => Some(identity(who).recipient()),
        };
        // `seal` computes hash commitments itself: what the caller passes
        // is ignored.
        let mut metadata = expected_metadata(&s);
        if metadata.scheme.is_hash_committed() {
            metadata.commitment = [0; 32];
        }
        let env = Envelope::seal(
            metadata,
            &share,
            recipient.as_ref(),
            &dealer,
            &mut ChaCha20Rng::from_seed(hex_array(&s, "rng_seed")),
        )
        .unwrap();
        assert_eq!(env.encode(), read(&name), "{name}");
    }
}

/// Hash-committed vectors record their blinding: it is the first 32 bytes
/// of the RNG, the commitment is `share_commitment` over it, and a clear
/// payload is exactly `blinding || share`. Feldman payloads are the bare
/// share.
#[test]
fn blinded_commitments_match_the_recorded_blinding() {
    for (name, s) in envelope_sections() {
        let env = Envelope::parse(&read(&name)).unwrap();
        let m = env.metadata();
        let share = hex::decode(field(&s, "share")).unwrap();
        assert_eq!(env.share_len(), share.len(), "{name}");
        if !m.scheme.is_hash_committed() {
            assert!(!s.contains_key("blinding"), "{name}");
            assert_eq!(env.payload_len(), share.len(), "{name}");
            continue;
        }
        let blinding: [u8; BLINDING_LEN] = hex_array(&s, "blinding");
        let mut drawn = [0u8; BLINDING_LEN];
        ChaCha20Rng::from_seed(hex_array(&s, "rng_seed")).fill_bytes(&mut drawn);
        assert_eq!(drawn, blinding, "{name}");
        assert_eq!(
            m.commitment,
            share_commitment(m, &blinding, &share),
            "{name}"
        );
        let plaintext = [&blinding[..], &share].concat();
        if env.is_sealed() {
            assert_eq!(env.payload_len(), plaintext.len() + 16, "{name}");
        } else {
            let bytes = env.encode();
            assert_eq!(env.payload_len(), plaintext.len(), "{name}");
            assert_eq!(
                &bytes[bytes.len() - 64 - plaintext.len()..bytes.len() - 64],
                plaintext
            );
        }
    }
}

/// The error each `fail_*` file must be refused with.
fn failures() -> Vec<(&'static str, Error)> {
    use Error::*;
    vec![
        (
            "fail_armor_bad_base64.asc",
            BadArmor {
                reason: "the body is not canonical padded base64",
            },
        ),
        (
            "fail_armor_missing_end.asc",
            BadArmor {
                reason: "missing the -----END line",
            },
        ),
        ("fail_armor_truncated.asc", Truncated { field: "signature" }),
        (
            "fail_armor_wrong_label.asc",
            BadArmor {
                reason: "wrong armor label (is this another kind of Symbolon file?)",
            },
        ),
        ("fail_bad_magic.sym", BadMagic),
        (
            "fail_bad_option_tag.sym",
            InvalidTag {
                field: "expires_at tag",
                tag: 2,
            },
        ),
        ("fail_bad_signature.sym", BadSignature),
        ("fail_blinding_only.sym", EmptyShare),
        ("fail_commitment.sym", CommitmentMismatch),
        ("fail_commitment_blinding.sym", CommitmentMismatch),
        ("fail_commitment_moved.sym", CommitmentMismatch),
        ("fail_empty_share.sym", EmptyShare),
        (
            "fail_expiry_before_creation.sym",
            InvalidMetadata {
                reason: "expires_at is not after created_at",
            },
        ),
        ("fail_flipped_encapsulated_key.sym", BadSignature),
        ("fail_flipped_payload.sym", BadSignature),
        (
            "fail_identity_unclamped.asc",
            BadIdentity {
                reason: "the X25519 secret key is not clamped",
            },
        ),
        ("fail_identity_version.asc", UnsupportedVersion { found: 2 }),
        (
            "fail_index_zero.sym",
            InvalidMetadata {
                reason: "index is 0 (indices start at 1)",
            },
        ),
        ("fail_invalid_utf8.sym", InvalidUtf8 { field: "key_id" }),
        ("fail_payload_length.sym", Truncated { field: "payload" }),
        (
            "fail_recipient_bech32.txt",
            BadRecipient {
                reason: "has a bech32 checksum; recipients use bech32m",
            },
        ),
        (
            "fail_recipient_typo.txt",
            BadRecipient {
                reason: "checksum mismatch (typo?)",
            },
        ),
        ("fail_resigned_ciphertext.sym", Decryption),
        ("fail_resigned_metadata.sym", Decryption),
        ("fail_sealed_to_other.sym", NotRecipient),
        ("fail_signer_non_canonical.sym", InvalidSignerKey),
        ("fail_signer_small_order.sym", InvalidSignerKey),
        (
            "fail_threshold_gt_shares.sym",
            InvalidMetadata {
                reason: "threshold exceeds shares",
            },
        ),
        ("fail_trailing_bytes.sym", TrailingBytes { count: 1 }),
        ("fail_truncated.sym", Truncated { field: "signature" }),
        (
            "fail_unknown_payload_kind.sym",
            InvalidTag {
                field: "payload kind",
                tag: 2,
            },
        ),
        ("fail_unknown_scheme.sym", UnknownScheme { code: 0x7f }),
        ("fail_unknown_version.sym", UnsupportedVersion { found: 2 }),
        ("fail_wrong_signer.sym", BadSignature),
    ]
}

/// Reads `name` the way a custodian would: parse, verify, open with its
/// identity.
fn accept(name: &str, custodian: &Identity) -> Result<(), Error> {
    let bytes = read(name);
    if name.starts_with("fail_identity_") {
        Identity::from_armored(std::str::from_utf8(&bytes).unwrap()).map(drop)
    } else if name.starts_with("fail_recipient_") {
        std::str::from_utf8(&bytes)
            .unwrap()
            .parse::<Recipient>()
            .map(drop)
    } else {
        Envelope::parse(&bytes)?.open(Some(custodian)).map(drop)
    }
}

#[test]
fn failure_vectors_are_refused_with_the_expected_error() {
    let custodian = identity("custodian");
    let table = failures();
    for (name, error) in &table {
        assert_eq!(accept(name, &custodian).unwrap_err(), *error, "{name}");
    }

    // Every fail_* file is in the table.
    let mut on_disk: Vec<String> = fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("fail_"))
        .collect();
    on_disk.sort();
    let listed: Vec<String> = table.iter().map(|(n, _)| n.to_string()).collect();
    assert_eq!(on_disk, listed);
}

/// The re-signed failure vectors were signed by the generator from the
/// written spec: their signatures verify, so the spec's signed message is
/// the one this crate uses, and the failure is the one underneath.
#[test]
fn spec_resigned_vectors_carry_valid_signatures() {
    for name in [
        "fail_resigned_ciphertext.sym",
        "fail_resigned_metadata.sym",
        "fail_commitment.sym",
        "fail_commitment_blinding.sym",
        "fail_commitment_moved.sym",
    ] {
        let env = Envelope::parse(&read(name)).unwrap();
        assert_eq!(env.verify_signature(), Ok(()), "{name}");
    }
}
